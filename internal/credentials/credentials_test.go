package credentials

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// fakeEntra is a minimal Entra token service over TLS: OpenID metadata, instance discovery and a
// token endpoint that records each grant.
type fakeEntra struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []string // "host path"
	grants   []tokenRequest
}

type tokenRequest struct {
	Tenant, ClientID, GrantType, Assertion, RequestedTokenUse, Scope string
	HasSecret, HasClientAssertion                                    bool
}

func newFakeEntra(t *testing.T) *fakeEntra {
	t.Helper()
	f := &fakeEntra{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEntra) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Host+" "+r.URL.Path)
	f.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/common/discovery/instance":
		_ = json.NewEncoder(w).Encode(map[string]any{
			"tenant_discovery_endpoint": "https://" + r.Host + "/common/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{map[string]any{"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host}}},
		})
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known":
		base := "https://" + r.Host + "/" + parts[0]
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
		})
	case len(parts) == 4 && parts[3] == "token" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.grants = append(f.grants, tokenRequest{
			Tenant: parts[0], ClientID: r.PostForm.Get("client_id"), GrantType: r.PostForm.Get("grant_type"),
			Assertion: r.PostForm.Get("assertion"), RequestedTokenUse: r.PostForm.Get("requested_token_use"),
			Scope: r.PostForm.Get("scope"), HasSecret: r.PostForm.Get("client_secret") != "",
			HasClientAssertion: r.PostForm.Get("client_assertion") != "",
		})
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "access_token": "tok-" + parts[0], "expires_in": 3600})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeEntra) url() string { return f.srv.URL + "/" }

func (f *fakeEntra) seen() ([]string, []tokenRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...), append([]tokenRequest(nil), f.grants...)
}

// routingClient sends every request, whatever its host, to the fake, so a test can observe
// whether MSAL tries to reach the public cloud without any network.
func (f *fakeEntra) routingClient() *http.Client {
	base := f.srv.Client().Transport
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r2 := r.Clone(r.Context())
		r2.Host = r.URL.Host
		r2.URL.Scheme = "https"
		r2.URL.Host = strings.TrimPrefix(f.srv.URL, "https://")
		return base.RoundTrip(r2)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func getToken(t *testing.T, cred azcore.TokenCredential, scope string) azcore.AccessToken {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	return tok
}

func TestIsPublicAuthority(t *testing.T) {
	for host, want := range map[string]bool{
		"https://login.microsoftonline.com/":              true,
		"https://login.microsoftonline.com":               true,
		"https://LOGIN.microsoftonline.com/":              true,
		"https://login.microsoftonline.us/":               true,
		"https://login.chinacloudapi.cn/":                 true,
		"https://127.0.0.1:8443/":                         false,
		"https://login.microsoftonline.de/":               false,
		"https://login.microsoftonline.com.evil.example/": false,
		"http://login.microsoftonline.com/":               false,
		"https://login.microsoftonline.com/x":             false,
		"":                                                false,
		"::not a url":                                     false,
	} {
		if got := IsPublicAuthority(host); got != want {
			t.Errorf("IsPublicAuthority(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestClientOptionsDisableDiscoveryOnlyForPrivateAuthorities(t *testing.T) {
	tests := []struct {
		host        string
		wantDisable bool
	}{
		{"https://login.microsoftonline.com/", false},
		{"https://login.microsoftonline.us/", false},
		{"https://login.chinacloudapi.cn/", false},
		{"https://127.0.0.1:9999/", true},
		{"https://adfs.contoso.example/", true},
	}
	for _, tt := range tests {
		_, disable, err := Config{AuthorityHost: tt.host}.clientOptions()
		if err != nil {
			t.Fatalf("%s: %v", tt.host, err)
		}
		if disable != tt.wantDisable {
			t.Errorf("%s: DisableInstanceDiscovery = %v, want %v", tt.host, disable, tt.wantDisable)
		}
	}
	if _, _, err := (Config{AuthorityHost: "http://127.0.0.1/"}).clientOptions(); err == nil {
		t.Error("plain http authority accepted")
	}
}

func TestAuthorityHostFallsBackToEnvironment(t *testing.T) {
	f := newFakeEntra(t)
	t.Setenv("AZURE_AUTHORITY_HOST", f.url())
	cred, err := GraphAppOnly(Config{AppID: "app", TenantID: "tenant-a", ClientSecret: "s", HTTPClient: f.routingClient()})
	if err != nil {
		t.Fatal(err)
	}
	getToken(t, cred, "https://graph.microsoft.com/.default")
	reqs, _ := f.seen()
	for _, r := range reqs {
		if strings.HasPrefix(r, "login.microsoftonline.com") {
			t.Fatalf("contacted the public cloud despite AZURE_AUTHORITY_HOST: %v", reqs)
		}
	}
}

// TestPrivateAuthorityNeverContactsPublicCloud is the property the package exists for: every
// credential kind, pointed at a private authority, gets its token without a single request to
// login.microsoftonline.com — while the same credential without DisableInstanceDiscovery does
// contact it (so the assertion can fail).
func TestPrivateAuthorityNeverContactsPublicCloud(t *testing.T) {
	certPath := writeTestCert(t)
	tests := []struct {
		name       string
		build      func(Config) (azcore.TokenCredential, error)
		cfg        Config
		wantTenant string
		wantGrant  string
		wantSecret bool
	}{
		{"bot single tenant", BotConnector, Config{AppID: "bot", AppType: SingleTenant, TenantID: "t1", ClientSecret: "pw"}, "t1", "client_credentials", true},
		{"bot multi tenant", BotConnector, Config{AppID: "bot", AppType: MultiTenant, ClientSecret: "pw"}, "botframework.com", "client_credentials", true},
		{"bot certificate", BotConnector, Config{AppID: "bot", AppType: SingleTenant, TenantID: "t1", CertificatePath: certPath}, "t1", "client_credentials", false},
		{"graph secret", GraphAppOnly, Config{AppID: "bot", TenantID: "t2", ClientSecret: "pw"}, "t2", "client_credentials", true},
		{"graph certificate", GraphAppOnly, Config{AppID: "bot", TenantID: "t2", CertificatePath: certPath}, "t2", "client_credentials", false},
		{"on-behalf-of secret", func(c Config) (azcore.TokenCredential, error) { return OnBehalfOf(c, "user-jwt") },
			Config{AppID: "sso", TenantID: "t3", ClientSecret: "pw"}, "t3", "urn:ietf:params:oauth:grant-type:jwt-bearer", true},
		{"on-behalf-of certificate", func(c Config) (azcore.TokenCredential, error) { return OnBehalfOf(c, "user-jwt") },
			Config{AppID: "sso", TenantID: "t3", CertificatePath: certPath}, "t3", "urn:ietf:params:oauth:grant-type:jwt-bearer", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t)
			cfg := tt.cfg
			cfg.AuthorityHost = f.url()
			cfg.HTTPClient = f.routingClient()
			cred, err := tt.build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tok := getToken(t, cred, "https://graph.microsoft.com/.default"); tok.Token != "tok-"+tt.wantTenant {
				t.Errorf("token %q, want tok-%s", tok.Token, tt.wantTenant)
			}
			reqs, grants := f.seen()
			for _, r := range reqs {
				if strings.HasPrefix(r, "login.microsoftonline.com") || strings.Contains(r, "/discovery/instance") {
					t.Errorf("instance discovery against the public cloud: %q", r)
				}
			}
			if len(grants) != 1 {
				t.Fatalf("grants = %+v, want one", grants)
			}
			g := grants[0]
			if g.Tenant != tt.wantTenant || g.GrantType != tt.wantGrant || g.HasSecret != tt.wantSecret || g.HasClientAssertion == tt.wantSecret {
				t.Errorf("grant = %+v, want tenant %s grant %s secret %v", g, tt.wantTenant, tt.wantGrant, tt.wantSecret)
			}
			if tt.wantGrant != "client_credentials" && (g.Assertion != "user-jwt" || g.RequestedTokenUse != "on_behalf_of") {
				t.Errorf("on-behalf-of grant = %+v", g)
			}
		})
	}

	t.Run("control: discovery enabled contacts the public cloud", func(t *testing.T) {
		f := newFakeEntra(t)
		// Without Cloud set azidentity honours AZURE_AUTHORITY_HOST; point it at the fake.
		t.Setenv("AZURE_AUTHORITY_HOST", f.url())
		cred, err := azidentity.NewClientSecretCredential("t1", "bot", "pw", &azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{Transport: f.routingClient()},
		})
		if err != nil {
			t.Fatal(err)
		}
		getToken(t, cred, "https://graph.microsoft.com/.default")
		reqs, _ := f.seen()
		found := false
		for _, r := range reqs {
			found = found || r == "login.microsoftonline.com /common/discovery/instance"
		}
		if !found {
			t.Fatalf("expected an instance discovery request to the public cloud, saw %v", reqs)
		}
	})
}

// TestPublicAuthorityKeepsDiscoveryDefaults checks a public-cloud configuration reaches the
// public host directly (MSAL trusts it, so no discovery call is needed) with discovery left on.
func TestPublicAuthorityKeepsDiscoveryDefaults(t *testing.T) {
	for _, host := range []string{"https://login.microsoftonline.com/", "https://login.microsoftonline.us/"} {
		f := newFakeEntra(t)
		cred, err := BotConnector(Config{AppID: "bot", AppType: MultiTenant, ClientSecret: "pw", AuthorityHost: host, HTTPClient: f.routingClient()})
		if err != nil {
			t.Fatal(err)
		}
		getToken(t, cred, "https://api.botframework.com/.default")
		reqs, grants := f.seen()
		wantHost := strings.TrimSuffix(strings.TrimPrefix(host, "https://"), "/")
		for _, r := range reqs {
			if !strings.HasPrefix(r, wantHost+" ") {
				t.Errorf("%s: request to %q", host, r)
			}
		}
		wantTenant := "botframework.com"
		if strings.HasSuffix(wantHost, ".us") {
			wantTenant = "MicrosoftServices.onmicrosoft.us"
		}
		if len(grants) != 1 || grants[0].Tenant != wantTenant {
			t.Errorf("%s: grants %+v, want tenant %s", host, grants, wantTenant)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() (azcore.TokenCredential, error)
		want  string
	}{
		{"bot without app id", func() (azcore.TokenCredential, error) { return BotConnector(Config{ClientSecret: "x"}) }, "app id"},
		{"single tenant without tenant", func() (azcore.TokenCredential, error) {
			return BotConnector(Config{AppID: "a", AppType: SingleTenant, ClientSecret: "x"})
		}, "tenant id"},
		{"bot without secret", func() (azcore.TokenCredential, error) { return BotConnector(Config{AppID: "a", AppType: MultiTenant}) }, "no client secret"},
		{"unknown app type", func() (azcore.TokenCredential, error) {
			return BotConnector(Config{AppID: "a", AppType: "Other", ClientSecret: "x"})
		}, "unknown app type"},
		{"graph secret without tenant", func() (azcore.TokenCredential, error) { return GraphAppOnly(Config{AppID: "a", ClientSecret: "x"}) }, "tenant id"},
		{"obo without secret", func() (azcore.TokenCredential, error) { return OnBehalfOf(Config{AppID: "a", TenantID: "t"}, "jwt") }, "no client secret"},
		{"obo without assertion", func() (azcore.TokenCredential, error) {
			return OnBehalfOf(Config{AppID: "a", TenantID: "t", ClientSecret: "x"}, "")
		}, "user assertion"},
		{"missing certificate file", func() (azcore.TokenCredential, error) {
			return GraphAppOnly(Config{AppID: "a", TenantID: "t", CertificatePath: filepath.Join(t.TempDir(), "none.pem")})
		}, "read certificate"},
		{"http authority", func() (azcore.TokenCredential, error) {
			return GraphAppOnly(Config{AppID: "a", TenantID: "t", ClientSecret: "x", AuthorityHost: "http://example.com/"})
		}, "https"},
	}
	for _, tt := range tests {
		_, err := tt.build()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestOnBehalfOfFactoryRequiresTenant(t *testing.T) {
	f, err := NewOnBehalfOfFactory(Config{AppID: "sso", ClientSecret: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Credential("", "jwt"); err == nil {
		t.Fatal("credential without tenant accepted")
	}
}

func writeTestCert(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "guestpass-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	p := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(p, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUserAssignedManagedIdentity drives the App Service managed identity protocol (the
// IDENTITY_ENDPOINT / IDENTITY_HEADER variables) and checks the bot's app id is sent as the
// user-assigned identity's client id, for connector and Graph credentials alike.
func TestUserAssignedManagedIdentity(t *testing.T) {
	var (
		mu       sync.Mutex
		clientID []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != "secret-header" {
			http.Error(w, "missing identity header", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		clientID = append(clientID, r.URL.Query().Get("client_id"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "mi-token", "token_type": "Bearer",
			"expires_on": fmt.Sprint(time.Now().Add(time.Hour).Unix()), "resource": r.URL.Query().Get("resource")})
	}))
	t.Cleanup(srv.Close)
	t.Setenv("IDENTITY_ENDPOINT", srv.URL)
	t.Setenv("IDENTITY_HEADER", "secret-header")
	cfg := Config{AppID: "11111111-2222-3333-4444-555555555555", AppType: UserAssignedMSI}
	for _, c := range []struct {
		name, scope string
		build       func(Config) (azcore.TokenCredential, error)
	}{{"connector", "https://api.botframework.com/.default", BotConnector}, {"graph", "https://graph.microsoft.com/.default", GraphAppOnly}} {
		cred, err := c.build(cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if tok := getToken(t, cred, c.scope); tok.Token != "mi-token" {
			t.Errorf("%s: token %q", c.name, tok.Token)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(clientID) != 2 || clientID[0] != cfg.AppID || clientID[1] != cfg.AppID {
		t.Errorf("client ids sent: %v, want the app id twice", clientID)
	}
}
