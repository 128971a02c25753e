package onboarding

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/dialogs"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

const botID = testenv.BotID

// env is the sandbox tenant (Graph + Entra over TLS), a SQLite database file and the fake Bot
// Connector, shared by the bot replicas (bots) a test starts over them.
type env struct {
	t    *testing.T
	tn   *testenv.Tenant
	sb   *sandbox.Sandbox
	conn *testkit.Connector
	app  *msgraphsdk.GraphServiceClient
}

// bot is one guestpass process: store handle, services, the onboarding feature and /api/messages.
type bot struct {
	e   *env
	st  store.Store
	svc *entitlement.Service
	o   *Onboarding
	api *httptest.Server
}

func quiet() *slog.Logger { return testenv.Quiet() }

func newEnv(t *testing.T) *env {
	t.Helper()
	tn := testenv.New(t, testenv.Options{ConnectorOptions: []testkit.ConnectorOption{testkit.WithoutRateLimit()}})
	return &env{t: t, tn: tn, sb: tn.Sandbox, conn: tn.Connector, app: tn.Graph}
}

type botOptions struct {
	dailyLimit int
	now        func() time.Time
}

// start builds a bot replica over the env's database.
func (e *env) start(o botOptions) *bot {
	t := e.t
	t.Helper()
	st := e.tn.OpenStore(o.now)
	svc := e.tn.Service(st, o.now)
	roles, err := authz.NewResolver(authz.ResolverOptions{Graph: e.app, AdminGroupID: sandbox.GroupAdmins,
		SponsorGroupID: sandbox.GroupSponsors, HomeTenantID: sandbox.TenantID, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	validator, exchanger := e.tn.SSO()
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: e.conn.Client(), MaxRetries: -1, Logger: quiet(), Timeout: 5 * time.Second})
	ob, err := New(Deps{Store: st, Service: svc, Roles: roles, Connector: conn, Validator: validator, Exchanger: exchanger,
		SSO: e.tn.SSOSettings(), TenantID: e.sb.TenantID(), BotID: botID, ServiceURL: e.conn.ServiceURL, Organisation: "Example Corp",
		DailyLimit: o.dailyLimit, Holder: "replica-a", Now: o.now, Logger: quiet(), PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	api := e.tn.Serve(st, conn, func(mux *router.Mux) {
		if _, err := dialogs.Register(mux, dialogs.Deps{Store: st, Service: svc, Roles: roles, Logger: quiet()}); err != nil {
			t.Fatal(err)
		}
		ob.Register(mux)
	})
	t.Cleanup(func() { _ = ob.Shutdown(context.Background()) })
	return &bot{e: e, st: st, svc: svc, o: ob, api: api}
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

// result is the HTTP answer to a posted activity with the invoke response decoded.
type result struct{ testenv.Response }

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
		testenv.WithSSOToken(b.e.t, a, token)
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
	return result{testenv.Post(b.e.t, b.api.URL, a)}
}

func (e *env) token(oid string) string { return e.tn.Token(oid) }

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

var contains = testenv.Contains

// formData is the Continue click of the invite form with its inputs.
func formData(nonce, scenarioID, addresses, delivery string) map[string]string {
	return map[string]string{cards.KeyVerb: cards.VerbWizardNext, cards.KeyDialog: cards.DialogInvite, cards.KeyStep: cards.StepInviteForm,
		cards.KeyNonce: nonce, cards.InputInviteScenario: scenarioID, cards.InputInviteAddresses: addresses, cards.InputInviteDelivery: delivery}
}

func sendData(nonce string) map[string]string { return resumeData(nonce) }

// wait waits for a bot's running batches to finish.
func (b *bot) wait() { b.o.bg.Wait() }
