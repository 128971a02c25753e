package onboarding

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

const assignmentRequestsRoute = "POST /v1.0/identityGovernance/entitlementManagement/assignmentRequests"

// grantedOnboarding grants existingGuest the scenario (request approved by Megan) and records the
// guest's onboarding, sponsored by sponsor, as the invitation would.
func grantedOnboarding(t *testing.T, e *env, b *bot, sc entitlement.Scenario, sponsor string) store.Onboarding {
	t.Helper()
	ctx := context.Background()
	e.grant(sc.AccessPackageID, existingGuest)
	row, err := b.st.UpsertOnboarding(ctx, store.Onboarding{TenantID: sandbox.TenantID, ScenarioID: sc.ID, SponsorOID: sponsor,
		GuestEmail: existingGuest, Channel: store.ChannelMail, State: store.OnboardingLinkSent})
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// pollAndLoad runs n passes and reloads the onboarding.
func pollAndLoad(t *testing.T, b *bot, id int64, n int) store.Onboarding {
	t.Helper()
	ctx := context.Background()
	for range n {
		if err := b.o.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	row, err := b.st.GetOnboarding(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// expiryCards returns the expiry notices the bot sent.
func expiryCards(t *testing.T, e *env) []string {
	t.Helper()
	var out []string
	for _, c := range e.conn.Calls() {
		if c.Op == botframework.OpSend && c.Activity != nil && strings.Contains(string(mustJSON(t, c.Activity)), "access ends soon") {
			out = append(out, string(mustJSON(t, c.Activity)))
		}
	}
	return out
}

// assignmentEnd reads the guest's delivered assignment's end from the sandbox (app-only).
func assignmentEnd(t *testing.T, b *bot, pkg string) time.Time {
	t.Helper()
	as, err := b.svc.Assignments(context.Background(), entitlement.AssignmentFilter{AccessPackageID: pkg})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if strings.EqualFold(a.Target.Email, existingGuest) && isDelivered(a) {
			return a.ExpiresAt
		}
	}
	t.Fatalf("no delivered assignment for %s in %+v", existingGuest, as)
	return time.Time{}
}

// TestExpiryExtendWithSponsorRight: the scenario's owner gets Extend on the expiry card; the
// confirmation shows the new end (now + the scenario's duration); without an SSO token Teams is
// asked for one and nothing changes; with it the assignment is extended in Entra as the sponsor,
// audited with Graph's request id, and the onboarding is back to "has access" with the new end,
// ready for the next expiry notice.
func TestExpiryExtendWithSponsorRight(t *testing.T) {
	e := newEnv(t)
	start := time.Now().UTC()
	clock := start
	b := e.start(botOptions{now: func() time.Time { return clock }})
	// Patti holds an entitlement-management role (catalog creator) in the sandbox tenant.
	sc := b.scenario("Launch", sandbox.UserPatti, nil) // 30 days
	ctx := context.Background()
	row := grantedOnboarding(t, e, b, sc, sandbox.UserPatti)
	if got := pollAndLoad(t, b, row.ID, 1); got.State != store.OnboardingDelivered {
		t.Fatalf("30-day access is not expiring yet: %+v", got)
	}
	// 25 days later, in Entra and for the bot.
	e.sb.AdvanceClock(25 * 24 * time.Hour)
	clock = start.Add(25 * 24 * time.Hour)
	row = pollAndLoad(t, b, row.ID, 2)
	cardsSent := expiryCards(t, e)
	if row.State != store.OnboardingExpiring || len(cardsSent) != 1 || !contains(cardsSent[0], cards.VerbExpiryExtend, cards.VerbExpirySendLink, existingGuest) {
		t.Fatalf("expiry: %+v, cards %v", row, cardsSent)
	}
	oldEnd := *row.ExpiresAt
	id := strconv.FormatInt(row.ID, 10)
	wantEnd := clock.Add(30 * 24 * time.Hour).Truncate(time.Second)

	confirm := b.click(sandbox.UserPatti, map[string]string{cards.KeyVerb: cards.VerbExpiryExtend, cards.KeyOnboardingID: id}, "").cardText(t)
	if !contains(confirm, "Extend", existingGuest, "Launch", cards.VerbExpiryExtendConfirm, "Extend until "+wantEnd.Format("2 Jan 2006"),
		oldEnd.Format("2 Jan 2006, 15:04 UTC")) {
		t.Fatalf("confirmation: %s", confirm)
	}

	// Confirm without an SSO token: Teams is asked for the sponsor's token; Entra is not called.
	e.sb.ResetCalls()
	r := b.click(sandbox.UserPatti, map[string]string{cards.KeyVerb: cards.VerbExpiryExtendConfirm, cards.KeyOnboardingID: id}, "")
	if r.Status != http.StatusUnauthorized || r.Body.Type != botframework.InvokeTypeLoginRequest {
		t.Fatalf("confirm without token: %d %s %s", r.Status, r.Body.Type, r.Body.Value)
	}
	if n := e.sb.Calls()[assignmentRequestsRoute]; n != 0 || !assignmentEnd(t, b, sc.AccessPackageID).Equal(oldEnd) {
		t.Fatalf("extended without the sponsor's token (%d requests)", n)
	}

	done := b.click(sandbox.UserPatti, map[string]string{cards.KeyVerb: cards.VerbExpiryExtendConfirm, cards.KeyOnboardingID: id}, e.token(sandbox.UserPatti)).cardText(t)
	if !contains(done, "Extended until "+wantEnd.Format("2 Jan 2006"), existingGuest, "records you") {
		t.Fatalf("extended: %s", done)
	}
	if n := e.sb.Calls()[assignmentRequestsRoute]; n != 1 {
		t.Fatalf("assignment requests = %d, want 1", n)
	}
	if got := assignmentEnd(t, b, sc.AccessPackageID); !got.Equal(wantEnd) {
		t.Fatalf("sandbox assignment ends %s, want %s", got, wantEnd)
	}
	audit := mustAudit(t, b.st, "onboarding.extend")
	if len(audit) != 1 || audit[0].Outcome != "extended" || audit[0].ActorOID != sandbox.UserPatti || audit[0].GraphRequestID == "" ||
		!strings.Contains(audit[0].Detail, wantEnd.Format(time.RFC3339)) {
		t.Fatalf("audit: %+v", audit)
	}
	row, err := b.st.GetOnboarding(ctx, row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.State != store.OnboardingDelivered || row.ExpiresAt == nil || !row.ExpiresAt.Equal(wantEnd) || row.NotifiedState != store.OnboardingDelivered {
		t.Fatalf("onboarding after the extension: %+v", row)
	}
	// The follower agrees with Entra and sends nothing new.
	sends := len(e.activities(botframework.OpSend, conversationOf(sandbox.UserPatti)))
	if row = pollAndLoad(t, b, row.ID, 2); row.State != store.OnboardingDelivered || !row.ExpiresAt.Equal(wantEnd) {
		t.Fatalf("after polling: %+v", row)
	}
	if got := len(e.activities(botframework.OpSend, conversationOf(sandbox.UserPatti))); got != sends || len(expiryCards(t, e)) != 1 {
		t.Fatalf("messages after the extension: %d → %d", sends, got)
	}
	// Near the new end the sponsor is told again.
	e.sb.AdvanceClock(25 * 24 * time.Hour)
	clock = clock.Add(25 * 24 * time.Hour)
	if row = pollAndLoad(t, b, row.ID, 1); row.State != store.OnboardingExpiring || len(expiryCards(t, e)) != 2 {
		t.Fatalf("second expiry: %+v, %d cards", row, len(expiryCards(t, e)))
	}
}

// TestExpiryExtendRefusedByEntra: Adele owns the scenario, so the card offers Extend, but she
// holds no entitlement-management role: Entra refuses her delegated request, nothing changes, and
// the card offers to send the guest the extension link instead.
func TestExpiryExtendRefusedByEntra(t *testing.T) {
	e := newEnv(t)
	clock := time.Now().UTC()
	b := e.start(botOptions{now: func() time.Time { return clock }})
	sc := b.scenario("Launch", sandbox.UserAdele, func(s *entitlement.Scenario) { s.DurationDays = 5 })
	row := grantedOnboarding(t, e, b, sc, sandbox.UserAdele)
	row = pollAndLoad(t, b, row.ID, 1)
	if row.State != store.OnboardingExpiring || !contains(expiryCards(t, e)[0], cards.VerbExpiryExtend) {
		t.Fatalf("expiry: %+v %v", row, expiryCards(t, e))
	}
	oldEnd := *row.ExpiresAt
	id := strconv.FormatInt(row.ID, 10)
	// A day later an extension (now + 5 days) would end later than the current end.
	e.sb.AdvanceClock(24 * time.Hour)
	clock = clock.Add(24 * time.Hour)
	card := b.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbExpiryExtendConfirm, cards.KeyOnboardingID: id}, e.token(sandbox.UserAdele)).cardText(t)
	if !contains(card, "You can't extend this access", "don't hold", cards.VerbExpirySendLink) {
		t.Fatalf("refusal: %s", card)
	}
	if got := assignmentEnd(t, b, sc.AccessPackageID); !got.Equal(oldEnd) {
		t.Fatalf("assignment end moved to %s", got)
	}
	row, err := b.st.GetOnboarding(context.Background(), row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !row.ExpiresAt.Equal(oldEnd) || row.State != store.OnboardingExpiring {
		t.Fatalf("onboarding changed: %+v", row)
	}
	if audit := mustAudit(t, b.st, "onboarding.extend"); len(audit) != 1 || audit[0].Outcome != "forbidden" || audit[0].ActorOID != sandbox.UserAdele {
		t.Fatalf("audit: %+v", audit)
	}
	// The offered link goes out from Adele's mailbox.
	r := b.click(sandbox.UserAdele, map[string]string{cards.KeyVerb: cards.VerbExpirySendLink, cards.KeyOnboardingID: id}, e.token(sandbox.UserAdele))
	if !contains(r.cardText(t), "Extension link sent") || e.mailsTo(existingGuest) != 1 {
		t.Fatalf("extension link: %s", r.Body.Value)
	}
	// A sponsor who doesn't own the scenario gets no Extend button.
	if mayOfferExtend(sc, sandbox.UserMegan) || !mayOfferExtend(sc, sandbox.UserAdele) {
		t.Fatal("Extend is offered to the scenario's owners only")
	}
}
