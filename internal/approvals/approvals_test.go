package approvals_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"guestpass/internal/approvals"
	"guestpass/internal/botframework"
	"guestpass/internal/entitlement"
	"guestpass/internal/sandbox"
	"guestpass/internal/sso"
	"guestpass/internal/store"
	"guestpass/internal/testkit"
)

const (
	convMegan = "a:megan-personal"
	convAlex  = "a:alex-personal"
)

// createdConv is the 1:1 conversation the fake connector creates for oid (looked up from its calls).
func (e *env) createdConv(oid string) string {
	e.t.Helper()
	for _, c := range e.conn.Calls() {
		if c.Op == botframework.OpCreateConversation && c.Conversation != nil && c.Conversation.Members[0].ID == oid && c.ResultID != "" {
			return c.ResultID
		}
	}
	e.t.Fatalf("no conversation was created for %s", oid)
	return ""
}

func TestEndToEndApproveThroughSSO(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Launch partners", []string{sandbox.UserMegan, sandbox.UserIsaiah})
	e.personal(sandbox.UserMegan, convMegan)
	e.personal(sandbox.UserAlex, convAlex)
	req := e.guestRequest(pkg, "pat@contoso.com")

	e.cycle(e.app)
	e.cycle(e.app) // a second pass must not send again
	convIsaiah := e.createdConv(sandbox.UserIsaiah)
	for conv, who := range map[string]string{convMegan: "Megan", convIsaiah: "Isaiah"} {
		sends := e.sends(conv)
		if len(sends) != 1 {
			t.Fatalf("%s got %d cards, want exactly 1", who, len(sends))
		}
		card := cardJSON(t, sends[0].Activity)
		if !contains(card, "Guest access request", `"verb":"approve"`, `"verb":"deny"`, req, "Launch partners") {
			t.Fatalf("%s's card lacks the request or its buttons: %s", who, card)
		}
	}

	// Without a token: 401 loginRequest.
	res := e.click(sandbox.UserMegan, convMegan, "approve", req, "s1", "", "")
	if res.Status != http.StatusUnauthorized || res.Body.Type != botframework.InvokeTypeLoginRequest {
		t.Fatalf("click without token: HTTP %d %s", res.Status, res.Raw)
	}
	if st := e.requestState(req).State; st != entitlement.RequestPendingApproval {
		t.Fatalf("request state after a click without token = %s", st)
	}

	// With Megan's SSO token: validated, exchanged on-behalf-of, decided through Graph as Megan.
	res = e.click(sandbox.UserMegan, convMegan, "approve", req, "s1", "Known partner", e.token(sandbox.UserMegan))
	if res.Status != http.StatusOK || res.Body.Type != botframework.InvokeTypeAdaptiveCard {
		t.Fatalf("approve: HTTP %d %s", res.Status, res.Raw)
	}
	if !contains(string(res.Body.Value), "Approved by you") || strings.Contains(string(res.Body.Value), `"verb":"approve"`) {
		t.Fatalf("approve response card: %s", res.Body.Value)
	}
	if st := e.requestState(req).State; st == entitlement.RequestPendingApproval || st == entitlement.RequestDenied {
		t.Fatalf("sandbox request state after approval = %s", st)
	}
	audit := e.audit("approval.approve")
	if len(audit) != 1 || audit[0].ActorOID != sandbox.UserMegan || audit[0].Outcome != "recorded" || audit[0].Target != req ||
		audit[0].GraphRequestID == "" {
		t.Fatalf("audit = %+v", audit)
	}

	// The other approver's copy is updated to show who decided; the sponsor is told.
	if _, err := e.app.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	ups := e.updates(convIsaiah)
	if len(ups) != 1 || ups[0].ActivityID != e.sends(convIsaiah)[0].ResultID {
		t.Fatalf("Isaiah's card updates = %+v", ups)
	}
	if card := cardJSON(t, ups[0].Activity); !contains(card, "Approved by Megan Bowen") || strings.Contains(card, `"verb":"approve"`) {
		t.Fatalf("Isaiah's updated card: %s", card)
	}
	notes := e.sends(convAlex)
	if len(notes) != 1 || !contains(notes[0].Activity.Text, "Megan Bowen approved", "Launch partners") {
		t.Fatalf("sponsor notes = %+v", notes)
	}

	// The worker then sees the request leave the pending list: cards stay final, no "outside
	// Teams" note, nothing sent twice.
	e.cycle(e.app)
	if n := len(e.sends(convAlex)); n != 1 {
		t.Fatalf("sponsor got %d notes, want 1", n)
	}
	for _, conv := range []string{convMegan, convIsaiah} {
		for _, u := range e.updates(conv) {
			if card := cardJSON(t, u.Activity); strings.Contains(card, `"verb":"approve"`) || strings.Contains(card, "outside Teams") {
				t.Fatalf("final card of %s: %s", conv, card)
			}
		}
		if n := len(e.sends(conv)); n != 1 {
			t.Fatalf("%s got %d cards", conv, n)
		}
	}
	if e.conn.Throttled() != 0 {
		t.Fatalf("connector throttled %d requests", e.conn.Throttled())
	}
}

func TestLoginRequestShape(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Shape", []string{sandbox.UserMegan})
	e.personal(sandbox.UserMegan, convMegan)
	req := e.guestRequest(pkg, "shape@contoso.com")
	e.cycle(e.app)
	res := e.click(sandbox.UserMegan, convMegan, "approve", req, "s1", "", "")
	var v struct {
		ConnectionName        string `json:"connectionName"`
		TokenExchangeResource struct {
			ID  string `json:"id"`
			URI string `json:"uri"`
		} `json:"tokenExchangeResource"`
		Buttons []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"buttons"`
	}
	if err := json.Unmarshal(res.Body.Value, &v); err != nil {
		t.Fatal(err)
	}
	switch {
	case res.Status != http.StatusUnauthorized, res.Body.StatusCode != http.StatusUnauthorized:
		t.Fatalf("status %d / %d", res.Status, res.Body.StatusCode)
	case v.ConnectionName == "":
		t.Fatal("empty connectionName")
	case v.TokenExchangeResource.ID == "", v.TokenExchangeResource.URI != "api://botid-"+sandbox.BotAppID:
		t.Fatalf("tokenExchangeResource = %+v", v.TokenExchangeResource)
	case len(v.Buttons) != 1 || v.Buttons[0].Type != "signin" || !strings.Contains(v.Buttons[0].Value, "prompt=consent"):
		t.Fatalf("buttons = %+v", v.Buttons)
	}
}

func TestClickRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Refusals", []string{sandbox.UserMegan, sandbox.UserIsaiah})
	e.personal(sandbox.UserMegan, convMegan)
	e.personal(sandbox.UserLynne, "a:lynne")
	req := e.guestRequest(pkg, "refuse@contoso.com")
	e.cycle(e.app)

	late := e.deps
	late.Validator, _ = sso.NewValidator(sso.Config{AuthorityHost: e.sb.AuthorityHost(), Audiences: []string{"api://botid-" + sandbox.BotAppID},
		HTTPClient: e.sb.HTTPClient(), Now: func() time.Time { return time.Now().Add(2 * time.Hour) }, Logger: quiet()})
	lateApp := e.newApprovals(late)

	tests := []struct {
		name       string
		app        *approvals.Approvals
		oid, conv  string
		verb       string
		just       string
		token      string
		wantStatus int
		wantType   string
		wantIn     string
	}{
		{"deny without justification", nil, sandbox.UserMegan, convMegan, "deny", "", e.token(sandbox.UserMegan), 200, botframework.InvokeTypeAdaptiveCard, "Give a reason to deny"},
		{"token of another user", nil, sandbox.UserMegan, convMegan, "approve", "", e.token(sandbox.UserIsaiah), 403, botframework.InvokeTypeError, "another account"},
		{"not an approver", nil, sandbox.UserLynne, "a:lynne", "approve", "", e.token(sandbox.UserLynne), 200, botframework.InvokeTypeAdaptiveCard, "You are not an approver"},
		{"garbage token", nil, sandbox.UserMegan, convMegan, "approve", "", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", 412, botframework.InvokeTypePreconditionFailed, ""},
		{"expired token", lateApp, sandbox.UserMegan, convMegan, "approve", "", e.token(sandbox.UserMegan), 401, botframework.InvokeTypeLoginRequest, "tokenExchangeResource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.app != nil {
				// Route this click through another feature instance (same store) with a late clock.
				api := e.api
				e.api = e.serve(tt.app)
				defer func() { e.api = api }()
			}
			e.graphOps.Reset()
			res := e.click(tt.oid, tt.conv, tt.verb, req, "s1", tt.just, tt.token)
			if res.Status != tt.wantStatus || res.Body.Type != tt.wantType || !strings.Contains(res.Raw, tt.wantIn) {
				t.Fatalf("HTTP %d %s", res.Status, res.Raw)
			}
			if tt.name == "deny without justification" {
				if n := e.graphOps.Total(); n != 0 {
					t.Fatalf("deny without justification made %d Graph calls", n)
				}
				if !strings.Contains(res.Raw, `"verb":"deny"`) {
					t.Fatal("error card lost its buttons")
				}
			}
			if st := e.requestState(req).State; st != entitlement.RequestPendingApproval {
				t.Fatalf("request state = %s, want still pending", st)
			}
		})
	}
	if n := len(e.audit("approval.approve")) + len(e.audit("approval.deny")); n != 0 {
		t.Fatalf("%d decisions audited, want 0", n)
	}
}

func TestTwoApproversClickAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Race", []string{sandbox.UserMegan, sandbox.UserIsaiah})
	e.personal(sandbox.UserMegan, convMegan)
	e.personal(sandbox.UserIsaiah, "a:isaiah")
	e.personal(sandbox.UserAlex, convAlex)
	req := e.guestRequest(pkg, "race@contoso.com")
	e.cycle(e.app)

	clicks := []struct{ oid, conv string }{{sandbox.UserMegan, convMegan}, {sandbox.UserIsaiah, "a:isaiah"},
		{sandbox.UserMegan, convMegan}} // Megan double-clicks
	results := make([]clickResult, len(clicks))
	var wg sync.WaitGroup
	for i, c := range clicks {
		tok := e.token(c.oid)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.click(c.oid, c.conv, "approve", req, "s1", "", tok)
		}()
	}
	wg.Wait()
	byYou := 0
	for i, r := range results {
		if r.Status != http.StatusOK {
			t.Fatalf("click %d: HTTP %d %s", i, r.Status, r.Raw)
		}
		if strings.Contains(string(r.Body.Value), "Approved by you") {
			byYou++
		}
		if strings.Contains(string(r.Body.Value), `"verb":"approve"`) {
			t.Fatalf("click %d still shows buttons: %s", i, r.Body.Value)
		}
	}
	if rec := e.audit("approval.approve"); len(rec) != 1 {
		t.Fatalf("%d decisions recorded, want exactly 1: %+v", len(rec), rec)
	}
	winner := e.audit("approval.approve")[0].ActorOID
	if winner == sandbox.UserMegan && byYou != 2 || winner == sandbox.UserIsaiah && byYou != 1 {
		t.Fatalf("winner %s but %d responses say 'by you'", winner, byYou)
	}
	if _, err := e.app.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	winnerName := map[string]string{sandbox.UserMegan: "Megan Bowen", sandbox.UserIsaiah: "Isaiah Langer"}[winner]
	for _, conv := range []string{convMegan, "a:isaiah"} {
		ups := e.updates(conv)
		if len(ups) == 0 {
			t.Fatalf("card in %s not updated", conv)
		}
		card := cardJSON(t, ups[len(ups)-1].Activity)
		if strings.Contains(card, `"verb":"approve"`) || !(strings.Contains(card, "Approved by "+winnerName) || strings.Contains(card, "Approved by you")) {
			t.Fatalf("card in %s: %s", conv, card)
		}
	}
	if n := len(e.sends(convAlex)); n != 1 {
		t.Fatalf("sponsor got %d notes, want 1", n)
	}
}

func TestDecidedOutsideTheBot(t *testing.T) {
	for _, tt := range []struct {
		name   string
		act    func(e *env, req string) error
		banner string
		note   string
	}{
		{"approved in My Access", func(e *env, req string) error { return e.sb.DecideAs(sandbox.UserIsaiah, req, "Approve", "ok") },
			"Approved outside Teams", "approved outside Teams"},
		{"denied by email", func(e *env, req string) error { return e.sb.DecideAs(sandbox.UserIsaiah, req, "Deny", "no") },
			"Denied outside Teams", "denied outside Teams"},
		{"cancelled", func(e *env, req string) error { return e.sb.CancelRequest(req) }, "Cancelled by the requestor", "cancelled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			pkg := e.scenario("Outside", []string{sandbox.UserMegan, sandbox.UserIsaiah})
			e.personal(sandbox.UserMegan, convMegan)
			e.personal(sandbox.UserIsaiah, "a:isaiah")
			e.personal(sandbox.UserAlex, convAlex)
			req := e.guestRequest(pkg, "outside@contoso.com")
			e.cycle(e.app)
			if err := tt.act(e, req); err != nil {
				t.Fatal(err)
			}
			e.cycle(e.app)
			e.cycle(e.app)
			for _, conv := range []string{convMegan, "a:isaiah"} {
				ups := e.updates(conv)
				if len(ups) != 1 {
					t.Fatalf("%s: %d updates, want 1", conv, len(ups))
				}
				if card := cardJSON(t, ups[0].Activity); !strings.Contains(card, tt.banner) || strings.Contains(card, `"verb":"approve"`) {
					t.Fatalf("%s card: %s", conv, card)
				}
			}
			notes := e.sends(convAlex)
			if len(notes) != 1 || !strings.Contains(notes[0].Activity.Text, tt.note) {
				t.Fatalf("sponsor notes: %+v", notes)
			}
			// A click on the stale card shows the final state and records nothing.
			res := e.click(sandbox.UserMegan, convMegan, "approve", req, "s1", "", e.token(sandbox.UserMegan))
			if res.Status != http.StatusOK || strings.Contains(string(res.Body.Value), `"verb":"approve"`) {
				t.Fatalf("click on closed request: %d %s", res.Status, res.Raw)
			}
		})
	}
}

func TestRestartBetweenDetectionAndSend(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Restart", []string{sandbox.UserMegan})
	e.personal(sandbox.UserMegan, convMegan)
	req := e.guestRequest(pkg, "restart@contoso.com")
	ctx := context.Background()
	// Replica A detects and dies before sending.
	if err := e.app.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sends(convMegan)); n != 0 {
		t.Fatalf("sent before delivery: %d", n)
	}
	// A new process (fresh store handle on the same database) picks up and delivers once.
	d := e.deps
	d.Store, d.Holder = e.openStore(nil), "replica-b"
	b := e.newApprovals(d)
	e.cycle(b)
	e.cycle(e.app)
	e.cycle(b)
	if n := len(e.sends(convMegan)); n != 1 {
		t.Fatalf("Megan got %d cards, want 1", n)
	}
	it, err := e.st.OutboxByKey(ctx, "approval:"+req+":"+strings.ToLower(sandbox.UserMegan)+":s1")
	if err != nil || it.State != store.OutboxSent || it.ActivityID != e.sends(convMegan)[0].ResultID {
		t.Fatalf("outbox row = %+v, %v", it, err)
	}
}

func TestUnknownOutcomeIsNotResent(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connector = botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: e.conn.Client(), Logger: quiet(),
		Timeout: 200 * time.Millisecond, MaxRetries: -1})
	d := e.deps
	d.Connector = e.connector
	a := e.newApprovals(d)
	pkg := e.scenario("Unknown", []string{sandbox.UserMegan})
	e.personal(sandbox.UserMegan, convMegan)
	req := e.guestRequest(pkg, "unknown@contoso.com")
	e.conn.HangNext(1)
	e.cycle(a)
	e.cycle(a)
	it, err := e.st.OutboxByKey(context.Background(), "approval:"+req+":"+strings.ToLower(sandbox.UserMegan)+":s1")
	if err != nil || it.State != store.OutboxUnknown {
		t.Fatalf("outbox row = %+v, %v", it, err)
	}
	attempts := 0
	for _, c := range e.conn.Calls() {
		if c.Op == botframework.OpSend && c.ConversationID == convMegan {
			attempts++
		}
	}
	if attempts != 1 {
		t.Fatalf("%d send attempts, want 1 (no blind resend)", attempts)
	}
}

func TestUnreachableApprover(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Blocked", []string{sandbox.UserMegan})
	e.personal(sandbox.UserMegan, convMegan)
	e.personal(sandbox.UserAlex, convAlex)
	e.conn.Block(convMegan)
	req := e.guestRequest(pkg, "blocked@contoso.com")
	e.cycle(e.app)
	e.cycle(e.app)
	if got := e.audit("approval.unreachable"); len(got) != 1 || got[0].Target != req || !strings.Contains(got[0].Detail, sandbox.UserMegan) {
		t.Fatalf("audit = %+v", got)
	}
	notes := e.sends(convAlex)
	if len(notes) != 1 || !strings.Contains(notes[0].Activity.Text, "couldn't reach") {
		t.Fatalf("sponsor notes = %+v", notes)
	}
}

func TestThreeStagePolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Three stages", []string{sandbox.UserMegan}, []string{sandbox.UserIsaiah}, []string{sandbox.UserLynne})
	convs := map[string]string{sandbox.UserMegan: convMegan, sandbox.UserIsaiah: "a:isaiah", sandbox.UserLynne: "a:lynne"}
	for oid, conv := range convs {
		e.personal(oid, conv)
	}
	e.personal(sandbox.UserAlex, convAlex)
	req := e.guestRequest(pkg, "three@contoso.com")
	e.cycle(e.app)
	order := []string{sandbox.UserMegan, sandbox.UserIsaiah, sandbox.UserLynne}
	for i, oid := range order {
		stage := i + 1
		for j, other := range order {
			want := 0
			if j <= i {
				want = 1
			}
			if n := len(e.sends(convs[other])); n != want {
				t.Fatalf("before stage %d decision: %s has %d cards, want %d", stage, other, n, want)
			}
		}
		card := cardJSON(t, e.sends(convs[oid])[0].Activity)
		if !strings.Contains(card, "Stage "+string(rune('0'+stage))+" of 3") {
			t.Fatalf("stage %d card: %s", stage, card)
		}
		res := e.click(oid, convs[oid], "approve", req, "s"+string(rune('0'+stage)), "", e.token(oid))
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body.Value), "Approved by you") {
			t.Fatalf("stage %d approve: %d %s", stage, res.Status, res.Raw)
		}
		wantPending := stage < 3
		if st := e.requestState(req).State; (st == entitlement.RequestPendingApproval) != wantPending {
			t.Fatalf("after stage %d: state %s", stage, st)
		}
		e.cycle(e.app)
	}
	if n := len(e.sends(convAlex)); n != 3 {
		t.Fatalf("sponsor got %d notes, want 3 (two stage notes and the outcome)", n)
	}
}

func TestRemindersAndEscalation(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	e := newEnv(t, envOptions{now: clock.Now})
	d := e.deps
	d.Admins = func(context.Context) ([]string, error) { return []string{sandbox.UserPatti}, nil }
	a := e.newApprovals(d)
	pkg := e.scenario("Slow", []string{sandbox.UserMegan})
	e.personal(sandbox.UserMegan, convMegan)
	e.personal(sandbox.UserAlex, convAlex)
	e.personal(sandbox.UserPatti, "a:patti")
	e.guestRequest(pkg, "slow@contoso.com")
	e.cycle(a)
	clock.Advance(23 * time.Hour)
	e.cycle(a)
	if n := len(e.sends(convMegan)); n != 1 {
		t.Fatalf("before 24 h: %d cards", n)
	}
	clock.Advance(2 * time.Hour)
	e.cycle(a)
	e.cycle(a)
	if n := len(e.sends(convMegan)); n != 2 {
		t.Fatalf("after 25 h: %d cards, want the card and one reminder", n)
	}
	if n := len(e.sends(convAlex)) + len(e.sends("a:patti")); n != 0 {
		t.Fatalf("escalated early: %d notes", n)
	}
	clock.Advance(24 * time.Hour)
	e.cycle(a)
	e.cycle(a)
	if n := len(e.sends(convMegan)); n != 2 {
		t.Fatalf("after 49 h: %d cards, want still 2", n)
	}
	for _, conv := range []string{convAlex, "a:patti"} {
		if got := e.sends(conv); len(got) != 1 || !strings.Contains(got[0].Activity.Text, "has waited") {
			t.Fatalf("escalation to %s: %+v", conv, got)
		}
	}
}

func TestSigninInvokes(t *testing.T) {
	e := newEnv(t, envOptions{})
	exchange := func(id, token string) clickResult {
		a := testkit.ActionInvoke(e.conn.ServiceURL, "x", nil)
		a.Name = botframework.InvokeSigninTokenExchange
		a.From.AadObjectID = sandbox.UserMegan
		a.Value, _ = json.Marshal(map[string]string{"id": id, "connectionName": "guestpass-sso", "token": token})
		return e.post(a)
	}
	tests := []struct {
		name, id, token string
		wantStatus      int
		wantBody        string
	}{
		{"valid", "ex-1", e.token(sandbox.UserMegan), 200, `"id":"ex-1"`},
		{"duplicate from another client", "ex-1", "whatever", 200, `"id":"ex-1"`},
		{"another user's token", "ex-2", e.token(sandbox.UserIsaiah), 412, `"failureDetail"`},
		{"garbage", "ex-3", "garbage", 412, `"connectionName":"guestpass-sso"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := exchange(tt.id, tt.token)
			if res.Status != tt.wantStatus || !strings.Contains(res.Raw, tt.wantBody) {
				t.Fatalf("HTTP %d %s", res.Status, res.Raw)
			}
		})
	}
	a := testkit.ActionInvoke(e.conn.ServiceURL, "x", nil)
	a.Name = botframework.InvokeSigninVerifyState
	a.Value = json.RawMessage(`{"state":"123456"}`)
	if res := e.post(a); res.Status != http.StatusOK {
		t.Fatalf("verifyState: %d %s", res.Status, res.Raw)
	}
}

func TestLocalModeMintsTheClickersToken(t *testing.T) {
	e := newEnv(t, envOptions{localToken: true})
	pkg := e.scenario("Local", []string{sandbox.UserMegan})
	e.personal(sandbox.UserMegan, convMegan)
	req := e.guestRequest(pkg, "local@contoso.com")
	e.cycle(e.app)
	res := e.click(sandbox.UserMegan, convMegan, "approve", req, "s1", "", "")
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body.Value), "Approved by you") {
		t.Fatalf("local-mode click: %d %s", res.Status, res.Raw)
	}
	if st := e.requestState(req).State; st == entitlement.RequestPendingApproval {
		t.Fatal("request still pending")
	}
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t, envOptions{})
	for name, edit := range map[string]func(*approvals.Deps){
		"no store":       func(d *approvals.Deps) { d.Store = nil },
		"no tenant":      func(d *approvals.Deps) { d.TenantID = "" },
		"no bot id":      func(d *approvals.Deps) { d.BotID = "" },
		"no resource":    func(d *approvals.Deps) { d.SSO.Resource = "" },
		"no sign-in url": func(d *approvals.Deps) { d.SSO.SignInURL = "" },
		"no validator":   func(d *approvals.Deps) { d.Validator = nil },
	} {
		d := e.deps
		edit(&d)
		if _, err := approvals.New(d); err == nil {
			t.Errorf("%s: New accepted", name)
		}
	}
}

// TestBurstSpreadsOverApprovers checks the detection order: when many requests arrive at once,
// the outbox (sent oldest first) starts with one card per approver instead of all of one
// approver's cards, so the sender can use Teams' global budget instead of queueing behind one
// conversation's limit.
func TestBurstSpreadsOverApprovers(t *testing.T) {
	e := newEnv(t, envOptions{})
	approvers := []string{sandbox.UserMegan, sandbox.UserIsaiah}
	for _, oid := range approvers {
		pkg := e.scenario("Burst "+oid, []string{oid})
		for j := range 3 {
			e.guestRequest(pkg, fmt.Sprintf("burst%d-%s@contoso.com", j, oid[len(oid)-2:]))
		}
	}
	if err := e.app.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := e.st.ListOutbox(context.Background(), store.OutboxQuery{Kind: approvals.KindCard, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.RecipientOID)
	}
	want := []string{sandbox.UserMegan, sandbox.UserIsaiah, sandbox.UserMegan, sandbox.UserIsaiah, sandbox.UserMegan, sandbox.UserIsaiah}
	if !slices.Equal(got, want) {
		t.Fatalf("outbox recipients in order %v, want alternating %v", got, want)
	}
}
