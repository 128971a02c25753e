package approvals_test

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
	"github.com/infracloudio/msbotbuilder-go/schema"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/approvals"
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

const botID = "28:" + sandbox.BotAppID

// env is a complete approvals setup over real protocols: the sandbox tenant (Graph + Entra over
// TLS), a SQLite store, the fake Bot Connector, the production connector client and the
// /api/messages server.
type env struct {
	t         testing.TB
	sb        *sandbox.Sandbox
	st        store.Store
	dbURL     string
	conn      *testkit.Connector
	connector *botframework.Connector
	svc       *entitlement.Service
	graphOps  *graph.CallCounter
	graph     *msgraphsdk.GraphServiceClient
	validator *sso.Validator
	exchanger *sso.Exchanger
	app       *approvals.Approvals
	api       *httptest.Server
	deps      approvals.Deps
}

type envOptions struct {
	connectorOpts []testkit.ConnectorOption
	pacer         *botframework.Pacer
	now           func() time.Time
	pageSize      int
	localToken    bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{PageSize: o.pageSize})
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
	e := &env{t: t, sb: sb, graphOps: &graph.CallCounter{}}
	e.dbURL = filepath.Join(t.TempDir(), "guestpass.db")
	e.st = e.openStore(o.now)

	creds := sb.AppCredentials()
	ccfg := credentials.Config{AppID: creds.ClientID, AppType: credentials.SingleTenant, TenantID: sb.TenantID(),
		ClientSecret: creds.ClientSecret, AuthorityHost: sb.AuthorityHost(), HTTPClient: sb.HTTPClient()}
	appCred, err := credentials.GraphAppOnly(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	// msgraph-sdk-go's client constructor writes a package-level backing-store factory, so two
	// concurrent constructions race (two approvers clicking at once build two delegated clients).
	// graph.NewClient should serialise it; until then the wiring does.
	var newMu sync.Mutex
	newGraph := func(cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
		newMu.Lock()
		defer newMu.Unlock()
		return graph.NewClient(graph.Options{BaseURL: sb.GraphURL(), Credential: cred, HTTPClient: sb.HTTPClient(),
			Logger: quiet(), OnCall: e.graphOps.Observe, MaxRetries: 1, RetryDelaySeconds: 1})
	}
	gc, err := newGraph(appCred)
	if err != nil {
		t.Fatal(err)
	}
	e.graph = gc
	e.svc, err = entitlement.NewService(entitlement.ServiceOptions{Graph: gc, Store: e.st, TenantID: sb.TenantID(), Logger: quiet(),
		DelegatedClient: func(_ context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
			return newGraph(cred)
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.validator, err = sso.NewValidator(sso.Config{AuthorityHost: sb.AuthorityHost(),
		Audiences: []string{"api://botid-" + creds.ClientID, creds.ClientID}, HTTPClient: sb.HTTPClient(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	fac, err := credentials.NewOnBehalfOfFactory(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.exchanger, err = sso.NewExchanger(fac, sso.GraphScope(sb.GraphURL())); err != nil {
		t.Fatal(err)
	}

	e.conn = testkit.NewConnector(t, o.connectorOpts...)
	pacer := o.pacer
	if pacer == nil {
		pacer = botframework.NewPacer(botframework.PacerConfig{})
	}
	e.connector = botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: e.conn.Client(), Pacer: pacer,
		Logger: quiet(), Timeout: 5 * time.Second, BaseBackoff: 10 * time.Millisecond})

	e.deps = approvals.Deps{
		Store: e.st, Entitlement: e.svc, Connector: e.connector, Validator: e.validator, Exchanger: e.exchanger,
		SSO: approvals.SSOSettings{ConnectionName: "guestpass-sso", Resource: "api://botid-" + creds.ClientID,
			SignInURL: sso.ConsentURL(sb.AuthorityHost(), sb.TenantID(), creds.ClientID, "https://bot.example/auth/end")},
		TenantID: sb.TenantID(), BotID: botID, ServiceURL: e.conn.ServiceURL,
		PollInterval: 50 * time.Millisecond, Holder: "replica-a", Now: o.now, Logger: quiet(),
	}
	if o.localToken {
		e.deps.LocalToken = func(_ context.Context, _, oid string) (string, error) { return sb.MintSSOToken(oid) }
	}
	e.app = e.newApprovals(e.deps)
	e.api = e.serve(e.app)
	return e
}

func (e *env) openStore(now func() time.Time) store.Store {
	e.t.Helper()
	var opts []store.Option
	if now != nil {
		opts = append(opts, store.WithClock(now))
	}
	st, err := store.Open(context.Background(), e.dbURL, append(opts, store.WithLogger(quiet()))...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	return st
}

func (e *env) newApprovals(d approvals.Deps) *approvals.Approvals {
	e.t.Helper()
	a, err := approvals.New(d)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// serve serves /api/messages (local mode: no channel token) with a's routes.
func (e *env) serve(a *approvals.Approvals) *httptest.Server {
	mux := router.New()
	mux.Use(router.Recover())
	a.Register(mux)
	srv, err := server.New(server.Config{Mux: mux, Store: e.st, Connector: e.connector, Unauthenticated: true,
		Metrics: metrics.New(), Logger: quiet()})
	if err != nil {
		e.t.Fatal(err)
	}
	api := httptest.NewServer(srv.Handler())
	e.t.Cleanup(api.Close)
	return api
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// scenario provisions a guest scenario whose stages are approved by the given users, with Alex as
// sponsor, and returns its access package id.
func (e *env) scenario(name string, stages ...[]string) string {
	e.t.Helper()
	sc := entitlement.Scenario{
		Name: name, Partners: []entitlement.Partner{{Domain: sandbox.ContosoDomain, TenantID: sandbox.ContosoTenantID}},
		Resources: []entitlement.Resource{{Kind: entitlement.ResourceGroup, OriginID: sandbox.GroupProjectX,
			Role: entitlement.Role{OriginID: "Member_" + sandbox.GroupProjectX, DisplayName: "Member"}}},
		Approval:     entitlement.Approval{Required: true},
		DurationDays: 30, OwnerOID: sandbox.UserAlex,
	}
	for _, approvers := range stages {
		st := entitlement.Stage{AutoDenyAfterDays: 14}
		for _, oid := range approvers {
			st.Approvers = append(st.Approvers, entitlement.Approver{Kind: entitlement.ApproverUser, ID: oid})
		}
		sc.Approval.Stages = append(sc.Approval.Stages, st)
	}
	got, err := e.svc.CreateScenario(context.Background(), sc)
	if err != nil {
		e.t.Fatalf("CreateScenario: %v", err)
	}
	return got.AccessPackageID
}

// guestRequest submits a request from a Contoso guest, as the guest would in My Access.
func (e *env) guestRequest(pkg, email string) string {
	e.t.Helper()
	id, err := e.sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: email, GuestDisplayName: "Guest " + email,
		AccessPackageID: pkg, Justification: "Working on the launch"})
	if err != nil {
		e.t.Fatalf("SubmitGuestRequest: %v", err)
	}
	return id
}

// personal stores a personal conversation for a user, as the server does when they message the bot.
func (e *env) personal(oid, conversationID string) {
	e.t.Helper()
	if err := e.st.UpsertConversation(context.Background(), store.ConversationRef{ConversationID: conversationID,
		ConversationType: "personal", ServiceURL: e.conn.ServiceURL, TenantID: e.sb.TenantID(), BotID: botID,
		UserID: "29:" + oid, UserAADObjectID: oid}); err != nil {
		e.t.Fatal(err)
	}
}

// cycle runs one detection pass and delivers everything due.
func (e *env) cycle(a *approvals.Approvals) {
	e.t.Helper()
	ctx := context.Background()
	if err := a.Poll(ctx); err != nil {
		e.t.Fatalf("Poll: %v", err)
	}
	if _, err := a.Deliver(ctx); err != nil {
		e.t.Fatalf("Deliver: %v", err)
	}
}

// cardsTo returns the card sends to a conversation.
func (e *env) sends(conversationID string) []testkit.Call {
	var out []testkit.Call
	for _, c := range e.conn.Calls() {
		if c.Op == botframework.OpSend && c.ConversationID == conversationID && c.Status == http.StatusCreated {
			out = append(out, c)
		}
	}
	return out
}

func (e *env) updates(conversationID string) []testkit.Call {
	var out []testkit.Call
	for _, c := range e.conn.Calls() {
		if c.Op == botframework.OpUpdate && c.ConversationID == conversationID && c.Status == http.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

// cardJSON returns the card of an activity as JSON text.
func cardJSON(t testing.TB, act *botframework.Outgoing) string {
	t.Helper()
	if act == nil || len(act.Attachments) != 1 {
		t.Fatalf("activity is not one card: %+v", act)
	}
	b, err := json.Marshal(act.Attachments[0].Content)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// click posts an approval click from user oid in conversation conv to /api/messages and decodes
// the invoke response.
type clickResult struct {
	Status int
	Body   struct {
		StatusCode int             `json:"statusCode"`
		Type       string          `json:"type"`
		Value      json.RawMessage `json:"value"`
	}
	Raw string
}

func (e *env) click(oid, conv, verb, requestID, stage, justification, token string) clickResult {
	e.t.Helper()
	a := testkit.ActionInvoke(e.conn.ServiceURL, verb, map[string]string{"verb": verb, "requestId": requestID,
		"nonce": stage, "justification": justification})
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "user " + oid, AadObjectID: oid}
	a.Conversation.ID = conv
	if token != "" {
		var v map[string]any
		_ = json.Unmarshal(a.Value, &v)
		v["authentication"] = map[string]string{"id": "x1", "connectionName": "guestpass-sso", "token": token}
		a.Value, _ = json.Marshal(v)
	}
	return e.post(a)
}

func (e *env) post(a *botframework.Activity) clickResult {
	e.t.Helper()
	res, err := http.Post(e.api.URL+"/api/messages", "application/json", bytes.NewReader(testkit.JSON(e.t, a)))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out clickResult
	out.Status, out.Raw = res.StatusCode, string(raw)
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

func (e *env) token(oid string) string {
	e.t.Helper()
	tok, err := e.sb.MintSSOToken(oid)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// requestState reads a request in the sandbox app-only through the service.
func (e *env) requestState(id string) entitlement.Request {
	e.t.Helper()
	r, err := e.svc.RequestState(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// audit lists audit entries with an action.
func (e *env) audit(action string) []store.AuditEntry {
	e.t.Helper()
	out, err := e.st.ListAudit(context.Background(), store.AuditQuery{Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// run starts the feature's loops until the test ends.
func (e *env) run(a *approvals.Approvals) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}
