package botframework

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// allowedAlgorithms are the signature algorithms the Bot Framework SDKs accept for channel tokens
// (botbuilder-js AllowedSigningAlgorithms). The metadata narrows them further.
var allowedAlgorithms = []string{"RS256", "RS384", "RS512"}

// minRSABits rejects keys too weak to trust, whatever the JWKS says.
const minRSABits = 2048

// maxMetadataBody bounds the OpenID metadata and JWKS documents.
const maxMetadataBody = 1 << 20

// signingKey is one JWKS key kept together with its endorsements (the channel ids it may sign
// for).
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

// keySnapshot is an immutable view of the loaded keys; refreshes swap in a new one.
type keySnapshot struct {
	keys      map[string]signingKey
	algs      []string
	parser    *jwt.Parser
	fetchedAt time.Time
}

// keyCache holds the channel signing keys: loaded from the OpenID metadata's jwks_uri, refreshed
// on a schedule and, rate-limited, when a token names an unknown kid. Concurrent callers that need
// a refresh share one fetch.
type keyCache struct {
	metadataURL  string
	client       *http.Client
	now          func() time.Time
	interval     time.Duration
	minRefetch   time.Duration
	log          *slog.Logger
	newParser    func(algs []string) *jwt.Parser
	fetchTimeout time.Duration

	snap atomic.Pointer[keySnapshot]

	mu          sync.Mutex
	inflight    *refreshCall
	lastAttempt time.Time // start of the most recent fetch, successful or not
}

// refreshCall is one shared fetch; done is closed when err is set.
type refreshCall struct {
	done chan struct{}
	err  error
}

// snapshot returns the current keys, or nil if none were ever loaded.
func (kc *keyCache) snapshot() *keySnapshot { return kc.snap.Load() }

// refresh fetches the keys now, or joins a fetch already under way.
func (kc *keyCache) refresh(ctx context.Context) error {
	return kc.refreshIf(ctx, func(*keySnapshot, time.Time) bool { return true })
}

// refreshIf starts a shared fetch if need(current snapshot, last attempt) holds (evaluated under
// the lock, so a burst of callers triggers at most one fetch), or joins the one under way. It
// returns nil without fetching when need is false.
func (kc *keyCache) refreshIf(ctx context.Context, need func(snap *keySnapshot, lastAttempt time.Time) bool) error {
	kc.mu.Lock()
	call := kc.inflight
	if call == nil {
		if !need(kc.snap.Load(), kc.lastAttempt) {
			kc.mu.Unlock()
			return nil
		}
		call = &refreshCall{done: make(chan struct{})}
		kc.inflight = call
		kc.lastAttempt = kc.now()
		// The fetch outlives any one caller's context: a caller that gives up must not cancel
		// the fetch the others wait for.
		go kc.runFetch(context.WithoutCancel(ctx), call)
	}
	kc.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (kc *keyCache) runFetch(ctx context.Context, call *refreshCall) {
	ctx, cancel := context.WithTimeout(ctx, kc.fetchTimeout)
	defer cancel()
	snap, err := kc.fetch(ctx)
	if err == nil {
		kc.snap.Store(snap)
		kc.log.Info("channel signing keys loaded", "keys", len(snap.keys), "algorithms", snap.algs)
	} else {
		kc.log.Warn("channel signing keys refresh failed", "error", err)
	}
	kc.mu.Lock()
	kc.inflight = nil
	kc.mu.Unlock()
	call.err = err
	close(call.done)
}

// openIDMetadata is the part of the OpenID configuration document the validator reads.
type openIDMetadata struct {
	Issuer     string   `json:"issuer"`
	JWKSURI    string   `json:"jwks_uri"`
	Algorithms []string `json:"id_token_signing_alg_values_supported"`
}

// fetch downloads the metadata and the JWKS and builds a snapshot.
func (kc *keyCache) fetch(ctx context.Context) (*keySnapshot, error) {
	var md openIDMetadata
	if err := kc.getJSON(ctx, kc.metadataURL, &md); err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	if md.JWKSURI == "" {
		return nil, errors.New("openid metadata: no jwks_uri")
	}
	algs := allowedAlgorithms
	if len(md.Algorithms) > 0 {
		algs = nil
		for _, a := range allowedAlgorithms {
			if slices.Contains(md.Algorithms, a) {
				algs = append(algs, a)
			}
		}
		if len(algs) == 0 {
			return nil, fmt.Errorf("openid metadata: no supported signing algorithm in %q", md.Algorithms)
		}
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := kc.getJSON(ctx, md.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]signingKey, len(set.Keys))
	for i, raw := range set.Keys {
		kid, key, err := parseSigningKey(raw)
		if err != nil {
			// One unusable key (another type, a bad certificate) must not take the others down.
			kc.log.Debug("ignoring JWKS key", "index", i, "kid", kid, "reason", err.Error())
			continue
		}
		keys[kid] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks: no usable RSA signing keys")
	}
	return &keySnapshot{keys: keys, algs: algs, parser: kc.newParser(algs), fetchedAt: kc.now()}, nil
}

// parseSigningKey parses one JWK with its Bot Framework endorsements.
func parseSigningKey(raw json.RawMessage) (string, signingKey, error) {
	var extra struct {
		Kid          string   `json:"kid"`
		Use          string   `json:"use"`
		Endorsements []string `json:"endorsements"`
	}
	if err := json.Unmarshal(raw, &extra); err != nil {
		return "", signingKey{}, err
	}
	if extra.Kid == "" {
		return "", signingKey{}, errors.New("no kid")
	}
	if extra.Use != "" && extra.Use != "sig" {
		return extra.Kid, signingKey{}, fmt.Errorf("use %q", extra.Use)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return extra.Kid, signingKey{}, err
	}
	if !jwk.IsPublic() {
		return extra.Kid, signingKey{}, errors.New("JWKS key contains private parameters")
	}
	pub, ok := jwk.Key.(*rsa.PublicKey)
	if !ok {
		return extra.Kid, signingKey{}, fmt.Errorf("key type %T is not RSA", jwk.Key)
	}
	if pub.N.BitLen() < minRSABits {
		return extra.Kid, signingKey{}, fmt.Errorf("RSA key of %d bits is too small", pub.N.BitLen())
	}
	return extra.Kid, signingKey{pub: pub, endorsements: extra.Endorsements}, nil
}

// getJSON GETs url and decodes a bounded JSON body, checking the status.
func (kc *keyCache) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := kc.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxMetadataBody))
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBody+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxMetadataBody {
		return fmt.Errorf("GET %s: document larger than %d bytes", url, maxMetadataBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// has reports whether the key set contains kid; a nil snapshot has no keys.
func (s *keySnapshot) has(kid string) bool {
	if s == nil {
		return false
	}
	_, ok := s.keys[kid]
	return ok
}
