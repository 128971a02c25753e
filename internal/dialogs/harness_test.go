package dialogs_test

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
	"testing"
	"time"

	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/credentials"
	"guestpass/internal/dialogs"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/metrics"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/server"
	"guestpass/internal/store"
	"guestpass/internal/testkit"
)

const botAppID = "11111111-2222-3333-4444-555555555555"

// tenant is the sandbox tenant: a Graph v1.0 server over HTTPS with the demo organisation,
// shared by every bot replica of a test.
type tenant struct {
	sb *sandbox.Sandbox
	// app reads the tenant for assertions; each replica builds its own client (own token cache).
	app     *msgraphsdk.GraphServiceClient
	counter *graph.CallCounter
	dbPath  string
	issuer  *testkit.ChannelIssuer
	fake    *testkit.Connector
}

func newTenant(t *testing.T) *tenant {
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
	tn := &tenant{sb: sb, counter: &graph.CallCounter{}, dbPath: filepath.Join(t.TempDir(), "guestpass.db"),
		issuer: testkit.NewChannelIssuer(t), fake: testkit.NewConnector(t, testkit.WithoutRateLimit())}
	tn.app = tn.graphClient(t, nil)
	return tn
}

// graphClient builds an app-only Graph client for the sandbox the way production does.
func (tn *tenant) graphClient(t *testing.T, observe func(graph.Call)) *msgraphsdk.GraphServiceClient {
	t.Helper()
	ac := tn.sb.AppCredentials()
	cred, err := credentials.GraphAppOnly(credentials.Config{AppID: ac.ClientID, TenantID: sandbox.TenantID,
		ClientSecret: ac.ClientSecret, AuthorityHost: tn.sb.AuthorityHost(), HTTPClient: tn.sb.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := graph.NewClient(graph.Options{BaseURL: tn.sb.GraphURL(), Credential: cred, HTTPClient: tn.sb.HTTPClient(),
		OnCall: observe, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
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
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, tn.dbPath, store.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	g := tn.graphClient(t, tn.counter.Observe)
	svc, err := entitlement.NewService(entitlement.ServiceOptions{Graph: g, Store: st, TenantID: sandbox.TenantID, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := authz.NewResolver(authz.ResolverOptions{Graph: g, AdminGroupID: sandbox.GroupAdmins,
		SponsorGroupID: sandbox.GroupSponsors, HomeTenantID: sandbox.TenantID, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mux := router.New()
	mux.Use(router.Recover())
	d, err := dialogs.Register(mux, dialogs.Deps{Store: st, Service: svc, Roles: roles, Now: o.now, TTL: o.ttl, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// What the app answers when nothing else matched.
	mux.HandleActivity(botframework.TypeMessage, func(ctx context.Context, turn *router.Turn) error {
		_, err := turn.SendText(ctx, "unknown command")
		return err
	})
	v, err := botframework.NewChannelValidator(botframework.ChannelValidatorConfig{AppID: botAppID, Issuer: tn.issuer.Issuer,
		MetadataURL: tn.issuer.MetadataURL, HTTPClient: tn.issuer.Client(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: tn.fake.Client(), MaxRetries: -1, Logger: quiet})
	srv, err := server.New(server.Config{Mux: mux, Store: st, Connector: conn, Validator: v, Metrics: metrics.New(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b := &bot{t: t, tn: tn, store: st, dialogs: d, http: httptest.NewServer(srv.Handler())}
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
func (b *bot) say(text string) card {
	b.t.Helper()
	return b.sayAs(text, nil)
}

func (b *bot) sayAs(text string, mod func(*botframework.Activity)) card {
	b.t.Helper()
	before := len(b.tn.fake.Calls())
	a := testkit.PersonalMessage(b.tn.fake.ServiceURL, text)
	if mod != nil {
		mod(a)
	}
	if status, body := b.post(a); status != http.StatusOK {
		b.t.Fatalf("say %q: status %d %s", text, status, body)
	}
	calls := b.tn.fake.Calls()
	if len(calls) <= before {
		b.t.Fatalf("say %q: the bot sent nothing", text)
	}
	return cardOf(b.t, calls[len(calls)-1].Activity)
}

// click sends an Action.Execute with the action's data merged with inputs and returns the card of
// the invoke response.
func (b *bot) click(c card, verb string, inputs map[string]string) card {
	b.t.Helper()
	status, body := b.clickRaw(c, verb, inputs)
	if status != http.StatusOK {
		b.t.Fatalf("click %s: status %d %s", verb, status, body)
	}
	return invokeCard(b.t, body)
}

func (b *bot) clickRaw(c card, verb string, inputs map[string]string) (int, []byte) {
	b.t.Helper()
	return b.clickData(c.action(b.t, verb), verb, inputs)
}

// clickData sends an Action.Execute with data merged with inputs.
func (b *bot) clickData(data map[string]string, verb string, inputs map[string]string) (int, []byte) {
	b.t.Helper()
	for k, v := range inputs {
		data[k] = v
	}
	return b.post(testkit.ActionInvoke(b.tn.fake.ServiceURL, verb, data))
}

// submit sends the same click as an Action.Submit message; the bot updates the clicked card.
func (b *bot) submit(c card, verb string, inputs map[string]string) card {
	b.t.Helper()
	data := c.action(b.t, verb)
	for k, v := range inputs {
		data[k] = v
	}
	before := len(b.tn.fake.Calls())
	if status, body := b.post(testkit.Submit(b.tn.fake.ServiceURL, data)); status != http.StatusOK {
		b.t.Fatalf("submit %s: status %d %s", verb, status, body)
	}
	calls := b.tn.fake.Calls()
	if len(calls) <= before {
		b.t.Fatalf("submit %s: the bot sent nothing", verb)
	}
	last := calls[len(calls)-1]
	if last.Op != botframework.OpUpdate || last.ActivityID != testkit.PlaygroundCardActivityID {
		b.t.Fatalf("submit %s: the bot answered with %s on %q, want an update of the clicked card", verb, last.Op, last.ActivityID)
	}
	return cardOf(b.t, last.Activity)
}

// card is an Adaptive Card as the bot sent it.
type card struct {
	raw  string
	tree any
}

func cardOf(t *testing.T, a *botframework.Outgoing) card {
	t.Helper()
	if a == nil || len(a.Attachments) != 1 {
		t.Fatalf("activity carries no single card: %+v", a)
	}
	b, err := json.Marshal(a.Attachments[0].Content)
	if err != nil {
		t.Fatal(err)
	}
	return parseCard(t, b)
}

func invokeCard(t *testing.T, body []byte) card {
	t.Helper()
	var resp struct {
		StatusCode int             `json:"statusCode"`
		Type       string          `json:"type"`
		Value      json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Type != botframework.InvokeTypeAdaptiveCard {
		t.Fatalf("invoke response is not a card: %s", body)
	}
	return parseCard(t, resp.Value)
}

func parseCard(t *testing.T, b []byte) card {
	t.Helper()
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatalf("card is not JSON: %v", err)
	}
	return card{raw: string(b), tree: tree}
}

// has reports whether the card's JSON contains s (as JSON-encoded text).
func (c card) has(s string) bool {
	enc, _ := json.Marshal(s)
	return strings.Contains(c.raw, strings.Trim(string(enc), `"`))
}

// action returns the data of the first action with verb (a copy).
func (c card) action(t *testing.T, verb string) map[string]string {
	t.Helper()
	return c.actionWith(t, verb, "", "")
}

// actionWith returns the data of the first action with verb whose data has key = value (any
// action with verb when key is empty).
func (c card) actionWith(t *testing.T, verb, key, value string) map[string]string {
	t.Helper()
	var found map[string]string
	var walk func(v any)
	walk = func(v any) {
		if found != nil {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "Action.Execute" && x["verb"] == verb {
				data := map[string]string{}
				if d, ok := x["data"].(map[string]any); ok {
					for k, v := range d {
						if s, ok := v.(string); ok {
							data[k] = s
						}
					}
				}
				if key == "" || data[key] == value {
					found = data
					return
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(c.tree)
	if found == nil {
		t.Fatalf("card has no %q action (%s=%q):\n%s", verb, key, value, c.raw)
	}
	return found
}

// choice returns the value of the first choice whose title contains title.
func (c card) choice(t *testing.T, title string) string {
	t.Helper()
	var found string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if tt, ok := x["title"].(string); ok && found == "" && strings.Contains(tt, title) {
				if v, ok := x["value"].(string); ok {
					found = v
					return
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(c.tree)
	if found == "" {
		t.Fatalf("card has no choice %q:\n%s", title, c.raw)
	}
	return found
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
