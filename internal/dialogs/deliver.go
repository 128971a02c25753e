package dialogs

import (
	"context"
	"fmt"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/router"
)

// Delivery rule, the same for every dialog and command here: a card action replaces the card it
// came from (Action.Execute through the invoke response, Action.Submit by updating the clicked
// activity), and a typed message gets a new card below it. The returned id is the activity that
// now shows the card ("" for an invoke response whose card is the clicked one, see cardActivity).

// reply shows card in answer to in. It returns the id of the activity showing the card.
func reply(ctx context.Context, t *router.Turn, in Input, card cards.Card) (string, error) {
	switch in.Source {
	case SourceInvoke:
		if err := t.Respond(botframework.CardResponse(card)); err != nil {
			return "", fmt.Errorf("dialogs: respond to card action: %w", err)
		}
		return in.CardActivityID, nil
	case SourceSubmit:
		if in.CardActivityID != "" {
			if err := t.Update(ctx, in.CardActivityID, botframework.NewCard(card)); err == nil {
				return in.CardActivityID, nil
			} else {
				// The clicked card may be gone (deleted, too old to edit): show the answer anyway.
				t.Log.WarnContext(ctx, "updating the clicked card failed; sending a new one", "error", err)
			}
		}
	}
	id, err := t.SendCard(ctx, card)
	if err != nil {
		return "", fmt.Errorf("dialogs: send card: %w", err)
	}
	return id, nil
}

// replyMessage answers with a titled message card (never raw text: user strings inside stay
// literal, and a card action's answer replaces the card consistently).
func replyMessage(ctx context.Context, t *router.Turn, in Input, title, text string) error {
	_, err := reply(ctx, t, in, cards.Message(title, text))
	return err
}

// replyError answers with an error card; retry, when non-nil, adds a Retry button.
func replyError(ctx context.Context, t *router.Turn, in Input, title, text string, retry cards.Data) error {
	_, err := reply(ctx, t, in, cards.Error(title, text, retry))
	return err
}

// inputOf returns the turn's input, or a text input for command turns.
func inputOf(t *router.Turn) Input {
	in, ok := InputFromTurn(t)
	if !ok {
		return Input{Source: SourceText, Data: map[string]string{}}
	}
	return in
}
