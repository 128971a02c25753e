package sso_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"guestpass/internal/sso"
)

// TestConsentURLAsksForTheFeaturesPermissions: each feature's fallback page asks for the
// delegated permissions its actions use, on the deployment's Graph, and no more.
func TestConsentURLAsksForTheFeaturesPermissions(t *testing.T) {
	const gov = "https://graph.microsoft.us/v1.0"
	tests := []struct {
		name    string
		graph   string
		feature sso.Feature
		want    []string
	}{
		{"approvals", "", sso.FeatureApprovals, []string{"openid", "profile", "https://graph.microsoft.com/EntitlementManagement.ReadWrite.All"}},
		{"admin", "https://graph.microsoft.com/v1.0", sso.FeatureAdmin, []string{"openid", "profile", "https://graph.microsoft.com/EntitlementManagement.ReadWrite.All"}},
		{"onboarding sends mail", "", sso.FeatureOnboarding,
			[]string{"openid", "profile", "https://graph.microsoft.com/EntitlementManagement.ReadWrite.All", "https://graph.microsoft.com/Mail.Send"}},
		{"national cloud", gov, sso.FeatureOnboarding,
			[]string{"openid", "profile", "https://graph.microsoft.us/EntitlementManagement.ReadWrite.All", "https://graph.microsoft.us/Mail.Send"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := sso.ConsentURLFor("https://login.microsoftonline.com/", "tenant-1", "app-1", "https://bot.example/auth/end", tt.graph, tt.feature)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Fields(u.Query().Get("scope")); !slices.Equal(got, tt.want) {
				t.Errorf("scope = %v, want %v", got, tt.want)
			}
			if u.Query().Get("client_id") != "app-1" || u.Query().Get("prompt") != "consent" || u.Path != "/tenant-1/oauth2/v2.0/authorize" {
				t.Errorf("URL = %s", raw)
			}
			// User.Invite.All needs admin consent a sponsor cannot give; asking for it would block
			// the page in tenants without B2B scenarios (see sso.Permissions).
			if strings.Contains(raw, "User.Invite.All") {
				t.Errorf("asks for User.Invite.All: %s", raw)
			}
		})
	}
	if got, want := sso.ConsentURL("", "t", "a", "r"), sso.ConsentURLFor("", "t", "a", "r", "", sso.FeatureApprovals); got != want {
		t.Errorf("ConsentURL = %s, want the approvals page %s", got, want)
	}
}
