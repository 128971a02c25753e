package app

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/router"
)

// command is one text command: its route and its line on the help card.
type command struct {
	help    cards.Command
	handler router.Handler
}

// commands lists every text command. Later capabilities add theirs here; the help card is built
// from the same list so it cannot drift from what the router accepts.
func (a *App) commands() []command {
	return []command{
		{cards.Command{Name: "help", Usage: "help", Description: "Show what I can do."}, a.help},
	}
}

func (a *App) registerHandlers() {
	for _, c := range a.commands() {
		a.mux.HandleCommand(c.help.Name, c.handler)
	}
	a.mux.HandleActivity(botframework.TypeMessage, a.unknownMessage)
}

// help answers with the help card (a card only: an activity never mixes text and a card).
func (a *App) help(ctx context.Context, t *router.Turn) error {
	cmds := a.commands()
	in := cards.HelpInput{Commands: make([]cards.Command, 0, len(cmds))}
	for _, c := range cmds {
		in.Commands = append(in.Commands, c.help)
	}
	_, err := t.SendCard(ctx, cards.Help(in))
	return err
}

// maxEcho bounds how much of an unknown command is repeated back.
const maxEcho = 40

// unknownMessage answers messages no command or card action took.
func (a *App) unknownMessage(ctx context.Context, t *router.Turn) error {
	var text string
	switch {
	case t.IsSubmit():
		text = "That card is out of date or no longer supported. Type help to see what I can do."
	case t.Command() == "":
		text = "I only understand typed commands. Type help to see what I can do."
	default:
		word := t.Command()
		if utf8.RuneCountInString(word) > maxEcho {
			word = string([]rune(word)[:maxEcho]) + "…"
		}
		text = fmt.Sprintf("I don't know the command %q. Type help to see what I can do.", word)
	}
	// Plain text: the echoed word is user input and must not render as markdown.
	out := botframework.NewText(text)
	out.TextFormat = "plain"
	_, err := t.Send(ctx, out)
	return err
}

// reportFailures tells the user when a message turn failed unexpectedly, so a bug or outage is
// not met with silence. Invokes answer in their HTTP response instead.
func reportFailures(next router.Handler) router.Handler {
	return func(ctx context.Context, t *router.Turn) error {
		err := next(ctx, t)
		if err == nil || errors.Is(err, router.ErrUnhandled) || string(t.Activity.Type) != botframework.TypeMessage {
			return err
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, serr := t.SendText(sctx, "Sorry, something went wrong on my side. Please try again in a moment."); serr != nil {
			t.Log.Warn("telling the user about a failed turn failed", "error", serr)
		}
		return err
	}
}
