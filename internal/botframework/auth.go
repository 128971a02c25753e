package botframework

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults for the public cloud; sovereign clouds configure their own (BOT_TOKEN_ISSUER,
// BOT_OPENID_METADATA_URL).
const (
	DefaultChannelIssuer     = "https://api.botframework.com"
	DefaultOpenIDMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
)

// AuthError reasons. They form a fixed set so they can label metrics (AuthReasons lists them).
const (
	// ReasonMissingHeader: no Authorization header.
	ReasonMissingHeader = "missing_header"
	// ReasonBadScheme: the header is not "Bearer <token>".
	ReasonBadScheme = "bad_scheme"
	// ReasonMalformedToken: the token is not a well-formed JWT (or is absurdly long).
	ReasonMalformedToken = "malformed_token"
	// ReasonBadAlgorithm: the token's alg is not one the metadata allows (none, HS256, …).
	ReasonBadAlgorithm = "bad_algorithm"
	// ReasonBadIssuer: iss is not the channel issuer.
	ReasonBadIssuer = "bad_issuer"
	// ReasonBadAudience: aud is not the bot's app id.
	ReasonBadAudience = "bad_audience"
	// ReasonExpired: exp is in the past, beyond the clock skew.
	ReasonExpired = "expired"
	// ReasonNotYetValid: nbf (or iat) is in the future, beyond the clock skew.
	ReasonNotYetValid = "not_yet_valid"
	// ReasonMissingClaim: a required claim (iss, aud, exp, serviceurl) is absent or has the wrong
	// JSON type.
	ReasonMissingClaim = "missing_claim"
	// ReasonUnknownKey: the token's kid is not in the JWKS, even after a refresh.
	ReasonUnknownKey = "unknown_key"
	// ReasonBadSignature: the signature does not verify.
	ReasonBadSignature = "bad_signature"
	// ReasonEndorsementMissing: the signing key is not endorsed for the activity's channel (403).
	ReasonEndorsementMissing = "endorsement_missing"
	// ReasonServiceURLMismatch: the serviceurl claim differs from activity.serviceUrl.
	ReasonServiceURLMismatch = "serviceurl_mismatch"
	// ReasonKeysUnavailable: the signing keys could not be loaded; not the caller's fault (503).
	ReasonKeysUnavailable = "keys_unavailable"
)

// AuthReasons lists every AuthError reason, for pre-registering metric label values.
var AuthReasons = []string{
	ReasonMissingHeader, ReasonBadScheme, ReasonMalformedToken, ReasonBadAlgorithm, ReasonBadIssuer,
	ReasonBadAudience, ReasonExpired, ReasonNotYetValid, ReasonMissingClaim, ReasonUnknownKey,
	ReasonBadSignature, ReasonEndorsementMissing, ReasonServiceURLMismatch, ReasonKeysUnavailable,
}

// AuthError is a rejected channel request. Status is the HTTP status to answer with: 401, 403 for
// a missing endorsement (as the Connector authentication spec says), or 503 when the signing keys
// could not be loaded (the request may be fine; the channel should retry). The response body
// must stay generic: Reason and the cause are for logs and metrics.
type AuthError struct {
	Status int
	Reason string
	err    error
}

// Error implements error. It never contains the token.
func (e *AuthError) Error() string {
	if e.err == nil {
		return "channel authentication failed: " + e.Reason
	}
	return "channel authentication failed: " + e.Reason + ": " + e.err.Error()
}

// Unwrap returns the underlying cause.
func (e *AuthError) Unwrap() error { return e.err }

func authErr(status int, reason string, cause error) *AuthError {
	return &AuthError{Status: status, Reason: reason, err: cause}
}

// Claims are the validated claims of a channel token that callers may use.
type Claims struct {
	// Issuer and Audience as validated (Audience contains the app id).
	Issuer   string
	Audience []string
	// ServiceURL equals the activity's serviceUrl.
	ServiceURL string
	// ExpiresAt is the token's expiry; a replayed token is only usable until then.
	ExpiresAt time.Time
	// KeyID names the signing key.
	KeyID string
}

// ChannelValidatorConfig configures a ChannelValidator. Zero values get the documented defaults.
type ChannelValidatorConfig struct {
	// AppID is the bot's Microsoft App ID, the required audience. Required.
	AppID string
	// Issuer is the required iss; default DefaultChannelIssuer.
	Issuer string
	// MetadataURL is the OpenID configuration document; default DefaultOpenIDMetadataURL.
	MetadataURL string
	// HTTPClient fetches the metadata and keys; default a client with a 10s timeout.
	HTTPClient *http.Client
	// Now is the clock for token lifetimes and refresh scheduling; default time.Now.
	Now func() time.Time
	// RefreshInterval is the maximum key age (default and maximum 24h, as the spec requires).
	RefreshInterval time.Duration
	// MinUnknownKidRefresh is the minimum time between refreshes caused by an unknown kid or a
	// stale cache (default 5m), so that forged kids cannot make the bot hammer the key endpoint.
	MinUnknownKidRefresh time.Duration
	// Logger receives key refresh logs; default slog.Default().
	Logger *slog.Logger
}

// ChannelValidator authenticates requests from the Bot Framework channel (Teams) to the bot,
// following teams-bot-protocol.md §1.1/§1.6. It is safe for concurrent use.
//
// There is deliberately no way to disable it: a bot without an app id (local mode) does not
// construct one.
type ChannelValidator struct {
	appID  string
	issuer string
	now    func() time.Time
	keys   *keyCache
	// verified caches tokens whose signature and claims already passed.
	verified *tokenCache
}

// clockSkew is the tolerance the Bot Framework SDKs allow on exp and nbf.
const clockSkew = 5 * time.Minute

// coldRetry is the minimum time between fetch attempts while no keys were ever loaded.
const coldRetry = 10 * time.Second

// maxTokenLength bounds the work spent on a token; channel tokens are about 1.5 KB.
const maxTokenLength = 16 << 10

// NewChannelValidator returns a validator for cfg. It does not fetch keys; call Refresh or Run
// (Validate also loads them on first use).
func NewChannelValidator(cfg ChannelValidatorConfig) (*ChannelValidator, error) {
	if strings.TrimSpace(cfg.AppID) == "" {
		return nil, errors.New("botframework: channel validator needs the bot's app id")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultChannelIssuer
	}
	if cfg.MetadataURL == "" {
		cfg.MetadataURL = DefaultOpenIDMetadataURL
	}
	if u, err := url.Parse(cfg.MetadataURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("botframework: invalid OpenID metadata URL %q", cfg.MetadataURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshInterval <= 0 || cfg.RefreshInterval > 24*time.Hour {
		cfg.RefreshInterval = 24 * time.Hour
	}
	if cfg.MinUnknownKidRefresh <= 0 {
		cfg.MinUnknownKidRefresh = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	v := &ChannelValidator{appID: cfg.AppID, issuer: cfg.Issuer, now: cfg.Now, verified: newTokenCache(maxVerifiedTokens)}
	v.keys = &keyCache{
		metadataURL:  cfg.MetadataURL,
		client:       cfg.HTTPClient,
		now:          cfg.Now,
		interval:     cfg.RefreshInterval,
		minRefetch:   cfg.MinUnknownKidRefresh,
		log:          cfg.Logger.With("component", "channel_keys"),
		fetchTimeout: 10 * time.Second,
		newParser: func(algs []string) *jwt.Parser {
			return jwt.NewParser(
				jwt.WithValidMethods(algs),
				jwt.WithLeeway(clockSkew),
				jwt.WithAudience(cfg.AppID),
				jwt.WithIssuer(cfg.Issuer),
				jwt.WithExpirationRequired(),
				jwt.WithTimeFunc(cfg.Now),
				// Reject non-canonical base64 so that one token has exactly one encoding.
				jwt.WithStrictDecoding(),
			)
		},
	}
	return v, nil
}

// Ready reports whether signing keys have been loaded at least once.
func (v *ChannelValidator) Ready() bool { return v.keys.snapshot() != nil }

// Refresh fetches the metadata and keys now (joining a fetch already under way). On failure the
// previous keys stay in use.
func (v *ChannelValidator) Refresh(ctx context.Context) error { return v.keys.refresh(ctx) }

// Run keeps the keys fresh until ctx ends: it loads them (retrying with backoff until it
// succeeds) and then refreshes them every RefreshInterval.
func (v *ChannelValidator) Run(ctx context.Context) {
	retry := coldRetry
	for {
		var wait time.Duration
		if err := v.keys.refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = retry
			retry = min(retry*2, 5*time.Minute)
		} else {
			retry = coldRetry
			wait = v.keys.interval
		}
		if sleepCtx(ctx, wait) != nil {
			return
		}
	}
}

// Validate authenticates one request: authorization is the Authorization header, a the decoded
// activity. It returns the token's claims, or an *AuthError. A nil activity is treated as empty
// (and so fails the serviceurl check). It never panics, whatever the header or claims contain.
func (v *ChannelValidator) Validate(ctx context.Context, authorization string, a *Activity) (*Claims, error) {
	if a == nil {
		a = &Activity{}
	}
	token, aerr := bearerToken(authorization)
	if aerr != nil {
		return nil, aerr
	}
	hdr, aerr := peekHeader(token)
	if aerr != nil {
		return nil, aerr
	}
	snap, aerr := v.currentKeys(ctx)
	if aerr != nil {
		return nil, aerr
	}
	if !slices.Contains(snap.algs, hdr.Alg) {
		return nil, authErr(http.StatusUnauthorized, ReasonBadAlgorithm, fmt.Errorf("algorithm %q not allowed", hdr.Alg))
	}

	// Teams sends the same token with every activity for up to an hour. Its signature and
	// time-independent claims need verifying once; the cache keeps only tokens that passed, until
	// they expire, and a hit still requires the signing key to be in the current key set and runs
	// the per-activity checks below.
	sum := sha256.Sum256([]byte(token))
	vt, ok := v.verified.get(sum, v.now())
	if !ok || !snap.has(vt.claims.KeyID) {
		var aerr *AuthError
		vt, aerr = v.verify(ctx, snap, token, hdr)
		if aerr != nil {
			return nil, aerr
		}
		v.verified.put(sum, vt, v.now())
	}
	key := snap.keys[vt.claims.KeyID]
	if len(key.endorsements) > 0 && (a.ChannelID == "" || !slices.Contains(key.endorsements, a.ChannelID)) {
		return nil, authErr(http.StatusForbidden, ReasonEndorsementMissing,
			fmt.Errorf("signing key is not endorsed for channel %q", a.ChannelID))
	}
	if vt.claims.ServiceURL != a.ServiceURL {
		return nil, authErr(http.StatusUnauthorized, ReasonServiceURLMismatch, nil)
	}
	out := vt.claims
	return &out, nil
}

// verify checks the token's signature and claims (everything that does not depend on the
// activity) and returns what the per-activity checks need.
func (v *ChannelValidator) verify(ctx context.Context, snap *keySnapshot, token string, hdr jwtHeader) (verifiedToken, *AuthError) {
	parsed, err := snap.parser.Parse(token, func(t *jwt.Token) (any, error) {
		// Check the issuer before any key work, so a foreign token cannot trigger a JWKS fetch.
		claims, _ := t.Claims.(jwt.MapClaims)
		iss, ok := claims["iss"].(string)
		switch {
		case !ok:
			return nil, authErr(http.StatusUnauthorized, ReasonMissingClaim, errors.New("iss is absent or not a string"))
		case iss != v.issuer:
			return nil, authErr(http.StatusUnauthorized, ReasonBadIssuer, nil)
		}
		key, aerr := v.key(ctx, hdr.Kid)
		if aerr != nil {
			return nil, aerr
		}
		return key.pub, nil
	})
	if err != nil {
		return verifiedToken{}, classify(err)
	}
	claims, _ := parsed.Claims.(jwt.MapClaims)
	serviceURL, ok := claims["serviceurl"].(string)
	if !ok || serviceURL == "" {
		return verifiedToken{}, authErr(http.StatusUnauthorized, ReasonMissingClaim, errors.New("serviceurl is absent or not a string"))
	}
	out := Claims{ServiceURL: serviceURL, KeyID: hdr.Kid}
	out.Issuer, _ = claims.GetIssuer()
	out.Audience, _ = claims.GetAudience()
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		out.ExpiresAt = exp.Time
	}
	return verifiedToken{claims: out, notAfter: out.ExpiresAt.Add(clockSkew)}, nil
}

// bearerToken extracts the token from an Authorization header of the form "Bearer <token>"
// (scheme case-insensitive, exactly two space-separated parts).
func bearerToken(authorization string) (string, *AuthError) {
	if strings.TrimSpace(authorization) == "" {
		return "", authErr(http.StatusUnauthorized, ReasonMissingHeader, nil)
	}
	parts := strings.Fields(authorization)
	if len(parts) != 2 || !strings.EqualFold(parts[0], "Bearer") {
		return "", authErr(http.StatusUnauthorized, ReasonBadScheme, nil)
	}
	return parts[1], nil
}

// jwtHeader is the part of a JOSE header the validator reads before verifying.
type jwtHeader struct {
	Alg string
	Kid string
}

// peekHeader decodes the token's header without verifying anything, so that the algorithm can be
// rejected and the key chosen before any signature work.
func peekHeader(token string) (jwtHeader, *AuthError) {
	malformed := func(msg string) (jwtHeader, *AuthError) {
		return jwtHeader{}, authErr(http.StatusUnauthorized, ReasonMalformedToken, errors.New(msg))
	}
	if len(token) > maxTokenLength {
		return malformed("token too long")
	}
	if strings.Count(token, ".") != 2 {
		return malformed("token is not a compact JWS")
	}
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return malformed("header is not base64url")
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return malformed("header is not a JSON object")
	}
	alg, ok := h["alg"].(string)
	if !ok {
		return jwtHeader{}, authErr(http.StatusUnauthorized, ReasonBadAlgorithm, errors.New("alg is absent or not a string"))
	}
	kid, _ := h["kid"].(string)
	return jwtHeader{Alg: alg, Kid: kid}, nil
}

// currentKeys returns the keys to validate with, loading them on first use and refreshing them
// when older than the refresh interval (rate-limited; stale keys stay in use if that fails).
func (v *ChannelValidator) currentKeys(ctx context.Context) (*keySnapshot, *AuthError) {
	now := v.now()
	snap := v.keys.snapshot()
	if snap == nil || now.Sub(snap.fetchedAt) >= v.keys.interval {
		_ = v.keys.refreshIf(ctx, func(cur *keySnapshot, last time.Time) bool {
			if cur == nil {
				return last.IsZero() || now.Sub(last) >= coldRetry
			}
			return now.Sub(cur.fetchedAt) >= v.keys.interval && now.Sub(last) >= v.keys.minRefetch
		})
		snap = v.keys.snapshot()
	}
	if snap == nil {
		return nil, authErr(http.StatusServiceUnavailable, ReasonKeysUnavailable, errors.New("channel signing keys not loaded"))
	}
	return snap, nil
}

// key returns the signing key kid, refreshing the keys once (rate-limited) if it is unknown.
func (v *ChannelValidator) key(ctx context.Context, kid string) (signingKey, *AuthError) {
	if kid == "" {
		return signingKey{}, authErr(http.StatusUnauthorized, ReasonUnknownKey, errors.New("token has no kid"))
	}
	if k, ok := v.keys.snapshot().keys[kid]; ok {
		return k, nil
	}
	now := v.now()
	err := v.keys.refreshIf(ctx, func(_ *keySnapshot, last time.Time) bool {
		return now.Sub(last) >= v.keys.minRefetch
	})
	if k, ok := v.keys.snapshot().keys[kid]; ok {
		return k, nil
	}
	if err == nil {
		err = errors.New("kid not in the key set")
	}
	return signingKey{}, authErr(http.StatusUnauthorized, ReasonUnknownKey, err)
}

// classify maps a golang-jwt error to an AuthError.
func classify(err error) *AuthError {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae
	}
	reason := ReasonMalformedToken
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = ReasonMalformedToken
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = ReasonBadAlgorithm
	case errors.Is(err, jwt.ErrInvalidType), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = ReasonMissingClaim
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = ReasonBadIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = ReasonBadAudience
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = ReasonNotYetValid
	}
	return authErr(http.StatusUnauthorized, reason, err)
}
