package sso

import (
	"net/url"
	"strings"
)

// Feature names what a user signs into from a card, and so which delegated Microsoft Graph
// permissions the consent fallback asks for.
type Feature string

// Features with delegated actions.
const (
	// FeatureApprovals: approving or denying a request.
	FeatureApprovals Feature = "approvals"
	// FeatureOnboarding: a sponsor's invitations, extension links, extensions and removals.
	FeatureOnboarding Feature = "onboarding"
	// FeatureAdmin: adding and removing connected organizations.
	FeatureAdmin Feature = "admin"
)

// Permissions are the delegated Graph permissions feature f needs, as docs/permissions.md lists
// them, for its consent fallback page.
//
// Why per feature and not one union: a consent page that lists a permission needing admin
// consent which the tenant has not granted stops a non-admin user at "Need admin approval",
// whatever else it asks. A union would therefore lock approvers out of the fallback in any
// tenant that, as the permissions guide allows, left out a permission of a feature it does not
// use. Each page asks for what its feature's actions use and nothing more:
//
//   - approvals and admin: EntitlementManagement.ReadWrite.All (admin consent, granted for every
//     deployment because approvals depend on it);
//   - onboarding: that plus Mail.Send (user-consentable: the one permission this page can
//     actually obtain from a sponsor, so it must be listed).
//
// User.Invite.All (B2B invitations, where a scenario opts in) is deliberately not requested,
// although onboarding's B2B invitations use it: it needs admin consent, which a sponsor's consent
// page cannot give, and tenants without B2B scenarios are told to leave it out, so asking would
// only block the page for every other onboarding action. A B2B invitation Entra refuses for want
// of it is reported by the invitation itself.
func Permissions(f Feature) []string {
	switch f {
	case FeatureOnboarding:
		return []string{"EntitlementManagement.ReadWrite.All", "Mail.Send"}
	default:
		return []string{"EntitlementManagement.ReadWrite.All"}
	}
}

// ConsentURLFor is the fallback sign-in target of a loginRequest when SSO cannot be used (consent
// missing, a claims challenge): the authority's authorize endpoint for the SSO app with a consent
// prompt for Permissions(f) on the Graph at graphBaseURL (empty: the public cloud's). After the
// user consents there, Teams' silent SSO succeeds and the same click goes through. redirectURL
// must be a reply URL of the SSO app registration.
func ConsentURLFor(authorityHost, tenantID, ssoAppID, redirectURL, graphBaseURL string, f Feature) string {
	authority := strings.TrimRight(strings.TrimSpace(authorityHost), "/")
	if authority == "" {
		authority = publicAuthority
	}
	if strings.TrimSpace(graphBaseURL) == "" {
		graphBaseURL = "https://graph.microsoft.com/v1.0"
	}
	// Delegated permissions are named on the resource: https://graph.microsoft.us/Mail.Send.
	resource := strings.TrimSuffix(GraphScope(graphBaseURL), ".default")
	scopes := []string{"openid", "profile"}
	for _, p := range Permissions(f) {
		scopes = append(scopes, resource+p)
	}
	q := url.Values{}
	q.Set("client_id", ssoAppID)
	q.Set("response_type", "code")
	q.Set("redirect_uri", redirectURL)
	q.Set("response_mode", "query")
	q.Set("scope", strings.Join(scopes, " "))
	q.Set("prompt", "consent")
	return authority + "/" + url.PathEscape(tenantID) + "/oauth2/v2.0/authorize?" + q.Encode()
}
