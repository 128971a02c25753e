package onboarding

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// batch is one run of a draft's invitations.
type batch struct {
	draft    draft
	scenario entitlement.Scenario
	// cred is the sponsor's delegated credential for this run only (nil for link cards); it is
	// never stored.
	cred  azcore.TokenCredential
	actor *sso.Identity

	serviceURL, conversationID, cardID string
	holder                             string
}

// runBatch processes every guest of the draft not yet recorded, updating the progress card, then
// shows the results. Stopped early (shutdown), it leaves the rest for a resumed run.
func (o *Onboarding) runBatch(ctx context.Context, b *batch) {
	dr := b.draft
	log := o.log.With("batch", dr.Nonce, "scenario_id", dr.ScenarioID, "user_oid", dr.SponsorOID)
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := o.d.Store.ReleaseLease(rctx, batchLeaseName(dr.Nonce), b.holder); err != nil {
			log.Warn("releasing the batch lease failed", "error", err)
		}
	}()
	left, err := o.remainingToday(ctx, dr.SponsorOID)
	if err != nil {
		log.Error("counting today's invitations failed", "error", err)
		return
	}
	var results []cards.GuestResult
	for i, email := range dr.Addresses {
		if ctx.Err() != nil {
			log.Info("invitation batch stopped; it resumes from the progress card", "done", i)
			return
		}
		if ok, err := o.d.Store.AcquireLease(ctx, batchLeaseName(dr.Nonce), b.holder, batchLease); err != nil || !ok {
			log.Warn("lost the batch lease; stopping", "error", err)
			return
		}
		res, err := o.guest(ctx, b, email, &left)
		if err != nil {
			// The store failed: stop here; the guest's ledger entry says what is known.
			log.Error("recording an invitation failed; stopping the batch", "error", err)
			return
		}
		results = append(results, res)
		if o.afterGuest != nil {
			o.afterGuest(i)
		}
		if err := o.updateCard(ctx, b, progressCard(dr, results)); err != nil {
			log.Warn("updating the progress card failed", "error", err)
		}
	}
	all := append(append([]cards.GuestResult(nil), dr.Refused...), results...)
	if err := o.updateCard(ctx, b, cards.InviteResults(cards.InviteResultsInput{ScenarioID: dr.ScenarioID, ScenarioName: dr.ScenarioName, Results: all})); err != nil {
		log.Warn("showing the results failed", "error", err)
	}
	if err := o.sendLinkCardOnce(ctx, b, all); err != nil {
		log.Warn("sending the link card failed", "error", err)
	}
	log.Info("invitation batch finished", "guests", len(all))
}

// updateCard replaces the batch's card, or sends a new one when there is no card to update.
func (o *Onboarding) updateCard(ctx context.Context, b *batch, c cards.Card) error {
	if b.cardID != "" {
		return o.d.Connector.Update(ctx, b.serviceURL, b.conversationID, b.cardID, botframeworkCard(c))
	}
	id, err := o.d.Connector.Send(ctx, b.serviceURL, b.conversationID, botframeworkCard(c))
	if err == nil {
		b.cardID = id
	}
	return err
}

// sendLinkCardOnce posts the forwardable link card when some guest is to get the link from the
// sponsor, once per batch.
func (o *Onboarding) sendLinkCardOnce(ctx context.Context, b *batch, results []cards.GuestResult) error {
	need := false
	for _, r := range results {
		need = need || r.Outcome == cards.InviteLinkReady
	}
	if !need {
		return nil
	}
	key := "onboarding:linkcard:" + b.draft.Nonce
	var sent bool
	if found, err := o.getJSON(ctx, key, &sent); err != nil || found {
		return err
	}
	if err := o.putJSON(ctx, key, true); err != nil {
		return err
	}
	sc := b.scenario
	_, err := o.d.Connector.Send(ctx, b.serviceURL, b.conversationID, botframeworkCard(cards.GuestLink(cards.GuestLinkInput{
		ScenarioName: sc.Name, Description: sc.Description, SponsorName: b.draft.SponsorName, Organisation: o.d.Organisation,
		DurationDays: sc.DurationDays, MyAccessURL: b.draft.Link})))
	return err
}

// guest invites one guest, recording it before anything is sent. err is a store failure; every
// other problem is the guest's result.
func (o *Onboarding) guest(ctx context.Context, b *batch, email string, left *int) (cards.GuestResult, error) {
	dr := b.draft
	key := ledgerKey(dr.Nonce, email)
	var e ledgerEntry
	found, err := o.getJSON(ctx, key, &e)
	if err != nil {
		return cards.GuestResult{}, err
	}
	if found {
		if e.Status == ledgerDone {
			return e.Result, nil
		}
		// Interrupted between recording and confirming: the guest may have the message.
		res := cards.GuestResult{Email: email, Outcome: cards.InviteSent,
			Reason: "Interrupted while sending; not sent again so the guest doesn't get it twice. Check your Sent Items."}
		return res, o.putJSON(ctx, key, ledgerEntry{Status: ledgerDone, Result: res})
	}
	res, guestOID, record := o.classify(ctx, b, email, left)
	if record {
		if err := o.putJSON(ctx, key, ledgerEntry{Status: ledgerSending, Result: cards.GuestResult{Email: email}}); err != nil {
			return cards.GuestResult{}, err
		}
		*left--
		res = o.deliver(ctx, b, email, guestOID, res.Reason)
	}
	return res, o.putJSON(ctx, key, ledgerEntry{Status: ledgerDone, Result: res})
}

// classify checks the directory and the guest's assignments. record is false when the guest gets
// nothing (already has access, a member, over the limit, a lookup failure); res then is final.
// Otherwise guestOID is the existing guest's object id (empty for someone new) and res.Reason
// what is known about them.
func (o *Onboarding) classify(ctx context.Context, b *batch, email string, left *int) (res cards.GuestResult, guestOID string, record bool) {
	res.Email = email
	refuse := func(reason string) (cards.GuestResult, string, bool) {
		res.Outcome, res.Reason = cards.InviteRefused, reason
		return res, "", false
	}
	p, exists, err := o.d.Service.FindUserByEmail(ctx, email)
	if err != nil {
		o.log.WarnContext(ctx, "looking a guest up failed", "error", err, "graph_request_id", graphRequestID(err))
		return refuse("I couldn't check the directory just now; invite this guest again later.")
	}
	if exists {
		if !p.External {
			return refuse("Is a member of your organisation, not a guest.")
		}
		as, err := o.d.Service.Assignments(ctx, entitlement.AssignmentFilter{AccessPackageID: b.scenario.AccessPackageID, TargetOID: p.OID})
		if err != nil {
			o.log.WarnContext(ctx, "reading a guest's assignments failed", "error", err, "graph_request_id", graphRequestID(err))
			return refuse("I couldn't check the guest's access just now; invite this guest again later.")
		}
		for _, a := range as {
			if strings.EqualFold(a.State, "delivered") {
				res.Outcome, res.Reason = cards.InviteAlreadyHasAccess, "Already a guest with this access"
				if !a.ExpiresAt.IsZero() {
					res.Reason += " until " + a.ExpiresAt.UTC().Format("2 Jan 2006")
				}
				res.Reason += "; not invited again."
				return res, "", false
			}
		}
		res.Reason = "Already a guest in your directory."
	}
	if *left <= 0 {
		return refuse(fmt.Sprintf("Your daily limit of %d invitations is reached; try again tomorrow.", o.d.DailyLimit))
	}
	if exists {
		return res, p.OID, true
	}
	return res, "", true
}

// deliver records the onboarding and sends the guest the link as the draft says.
// An existing guest (guestOID set) is never re-invited through B2B: they get the link card.
func (o *Onboarding) deliver(ctx context.Context, b *batch, email, guestOID, known string) cards.GuestResult {
	dr := b.draft
	existing := guestOID != ""
	res := cards.GuestResult{Email: email}
	channel := map[string]string{cards.DeliveryMail: store.ChannelMail, cards.DeliveryLink: store.ChannelCard, cards.DeliveryB2B: store.ChannelB2B}[dr.Delivery]
	if dr.Delivery == cards.DeliveryB2B && existing {
		channel = store.ChannelCard
	}
	row, err := o.d.Store.UpsertOnboarding(ctx, store.Onboarding{TenantID: dr.TenantID, ScenarioID: dr.ScenarioID, SponsorOID: dr.SponsorOID,
		GuestEmail: email, GuestOID: guestOID, Channel: channel, State: store.OnboardingLinkSent})
	if err != nil {
		o.log.ErrorContext(ctx, "recording an onboarding failed", "error", err)
		res.Outcome, res.Reason = cards.InviteRefused, "I couldn't record the invitation; nothing was sent. Try again."
		return res
	}
	fail := func(what string, err error) cards.GuestResult {
		msg := what + " failed"
		switch {
		case errors.Is(err, entitlement.ErrInvalid):
			msg += ": " + err.Error()
		case graph.IsForbidden(err):
			msg += ": Entra refused it for your account (the delegated permission may not be consented)"
		}
		o.log.WarnContext(ctx, what+" failed", "error", err, "graph_request_id", graphRequestID(err))
		last := err.Error()
		if _, uerr := o.d.Store.UpdateOnboardingState(ctx, row.ID, store.OnboardingFailed, store.OnboardingFields{LastError: &last}); uerr != nil {
			o.log.ErrorContext(ctx, "recording a failed invitation failed", "error", uerr)
		}
		res.Outcome, res.Reason = cards.InviteRefused, msg+"."
		return res
	}
	actor := dr.SponsorOID
	switch {
	case channel == store.ChannelCard:
		res.Outcome, res.Reason = cards.InviteLinkReady, strings.TrimSpace(known+" Forward the link card below.")
	case channel == store.ChannelMail:
		if err := o.d.Service.SendMail(ctx, b.cred, entitlement.Mail{To: []string{email}, Subject: dr.Subject, Body: dr.Body}); err != nil {
			return fail("Sending the mail", err)
		}
		res.Outcome, res.Reason = cards.InviteSent, strings.TrimSpace(known+" Mail sent from your mailbox.")
	default:
		inv, err := o.d.Service.Invite(ctx, b.cred, entitlement.InviteInput{Email: email, RedirectURL: dr.Link, SponsorOID: actor,
			SendInvitationMessage: true, Message: clip(dr.Body, entitlement.MaxDescriptionLen)})
		if err != nil {
			return fail("The B2B invitation", err)
		}
		oid := inv.InvitedUserOID
		if _, err := o.d.Store.UpdateOnboardingState(ctx, row.ID, store.OnboardingLinkSent, store.OnboardingFields{GuestOID: &oid}); err != nil {
			o.log.ErrorContext(ctx, "recording the invited guest failed", "error", err)
		}
		res.Outcome, res.Reason = cards.InviteSent, "B2B invitation sent; you are the guest's sponsor. Outside entitlement management's automatic removal."
	}
	o.audit(ctx, store.AuditEntry{ActorOID: actor, ActorName: dr.SponsorName, TenantID: dr.TenantID, Action: "onboarding.invite",
		Target: dr.ScenarioID + ":" + email, Outcome: string(res.Outcome), Detail: "channel=" + channel})
	return res
}

// graphRequestID returns Graph's request id of a failed call, if any, for the logs.
func graphRequestID(err error) string {
	if ge, ok := graph.AsError(err); ok && ge != nil {
		return ge.RequestID
	}
	return ""
}
