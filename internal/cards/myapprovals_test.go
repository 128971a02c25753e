package cards

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"guestpass/internal/entitlement"
)

// myApprovalItems are the requests of the `approvals` list fixtures: two decidable, one whose card
// is still on its way, one on an access package guestpass does not manage.
func myApprovalItems(s func(string) string) []MyApprovalItem {
	person := func(name, email, org string) entitlement.Person {
		return entitlement.Person{OID: "oid-" + email, DisplayName: s(name), Email: email, Organisation: s(org), External: true}
	}
	return []MyApprovalItem{
		{Scenario: s("Fabrikam project partners"), Stage: 1, State: MyApprovalDecidable, Request: entitlement.Request{
			ID: "8f0e6c1a-2b3d-4e5f-9a8b-7c6d5e4f3a2b", State: entitlement.RequestPendingApproval, CreatedAt: t0,
			Requestor: person("Jane Doe", "jane_doe@fabrikam.com", "Fabrikam, Inc."), AccessPackage: s("Fabrikam project partners"),
			Justification: s("I lead the Falcon integration at Fabrikam.") + "\n" + s("Needed until the launch."),
			StageCount:    2, AutoDenyAt: t0.Add(7 * 24 * time.Hour)}},
		{Scenario: s("Fabrikam project partners"), Stage: 2, State: MyApprovalDecidable, Request: entitlement.Request{
			ID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", State: entitlement.RequestPendingApproval, CreatedAt: t0.Add(time.Hour),
			Requestor: person("Tom Smith", "tom@contoso.co.uk", "Contoso UK"), AccessPackage: s("Fabrikam project partners"), StageCount: 2}},
		{Scenario: s("Vendor portal"), Stage: 1, State: MyApprovalArriving, Request: entitlement.Request{
			ID: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", CreatedAt: t0.Add(2 * time.Hour),
			Requestor: person("Kim Lee", "kim@fabrikam.com", "Fabrikam, Inc."), AccessPackage: s("Vendor portal"), StageCount: 1,
			AutoDenyAt: t0.Add(2*time.Hour + 14*24*time.Hour)}},
		{Stage: 1, State: MyApprovalOtherPackage, Request: entitlement.Request{
			ID: "3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f", CreatedAt: t0.Add(3 * time.Hour),
			Requestor: person("Ana Ruiz", "ana@northwind.example", "Northwind"), AccessPackage: s("Finance reports (HR catalog)"),
			Justification: s("Quarterly audit")}},
	}
}

// myApprovalsCards are the `approvals` cards; allCards includes them, so they get golden files,
// the invariant checks (data keys, unique input ids, fallbacks) and the injection tests.
func myApprovalsCards(s func(string) string) []namedCard {
	items := myApprovalItems(s)
	return []namedCard{
		{"my_approvals_prompt", MyApprovalsPrompt()},
		{"my_approvals", MyApprovals(MyApprovalsInput{Items: items, Total: len(items)})},
		{"my_approvals_more", MyApprovals(MyApprovalsInput{Items: items[:2], Total: 14})},
		{"my_approvals_empty", MyApprovals(MyApprovalsInput{})},
	}
}

func TestMyApprovalsPromptFetchesOnClick(t *testing.T) {
	acts := executeActions(t, MyApprovalsPrompt())
	if len(acts) != 1 || acts[0]["verb"] != VerbMyApprovals || acts[0]["title"] != "Show my approvals" {
		t.Fatalf("prompt actions = %v, want one Show my approvals → %s", acts, VerbMyApprovals)
	}
}

func TestMyApprovalsButtonsTakeTheApprovalCardPath(t *testing.T) {
	items := myApprovalItems(identity)
	card := MyApprovals(MyApprovalsInput{Items: items, Total: len(items)})
	// The approval card's buttons for the same request and stage: the list must send the same
	// verbs and data, so the click is handled exactly like one on the approval card.
	want := map[string]map[string]any{}
	for _, it := range items[:2] {
		for _, a := range executeActions(t, Approval(ApprovalInput{Request: it.Request, Scenario: it.Scenario, Stage: it.Stage, Nonce: "s" + itoa(it.Stage)})) {
			if a["verb"] == VerbApprove || a["verb"] == VerbDeny {
				b, _ := json.Marshal(a["data"])
				want[string(b)] = a
			}
		}
	}
	var decisions int
	for _, a := range executeActions(t, card) {
		switch a["verb"] {
		case VerbApprove, VerbDeny:
			decisions++
			b, _ := json.Marshal(a["data"])
			if want[string(b)] == nil {
				t.Errorf("decision button data %s is not an approval card's", b)
			}
			if a["associatedInputs"] != nil {
				t.Errorf("decision button %v must submit the justification", a)
			}
		case VerbMyApprovals:
			if a["associatedInputs"] != "none" {
				t.Errorf("Refresh submits inputs: %v", a)
			}
		default:
			t.Errorf("unexpected action %v", a)
		}
	}
	if decisions != 4 {
		t.Errorf("%d decision buttons, want Approve and Deny for the 2 tracked requests only", decisions)
	}
	var inputs []string
	walk(decode(t, card), func(obj map[string]any) {
		if obj["type"] == "Input.Text" {
			inputs = append(inputs, obj["id"].(string))
		}
	})
	if len(inputs) != 1 || inputs[0] != InputJustification {
		t.Errorf("inputs = %v, want the approval card's justification input once", inputs)
	}
	raw, _ := json.Marshal(card)
	for _, want := range []string{"4 requests wait for your decision.", "Jane Doe", `jane\\_doe@fabrikam.com`, "Fabrikam, Inc.",
		"Stage 1 of 2", "Stage 2 of 2", "Denied automatically", "I lead the Falcon integration", "Requested",
		"its approval card is on its way", "decide it in My Access"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("list lacks %q", want)
		}
	}
}

func TestMyApprovalsCountsTheRest(t *testing.T) {
	raw, _ := json.Marshal(MyApprovals(MyApprovalsInput{Items: myApprovalItems(identity)[:2], Total: 14}))
	for _, want := range []string{"14 requests wait for your decision; here are the 2 oldest.", "The other 12 arrive as approval cards"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("list lacks %q: %s", want, raw)
		}
	}
}

func TestMyApprovalsEmptyAndUntrackedOnly(t *testing.T) {
	raw, _ := json.Marshal(MyApprovals(MyApprovalsInput{}))
	if !strings.Contains(string(raw), "Nothing waits for you.") || strings.Contains(string(raw), "Input.Text") {
		t.Errorf("empty list = %s", raw)
	}
	// Nothing decidable: no justification input, no decision buttons.
	card := MyApprovals(MyApprovalsInput{Items: myApprovalItems(identity)[2:], Total: 2})
	raw, _ = json.Marshal(card)
	if strings.Contains(string(raw), "Input.Text") {
		t.Errorf("input without a decidable request: %s", raw)
	}
	for _, a := range executeActions(t, card) {
		if a["verb"] != VerbMyApprovals {
			t.Errorf("unexpected action %v", a)
		}
	}
}

// executeActions lists the card's Action.Execute objects (body and actions), in order.
func executeActions(t *testing.T, c Card) []map[string]any {
	t.Helper()
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
			for _, e := range x {
				visit(e)
			}
		}
	}
	visit(decode(t, c))
	return out
}
