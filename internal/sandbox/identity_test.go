package sandbox_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"

	"guestpass/internal/sandbox"
)

func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatalf("parse token: %v", err)
	}
	return c
}

func TestClientSecretCredentialGetsAppToken(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	c := claimsOf(t, token(t, appCredential(t, sb)))
	for k, want := range map[string]string{
		"idtyp": "app", "tid": sandbox.TenantID, "oid": sandbox.BotServicePrincipalID, "appid": sandbox.BotAppID,
		"aud": "https://graph.microsoft.com", "iss": sb.BaseURL() + "/" + sandbox.TenantID + "/v2.0",
	} {
		if c[k] != want {
			t.Errorf("claim %s = %v, want %s", k, c[k], want)
		}
	}
	roles, _ := c["roles"].([]any)
	if !slices.Contains(roles, any("EntitlementManagement.ReadWrite.All")) {
		t.Errorf("roles = %v, want EntitlementManagement.ReadWrite.All", roles)
	}
	if _, ok := c["scp"]; ok {
		t.Error("app token must not carry scp")
	}
}

func TestClientSecretCredentialWrongSecretFails(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	cred, err := azidentity.NewClientSecretCredential(sb.TenantID(), sb.AppCredentials().ClientID, "wrong",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(sb), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graphScope}})
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || authErr.RawResponse == nil || authErr.RawResponse.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("GetToken with a wrong secret: %v, want 401 AADSTS7000215", err)
	}
}

func TestSetAppRolesChangesRolesClaim(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	sb.SetAppRoles([]string{"User.Read.All"})
	roles, _ := claimsOf(t, token(t, appCredential(t, sb)))["roles"].([]any)
	if len(roles) != 1 || roles[0] != "User.Read.All" {
		t.Fatalf("roles = %v, want [User.Read.All]", roles)
	}
	app := newAPI(t, sb, token(t, appCredential(t, sb)))
	r := app.do("POST", "/identityGovernance/entitlementManagement/catalogs", map[string]any{"displayName": "x"})
	if r.status != http.StatusForbidden || errCode(r) != "Authorization_RequestDenied" {
		t.Fatalf("create catalog without EntitlementManagement.ReadWrite.All: %d %s", r.status, r.raw)
	}
}

func TestOnBehalfOfCredentialGetsDelegatedToken(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	c := claimsOf(t, token(t, oboCredential(t, sb, sandbox.UserMegan)))
	if c["oid"] != sandbox.UserMegan || c["idtyp"] != "user" || c["tid"] != sandbox.TenantID || c["preferred_username"] != "meganb@example.com" {
		t.Errorf("claims = %v", c)
	}
	if scp, _ := c["scp"].(string); !strings.Contains(scp, "EntitlementManagement.ReadWrite.All") {
		t.Errorf("scp = %q", scp)
	}
	if _, ok := c["roles"]; ok {
		t.Error("delegated token must not carry roles")
	}
}

// oboForm posts an on-behalf-of request by hand to check Entra's error shape.
func oboForm(t *testing.T, sb *sandbox.Sandbox, assertion, scope string) resp {
	t.Helper()
	creds := sb.AppCredentials()
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}, "assertion": {assertion}, "scope": {scope},
	}
	res, err := sb.HTTPClient().PostForm(sb.BaseURL()+"/"+sandbox.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := resp{status: res.StatusCode, header: res.Header}
	if err := jsonDecode(res, &out.body); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOnBehalfOfRejections(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	sso, err := sb.MintSSOToken(sandbox.UserAlex)
	if err != nil {
		t.Fatal(err)
	}
	appTok := token(t, appCredential(t, sb)) // audience Graph, not the bot: not a valid assertion
	other := newSandbox(t, sandbox.Options{})
	foreign, _ := other.MintSSOToken(sandbox.UserAlex) // signed by another key
	tests := []struct {
		name, assertion, scope string
		wantCode               string
		wantAADSTS             string
	}{
		{"ok", sso, graphScope, "", ""},
		{"wrong audience", appTok, graphScope, "invalid_grant", "AADSTS50013"},
		{"foreign signer", foreign, graphScope, "invalid_grant", "AADSTS50013"},
		{"malformed", "not-a-jwt", graphScope, "invalid_request", "AADSTS50027"},
		{"scope not consented", sso, "https://graph.microsoft.com/Directory.ReadWrite.All", "invalid_grant", "AADSTS65001"},
		{"not graph", sso, "https://management.azure.com/.default", "invalid_scope", "AADSTS70011"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := oboForm(t, sb, tc.assertion, tc.scope)
			if tc.wantCode == "" {
				if r.status != 200 || r.body["access_token"] == nil || r.body["token_type"] != "Bearer" {
					t.Fatalf("status %d body %v", r.status, r.body)
				}
				return
			}
			desc, _ := r.body["error_description"].(string)
			codes, _ := r.body["error_codes"].([]any)
			if r.status != 400 || r.body["error"] != tc.wantCode || !strings.HasPrefix(desc, tc.wantAADSTS+":") || len(codes) != 1 {
				t.Fatalf("status %d body %v, want 400 %s %s", r.status, r.body, tc.wantCode, tc.wantAADSTS)
			}
		})
	}
}

func TestMintSSOTokenUnknownUser(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	if _, err := sb.MintSSOToken("nobody"); !errors.Is(err, sandbox.ErrUnknownUser) {
		t.Fatalf("err = %v, want ErrUnknownUser", err)
	}
}

// TestSSOTokenVerifiesWithPublishedKeys validates a minted Teams SSO token the way the bot does:
// issuer and keys from the tenant's OpenID metadata.
func TestSSOTokenVerifiesWithPublishedKeys(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	a := newAPI(t, sb, "")
	meta := a.must(200, "GET", "!/"+sandbox.TenantID+"/v2.0/.well-known/openid-configuration", nil)
	for _, k := range []string{"issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"} {
		if s, _ := meta[k].(string); !strings.HasPrefix(s, sb.BaseURL()+"/") {
			t.Fatalf("%s = %v", k, meta[k])
		}
	}
	keys := a.must(200, "GET", meta["jwks_uri"].(string), nil)["keys"].([]any)
	jwk := keys[0].(map[string]any)
	n, _ := base64.RawURLEncoding.DecodeString(jwk["n"].(string))
	e, _ := base64.RawURLEncoding.DecodeString(jwk["e"].(string))
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}

	sso, err := sb.MintSSOToken(sandbox.UserMegan)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(sso, claims, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != jwk["kid"] {
			return nil, errors.New("kid mismatch")
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(meta["issuer"].(string)),
		jwt.WithAudience("api://botid-"+sandbox.BotAppID), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid {
		t.Fatalf("verify SSO token: %v", err)
	}
	if claims["oid"] != sandbox.UserMegan || claims["tid"] != sandbox.TenantID || claims["scp"] != "access_as_user" {
		t.Fatalf("claims = %v", claims)
	}
	// The token endpoint accepts the Playground's non-GUID tenant id in the path and rejects others.
	r := a.do("GET", "!/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", nil)
	if r.status != 400 || r.body["error"] != "invalid_tenant" {
		t.Fatalf("unknown tenant: %d %v", r.status, r.body)
	}
	if exp, _ := claims.GetExpirationTime(); exp == nil || time.Until(exp.Time) < 50*time.Minute {
		t.Fatalf("exp = %v", exp)
	}
}

func TestClientAssertionCredential(t *testing.T) {
	cert, key := selfSignedRSA(t)
	sb := newSandbox(t, sandbox.Options{ClientCertificates: []*x509.Certificate{cert}})
	cred, err := azidentity.NewClientCertificateCredential(sb.TenantID(), sb.AppCredentials().ClientID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(sb), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, token(t, cred)); c["idtyp"] != "app" {
		t.Fatalf("claims = %v", c)
	}
	other, otherKey := selfSignedRSA(t)
	bad, _ := azidentity.NewClientCertificateCredential(sb.TenantID(), sb.AppCredentials().ClientID, []*x509.Certificate{other}, otherKey,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(sb), DisableInstanceDiscovery: true})
	if _, err := bad.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{graphScope}}); err == nil ||
		!strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("unregistered certificate: %v, want AADSTS700027", err)
	}
}
