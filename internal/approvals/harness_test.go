package approvals_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/approvals"
	"guestpass/internal/botframework"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/teamsapp"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

const botID = testenv.BotID

// env is a complete approvals setup over real protocols: the sandbox tenant (Graph + Entra over
// TLS), a SQLite store, the fake Bot Connector, the production connector client and the
// /api/messages server.
type env struct {
	t         testing.TB
	tn        *testenv.Tenant
	sb        *sandbox.Sandbox
	st        store.Store
	conn      *testkit.Connector
	connector *botframework.Connector
	svc       *entitlement.Service
	graphOps  *graph.CallCounter
	graph     *msgraphsdk.GraphServiceClient
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
	// appInstalls makes the fake connector refuse conversations with users who do not have the
	// bot's app in the sandbox tenant (Teams' rule), so installing through Graph is what makes a
	// conversation creatable.
	appInstalls bool
	// installer turns on installing the app for unreachable recipients (TEAMS_APP_CATALOG_ID).
	installer bool
	// appRoles, when set, are the app permissions of the bot's app from the start (before the
	// first app-only token is cached).
	appRoles []string
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	connectorOpts := o.connectorOpts
	var tenant *sandbox.Sandbox // set before the connector serves its first request
	if o.appInstalls {
		connectorOpts = append(slices.Clone(connectorOpts), testkit.WithInstalledApps(func(oid string) bool { return tenant.AppInstalled(oid) }))
	}
	tn := testenv.New(t, testenv.Options{PageSize: o.pageSize, ConnectorOptions: connectorOpts})
	tenant = tn.Sandbox
	if o.appRoles != nil {
		tn.Sandbox.SetAppRoles(o.appRoles)
	}
	e := &env{t: t, tn: tn, sb: tn.Sandbox, graphOps: tn.GraphCalls, graph: tn.Graph, conn: tn.Connector}
	e.st = e.openStore(o.now)
	e.svc = tn.Service(e.st, nil)
	validator, exchanger := tn.SSO()

	pacer := o.pacer
	if pacer == nil {
		pacer = botframework.NewPacer(botframework.PacerConfig{})
	}
	e.connector = botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: e.conn.Client(), Pacer: pacer,
		Logger: quiet(), Timeout: 5 * time.Second, BaseBackoff: 10 * time.Millisecond})

	e.deps = approvals.Deps{
		Store: e.st, Entitlement: e.svc, Connector: e.connector, Validator: validator, Exchanger: exchanger,
		SSO:      tn.SSOSettings(),
		TenantID: e.sb.TenantID(), BotID: botID, ServiceURL: e.conn.ServiceURL,
		PollInterval: 50 * time.Millisecond, Holder: "replica-a", Now: o.now, Logger: quiet(),
	}
	if o.localToken {
		e.deps.LocalToken = func(_ context.Context, _, oid string) (string, error) { return e.sb.MintSSOToken(oid) }
	}
	if o.installer {
		inst, err := teamsapp.New(teamsapp.Options{Graph: tn.Graph, CatalogID: sandbox.TeamsAppCatalogID, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		e.deps.Installer = inst
	}
	e.app = e.newApprovals(e.deps)
	e.api = e.serve(e.app)
	return e
}

// openStore opens another store handle on the env's database file.
func (e *env) openStore(now func() time.Time) store.Store { return e.tn.OpenStore(now) }

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
	return e.tn.Serve(e.st, e.connector, a.Register)
}

func quiet() *slog.Logger { return testenv.Quiet() }

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
	return testenv.CardOf(t, act).Raw
}

// clickResult is the HTTP answer to a posted activity with the invoke response decoded.
type clickResult = testenv.Response

// click posts an approval click from user oid in conversation conv to /api/messages and decodes
// the invoke response.
func (e *env) click(oid, conv, verb, requestID, stage, justification, token string) clickResult {
	e.t.Helper()
	a := testkit.ActionInvoke(e.conn.ServiceURL, verb, map[string]string{"verb": verb, "requestId": requestID,
		"nonce": stage, "justification": justification})
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "user " + oid, AadObjectID: oid}
	a.Conversation.ID = conv
	if token != "" {
		testenv.WithSSOToken(e.t, a, token)
	}
	return e.post(a)
}

func (e *env) post(a *botframework.Activity) clickResult {
	e.t.Helper()
	return testenv.Post(e.t, e.api.URL, a)
}

func (e *env) token(oid string) string { return e.tn.Token(oid) }

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

var contains = testenv.Contains

// run starts the feature's loops until the test ends.
func (e *env) run(a *approvals.Approvals) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}
