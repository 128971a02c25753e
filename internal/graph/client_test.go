package graph

import (
	"context"

	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// staticCred hands out a fixed token and records the scopes asked for.
type staticCred struct {
	mu     sync.Mutex
	scopes [][]string
}

func (c *staticCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, o.Scopes)
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// fakeGraph is a scripted Graph endpoint: each request pops the next response for its
// "METHOD path" key (the last one repeats).
type fakeGraph struct {
	srv *httptest.Server

	mu      sync.Mutex
	script  map[string][]scripted
	seen    []*http.Request
	bodies  []string
	authHdr []string
}

type scripted struct {
	status  int
	headers map[string]string
	body    string
}

func newFakeGraph(t *testing.T) *fakeGraph {
	t.Helper()
	f := &fakeGraph{script: map[string][]scripted{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, r)
		f.bodies = append(f.bodies, string(body))
		f.authHdr = append(f.authHdr, r.Header.Get("Authorization"))
		key := r.Method + " " + r.URL.Path
		rs := f.script[key]
		var s scripted
		switch len(rs) {
		case 0:
			s = scripted{status: 404, body: `{"error":{"code":"Request_ResourceNotFound","message":"no script for ` + key + `"}}`}
		case 1:
			s = rs[0]
		default:
			s, f.script[key] = rs[0], rs[1:]
		}
		f.mu.Unlock()
		for k, v := range s.headers {
			w.Header().Set(k, v)
		}
		if s.body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) on(method, path string, rs ...scripted) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[method+" "+path] = rs
}

func (f *fakeGraph) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

func (f *fakeGraph) client(t *testing.T, counter *CallCounter, mod ...func(*Options)) (*msgraphsdk.GraphServiceClient, *staticCred) {
	t.Helper()
	cred := &staticCred{}
	opts := Options{BaseURL: f.srv.URL + "/v1.0", Credential: cred, HTTPClient: f.srv.Client(), RetryDelaySeconds: 1}
	if counter != nil {
		opts.OnCall = counter.Observe
	}
	for _, m := range mod {
		m(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, cred
}

const userJSON = `{"id":"u1","displayName":"Adele"}`

func graphErr(code, msg, reqID string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q,"innerError":{"request-id":%q,"client-request-id":"c-1","date":"2026-01-02T03:04:05Z"}}}`, code, msg, reqID)
}

func TestClientAuthenticatesAgainstConfiguredHost(t *testing.T) {
	f := newFakeGraph(t)
	f.on("GET", "/v1.0/users/u1", scripted{status: 200, body: userJSON})
	c, cred := f.client(t, nil)
	u, err := c.Users().ByUserId("u1").Get(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *u.GetDisplayName() != "Adele" {
		t.Errorf("display name %q", *u.GetDisplayName())
	}
	if f.authHdr[0] != "Bearer test-token" {
		t.Errorf("Authorization = %q: the configured host was not an allowed host", f.authHdr[0])
	}
	wantScope := f.srv.URL + "/.default"
	if len(cred.scopes) != 1 || len(cred.scopes[0]) != 1 || cred.scopes[0][0] != wantScope {
		t.Errorf("scopes %v, want [%s]", cred.scopes, wantScope)
	}
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Credential: &staticCred{}, BaseURL: "graph.microsoft.com/v1.0"},
		{Credential: &staticCred{}, BaseURL: "http://graph.example.com/v1.0"},
		{Credential: &staticCred{}, BaseURL: "ftp://graph.example.com/v1.0"},
	} {
		if _, err := NewClient(o); err == nil {
			t.Errorf("NewClient(%+v) accepted", o)
		}
	}
}

func TestRetryHonoursRetryAfterThenSucceeds(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		method   string
		wantOK   bool
		wantSeen int
	}{
		{"GET 429", 429, "GET", true, 2},
		{"GET 503", 503, "GET", true, 2},
		{"GET 504", 504, "GET", true, 2},
		{"POST 429", 429, "POST", true, 2},
		{"POST 503", 503, "POST", true, 2},
		// A POST that timed out at the gateway may have been applied: never retried blindly.
		{"POST 504", 504, "POST", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t)
			first := scripted{status: tt.status, headers: map[string]string{"Retry-After": "0", "request-id": "r-throttle"},
				body: graphErr("TooManyRequests", "slow down", "r-throttle")}
			var counter CallCounter
			c, _ := f.client(t, &counter)
			ctx := WithOperation(context.Background(), "op")
			var err error
			if tt.method == "GET" {
				f.on("GET", "/v1.0/users/u1", first, scripted{status: 200, body: userJSON})
				_, err = c.Users().ByUserId("u1").Get(ctx, nil)
			} else {
				f.on("POST", "/v1.0/invitations", first, scripted{status: 201, body: `{"id":"i1"}`})
				inv := models.NewInvitation()
				email := "g@example.com"
				inv.SetInvitedUserEmailAddress(&email)
				_, err = c.Invitations().Post(ctx, inv, nil)
			}
			if (err == nil) != tt.wantOK {
				t.Fatalf("err = %v, want ok=%v", err, tt.wantOK)
			}
			if got := f.requests(); got != tt.wantSeen {
				t.Errorf("server saw %d requests, want %d", got, tt.wantSeen)
			}
			if got := counter.Count("op"); got != tt.wantSeen {
				t.Errorf("counter = %d, want %d", got, tt.wantSeen)
			}
			if tt.method == "POST" && tt.wantOK && f.bodies[0] != f.bodies[1] {
				t.Errorf("retried body differs: %q vs %q", f.bodies[0], f.bodies[1])
			}
			if !tt.wantOK {
				ge, ok := AsError(err)
				if !ok || ge.Status != tt.status {
					t.Errorf("error %v is not a %d *Error", err, tt.status)
				}
			}
		})
	}
}

func TestRetryGivesUpOnLongRetryAfter(t *testing.T) {
	f := newFakeGraph(t)
	f.on("GET", "/v1.0/users/u1", scripted{status: 429, headers: map[string]string{"Retry-After": "120"},
		body: graphErr("TooManyRequests", "Too many requests", "r-429")})
	c, _ := f.client(t, nil, func(o *Options) { o.MaxRetryAfter = 10 * time.Second })
	_, err := c.Users().ByUserId("u1").Get(context.Background(), nil)
	if !IsThrottled(err) {
		t.Fatalf("err = %v, want throttled", err)
	}
	ge, _ := AsError(err)
	if ge.RetryAfter != 120*time.Second || ge.RequestID != "r-429" || ge.Code != "TooManyRequests" {
		t.Errorf("error = %+v", ge)
	}
	if f.requests() != 1 {
		t.Errorf("server saw %d requests, want 1 (no sleeping through a 2-minute Retry-After)", f.requests())
	}
}

func TestRetryStopsAtMaxRetries(t *testing.T) {
	f := newFakeGraph(t)
	f.on("GET", "/v1.0/users/u1", scripted{status: 503, headers: map[string]string{"Retry-After": "0"}, body: graphErr("serviceUnavailable", "busy", "r")})
	c, _ := f.client(t, nil, func(o *Options) { o.MaxRetries = 2 })
	_, err := c.Users().ByUserId("u1").Get(context.Background(), nil)
	if ge, ok := AsError(err); !ok || ge.Status != 503 {
		t.Fatalf("err = %v", err)
	}
	if f.requests() != 3 {
		t.Errorf("server saw %d requests, want 1 + 2 retries", f.requests())
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name                              string
		resp                              scripted
		status                            int
		code, reqID                       string
		notFound, conflict, forbidden, th bool
	}{
		{"404 odata", scripted{status: 404, body: graphErr("Request_ResourceNotFound", "gone", "r404")}, 404, "Request_ResourceNotFound", "r404", true, false, false, false},
		{"409 odata", scripted{status: 409, body: graphErr("Conflict", "already", "r409")}, 409, "Conflict", "r409", false, true, false, false},
		{"403 odata", scripted{status: 403, body: graphErr("Authorization_RequestDenied", "no", "r403")}, 403, "Authorization_RequestDenied", "r403", false, false, true, false},
		{"500 not json", scripted{status: 500, headers: map[string]string{"request-id": "rh500", "Content-Type": "text/plain"}, body: ""}, 500, "", "rh500", false, false, false, false},
		{"400 odata without innerError", scripted{status: 400, headers: map[string]string{"request-id": "rh400"}, body: `{"error":{"code":"BadRequest"}}`}, 400, "BadRequest", "rh400", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t)
			f.on("GET", "/v1.0/users/u1", tt.resp)
			c, _ := f.client(t, nil)
			_, raw := c.Users().ByUserId("u1").Get(context.Background(), nil)
			err := Wrap("get user", raw)
			ge, ok := AsError(err)
			if !ok {
				t.Fatalf("AsError(%v) = false", err)
			}
			if ge.Status != tt.status || ge.Code != tt.code || ge.RequestID != tt.reqID || ge.Op != "get user" {
				t.Errorf("got %+v", ge)
			}
			if IsNotFound(err) != tt.notFound || IsConflict(err) != tt.conflict || IsForbidden(err) != tt.forbidden || IsThrottled(err) != tt.th {
				t.Errorf("kind helpers wrong for %+v", ge)
			}
			// Wrapped again with context, the kind survives.
			if IsNotFound(fmt.Errorf("outer: %w", err)) != tt.notFound {
				t.Error("kind lost through wrapping")
			}
			if !strings.Contains(ge.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("message %q lacks the status", ge.Error())
			}
		})
	}
	t.Run("odata fields", func(t *testing.T) {
		f := newFakeGraph(t)
		f.on("GET", "/v1.0/users/u1", scripted{status: 409, body: graphErr("Conflict", "The request has already been approved", "r-1")})
		c, _ := f.client(t, nil)
		_, err := c.Users().ByUserId("u1").Get(context.Background(), nil)
		ge, _ := AsError(err)
		if ge.Message != "The request has already been approved" || ge.ClientRequestID != "c-1" || ge.Date != "2026-01-02T03:04:05Z" {
			t.Errorf("got %+v", ge)
		}
	})
	t.Run("non graph errors", func(t *testing.T) {
		if _, ok := AsError(errors.New("dial tcp: refused")); ok {
			t.Error("plain error reported as a Graph error")
		}
		if Wrap("x", nil) != nil {
			t.Error("Wrap(nil) != nil")
		}
		if err := Wrap("get", context.Canceled); !errors.Is(err, context.Canceled) {
			t.Errorf("Wrap lost the cause: %v", err)
		}
	})
}

func TestEachFollowsNextLinks(t *testing.T) {
	f := newFakeGraph(t)
	page := func(ids []string, next string) string {
		var vals []string
		for _, id := range ids {
			vals = append(vals, fmt.Sprintf(`{"id":%q}`, id))
		}
		s := `{"value":[` + strings.Join(vals, ",") + `]`
		if next != "" {
			s += `,"@odata.nextLink":"` + f.srv.URL + next + `"`
		}
		return s + "}"
	}
	// The nextLink path is the same collection with a skip token; the script pops in order.
	f.on("GET", "/v1.0/users",
		scripted{status: 200, body: page([]string{"a", "b"}, "/v1.0/users?$skiptoken=2")},
		scripted{status: 429, headers: map[string]string{"Retry-After": "0"}, body: graphErr("TooManyRequests", "x", "r")},
		scripted{status: 200, body: page([]string{"c", "d"}, "/v1.0/users?$skiptoken=4")},
		scripted{status: 200, body: page([]string{"e"}, "")},
	)
	var counter CallCounter
	c, _ := f.client(t, &counter)
	ctx := WithOperation(context.Background(), "list")
	first, err := c.Users().Get(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = Each(ctx, c, "list users", first, models.CreateUserCollectionResponseFromDiscriminatorValue, func(u models.Userable) error {
		got = append(got, *u.GetId())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("items %v", got)
	}
	if counter.Count("list") != 4 {
		t.Errorf("calls = %d, want 4 (3 pages + 1 throttled retry)", counter.Count("list"))
	}
	for _, a := range f.authHdr {
		if a != "Bearer test-token" {
			t.Errorf("a page went without the token: %q", a)
		}
	}

	t.Run("stop and callback error", func(t *testing.T) {
		f.on("GET", "/v1.0/users", scripted{status: 200, body: page([]string{"a", "b"}, "/v1.0/users?$skiptoken=2")})
		first, _ := c.Users().Get(ctx, nil)
		n := 0
		if err := Each(ctx, c, "x", first, models.CreateUserCollectionResponseFromDiscriminatorValue, func(models.Userable) error {
			n++
			return Stop
		}); err != nil || n != 1 {
			t.Errorf("Stop: err=%v n=%d", err, n)
		}
		boom := errors.New("boom")
		if err := Each(ctx, c, "x", first, models.CreateUserCollectionResponseFromDiscriminatorValue, func(models.Userable) error {
			return boom
		}); !errors.Is(err, boom) {
			t.Errorf("callback error = %v", err)
		}
	})

	t.Run("failing next page is a graph error", func(t *testing.T) {
		f.on("GET", "/v1.0/users",
			scripted{status: 200, body: page([]string{"a"}, "/v1.0/users?$skiptoken=1")},
			scripted{status: 403, body: graphErr("Authorization_RequestDenied", "denied", "r-page")})
		first, _ := c.Users().Get(ctx, nil)
		err := Each(ctx, c, "list users", first, models.CreateUserCollectionResponseFromDiscriminatorValue, func(models.Userable) error { return nil })
		ge, ok := AsError(err)
		if !ok || ge.Status != 403 || ge.Code != "Authorization_RequestDenied" || ge.RequestID != "r-page" {
			t.Errorf("err = %v (%+v)", err, ge)
		}
	})
}

func TestQueryValuesAreEncodedOnTheWire(t *testing.T) {
	f := newFakeGraph(t)
	f.on("GET", "/v1.0/users", scripted{status: 200, body: `{"value":[]}`})
	c, _ := f.client(t, nil)
	filter := EqFilter("mail", "o'brien+tag&x=1#frag@zoë.example")
	_, err := c.Users().Get(context.Background(), &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := f.seen[0].URL.Query().Get("$filter")
	if got != "mail eq 'o''brien+tag&x=1#frag@zoë.example'" {
		t.Errorf("server decoded $filter = %q", got)
	}
}

func TestCallCounter(t *testing.T) {
	var c CallCounter
	c.Observe(Call{Operation: "a"})
	c.Observe(Call{Operation: "a"})
	c.Observe(Call{Operation: "b"})
	if c.Count("a") != 2 || c.Count("b") != 1 || c.Total() != 3 || len(c.Calls()) != 3 {
		t.Errorf("counts %v", c.Counts())
	}
	c.Reset()
	if c.Total() != 0 || c.Count("a") != 0 {
		t.Error("reset kept counts")
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Now()
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(-time.Minute).UTC().Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("Retry-After", tt.v)
		got, ok := retryAfter(h)
		if ok != tt.ok || got != tt.want {
			t.Errorf("retryAfter(%q) = %v,%v want %v,%v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
	// An HTTP date in the future yields roughly the gap.
	h := http.Header{}
	h.Set("Retry-After", now.Add(90*time.Second).UTC().Format(http.TimeFormat))
	if d, ok := retryAfter(h); !ok || d < 60*time.Second || d > 91*time.Second {
		t.Errorf("date Retry-After = %v", d)
	}
}
