package cards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"guestpass/internal/entitlement"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the builders")

const goldenDir = "testdata/golden"

var (
	t0 = time.Date(2026, 3, 3, 14, 2, 0, 0, time.UTC)
	t1 = t0.Add(5 * 24 * time.Hour)
)

type namedCard struct {
	name string
	card Card
}

// mustStep builds a wizard step card in a test fixture.
func mustStep(t testing.TB, step string, in WizardInput) Card {
	t.Helper()
	c, err := WizardStep(step, in)
	if err != nil {
		t.Fatalf("WizardStep(%q): %v", step, err)
	}
	return c
}

// allCards builds every card and variant. s transforms every user- or tenant-supplied display
// string (identity for the golden files, an attack payload for the injection tests); ids and URLs
// are left alone so both runs have the same structure.
func allCards(t testing.TB, s func(string) string) []namedCard {
	sponsor := entitlement.Approver{Kind: entitlement.ApproverSponsor, ID: "oid-sponsor", DisplayName: s("Megan Bowen")}
	scenario := entitlement.Scenario{
		ID:          "scn-1",
		Name:        s("Fabrikam project partners"),
		Description: s("Partners working on Project Falcon.") + "\n" + s("Access to the team and the project site."),
		Partners: []entitlement.Partner{
			{Domain: "fabrikam.com", DisplayName: s("Fabrikam, Inc.")},
			{Domain: "contoso.co.uk"},
		},
		Resources: []entitlement.Resource{
			{Kind: entitlement.ResourceGroup, OriginID: "grp-1", DisplayName: s("Project Falcon"), IsTeam: true,
				Role: entitlement.Role{OriginID: "Member_grp-1", DisplayName: s("Member")}},
			{Kind: entitlement.ResourceSite, OriginID: "https://contoso.sharepoint.com/sites/falcon", DisplayName: s("Falcon site"),
				Role: entitlement.Role{OriginID: "4", DisplayName: s("Visitors")}},
			{Kind: entitlement.ResourceApplication, OriginID: "sp-1", DisplayName: s("Falcon tracker"),
				Role: entitlement.Role{OriginID: "role-1", DisplayName: s("Reader")}},
		},
		Approval: entitlement.Approval{
			Required:                       true,
			RequestorJustificationRequired: true,
			Stages: []entitlement.Stage{
				{Approvers: []entitlement.Approver{sponsor, {Kind: entitlement.ApproverUser, ID: "oid-adele", DisplayName: s("Adele Vance")}}, AutoDenyAfterDays: 7},
				{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverGroup, ID: "grp-sec", DisplayName: s("Security reviewers")}}, AutoDenyAfterDays: 3, ApproverJustificationRequired: true},
			},
		},
		DurationDays:       90,
		AllowExtension:     true,
		AllowB2BInvitation: true,
		Questions: []entitlement.Question{
			{Text: s("Which work package are you on?"), Required: true, Choices: []string{s("WP1"), s("WP2")}},
			{Text: s("Anything else?")},
		},
		OwnerOID: "oid-sponsor",
	}
	newDraft := entitlement.Scenario{
		Name:     scenario.Name,
		Approval: entitlement.Approval{Required: true, Stages: []entitlement.Stage{{Approvers: []entitlement.Approver{sponsor}, AutoDenyAfterDays: 14}}},
	}
	wiz := WizardInput{Draft: scenario, Nonce: "n-42"}
	search := &ResourceSearch{Query: s("falcon"), Results: []ResourceOption{
		{Resource: entitlement.Resource{Kind: entitlement.ResourceGroup, OriginID: "grp-1", DisplayName: s("Project Falcon"), IsTeam: true},
			Roles: []entitlement.Role{{OriginID: "Member_grp-1", DisplayName: s("Member")}, {OriginID: "Owner_grp-1", DisplayName: s("Owner")}}},
		{Resource: entitlement.Resource{Kind: entitlement.ResourceSite, OriginID: "https://contoso.sharepoint.com/sites/falcon", DisplayName: s("Falcon site")},
			Roles: []entitlement.Role{{OriginID: "4", DisplayName: s("Visitors")}, {OriginID: "5", DisplayName: s("Members")}}},
	}}
	steps := []ProgressStep{
		{Label: "Catalog", State: StepDone},
		{Label: "Resources", State: StepDone},
		{Label: "Connected organization", State: StepRunning},
		{Label: "Access package", State: StepPending},
		{Label: "Policy", State: StepPending},
	}
	failedSteps := []ProgressStep{
		{Label: "Catalog", State: StepDone},
		{Label: "Resources", State: StepFailed},
		{Label: "Connected organization", State: StepPending},
		{Label: "Access package", State: StepPending},
		{Label: "Policy", State: StepPending},
	}
	request := entitlement.Request{
		ID:        "req-1",
		State:     entitlement.RequestPendingApproval,
		CreatedAt: t0.Add(-2 * time.Hour),
		Requestor: entitlement.Person{OID: "oid-jane", DisplayName: s("Jane Doe"), Email: "jane_doe@fabrikam.com",
			Organisation: s("Fabrikam, Inc."), External: true},
		AccessPackageID: "ap-1",
		AccessPackage:   s("Fabrikam project partners (guests)"),
		ScenarioID:      "scn-1",
		Justification:   s("I lead WP1 for Fabrikam.") + "\n\n" + s("Need the site for the spec."),
		Answers:         []entitlement.Answer{{Question: s("Which work package are you on?"), Value: s("WP1")}},
		DurationDays:    90,
		AutoDenyAt:      t1,
		StageCount:      2,
	}
	approval := ApprovalInput{
		Request: request, Scenario: scenario.Name, Stage: 1, Nonce: "n-7",
		ApproverMRIs: []string{"29:1megan", "29:1adele"},
	}
	withApproval := func(mut func(*ApprovalInput)) ApprovalInput { a := approval; mut(&a); return a }
	guest := GuestRow{OnboardingID: "onb-1", Name: s("Jane Doe"), Email: "jane_doe@fabrikam.com", ScenarioName: scenario.Name,
		Status: s("Has access"), Since: t0.Add(-30 * 24 * time.Hour), Until: t1, CanRemove: true}

	cards := []namedCard{
		{"help", Help(HelpInput{Commands: []Command{
			{Name: "help", Usage: "help", Description: s("Show what you can do")},
			{Name: "scenario", Usage: "scenario new|show <name>|edit <name>|retire <name>", Description: s("Define and manage guest scenarios")},
			{Name: "invite", Usage: "invite <scenario> <email>…", Description: s("Send guests the request link")},
		}})},
		{"help_admin", Help(HelpInput{IsAdmin: true, Commands: []Command{
			{Name: "help", Usage: "help", Description: s("Show what you can do")},
			{Name: "expiring", Usage: "expiring [--days N]", Description: s("Guests whose access ends soon")},
		}})},
		{"help_empty", Help(HelpInput{})},
		{"welcome", Help(HelpInput{Welcome: true, Commands: []Command{
			{Name: "help", Usage: "help", Description: s("Show what you can do")},
			{Name: "approvals", Usage: "approvals", Description: s("Your pending approvals")},
		}})},
		{"message", Message(s("Scenario cancelled"), s("Nothing was created.")+"\n"+s("Type new scenario to start again."))},
		{"error", Error(s("Couldn't load your scenarios"), s("Microsoft Graph did not answer in time."), Data{KeyVerb: VerbScenarioList, KeyPage: "1"})},
		{"error_no_retry", Error(s("Not allowed"), s("Only sponsors can define guest scenarios."), nil)},
		{"table", Table(TableInput{Title: s("Connected organizations"), Columns: []string{s("Name"), s("Domain"), s("State")},
			Rows: [][]string{{s("Fabrikam, Inc."), "fabrikam.com", s("configured")}, {s("Contoso UK"), "contoso.co.uk"}},
			Page: 2, HasNext: true, PageData: Data{KeyVerb: "orgs.list"}})},
		{"table_empty", Table(TableInput{Title: s("Pending requests"), Columns: []string{"Guest"}, Empty: s("No pending requests.")})},

		{"wizard_name", mustStep(t, StepName, WizardInput{Draft: newDraft, Nonce: "n-42"})},
		{"wizard_name_errors", mustStep(t, StepName, WizardInput{Draft: newDraft, Nonce: "n-42",
			Values: map[string]string{InputName: s("Fabrikam project partners")},
			Errors: map[string]string{InputName: s("A scenario with this name already exists."), ErrorKeyForm: s("Fix the fields marked below.")}})},
		{"wizard_partners", mustStep(t, StepPartners, wiz)},
		{"wizard_partners_errors", mustStep(t, StepPartners, WizardInput{Draft: newDraft, Nonce: "n-42",
			Values: map[string]string{InputPartnerDomains: s("fabrikam.com, not a domain"), InputAnyExternalUser: ToggleOff},
			Errors: map[string]string{InputPartnerDomains: s("“not a domain” is not a domain name.")}})},
		{"wizard_resources_empty", mustStep(t, StepResources, WizardInput{Draft: newDraft, Nonce: "n-42",
			Errors: map[string]string{InputResourcePick: s("Add at least one resource.")}})},
		{"wizard_resources_search", mustStep(t, StepResources, WizardInput{Draft: scenario, Nonce: "n-42", Search: search})},
		{"wizard_resources_no_results", mustStep(t, StepResources, WizardInput{Draft: newDraft, Nonce: "n-42", Search: &ResourceSearch{Query: s("zeppelin")}})},
		{"wizard_approval", mustStep(t, StepApproval, wiz)},
		{"wizard_approval_errors", mustStep(t, StepApproval, WizardInput{Draft: newDraft, Nonce: "n-42",
			Values: map[string]string{InputStage2Approvers: s("nobody@nowhere"), InputAutoDenyDays: "30"},
			Errors: map[string]string{InputStage2Approvers: s("No user nobody@nowhere in your directory."), InputAutoDenyDays: s("Enter 1 to 14 days.")}})},
		{"wizard_duration", mustStep(t, StepDuration, wiz)},
		{"wizard_duration_errors", mustStep(t, StepDuration, WizardInput{Draft: newDraft, Nonce: "n-42",
			Values: map[string]string{InputDurationDays: "400"}, Errors: map[string]string{InputDurationDays: s("At most 365 days.")}})},
		{"wizard_questions", mustStep(t, StepQuestions, wiz)},
		{"wizard_review", mustStep(t, StepReview, WizardInput{Draft: func() entitlement.Scenario { d := scenario; d.ID = ""; return d }(), Nonce: "n-42"})},
		{"wizard_review_edit", mustStep(t, StepReview, wiz)},
		{"wizard_review_any_external", mustStep(t, StepReview, WizardInput{Nonce: "n-42", Draft: entitlement.Scenario{
			Name: s("Event guests"), AnyExternalUser: true, DurationDays: 14,
			Resources: scenario.Resources[:1], Template: "event-guest"}})},
		{"templates", Templates([]TemplateOption{
			{ID: "project-partner", Name: s("Project partner"), Description: s("A Team and its site, sponsor approval, 90 days.")},
			{ID: "vendor-app", Name: s("Vendor app access"), Description: s("An app role, sponsor then a second approver, 30 days.")},
			{ID: "event-guest", Name: s("Event guest"), Description: s("A Team, 14 days, approved automatically for the partner organisation.")},
		})},

		{"creation_progress", CreationProgress(scenario.Name, steps)},
		{"scenario_created", ScenarioCreated(CreatedInput{Scenario: scenario, MyAccessURL: "https://myaccess.microsoft.com/@contoso.onmicrosoft.com#/access-packages/ap-1"})},
		{"creation_failed", CreationFailed(FailedInput{ScenarioName: scenario.Name, Nonce: "n-42", Steps: failedSteps,
			Message: s("The bot may not add “Falcon site” to the catalog.") + "\n" + s("Ask an admin to make the bot a catalog owner, then retry.")})},
		{"scenario_list", ScenarioList(ScenarioListInput{Page: 1, HasNext: true, Scenarios: []ScenarioSummary{
			{ID: "scn-1", Name: scenario.Name, Pending: 2, Active: 11},
			{ID: "scn-2", Name: s("Vendor app access"), Active: 3, Retired: true},
		}})},
		{"scenario_list_page2", ScenarioList(ScenarioListInput{Page: 2, Scenarios: []ScenarioSummary{{ID: "scn-3", Name: s("Event guests")}}})},
		{"scenario_list_empty", ScenarioList(ScenarioListInput{})},
		{"scenario_detail", ScenarioDetail(DetailInput{Scenario: scenario, Pending: 2, Active: 11, CanManage: true,
			MyAccessURL: "https://myaccess.microsoft.com/@contoso.onmicrosoft.com#/access-packages/ap-1"})},
		{"scenario_detail_retired", ScenarioDetail(DetailInput{Scenario: scenario, Active: 4, Retired: true, CanManage: true,
			MyAccessURL: "https://myaccess.microsoft.com/@contoso.onmicrosoft.com#/access-packages/ap-1"})},
		{"retire_confirm", RetireConfirm(scenario)},

		{"approval_pending", Approval(approval)},
		{"approval_deny_missing_justification", Approval(withApproval(func(a *ApprovalInput) {
			a.Errors = map[string]string{InputJustification: s("Give a reason to deny the request.")}
		}))},
		{"approval_error", Approval(withApproval(func(a *ApprovalInput) {
			a.Justification = s("Looks fine")
			a.Errors = map[string]string{ErrorKeyForm: s("Couldn't record your decision: Microsoft Graph is unavailable. Nothing was lost; try again.")}
		}))},
		{"approval_stage2_justification_required", Approval(withApproval(func(a *ApprovalInput) { a.Stage = 2; a.JustificationRequired = true }))},
		{"approval_not_approver", Approval(withApproval(func(a *ApprovalInput) { a.NotApprover = true }))},
		{"approval_approved_by_you", Approval(withApproval(func(a *ApprovalInput) {
			a.Decision = &Decision{Outcome: DecisionApproved, ByYou: true, At: t0}
		}))},
		{"approval_approved_by_other", Approval(withApproval(func(a *ApprovalInput) {
			a.Decision = &Decision{Outcome: DecisionApproved, By: s("Megan Bowen"), At: t0, Justification: s("Known partner.")}
		}))},
		{"approval_decided_elsewhere", Approval(withApproval(func(a *ApprovalInput) {
			a.Decision = &Decision{Outcome: DecisionApproved, By: s("Adele Vance"), Elsewhere: true, At: t0}
		}))},
		{"approval_denied", Approval(withApproval(func(a *ApprovalInput) {
			a.Decision = &Decision{Outcome: DecisionDenied, By: s("Megan Bowen"), At: t0, Justification: s("Not on the project.")}
		}))},
		{"approval_canceled", Approval(withApproval(func(a *ApprovalInput) { a.Decision = &Decision{Outcome: DecisionCanceled, At: t0} }))},
		{"approval_expired", Approval(withApproval(func(a *ApprovalInput) { a.Decision = &Decision{Outcome: DecisionExpired, At: t1} }))},

		{"invite_form", InviteForm(InviteFormInput{Nonce: "n-9", Scenarios: []InviteScenario{
			{ID: "scn-1", Name: scenario.Name, AllowB2B: true}, {ID: "scn-2", Name: s("Vendor app access")},
		}, Values: map[string]string{InputInviteScenario: "scn-1"}})},
		{"invite_form_errors", InviteForm(InviteFormInput{Nonce: "n-9", Scenarios: []InviteScenario{{ID: "scn-2", Name: s("Vendor app access")}},
			Values: map[string]string{InputInviteAddresses: s("jane@fabrikam.com; bob@"), InputInviteDelivery: DeliveryLink},
			Errors: map[string]string{InputInviteAddresses: s("“bob@” is not an email address.")}})},
		{"invite_preview", InvitePreview(InvitePreviewInput{ScenarioName: scenario.Name, Nonce: "n-9",
			Recipients: []string{"a@fabrikam.com", "b@fabrikam.com", "c@fabrikam.com", "d@fabrikam.com", "e@fabrikam.com", "f@fabrikam.com"},
			Subject:    s("Megan Bowen invites you to Project Falcon"),
			Body:       s("Hello,") + "\n\n" + s("I'd like you to join Project Falcon at Contoso for 90 days.") + "\n" + s("Request access here: https://myaccess.microsoft.com/x") + "\n\n" + s("Megan")})},
		{"invite_progress", InviteProgress(InviteProgressInput{ScenarioName: scenario.Name, Total: 3, Sent: 1, AlreadyHasAccess: 1})},
		{"invite_results", InviteResults(InviteResultsInput{ScenarioID: "scn-1", ScenarioName: scenario.Name, Results: []GuestResult{
			{Email: "new@fabrikam.com", Outcome: InviteSent},
			{Email: "jane_doe@fabrikam.com", Outcome: InviteAlreadyHasAccess, Reason: s("Assigned since 3 Feb 2026")},
			{Email: "eve@evil.example", Outcome: InviteRefused, Reason: s("evil.example is not a partner organisation of this scenario")},
		}})},
		{"guest_link", GuestLink(GuestLinkInput{ScenarioName: scenario.Name, Description: scenario.Description, SponsorName: s("Megan Bowen"),
			Organisation: s("Contoso"), DurationDays: 90, MyAccessURL: "https://myaccess.microsoft.com/@contoso.onmicrosoft.com#/access-packages/ap-1"})},
		{"expiry_notice", ExpiryNotice(ExpiryInput{Guest: request.Requestor, ScenarioName: scenario.Name, OnboardingID: "onb-1",
			ExpiresAt: t1, ExtensionAllowed: true, CanExtend: true})},
		{"expiry_notice_no_extension", ExpiryNotice(ExpiryInput{Guest: request.Requestor, ScenarioName: scenario.Name, OnboardingID: "onb-1", ExpiresAt: t1})},
		{"guest_list", GuestList(GuestListInput{Page: 1, HasNext: true, Guests: []GuestRow{guest,
			{OnboardingID: "onb-2", Email: "tom@contoso.co.uk", ScenarioName: scenario.Name, Status: s("Link sent"), Since: t0}}})},
		{"guest_list_empty", GuestList(GuestListInput{})},
		{"guest_remove_confirm", GuestRemoveConfirm(guest)},
		{"extend_confirm", ExtendConfirm(ExtendInput{Guest: request.Requestor, ScenarioName: scenario.Name, OnboardingID: "onb-1",
			CurrentEnd: t1, NewEnd: t0.Add(90 * 24 * time.Hour), DurationDays: 90, ExtensionAllowed: true})},
		{"extend_forbidden", ExtendForbidden(ExtendInput{Guest: request.Requestor, ScenarioName: scenario.Name, OnboardingID: "onb-1", ExtensionAllowed: true})},
		{"extend_forbidden_no_link", ExtendForbidden(ExtendInput{Guest: request.Requestor, ScenarioName: scenario.Name, OnboardingID: "onb-1"})},
	}
	return append(append(cards, orgCards(s)...), myApprovalsCards(s)...)
}

func identity(s string) string { return s }

func marshalIndent(t testing.TB, c Card) []byte {
	t.Helper()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return append(b, '\n')
}

// TestGolden compares every card with its golden file (go test ./internal/cards -update rewrites
// them) and fails on golden files no card produces any more.
func TestGolden(t *testing.T) {
	cases := append(allCards(t, identity), injectionGoldens(t)...)
	want := map[string]bool{}
	for _, c := range cases {
		if want[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		want[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			got := marshalIndent(t, c.card)
			path := filepath.Join(goldenDir, c.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cards -update)", err)
			}
			if !bytes.Equal(got, exp) {
				t.Errorf("%s differs from the builder's output (run go test ./internal/cards -update and review the diff)\ngot:\n%s", path, got)
			}
		})
	}
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !want[name] {
			if *update {
				_ = os.Remove(f)
				continue
			}
			t.Errorf("stale golden file %s: no card produces it", f)
		}
	}
}

// injectionGoldens keeps two hostile cards as golden files so the official parser (tools/cards)
// checks them too and reviewers see the escaping.
func injectionGoldens(t testing.TB) []namedCard {
	var out []namedCard
	for _, c := range allCards(t, hostile) {
		switch c.name {
		case "approval_pending", "wizard_review":
			out = append(out, namedCard{"injection_" + c.name, c.card})
		}
	}
	return out
}

// TestGoldenFilesInvariants checks properties every card sent must have, on the files themselves.
func TestGoldenFilesInvariants(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("only %d golden files; expected every card and variant", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var card map[string]any
			if err := json.Unmarshal(raw, &card); err != nil {
				t.Fatalf("not valid JSON: %v", err)
			}
			checkCard(t, card)
		})
	}
}

// allowedDataKeys are the only keys an action's data may carry (ids, never identities).
var allowedDataKeys = map[string]bool{
	KeyVerb: true, KeyDialog: true, KeyStep: true, KeyNonce: true, KeyRequestID: true, KeyScenarioID: true,
	KeyTemplate: true, KeyIndex: true, KeyPage: true, KeyOnboardingID: true,
	KeyDomain: true, KeyOrgID: true, KeyCommand: true,
}

// identityKeys would mean a card tells the bot who clicked; they must never appear.
var identityKeys = []string{"oid", "aadObjectId", "userId", "user", "upn", "email", "tid", "tenantId", "from",
	"role", "roles", "isAdmin", "approver", "approverId", "sponsor", "name", "token"}

func checkCard(t *testing.T, card map[string]any) {
	t.Helper()
	if card["type"] != "AdaptiveCard" || card["version"] != "1.5" || card["$schema"] != SchemaURL {
		t.Errorf("envelope: type=%v version=%v $schema=%v", card["type"], card["version"], card["$schema"])
	}
	if ms, _ := card["msteams"].(map[string]any); ms["width"] != "Full" {
		t.Errorf("msteams.width = %v, want Full", card["msteams"])
	}
	if body, ok := card["body"].([]any); !ok || len(body) == 0 {
		t.Errorf("empty body")
	}
	if r, ok := card["refresh"].(map[string]any); ok {
		ids, _ := r["userIds"].([]any)
		if len(ids) > MaxRefreshUserIDs {
			t.Errorf("refresh.userIds has %d entries, max %d", len(ids), MaxRefreshUserIDs)
		}
		act, _ := r["action"].(map[string]any)
		checkAction(t, act, false)
	}
	ids := map[string]bool{}
	withoutRefresh := map[string]any{}
	for k, v := range card {
		if k != "refresh" { // checked above: refresh.action is not a button and has no fallback
			withoutRefresh[k] = v
		}
	}
	walk(withoutRefresh, func(obj map[string]any) {
		typ, _ := obj["type"].(string)
		switch {
		case typ == "Action.Execute":
			checkAction(t, obj, true)
		case typ == "Action.Submit":
			checkData(t, obj["data"])
		case typ == "Action.OpenUrl":
			u, _ := obj["url"].(string)
			if safeURL(u) == "" {
				t.Errorf("unsafe OpenUrl %q", u)
			}
		case strings.HasPrefix(typ, "Input."):
			id, _ := obj["id"].(string)
			if id == "" || ids[id] {
				t.Errorf("input id %q empty or duplicated", id)
			}
			if allowedDataKeys[id] {
				t.Errorf("input id %q collides with a data key", id)
			}
			ids[id] = true
		}
	})
}

func checkAction(t *testing.T, a map[string]any, wantFallback bool) {
	t.Helper()
	verb, _ := a["verb"].(string)
	data, _ := a["data"].(map[string]any)
	if verb == "" || data["verb"] != verb {
		t.Errorf("Action.Execute verb %q, data.verb %v: the verb must also be in data", verb, data["verb"])
	}
	checkData(t, a["data"])
	if !wantFallback {
		return
	}
	fb, _ := a["fallback"].(map[string]any)
	if fb["type"] != "Action.Submit" || fb["title"] != a["title"] {
		t.Errorf("Action.Execute %q: fallback %v, want an Action.Submit with the same title", verb, fb)
	}
	fbData, _ := json.Marshal(fb["data"])
	exData, _ := json.Marshal(a["data"])
	if !bytes.Equal(fbData, exData) || fb["associatedInputs"] != a["associatedInputs"] {
		t.Errorf("Action.Execute %q: fallback data %s, want %s", verb, fbData, exData)
	}
}

func checkData(t *testing.T, d any) {
	t.Helper()
	m, ok := d.(map[string]any)
	if !ok {
		t.Errorf("action data %v is not an object", d)
		return
	}
	for k, v := range m {
		if !allowedDataKeys[k] {
			t.Errorf("data key %q is not an id key", k)
		}
		if _, ok := v.(string); !ok {
			t.Errorf("data %q = %v, want a string", k, v)
		}
		for _, bad := range identityKeys {
			if strings.EqualFold(k, bad) {
				t.Errorf("data carries identity claim %q", k)
			}
		}
	}
}

// walk calls fn for every object in v, depth first.
func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(x[k], fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

func TestCardsAreDeterministic(t *testing.T) {
	a, b := allCards(t, identity), allCards(t, identity)
	for i := range a {
		if !bytes.Equal(marshalIndent(t, a[i].card), marshalIndent(t, b[i].card)) {
			t.Errorf("%s: two builds differ", a[i].name)
		}
	}
}

func TestAttachment(t *testing.T) {
	c := Message("Hi", "there")
	att := c.Attachment()
	if att.ContentType != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("content type %q", att.ContentType)
	}
	b, err := json.Marshal(att)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ContentType string         `json:"contentType"`
		Content     map[string]any `json:"content"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Content["type"] != "AdaptiveCard" || got.Content["version"] != "1.5" {
		t.Errorf("attachment content = %v", got.Content)
	}
}

func TestEmptyCardStillHasEnvelopeAndBody(t *testing.T) {
	b, err := json.Marshal(Card{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"AdaptiveCard","$schema":"http://adaptivecards.io/schemas/adaptive-card.json","version":"1.5","body":[],"msteams":{"width":"Full"}}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}
