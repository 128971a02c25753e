package approvals_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/teamsapp"
	"guestpass/internal/testkit"
)

const installRoute = "POST /v1.0/users/{id}/teamwork/installedApps"

// creates returns the create-conversation calls for a member, in order.
func (e *env) creates(oid string) []testkit.Call {
	var out []testkit.Call
	for _, c := range e.conn.Calls() {
		if c.Op == botframework.OpCreateConversation && c.Conversation != nil && c.Conversation.Members[0].AadObjectID == oid {
			out = append(out, c)
		}
	}
	return out
}

func statuses(calls []testkit.Call) []int {
	var out []int
	for _, c := range calls {
		out = append(out, c.Status)
	}
	return out
}

func (e *env) installs() int { return e.sb.Calls()[installRoute] }

// cards returns the sends to a conversation that carry a card.
func (e *env) cards(conversationID string) []testkit.Call {
	var out []testkit.Call
	for _, c := range e.sends(conversationID) {
		if len(c.Activity.Attachments) == 1 {
			out = append(out, c)
		}
	}
	return out
}

// Megan has never opened the bot and has no stored conversation: Teams refuses the chat, and
// without installation configured she is reported as unreachable (the existing behaviour).
func TestApproverWithoutTheAppIsUnreachable(t *testing.T) {
	e := newEnv(t, envOptions{appInstalls: true})
	pkg := e.scenario("No app", []string{sandbox.UserMegan})
	e.personal(sandbox.UserAlex, convAlex)
	req := e.guestRequest(pkg, "noapp@contoso.com")
	e.cycle(e.app)
	e.cycle(e.app)

	if got := statuses(e.creates(sandbox.UserMegan)); !slices.Equal(got, []int{http.StatusForbidden}) {
		t.Fatalf("create conversation statuses = %v, want one 403", got)
	}
	got := e.audit("approval.unreachable")
	if len(got) != 1 || got[0].Target != req || !strings.Contains(got[0].Detail, "BotNotInConversationRoster") {
		t.Fatalf("audit = %+v", got)
	}
	if notes := e.sends(convAlex); len(notes) != 1 || !strings.Contains(notes[0].Activity.Text, "couldn't reach") {
		t.Fatalf("sponsor notes = %+v", notes)
	}
	if n := e.installs(); n != 0 || e.sb.AppInstalled(sandbox.UserMegan) {
		t.Fatalf("install calls = %d, installed = %v; the feature is off", n, e.sb.AppInstalled(sandbox.UserMegan))
	}
}

// With TEAMS_APP_CATALOG_ID the bot installs its app for Megan through the sandbox's Graph, which
// makes the fake Teams accept the conversation: one card, no unreachable report.
func TestInstallsTheAppForAnUnreachableApprover(t *testing.T) {
	e := newEnv(t, envOptions{appInstalls: true, installer: true})
	pkg := e.scenario("Install", []string{sandbox.UserMegan})
	e.personal(sandbox.UserAlex, convAlex)
	e.guestRequest(pkg, "install@contoso.com")
	e.cycle(e.app)
	e.cycle(e.app)

	creates := e.creates(sandbox.UserMegan)
	if got := statuses(creates); !slices.Equal(got, []int{http.StatusForbidden, http.StatusCreated}) {
		t.Fatalf("create conversation statuses = %v, want 403 then 201", got)
	}
	if n := e.installs(); n != 1 || !e.sb.AppInstalled(sandbox.UserMegan) {
		t.Fatalf("install calls = %d, installed = %v; want one installation", n, e.sb.AppInstalled(sandbox.UserMegan))
	}
	conv := creates[1].ResultID
	if cards := e.cards(conv); len(cards) != 1 {
		t.Fatalf("cards in Megan's new conversation = %d, want 1", len(cards))
	}
	ref, err := e.st.PersonalConversation(context.Background(), e.sb.TenantID(), sandbox.UserMegan)
	if err != nil || ref.ConversationID != conv {
		t.Fatalf("stored conversation = %+v, %v; want %s", ref, err, conv)
	}
	if got := e.audit("approval.unreachable"); len(got) != 0 {
		t.Fatalf("unreachable audit = %+v", got)
	}
	if notes := e.sends(convAlex); len(notes) != 0 {
		t.Fatalf("the sponsor was told about a reachable approver: %+v", notes)
	}

	// The next request goes to the stored conversation: no creation, no installation.
	e.guestRequest(pkg, "second@contoso.com")
	e.cycle(e.app)
	if n, c, cards := e.installs(), len(e.creates(sandbox.UserMegan)), len(e.cards(conv)); n != 1 || c != 2 || cards != 2 {
		t.Fatalf("after a second request: installs %d, creates %d, cards %d; want 1, 2, 2", n, c, cards)
	}
}

// The bot's app-only token lacks TeamsAppInstallation.ReadWriteSelfForUser.All: Megan stays
// unreachable, the reason names the permission, the sponsor is told, and the next card for her
// does not call Graph again.
func TestInstallWithoutThePermissionIsUnreachable(t *testing.T) {
	roles := slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool { return r == teamsapp.Permission })
	e := newEnv(t, envOptions{appInstalls: true, installer: true, appRoles: roles})
	pkg := e.scenario("No permission", []string{sandbox.UserMegan})
	e.personal(sandbox.UserAlex, convAlex)
	req := e.guestRequest(pkg, "noperm@contoso.com")
	e.cycle(e.app)
	e.cycle(e.app)

	got := e.audit("approval.unreachable")
	if len(got) != 1 || got[0].Target != req || !strings.Contains(got[0].Detail, "the app could not be installed for the user: 403 Forbidden") ||
		!strings.Contains(got[0].Detail, "grant the bot's app the Microsoft Graph application permission "+teamsapp.Permission) {
		t.Fatalf("audit = %+v", got)
	}
	if notes := e.sends(convAlex); len(notes) != 1 || !strings.Contains(notes[0].Activity.Text, "couldn't reach") {
		t.Fatalf("sponsor notes = %+v", notes)
	}
	if n := e.installs(); n != 1 || e.sb.AppInstalled(sandbox.UserMegan) {
		t.Fatalf("install calls = %d, installed = %v; want one refused attempt", n, e.sb.AppInstalled(sandbox.UserMegan))
	}

	// A second request for Megan: still unreachable, from memory, without another Graph call.
	req2 := e.guestRequest(pkg, "noperm2@contoso.com")
	e.cycle(e.app)
	if n := e.installs(); n != 1 {
		t.Fatalf("install calls after a second request = %d, want still 1", n)
	}
	got = e.audit("approval.unreachable")
	if len(got) != 2 || !slices.ContainsFunc(got, func(a store.AuditEntry) bool {
		return a.Target == req2 && strings.Contains(a.Detail, teamsapp.Permission) && strings.Contains(a.Detail, "not tried again")
	}) {
		t.Fatalf("audit after a second request = %+v", got)
	}
	if got := statuses(e.creates(sandbox.UserMegan)); !slices.Equal(got, []int{http.StatusForbidden, http.StatusForbidden}) {
		t.Fatalf("create conversation statuses = %v", got)
	}
}

// Teams may not accept a conversation right after the installation: the row is retried later,
// without installing again, and the card goes out once.
func TestConversationAfterAFreshInstallIsRetried(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	var tenant atomic.Pointer[sandbox.Sandbox]
	var lag atomic.Int32
	lag.Store(1)
	installed := testkit.WithInstalledApps(func(oid string) bool {
		if !tenant.Load().AppInstalled(oid) {
			return false
		}
		return lag.Add(-1) < 0
	})
	e := newEnv(t, envOptions{now: clock.Now, installer: true, connectorOpts: []testkit.ConnectorOption{installed}})
	tenant.Store(e.sb)
	pkg := e.scenario("Lagging Teams", []string{sandbox.UserMegan})
	e.personal(sandbox.UserAlex, convAlex)
	e.guestRequest(pkg, "lag@contoso.com")
	e.cycle(e.app)
	if got := statuses(e.creates(sandbox.UserMegan)); !slices.Equal(got, []int{http.StatusForbidden, http.StatusForbidden}) {
		t.Fatalf("first pass: create statuses = %v, want 403 before and after installing", got)
	}
	if got := e.audit("approval.unreachable"); len(got) != 0 {
		t.Fatalf("a fresh installation was reported as unreachable: %+v", got)
	}
	clock.Advance(time.Minute)
	e.cycle(e.app)
	creates := e.creates(sandbox.UserMegan)
	if got := statuses(creates); !slices.Equal(got, []int{http.StatusForbidden, http.StatusForbidden, http.StatusCreated}) {
		t.Fatalf("after the retry: create statuses = %v", got)
	}
	if n := e.installs(); n != 1 {
		t.Fatalf("install calls = %d, want 1", n)
	}
	if cards := e.cards(creates[2].ResultID); len(cards) != 1 {
		t.Fatalf("cards = %d, want 1", len(cards))
	}
	if notes := e.sends(convAlex); len(notes) != 0 {
		t.Fatalf("sponsor notes = %+v", notes)
	}
}
