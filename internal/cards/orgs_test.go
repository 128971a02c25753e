package cards

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"guestpass/internal/entitlement"
)

// orgCards are the admin cards of `orgs add`, `orgs remove` and list paging; allCards includes
// them, so they get golden files, the invariant checks and the injection tests.
func orgCards(s func(string) string) []namedCard {
	fabrikam := entitlement.ConnectedOrg{ID: "5e1d7c2a-0b3f-4e6d-9a8c-1f2e3d4c5b6a", DisplayName: s("fabrikam.com"),
		Domains: []string{"fabrikam.com"}, State: "configured"}
	contoso := entitlement.ConnectedOrg{ID: "c0ffee00-1234-4abc-9def-0123456789ab", DisplayName: s("Contoso"),
		TenantIDs: []string{"9e3f1a2b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"}, State: "configured"}
	contosoUK := entitlement.ConnectedOrg{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", DisplayName: s("Contoso"),
		Domains: []string{"contoso.co.uk"}, State: "proposed"}
	return []namedCard{
		{"org_add_confirm", OrgAddConfirm(OrgAddInput{Domain: "contoso.com", DisplayName: s("Contoso"), TenantID: "9e3f1a2b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"})},
		{"org_add_confirm_domain", OrgAddConfirm(OrgAddInput{Domain: "fabrikam.com", DisplayName: "fabrikam.com"})},
		{"org_exists", OrgExists("contoso.com", contoso)},
		{"org_added", OrgAdded(fabrikam)},
		{"org_remove_confirm", OrgRemoveConfirm(OrgRemoveInput{Org: contoso,
			Policies: []string{s("Policy for Launch Alpha")}, Scenarios: []string{s("Launch Alpha"), s("Launch Beta")}})},
		{"org_remove_confirm_unused", OrgRemoveConfirm(OrgRemoveInput{Org: fabrikam})},
		{"org_remove_confirm_unchecked", OrgRemoveConfirm(OrgRemoveInput{Org: fabrikam, Unchecked: true})},
		{"org_pick", OrgPick(OrgPickInput{Query: s("Contoso"), Orgs: []entitlement.ConnectedOrg{contoso, contosoUK}})},
		{"org_no_match", OrgPick(OrgPickInput{Query: s("Contoco"), NoMatch: true, Orgs: []entitlement.ConnectedOrg{contoso}})},
		{"org_no_match_empty", OrgPick(OrgPickInput{Query: s("Nope Inc"), NoMatch: true})},
		{"admin_table_page2", Table(TableInput{Title: s("Audit log"), Columns: []string{"When (UTC)", "Who", "Action"},
			Rows: [][]string{{"2026-03-03 14:02", s("Adele Vance"), "scenario.new"}}, Page: 2, HasNext: true,
			PageData: AdminPageData(`audit --user "adele vance" --last 120`)})},
	}
}

func actionsOf(t *testing.T, c Card) []map[string]any {
	t.Helper()
	var out []map[string]any
	walk(decode(t, c), func(obj map[string]any) {
		if obj["type"] == "Action.Execute" {
			out = append(out, obj)
		}
	})
	return out
}

func TestOrgAddConfirmButtons(t *testing.T) {
	acts := actionsOf(t, OrgAddConfirm(OrgAddInput{Domain: "fabrikam.com", DisplayName: "fabrikam.com"}))
	if len(acts) != 2 {
		t.Fatalf("%d actions, want Confirm and Cancel", len(acts))
	}
	for i, want := range []struct{ title, verb string }{{"Confirm", VerbOrgAddConfirm}, {"Cancel", VerbOrgCancel}} {
		data, _ := acts[i]["data"].(map[string]any)
		if acts[i]["title"] != want.title || acts[i]["verb"] != want.verb || data[KeyDomain] != "fabrikam.com" {
			t.Errorf("action %d = %v, want %s → %s with the domain", i, acts[i], want.title, want.verb)
		}
	}
	b, _ := json.Marshal(OrgAddConfirm(OrgAddInput{Domain: "fabrikam.com"}))
	if !strings.Contains(string(b), "not an Entra tenant: domain identity source") || !strings.Contains(string(b), `"configured"`) {
		t.Errorf("a domain without tenant must say so: %s", b)
	}
}

func TestOrgRemoveConfirmWarnings(t *testing.T) {
	org := entitlement.ConnectedOrg{ID: "org-1", DisplayName: "Contoso", Domains: []string{"contoso.com"}}
	plain, _ := json.Marshal(OrgRemoveConfirm(OrgRemoveInput{Org: org}))
	warned, _ := json.Marshal(OrgRemoveConfirm(OrgRemoveInput{Org: org, Policies: []string{"P1"}, Scenarios: []string{"Launch"}}))
	if strings.Contains(string(plain), "Warning") || !strings.Contains(string(plain), "stop admitting its users") {
		t.Errorf("unused organization: %s", plain)
	}
	for _, w := range []string{"P1", "Entra may refuse", "Launch", "list it as a partner"} {
		if !strings.Contains(string(warned), w) {
			t.Errorf("warning lacks %q: %s", w, warned)
		}
	}
	acts := actionsOf(t, OrgRemoveConfirm(OrgRemoveInput{Org: org}))
	if data, _ := acts[0]["data"].(map[string]any); len(acts) != 2 || acts[0]["verb"] != VerbOrgRemoveConfirm || data[KeyOrgID] != "org-1" {
		t.Errorf("actions = %v", acts)
	}
}

func TestOrgPickCapsTheList(t *testing.T) {
	var orgs []entitlement.ConnectedOrg
	for i := range 25 {
		orgs = append(orgs, entitlement.ConnectedOrg{ID: fmt.Sprintf("org-%d", i), DisplayName: "Contoso"})
	}
	c := OrgPick(OrgPickInput{Query: "Contoso", Orgs: orgs})
	acts := actionsOf(t, c)
	if len(acts) != maxPick {
		t.Errorf("%d buttons, want %d", len(acts), maxPick)
	}
	for i, a := range acts {
		if data, _ := a["data"].(map[string]any); a["verb"] != VerbOrgRemove || data[KeyOrgID] != fmt.Sprintf("org-%d", i) {
			t.Errorf("button %d = %v", i, a)
		}
	}
	if b, _ := json.Marshal(c); !strings.Contains(string(b), "15 more") {
		t.Errorf("the cut is not said: %s", b)
	}
}

func TestAdminTablePaging(t *testing.T) {
	cmd := "requests all --scenario \"Launch Alpha\""
	tests := []struct {
		page    int
		hasNext bool
		want    []string // button title → page
	}{
		{1, true, []string{"Next=2"}},
		{2, true, []string{"Previous=1", "Next=3"}},
		{3, false, []string{"Previous=2"}},
		{1, false, nil},
	}
	for _, tt := range tests {
		c := Table(TableInput{Title: "Access requests", Columns: []string{"A"}, Rows: [][]string{{"x"}}, Page: tt.page, HasNext: tt.hasNext,
			PageData: AdminPageData(cmd)})
		var got []string
		for _, a := range actionsOf(t, c) {
			data, _ := a["data"].(map[string]any)
			if a["verb"] != VerbAdminPage || data[KeyCommand] != cmd {
				t.Errorf("page %d: button %v does not carry the command", tt.page, a)
			}
			got = append(got, fmt.Sprintf("%v=%v", a["title"], data[KeyPage]))
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("page %d (next %v): buttons %v, want %v", tt.page, tt.hasNext, got, tt.want)
		}
	}
}
