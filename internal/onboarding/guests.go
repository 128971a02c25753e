package onboarding

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"guestpass/internal/authz"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// guestsPageSize is how many guests one page of `guests` shows.
const guestsPageSize = 10

var stateWords = map[string]string{
	store.OnboardingLinkSent:  "link sent",
	store.OnboardingRequested: "requested",
	store.OnboardingApproved:  "approved",
	store.OnboardingDenied:    "denied",
	store.OnboardingDelivered: "has access",
	store.OnboardingExpiring:  "access ends soon",
	store.OnboardingExpired:   "expired",
	store.OnboardingRemoved:   "removed",
	store.OnboardingFailed:    "failed",
}

// onGuestsCommand runs `guests [--scenario Name]` and `guests remove <email> [--scenario Name]`.
func (o *Onboarding) onGuestsCommand(ctx context.Context, t *router.Turn) error {
	cmd, err := commands.Parse(router.CommandText(t.Activity))
	if err != nil {
		var ue *commands.UsageError
		if errors.As(err, &ue) {
			return replyMessage(ctx, t, "I didn't understand that", ue.Error())
		}
		return replyMessage(ctx, t, "I didn't understand that", "Type `help` to see what I can do.")
	}
	scenarioID := ""
	if name := strings.TrimSpace(cmd.Flag("scenario")); name != "" {
		rec, err := o.d.Store.ScenarioByName(ctx, t.Identity.TenantID, name)
		if errors.Is(err, store.ErrNotFound) {
			return replyMessage(ctx, t, "Scenario not found", fmt.Sprintf("There is no scenario named “%s”.", clip(name, 80)))
		}
		if err != nil {
			return fmt.Errorf("onboarding: find scenario: %w", err)
		}
		scenarioID = rec.ID
	}
	if cmd.Path() == "guests remove" {
		roles, ok, err := o.authorize(ctx, t, authz.ActionGuestsRemove)
		if !ok || err != nil {
			return err
		}
		rows, err := o.d.Store.ListOnboardings(ctx, store.OnboardingQuery{TenantID: t.Identity.TenantID, ScenarioID: scenarioID,
			GuestEmail: cmd.Arg("email"), States: []string{store.OnboardingDelivered, store.OnboardingExpiring}})
		if err != nil {
			return fmt.Errorf("onboarding: find guest: %w", err)
		}
		var mine []store.Onboarding
		for _, r := range rows {
			if roles.Admin || r.SponsorOID == t.Identity.AADObjectID {
				mine = append(mine, r)
			}
		}
		switch len(mine) {
		case 0:
			return replyMessage(ctx, t, "No such guest", "None of your guests with that address has access now.")
		case 1:
			return o.removeConfirm(ctx, t, mine[0])
		}
		return replyMessage(ctx, t, "Which scenario?", "That guest has access through several of your scenarios; add `--scenario \"Name\"`.")
	}
	return o.listGuests(ctx, t, scenarioID, 1)
}

func (o *Onboarding) onGuestListVerb(ctx context.Context, t *router.Turn) error {
	page, _ := strconv.Atoi(inputOf(t).Value(cards.KeyPage))
	return o.listGuests(ctx, t, "", max(page, 1))
}

// listGuests answers with a page of the user's guests (an admin sees every sponsor's).
func (o *Onboarding) listGuests(ctx context.Context, t *router.Turn, scenarioID string, page int) error {
	roles, ok, err := o.authorize(ctx, t, authz.ActionGuests)
	if !ok || err != nil {
		return err
	}
	q := store.OnboardingQuery{TenantID: t.Identity.TenantID, ScenarioID: scenarioID, Limit: 1000}
	if !roles.Admin {
		q.SponsorOID = t.Identity.AADObjectID
	}
	rows, err := o.d.Store.ListOnboardings(ctx, q)
	if err != nil {
		return fmt.Errorf("onboarding: list guests: %w", err)
	}
	start := min((page-1)*guestsPageSize, len(rows))
	end := min(start+guestsPageSize, len(rows))
	names := map[string]string{}
	in := cards.GuestListInput{Page: page, HasNext: end < len(rows)}
	for _, r := range rows[start:end] {
		if _, ok := names[r.ScenarioID]; !ok {
			if rec, err := o.d.Store.GetScenario(ctx, r.ScenarioID); err == nil {
				names[r.ScenarioID] = rec.Name
			}
		}
		in.Guests = append(in.Guests, guestRow(r, names[r.ScenarioID], roles.Admin || r.SponsorOID == t.Identity.AADObjectID))
	}
	return reply(ctx, t, cards.GuestList(in))
}

func guestRow(r store.Onboarding, scenarioName string, viewerMayRemove bool) cards.GuestRow {
	row := cards.GuestRow{OnboardingID: strconv.FormatInt(r.ID, 10), Email: r.GuestEmail, ScenarioName: scenarioName,
		Status: stateWords[r.State], Since: r.InvitedAt,
		CanRemove: viewerMayRemove && r.AssignmentID != "" && (r.State == store.OnboardingDelivered || r.State == store.OnboardingExpiring)}
	if r.ExpiresAt != nil {
		row.Until = *r.ExpiresAt
	}
	return row
}

// onboardingFor loads the onboarding named by a click's data when the user may act on it: its
// sponsor, or an admin.
func (o *Onboarding) onboardingFor(ctx context.Context, t *router.Turn, action authz.Action) (store.Onboarding, authz.Roles, bool, error) {
	roles, ok, err := o.authorize(ctx, t, action)
	if !ok || err != nil {
		return store.Onboarding{}, roles, false, err
	}
	id, perr := strconv.ParseInt(inputOf(t).Value(cards.KeyOnboardingID), 10, 64)
	var row store.Onboarding
	if perr == nil && id > 0 {
		row, err = o.d.Store.GetOnboarding(ctx, id)
	}
	switch {
	case perr != nil || id <= 0 || errors.Is(err, store.ErrNotFound):
		return row, roles, false, replyMessage(ctx, t, "Guest not found", "I no longer track that guest.")
	case err != nil:
		return row, roles, false, fmt.Errorf("onboarding: load onboarding: %w", err)
	case row.TenantID != t.Identity.TenantID || (!roles.Admin && row.SponsorOID != t.Identity.AADObjectID):
		return row, roles, false, replyMessage(ctx, t, "Not allowed", "Only the guest's sponsor or a guestpass admin can do that.")
	}
	return row, roles, true, nil
}

func (o *Onboarding) onGuestRemoveVerb(ctx context.Context, t *router.Turn) error {
	row, _, ok, err := o.onboardingFor(ctx, t, authz.ActionGuestsRemove)
	if !ok || err != nil {
		return err
	}
	return o.removeConfirm(ctx, t, row)
}

func (o *Onboarding) removeConfirm(ctx context.Context, t *router.Turn, row store.Onboarding) error {
	name := ""
	if rec, err := o.d.Store.GetScenario(ctx, row.ScenarioID); err == nil {
		name = rec.Name
	}
	return reply(ctx, t, cards.GuestRemoveConfirm(guestRow(row, name, true)))
}

// onGuestRemoveConfirm removes the guest's assignment with the clicking user's delegated right, so
// Entra checks that they may and records them as the actor.
func (o *Onboarding) onGuestRemoveConfirm(ctx context.Context, t *router.Turn) error {
	row, _, ok, err := o.onboardingFor(ctx, t, authz.ActionGuestsRemove)
	if !ok || err != nil {
		return err
	}
	if row.AssignmentID == "" || (row.State != store.OnboardingDelivered && row.State != store.OnboardingExpiring) {
		return replyMessage(ctx, t, "Nothing to remove", row.GuestEmail+" has no access to remove.")
	}
	retry := cards.Data{cards.KeyVerb: cards.VerbGuestRemoveConfirm, cards.KeyOnboardingID: strconv.FormatInt(row.ID, 10)}
	id, cred, ok, err := o.delegated(ctx, t, "Sign in to remove the guest's access",
		cards.Error("Sign-in is temporarily unavailable", "Nothing was changed. Try again in a moment.", retry))
	if !ok {
		return err
	}
	reqID, err := o.d.Service.RemoveAssignment(ctx, cred, row.AssignmentID)
	entry := store.AuditEntry{ActorOID: id.OID, ActorName: id.Name, TenantID: id.TenantID, Action: "onboarding.remove",
		Target: row.ScenarioID + ":" + row.GuestEmail, ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID,
		GraphRequestID: graphRequestID(err)}
	switch {
	case errors.Is(err, entitlement.ErrForbidden):
		entry.Outcome = "forbidden"
		o.audit(ctx, entry)
		return reply(ctx, t, cards.Error("Entra refused", "Your account may not remove assignments of this access package.", nil))
	case err != nil:
		entry.Outcome, entry.Detail = "failed", err.Error()
		o.audit(ctx, entry)
		t.Log.ErrorContext(ctx, "removing a guest's access failed", "error", err, "graph_request_id", graphRequestID(err))
		return reply(ctx, t, cards.Error("Removing access failed", "Nothing was changed. Try again in a moment.", retry))
	}
	entry.Outcome, entry.Detail = "removed", "removal request "+reqID
	o.audit(ctx, entry)
	if _, err := o.d.Store.UpdateOnboardingState(ctx, row.ID, store.OnboardingRemoved, store.OnboardingFields{}); err != nil {
		t.Log.ErrorContext(ctx, "recording a removal failed", "error", err)
	}
	return replyMessage(ctx, t, "Access removed", fmt.Sprintf("%s no longer has access. Entra records you as the one who removed it.", row.GuestEmail))
}

// onExpirySendLink mails the guest, from the sponsor's mailbox, the link to request an extension
// themselves, where the scenario allows extensions.
func (o *Onboarding) onExpirySendLink(ctx context.Context, t *router.Turn) error {
	row, roles, ok, err := o.onboardingFor(ctx, t, authz.ActionInvite)
	if !ok || err != nil {
		return err
	}
	sc, err := o.scenario(ctx, row.ScenarioID)
	if err != nil {
		return err
	}
	if !sc.AllowExtension {
		return replyMessage(ctx, t, "No extensions", "This scenario doesn't allow extensions. The guest can request access again after it ends.")
	}
	if !mayInvite(roles, t.Identity.AADObjectID, sc) && row.SponsorOID != t.Identity.AADObjectID {
		return replyMessage(ctx, t, "Not allowed", "Only the guest's sponsor can send the extension link.")
	}
	retry := cards.Data{cards.KeyVerb: cards.VerbExpirySendLink, cards.KeyOnboardingID: strconv.FormatInt(row.ID, 10)}
	id, cred, ok, err := o.delegated(ctx, t, "Sign in to send the extension link from your mailbox",
		cards.Error("Sign-in is temporarily unavailable", "Nothing was sent. Try again in a moment.", retry))
	if !ok {
		return err
	}
	sponsor := firstNonEmpty(id.Name, t.Identity.Name, "Your sponsor")
	until := ""
	if row.ExpiresAt != nil {
		until = " on " + row.ExpiresAt.UTC().Format("2 Jan 2006")
	}
	body := fmt.Sprintf("Hello,\n\nYour access to “%s” ends%s. If you still need it, request an extension here, signing in with your own work account:\n%s\n\n%s",
		sc.Name, until, o.link(sc), sponsor)
	err = o.d.Service.SendMail(ctx, cred, entitlement.Mail{To: []string{row.GuestEmail}, Subject: oneLine("Extend your access: " + sc.Name), Body: body})
	entry := store.AuditEntry{ActorOID: id.OID, ActorName: id.Name, TenantID: id.TenantID, Action: "onboarding.extensionLink",
		Target: row.ScenarioID + ":" + row.GuestEmail, Outcome: "sent", ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID,
		GraphRequestID: graphRequestID(err)}
	if err != nil {
		entry.Outcome, entry.Detail = "failed", err.Error()
		o.audit(ctx, entry)
		t.Log.ErrorContext(ctx, "sending the extension link failed", "error", err)
		return reply(ctx, t, cards.Error("Sending the link failed", "Nothing was sent. Try again in a moment.", retry))
	}
	o.audit(ctx, entry)
	return replyMessage(ctx, t, "Extension link sent", fmt.Sprintf("I sent %s the link to request an extension from your mailbox.", row.GuestEmail))
}

// onExpiryLetExpire acknowledges the sponsor's choice; the assignment ends on schedule.
func (o *Onboarding) onExpiryLetExpire(ctx context.Context, t *router.Turn) error {
	row, _, ok, err := o.onboardingFor(ctx, t, authz.ActionGuests)
	if !ok || err != nil {
		return err
	}
	until := "as scheduled"
	if row.ExpiresAt != nil {
		until = "on " + row.ExpiresAt.UTC().Format("2 Jan 2006")
	}
	o.audit(ctx, store.AuditEntry{ActorOID: t.Identity.AADObjectID, ActorName: t.Identity.Name, TenantID: t.Identity.TenantID,
		Action: "onboarding.letExpire", Target: row.ScenarioID + ":" + row.GuestEmail, Outcome: "acknowledged",
		ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID})
	return replyMessage(ctx, t, "Access will end", fmt.Sprintf("%s's access ends %s.", row.GuestEmail, until))
}
