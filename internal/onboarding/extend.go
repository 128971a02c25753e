package onboarding

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// mayOfferExtend reports whether the expiry card offers Extend to the guest's sponsor: when they
// own or co-own the scenario (as stored). Nothing is probed in Entra: a write API cannot be asked
// "may I?" without doing it, and Entra decides anyway when the sponsor clicks (a refusal offers
// the extension link instead).
func mayOfferExtend(sc entitlement.Scenario, sponsorOID string) bool {
	return sponsorOID != "" && (sc.OwnerOID == sponsorOID || slices.Contains(sc.CoOwnerOIDs, sponsorOID))
}

// extensionEnd is when an extension made now ends. The policy's expiration is "after
// DurationDays": Entra counts it from the moment access is granted, and an extension the guest
// requests in My Access is granted anew for that duration from its approval, not added to the old
// end. The sponsor's extension therefore ends at now + the scenario's duration, exactly what the
// guest's own extension would give and never more than the policy grants at once.
func extensionEnd(sc entitlement.Scenario, now time.Time) time.Time {
	return now.Add(time.Duration(sc.DurationDays) * 24 * time.Hour).UTC().Truncate(time.Second)
}

// extendable returns what the extension cards show, or a reason why there is nothing to extend.
func (o *Onboarding) extendable(row store.Onboarding, sc entitlement.Scenario) (cards.ExtendInput, string) {
	in := cards.ExtendInput{Guest: entitlement.Person{OID: row.GuestOID, Email: row.GuestEmail}, ScenarioName: sc.Name,
		OnboardingID: strconv.FormatInt(row.ID, 10), DurationDays: sc.DurationDays, ExtensionAllowed: sc.AllowExtension}
	switch {
	case row.AssignmentID == "" || (row.State != store.OnboardingDelivered && row.State != store.OnboardingExpiring):
		return in, row.GuestEmail + " has no access to extend."
	case sc.DurationDays <= 0:
		return in, "This scenario's access doesn't end, so there is nothing to extend."
	}
	in.NewEnd = extensionEnd(sc, o.now())
	if row.ExpiresAt != nil {
		in.CurrentEnd = *row.ExpiresAt
		if !in.NewEnd.After(in.CurrentEnd) {
			return in, fmt.Sprintf("%s's access already lasts until %s, as long as an extension would.", row.GuestEmail, in.CurrentEnd.UTC().Format("2 Jan 2006"))
		}
	}
	return in, ""
}

// onExpiryExtend answers the expiry card's Extend with the confirmation: the guest, the scenario,
// the current and the new end.
func (o *Onboarding) onExpiryExtend(ctx context.Context, t *router.Turn) error {
	row, _, ok, err := o.onboardingFor(ctx, t, authz.ActionInvite)
	if !ok || err != nil {
		return err
	}
	sc, err := o.scenario(ctx, row.ScenarioID)
	if err != nil {
		return err
	}
	in, nothing := o.extendable(row, sc)
	if nothing != "" {
		return replyMessage(ctx, t, "Nothing to extend", nothing)
	}
	return reply(ctx, t, cards.ExtendConfirm(in))
}

// onExpiryExtendConfirm extends the guest's assignment with the clicking sponsor's delegated right
// (Teams SSO on the click, then on-behalf-of), so Entra checks that they may and records them as
// the actor; the bot's own permission is never used. The new end is computed again here, not
// taken from the card.
func (o *Onboarding) onExpiryExtendConfirm(ctx context.Context, t *router.Turn) error {
	row, _, ok, err := o.onboardingFor(ctx, t, authz.ActionInvite)
	if !ok || err != nil {
		return err
	}
	sc, err := o.scenario(ctx, row.ScenarioID)
	if err != nil {
		return err
	}
	in, nothing := o.extendable(row, sc)
	if nothing != "" {
		return replyMessage(ctx, t, "Nothing to extend", nothing)
	}
	retry := cards.Data{cards.KeyVerb: cards.VerbExpiryExtendConfirm, cards.KeyOnboardingID: strconv.FormatInt(row.ID, 10)}
	id, cred, ok, err := o.delegated(ctx, t, "Sign in to extend the guest's access",
		cards.Error("Sign-in is temporarily unavailable", "Nothing was changed. Try again in a moment.", retry))
	if !ok {
		return err
	}
	ext, err := o.d.Service.ExtendAssignment(ctx, cred, row.AssignmentID, in.NewEnd)
	entry := store.AuditEntry{ActorOID: id.OID, ActorName: id.Name, TenantID: id.TenantID, Action: "onboarding.extend",
		Target: row.ScenarioID + ":" + row.GuestEmail, ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID,
		GraphRequestID: graphRequestID(err)}
	var ve *entitlement.ValidationError
	switch {
	case errors.Is(err, entitlement.ErrForbidden):
		entry.Outcome = "forbidden"
		o.audit(ctx, entry)
		return reply(ctx, t, cards.ExtendForbidden(in))
	case errors.Is(err, entitlement.ErrAssignmentNotActive), errors.Is(err, entitlement.ErrNotFound):
		entry.Outcome, entry.Detail = "failed", err.Error()
		o.audit(ctx, entry)
		return replyMessage(ctx, t, "Access already ended", row.GuestEmail+"'s access has already ended, so it can't be extended. They can request access again.")
	case errors.As(err, &ve):
		entry.Outcome, entry.Detail = "failed", err.Error()
		o.audit(ctx, entry)
		return replyMessage(ctx, t, "Nothing to extend", "Entra already shows a later end for this access.")
	case err != nil:
		entry.Outcome, entry.Detail = "failed", err.Error()
		o.audit(ctx, entry)
		t.Log.ErrorContext(ctx, "extending a guest's access failed", "error", err, "graph_request_id", graphRequestID(err))
		return reply(ctx, t, cards.Error("Extending access failed", "Nothing was changed. Try again in a moment.", retry))
	}
	entry.Outcome, entry.GraphRequestID = "extended", ext.GraphRequestID
	entry.Detail = fmt.Sprintf("extension request %s; access ends %s (was %s)", ext.RequestID,
		ext.ExpiresAt.UTC().Format(time.RFC3339), ext.PreviousEnd.UTC().Format(time.RFC3339))
	o.audit(ctx, entry)

	// Back to "has access" when the new end is beyond the notice window, with the notification
	// state reset so the next approach of the end sends the expiry card again. An end still within
	// the window keeps the row expiring and notified: the sponsor has just acted on it.
	state, f := row.State, store.OnboardingFields{ExpiresAt: &ext.ExpiresAt}
	if ext.ExpiresAt.After(o.now().Add(o.d.ExpiryNotice)) {
		state = store.OnboardingDelivered
		notified := store.OnboardingDelivered
		f.NotifiedState = &notified
	}
	if _, err := o.d.Store.UpdateOnboardingState(ctx, row.ID, state, f); err != nil {
		t.Log.ErrorContext(ctx, "recording an extension failed", "error", err)
	}
	return replyMessage(ctx, t, "Extended until "+ext.ExpiresAt.UTC().Format("2 Jan 2006"),
		fmt.Sprintf("%s's access to “%s” now lasts until %s. Entra records you as the one who extended it.",
			row.GuestEmail, sc.Name, ext.ExpiresAt.UTC().Format("2 Jan 2006, 15:04 UTC")))
}
