package dialogs

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
)

func TestDomains(t *testing.T) {
	tests := []struct {
		in   string
		want string // normalised; "" when invalid
	}{
		{"fabrikam.com", "fabrikam.com"},
		{" Fabrikam.COM. ", "fabrikam.com"},
		{"@contoso.co.uk", "contoso.co.uk"},
		{"https://fabrikam.com/", "fabrikam.com"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"localhost", ""},
		{"10.0.0.1", ""},
		{"-bad.com", ""},
		{"bad-.com", ""},
		{"a..com", ""},
		{"exa_mple.com", ""},
		{"ex'ample.com", ""},
		{strings.Repeat("a", 64) + ".com", ""},
		{"bücher.de", ""},
	}
	for _, tt := range tests {
		got := normaliseDomain(tt.in)
		if ok := validDomain(got); ok != (tt.want != "") || (ok && got != tt.want) {
			t.Errorf("%q: normalised %q valid %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestApplyPartners(t *testing.T) {
	in := func(kv ...string) Input {
		d := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			d[kv[i]] = kv[i+1]
		}
		return Input{Data: d}
	}
	tests := []struct {
		name    string
		in      Input
		domains []string
		any     bool
		err     string
	}{
		{"list", in(cards.InputPartnerDomains, "fabrikam.com; contoso.com\nFabrikam.com"), []string{"fabrikam.com", "contoso.com"}, false, ""},
		{"empty", in(cards.InputPartnerDomains, " "), nil, false, "at least one partner domain"},
		{"invalid", in(cards.InputPartnerDomains, "fabrikam.com, nope"), nil, false, "“nope” is not a valid domain"},
		{"any external user clears domains", in(cards.InputPartnerDomains, "fabrikam.com", cards.InputAnyExternalUser, "true"), nil, true, ""},
		{"no input keeps the draft", in(), []string{"kept.com"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := entitlement.Scenario{Partners: []entitlement.Partner{{Domain: "kept.com", ConnectedOrganizationID: "org-1"}}}
			errs := fieldErrors{}
			applyPartners(&d, tt.in, errs)
			if got := errs[cards.InputPartnerDomains]; (tt.err == "") != (got == "") || !strings.Contains(got, tt.err) {
				t.Fatalf("error = %q, want %q", got, tt.err)
			}
			if tt.err != "" {
				return
			}
			var got []string
			for _, p := range d.Partners {
				got = append(got, p.Domain)
			}
			if strings.Join(got, ",") != strings.Join(tt.domains, ",") || d.AnyExternalUser != tt.any {
				t.Fatalf("partners %v any %v; want %v %v", got, d.AnyExternalUser, tt.domains, tt.any)
			}
			if tt.name == "no input keeps the draft" && d.Partners[0].ConnectedOrganizationID != "org-1" {
				t.Fatal("a kept partner lost its connected organization")
			}
		})
	}
}

func TestApplyDurationAndQuestions(t *testing.T) {
	for _, tt := range []struct {
		days string
		ok   bool
	}{{"1", true}, {"365", true}, {"0", false}, {"366", false}, {"ten", false}, {"", false}, {"-5", false}} {
		d := entitlement.Scenario{DurationDays: 90}
		errs := fieldErrors{}
		applyDuration(&d, Input{Data: map[string]string{cards.InputDurationDays: tt.days}}, errs)
		if ok := len(errs) == 0; ok != tt.ok {
			t.Errorf("days %q: errors %v", tt.days, errs)
		}
	}
	q := func(text, choices string) Input {
		return Input{Data: map[string]string{cards.InputQuestion(1): text, cards.InputQuestionChoices(1): choices}}
	}
	for _, tt := range []struct {
		in    Input
		field string
	}{
		{q("Team?", "A, B, A"), ""},
		{q("", ""), ""},
		{q("", "A, B"), cards.InputQuestion(1)},
		{q("Team?", "Only one"), cards.InputQuestionChoices(1)},
		{q(strings.Repeat("x", 501), ""), cards.InputQuestion(1)},
	} {
		d := entitlement.Scenario{}
		errs := fieldErrors{}
		applyQuestions(&d, tt.in, errs)
		if tt.field == "" && len(errs) > 0 || tt.field != "" && errs[tt.field] == "" {
			t.Errorf("%v: errors %v, want on %q", tt.in.Data, errs, tt.field)
		}
		if tt.field == "" && tt.in.Data[cards.InputQuestion(1)] == "Team?" && strings.Join(d.Questions[0].Choices, "|") != "A|B" {
			t.Errorf("choices = %v", d.Questions[0].Choices)
		}
	}
}

func TestApplyApprovalRules(t *testing.T) {
	people := map[string]entitlement.Person{"megan": {OID: "00000000-0000-0000-0000-0000000000021", DisplayName: "Megan Bowen"}}
	resolve := func(_ context.Context, e string) (entitlement.Person, string) {
		if p, ok := people[strings.ToLower(e)]; ok {
			return p, ""
		}
		return entitlement.Person{}, "unknown " + e
	}
	base := func() entitlement.Scenario { return blankDraft() }
	tests := []struct {
		name  string
		data  map[string]string
		any   bool
		needs bool
		field string
	}{
		{"defaults", map[string]string{}, false, false, ""},
		{"no approver at all", map[string]string{cards.InputSponsorApproves: "false"}, false, false, cards.InputStage1Approvers},
		{"third without second", map[string]string{cards.InputStage3Approvers: "megan"}, false, false, cards.InputStage3Approvers},
		{"unknown approver", map[string]string{cards.InputStage2Approvers: "zed"}, false, false, cards.InputStage2Approvers},
		{"auto-deny out of range", map[string]string{cards.InputAutoDenyDays: "15"}, false, false, cards.InputAutoDenyDays},
		{"template needs stage 2", map[string]string{}, false, true, cards.InputStage2Approvers},
		{"automatic approval for anyone", map[string]string{cards.InputApprovalRequired: "false"}, true, false, cards.InputApprovalRequired},
		{"automatic approval for partners", map[string]string{cards.InputApprovalRequired: "false"}, false, false, ""},
		{"second stage", map[string]string{cards.InputStage2Approvers: "Megan"}, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			d.AnyExternalUser = tt.any
			errs := fieldErrors{}
			applyApproval(context.Background(), &d, Input{Data: tt.data}, errs, tt.needs, resolve)
			if tt.field == "" && len(errs) > 0 || tt.field != "" && errs[tt.field] == "" {
				t.Fatalf("errors %v, want on %q", errs, tt.field)
			}
			if tt.field == "" && d.Approval.Required {
				if err := entitlement.ValidateScenario(withValidBasics(d)); err != nil {
					t.Fatalf("the service rejects what the step accepted: %v", err)
				}
			}
		})
	}
}

func withValidBasics(d entitlement.Scenario) entitlement.Scenario {
	d.Name, d.OwnerOID = "x", "00000000-0000-0000-0000-0000000000020"
	d.Partners = []entitlement.Partner{{Domain: "fabrikam.com"}}
	d.Resources = []entitlement.Resource{{Kind: entitlement.ResourceGroup, OriginID: "2b7e4c1d-8f3a-4e6b-9c0d-1a2b3c4d5e01", Role: entitlement.Role{OriginID: "Member_x"}}}
	return d
}

func TestTemplatesAreValidOnceCompleted(t *testing.T) {
	for _, tpl := range Templates() {
		d := withValidBasics(tpl.Draft)
		if tpl.NeedsSecondStage {
			d.Approval.Stages[1].Approvers = []entitlement.Approver{{Kind: entitlement.ApproverUser, ID: "00000000-0000-0000-0000-0000000000021"}}
		}
		if err := entitlement.ValidateScenario(d); err != nil {
			t.Errorf("template %s: %v", tpl.ID, err)
		}
		if got, ok := TemplateByID(tpl.ID); !ok || got.Name != tpl.Name {
			t.Errorf("TemplateByID(%q) = %v", tpl.ID, ok)
		}
	}
}

func TestInputForField(t *testing.T) {
	for field, want := range map[string]string{
		"name": cards.InputName, "partners[2].domain": cards.InputPartnerDomains, "resources[0].role": cards.InputResourcePick,
		"approval.stages[1].approvers[0].id": cards.InputStage2Approvers, "approval.stages[0].autoDenyAfterDays": cards.InputAutoDenyDays,
		"questions[0].choices[1]": cards.InputQuestionChoices(1), "questions[9].text": cards.ErrorKeyForm, "ownerOid": cards.ErrorKeyForm,
	} {
		if got := inputForField(field); got != want {
			t.Errorf("inputForField(%q) = %q, want %q", field, got, want)
		}
	}
}

func TestTextInput(t *testing.T) {
	tests := []struct {
		step, text, verb, field string
		ok                      bool
	}{
		{cards.StepName, "Cancel", cards.VerbWizardCancel, "", true},
		{cards.StepApproval, " start over! ", cards.VerbWizardRestart, "", true},
		{cards.StepName, "My scenario", cards.VerbWizardNext, cards.InputName, true},
		{cards.StepResources, "Project X", cards.VerbWizardSearch, cards.InputResourceQuery, true},
		{cards.StepPartners, "any external user", cards.VerbWizardNext, cards.InputAnyExternalUser, true},
		{cards.StepApproval, "Megan", "", "", false},
		{cards.StepReview, "create", cards.VerbCreateScenario, "", true},
	}
	for _, tt := range tests {
		got, ok := textInput(tt.step, Input{Source: SourceText, Text: tt.text})
		if ok != tt.ok || ok && (got.Verb != tt.verb || tt.field != "" && !got.Has(tt.field)) {
			t.Errorf("textInput(%s, %q) = %+v, %v", tt.step, tt.text, got, ok)
		}
	}
}

func TestDecodeData(t *testing.T) {
	got := decodeData(json.RawMessage(`{"verb":"wizard.next","n":5,"b":true,"nil":null,"obj":{"x":1},"arr":[1]}`))
	want := map[string]string{"verb": "wizard.next", "n": "5", "b": "true", "nil": ""}
	if len(got) != len(want) {
		t.Fatalf("decodeData = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{``, `null`, `[]`, `"x"`, `{`} {
		if m := decodeData(json.RawMessage(bad)); len(m) != 0 {
			t.Errorf("decodeData(%q) = %v", bad, m)
		}
	}
	big := `{"v":"` + strings.Repeat("é", maxValueLen+10) + `"}`
	if n := len([]rune(decodeData(json.RawMessage(big))["v"])); n != maxValueLen {
		t.Errorf("long value kept %d runes", n)
	}
}

// FuzzStepFunctions feeds arbitrary card data to every pure step function: no input may panic.
func FuzzStepFunctions(f *testing.F) {
	f.Add(`{"partnerDomains":"fabrikam.com","durationDays":"30","question1":"q","question1Choices":"a,b"}`)
	f.Add(`{"resourcePick":"0.0,1.99,x.y","index":"-1"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		in := Input{Data: decodeData(json.RawMessage(raw))}
		d := blankDraft()
		errs := fieldErrors{}
		applyName(&d, in, errs)
		applyPartners(&d, in, errs)
		applyDuration(&d, in, errs)
		applyQuestions(&d, in, errs)
		applyApproval(context.Background(), &d, in, errs, true, func(context.Context, string) (entitlement.Person, string) {
			return entitlement.Person{}, "no"
		})
		st := &wizardState{Draft: d, Search: &cards.ResourceSearch{Results: []cards.ResourceOption{{Roles: []entitlement.Role{{OriginID: "r"}}}}}}
		addResources(st, in.Value(cards.InputResourcePick), fieldErrors{})
		removeResource(st, in.Value(cards.KeyIndex))
		if _, err := st.render(cards.StepReview); err != nil {
			t.Fatal(err)
		}
	})
}
