package sso_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/golang-jwt/jwt/v5"

	"guestpass/internal/credentials"
	"guestpass/internal/sandbox"
	"guestpass/internal/sso"
)

const (
	tenant = "11111111-2222-4333-8444-555555555555"
	user   = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)

func newValidator(t *testing.T, f *fakeEntra, now func() time.Time) *sso.Validator {
	t.Helper()
	v, err := sso.NewValidator(sso.Config{
		AuthorityHost: f.srv.URL + "/",
		Audiences:     []string{"api://botid-bot-app", "bot-app"},
		HTTPClient:    f.srv.Client(),
		Now:           now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidate(t *testing.T) {
	f := newFakeEntra(t)
	v := newValidator(t, f, nil)
	ctx := context.Background()
	valid := f.sign(t, f.claims(tenant, user))
	edited := func(edit func(jwt.MapClaims)) string {
		c := f.claims(tenant, user)
		edit(c)
		return f.sign(t, c)
	}

	tests := []struct {
		name    string
		token   string
		tenant  string
		user    string
		wantErr error
	}{
		{"valid v2 token", valid, tenant, user, nil},
		{"object ids compare case-insensitively", valid, strings.ToUpper(tenant), strings.ToUpper(user), nil},
		{"app id audience", edited(func(c jwt.MapClaims) { c["aud"] = "bot-app" }), tenant, user, nil},
		{"expired", edited(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), tenant, user, sso.ErrExpired},
		{"other user", valid, tenant, "ffffffff-0000-4000-8000-000000000000", sso.ErrWrongUser},
		{"other tenant", f.sign(t, f.claims("99999999-2222-4333-8444-555555555555", user)), tenant, user, sso.ErrWrongUser},
		{"activity without user", valid, tenant, "", sso.ErrWrongUser},
		{"wrong audience", edited(func(c jwt.MapClaims) { c["aud"] = "api://botid-someone-else" }), tenant, user, sso.ErrInvalidToken},
		{"foreign issuer", edited(func(c jwt.MapClaims) { c["iss"] = "https://evil.example/" + tenant + "/v2.0" }), tenant, user, sso.ErrInvalidToken},
		{"v1 issuer outside the public cloud", edited(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/" + tenant + "/" }), tenant, user, sso.ErrInvalidToken},
		{"app-only token", edited(func(c jwt.MapClaims) { delete(c, "scp"); c["idtyp"] = "app"; c["roles"] = []string{"x"} }), tenant, user, sso.ErrInvalidToken},
		{"no oid", edited(func(c jwt.MapClaims) { delete(c, "oid") }), tenant, user, sso.ErrInvalidToken},
		{"no exp", edited(func(c jwt.MapClaims) { delete(c, "exp") }), tenant, user, sso.ErrInvalidToken},
		{"tampered payload", tamper(t, valid, func(c jwt.MapClaims) { c["oid"] = "ffffffff-0000-4000-8000-000000000000" }), tenant, "ffffffff-0000-4000-8000-000000000000", sso.ErrInvalidToken},
		{"unpublished key", f.signUnpublished(t, f.claims(tenant, user)), tenant, user, sso.ErrInvalidToken},
		{"not a JWT", "not-a-token", tenant, user, sso.ErrInvalidToken},
		{"empty", "", tenant, user, sso.ErrInvalidToken},
		{"alg none", jwtNone(t, f.claims(tenant, user)), tenant, user, sso.ErrInvalidToken},
		{"huge", strings.Repeat("a", 20000) + ".b.c", tenant, user, sso.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Validate(ctx, tt.token, tt.tenant, tt.user)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if !strings.EqualFold(id.OID, user) || !strings.EqualFold(id.TenantID, tenant) || id.Name != "Megan Bowen" {
					t.Fatalf("identity = %+v", id)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate error = %v, want %v", err, tt.wantErr)
			}
			if tt.token != "" && len(tt.token) > 40 && strings.Contains(err.Error(), tt.token[:40]) {
				t.Fatal("error message contains the token")
			}
		})
	}
}

func jwtNone(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidateV1IssuerInPublicCloudOnly(t *testing.T) {
	// In the public cloud the v1 issuer is sts.windows.net; the keys still come from the
	// authority, which this test cannot serve as login.microsoftonline.com, so it checks that the
	// validator was built to accept it by rejecting everything else first.
	if _, err := sso.NewValidator(sso.Config{Audiences: []string{"a"}}); err != nil {
		t.Fatalf("public-cloud validator: %v", err)
	}
	for _, bad := range []string{"http://login.example", "ftp://x", "https://", "https://x?y=1"} {
		if _, err := sso.NewValidator(sso.Config{AuthorityHost: bad, Audiences: []string{"a"}}); err == nil {
			t.Errorf("authority %q accepted", bad)
		}
	}
	if _, err := sso.NewValidator(sso.Config{Audiences: []string{" "}}); err == nil {
		t.Error("validator without audience accepted")
	}
}

func TestKeyRotationAndRateLimit(t *testing.T) {
	f := newFakeEntra(t)
	now := time.Now()
	clock := func() time.Time { return now }
	v := newValidator(t, f, clock)
	ctx := context.Background()
	if _, err := v.Validate(ctx, f.sign(t, f.claims(tenant, user)), tenant, user); err != nil {
		t.Fatal(err)
	}
	if got := f.jwksFetches.Load(); got != 1 {
		t.Fatalf("JWKS fetches after first token = %d, want 1", got)
	}
	// Unknown kids within the rate limit do not refetch.
	for range 5 {
		if _, err := v.Validate(ctx, f.signUnpublished(t, f.claims(tenant, user)), tenant, user); !errors.Is(err, sso.ErrInvalidToken) {
			t.Fatalf("unpublished key: %v", err)
		}
	}
	if got := f.jwksFetches.Load(); got != 1 {
		t.Fatalf("JWKS fetches after forged kids = %d, want 1", got)
	}
	// After the rate-limit interval a rotated key is picked up with one fetch.
	f.rotate(t)
	now = now.Add(sso.DefaultMinRefetch)
	if _, err := v.Validate(ctx, f.sign(t, f.claims(tenant, user)), tenant, user); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if got := f.jwksFetches.Load(); got != 2 {
		t.Fatalf("JWKS fetches after rotation = %d, want 2", got)
	}
}

func TestConcurrentValidationSharesOneFetch(t *testing.T) {
	f := newFakeEntra(t)
	v := newValidator(t, f, nil)
	tok := f.sign(t, f.claims(tenant, user))
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			_, err := v.Validate(context.Background(), tok, tenant, user)
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := f.jwksFetches.Load(); got != 1 {
		t.Fatalf("JWKS fetches = %d, want 1", got)
	}
}

func TestKeysUnavailable(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	f := newFakeEntra(t)
	v, err := sso.NewValidator(sso.Config{AuthorityHost: srv.URL, Audiences: []string{"api://botid-bot-app"}, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	c := f.claims(tenant, user)
	c["iss"] = srv.URL + "/" + tenant + "/v2.0"
	if _, err := v.Validate(context.Background(), f.sign(t, c), tenant, user); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
}

func newExchanger(t *testing.T, f *fakeEntra) *sso.Exchanger {
	t.Helper()
	fac, err := credentials.NewOnBehalfOfFactory(credentials.Config{
		AppID: "bot-app", ClientSecret: "secret", AuthorityHost: f.srv.URL + "/", HTTPClient: f.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	x, err := sso.NewExchanger(fac, "https://graph.microsoft.com/.default")
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestExchangeClassifiesEntraErrors(t *testing.T) {
	entraErr := func(code string, aadsts int, extra map[string]any) map[string]any {
		m := map[string]any{"error": code, "error_description": fmt.Sprintf("AADSTS%d: something", aadsts), "error_codes": []int{aadsts}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		status  int
		body    any
		wantErr error
	}{
		{"success", http.StatusOK, nil, nil},
		{"consent missing", http.StatusBadRequest, entraErr("invalid_grant", 65001, nil), sso.ErrConsentRequired},
		{"interaction required", http.StatusBadRequest, entraErr("interaction_required", 50076, nil), sso.ErrConsentRequired},
		{"claims challenge", http.StatusBadRequest, entraErr("interaction_required", 50079, map[string]any{"claims": `{"access_token":{"capolids":{"essential":true,"values":["x"]}}}`}), sso.ErrConsentRequired},
		{"assertion expired", http.StatusBadRequest, entraErr("invalid_grant", 500133, nil), sso.ErrExpired},
		{"bad assertion", http.StatusBadRequest, entraErr("invalid_grant", 50013, nil), sso.ErrInvalidToken},
		{"bot credential wrong", http.StatusUnauthorized, entraErr("invalid_client", 7000215, nil), sso.ErrUnavailable},
		{"entra down", http.StatusServiceUnavailable, entraErr("temporarily_unavailable", 90033, nil), sso.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t)
			if tt.body != nil {
				f.setTokenResponse(tt.status, tt.body)
			}
			x := newExchanger(t, f)
			v := newValidator(t, f, nil)
			tok := f.sign(t, f.claims(tenant, user))
			id, err := v.Validate(context.Background(), tok, tenant, user)
			if err != nil {
				t.Fatal(err)
			}
			// azidentity retries 5xx with backoff; callers bound the exchange by the click's
			// time budget, and so does the test.
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			cred, err := x.Exchange(ctx, id, tok)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Exchange error = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tok[:40]) {
					t.Fatal("error contains the assertion")
				}
				return
			}
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			at, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
			if err != nil || at.Token != "graph-token-for-user" {
				t.Fatalf("GetToken = %q, %v", at.Token, err)
			}
			if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}}); err == nil {
				t.Fatal("credential handed its Graph token out for another resource")
			}
			if got := f.tokenFetches.Load(); got != 1 {
				t.Fatalf("token endpoint calls = %d, want 1 (exchange once, then reuse)", got)
			}
			if s := fmt.Sprint(cred); strings.Contains(s, "graph-token-for-user") {
				t.Fatal("credential formats its token")
			}
		})
	}
}

func TestGraphScope(t *testing.T) {
	for in, want := range map[string]string{
		"https://graph.microsoft.com/v1.0":  "https://graph.microsoft.com/.default",
		"https://127.0.0.1:8443/v1.0/":      "https://127.0.0.1:8443/.default",
		"https://graph.microsoft.us":        "https://graph.microsoft.us/.default",
		" https://graph.microsoft.com/v1.0": "https://graph.microsoft.com/.default",
	} {
		if got := sso.GraphScope(in); got != want {
			t.Errorf("GraphScope(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSandboxSSOAndOnBehalfOf runs the production path against the sandbox's Entra endpoints:
// the sandbox mints the Teams SSO token, the validator checks it with the sandbox's published
// keys, and the exchanger performs a real on-behalf-of grant whose token the sandbox's Graph
// accepts as the user.
func TestSandboxSSOAndOnBehalfOf(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sb.Handler())
	srv.TLS = sb.TLSConfig()
	srv.StartTLS()
	defer srv.Close()
	if err := sb.SetBaseURL(srv.URL); err != nil {
		t.Fatal(err)
	}
	creds := sb.AppCredentials()
	v, err := sso.NewValidator(sso.Config{AuthorityHost: sb.AuthorityHost(),
		Audiences: []string{"api://botid-" + creds.ClientID, creds.ClientID}, HTTPClient: sb.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	fac, err := credentials.NewOnBehalfOfFactory(credentials.Config{AppID: creds.ClientID, ClientSecret: creds.ClientSecret,
		AuthorityHost: sb.AuthorityHost(), HTTPClient: sb.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	x, err := sso.NewExchanger(fac, sso.GraphScope(sb.GraphURL()))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sb.MintSSOToken(sandbox.UserMegan)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Validate(ctx, tok, sb.TenantID(), sandbox.UserIsaiah); !errors.Is(err, sso.ErrWrongUser) {
		t.Fatalf("token of Megan accepted for Isaiah: %v", err)
	}
	id, err := v.Validate(ctx, tok, sb.TenantID(), sandbox.UserMegan)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	cred, err := x.Exchange(ctx, id, tok)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	at, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{sso.GraphScope(sb.GraphURL())}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sb.GraphURL()+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+at.Token)
	res, err := sb.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var me struct {
		ID string `json:"id"`
	}
	if err := jsonDecode(res, &me); err != nil || res.StatusCode != http.StatusOK || me.ID != sandbox.UserMegan {
		t.Fatalf("GET /me as the exchanged user: HTTP %d id %q err %v", res.StatusCode, me.ID, err)
	}

	// The same token, an hour and a bit later, is expired for the validator.
	late, err := sso.NewValidator(sso.Config{AuthorityHost: sb.AuthorityHost(), Audiences: []string{"api://botid-" + creds.ClientID},
		HTTPClient: sb.HTTPClient(), Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Validate(ctx, tok, sb.TenantID(), sandbox.UserMegan); !errors.Is(err, sso.ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestConsentURL(t *testing.T) {
	got := sso.ConsentURL("https://login.microsoftonline.us/", "t'1", "app-1", "https://bot.example/auth/end")
	for _, want := range []string{"https://login.microsoftonline.us/t%271/oauth2/v2.0/authorize?", "client_id=app-1",
		"prompt=consent", "redirect_uri=https%3A%2F%2Fbot.example%2Fauth%2Fend", "EntitlementManagement.ReadWrite.All"} {
		if !strings.Contains(got, want) {
			t.Errorf("ConsentURL = %s, missing %s", got, want)
		}
	}
	if got := sso.ConsentURL("", "t", "a", "r"); !strings.HasPrefix(got, "https://login.microsoftonline.com/t/") {
		t.Errorf("default authority: %s", got)
	}
}
