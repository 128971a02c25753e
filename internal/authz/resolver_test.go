package authz

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/credentials"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// clock is an injectable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startSandbox serves a fresh sandbox tenant over TLS and returns it with an app-only Graph client
// built the way production builds it (credentials + graph.NewClient).
func startSandbox(t *testing.T) (*sandbox.Sandbox, *msgraphsdk.GraphServiceClient) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(sb.Handler())
	srv.TLS = sb.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if err := sb.SetBaseURL(srv.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	app := sb.AppCredentials()
	cred, err := credentials.GraphAppOnly(credentials.Config{
		AppID: app.ClientID, TenantID: sb.TenantID(), ClientSecret: app.ClientSecret,
		AuthorityHost: sb.AuthorityHost(), HTTPClient: sb.HTTPClient(),
	})
	if err != nil {
		t.Fatalf("GraphAppOnly: %v", err)
	}
	client, err := graph.NewClient(graph.Options{BaseURL: sb.GraphURL(), Credential: cred, HTTPClient: sb.HTTPClient()})
	if err != nil {
		t.Fatalf("graph.NewClient: %v", err)
	}
	return sb, client
}

func newResolver(t *testing.T, o ResolverOptions) *Resolver {
	t.Helper()
	r, err := NewResolver(o)
	if err != nil {
		t.Fatalf("NewResolver: %v", err)
	}
	return r
}

func TestResolverAgainstSandbox(t *testing.T) {
	sb, client := startSandbox(t)
	const unknownUser = "0d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a"
	tests := []struct {
		name           string
		admin, sponsor string
		tenant, user   string
		want           Roles
		graphCalls     int
	}{
		{"Alex: in both groups", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.TenantID, sandbox.UserAlex, Roles{Admin: true, Sponsor: true}, 2},
		{"Patti: admin group only", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.TenantID, sandbox.UserPatti, Roles{Admin: true}, 2},
		{"Adele: sponsors group only", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.TenantID, sandbox.UserAdele, Roles{Sponsor: true}, 2},
		{"Isaiah: neither group", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.TenantID, sandbox.UserIsaiah, Roles{}, 2},
		{"Isaiah: every member is a sponsor without a sponsor group", sandbox.GroupAdmins, "", sandbox.TenantID, sandbox.UserIsaiah, Roles{Sponsor: true}, 2},
		{"Patti: admin and member sponsor without a sponsor group", sandbox.GroupAdmins, "", sandbox.TenantID, sandbox.UserPatti, Roles{Admin: true, Sponsor: true}, 2},
		{"Alex: no groups configured", "", "", sandbox.TenantID, sandbox.UserAlex, Roles{Sponsor: true}, 1},
		{"Diego: redeemed guest", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.TenantID, sandbox.GuestDiego, Roles{Guest: true}, 1},
		{"Diego: a guest is no sponsor even without a sponsor group", sandbox.GroupAdmins, "", sandbox.TenantID, sandbox.GuestDiego, Roles{Guest: true}, 1},
		{"Johanna: invitation pending", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.TenantID, sandbox.GuestJohanna, Roles{Guest: true}, 1},
		{"a user not in the directory", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.TenantID, unknownUser, Roles{Guest: true}, 1},
		{"a user of another tenant", sandbox.GroupAdmins, sandbox.GroupSponsors, sandbox.ContosoTenantID, sandbox.UserAlex, Roles{Guest: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResolver(t, ResolverOptions{Graph: client, AdminGroupID: tt.admin, SponsorGroupID: tt.sponsor, HomeTenantID: sandbox.TenantID})
			sb.ResetCalls()
			got, err := r.Roles(testCtx(t), tt.tenant, tt.user)
			if err != nil {
				t.Fatalf("Roles: %v", err)
			}
			if got != tt.want {
				t.Errorf("Roles = %+v, want %+v", got, tt.want)
			}
			if n := sb.GraphCalls(); n != tt.graphCalls {
				t.Errorf("Graph calls = %d (%v), want %d", n, sb.Calls(), tt.graphCalls)
			}
		})
	}
}

func TestResolverRefusesInvalidIDs(t *testing.T) {
	sb, client := startSandbox(t)
	r := newResolver(t, ResolverOptions{Graph: client, AdminGroupID: sandbox.GroupAdmins})
	sb.ResetCalls()
	for _, tc := range [][2]string{
		{sandbox.TenantID, ""}, {sandbox.TenantID, ".."}, {sandbox.TenantID, "a/b"}, {sandbox.TenantID, "x?y=1"},
		{sandbox.TenantID, "a b"}, {sandbox.TenantID, strings.Repeat("a", 129)}, {"", sandbox.UserAlex},
	} {
		roles, err := r.Roles(testCtx(t), tc[0], tc[1])
		if !errors.Is(err, ErrInvalidIdentity) || roles != (Roles{}) {
			t.Errorf("Roles(%q, %q) = %+v, %v; want ErrInvalidIdentity", tc[0], tc[1], roles, err)
		}
	}
	if n := sb.GraphCalls(); n != 0 {
		t.Errorf("invalid ids cost %d Graph calls", n)
	}
	if _, err := NewResolver(ResolverOptions{Graph: client, AdminGroupID: "a/b"}); err == nil {
		t.Error("NewResolver accepted an invalid group id")
	}
	if _, err := NewResolver(ResolverOptions{}); err == nil {
		t.Error("NewResolver accepted a nil Graph client")
	}
}

func TestResolverCacheTTL(t *testing.T) {
	sb, client := startSandbox(t)
	clk := newClock()
	r := newResolver(t, ResolverOptions{Graph: client, AdminGroupID: sandbox.GroupAdmins, SponsorGroupID: sandbox.GroupSponsors,
		TTL: 5 * time.Minute, Now: clk.Now})
	want := Roles{Admin: true, Sponsor: true}
	steps := []struct {
		advance time.Duration
		calls   int // Graph calls this step costs
	}{
		{0, 2},                           // first lookup
		{0, 0},                           // cached
		{5*time.Minute - time.Second, 0}, // still fresh
		{time.Second, 2},                 // exactly TTL after the first lookup: expired
		{time.Minute, 0},                 // cached again from the second lookup
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		sb.ResetCalls()
		got, err := r.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAlex)
		if err != nil || got != want {
			t.Fatalf("step %d: Roles = %+v, %v", i, got, err)
		}
		if n := sb.GraphCalls(); n != s.calls {
			t.Errorf("step %d: Graph calls = %d, want %d", i, n, s.calls)
		}
	}
}

func TestResolverCacheIsBounded(t *testing.T) {
	sb, client := startSandbox(t)
	r := newResolver(t, ResolverOptions{Graph: client, AdminGroupID: sandbox.GroupAdmins, SponsorGroupID: sandbox.GroupSponsors, MaxEntries: 2})
	for _, u := range []string{sandbox.UserAlex, sandbox.UserMegan, sandbox.UserAdele} {
		if _, err := r.Roles(testCtx(t), sandbox.TenantID, u); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.mem.len(); n != 2 {
		t.Errorf("cache holds %d entries, want 2", n)
	}
	sb.ResetCalls()
	if _, err := r.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAdele); err != nil {
		t.Fatal(err)
	}
	if n := sb.GraphCalls(); n != 0 {
		t.Errorf("most recent user cost %d Graph calls, want 0 (cached)", n)
	}
	if _, err := r.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAlex); err != nil {
		t.Fatal(err)
	}
	if n := sb.GraphCalls(); n != 2 {
		t.Errorf("evicted user cost %d Graph calls, want 2", n)
	}
}

func TestResolverConcurrent(t *testing.T) {
	_, client := startSandbox(t)
	r := newResolver(t, ResolverOptions{Graph: client, AdminGroupID: sandbox.GroupAdmins, SponsorGroupID: sandbox.GroupSponsors, MaxEntries: 2})
	want := map[string]Roles{
		sandbox.UserAlex:   {Admin: true, Sponsor: true},
		sandbox.UserPatti:  {Admin: true},
		sandbox.UserIsaiah: {},
		sandbox.GuestDiego: {Guest: true},
	}
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 6 {
				for u, w := range want {
					if (i+j)%2 == 0 && u == sandbox.UserIsaiah {
						continue
					}
					got, err := r.Roles(context.Background(), sandbox.TenantID, u)
					if err != nil || got != w {
						failures.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d concurrent lookups returned wrong roles or errors", n)
	}
	if n := r.mem.len(); n > 2 {
		t.Errorf("cache grew to %d entries past its bound of 2", n)
	}
}

func TestResolverSharedCache(t *testing.T) {
	sb, client := startSandbox(t)
	st, err := store.Open(testCtx(t), filepath.Join(t.TempDir(), "guestpass.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clk := newClock()
	opts := ResolverOptions{Graph: client, AdminGroupID: sandbox.GroupAdmins, SponsorGroupID: sandbox.GroupSponsors, Cache: st, Now: clk.Now}
	want := Roles{Admin: true, Sponsor: true}

	first := newResolver(t, opts)
	if got, err := first.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAlex); err != nil || got != want {
		t.Fatalf("first replica: %+v, %v", got, err)
	}

	// A second replica (empty memory) reuses the first one's lookup.
	sb.ResetCalls()
	second := newResolver(t, opts)
	if got, err := second.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAlex); err != nil || got != want {
		t.Fatalf("second replica: %+v, %v", got, err)
	}
	if n := sb.GraphCalls(); n != 0 {
		t.Errorf("second replica made %d Graph calls, want 0", n)
	}

	// A replica configured with other groups must not reuse roles resolved under these.
	other := opts
	other.AdminGroupID = sandbox.GroupApprovers
	third := newResolver(t, other)
	got, err := third.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAlex)
	if err != nil || got != (Roles{Sponsor: true}) {
		t.Fatalf("replica with another admin group: %+v, %v", got, err)
	}
	if n := sb.GraphCalls(); n != 2 {
		t.Errorf("replica with another admin group made %d Graph calls, want 2", n)
	}

	// After the TTL (on the resolvers' clock, whatever the store's says) nobody reuses the entry.
	clk.Advance(DefaultTTL)
	sb.ResetCalls()
	fourth := newResolver(t, opts)
	if _, err := fourth.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAlex); err != nil {
		t.Fatal(err)
	}
	if n := sb.GraphCalls(); n != 2 {
		t.Errorf("lookup after the TTL made %d Graph calls, want 2", n)
	}
}

func TestResolverFailsClosedWithoutPermission(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Without User.Read.All / Group*.Read.All the user lookup is refused.
	sb.SetAppRoles([]string{"EntitlementManagement.ReadWrite.All"})
	srv := httptest.NewUnstartedServer(sb.Handler())
	srv.TLS = sb.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if err := sb.SetBaseURL(srv.URL); err != nil {
		t.Fatal(err)
	}
	app := sb.AppCredentials()
	cred, err := credentials.GraphAppOnly(credentials.Config{AppID: app.ClientID, TenantID: sb.TenantID(), ClientSecret: app.ClientSecret,
		AuthorityHost: sb.AuthorityHost(), HTTPClient: sb.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := graph.NewClient(graph.Options{BaseURL: sb.GraphURL(), Credential: cred, HTTPClient: sb.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	r := newResolver(t, ResolverOptions{Graph: client, AdminGroupID: sandbox.GroupAdmins})
	roles, err := r.Roles(testCtx(t), sandbox.TenantID, sandbox.UserAlex)
	if roles != (Roles{}) {
		t.Errorf("roles on failure = %+v, want none", roles)
	}
	var rerr *ResolveError
	if !errors.As(err, &rerr) {
		t.Fatalf("error = %v, want *ResolveError", err)
	}
	ge, ok := graph.AsError(err)
	if !ok || ge.Status != http.StatusForbidden || ge.Code != "Authorization_RequestDenied" || ge.Op != "get user" {
		t.Errorf("graph error = %+v (ok %v)", ge, ok)
	}
}

// staticToken is a credential for the hand-written Graph endpoint below, which checks only that a
// bearer token arrives.
type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// fakeGraph speaks Graph's JSON for exactly the two calls the resolver makes, so tests can return
// what the sandbox cannot: a 500, or a guest who is in the admin group.
type fakeGraph struct {
	mu           sync.Mutex
	user         map[string]any
	memberOf     []string
	failStatus   int
	userCalls    int
	checkCalls   int
	lastSelect   string
	lastGroupIDs []string
}

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "req-123")
	if r.Header.Get("Authorization") != "Bearer test-token" {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "InvalidAuthenticationToken", "message": "no token"}})
		return
	}
	if f.failStatus != 0 {
		w.WriteHeader(f.failStatus)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"code": "generalException", "message": "General exception while processing",
			"innerError": map[string]any{"request-id": "req-123", "date": "2026-11-25T09:00:00"},
		}})
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1.0/users/"):
		f.userCalls++
		f.lastSelect = r.URL.Query().Get("$select")
		json.NewEncoder(w).Encode(f.user)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/checkMemberGroups"):
		f.checkCalls++
		var body struct {
			GroupIDs []string `json:"groupIds"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		f.lastGroupIDs = body.GroupIDs
		json.NewEncoder(w).Encode(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)", "value": f.memberOf})
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "Request_ResourceNotFound", "message": "not found"}})
	}
}

func startFakeGraph(t *testing.T, f *fakeGraph) *msgraphsdk.GraphServiceClient {
	t.Helper()
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	client, err := graph.NewClient(graph.Options{BaseURL: srv.URL + "/v1.0", Credential: staticToken{}, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

const (
	fakeTenant   = "11111111-1111-1111-1111-111111111111"
	fakeUser     = "22222222-2222-2222-2222-222222222222"
	fakeAdmins   = "33333333-3333-3333-3333-333333333333"
	fakeSponsors = "44444444-4444-4444-4444-444444444444"
)

func TestResolverFailsClosedOnGraph500(t *testing.T) {
	f := &fakeGraph{failStatus: http.StatusInternalServerError,
		user:     map[string]any{"id": fakeUser, "userType": "Member", "userPrincipalName": "alex@contoso.com"},
		memberOf: []string{fakeAdmins}}
	r := newResolver(t, ResolverOptions{Graph: startFakeGraph(t, f), AdminGroupID: fakeAdmins, SponsorGroupID: fakeSponsors})

	roles, err := r.Roles(testCtx(t), fakeTenant, fakeUser)
	if roles != (Roles{}) {
		t.Errorf("roles on failure = %+v, want none", roles)
	}
	var rerr *ResolveError
	if !errors.As(err, &rerr) || rerr.UserOID != fakeUser || rerr.TenantID != fakeTenant {
		t.Fatalf("error = %#v, want *ResolveError for the user", err)
	}
	ge, ok := graph.AsError(err)
	if !ok || ge.Status != 500 || ge.Code != "generalException" || ge.RequestID != "req-123" {
		t.Errorf("graph error = %+v", ge)
	}
	if !strings.Contains(err.Error(), "request-id req-123") {
		t.Errorf("Error() = %q, want the request id", err)
	}

	// Failures are not cached: once Graph recovers, the next message gets real roles.
	f.mu.Lock()
	f.failStatus = 0
	f.mu.Unlock()
	roles, err = r.Roles(testCtx(t), fakeTenant, fakeUser)
	if err != nil || roles != (Roles{Admin: true}) {
		t.Errorf("after recovery: %+v, %v", roles, err)
	}
	if f.checkCalls != 1 || !slices.Equal(f.lastGroupIDs, []string{fakeAdmins, fakeSponsors}) {
		t.Errorf("checkMemberGroups calls = %d with %v, want one call with both groups", f.checkCalls, f.lastGroupIDs)
	}
	if f.lastSelect != "id,userType,userPrincipalName,externalUserState" {
		t.Errorf("$select = %q", f.lastSelect)
	}
}

func TestResolverExternalUsersAreGuests(t *testing.T) {
	tests := []struct {
		name string
		user map[string]any
	}{
		{"userType Guest in the admin group", map[string]any{"id": fakeUser, "userType": "Guest", "userPrincipalName": "diego_contoso.com#EXT#@example.com"}},
		{"member with an #EXT# UPN", map[string]any{"id": fakeUser, "userType": "Member", "userPrincipalName": "diego_contoso.com#ext#@example.com"}},
		{"member invited from another organisation", map[string]any{"id": fakeUser, "userType": "Member", "userPrincipalName": "diego@example.com", "externalUserState": "Accepted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The fake says the user is in both groups; the resolver must not even ask.
			f := &fakeGraph{user: tt.user, memberOf: []string{fakeAdmins, fakeSponsors}}
			r := newResolver(t, ResolverOptions{Graph: startFakeGraph(t, f), AdminGroupID: fakeAdmins, SponsorGroupID: fakeSponsors})
			roles, err := r.Roles(testCtx(t), fakeTenant, fakeUser)
			if err != nil || roles != (Roles{Guest: true}) {
				t.Errorf("Roles = %+v, %v; want guest only", roles, err)
			}
			if f.checkCalls != 0 {
				t.Errorf("checkMemberGroups called %d times for an external user", f.checkCalls)
			}
			if Allowed(roles, ActionAudit) || Allowed(roles, ActionScenarioNew) {
				t.Error("external user allowed an admin or sponsor action")
			}
		})
	}
}
