package approvals_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/sandbox"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

// clickData posts an Action.Execute with data from user oid in conversation conv, with token
// when not empty.
func (e *env) clickData(oid, conv string, data map[string]any, token string) clickResult {
	e.t.Helper()
	verb, _ := data["verb"].(string)
	a := testkit.ActionInvoke(e.conn.ServiceURL, verb, data)
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "user " + oid, AadObjectID: oid}
	a.Conversation.ID = conv
	if token != "" {
		testenv.WithSSOToken(e.t, a, token)
	}
	return e.post(a)
}

// typed posts a typed command from user oid in conversation conv.
func (e *env) typed(oid, conv, text string) clickResult {
	e.t.Helper()
	a := testkit.PersonalMessage(e.conn.ServiceURL, text)
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "user " + oid, AadObjectID: oid}
	a.Conversation.ID = conv
	return e.post(a)
}

// cardActions returns the Action.Execute objects of a card JSON, body and actions, in order.
func cardActions(t *testing.T, raw []byte) []map[string]any {
	t.Helper()
	var card any
	if err := json.Unmarshal(raw, &card); err != nil {
		t.Fatalf("card is not JSON: %v: %s", err, raw)
	}
	var out []map[string]any
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "Action.Execute" {
				out = append(out, x)
			}
			for _, k := range []string{"body", "items", "actions"} {
				visit(x[k])
			}
		case []any:
			for _, el := range x {
				visit(el)
			}
		}
	}
	visit(card)
	return out
}

// listAction finds the list's button with verb for requestID.
func listAction(t *testing.T, raw []byte, verb, requestID string) map[string]any {
	t.Helper()
	for _, a := range cardActions(t, raw) {
		data, _ := a["data"].(map[string]any)
		if a["verb"] == verb && data[cards.KeyRequestID] == requestID {
			return data
		}
	}
	t.Fatalf("no %s button for %s in %s", verb, requestID, raw)
	return nil
}

func TestMyApprovalsThroughSSO(t *testing.T) {
	e := newEnv(t, envOptions{})
	launch := e.scenario("Launch partners", []string{sandbox.UserMegan, sandbox.UserIsaiah})
	other := e.scenario("Isaiah only", []string{sandbox.UserIsaiah})
	e.personal(sandbox.UserMegan, convMegan)
	e.personal(sandbox.UserIsaiah, "a:isaiah")
	e.personal(sandbox.UserLynne, "a:lynne")
	r1 := e.guestRequest(launch, "first@contoso.com")
	r2 := e.guestRequest(launch, "second@contoso.com")
	r3 := e.guestRequest(other, "third@contoso.com")
	e.cycle(e.app)

	// Typed: a card whose button fetches the list (a message carries no SSO token).
	before := len(e.sends(convMegan))
	if res := e.typed(sandbox.UserMegan, convMegan, "approvals"); res.Status != http.StatusOK {
		t.Fatalf("typed approvals: HTTP %d %s", res.Status, res.Raw)
	}
	sends := e.sends(convMegan)
	if len(sends) != before+1 {
		t.Fatalf("typed approvals sent %d activities, want 1", len(sends)-before)
	}
	prompt := cardJSON(t, sends[len(sends)-1].Activity)
	acts := cardActions(t, []byte(prompt))
	if len(acts) != 1 || acts[0]["verb"] != cards.VerbMyApprovals || strings.Contains(prompt, r1) {
		t.Fatalf("prompt card: %s", prompt)
	}
	show, _ := acts[0]["data"].(map[string]any)

	// The button without a token: 401 loginRequest, so Teams signs Megan in silently.
	e.graphOps.Reset()
	res := e.clickData(sandbox.UserMegan, convMegan, show, "")
	if res.Status != http.StatusUnauthorized || res.Body.Type != botframework.InvokeTypeLoginRequest ||
		!strings.Contains(res.Raw, "tokenExchangeResource") {
		t.Fatalf("list click without token: HTTP %d %s", res.Status, res.Raw)
	}
	if n := e.graphOps.Total(); n != 0 {
		t.Fatalf("a click without token made %d Graph calls", n)
	}

	// With Megan's SSO token: validated, exchanged on-behalf-of, listed from Graph as Megan.
	res = e.clickData(sandbox.UserMegan, convMegan, show, e.token(sandbox.UserMegan))
	if res.Status != http.StatusOK || res.Body.Type != botframework.InvokeTypeAdaptiveCard {
		t.Fatalf("list click: HTTP %d %s", res.Status, res.Raw)
	}
	list := res.Body.Value
	if !contains(string(list), "Your pending approvals", "2 requests wait for your decision.", r1, r2, "Launch partners",
		"Guest first@contoso.com", "Stage 1 of 1", "Denied automatically", "Working on the launch") || strings.Contains(string(list), r3) {
		t.Fatalf("Megan's list: %s", list)
	}
	if n := e.graphOps.Count("MyPendingApprovals"); n != 3 {
		t.Errorf("listing made %d Graph calls, want 3 (list + one stage read per request)", n)
	}

	// Approve from the list: the approval card's verb and data, the same click path.
	approve := listAction(t, list, cards.VerbApprove, r1)
	approve[cards.InputJustification] = "Known partner"
	res = e.clickData(sandbox.UserMegan, convMegan, approve, e.token(sandbox.UserMegan))
	if res.Status != http.StatusOK || !contains(string(res.Body.Value), "Approved by you", "first@contoso.com") {
		t.Fatalf("approve from the list: HTTP %d %s", res.Status, res.Raw)
	}
	if st := e.requestState(r1).State; st == entitlement.RequestPendingApproval || st == entitlement.RequestDenied {
		t.Fatalf("sandbox request state after approval from the list = %s", st)
	}
	if audit := e.audit("approval.approve"); len(audit) != 1 || audit[0].ActorOID != sandbox.UserMegan || audit[0].Target != r1 {
		t.Fatalf("audit = %+v", audit)
	}
	// Deny from the list without a reason: the approval card asks for one; nothing is decided.
	deny := listAction(t, list, cards.VerbDeny, r2)
	res = e.clickData(sandbox.UserMegan, convMegan, deny, e.token(sandbox.UserMegan))
	if res.Status != http.StatusOK || !contains(string(res.Body.Value), "Give a reason to deny", r2) {
		t.Fatalf("deny without a reason from the list: HTTP %d %s", res.Status, res.Raw)
	}
	if st := e.requestState(r2).State; st != entitlement.RequestPendingApproval {
		t.Fatalf("r2 state after a deny without reason = %s", st)
	}

	// Refresh: the approved request has left Megan's list.
	res = e.clickData(sandbox.UserMegan, convMegan, show, e.token(sandbox.UserMegan))
	if !contains(string(res.Body.Value), "1 request waits for your decision.", r2) || strings.Contains(string(res.Body.Value), r1) {
		t.Fatalf("list after approving: %s", res.Body.Value)
	}

	// Isaiah: r2 (shared) and r3 (his own package).
	res = e.clickData(sandbox.UserIsaiah, "a:isaiah", show, e.token(sandbox.UserIsaiah))
	if !contains(string(res.Body.Value), "2 requests wait for your decision.", r2, r3, "Isaiah only") {
		t.Fatalf("Isaiah's list: %s", res.Body.Value)
	}

	// A request the worker has not picked up yet is listed without buttons.
	r4 := e.guestRequest(launch, "fourth@contoso.com")
	res = e.clickData(sandbox.UserMegan, convMegan, show, e.token(sandbox.UserMegan))
	if !contains(string(res.Body.Value), "fourth@contoso.com", "its approval card is on its way") {
		t.Fatalf("list with an untracked request: %s", res.Body.Value)
	}
	for _, a := range cardActions(t, res.Body.Value) {
		if data, _ := a["data"].(map[string]any); data[cards.KeyRequestID] == r4 {
			t.Fatalf("untracked request %s has a %v button", r4, a["verb"])
		}
	}
}

func TestMyApprovalsNonApproverAndRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	pkg := e.scenario("Launch partners", []string{sandbox.UserMegan})
	e.personal(sandbox.UserLynne, "a:lynne")
	e.guestRequest(pkg, "first@contoso.com")
	e.cycle(e.app)
	show := map[string]any{"verb": cards.VerbMyApprovals}

	res := e.clickData(sandbox.UserLynne, "a:lynne", show, e.token(sandbox.UserLynne))
	if res.Status != http.StatusOK || !contains(string(res.Body.Value), "Nothing waits for you.") ||
		strings.Contains(string(res.Body.Value), `"verb":"approve"`) {
		t.Fatalf("non-approver: HTTP %d %s", res.Status, res.Raw)
	}

	// Another user's token is refused by the SSO path (the identity is the token's, not the card's).
	e.graphOps.Reset()
	res = e.clickData(sandbox.UserLynne, "a:lynne", show, e.token(sandbox.UserMegan))
	if res.Status != http.StatusForbidden || strings.Contains(res.Raw, "Launch partners") {
		t.Fatalf("token of another user: HTTP %d %s", res.Status, res.Raw)
	}
	if n := e.graphOps.Total(); n != 0 {
		t.Fatalf("a refused click made %d Graph calls", n)
	}

	// Outside a personal chat the list is not shown, whoever clicks.
	a := testkit.ActionInvoke(e.conn.ServiceURL, cards.VerbMyApprovals, show)
	a.From = schema.ChannelAccount{ID: "29:" + sandbox.UserMegan, AadObjectID: sandbox.UserMegan}
	a.Conversation.ConversationType, a.Conversation.ID = "groupChat", "19:group@thread.v2"
	testenv.WithSSOToken(t, a, e.token(sandbox.UserMegan))
	res = e.post(a)
	if res.Body.Type != botframework.InvokeTypeMessage || !strings.Contains(res.Raw, "1:1 chat") || strings.Contains(res.Raw, "first@contoso.com") {
		t.Fatalf("group chat click: HTTP %d %s", res.Status, res.Raw)
	}
}
