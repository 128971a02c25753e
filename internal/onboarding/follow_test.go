package onboarding

import (
	"context"
	"strings"
	"testing"

	"guestpass/internal/botframework"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

// TestFollowSeesDecisionsBetweenPolls: one guest requests and is approved (access delivered), and
// another requests and is denied, entirely between two passes; the follower reads each package's
// requests and assignments directly, so both onboardings move on (with their request recorded) and
// the sponsor is told exactly once each. A pass makes two Graph calls per access package, however
// many guests it follows.
func TestFollowSeesDecisionsBetweenPolls(t *testing.T) {
	e := newEnv(t)
	b := e.start(botOptions{})
	ctx := context.Background()
	launch := b.scenario("Launch", sandbox.UserAdele, nil)
	fair := b.scenario("Trade fair", sandbox.UserAdele, nil)
	if err := b.st.UpsertConversation(ctx, store.ConversationRef{ConversationID: conversationOf(sandbox.UserAdele),
		ConversationType: "personal", ServiceURL: e.conn.ServiceURL, TenantID: sandbox.TenantID, BotID: botID, UserAADObjectID: sandbox.UserAdele}); err != nil {
		t.Fatal(err)
	}
	const (
		approved = "fast.yes@contoso.com"
		denied   = "fast.no@contoso.com"
		idle     = "still.thinking@contoso.com"
	)
	rows := map[string]store.Onboarding{}
	for _, g := range []struct{ scenario, email string }{{launch.ID, approved}, {launch.ID, denied}, {launch.ID, idle},
		{fair.ID, "fair.one@contoso.com"}, {fair.ID, "fair.two@contoso.com"}} {
		row, err := b.st.UpsertOnboarding(ctx, store.Onboarding{TenantID: sandbox.TenantID, ScenarioID: g.scenario, SponsorOID: sandbox.UserAdele,
			GuestEmail: g.email, Channel: store.ChannelCard, State: store.OnboardingLinkSent})
		if err != nil {
			t.Fatal(err)
		}
		rows[g.email] = row
	}
	poll := func() {
		t.Helper()
		if err := b.o.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	load := func(email string) store.Onboarding {
		t.Helper()
		row, err := b.st.GetOnboarding(ctx, rows[email].ID)
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	notes := func() []string {
		var out []string
		for _, a := range e.activities(botframework.OpSend, conversationOf(sandbox.UserAdele)) {
			if strings.Contains(a, "now has access") || strings.Contains(a, "was denied") {
				out = append(out, a)
			}
		}
		return out
	}
	poll()

	// Between two passes: one request approved and delivered, one denied.
	yes, err := e.sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: approved, AccessPackageID: launch.AccessPackageID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.DecideAs(sandbox.UserMegan, yes, "Approve", "welcome"); err != nil {
		t.Fatal(err)
	}
	no, err := e.sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: denied, AccessPackageID: launch.AccessPackageID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.DecideAs(sandbox.UserMegan, no, "Deny", "not this time"); err != nil {
		t.Fatal(err)
	}

	e.sb.ResetCalls()
	poll()
	calls := e.sb.Calls()
	graphCalls := e.sb.GraphCalls()
	t.Logf("Graph calls in one pass over 5 guests in 2 access packages: %d (%v)", graphCalls, calls)
	if graphCalls != 4 || calls["GET /v1.0/identityGovernance/entitlementManagement/assignmentRequests"] != 2 ||
		calls["GET /v1.0/identityGovernance/entitlementManagement/assignments"] != 2 {
		t.Errorf("Graph calls per pass = %d %v, want 2 per access package", graphCalls, calls)
	}

	if got := load(approved); got.State != store.OnboardingDelivered || got.RequestID != yes || got.AssignmentID == "" ||
		got.GuestOID == "" || got.NotifiedState != store.OnboardingDelivered {
		t.Fatalf("approved guest: %+v", got)
	}
	if got := load(denied); got.State != store.OnboardingDenied || got.RequestID != no || got.NotifiedState != store.OnboardingDenied {
		t.Fatalf("denied guest: %+v", got)
	}
	if got := load(idle); got.State != store.OnboardingLinkSent || got.RequestID != "" {
		t.Fatalf("idle guest: %+v", got)
	}
	for range 2 {
		poll()
	}
	n := notes()
	if len(n) != 2 {
		t.Fatalf("sponsor notes = %d, want one per decided guest: %v", len(n), n)
	}
	var delivered, refused int
	for _, s := range n {
		switch {
		case contains(s, "now has access", approved):
			delivered++
		case contains(s, "was denied", denied):
			refused++
		}
	}
	if delivered != 1 || refused != 1 {
		t.Fatalf("notes: %v", n)
	}
}

// TestStepsTo pins the lifecycle paths the follower writes.
func TestStepsTo(t *testing.T) {
	tests := []struct {
		from, to string
		want     string
	}{
		{store.OnboardingLinkSent, store.OnboardingDelivered, "requested approved delivered"},
		{store.OnboardingLinkSent, store.OnboardingExpiring, "requested approved delivered expiring"},
		{store.OnboardingLinkSent, store.OnboardingDenied, "requested denied"},
		{store.OnboardingLinkSent, store.OnboardingFailed, "requested approved failed"},
		{store.OnboardingRequested, store.OnboardingDenied, "denied"},
		{store.OnboardingRequested, store.OnboardingLinkSent, "link_sent"},
		{store.OnboardingApproved, store.OnboardingDelivered, "delivered"},
		{store.OnboardingExpiring, store.OnboardingDelivered, "delivered"},
		{store.OnboardingDelivered, store.OnboardingDelivered, ""},
	}
	for _, tc := range tests {
		if got := strings.Join(stepsTo(tc.from, tc.to), " "); got != tc.want {
			t.Errorf("stepsTo(%s, %s) = %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}
