package onboarding

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/store"
)

// followed are the states the worker still follows; the rest are final.
var followed = []string{store.OnboardingLinkSent, store.OnboardingRequested, store.OnboardingApproved,
	store.OnboardingDelivered, store.OnboardingExpiring}

// followLimit bounds the onboardings one pass reads (the store's maximum page).
const followLimit = 1000

// Poll runs one follow-up pass: every open onboarding is compared with Graph (read app-only) and
// moved on, and sponsors are told what they should hear about. Run calls it on the lease holder.
func (o *Onboarding) Poll(ctx context.Context) error {
	rows, err := o.d.Store.ListOnboardings(ctx, store.OnboardingQuery{TenantID: o.d.TenantID, States: followed, Limit: followLimit})
	if err != nil {
		return fmt.Errorf("onboarding: list onboardings: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	pending, err := o.pendingByGuest(ctx, rows)
	if err != nil {
		return err
	}
	scenarios := map[string]*scenarioView{}
	var errs []error
	for _, row := range rows {
		v, ok := scenarios[row.ScenarioID]
		if !ok {
			v, err = o.view(ctx, row.ScenarioID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			scenarios[row.ScenarioID] = v
		}
		if err := o.follow(ctx, row, v, pending); err != nil {
			errs = append(errs, fmt.Errorf("onboarding %d: %w", row.ID, err))
		}
	}
	return errors.Join(errs...)
}

// scenarioView is what one pass knows about a scenario: its definition and its assignments by
// guest (email and object id, lower-case).
type scenarioView struct {
	sc          entitlement.Scenario
	assignments map[string]entitlement.Assignment
}

func (o *Onboarding) view(ctx context.Context, scenarioID string) (*scenarioView, error) {
	sc, err := o.scenario(ctx, scenarioID)
	if err != nil {
		return nil, err
	}
	v := &scenarioView{sc: sc, assignments: map[string]entitlement.Assignment{}}
	if sc.AccessPackageID == "" {
		return v, nil
	}
	as, err := o.d.Service.Assignments(ctx, entitlement.AssignmentFilter{AccessPackageID: sc.AccessPackageID})
	if err != nil {
		return nil, fmt.Errorf("onboarding: assignments of %s: %w", sc.ID, err)
	}
	for _, a := range as {
		// A delivered assignment wins over an expired one of an earlier cycle.
		for _, k := range []string{strings.ToLower(a.Target.Email), strings.ToLower(a.Target.OID)} {
			if k == "" {
				continue
			}
			if cur, ok := v.assignments[k]; !ok || !isDelivered(cur) {
				v.assignments[k] = a
			}
		}
	}
	return v, nil
}

func isDelivered(a entitlement.Assignment) bool { return strings.EqualFold(a.State, "delivered") }

// pendingByGuest indexes pending requests by access package and requestor email, read only when
// some guest has not requested yet.
func (o *Onboarding) pendingByGuest(ctx context.Context, rows []store.Onboarding) (map[string]entitlement.Request, error) {
	need := false
	for _, r := range rows {
		need = need || r.State == store.OnboardingLinkSent
	}
	out := map[string]entitlement.Request{}
	if !need {
		return out, nil
	}
	err := o.d.Service.PendingRequests(ctx, func(r entitlement.Request) error {
		out[r.AccessPackageID+"\x00"+strings.ToLower(r.Requestor.Email)] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("onboarding: pending requests: %w", err)
	}
	return out, nil
}

// follow moves one onboarding to the state Graph shows and tells the sponsor what changed.
func (o *Onboarding) follow(ctx context.Context, row store.Onboarding, v *scenarioView, pending map[string]entitlement.Request) error {
	next, f := o.nextState(ctx, row, v, pending)
	if next != row.State || f != (store.OnboardingFields{}) {
		updated, err := o.d.Store.UpdateOnboardingState(ctx, row.ID, next, f)
		if err != nil {
			return fmt.Errorf("update state: %w", err)
		}
		if next != row.State {
			o.log.InfoContext(ctx, "onboarding moved", "onboarding_id", row.ID, "from", row.State, "to", next, "scenario_id", row.ScenarioID)
		}
		row = updated
	}
	return o.tellSponsor(ctx, row, v.sc)
}

// nextState derives an onboarding's state from its assignment, else its request.
func (o *Onboarding) nextState(ctx context.Context, row store.Onboarding, v *scenarioView, pending map[string]entitlement.Request) (string, store.OnboardingFields) {
	var f store.OnboardingFields
	a, hasAssignment := v.assignments[strings.ToLower(row.GuestEmail)]
	if !hasAssignment && row.GuestOID != "" {
		a, hasAssignment = v.assignments[strings.ToLower(row.GuestOID)]
	}
	now := o.now()
	if hasAssignment && isDelivered(a) {
		if row.AssignmentID != a.ID {
			f.AssignmentID = &a.ID
		}
		if row.GuestOID == "" && a.Target.OID != "" {
			f.GuestOID = &a.Target.OID
		}
		if !a.ExpiresAt.IsZero() && (row.ExpiresAt == nil || !row.ExpiresAt.Equal(a.ExpiresAt)) {
			exp := a.ExpiresAt
			f.ExpiresAt = &exp
		}
		if !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(now.Add(o.d.ExpiryNotice)) {
			return store.OnboardingExpiring, f
		}
		return store.OnboardingDelivered, f
	}
	switch row.State {
	case store.OnboardingDelivered, store.OnboardingExpiring:
		// The assignment is gone: it ended on schedule, or someone removed it.
		if row.ExpiresAt != nil && !now.Before(row.ExpiresAt.Add(-time.Hour)) {
			return store.OnboardingExpired, f
		}
		if hasAssignment && strings.EqualFold(a.State, "expired") {
			return store.OnboardingExpired, f
		}
		return store.OnboardingRemoved, f
	case store.OnboardingLinkSent:
		if r, ok := pending[v.sc.AccessPackageID+"\x00"+strings.ToLower(row.GuestEmail)]; ok {
			f.RequestID = &r.ID
			if row.GuestOID == "" && r.Requestor.OID != "" {
				f.GuestOID = &r.Requestor.OID
			}
			return store.OnboardingRequested, f
		}
	case store.OnboardingRequested, store.OnboardingApproved:
		if row.RequestID == "" {
			return row.State, f
		}
		r, err := o.d.Service.RequestState(ctx, row.RequestID)
		if err != nil {
			if !errors.Is(err, entitlement.ErrNotFound) {
				o.log.WarnContext(ctx, "reading a guest's request failed", "onboarding_id", row.ID, "error", err)
				return row.State, f
			}
			r.State = entitlement.RequestCanceled
		}
		switch r.State {
		case entitlement.RequestDenied:
			return store.OnboardingDenied, f
		case entitlement.RequestCanceled:
			// The guest withdrew (or the request vanished): the link still stands.
			empty := ""
			f.RequestID = &empty
			return store.OnboardingLinkSent, f
		case entitlement.RequestDeliveryFailed:
			msg := "Entra could not deliver the access"
			f.LastError = &msg
			return store.OnboardingFailed, f
		case entitlement.RequestDelivering, entitlement.RequestDelivered, entitlement.RequestPartially, entitlement.RequestScheduled:
			return store.OnboardingApproved, f
		}
	}
	return row.State, f
}

// tellSponsor sends the sponsor the one message an onboarding's state calls for, once: access
// delivered, request denied, or the expiry card. NotifiedState is written before the send (a
// crash in between loses the message rather than sending it twice) and restored when the send
// definitely failed, so the next pass tries again.
func (o *Onboarding) tellSponsor(ctx context.Context, row store.Onboarding, sc entitlement.Scenario) error {
	var card cards.Card
	guest := row.GuestEmail
	switch row.State {
	case store.OnboardingDelivered:
		if row.NotifiedState == store.OnboardingDelivered || row.NotifiedState == store.OnboardingExpiring {
			return nil
		}
		text := fmt.Sprintf("%s now has access to “%s”.", guest, sc.Name)
		if row.ExpiresAt != nil {
			text += " It lasts until " + row.ExpiresAt.UTC().Format("2 Jan 2006") + "."
		}
		if row.Channel == store.ChannelB2B {
			text += " They were invited as a B2B guest, so entitlement management does not remove their guest account automatically."
		}
		card = cards.Message("Your guest has access", text)
	case store.OnboardingDenied:
		if row.NotifiedState == store.OnboardingDenied {
			return nil
		}
		card = cards.Message("Your guest's request was denied", fmt.Sprintf("%s's request for “%s” was denied.", guest, sc.Name))
	case store.OnboardingExpiring:
		if row.NotifiedState == store.OnboardingExpiring || row.ExpiresAt == nil {
			return nil
		}
		card = cards.ExpiryNotice(cards.ExpiryInput{
			Guest:        entitlement.Person{OID: row.GuestOID, Email: guest},
			ScenarioName: sc.Name, OnboardingID: fmt.Sprint(row.ID), ExpiresAt: *row.ExpiresAt,
			ExtensionAllowed: sc.AllowExtension,
		})
	default:
		return nil
	}
	previous, state := row.NotifiedState, row.State
	if _, err := o.d.Store.UpdateOnboardingState(ctx, row.ID, row.State, store.OnboardingFields{NotifiedState: &state}); err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	if err := o.notify(ctx, row.TenantID, row.SponsorOID, card); err != nil {
		if errors.Is(err, botframework.ErrOutcomeUnknown) {
			o.log.WarnContext(ctx, "telling the sponsor: outcome unknown; not resending", "onboarding_id", row.ID, "error", err)
			return nil
		}
		if _, rerr := o.d.Store.UpdateOnboardingState(ctx, row.ID, row.State, store.OnboardingFields{NotifiedState: &previous}); rerr != nil {
			o.log.ErrorContext(ctx, "restoring the notification state failed", "onboarding_id", row.ID, "error", rerr)
		}
		return fmt.Errorf("tell sponsor: %w", err)
	}
	return nil
}
