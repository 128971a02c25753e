package onboarding

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

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/credentials"
	"guestpass/internal/dialogs"
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

// env is the sandbox tenant (Graph + Entra over TLS), a SQLite database file and the fake Bot
// Connector, shared by the bot replicas (bots) a test starts over them.
type env struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	db    string
	conn  *testkit.Connector
	newGC func(cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error)
	app   *msgraphsdk.GraphServiceClient
	ccfg  credentials.Config
}

// bot is one guestpass process: store handle, services, the onboarding feature and /api/messages.
type bot struct {
	e   *env
	st  store.Store
	svc *entitlement.Service
	o   *Onboarding
	api *httptest.Server
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newEnv(t *testing.T) *env {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{})
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
	e := &env{t: t, sb: sb, db: filepath.Join(t.TempDir(), "guestpass.db"), conn: testkit.NewConnector(t, testkit.WithoutRateLimit())}
	creds := sb.AppCredentials()
	e.ccfg = credentials.Config{AppID: creds.ClientID, AppType: credentials.SingleTenant, TenantID: sb.TenantID(),
		ClientSecret: creds.ClientSecret, AuthorityHost: sb.AuthorityHost(), HTTPClient: sb.HTTPClient()}
	appCred, err := credentials.GraphAppOnly(e.ccfg)
	if err != nil {
		t.Fatal(err)
	}
	// msgraph-sdk-go's constructor writes package-level state; serialise constructions.
	var mu sync.Mutex
	e.newGC = func(cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
		mu.Lock()
		defer mu.Unlock()
		return graph.NewClient(graph.Options{BaseURL: sb.GraphURL(), Credential: cred, HTTPClient: sb.HTTPClient(),
			Logger: quiet(), MaxRetries: 1, RetryDelaySeconds: 1})
	}
	if e.app, err = e.newGC(appCred); err != nil {
		t.Fatal(err)
	}
	return e
}

type botOptions struct {
	dailyLimit int
	now        func() time.Time
}

// start builds a bot replica over the env's database.
func (e *env) start(o botOptions) *bot {
	t := e.t
	t.Helper()
	ctx := context.Background()
	var sopts []store.Option
	if o.now != nil {
		sopts = append(sopts, store.WithClock(o.now))
	}
	st, err := store.Open(ctx, e.db, append(sopts, store.WithLogger(quiet()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := entitlement.NewService(entitlement.ServiceOptions{Graph: e.app, Store: st, TenantID: e.sb.TenantID(), Logger: quiet(), Now: o.now,
		DelegatedClient: func(_ context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
			return e.newGC(cred)
		}})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := authz.NewResolver(authz.ResolverOptions{Graph: e.app, AdminGroupID: sandbox.GroupAdmins,
		SponsorGroupID: sandbox.GroupSponsors, HomeTenantID: sandbox.TenantID, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	creds := e.sb.AppCredentials()
	validator, err := sso.NewValidator(sso.Config{AuthorityHost: e.sb.AuthorityHost(),
		Audiences: []string{"api://botid-" + creds.ClientID, creds.ClientID}, HTTPClient: e.sb.HTTPClient(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	fac, err := credentials.NewOnBehalfOfFactory(e.ccfg)
	if err != nil {
		t.Fatal(err)
	}
	exchanger, err := sso.NewExchanger(fac, sso.GraphScope(e.sb.GraphURL()))
	if err != nil {
		t.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: e.conn.Client(), MaxRetries: -1, Logger: quiet(), Timeout: 5 * time.Second})
	ob, err := New(Deps{Store: st, Service: svc, Roles: roles, Connector: conn, Validator: validator, Exchanger: exchanger,
		SSO:      SSOSettings{Resource: "api://botid-" + creds.ClientID, SignInURL: sso.ConsentURL(e.sb.AuthorityHost(), e.sb.TenantID(), creds.ClientID, "https://bot.example/auth/end")},
		TenantID: e.sb.TenantID(), BotID: botID, ServiceURL: e.conn.ServiceURL, Organisation: "Example Corp",
		DailyLimit: o.dailyLimit, Holder: "replica-a", Now: o.now, Logger: quiet(), PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := router.New()
	mux.Use(router.Recover())
	if _, err := dialogs.Register(mux, dialogs.Deps{Store: st, Service: svc, Roles: roles, Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	ob.Register(mux)
	srv, err := server.New(server.Config{Mux: mux, Store: st, Connector: conn, Unauthenticated: true, Metrics: metrics.New(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	b := &bot{e: e, st: st, svc: svc, o: ob, api: httptest.NewServer(srv.Handler())}
	t.Cleanup(b.api.Close)
	t.Cleanup(func() { _ = ob.Shutdown(context.Background()) })
	return b
}

// scenario provisions a Contoso scenario owned by owner, approved by Megan.
func (b *bot) scenario(name, owner string, mutate func(*entitlement.Scenario)) entitlement.Scenario {
	b.e.t.Helper()
	sc := entitlement.Scenario{
		Name: name, Description: "Launch collaboration", Partners: []entitlement.Partner{{Domain: sandbox.ContosoDomain, TenantID: sandbox.ContosoTenantID}},
		Resources: []entitlement.Resource{{Kind: entitlement.ResourceGroup, OriginID: sandbox.GroupProjectX, DisplayName: "Project X",
			Role: entitlement.Role{OriginID: "Member_" + sandbox.GroupProjectX, DisplayName: "Member"}}},
		Approval: entitlement.Approval{Required: true, Stages: []entitlement.Stage{{AutoDenyAfterDays: 14,
			Approvers: []entitlement.Approver{{Kind: entitlement.ApproverUser, ID: sandbox.UserMegan}}}}},
		DurationDays: 30, AllowExtension: true, OwnerOID: owner,
	}
	if mutate != nil {
		mutate(&sc)
	}
	got, err := b.svc.CreateScenario(context.Background(), sc)
	if err != nil {
		b.e.t.Fatalf("CreateScenario: %v", err)
	}
	return got
}

// grant gives a guest a delivered assignment of the scenario, as My Access and an approver would.
func (e *env) grant(pkg, email string) string {
	e.t.Helper()
	id, err := e.sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: email, AccessPackageID: pkg, GuestDisplayName: "Guest"})
	if err != nil {
		e.t.Fatalf("SubmitGuestRequest: %v", err)
	}
	if err := e.sb.DecideAs(sandbox.UserMegan, id, "Approve", "ok"); err != nil {
		e.t.Fatalf("DecideAs: %v", err)
	}
	return id
}

type result struct {
	Status int
	Body   struct {
		StatusCode int             `json:"statusCode"`
		Type       string          `json:"type"`
		Value      json.RawMessage `json:"value"`
	}
}

func conversationOf(oid string) string { return "a:personal-" + oid }

// click posts an Action.Execute from user oid in their personal chat; token, when set, is the
// SSO token Teams would attach.
func (b *bot) click(oid string, data map[string]string, token string) result {
	b.e.t.Helper()
	a := testkit.ActionInvoke(b.e.conn.ServiceURL, data[cards.KeyVerb], data)
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "User " + oid[len(oid)-2:], AadObjectID: oid}
	a.Conversation.ID = conversationOf(oid)
	a.Conversation.TenantID = sandbox.TenantID
	a.ChannelData.Tenant = &botframework.IDRef{ID: sandbox.TenantID}
	if token != "" {
		var v map[string]any
		_ = json.Unmarshal(a.Value, &v)
		v["authentication"] = map[string]string{"id": "x1", "connectionName": DefaultConnectionName, "token": token}
		a.Value, _ = json.Marshal(v)
	}
	return b.post(a)
}

// say posts a typed message from oid in their personal chat.
func (b *bot) say(oid, text string) result {
	b.e.t.Helper()
	a := testkit.PersonalMessage(b.e.conn.ServiceURL, text)
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "User " + oid[len(oid)-2:], AadObjectID: oid}
	a.Conversation.ID = conversationOf(oid)
	a.Conversation.TenantID = sandbox.TenantID
	a.ChannelData.Tenant = &botframework.IDRef{ID: sandbox.TenantID}
	return b.post(a)
}

func (b *bot) post(a *botframework.Activity) result {
	b.e.t.Helper()
	res, err := http.Post(b.api.URL+"/api/messages", "application/json", bytes.NewReader(testkit.JSON(b.e.t, a)))
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out result
	out.Status = res.StatusCode
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

// cardText returns the card an invoke answered with, as JSON text.
func (r result) cardText(t *testing.T) string {
	t.Helper()
	if r.Status != http.StatusOK || r.Body.Type != botframework.InvokeTypeAdaptiveCard {
		t.Fatalf("want a card response, got %d %s %s", r.Status, r.Body.Type, r.Body.Value)
	}
	return string(r.Body.Value)
}

// nonceOf finds the invite nonce in a card.
func nonceOf(t *testing.T, card string) string {
	t.Helper()
	i := strings.Index(card, `"nonce":"`)
	if i < 0 {
		t.Fatalf("card has no nonce: %s", card)
	}
	rest := card[i+len(`"nonce":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// activities returns the activities the bot sent (op send or update) to a conversation, as JSON.
func (e *env) activities(op, conversationID string) []string {
	var out []string
	for _, c := range e.conn.Calls() {
		if c.Op == op && c.ConversationID == conversationID && c.Activity != nil {
			b, _ := json.Marshal(c.Activity)
			out = append(out, string(b))
		}
	}
	return out
}

// mailsTo counts the sandbox mails sent to an address.
func (e *env) mailsTo(addr string) int {
	n := 0
	for _, m := range e.sb.SentMail() {
		b, _ := json.Marshal(m.Message["toRecipients"])
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(addr)) {
			n++
		}
	}
	return n
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// formData is the Continue click of the invite form with its inputs.
func formData(nonce, scenarioID, addresses, delivery string) map[string]string {
	return map[string]string{cards.KeyVerb: cards.VerbWizardNext, cards.KeyDialog: cards.DialogInvite, cards.KeyStep: cards.StepInviteForm,
		cards.KeyNonce: nonce, cards.InputInviteScenario: scenarioID, cards.InputInviteAddresses: addresses, cards.InputInviteDelivery: delivery}
}

func sendData(nonce string) map[string]string { return resumeData(nonce) }

// wait waits for a bot's running batches to finish.
func (b *bot) wait() { b.o.bg.Wait() }
