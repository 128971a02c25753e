package entitlement_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"guestpass/internal/entitlement"
	"guestpass/internal/sandbox"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidateScenario(t *testing.T) {
	valid := fabrikamScenario()
	if err := entitlement.ValidateScenario(valid); err != nil {
		t.Fatalf("valid scenario rejected: %v", err)
	}
	tests := []struct {
		name  string
		mod   func(*entitlement.Scenario)
		field string
	}{
		{"empty name", func(s *entitlement.Scenario) { s.Name = "" }, "name"},
		{"padded name", func(s *entitlement.Scenario) { s.Name = " x " }, "name"},
		{"long name", func(s *entitlement.Scenario) { s.Name = strings.Repeat("é", 257) }, "name"},
		{"control characters", func(s *entitlement.Scenario) { s.Name = "a\x07b" }, "name"},
		{"invalid utf-8", func(s *entitlement.Scenario) { s.Description = "\xff" }, "description"},
		{"long description", func(s *entitlement.Scenario) { s.Description = strings.Repeat("d", 1025) }, "description"},
		{"owner not an id", func(s *entitlement.Scenario) { s.OwnerOID = "alex@example.com" }, "ownerOid"},
		{"co-owner not an id", func(s *entitlement.Scenario) { s.CoOwnerOIDs = []string{"x'"} }, "coOwnerOids[0]"},
		{"no partner", func(s *entitlement.Scenario) { s.Partners = nil }, "partners"},
		{"partner and any", func(s *entitlement.Scenario) { s.AnyExternalUser = true }, "partners"},
		{"bad domain", func(s *entitlement.Scenario) { s.Partners[0].Domain = "fabrikam" }, "partners[0].domain"},
		{"upper-case domain", func(s *entitlement.Scenario) { s.Partners[0].Domain = "Fabrikam.com" }, "partners[0].domain"},
		{"quote in domain", func(s *entitlement.Scenario) { s.Partners[0].Domain = "fab'rikam.com" }, "partners[0].domain"},
		{"bad tenant", func(s *entitlement.Scenario) { s.Partners[0].TenantID = "contoso" }, "partners[0].tenantId"},
		{"empty partner", func(s *entitlement.Scenario) { s.Partners[0] = entitlement.Partner{} }, "partners[0]"},
		{"duplicate partner", func(s *entitlement.Scenario) { s.Partners = append(s.Partners, s.Partners[0]) }, "partners[1]"},
		{"no resource", func(s *entitlement.Scenario) { s.Resources = nil }, "resources"},
		{"bad group id", func(s *entitlement.Scenario) { s.Resources[0].OriginID = "group" }, "resources[0].originId"},
		{"site not https", func(s *entitlement.Scenario) {
			s.Resources[0] = entitlement.Resource{Kind: entitlement.ResourceSite, OriginID: "http://x.sharepoint.com/sites/a", Role: entitlement.Role{OriginID: "4"}}
		}, "resources[0].originId"},
		{"unknown kind", func(s *entitlement.Scenario) { s.Resources[0].Kind = "mailbox" }, "resources[0].kind"},
		{"no role", func(s *entitlement.Scenario) { s.Resources[0].Role.OriginID = "" }, "resources[0].role"},
		{"duration 0", func(s *entitlement.Scenario) { s.DurationDays = 0 }, "durationDays"},
		{"duration 366", func(s *entitlement.Scenario) { s.DurationDays = 366 }, "durationDays"},
		{"no stages", func(s *entitlement.Scenario) { s.Approval.Stages = nil }, "approval.stages"},
		{"four stages", func(s *entitlement.Scenario) {
			s.Approval.Stages = append(s.Approval.Stages, s.Approval.Stages[0], s.Approval.Stages[0])
		}, "approval.stages"},
		{"stages without approval", func(s *entitlement.Scenario) { s.Approval.Required = false }, "approval.stages"},
		{"auto-deny 0", func(s *entitlement.Scenario) { s.Approval.Stages[0].AutoDenyAfterDays = 0 }, "approval.stages[0].autoDenyAfterDays"},
		{"auto-deny 15", func(s *entitlement.Scenario) { s.Approval.Stages[0].AutoDenyAfterDays = 15 }, "approval.stages[0].autoDenyAfterDays"},
		{"stage without approvers", func(s *entitlement.Scenario) { s.Approval.Stages[1].Approvers = nil }, "approval.stages[1].approvers"},
		{"user approver without id", func(s *entitlement.Scenario) {
			s.Approval.Stages[0].Approvers = []entitlement.Approver{{Kind: entitlement.ApproverUser}}
		}, "approval.stages[0].approvers[0].id"},
		{"manager for guests", func(s *entitlement.Scenario) {
			s.Approval.Stages[0].Approvers = []entitlement.Approver{{Kind: entitlement.ApproverRequestorManager}}
		}, "approval.stages[0].approvers[0]"},
		{"sponsors for any external user", func(s *entitlement.Scenario) {
			s.Partners, s.AnyExternalUser = nil, true
		}, "approval.stages[1].approvers[0]"},
		{"escalation not before auto-deny", func(s *entitlement.Scenario) {
			s.Approval.Stages[0].EscalationApprovers = []entitlement.Approver{{Kind: entitlement.ApproverSponsor}}
			s.Approval.Stages[0].EscalationAfterDays = 7
		}, "approval.stages[0].escalationAfterDays"},
		{"escalation without approvers", func(s *entitlement.Scenario) { s.Approval.Stages[0].EscalationAfterDays = 2 }, "approval.stages[0].escalationApprovers"},
		{"empty question", func(s *entitlement.Scenario) { s.Questions[0].Text = " " }, "questions[0].text"},
		{"long question", func(s *entitlement.Scenario) { s.Questions[0].Text = strings.Repeat("q", 501) }, "questions[0].text"},
		{"one choice", func(s *entitlement.Scenario) { s.Questions[1].Choices = []string{"only"} }, "questions[1].choices"},
		{"duplicate choice", func(s *entitlement.Scenario) { s.Questions[1].Choices = []string{"a", "a"} }, "questions[1].choices[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := fabrikamScenario()
			sc.Partners = append([]entitlement.Partner(nil), sc.Partners...)
			sc.Resources = append([]entitlement.Resource(nil), sc.Resources...)
			sc.Approval.Stages = append([]entitlement.Stage(nil), sc.Approval.Stages...)
			sc.Questions = append([]entitlement.Question(nil), sc.Questions...)
			tt.mod(&sc)
			err := entitlement.ValidateScenario(sc)
			var ve entitlement.ValidationErrors
			if !errors.As(err, &ve) || !errors.Is(err, entitlement.ErrInvalid) {
				t.Fatalf("err = %v, want ValidationErrors", err)
			}
			var fields []string
			for _, v := range ve {
				fields = append(fields, v.Field)
				if v.Message == "" {
					t.Errorf("%s has no message", v.Field)
				}
			}
			found := false
			for _, f := range fields {
				found = found || f == tt.field
			}
			if !found {
				t.Errorf("fields %v, want %s", fields, tt.field)
			}
		})
	}
}

func TestInvalidScenarioMakesNoGraphCall(t *testing.T) {
	e := newEnv(t)
	sc := fabrikamScenario()
	sc.DurationDays = 0
	if _, err := e.svc.CreateScenario(context.Background(), sc); !errors.Is(err, entitlement.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if e.counter.Total() != 0 {
		t.Errorf("%d Graph calls for an invalid scenario", e.counter.Total())
	}
}

func TestValidHelpers(t *testing.T) {
	for id, want := range map[string]bool{
		"6a1f0b2c-3d4e-4f50-8a61-7b8c9d0e1f21": true,
		sandbox.UserAlex:                       true, // the Playground's 13-digit last group
		sandbox.BotAppID:                       true,
		"6a1f0b2c-3d4e-4f50-8a61":              false,
		"6a1f0b2c-3d4e-4f50-8a61-7b8c9d0e1f2'": false,
		"":                                     false,
	} {
		if entitlement.ValidObjectID(id) != want {
			t.Errorf("ValidObjectID(%q) != %v", id, want)
		}
	}
	for in, want := range map[string]string{
		"a@Contoso.COM":     "a@contoso.com",
		"First.Last@x.io":   "First.Last@x.io",
		"no-at":             "",
		"a@b":               "",
		"A <a@b.com>":       "",
		"a@b.com\r\nBcc: c": "",
	} {
		got, err := entitlement.NormalizeEmail(in)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
}

// FuzzValidateScenario checks validation never panics on arbitrary JSON.
func FuzzValidateScenario(f *testing.F) {
	f.Add(`{"name":"x","durationDays":5}`)
	f.Add(`{"partners":[{}],"resources":[{"kind":"site","originId":"::"}],"approval":{"required":true,"stages":[{}]}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var sc entitlement.Scenario
		if json.Unmarshal([]byte(s), &sc) != nil {
			return
		}
		_ = entitlement.ValidateScenario(sc)
	})
}
