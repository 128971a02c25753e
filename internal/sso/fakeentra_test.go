package sso_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fakeEntra is an Entra-like identity provider over TLS: per-tenant OpenID metadata, JWKS and a
// token endpoint whose answer the test scripts. Unlike the sandbox it signs whatever claims a test
// needs (foreign issuers, app tokens, rotated keys), so every validation rule can be exercised.
type fakeEntra struct {
	srv *httptest.Server

	mu        sync.Mutex
	keys      map[string]*rsa.PrivateKey
	published []string
	active    string
	tokenResp func() (int, any)

	jwksFetches  atomic.Int32
	tokenFetches atomic.Int32
}

var (
	keyOnce sync.Once
	keyPool []*rsa.PrivateKey
)

// poolKey returns one of a few RSA keys generated once per test binary (generation is slow).
func poolKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keyPool = append(keyPool, k)
		}
	})
	return keyPool[i]
}

func newFakeEntra(t *testing.T) *fakeEntra {
	t.Helper()
	f := &fakeEntra{keys: map[string]*rsa.PrivateKey{"k1": poolKey(t, 0)}, published: []string{"k1"}, active: "k1"}
	f.tokenResp = func() (int, any) {
		return http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "graph-token-for-user"}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		tenant := r.PathValue("tenant")
		base := f.srv.URL + "/" + tenant
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                f.srv.URL + "/" + tenant + "/v2.0",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"jwks_uri":                              base + "/discovery/v2.0/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"pairwise"},
		})
	})
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, _ *http.Request) {
		f.jwksFetches.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		var keys []any
		for _, kid := range f.published {
			pub := f.keys[kid].PublicKey
			keys = append(keys, map[string]any{"kty": "RSA", "use": "sig", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		f.tokenFetches.Add(1)
		_ = r.ParseForm()
		if r.PostForm.Get("requested_token_use") != "on_behalf_of" || r.PostForm.Get("assertion") == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_codes": []int{900144}})
			return
		}
		f.mu.Lock()
		status, body := f.tokenResp()
		f.mu.Unlock()
		writeJSON(w, status, body)
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// issuer is the v2.0 issuer of tenant.
func (f *fakeEntra) issuer(tenant string) string { return f.srv.URL + "/" + tenant + "/v2.0" }

// claims returns the claims of a valid Teams SSO token for user in tenant.
func (f *fakeEntra) claims(tenant, user string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"aud": "api://botid-bot-app", "iss": f.issuer(tenant), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "tid": tenant, "oid": user, "sub": user,
		"scp": "access_as_user", "name": "Megan Bowen", "preferred_username": "meganb@example.com", "ver": "2.0",
	}
}

// sign signs claims with the active key.
func (f *fakeEntra) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	f.mu.Lock()
	kid, key := f.active, f.keys[f.active]
	f.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rotate publishes a new key and signs with it from now on.
func (f *fakeEntra) rotate(t *testing.T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys["k2"] = poolKey(t, 1)
	f.published = append(f.published, "k2")
	f.active = "k2"
}

// signUnpublished signs with a key the JWKS does not list.
func (f *fakeEntra) signUnpublished(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k-unpublished"
	s, err := tok.SignedString(poolKey(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakeEntra) setTokenResponse(status int, body any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenResp = func() (int, any) { return status, body }
}

// tamper replaces the payload of a signed token, keeping its signature.
func tamper(t *testing.T, token string, edit func(jwt.MapClaims)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	c := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	b, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
