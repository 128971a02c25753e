package testkit

import (
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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"guestpass/internal/botframework"
)

// keyPool holds RSA keys generated once per test binary: generating 2048-bit keys is slow, and
// issuers only need distinct kids, not distinct keys per test.
var keyPool struct {
	once sync.Once
	keys []*rsa.PrivateKey
	err  error
}

const pooledKeys = 4

func pooledKey(i int) (*rsa.PrivateKey, error) {
	keyPool.once.Do(func() {
		for range pooledKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				keyPool.err = err
				return
			}
			keyPool.keys = append(keyPool.keys, k)
		}
	})
	if keyPool.err != nil {
		return nil, keyPool.err
	}
	return keyPool.keys[i%len(keyPool.keys)], nil
}

// issuerKey is one signing key of a ChannelIssuer.
type issuerKey struct {
	kid          string
	priv         *rsa.PrivateKey
	cert         *x509.Certificate
	endorsements []string
	published    bool
}

// ChannelIssuer is a fake Bot Framework token issuer: an httptest server with the OpenID metadata
// document and the JWKS (RSA keys with endorsements and x5c certificates, as the real
// login.botframework.com serves them), and helpers that sign channel-like tokens.
type ChannelIssuer struct {
	// MetadataURL is the OpenID configuration URL to configure the validator with.
	MetadataURL string
	// Issuer is the iss of the tokens (https://api.botframework.com).
	Issuer string
	// Now is the clock for token timestamps; default time.Now.
	Now func() time.Time

	t               testing.TB
	srv             *httptest.Server
	jwksFetches     atomic.Int64
	metadataFetches atomic.Int64

	mu       sync.Mutex
	keys     []*issuerKey
	active   *issuerKey
	algs     []string
	failJWKS bool
}

// NewChannelIssuer starts a fake issuer with one published key endorsed for "msteams". It is
// closed when the test ends.
func NewChannelIssuer(t testing.TB) *ChannelIssuer {
	t.Helper()
	i := &ChannelIssuer{Issuer: botframework.DefaultChannelIssuer, Now: time.Now, algs: []string{"RS256"}, t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", i.handleMetadata)
	mux.HandleFunc("GET /v1/.well-known/keys", i.handleJWKS)
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	i.MetadataURL = i.srv.URL + "/v1/.well-known/openidconfiguration"
	kid, err := i.addKey([]string{"msteams"}, true)
	if err != nil {
		t.Fatalf("testkit: issuer key: %v", err)
	}
	i.mu.Lock()
	i.active = i.byKid(kid)
	i.mu.Unlock()
	return i
}

// Client returns an HTTP client for the issuer's server.
func (i *ChannelIssuer) Client() *http.Client { return i.srv.Client() }

// JWKSFetches returns how many times the JWKS was downloaded.
func (i *ChannelIssuer) JWKSFetches() int { return int(i.jwksFetches.Load()) }

// MetadataFetches returns how many times the metadata document was downloaded.
func (i *ChannelIssuer) MetadataFetches() int { return int(i.metadataFetches.Load()) }

// ActiveKeyID returns the kid that Sign and Token use.
func (i *ChannelIssuer) ActiveKeyID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.active.kid
}

// Rotate publishes a new key endorsed for "msteams" and signs with it from now on, like a key
// rotation at login.botframework.com. A validator sees the new kid only after it refreshes.
func (i *ChannelIssuer) Rotate() string {
	t := i.t
	t.Helper()
	kid, err := i.addKey([]string{"msteams"}, true)
	if err != nil {
		t.Fatalf("testkit: rotate: %v", err)
	}
	i.mu.Lock()
	i.active = i.byKid(kid)
	i.mu.Unlock()
	return kid
}

// AddUnpublishedKey adds a key that the JWKS never serves and signs with it from now on, so every
// token carries an unknown kid.
func (i *ChannelIssuer) AddUnpublishedKey() string {
	t := i.t
	t.Helper()
	kid, err := i.addKey([]string{"msteams"}, false)
	if err != nil {
		t.Fatalf("testkit: unpublished key: %v", err)
	}
	i.mu.Lock()
	i.active = i.byKid(kid)
	i.mu.Unlock()
	return kid
}

// SetEndorsements replaces the endorsements the JWKS lists for the active key (nil: none).
func (i *ChannelIssuer) SetEndorsements(endorsements []string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.active.endorsements = endorsements
}

// SetAlgorithms replaces id_token_signing_alg_values_supported in the metadata.
func (i *ChannelIssuer) SetAlgorithms(algs []string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.algs = algs
}

// FailJWKS makes the JWKS endpoint answer 500 while fail is true.
func (i *ChannelIssuer) FailJWKS(fail bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.failJWKS = fail
}

// ActivePublicKeyPEM returns the active key's public key as PEM, for algorithm-confusion tests
// (HS256 signed with the public key).
func (i *ChannelIssuer) ActivePublicKeyPEM() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(&i.active.priv.PublicKey)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Claims returns the claims of a valid channel token for appID and serviceURL: issuer, audience,
// serviceurl, nbf now and exp in one hour (per the issuer's clock).
func (i *ChannelIssuer) Claims(appID, serviceURL string) jwt.MapClaims {
	now := i.Now()
	return jwt.MapClaims{
		"iss":        i.Issuer,
		"aud":        appID,
		"serviceurl": serviceURL,
		"nbf":        now.Unix(),
		"exp":        now.Add(time.Hour).Unix(),
	}
}

// Token returns a valid channel token for appID and serviceURL.
func (i *ChannelIssuer) Token(appID, serviceURL string) string {
	i.t.Helper()
	return i.Sign(i.Claims(appID, serviceURL))
}

// Header returns the Authorization header value for Token(appID, serviceURL).
func (i *ChannelIssuer) Header(appID, serviceURL string) string {
	i.t.Helper()
	return "Bearer " + i.Token(appID, serviceURL)
}

// Sign signs claims with the active key (RS256, kid set).
func (i *ChannelIssuer) Sign(claims jwt.Claims) string {
	i.t.Helper()
	return i.SignWith(jwt.SigningMethodRS256, claims)
}

// SignWith signs claims with the active key and the given RSA method (RS256/384/512, PS256…).
func (i *ChannelIssuer) SignWith(method jwt.SigningMethod, claims jwt.Claims) string {
	t := i.t
	t.Helper()
	i.mu.Lock()
	k := i.active
	i.mu.Unlock()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatalf("testkit: sign token: %v", err)
	}
	return s
}

func (i *ChannelIssuer) addKey(endorsements []string, published bool) (string, error) {
	i.mu.Lock()
	n := len(i.keys)
	i.mu.Unlock()
	priv, err := pooledKey(n)
	if err != nil {
		return "", err
	}
	kid := fmt.Sprintf("testkit-key-%d", n+1)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(n + 1)),
		Subject:      pkix.Name{CommonName: "login.botframework.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, &issuerKey{kid: kid, priv: priv, cert: cert, endorsements: endorsements, published: published})
	return kid, nil
}

// byKid finds a key. i.mu must be held.
func (i *ChannelIssuer) byKid(kid string) *issuerKey {
	for _, k := range i.keys {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

func (i *ChannelIssuer) handleMetadata(w http.ResponseWriter, _ *http.Request) {
	i.metadataFetches.Add(1)
	i.mu.Lock()
	algs := i.algs
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.Issuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              i.srv.URL + "/v1/.well-known/keys",
		"id_token_signing_alg_values_supported": algs,
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

func (i *ChannelIssuer) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	i.jwksFetches.Add(1)
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.failJWKS {
		writeError(w, http.StatusInternalServerError, "", `{"error":"scripted failure"}`)
		return
	}
	keys := []json.RawMessage{}
	for _, k := range i.keys {
		if !k.published {
			continue
		}
		jwk := jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Use: "sig", Certificates: []*x509.Certificate{k.cert}}
		raw, err := jwk.MarshalJSON()
		if err != nil {
			writeError(w, http.StatusInternalServerError, "", `{"error":"marshal"}`)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			writeError(w, http.StatusInternalServerError, "", `{"error":"marshal"}`)
			return
		}
		if k.endorsements != nil {
			m["endorsements"] = k.endorsements
		}
		raw, _ = json.Marshal(m)
		keys = append(keys, raw)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}
