// Package testenv is the test-only setup the feature packages share: the sandbox tenant served
// over TLS, the bot's app-only credential and Graph client, SQLite stores on one database file,
// the entitlement service, the SSO validator and exchanger, the fake Bot Connector, the
// /api/messages server over a router (open or channel-token validated), and lookups in the
// Adaptive Cards the bot sends.
//
// Everything speaks the production wire protocols over real HTTP; only the tenant and the Bot
// Connector are fakes (package sandbox and package testkit).
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/botframework"
	"guestpass/internal/credentials"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/metrics"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/server"
	"guestpass/internal/sso"
	"guestpass/internal/store"
	"guestpass/internal/testkit"
)

// BotID is the sandbox bot's channel id.
const BotID = "28:" + sandbox.BotAppID

// Options adjust New.
type Options struct {
	// PageSize is the sandbox's Graph page size (0: its default).
	PageSize int
	// ConnectorOptions configure the fake Bot Connector.
	ConnectorOptions []testkit.ConnectorOption
	// Graph, when set, adjusts the options of every Graph client GraphClient builds, after
	// testenv's own (e.g. to record or fault the wire under the middleware, or to keep the
	// production retry policy for tests of it).
	Graph func(*graph.Options)
}

// Tenant is the sandbox tenant over TLS, a SQLite database file and the fake Bot Connector,
// shared by every bot replica a test builds over them.
type Tenant struct {
	t testing.TB
	// Sandbox is the tenant (Graph v1.0 and Entra over TLS).
	Sandbox *sandbox.Sandbox
	// Credentials configure the bot's app-only and on-behalf-of credentials against the sandbox.
	Credentials credentials.Config
	// Graph is an app-only client, built by GraphClient.
	Graph *msgraphsdk.GraphServiceClient
	// GraphCalls observes every call of every client GraphClient builds.
	GraphCalls *graph.CallCounter
	// Connector is the fake Bot Connector.
	Connector *testkit.Connector
	// DBPath is the SQLite database file OpenStore opens.
	DBPath string

	graphOpts func(*graph.Options)
	newMu     sync.Mutex
}

// New starts the sandbox tenant and the fake Bot Connector for the test's lifetime.
func New(t testing.TB, o Options) *Tenant {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{PageSize: o.PageSize})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sb.Handler())
	srv.TLS = sb.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if err := sb.SetBaseURL(srv.URL); err != nil {
		t.Fatal(err)
	}
	creds := sb.AppCredentials()
	e := &Tenant{t: t, Sandbox: sb, GraphCalls: &graph.CallCounter{}, DBPath: filepath.Join(t.TempDir(), "guestpass.db"),
		Connector: testkit.NewConnector(t, o.ConnectorOptions...), graphOpts: o.Graph,
		Credentials: credentials.Config{AppID: creds.ClientID, AppType: credentials.SingleTenant, TenantID: sb.TenantID(),
			ClientSecret: creds.ClientSecret, AuthorityHost: sb.AuthorityHost(), HTTPClient: sb.HTTPClient()}}
	e.Graph = e.AppGraph()
	return e
}

// AppGraph builds a new app-only Graph client with its own token cache, as a freshly started
// bot process would: its token carries the app roles the sandbox grants now, not those an older
// client's cached token was issued with.
func (e *Tenant) AppGraph() *msgraphsdk.GraphServiceClient {
	e.t.Helper()
	cred, err := credentials.GraphAppOnly(e.Credentials)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.GraphClient(cred)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// GraphClient builds a Graph client for the sandbox with cred, the way production does. Safe for
// concurrent use: msgraph-sdk-go's constructor writes package-level state, so constructions are
// serialised (two approvers clicking at once build two delegated clients).
func (e *Tenant) GraphClient(cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
	e.newMu.Lock()
	defer e.newMu.Unlock()
	o := graph.Options{BaseURL: e.Sandbox.GraphURL(), Credential: cred, HTTPClient: e.Sandbox.HTTPClient(),
		Logger: Quiet(), OnCall: e.GraphCalls.Observe, MaxRetries: 1, RetryDelaySeconds: 1}
	if e.graphOpts != nil {
		e.graphOpts(&o)
	}
	return graph.NewClient(o)
}

// OpenStore opens a store handle on the tenant's database file (closed when the test ends); now,
// when set, is its clock.
func (e *Tenant) OpenStore(now func() time.Time) store.Store {
	e.t.Helper()
	opts := []store.Option{store.WithLogger(Quiet())}
	if now != nil {
		opts = append(opts, store.WithClock(now))
	}
	st, err := store.Open(context.Background(), e.DBPath, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	return st
}

// Service builds the entitlement service over st with the app-only client; delegated clients
// come from GraphClient. now may be nil (time.Now).
func (e *Tenant) Service(st store.Store, now func() time.Time) *entitlement.Service {
	e.t.Helper()
	svc, err := entitlement.NewService(entitlement.ServiceOptions{Graph: e.Graph, Store: st, TenantID: e.Sandbox.TenantID(),
		Logger: Quiet(), Now: now,
		DelegatedClient: func(_ context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
			return e.GraphClient(cred)
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// SSO builds the validator and on-behalf-of exchanger for the sandbox's SSO tokens.
func (e *Tenant) SSO() (*sso.Validator, *sso.Exchanger) {
	e.t.Helper()
	appID := e.Credentials.AppID
	v, err := sso.NewValidator(sso.Config{AuthorityHost: e.Sandbox.AuthorityHost(),
		Audiences: []string{"api://botid-" + appID, appID}, HTTPClient: e.Sandbox.HTTPClient(), Logger: Quiet()})
	if err != nil {
		e.t.Fatal(err)
	}
	fac, err := credentials.NewOnBehalfOfFactory(e.Credentials)
	if err != nil {
		e.t.Fatal(err)
	}
	x, err := sso.NewExchanger(fac, sso.GraphScope(e.Sandbox.GraphURL()))
	if err != nil {
		e.t.Fatal(err)
	}
	return v, x
}

// SSOSettings are the sign-in request settings of the sandbox's bot app.
func (e *Tenant) SSOSettings() sso.Settings {
	appID := e.Credentials.AppID
	return sso.Settings{ConnectionName: sso.DefaultConnectionName, Resource: "api://botid-" + appID,
		SignInURL: sso.ConsentURL(e.Sandbox.AuthorityHost(), e.Sandbox.TenantID(), appID, "https://bot.example/auth/end")}
}

// Token mints the Teams SSO token Teams would attach to a click of user oid.
func (e *Tenant) Token(oid string) string {
	e.t.Helper()
	tok, err := e.Sandbox.MintSSOToken(oid)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// Serve serves /api/messages (local mode: no channel token) over st and conn with the routes
// register adds, until the test ends.
func (e *Tenant) Serve(st store.Store, conn *botframework.Connector, register func(*router.Mux)) *httptest.Server {
	e.t.Helper()
	return e.serve(server.Config{Store: st, Connector: conn, Unauthenticated: true}, register)
}

// ServeValidated serves /api/messages as production does, accepting only activities whose
// channel token v validates, over st and conn with the routes register adds, until the test ends.
func (e *Tenant) ServeValidated(st store.Store, conn *botframework.Connector, v server.Validator, register func(*router.Mux)) *httptest.Server {
	e.t.Helper()
	return e.serve(server.Config{Store: st, Connector: conn, Validator: v}, register)
}

func (e *Tenant) serve(cfg server.Config, register func(*router.Mux)) *httptest.Server {
	e.t.Helper()
	mux := router.New()
	mux.Use(router.Recover())
	register(mux)
	cfg.Mux, cfg.Metrics, cfg.Logger = mux, metrics.New(), Quiet()
	srv, err := server.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	api := httptest.NewServer(srv.Handler())
	e.t.Cleanup(api.Close)
	return api
}

// Response is the HTTP answer to an activity posted to /api/messages, with the invoke response
// decoded.
type Response struct {
	Status int
	Body   struct {
		StatusCode int             `json:"statusCode"`
		Type       string          `json:"type"`
		Value      json.RawMessage `json:"value"`
	}
	Raw string
}

// Post posts a to the /api/messages of the server at baseURL.
func Post(t testing.TB, baseURL string, a *botframework.Activity) Response {
	t.Helper()
	res, err := http.Post(baseURL+"/api/messages", "application/json", bytes.NewReader(testkit.JSON(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := Response{Status: res.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// WithSSOToken returns a with value.authentication carrying token, as Teams re-sends a click
// after a sign-in request.
func WithSSOToken(t testing.TB, a *botframework.Activity, token string) *botframework.Activity {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(a.Value, &v); err != nil {
		t.Fatal(err)
	}
	v["authentication"] = map[string]string{"id": "x1", "connectionName": sso.DefaultConnectionName, "token": token}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	a.Value = b
	return a
}

// Contains reports whether s contains every one of subs.
func Contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// Quiet is a logger that discards everything.
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
