package sso

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Key cache bounds.
const (
	// maxDocument bounds the OpenID metadata and JWKS documents.
	maxDocument = 1 << 20
	// minRSABits rejects keys too weak to trust, whatever the JWKS says.
	minRSABits = 2048
	// maxTenants bounds the per-tenant caches. Only tenants that already passed channel
	// authentication (the token's tid must equal the activity's tenant) reach the cache.
	maxTenants = 1024
	// fetchTimeout bounds one metadata + JWKS download.
	fetchTimeout = 10 * time.Second
)

// tenantKeys is the signing keys of one tenant as its OpenID metadata lists them. mu serialises
// fetches, so a burst of clicks for one tenant triggers one download, not one per click.
type tenantKeys struct {
	mu          sync.Mutex
	keys        map[string]*rsa.PublicKey
	issuer      string // the metadata's issuer, the v2.0 issuer of this tenant
	fetchedAt   time.Time
	lastAttempt time.Time
	used        time.Time // for eviction
}

// keyCache holds the signing keys per tenant, loaded from
// {authority}/{tenant}/v2.0/.well-known/openid-configuration → jwks_uri. Keys are refreshed when
// older than refresh and, rate-limited by minRefetch, when a token names an unknown kid, so
// forged kids cannot make the bot hammer the identity provider.
type keyCache struct {
	authority  string // https origin + optional path, no trailing slash
	client     *http.Client
	now        func() time.Time
	refresh    time.Duration
	minRefetch time.Duration
	log        *slog.Logger

	mu      sync.Mutex
	tenants map[string]*tenantKeys
}

// tenant returns the cache entry of tenantID, creating it (and evicting the least recently used
// entry when full).
func (kc *keyCache) tenant(tenantID string) *tenantKeys {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	now := kc.now()
	tk, ok := kc.tenants[tenantID]
	if !ok {
		if len(kc.tenants) >= maxTenants {
			var oldest string
			var at time.Time
			for id, e := range kc.tenants {
				if oldest == "" || e.used.Before(at) {
					oldest, at = id, e.used
				}
			}
			delete(kc.tenants, oldest)
		}
		tk = &tenantKeys{}
		kc.tenants[tenantID] = tk
	}
	tk.used = now
	return tk
}

// key returns tenantID's signing key kid and the tenant's metadata issuer. It loads the keys on
// first use, refreshes stale ones, and refetches once (rate-limited) for an unknown kid.
func (kc *keyCache) key(ctx context.Context, tenantID, kid string) (*rsa.PublicKey, string, error) {
	tk := kc.tenant(tenantID)
	tk.mu.Lock()
	defer tk.mu.Unlock()
	now := kc.now()
	sinceAttempt := now.Sub(tk.lastAttempt)
	stale := tk.keys == nil || now.Sub(tk.fetchedAt) >= kc.refresh
	_, known := tk.keys[kid]
	var fetchErr error
	if (stale || !known) && (tk.lastAttempt.IsZero() || sinceAttempt >= kc.minRefetch) {
		tk.lastAttempt = now
		keys, issuer, err := kc.fetch(ctx, tenantID)
		if err != nil {
			fetchErr = err
			kc.log.Warn("SSO signing keys refresh failed", "tenant_id", tenantID, "error", err)
		} else {
			tk.keys, tk.issuer, tk.fetchedAt = keys, issuer, now
			kc.log.Info("SSO signing keys loaded", "tenant_id", tenantID, "keys", len(keys))
		}
	}
	if tk.keys == nil {
		if fetchErr == nil {
			fetchErr = errors.New("signing keys not loaded yet")
		}
		return nil, "", fmt.Errorf("%w: %w: tenant %s: %v", ErrUnavailable, errKeysUnavailable, tenantID, fetchErr)
	}
	k, ok := tk.keys[kid]
	if !ok {
		return nil, "", fmt.Errorf("%w: signing key %q is not in tenant %s's key set", ErrInvalidToken, kid, tenantID)
	}
	return k, tk.issuer, nil
}

// fetch downloads the tenant's OpenID metadata and JWKS.
func (kc *keyCache) fetch(ctx context.Context, tenantID string) (map[string]*rsa.PublicKey, string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	var md struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	metaURL := kc.authority + "/" + url.PathEscape(tenantID) + "/v2.0/.well-known/openid-configuration"
	if err := kc.getJSON(ctx, metaURL, &md); err != nil {
		return nil, "", fmt.Errorf("openid metadata: %w", err)
	}
	if md.JWKSURI == "" {
		return nil, "", errors.New("openid metadata has no jwks_uri")
	}
	if u, err := url.Parse(md.JWKSURI); err != nil || u.Scheme != "https" {
		return nil, "", fmt.Errorf("openid metadata: jwks_uri %q is not an https URL", md.JWKSURI)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := kc.getJSON(ctx, md.JWKSURI, &set); err != nil {
		return nil, "", fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for i, raw := range set.Keys {
		kid, pub, err := parseKey(raw)
		if err != nil {
			// One unusable key must not take the others down.
			kc.log.Debug("ignoring JWKS key", "index", i, "kid", kid, "reason", err.Error())
			continue
		}
		keys[kid] = pub
	}
	if len(keys) == 0 {
		return nil, "", errors.New("jwks: no usable RSA signing keys")
	}
	// Multi-tenant metadata documents use a "{tenantid}" placeholder in the issuer.
	issuer := strings.ReplaceAll(md.Issuer, "{tenantid}", tenantID)
	return keys, issuer, nil
}

// parseKey parses one JWK into an RSA public signing key.
func parseKey(raw json.RawMessage) (string, *rsa.PublicKey, error) {
	var hdr struct {
		Kid string `json:"kid"`
		Use string `json:"use"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return "", nil, err
	}
	if hdr.Kid == "" {
		return "", nil, errors.New("no kid")
	}
	if hdr.Use != "" && hdr.Use != "sig" {
		return hdr.Kid, nil, fmt.Errorf("use %q", hdr.Use)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return hdr.Kid, nil, err
	}
	if !jwk.IsPublic() {
		return hdr.Kid, nil, errors.New("JWKS key contains private parameters")
	}
	pub, ok := jwk.Key.(*rsa.PublicKey)
	if !ok {
		return hdr.Kid, nil, fmt.Errorf("key type %T is not RSA", jwk.Key)
	}
	if pub.N.BitLen() < minRSABits {
		return hdr.Kid, nil, fmt.Errorf("RSA key of %d bits is too small", pub.N.BitLen())
	}
	return hdr.Kid, pub, nil
}

// getJSON GETs u and decodes a bounded JSON body.
func (kc *keyCache) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := kc.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	if len(body) > maxDocument {
		return fmt.Errorf("GET %s: document larger than %d bytes", u, maxDocument)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
