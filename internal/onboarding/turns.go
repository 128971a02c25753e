package onboarding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/dialogs"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// reply answers a turn with a card: the invoke response for Action.Execute, the card update for
// Action.Submit (the router delivers it), or a new message for a typed command.
func reply(ctx context.Context, t *router.Turn, card cards.Card) error {
	if string(t.Activity.Type) == botframework.TypeInvoke || t.IsSubmit() {
		return t.Respond(botframework.CardResponse(card))
	}
	if _, err := t.SendCard(ctx, card); err != nil {
		return fmt.Errorf("onboarding: send card: %w", err)
	}
	return nil
}

func replyMessage(ctx context.Context, t *router.Turn, title, text string) error {
	return reply(ctx, t, cards.Message(title, text))
}

// inputOf returns the card data of a click (empty for typed commands).
func inputOf(t *router.Turn) dialogs.Input {
	in, ok := dialogs.InputFromTurn(t)
	if !ok || in.Data == nil {
		in.Data = map[string]string{}
	}
	return in
}

// rawValue reads one string value from the click's data without the dialog input limits (the
// address list may be longer than a dialog value).
func rawValue(t *router.Turn, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(t.ActionData(), &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}

// authorize resolves the sender's roles and applies the authorization table; on refusal it
// answers the turn, audits, and returns ok=false.
func (o *Onboarding) authorize(ctx context.Context, t *router.Turn, action authz.Action) (authz.Roles, bool, error) {
	id := t.Identity
	if id.AADObjectID == "" || id.TenantID == "" {
		return authz.Roles{}, false, replyMessage(ctx, t, "Who are you?", "I can't tell which account you're using here.")
	}
	roles, err := o.d.Roles.Roles(ctx, id.TenantID, id.AADObjectID)
	if err != nil {
		t.Log.WarnContext(ctx, "resolving roles failed", "error", err)
		return authz.Roles{}, false, reply(ctx, t, cards.Error("I couldn't check your permissions",
			"Checking what you may do failed just now. Please try again in a moment.", nil))
	}
	dec := authz.Decide(roles, action, t.Activity.Conversation.ConversationType)
	if dec.Allowed {
		return roles, true, nil
	}
	if entry, ok := authz.RefusalAudit(authz.Actor{TenantID: id.TenantID, UserOID: id.AADObjectID, UserName: id.Name,
		ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID}, roles, action, dec); ok {
		o.audit(ctx, entry)
	}
	t.Log.InfoContext(ctx, "action refused", "action", string(action), "code", dec.Code)
	return roles, false, replyMessage(ctx, t, "Not allowed", dec.Reason)
}

// mayInvite reports whether the user owns or co-owns the scenario, or is an admin.
func mayInvite(roles authz.Roles, oid string, s entitlement.Scenario) bool {
	if roles.Guest {
		return false
	}
	return roles.Admin || s.OwnerOID == oid || slices.Contains(s.CoOwnerOIDs, oid)
}

// delegated obtains the clicking user's Graph credential from the click's SSO token. When it
// cannot (no token yet, expired, wrong user, consent missing), it answers the turn with what
// Teams expects and returns ok=false; failure is the card shown when sign-in is temporarily
// unavailable. err reports only a failure to answer.
func (o *Onboarding) delegated(ctx context.Context, t *router.Turn, why string, failure cards.Card) (id *sso.Identity, cred azcore.TokenCredential, ok bool, err error) {
	answer := func(resp botframework.InvokeResponse) (*sso.Identity, azcore.TokenCredential, bool, error) {
		return nil, nil, false, t.Respond(resp)
	}
	if t.IsSubmit() || string(t.Activity.Type) != botframework.TypeInvoke {
		// Action.Submit (an old client's fallback) carries no SSO token and cannot get one.
		return answer(botframework.MessageResponse("This needs a newer Teams client that supports single sign-on on cards."))
	}
	av, err := t.Activity.ActionValue()
	if err != nil {
		return answer(botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is malformed."))
	}
	cctx, cancel := context.WithTimeout(ctx, clickBudget)
	defer cancel()
	id, cred, resp, err := o.auth.Click(cctx, t.Log, av, t.Identity.TenantID, t.Identity.AADObjectID, why)
	switch {
	case resp != nil:
		return answer(*resp)
	case err != nil:
		return answer(botframework.CardResponse(failure))
	}
	return id, cred, true, nil
}

// scenario loads a scenario definition.
func (o *Onboarding) scenario(ctx context.Context, id string) (entitlement.Scenario, error) {
	sc, err := o.d.Service.LoadScenario(ctx, id)
	if err != nil {
		return entitlement.Scenario{}, fmt.Errorf("onboarding: load scenario %s: %w", id, err)
	}
	return sc, nil
}

// isNotFound reports a missing scenario or onboarding.
func isNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, entitlement.ErrNotFound)
}
