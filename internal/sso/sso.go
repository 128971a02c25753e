// Package sso turns the Teams SSO token of an Action.Execute click into the clicking user's
// delegated Microsoft Graph credential, for one operation.
//
// Validate checks the token exactly as a resource server must (teams-bot-protocol.md §3.4): the
// signature against the user's tenant's OpenID signing keys at the configured authority, the
// audience (the SSO resource api://botid-{appId} or the SSO app id), the issuer (the tenant's v2.0
// issuer, or the v1 sts.windows.net issuer in the public cloud), the lifetime, that it is a user
// token, and that its oid/tid are the activity's sender and tenant. Exchange then swaps it
// on-behalf-of for a Graph token. The token and the credential are never stored or logged; the
// credential is for the caller's one operation.
//
// Errors wrap one of ErrExpired, ErrInvalidToken, ErrWrongUser, ErrConsentRequired and
// ErrUnavailable, which map directly onto the invoke responses Teams expects.
package sso

import (
	"context"
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

	"guestpass/internal/credentials"
)

// Defaults for Config fields left zero.
const (
	DefaultRefreshInterval = 24 * time.Hour
	DefaultMinRefetch      = 5 * time.Minute
	// clockSkew is the tolerance on exp and nbf (as Microsoft.IdentityModel's default).
	clockSkew = 5 * time.Minute
	// maxTokenLength bounds the work spent on a token; Entra access tokens are 1–3 KB.
	maxTokenLength = 16 << 10
)

// publicAuthority is the public cloud's authority; only there do v1 tokens carry the
// sts.windows.net issuer.
const publicAuthority = "https://login.microsoftonline.com"

// Config configures a Validator.
type Config struct {
	// AuthorityHost is the Entra authority, e.g. https://login.microsoftonline.com/ (the sandbox's
	// base URL in local mode). Empty means the public cloud.
	AuthorityHost string
	// Audiences are the accepted aud values: the SSO resource (api://botid-{appId}) and the SSO
	// app id. At least one is required.
	Audiences []string
	// HTTPClient fetches metadata and keys; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock for token lifetimes and key refreshes; default time.Now.
	Now func() time.Time
	// RefreshInterval is the maximum age of a tenant's keys (default and maximum 24 h).
	RefreshInterval time.Duration
	// MinRefetch is the minimum time between key downloads for one tenant caused by an unknown
	// kid or a failure (default 5 min).
	MinRefetch time.Duration
	// Logger receives key refresh logs; default slog.Default().
	Logger *slog.Logger
}

// Identity is the validated user behind an SSO token.
type Identity struct {
	// OID and TenantID are the token's oid and tid, equal to the activity's sender and tenant.
	OID      string
	TenantID string
	// Name and Username (preferred_username / upn) are for display only.
	Name     string
	Username string
	// ExpiresAt is the token's expiry.
	ExpiresAt time.Time
}

// Validator validates Teams SSO tokens. It is safe for concurrent use.
type Validator struct {
	auds   []string
	public bool
	base   string
	now    func() time.Time
	keys   *keyCache
}

// NewValidator returns a Validator for cfg. It fetches nothing until the first token.
func NewValidator(cfg Config) (*Validator, error) {
	var auds []string
	for _, a := range cfg.Audiences {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(auds, a) {
			auds = append(auds, a)
		}
	}
	if len(auds) == 0 {
		return nil, errors.New("sso: at least one audience (the SSO resource or app id) is required")
	}
	authority := strings.TrimSpace(cfg.AuthorityHost)
	if authority == "" {
		authority = publicAuthority
	}
	u, err := url.Parse(authority)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("sso: authority host %q must be an https URL", cfg.AuthorityHost)
	}
	authority = strings.TrimRight(authority, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshInterval <= 0 || cfg.RefreshInterval > DefaultRefreshInterval {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = DefaultMinRefetch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Validator{
		auds:   auds,
		public: credentials.IsPublicAuthority(authority),
		base:   authority,
		now:    cfg.Now,
		keys: &keyCache{
			authority:  authority,
			client:     cfg.HTTPClient,
			now:        cfg.Now,
			refresh:    cfg.RefreshInterval,
			minRefetch: cfg.MinRefetch,
			log:        cfg.Logger.With("component", "sso_keys"),
			tenants:    map[string]*tenantKeys{},
		},
	}, nil
}

// ssoClaims are the claims Validate reads. Entra sends oid/tid as strings; anything else fails.
type ssoClaims struct {
	jwt.RegisteredClaims
	OID               string `json:"oid"`
	TID               string `json:"tid"`
	Scope             string `json:"scp"`
	IDType            string `json:"idtyp"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	UPN               string `json:"upn"`
}

// Validate checks token and requires it to belong to userOID in tenantID (the activity's
// from.aadObjectId and tenant). It never panics, whatever token contains.
func (v *Validator) Validate(ctx context.Context, token, tenantID, userOID string) (*Identity, error) {
	if strings.TrimSpace(tenantID) == "" || strings.TrimSpace(userOID) == "" {
		// Without the activity's identity there is nothing to bind the token to.
		return nil, fmt.Errorf("%w: the activity carries no user object id or tenant", ErrWrongUser)
	}
	if token == "" || len(token) > maxTokenLength || strings.Count(token, ".") != 2 {
		return nil, fmt.Errorf("%w: not a compact JWT", ErrInvalidToken)
	}
	// Check the tenant before any key work: a token from another tenant must not make the bot
	// download that tenant's keys.
	tid, err := unverifiedTenant(token)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(tid, tenantID) {
		return nil, fmt.Errorf("%w: token tenant differs from the activity's tenant", ErrWrongUser)
	}
	var issuer string
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithLeeway(clockSkew),
		jwt.WithAudience(v.auds...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
		jwt.WithStrictDecoding(),
	)
	var c ssoClaims
	_, err = parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, fmt.Errorf("%w: token has no kid", ErrInvalidToken)
		}
		k, iss, err := v.keys.key(ctx, tid, kid)
		if err != nil {
			return nil, err
		}
		issuer = iss
		return k, nil
	})
	if err != nil {
		return nil, classify(err)
	}
	if !v.validIssuer(c.Issuer, tid, issuer) {
		return nil, fmt.Errorf("%w: issuer is not the tenant's", ErrInvalidToken)
	}
	if !strings.EqualFold(c.TID, tenantID) {
		return nil, fmt.Errorf("%w: token tenant differs from the activity's tenant", ErrWrongUser)
	}
	if c.IDType == "app" || strings.TrimSpace(c.Scope) == "" {
		return nil, fmt.Errorf("%w: not a delegated user token", ErrInvalidToken)
	}
	if c.OID == "" {
		return nil, fmt.Errorf("%w: token has no oid", ErrInvalidToken)
	}
	if !strings.EqualFold(c.OID, userOID) {
		return nil, fmt.Errorf("%w: token oid differs from the activity's sender", ErrWrongUser)
	}
	id := &Identity{OID: c.OID, TenantID: c.TID, Name: c.Name, Username: c.PreferredUsername}
	if id.Username == "" {
		id.Username = c.UPN
	}
	if c.ExpiresAt != nil {
		id.ExpiresAt = c.ExpiresAt.Time
	}
	return id, nil
}

// validIssuer accepts the tenant's metadata issuer, {authority}/{tid}/v2.0 and, in the public
// cloud, the v1 issuer https://sts.windows.net/{tid}/ (Teams SSO tokens are v1 unless the app
// registration asks for v2).
func (v *Validator) validIssuer(iss, tid, metadataIssuer string) bool {
	if iss == "" {
		return false
	}
	if metadataIssuer != "" && iss == metadataIssuer {
		return true
	}
	if iss == v.base+"/"+tid+"/v2.0" {
		return true
	}
	return v.public && iss == "https://sts.windows.net/"+tid+"/"
}

// unverifiedTenant reads tid from the token's payload without verifying anything.
func unverifiedTenant(token string) (string, error) {
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload is not base64url", ErrInvalidToken)
	}
	var p struct {
		TID any `json:"tid"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("%w: payload is not a JSON object", ErrInvalidToken)
	}
	tid, ok := p.TID.(string)
	if !ok || tid == "" {
		return "", fmt.Errorf("%w: token has no tid", ErrInvalidToken)
	}
	return tid, nil
}

// classify maps a golang-jwt failure onto the package's error kinds.
func classify(err error) error {
	for _, kind := range []error{ErrUnavailable, ErrInvalidToken, ErrWrongUser} {
		if errors.Is(err, kind) {
			return err
		}
	}
	if errors.Is(err, jwt.ErrTokenExpired) {
		return fmt.Errorf("%w: %v", ErrExpired, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidToken, err)
}
