package dialogs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/dialogs"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

const botAppID = "11111111-2222-3333-4444-555555555555"

// tenant is the shared test tenant (sandbox Graph over HTTPS with the demo organisation, the
// database file and the fake Bot Connector) plus the channel-token issuer that signs activities,
// shared by every bot replica of a test.
type tenant struct {
	*testenv.Tenant
	issuer *testkit.ChannelIssuer
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	return &tenant{Tenant: testenv.New(t, testenv.Options{ConnectorOptions: []testkit.ConnectorOption{testkit.WithoutRateLimit()}}),
		issuer: testkit.NewChannelIssuer(t)}
}

// bot is one guestpass replica: its own store handle, services, router and HTTP server, talking to
// the shared tenant, database file and fake Bot Connector.
type bot struct {
	t       *testing.T
	tn      *tenant
	store   store.Store
	dialogs *dialogs.Dialogs
	http    *httptest.Server
	closed  bool
}

type botOptions struct {
	now func() time.Time
	ttl time.Duration
}

func (tn *tenant) start(t *testing.T, o botOptions) *bot {
	t.Helper()
	quiet := testenv.Quiet()
	st := tn.OpenStore(nil)
	// Each replica has its own app-only client (own token cache), as a restarted process would.
	g := tn.AppGraph()
	svc, err := entitlement.NewService(entitlement.ServiceOptions{Graph: g, Store: st, TenantID: sandbox.TenantID, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := authz.NewResolver(authz.ResolverOptions{Graph: g, AdminGroupID: sandbox.GroupAdmins,
		SponsorGroupID: sandbox.GroupSponsors, HomeTenantID: sandbox.TenantID, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	v, err := botframework.NewChannelValidator(botframework.ChannelValidatorConfig{AppID: botAppID, Issuer: tn.issuer.Issuer,
		MetadataURL: tn.issuer.MetadataURL, HTTPClient: tn.issuer.Client(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: tn.Connector.Client(), MaxRetries: -1, Logger: quiet})
	var d *dialogs.Dialogs
	srv := tn.ServeValidated(st, conn, v, func(mux *router.Mux) {
		if d, err = dialogs.Register(mux, dialogs.Deps{Store: st, Service: svc, Roles: roles, Now: o.now, TTL: o.ttl, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		// What the app answers when nothing else matched.
		mux.HandleActivity(botframework.TypeMessage, func(ctx context.Context, turn *router.Turn) error {
			_, err := turn.SendText(ctx, "unknown command")
			return err
		})
	})
	b := &bot{t: t, tn: tn, store: st, dialogs: d, http: srv}
	t.Cleanup(b.close)
	return b
}

// close stops the replica as the process would: no more requests, background work finished,
// database closed.
func (b *bot) close() {
	if b.closed {
		return
	}
	b.closed = true
	b.http.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.dialogs.Shutdown(ctx); err != nil {
		b.t.Errorf("dialogs shutdown: %v", err)
	}
	_ = b.store.Close()
}

// post sends a signed activity to /api/messages and returns the HTTP status and body.
func (b *bot) post(a *botframework.Activity) (int, []byte) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.http.URL+"/api/messages", bytes.NewReader(testkit.JSON(b.t, a)))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", b.tn.issuer.Header(botAppID, a.ServiceURL))
	resp, err := b.http.Client().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// say types text as the Playground user and returns the card the bot sent in answer.
func (b *bot) say(text string) testenv.Card {
	b.t.Helper()
	return b.sayAs(text, nil)
}

func (b *bot) sayAs(text string, mod func(*botframework.Activity)) testenv.Card {
	b.t.Helper()
	before := len(b.tn.Connector.Calls())
	a := testkit.PersonalMessage(b.tn.Connector.ServiceURL, text)
	if mod != nil {
		mod(a)
	}
	if status, body := b.post(a); status != http.StatusOK {
		b.t.Fatalf("say %q: status %d %s", text, status, body)
	}
	calls := b.tn.Connector.Calls()
	if len(calls) <= before {
		b.t.Fatalf("say %q: the bot sent nothing", text)
	}
	return testenv.CardOf(b.t, calls[len(calls)-1].Activity)
}

// click sends an Action.Execute with the action's data merged with inputs and returns the card of
// the invoke response.
func (b *bot) click(c testenv.Card, verb string, inputs map[string]string) testenv.Card {
	b.t.Helper()
	status, body := b.clickRaw(c, verb, inputs)
	if status != http.StatusOK {
		b.t.Fatalf("click %s: status %d %s", verb, status, body)
	}
	return testenv.InvokeCard(b.t, body)
}

func (b *bot) clickRaw(c testenv.Card, verb string, inputs map[string]string) (int, []byte) {
	b.t.Helper()
	return b.clickData(c.Action(b.t, verb), verb, inputs)
}

// clickData sends an Action.Execute with data merged with inputs.
func (b *bot) clickData(data map[string]string, verb string, inputs map[string]string) (int, []byte) {
	b.t.Helper()
	for k, v := range inputs {
		data[k] = v
	}
	return b.post(testkit.ActionInvoke(b.tn.Connector.ServiceURL, verb, data))
}

// submit sends the same click as an Action.Submit message; the bot updates the clicked card.
func (b *bot) submit(c testenv.Card, verb string, inputs map[string]string) testenv.Card {
	b.t.Helper()
	data := c.Action(b.t, verb)
	for k, v := range inputs {
		data[k] = v
	}
	before := len(b.tn.Connector.Calls())
	if status, body := b.post(testkit.Submit(b.tn.Connector.ServiceURL, data)); status != http.StatusOK {
		b.t.Fatalf("submit %s: status %d %s", verb, status, body)
	}
	calls := b.tn.Connector.Calls()
	if len(calls) <= before {
		b.t.Fatalf("submit %s: the bot sent nothing", verb)
	}
	last := calls[len(calls)-1]
	if last.Op != botframework.OpUpdate || last.ActivityID != testkit.PlaygroundCardActivityID {
		b.t.Fatalf("submit %s: the bot answered with %s on %q, want an update of the clicked card", verb, last.Op, last.ActivityID)
	}
	return testenv.CardOf(b.t, last.Activity)
}

// dialog returns the user's stored dialog (step and decoded draft) in the Playground chat.
func dialogOf(t *testing.T, st store.Store) (step string, draft entitlement.Scenario, found bool) {
	t.Helper()
	d, err := st.LoadDialog(context.Background(), testkit.PlaygroundConversationID, sandbox.UserAlex)
	if err != nil {
		return "", entitlement.Scenario{}, false
	}
	var state struct {
		Draft entitlement.Scenario `json:"draft"`
	}
	if err := json.Unmarshal(d.State, &state); err != nil {
		t.Fatalf("dialog state: %v", err)
	}
	return d.Step, state.Draft, true
}
