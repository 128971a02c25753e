package approvals

import (
	"context"
	"errors"
	"net/http"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// MyApprovalsCommand is the command word of `approvals` (authz.ActionApprovals).
const MyApprovalsCommand = "approvals"

// myApprovalsLimit is how many requests the list shows; the rest are counted, and reach the
// approver as approval cards anyway. Each shown request costs one delegated stage read.
const myApprovalsLimit = 10

// myApprovalsLoginText is the text of the sign-in request sent to a list click without a token.
const myApprovalsLoginText = "Sign in to see your pending approvals"

// handleMyApprovalsCommand answers the typed `approvals`, which the command dispatcher has
// authorized (personal chat only: the list shows requestors and their reasons). A typed message
// carries no SSO token, so the answer is a card whose button fetches the list: Teams signs the
// clicking user in silently and sends the click with their token.
func (a *Approvals) handleMyApprovalsCommand(ctx context.Context, t *router.Turn) error {
	if _, err := t.SendCard(ctx, cards.MyApprovalsPrompt()); err != nil {
		return errorf("send the approvals prompt: %w", err)
	}
	return nil
}

// handleMyApprovals answers the prompt's button (and the list's Refresh): it lists, with the
// clicking approver's delegated token, the requests waiting for their decision, replacing the
// card. Approve and Deny on the list are the approval card's own verbs, so deciding from it takes
// the approval click's path unchanged.
func (a *Approvals) handleMyApprovals(ctx context.Context, t *router.Turn) error {
	if t.IsSubmit() {
		// Action.Submit (an old client's fallback) carries no SSO token and cannot get one.
		return t.Respond(botframework.MessageResponse("Listing your approvals needs a newer Teams client. My Access lists them too."))
	}
	// The typed command is authorized for personal chats only; the button must not lift that
	// rule if the card ever reaches a shared conversation.
	if t.Activity.Conversation.ConversationType != authz.ConversationPersonal {
		return t.Respond(botframework.MessageResponse("Your approvals show requestors and their reasons, so I list them only in our 1:1 chat."))
	}
	av, err := t.Activity.ActionValue()
	if err != nil {
		return t.Respond(botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is malformed."))
	}
	retry := cards.Data{cards.KeyVerb: cards.VerbMyApprovals}
	failed := func(msg string) error {
		return t.Respond(botframework.CardResponse(cards.Error("Couldn't list your approvals", msg, retry)))
	}
	cctx, cancel := context.WithTimeout(ctx, clickBudget)
	defer cancel()
	_, cred, resp, err := a.auth.Click(cctx, t.Log, av, t.Identity.TenantID, t.Identity.AADObjectID, myApprovalsLoginText)
	switch {
	case resp != nil:
		return t.Respond(*resp)
	case errors.Is(err, sso.ErrLocalToken):
		return failed("I couldn't sign you in. Try again.")
	case err != nil:
		return failed("Sign-in is temporarily unavailable. Try again in a moment.")
	}
	mine, err := a.d.Entitlement.MyPendingApprovals(cctx, cred, myApprovalsLimit)
	if err != nil {
		t.Log.Error("listing the user's pending approvals failed", "error", err)
		return failed("I couldn't read your approvals from Entra. Try again in a moment; My Access lists them too.")
	}
	in := cards.MyApprovalsInput{Total: mine.Total}
	for _, m := range mine.Items {
		it, err := a.myApprovalItem(ctx, m)
		if err != nil {
			return err
		}
		in.Items = append(in.Items, it)
	}
	t.Log.Info("listed pending approvals", "shown", len(in.Items), "total", mine.Total)
	return t.Respond(botframework.CardResponse(cards.MyApprovals(in)))
}

// myApprovalItem decides what the list offers for one request. Approve and Deny only for the
// requests the worker tracks: the approval click renders, records and updates cards from that
// snapshot. A guestpass request it has not picked up yet gets its card shortly; other access
// packages are decided in My Access.
func (a *Approvals) myApprovalItem(ctx context.Context, m entitlement.MyApproval) (cards.MyApprovalItem, error) {
	it := cards.MyApprovalItem{Request: m.Request, Stage: m.Stage, State: cards.MyApprovalOtherPackage}
	if !validRequestID(m.Request.ID) {
		return it, nil
	}
	rec, err := a.loadRecord(ctx, m.Request.ID)
	if err != nil {
		return it, errorf("load request %s: %w", m.Request.ID, err)
	}
	switch {
	case rec != nil:
		it.State, it.Scenario = cards.MyApprovalDecidable, rec.Scenario
	case m.Request.ScenarioID != "":
		it.State = cards.MyApprovalArriving
		if sc, err := a.d.Store.ScenarioByAccessPackage(ctx, m.Request.AccessPackageID); err == nil {
			it.Scenario = sc.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			return it, errorf("scenario of request %s: %w", m.Request.ID, err)
		}
	}
	return it, nil
}
