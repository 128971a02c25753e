package authz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"guestpass/internal/graph"
	"guestpass/internal/store"
)

// DefaultTTL is how long resolved roles are reused. Short, because removing someone from the admin
// group must take effect quickly; long enough that a conversation costs one Graph lookup.
const DefaultTTL = 5 * time.Minute

// DefaultMaxEntries bounds the in-memory role cache.
const DefaultMaxEntries = 10000

// userSelect is what Roles reads about a user: enough to tell members from external users.
var userSelect = []string{"id", "userType", "userPrincipalName", "externalUserState"}

// KV is the shared cache Resolver can use in addition to its in-memory one, so that replicas
// reuse each other's lookups. store.Store satisfies it; a miss is reported as store.ErrNotFound.
type KV interface {
	GetKV(ctx context.Context, key string) ([]byte, error)
	PutKV(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// ResolverOptions configure NewResolver.
type ResolverOptions struct {
	// Graph is an app-only client for the bot's home tenant (User.Read.All and
	// GroupMember.Read.All, or Directory.Read.All). Required.
	Graph *msgraphsdk.GraphServiceClient
	// AdminGroupID is the Entra group whose transitive members are admins; empty means nobody is.
	AdminGroupID string
	// SponsorGroupID is the group whose transitive members are sponsors; empty means every member
	// user of the tenant is.
	SponsorGroupID string
	// HomeTenantID, when set, is the only tenant whose users can hold roles: a user from any other
	// tenant (a shared channel's external participant) is a guest without a Graph lookup, because
	// the bot's directory does not describe them.
	HomeTenantID string
	// TTL is how long resolved roles are reused (default DefaultTTL).
	TTL time.Duration
	// MaxEntries bounds the in-memory cache (default DefaultMaxEntries); the least recently used
	// entry is evicted first.
	MaxEntries int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Cache is an optional shared cache, normally the store.
	Cache KV
	// Logger receives cache and Graph failures (default slog.Default()).
	Logger *slog.Logger
}

// Resolver resolves a Teams user's guestpass roles through Microsoft Graph and caches them. It is
// safe for concurrent use.
type Resolver struct {
	graph        *msgraphsdk.GraphServiceClient
	adminGroup   string
	sponsorGroup string
	homeTenant   string
	ttl          time.Duration
	now          func() time.Time
	kv           KV
	kvPrefix     string
	log          *slog.Logger
	mem          *lru
}

// NewResolver returns a Resolver for o.
func NewResolver(o ResolverOptions) (*Resolver, error) {
	if o.Graph == nil {
		return nil, errors.New("authz: NewResolver: Graph client is required")
	}
	if o.TTL < 0 || o.MaxEntries < 0 {
		return nil, fmt.Errorf("authz: NewResolver: negative TTL (%s) or MaxEntries (%d)", o.TTL, o.MaxEntries)
	}
	for name, id := range map[string]string{"AdminGroupID": o.AdminGroupID, "SponsorGroupID": o.SponsorGroupID} {
		if id != "" && !validID(id) {
			return nil, fmt.Errorf("authz: NewResolver: %s %q is not an object id", name, id)
		}
	}
	r := &Resolver{
		graph:        o.Graph,
		adminGroup:   o.AdminGroupID,
		sponsorGroup: o.SponsorGroupID,
		homeTenant:   o.HomeTenantID,
		ttl:          o.TTL,
		now:          o.Now,
		kv:           o.Cache,
		log:          o.Logger,
	}
	if r.ttl == 0 {
		r.ttl = DefaultTTL
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	maxEntries := o.MaxEntries
	if maxEntries == 0 {
		maxEntries = DefaultMaxEntries
	}
	r.mem = newLRU(maxEntries)
	// The shared key carries a fingerprint of the group configuration, so a deployment that
	// changes ADMIN_GROUP_ID never reads roles resolved under the old group.
	sum := sha256.Sum256([]byte(o.AdminGroupID + "\x00" + o.SponsorGroupID + "\x00" + o.HomeTenantID))
	r.kvPrefix = "authz:roles:v1:" + hex.EncodeToString(sum[:6]) + ":"
	return r, nil
}

// ErrInvalidIdentity reports a tenant or user id Roles refuses before calling Graph.
var ErrInvalidIdentity = errors.New("authz: invalid tenant or user id")

// ResolveError reports that roles could not be resolved because a Graph call failed. Roles returns
// the zero Roles with it: the caller must not grant anything and should tell the user that their
// permissions could not be checked. Err is a *graph.Error (status, code, request id) when Graph
// answered; use graph.AsError to read it.
type ResolveError struct {
	TenantID string
	UserOID  string
	Err      error
}

func (e *ResolveError) Error() string {
	return "authz: resolve roles of user " + e.UserOID + ": " + e.Err.Error()
}

func (e *ResolveError) Unwrap() error { return e.Err }

// Roles returns the roles of the user with object id userOID in tenantID, from the cache when a
// lookup younger than the TTL exists, else from Graph. On failure it returns the zero Roles and a
// *ResolveError (ErrInvalidIdentity for ids it refuses to send); failures are not cached, so the
// next message retries.
func (r *Resolver) Roles(ctx context.Context, tenantID, userOID string) (Roles, error) {
	if !validID(tenantID) || !validID(userOID) {
		return Roles{}, fmt.Errorf("%w: tenant %q, user %q", ErrInvalidIdentity, truncate(tenantID), truncate(userOID))
	}
	key := strings.ToLower(tenantID) + ":" + strings.ToLower(userOID)
	now := r.now()
	if roles, ok := r.mem.get(key, now); ok {
		return roles, nil
	}
	if roles, ok := r.kvGet(ctx, key, now); ok {
		r.mem.put(key, roles, now.Add(r.ttl))
		return roles, nil
	}

	roles, err := r.lookup(ctx, tenantID, userOID)
	if err != nil {
		attrs := []any{slog.String("tenant_id", tenantID), slog.String("user_oid", userOID), slog.Any("error", err)}
		if ge, ok := graph.AsError(err); ok {
			attrs = append(attrs, slog.String("graph_request_id", ge.RequestID), slog.Int("status", ge.Status))
		}
		r.log.WarnContext(ctx, "authz: role resolution failed; treating the user as having no roles", attrs...)
		return Roles{}, err
	}
	now = r.now()
	r.mem.put(key, roles, now.Add(r.ttl))
	r.kvPut(ctx, key, roles, now)
	return roles, nil
}

// lookup asks Graph: the user first (external users need nothing more), then one checkMemberGroups
// call covering both groups.
func (r *Resolver) lookup(ctx context.Context, tenantID, userOID string) (Roles, error) {
	if r.homeTenant != "" && !strings.EqualFold(tenantID, r.homeTenant) {
		return Roles{Guest: true}, nil
	}
	user, err := r.graph.Users().ByUserId(userOID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userSelect},
	})
	if err != nil {
		if graph.IsNotFound(err) {
			// Not in the bot's directory: a participant from another tenant (shared channels,
			// B2B direct connect). Such users are external by definition.
			return Roles{Guest: true}, nil
		}
		return Roles{}, &ResolveError{TenantID: tenantID, UserOID: userOID, Err: graph.Wrap("get user", err)}
	}
	userType := deref(user.GetUserType())
	if strings.EqualFold(userType, "Guest") ||
		strings.Contains(strings.ToUpper(deref(user.GetUserPrincipalName())), "#EXT#") ||
		deref(user.GetExternalUserState()) != "" {
		return Roles{Guest: true}, nil
	}
	member := strings.EqualFold(userType, "Member")

	var groups []string
	if r.adminGroup != "" {
		groups = append(groups, r.adminGroup)
	}
	if r.sponsorGroup != "" && !strings.EqualFold(r.sponsorGroup, r.adminGroup) {
		groups = append(groups, r.sponsorGroup)
	}
	roles := Roles{Sponsor: r.sponsorGroup == "" && member}
	if len(groups) == 0 {
		return roles, nil
	}
	body := users.NewItemCheckMemberGroupsPostRequestBody()
	body.SetGroupIds(groups)
	resp, err := r.graph.Users().ByUserId(userOID).CheckMemberGroups().PostAsCheckMemberGroupsPostResponse(ctx, body, nil)
	if err != nil {
		return Roles{}, &ResolveError{TenantID: tenantID, UserOID: userOID, Err: graph.Wrap("check member groups", err)}
	}
	for _, id := range resp.GetValue() {
		if r.adminGroup != "" && strings.EqualFold(id, r.adminGroup) {
			roles.Admin = true
		}
		if r.sponsorGroup != "" && strings.EqualFold(id, r.sponsorGroup) {
			roles.Sponsor = true
		}
	}
	return roles, nil
}

// cachedRoles is the shared cache's value. Expires is checked against the resolver's clock, not
// only the store's TTL, so an injected clock governs both cache levels.
type cachedRoles struct {
	Admin   bool      `json:"admin,omitempty"`
	Sponsor bool      `json:"sponsor,omitempty"`
	Guest   bool      `json:"guest,omitempty"`
	Expires time.Time `json:"expires"`
}

func (r *Resolver) kvGet(ctx context.Context, key string, now time.Time) (Roles, bool) {
	if r.kv == nil {
		return Roles{}, false
	}
	data, err := r.kv.GetKV(ctx, r.kvPrefix+key)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			r.log.WarnContext(ctx, "authz: shared role cache read failed", slog.Any("error", err))
		}
		return Roles{}, false
	}
	var c cachedRoles
	if err := json.Unmarshal(data, &c); err != nil || !now.Before(c.Expires) {
		return Roles{}, false
	}
	// Never trust a cached entry further than this resolver's own TTL.
	if c.Expires.After(now.Add(r.ttl)) {
		return Roles{}, false
	}
	return Roles{Admin: c.Admin, Sponsor: c.Sponsor, Guest: c.Guest}, true
}

func (r *Resolver) kvPut(ctx context.Context, key string, roles Roles, now time.Time) {
	if r.kv == nil {
		return
	}
	data, err := json.Marshal(cachedRoles{Admin: roles.Admin, Sponsor: roles.Sponsor, Guest: roles.Guest, Expires: now.Add(r.ttl)})
	if err == nil {
		err = r.kv.PutKV(ctx, r.kvPrefix+key, data, r.ttl)
	}
	if err != nil {
		r.log.WarnContext(ctx, "authz: shared role cache write failed", slog.Any("error", err))
	}
}

// validID accepts Entra object and tenant ids, and the sandbox's readable ids, while refusing
// anything that could change the meaning of a Graph URL path.
func validID(s string) bool {
	if len(s) > 128 || strings.Trim(s, ".") == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
