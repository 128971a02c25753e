package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/infracloudio/msbotbuilder-go/schema"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

// names are the display names the channel sends for the sandbox users the tests act as.
var names = map[string]string{
	sandbox.UserAlex: "Alex Wilber", sandbox.UserPatti: "Patti Fernandez", sandbox.UserMegan: "Megan Bowen",
}

// click posts an Action.Execute click of user oid on a card in their personal chat (or in a group
// chat when group is set), with token as the SSO token Teams attaches ("" for none).
func (e *env) click(oid string, data cards.Data, token string, group bool) testenv.Response {
	e.t.Helper()
	a := testkit.ActionInvoke(e.tn.Connector.ServiceURL, data[cards.KeyVerb], data)
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: names[oid], AadObjectID: oid}
	a.Conversation.ID = "a:personal-" + oid
	a.Conversation.TenantID = sandbox.TenantID
	a.ChannelData.Tenant = &botframework.IDRef{ID: sandbox.TenantID}
	if group {
		a.Conversation.ConversationType = "groupChat"
		a.Conversation.ID = "19:group-chat@thread.v2"
	}
	if token != "" {
		testenv.WithSSOToken(e.t, a, token)
	}
	return testenv.Post(e.t, e.url, a)
}

// clickCard clicks and returns the card the bot answered with, as JSON.
func (e *env) clickCard(oid string, data cards.Data, token string) string {
	e.t.Helper()
	res := e.click(oid, data, token, false)
	if res.Status != 200 || res.Body.Type != botframework.ContentTypeAdaptiveCard {
		e.t.Fatalf("click %v: %d %s", data, res.Status, res.Raw)
	}
	return string(res.Body.Value)
}

// actionsOf returns the Action.Execute buttons of a card (JSON), in order.
func actionsOf(t *testing.T, card string) []map[string]any {
	t.Helper()
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "Action.Execute" {
				out = append(out, x)
				return // its fallback repeats it
			}
			for _, k := range []string{"body", "actions", "items", "columns", "attachments", "content"} {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	if err := json.Unmarshal([]byte(card), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, card)
	}
	walk(v)
	return out
}

// button returns the data of the button titled title, failing when there is none.
func button(t *testing.T, card, title string) cards.Data {
	t.Helper()
	for _, a := range actionsOf(t, card) {
		if a["title"] == title {
			d := cards.Data{}
			for k, v := range a["data"].(map[string]any) {
				d[k] = v.(string)
			}
			return d
		}
	}
	t.Fatalf("no %q button on %s", title, card)
	return nil
}

// auditOutcomes returns "action target outcome" of the audit entries of action, oldest first.
func (e *env) auditOutcomes(action string) []store.AuditEntry {
	e.t.Helper()
	list, err := e.st.ListAudit(context.Background(), store.AuditQuery{Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

func (e *env) orgCount() int {
	e.t.Helper()
	all, err := e.svc.ConnectedOrgs(context.Background(), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(all)
}

func wantAll(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s lacks %q: %s", what, s, got)
		}
	}
}

func TestOrgsAdd(t *testing.T) {
	e := newEnv(t)
	before := e.orgCount()

	card := e.say("orgs add Fabrikam.com")
	wantAll(t, "confirmation", card, "Add a connected organization?", "fabrikam.com", "not an Entra tenant: domain identity source", "configured")
	confirm := button(t, card, "Confirm")
	if confirm[cards.KeyVerb] != cards.VerbOrgAddConfirm || confirm[cards.KeyDomain] != sandbox.FabrikamDomain {
		t.Fatalf("Confirm data = %v", confirm)
	}
	button(t, card, "Cancel")

	// No SSO token yet: Teams is asked for one; nothing is created app-only meanwhile.
	res := e.click(sandbox.UserPatti, confirm, "", false)
	if res.Body.StatusCode != 401 || res.Body.Type != "application/vnd.microsoft.activity.loginRequest" {
		t.Fatalf("click without token: %d %s", res.Status, res.Raw)
	}
	if n := e.orgCount(); n != before {
		t.Fatalf("created without the admin's token: %d → %d organizations", before, n)
	}

	// A guestpass admin without an entitlement-management role in Entra: the bot's app-only
	// token could create the organization, but the admin's own token cannot, and that is what
	// is used.
	got := e.clickCard(sandbox.UserAlex, confirm, e.tn.Token(sandbox.UserAlex))
	wantAll(t, "forbidden", got, "Entra refused", "Nothing was changed")
	if n := e.orgCount(); n != before {
		t.Fatalf("a refused add created an organization: %d → %d", before, n)
	}

	// Megan is no guestpass admin: the click is refused (and audited) before anything else.
	got = e.clickCard(sandbox.UserMegan, confirm, e.tn.Token(sandbox.UserMegan))
	wantAll(t, "refusal", got, "Not allowed", "Only guestpass admins")

	got = e.clickCard(sandbox.UserPatti, confirm, e.tn.Token(sandbox.UserPatti))
	wantAll(t, "created", got, "Connected organization added", sandbox.FabrikamDomain, "configured", "Entra records you")
	p, err := e.svc.PreviewConnectedOrg(context.Background(), sandbox.FabrikamDomain)
	if err != nil || p.Existing == nil || e.orgCount() != before+1 {
		t.Fatalf("organization not in the sandbox: %+v, %v", p, err)
	}

	// Adding it again: typed or from the old card, no duplicate.
	wantAll(t, "typed again", e.say("orgs add fabrikam.com"), "Already connected", p.Existing.ID)
	wantAll(t, "old card", e.clickCard(sandbox.UserPatti, confirm, e.tn.Token(sandbox.UserPatti)), "Already connected", p.Existing.ID)
	wantAll(t, "contoso", e.say("orgs add contoso.com"), "Already connected", sandbox.ContosoConnectedOrgID)
	if n := e.orgCount(); n != before+1 {
		t.Fatalf("organizations: %d, want %d", n, before+1)
	}

	var outcomes []string
	for _, en := range e.auditOutcomes(string(authz.ActionOrgsAdd)) {
		outcomes = append(outcomes, en.ActorOID+" "+en.Outcome)
		// "exists" needed no write, so it has no Graph request of its own.
		if en.Target != sandbox.FabrikamDomain || (en.Outcome != "exists" && en.GraphRequestID == "") {
			t.Errorf("audit entry %+v lacks the target or Graph's request id", en)
		}
	}
	if want := []string{sandbox.UserAlex + " forbidden", sandbox.UserPatti + " created", sandbox.UserPatti + " exists"}; strings.Join(outcomes, "|") != strings.Join(want, "|") {
		t.Errorf("audit = %v, want %v", outcomes, want)
	}
	if refused := e.auditOutcomes(authz.AuditActionRefused); len(refused) != 1 || refused[0].ActorOID != sandbox.UserMegan || refused[0].Target != string(authz.ActionOrgsAdd) {
		t.Errorf("refusal audit = %+v", refused)
	}

	// Cancel changes nothing and says so.
	got = e.clickCard(sandbox.UserAlex, button(t, e.say("orgs add northwind.example"), "Cancel"), "")
	wantAll(t, "cancel", got, "Cancelled", "Nothing was changed")
	if n := e.orgCount(); n != before+1 {
		t.Errorf("cancel changed the organizations: %d", n)
	}
}

func TestOrgsAddBadInput(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ text, want string }{
		{"orgs add", "Usage: orgs add"},
		{"orgs add not_a_domain", "domain"},
		{"orgs add contoso.com'", "domain"},
	} {
		wantAll(t, tt.text, e.say(tt.text), tt.want)
	}
	// A forged domain in card data is refused before any sign-in or Graph call.
	got := e.clickCard(sandbox.UserPatti, cards.Data{cards.KeyVerb: cards.VerbOrgAddConfirm, cards.KeyDomain: "x') or 1 eq 1"}, "")
	wantAll(t, "forged domain", got, "out of date")
}

// createOrg adds a connected organization app-only, as another tool would have.
func (e *env) createOrg(name, domain string) string {
	e.t.Helper()
	org := models.NewConnectedOrganization()
	org.SetDisplayName(&name)
	src := models.NewDomainIdentitySource()
	src.SetDomainName(&domain)
	src.SetDisplayName(&name)
	org.SetIdentitySources([]models.IdentitySourceable{src})
	created, err := e.tn.Graph.IdentityGovernance().EntitlementManagement().ConnectedOrganizations().
		Post(graph.WithOperation(context.Background(), "test"), org, nil)
	if err != nil {
		e.t.Fatalf("create %s: %v", domain, graph.Wrap("create", err))
	}
	return *created.GetId()
}

func TestOrgsRemove(t *testing.T) {
	e := newEnv(t)
	uk := e.createOrg("Contoso", "contoso.co.uk")
	e.scenario("Launch Alpha") // its policy targets the seeded Contoso organization

	// Unknown: said clearly, with what is close.
	got := e.say("orgs remove Nope Industries")
	wantAll(t, "unknown", got, "No such organization", "Nope Industries", "Type orgs to list them")
	if len(actionsOf(t, got)) != 0 {
		t.Errorf("no suggestions expected: %s", got)
	}
	got = e.say("orgs remove Contosso")
	wantAll(t, "typo", got, "No such organization", "Did you mean")
	if acts := actionsOf(t, got); len(acts) != 2 {
		t.Errorf("want both Contosos suggested: %s", got)
	}

	// Two organizations named Contoso: pick one.
	got = e.say("orgs remove contoso")
	wantAll(t, "ambiguous", got, "Which organization?", sandbox.ContosoConnectedOrgID, uk)
	var pick cards.Data
	for _, a := range actionsOf(t, got) {
		if d := a["data"].(map[string]any); d[cards.KeyOrgID] == uk {
			pick = cards.Data{cards.KeyVerb: d[cards.KeyVerb].(string), cards.KeyOrgID: uk}
		}
	}
	if pick == nil {
		t.Fatalf("no button for %s: %s", uk, got)
	}
	confirm := e.clickCard(sandbox.UserAlex, pick, "")
	wantAll(t, "confirmation", confirm, "Remove Contoso?", "contoso.co.uk", "stop admitting its users")
	if strings.Contains(confirm, "Launch Alpha") {
		t.Errorf("the UK organization is used by no scenario: %s", confirm)
	}
	rm := button(t, confirm, "Remove")
	if rm[cards.KeyVerb] != cards.VerbOrgRemoveConfirm || rm[cards.KeyOrgID] != uk {
		t.Fatalf("Remove data = %v", rm)
	}
	res := e.click(sandbox.UserPatti, rm, "", false)
	if res.Body.StatusCode != 401 {
		t.Fatalf("remove without token: %s", res.Raw)
	}
	wantAll(t, "forbidden", e.clickCard(sandbox.UserAlex, rm, e.tn.Token(sandbox.UserAlex)), "Entra refused")
	if _, err := e.svc.GetConnectedOrg(context.Background(), uk); err != nil {
		t.Fatalf("refused removal deleted it: %v", err)
	}
	wantAll(t, "removed", e.clickCard(sandbox.UserPatti, rm, e.tn.Token(sandbox.UserPatti)), "Connected organization removed", "Contoso")
	if _, err := e.svc.GetConnectedOrg(context.Background(), uk); err == nil {
		t.Fatal("still in the sandbox after removal")
	}
	wantAll(t, "again", e.clickCard(sandbox.UserPatti, rm, e.tn.Token(sandbox.UserPatti)), "Already removed")

	// The seeded Contoso is targeted by the scenario's policy: the card warns, Entra refuses and
	// its reason is shown.
	confirm = e.say("orgs remove contoso.com")
	wantAll(t, "in use", confirm, "Remove Contoso?", "Assignment policies that target it", "Launch Alpha", "list it as a partner")
	got = e.clickCard(sandbox.UserPatti, button(t, confirm, "Remove"), e.tn.Token(sandbox.UserPatti))
	wantAll(t, "refused", got, "Entra refused the removal", "used by assignment policy", "Nothing was changed")
	if _, err := e.svc.GetConnectedOrg(context.Background(), sandbox.ContosoConnectedOrgID); err != nil {
		t.Fatalf("the refused removal deleted Contoso: %v", err)
	}

	var outcomes []string
	for _, en := range e.auditOutcomes(string(authz.ActionOrgsRemove)) {
		outcomes = append(outcomes, en.Outcome)
		if en.ActorOID == "" || en.Target == "" {
			t.Errorf("audit entry %+v lacks actor or target", en)
		}
		if en.Outcome != "not_found" && en.GraphRequestID == "" {
			t.Errorf("audit entry %+v lacks Graph's request id", en)
		}
	}
	if want := "forbidden|removed|not_found|refused"; strings.Join(outcomes, "|") != want {
		t.Errorf("audit outcomes = %v, want %s", outcomes, want)
	}
}

// rows returns the data rows of the card's table and the titles of its buttons.
func rows(t *testing.T, card string) (int, []string) {
	t.Helper()
	var c struct {
		Body []struct {
			Type string `json:"type"`
			Rows []any  `json:"rows"`
		} `json:"body"`
	}
	if err := json.Unmarshal([]byte(card), &c); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range c.Body {
		if b.Type == "Table" {
			n = len(b.Rows) - 1 // header
		}
	}
	var titles []string
	for _, a := range actionsOf(t, card) {
		titles = append(titles, fmt.Sprint(a["title"]))
	}
	return n, titles
}

// messageCard extracts the card from a typed command's reply (a connector activity).
func messageCard(t *testing.T, reply string) string {
	t.Helper()
	var a struct {
		Attachments []struct {
			Content json.RawMessage `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal([]byte(reply), &a); err != nil || len(a.Attachments) != 1 {
		t.Fatalf("not a card: %v %s", err, reply)
	}
	return string(a.Attachments[0].Content)
}

func TestPagingAuditAndOrgs(t *testing.T) {
	// A small Graph page size makes the listing follow nextLinks across the pages.
	e := newEnvWith(t, testenv.Options{PageSize: 7})
	ctx := context.Background()
	for i := range 120 {
		if err := e.st.AppendAudit(ctx, store.AuditEntry{ActorOID: sandbox.UserAdele, ActorName: "Adele Vance",
			Action: "test.entry", Target: fmt.Sprintf("target-%03d", i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 119 { // plus the seeded Contoso: 120
		e.createOrg(fmt.Sprintf("Partner %03d", i), fmt.Sprintf("partner-%03d.example", i))
	}

	for _, cmd := range []string{"audit --last 120", "orgs"} {
		t.Run(cmd, func(t *testing.T) {
			e.t = t
			first := messageCard(t, e.say(cmd))
			n, buttons := rows(t, first)
			if n != 50 || strings.Join(buttons, ",") != "Next" {
				t.Fatalf("page 1: %d rows, buttons %v; want 50 and Next", n, buttons)
			}
			next := button(t, first, "Next")
			if next[cards.KeyVerb] != cards.VerbAdminPage || next[cards.KeyPage] != "2" || next[cards.KeyCommand] == "" {
				t.Fatalf("Next data = %v", next)
			}
			second := e.clickCard(sandbox.UserAlex, next, "")
			if n, buttons := rows(t, second); n != 50 || strings.Join(buttons, ",") != "Previous,Next" {
				t.Fatalf("page 2: %d rows, buttons %v", n, buttons)
			}
			third := e.clickCard(sandbox.UserAlex, button(t, second, "Next"), "")
			if n, buttons := rows(t, third); n != 20 || strings.Join(buttons, ",") != "Previous" {
				t.Fatalf("page 3: %d rows, buttons %v; want 20 and only Previous", n, buttons)
			}
			wantAll(t, "page 3", third, "Page 3")
			back := e.clickCard(sandbox.UserAlex, button(t, third, "Previous"), "")
			if back != second {
				t.Errorf("Previous from page 3 differs from page 2")
			}
		})
	}
	e.t = t
	// The newest entry is on page 1 and the oldest of the 120 on page 3.
	p1 := messageCard(t, e.say("audit --last 120"))
	p3 := e.clickCard(sandbox.UserAlex, cards.Data{cards.KeyVerb: cards.VerbAdminPage, cards.KeyCommand: "audit --last 120", cards.KeyPage: "3"}, "")
	if !strings.Contains(p1, "target-119") || !strings.Contains(p3, "target-000") || strings.Contains(p3, "target-119") {
		t.Errorf("pages are not newest first")
	}
}

// TestPagingClicksAreAuthorized: a page click runs the command again only for whom the
// authorization table allows it, where it allows it — whatever the card says.
func TestPagingClicksAreAuthorized(t *testing.T) {
	e := newEnv(t)
	next := cards.Data{cards.KeyVerb: cards.VerbAdminPage, cards.KeyCommand: "orgs", cards.KeyPage: "2"}

	got := e.clickCard(sandbox.UserMegan, next, "")
	wantAll(t, "non-admin", got, "Not allowed", "Only guestpass admins")
	res := e.click(sandbox.UserAlex, next, "", true)
	wantAll(t, "group chat", string(res.Body.Value), "Not allowed", "1:1 chat")
	if strings.Contains(string(res.Body.Value), sandbox.ContosoConnectedOrgID) {
		t.Errorf("tenant data in a group chat: %s", res.Raw)
	}
	refused := e.auditOutcomes(authz.AuditActionRefused)
	if len(refused) != 2 || refused[0].ActorOID != sandbox.UserMegan || refused[0].Outcome != authz.CodeNotAdmin ||
		refused[1].Outcome != authz.CodePersonalChat || refused[0].Target != string(authz.ActionOrgs) {
		t.Errorf("refusals audited = %+v", refused)
	}

	// Only list commands page; anything else in the card data is out of date, not run.
	for _, data := range []cards.Data{
		{cards.KeyVerb: cards.VerbAdminPage, cards.KeyCommand: "orgs add evil.example", cards.KeyPage: "1"},
		{cards.KeyVerb: cards.VerbAdminPage, cards.KeyCommand: "doctor", cards.KeyPage: "1"},
		{cards.KeyVerb: cards.VerbAdminPage, cards.KeyCommand: "orgs", cards.KeyPage: "0"},
		{cards.KeyVerb: cards.VerbAdminPage, cards.KeyCommand: "orgs", cards.KeyPage: "100000"},
		{cards.KeyVerb: cards.VerbAdminPage, cards.KeyCommand: "\"unterminated", cards.KeyPage: "1"},
		{cards.KeyVerb: cards.VerbAdminPage},
	} {
		wantAll(t, fmt.Sprint(data), e.clickCard(sandbox.UserAlex, data, ""), "out of date")
	}
	// The page past the end of a shrunken list says so and offers the way back.
	got = e.clickCard(sandbox.UserAlex, next, "")
	if n, buttons := rows(t, got); n != 0 || strings.Join(buttons, ",") != "Previous" {
		t.Errorf("page past the end: %d rows, %v: %s", n, buttons, got)
	}
	wantAll(t, "past the end", got, "No more entries")
}
