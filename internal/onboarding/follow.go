package onboarding

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// lifecycle is the order an onboarding moves through on the way to access.
var lifecycle = []string{store.OnboardingLinkSent, store.OnboardingRequested, store.OnboardingApproved,
	store.OnboardingDelivered, store.OnboardingExpiring}

// followLimit bounds the onboardings one pass reads (the store's maximum page).
const followLimit = 1000

// requestSlack widens the window of requests read before the oldest invitation, for clock skew
// between this replica and Graph.
const requestSlack = 10 * time.Minute

// Poll runs one follow-up pass: every open onboarding is compared with Graph (read app-only) and
// moved on, and sponsors are told what they should hear about. Run calls it on the lease holder.
//
// Graph is read per access package, not per guest: the package's add requests since the oldest
// open invitation (when a guest of it has not got access yet) and its assignments, so a pass makes
// O(packages) calls however many guests are followed. Because the guest's requests are read
// directly rather than from the pending ones, a request submitted and decided (approved and
// delivered, or denied) between two passes is still seen.
func (o *Onboarding) Poll(ctx context.Context) error {
	rows, err := o.d.Store.ListOnboardings(ctx, store.OnboardingQuery{TenantID: o.d.TenantID, States: followed, Limit: followLimit})
	if err != nil {
		return fmt.Errorf("onboarding: list onboardings: %w", err)
	}
	var order []string
	byScenario := map[string][]store.Onboarding{}
	for _, r := range rows {
		if _, ok := byScenario[r.ScenarioID]; !ok {
			order = append(order, r.ScenarioID)
		}
		byScenario[r.ScenarioID] = append(byScenario[r.ScenarioID], r)
	}
	var errs []error
	for _, id := range order {
		v, err := o.view(ctx, id, byScenario[id])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, row := range byScenario[id] {
			if err := o.follow(ctx, row, v); err != nil {
				errs = append(errs, fmt.Errorf("onboarding %d: %w", row.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// scenarioView is what one pass knows about a scenario: its definition, its assignments by guest
// and the guests' add requests by guest (email and object id, lower-case; newest first) and by id.
type scenarioView struct {
	sc          entitlement.Scenario
	assignments map[string]entitlement.Assignment
	requests    map[string][]entitlement.Request
	requestByID map[string]entitlement.Request
}

// view reads what a pass needs about one scenario whose onboardings are rows: the requests first,
// then the assignments, so a request delivered between the two reads shows as a delivered
// assignment rather than being left one pass behind.
func (o *Onboarding) view(ctx context.Context, scenarioID string, rows []store.Onboarding) (*scenarioView, error) {
	sc, err := o.scenario(ctx, scenarioID)
	if err != nil {
		return nil, err
	}
	v := &scenarioView{sc: sc, assignments: map[string]entitlement.Assignment{},
		requests: map[string][]entitlement.Request{}, requestByID: map[string]entitlement.Request{}}
	if sc.AccessPackageID == "" {
		return v, nil
	}
	if since, need := requestWindow(rows); need {
		reqs, err := o.d.Service.PackageRequests(ctx, sc.AccessPackageID, since)
		if err != nil {
			return nil, fmt.Errorf("onboarding: requests of %s: %w", sc.ID, err)
		}
		for _, r := range reqs {
			v.requestByID[r.ID] = r
			for _, k := range guestKeys(r.Requestor.Email, r.Requestor.OID) {
				v.requests[k] = append(v.requests[k], r)
			}
		}
	}
	as, err := o.d.Service.Assignments(ctx, entitlement.AssignmentFilter{AccessPackageID: sc.AccessPackageID})
	if err != nil {
		return nil, fmt.Errorf("onboarding: assignments of %s: %w", sc.ID, err)
	}
	for _, a := range as {
		// A delivered assignment wins over an expired one of an earlier cycle.
		for _, k := range guestKeys(a.Target.Email, a.Target.OID) {
			if cur, ok := v.assignments[k]; !ok || !isDelivered(cur) {
				v.assignments[k] = a
			}
		}
	}
	return v, nil
}

// requestWindow says whether any onboarding still waits for its guest's request or decision, and
// from when requests are read: the oldest such invitation (less requestSlack). A request made
// before the guest was invited is not theirs to follow.
func requestWindow(rows []store.Onboarding) (time.Time, bool) {
	var since time.Time
	need := false
	for _, r := range rows {
		switch r.State {
		case store.OnboardingLinkSent, store.OnboardingRequested, store.OnboardingApproved:
		default:
			continue
		}
		if r.InvitedAt.IsZero() {
			return time.Time{}, true
		}
		if !need || r.InvitedAt.Before(since) {
			since = r.InvitedAt
		}
		need = true
	}
	if !need {
		return time.Time{}, false
	}
	return since.Add(-requestSlack), true
}

func guestKeys(email, oid string) []string {
	var out []string
	for _, k := range []string{strings.ToLower(email), strings.ToLower(oid)} {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}

func isDelivered(a entitlement.Assignment) bool { return strings.EqualFold(a.State, "delivered") }

// assignmentOf returns the guest's assignment of the scenario's package, if any.
func (v *scenarioView) assignmentOf(row store.Onboarding) (entitlement.Assignment, bool) {
	for _, k := range guestKeys(row.GuestEmail, row.GuestOID) {
		if a, ok := v.assignments[k]; ok {
			return a, true
		}
	}
	return entitlement.Assignment{}, false
}

// guestRequests returns the guest's add requests of the package read this pass, newest first.
func (v *scenarioView) guestRequests(row store.Onboarding) []entitlement.Request {
	var out []entitlement.Request
	for _, k := range guestKeys(row.GuestEmail, row.GuestOID) {
		for _, r := range v.requests[k] {
			if !slices.ContainsFunc(out, func(x entitlement.Request) bool { return x.ID == r.ID }) {
				out = append(out, r)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b entitlement.Request) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out
}

// requestOf returns the request an onboarding follows: the one it recorded unless the guest
// withdrew it, else the guest's newest request unless that one was withdrawn. found=false means
// the guest has no live request. An error means the recorded request could not be read this pass
// (the onboarding then stays as it is).
func (o *Onboarding) requestOf(ctx context.Context, row store.Onboarding, v *scenarioView) (r entitlement.Request, found bool, err error) {
	if row.RequestID != "" {
		r, ok := v.requestByID[row.RequestID]
		if !ok {
			// Older than this pass's window (the guest was invited again since): read it alone.
			got, err := o.d.Service.RequestState(ctx, row.RequestID)
			switch {
			case errors.Is(err, entitlement.ErrNotFound):
				got = entitlement.Request{ID: row.RequestID, State: entitlement.RequestCanceled}
			case err != nil:
				return entitlement.Request{}, false, err
			}
			r = got
		}
		if r.State != entitlement.RequestCanceled {
			return r, true, nil
		}
	}
	if rs := v.guestRequests(row); len(rs) > 0 && rs[0].State != entitlement.RequestCanceled {
		return rs[0], true, nil
	}
	return entitlement.Request{}, false, nil
}

// follow moves one onboarding to the state Graph shows, through the states in between (each
// written and logged, so the row and the log tell link sent → requested → approved → delivered
// even when it all happened between two passes), and tells the sponsor what changed.
func (o *Onboarding) follow(ctx context.Context, row store.Onboarding, v *scenarioView) error {
	steps, f := o.nextState(ctx, row, v)
	if len(steps) == 0 && f != (store.OnboardingFields{}) {
		steps = []string{row.State}
	}
	for i, next := range steps {
		fields := store.OnboardingFields{}
		if i == 0 {
			fields = f
		}
		updated, err := o.d.Store.UpdateOnboardingState(ctx, row.ID, next, fields)
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

// stepsTo lists the states from one to another along the lifecycle (excluding from). Denial and
// failed delivery branch off after requested and approved; anything else (going back to link sent
// when the guest withdrew, expiry, removal) is a single step.
func stepsTo(from, to string) []string {
	if from == to {
		return nil
	}
	i := slices.Index(lifecycle, from)
	var j int
	switch to {
	case store.OnboardingDenied:
		j = slices.Index(lifecycle, store.OnboardingRequested)
	case store.OnboardingFailed:
		j = slices.Index(lifecycle, store.OnboardingApproved)
	default:
		j = slices.Index(lifecycle, to) - 1
	}
	if i < 0 || j < i {
		return []string{to}
	}
	return append(slices.Clone(lifecycle[i+1:j+1]), to)
}

// nextState derives the states an onboarding moves through from its assignment, else its request.
func (o *Onboarding) nextState(ctx context.Context, row store.Onboarding, v *scenarioView) ([]string, store.OnboardingFields) {
	var f store.OnboardingFields
	a, hasAssignment := v.assignmentOf(row)
	now := o.now()
	waiting := row.State == store.OnboardingLinkSent || row.State == store.OnboardingRequested || row.State == store.OnboardingApproved
	var r entitlement.Request
	hasRequest := false
	if waiting {
		var err error
		if r, hasRequest, err = o.requestOf(ctx, row, v); err != nil {
			o.log.WarnContext(ctx, "reading a guest's request failed", "onboarding_id", row.ID, "error", err)
			if !(hasAssignment && isDelivered(a)) {
				return nil, f
			}
		}
		if hasRequest {
			if r.ID != row.RequestID {
				f.RequestID = &r.ID
			}
			if row.GuestOID == "" && r.Requestor.OID != "" {
				f.GuestOID = &r.Requestor.OID
			}
		}
	}
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
		to := store.OnboardingDelivered
		if !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(now.Add(o.d.ExpiryNotice)) {
			to = store.OnboardingExpiring
		}
		if waiting && !hasRequest && row.RequestID == "" {
			// Access came without a request we know of (assigned directly): no steps to invent.
			if to == row.State {
				return nil, f
			}
			return []string{to}, f
		}
		return stepsTo(row.State, to), f
	}
	switch row.State {
	case store.OnboardingDelivered, store.OnboardingExpiring:
		// The assignment is gone: it ended on schedule, or someone removed it.
		if row.ExpiresAt != nil && !now.Before(row.ExpiresAt.Add(-time.Hour)) {
			return []string{store.OnboardingExpired}, f
		}
		if hasAssignment && strings.EqualFold(a.State, "expired") {
			return []string{store.OnboardingExpired}, f
		}
		return []string{store.OnboardingRemoved}, f
	}
	if !waiting {
		return nil, f
	}
	if !hasRequest {
		if row.RequestID != "" {
			// The guest withdrew (or the request vanished): the link still stands.
			empty := ""
			f.RequestID = &empty
			return stepsTo(row.State, store.OnboardingLinkSent), f
		}
		return nil, f
	}
	switch r.State {
	case entitlement.RequestSubmitted, entitlement.RequestPendingApproval:
		return stepsTo(row.State, store.OnboardingRequested), f
	case entitlement.RequestDenied:
		return stepsTo(row.State, store.OnboardingDenied), f
	case entitlement.RequestDeliveryFailed:
		msg := "Entra could not deliver the access"
		f.LastError = &msg
		return stepsTo(row.State, store.OnboardingFailed), f
	case entitlement.RequestDelivering, entitlement.RequestDelivered, entitlement.RequestPartially, entitlement.RequestScheduled:
		// Approved; the assignment shows as delivered on a later read.
		return stepsTo(row.State, store.OnboardingApproved), f
	}
	return nil, f
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
			ExtensionAllowed: sc.AllowExtension, CanExtend: mayOfferExtend(sc, row.SponsorOID),
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
