package sandbox

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var filterSubject = map[string]any{
	"id":          "r1",
	"displayName": "O'Brien & Ünïcode",
	"state":       "pendingApproval",
	"count":       float64(3),
	"isHidden":    false,
	"mail":        nil,
	"schedule":    map[string]any{"expiration": map[string]any{"endDateTime": "2026-12-01T00:00:00Z"}},
	"accessPackage": map[string]any{
		"id": "ap1",
	},
	"identitySources": []any{
		map[string]any{"@odata.type": "#microsoft.graph.azureActiveDirectoryTenant", "tenantId": "t1"},
		map[string]any{"@odata.type": "#microsoft.graph.domainIdentitySource", "domainName": "fabrikam.com"},
	},
	"resourceProvisioningOptions": []any{"Team"},
}

func TestFilterEvaluation(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"state eq 'pendingApproval'", true},
		{"State eq 'PENDINGAPPROVAL'", true},
		{"state ne 'pendingApproval'", false},
		{"displayName eq 'O''Brien & Ünïcode'", true},
		{"displayName eq 'O''Brien'", false},
		{"startswith(displayName,'o''b')", true},
		{"contains(displayName,'ÜNÏ')", true},
		{"endswith(displayName,'code')", true},
		{"contains(tolower(displayName),'brien')", true},
		{"accessPackage/id eq 'ap1' and state eq 'pendingApproval'", true},
		{"accessPackage/id eq 'ap2' or state eq 'delivered'", false},
		{"not (state eq 'delivered')", true},
		{"mail eq null", true},
		{"mail ne null", false},
		{"missing eq null", true},
		{"isHidden eq false", true},
		{"count gt 2 and count le 3", true},
		{"count lt 3", false},
		{"schedule/expiration/endDateTime le 2026-12-02T00:00:00Z", true},
		{"schedule/expiration/endDateTime gt 2026-12-02T00:00:00Z", false},
		{"id in ('r0','r1')", true},
		{"id in ('r0')", false},
		{"identitySources/any(is:is/microsoft.graph.azureActiveDirectoryTenant/tenantId eq 't1')", true},
		{"identitySources/any(is:is/microsoft.graph.domainIdentitySource/tenantId eq 't1')", false},
		{"identitySources/any(is:is/microsoft.graph.domainIdentitySource/domainName eq 'fabrikam.com')", true},
		{"identitySources/all(is:is/tenantId eq 't1')", false},
		{"resourceProvisioningOptions/Any(x:x eq 'Team')", true},
		{"resourceProvisioningOptions/any(x:x eq 'Other')", false},
		{"(state eq 'x' or state eq 'pendingApproval') and (count eq 3)", true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := parseFilter(tc.expr)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := f.match(filterSubject); got != tc.want {
				t.Fatalf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterRejects(t *testing.T) {
	for _, expr := range []string{
		"",
		"state",
		"state eq",
		"eq 'x'",
		"state eq 'unterminated",
		"state eq 'x' and",
		"state eq 'x' xor id eq 'y'",
		"length(displayName) eq 3",
		"startswith(displayName)",
		"(state eq 'x'",
		"state eq 'x')",
		"displayName and state eq 'x'",
		"id in 'x'",
		"id in (state)",
		"identitySources/any(is:)",
		"identitySources/any(: x eq 'y')",
		"a//b eq 'x'",
		"state eq 'x' ; drop",
		"state eq 12abc",
		strings.Repeat("(", 40) + "state eq 'x'" + strings.Repeat(")", 40),
		strings.Repeat("not ", 40) + "state eq 'x'",
		strings.Repeat("a", maxFilterLen+1),
		"state eq '\xff'",
	} {
		t.Run(expr, func(t *testing.T) {
			_, err := parseFilter(expr)
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("parseFilter(%q) error = %v, want a filterError", expr, err)
			}
		})
	}
}

func TestISODurations(t *testing.T) {
	base := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"P14D", base.AddDate(0, 0, 14), true},
		{"PT12H", base.Add(12 * time.Hour), true},
		{"P1DT2H30M", base.AddDate(0, 0, 1).Add(150 * time.Minute), true},
		{"P2W", base.AddDate(0, 0, 14), true},
		{"P1Y", base.AddDate(1, 0, 0), true},
		{"P", time.Time{}, false},
		{"PT", time.Time{}, false},
		{"14D", time.Time{}, false},
		{"P1DT", time.Time{}, false},
		{"P-1D", time.Time{}, false},
		{"P999999999D", time.Time{}, false},
	}
	for _, tc := range tests {
		got, err := addISODuration(base, tc.in)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("addISODuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseExpand(t *testing.T) {
	ex, err := parseExpand("resourceRoleScopes($expand=role($expand=resource),scope;$select=id),assignmentPolicies", 0)
	if err != nil {
		t.Fatal(err)
	}
	rrs, ok := ex["resourcerolescopes"]
	if !ok || len(ex) != 2 || rrs.expand["role"] == nil || rrs.expand["role"].expand["resource"] == nil ||
		rrs.expand["scope"] == nil || len(rrs.selct) != 1 {
		t.Fatalf("parsed = %+v", ex)
	}
	for _, bad := range []string{"a(", "a($top=1)", "a(b)", "=x", "a($expand=" + strings.Repeat("b($expand=", 6) + "c" + strings.Repeat(")", 7)} {
		if _, err := parseExpand(bad, 0); err == nil {
			t.Errorf("parseExpand(%q) accepted", bad)
		}
	}
}

// FuzzFilter checks that arbitrary filters never panic, that parse errors are filterErrors, and
// that evaluation of whatever parses is total.
func FuzzFilter(f *testing.F) {
	for _, seed := range []string{
		"state eq 'pendingApproval'",
		"accessPackage/id eq 'x' and startswith(displayName,'a''b')",
		"identitySources/any(is:is/microsoft.graph.azureActiveDirectoryTenant/tenantId eq 't')",
		"not (a eq null) or b in ('1','2')",
		"schedule/expiration/endDateTime le 2026-01-01T00:00:00Z and count gt -1.5",
		"x/any(a:a/any(b:b eq a))",
		"contains(tolower(displayName),toupper('q'))",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := parseFilter(expr)
		if err != nil {
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("non-filterError %T: %v", err, err)
			}
			return
		}
		_ = flt.match(filterSubject)
		_ = flt.match(map[string]any{})
	})
}
