package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/metrics"
	"guestpass/internal/router"
	"guestpass/internal/server"
	"guestpass/internal/store"
	"guestpass/internal/testkit"
)

const appID = "11111111-2222-3333-4444-555555555555"

type envOptions struct {
	auth    bool
	tenants []string
	logger  *slog.Logger
	timeout time.Duration
}

type env struct {
	t       *testing.T
	srv     *server.Server
	http    *httptest.Server
	store   store.Store
	fake    *testkit.Connector
	issuer  *testkit.ChannelIssuer
	metrics *metrics.Metrics
	mux     *router.Mux

	// runs counts handler executions per command/verb.
	mu   sync.Mutex
	runs map[string]int
}

func (e *env) ran(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runs[name]++
}

func (e *env) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runs[name]
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "guestpass.db"), store.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{t: t, store: st, fake: testkit.NewConnector(t), metrics: metrics.New(), runs: map[string]int{}}
	conn := botframework.NewConnector(botframework.ConnectorConfig{
		HTTPClient: e.fake.Client(), MaxRetries: -1, Observe: e.metrics.ConnectorRequest,
		Logger: slog.New(slog.DiscardHandler),
	})
	e.mux = router.New()
	e.mux.Use(router.Recover())
	e.registerHandlers()

	log := o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := server.Config{
		Mux: e.mux, Store: st, Connector: conn, Metrics: e.metrics, Logger: log,
		AllowedTenants: o.tenants, ShutdownTimeout: o.timeout,
	}
	if o.auth {
		e.issuer = testkit.NewChannelIssuer(t)
		v, err := botframework.NewChannelValidator(botframework.ChannelValidatorConfig{
			AppID: appID, Issuer: e.issuer.Issuer, MetadataURL: e.issuer.MetadataURL,
			HTTPClient: e.issuer.Client(), Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Validator = v
	} else {
		cfg.Unauthenticated = true
	}
	if e.srv, err = server.New(cfg); err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.http.Close)
	return e
}

var errFlaky = errors.New("flaky failure")

func (e *env) registerHandlers() {
	e.mux.HandleCommand("help", func(ctx context.Context, t *router.Turn) error {
		e.ran("help")
		_, err := t.SendText(ctx, "here is some help")
		return err
	})
	e.mux.HandleCommand("count", func(ctx context.Context, t *router.Turn) error {
		e.ran("count")
		return nil
	})
	// flaky fails on its first run and succeeds afterwards.
	e.mux.HandleCommand("flaky", func(ctx context.Context, t *router.Turn) error {
		e.mu.Lock()
		e.runs["flaky"]++
		n := e.runs["flaky"]
		e.mu.Unlock()
		if n == 1 {
			return errFlaky
		}
		return nil
	})
	e.mux.HandleCommand("panic", func(context.Context, *router.Turn) error { panic("handler bug") })
	e.mux.HandleVerb("approve", func(ctx context.Context, t *router.Turn) error {
		e.ran("approve")
		return t.Respond(botframework.CardResponse(map[string]any{"type": "AdaptiveCard", "version": "1.5"}))
	})
	e.mux.HandleVerb("conflict", func(ctx context.Context, t *router.Turn) error {
		e.ran("conflict")
		return t.Respond(botframework.ErrorResponse(http.StatusConflict, "Conflict", "already decided"))
	})
	e.mux.HandleVerb("broken", func(context.Context, *router.Turn) error { return errFlaky })
	e.mux.HandleActivity(botframework.TypeConversationUpdate, func(context.Context, *router.Turn) error {
		e.ran("conversationUpdate")
		return nil
	})
	e.mux.HandleActivity(botframework.TypeInstallationUpdate, func(context.Context, *router.Turn) error {
		e.ran("installationUpdate")
		return nil
	})
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (e *env) post(body []byte, auth string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+"/api/messages", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

func (e *env) get(path string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	return e.do(req)
}

// signed posts a with a valid channel token for it.
func (e *env) signed(a *botframework.Activity) response {
	e.t.Helper()
	return e.post(testkit.JSON(e.t, a), e.issuer.Header(appID, a.ServiceURL))
}

func (e *env) metric(line string) bool {
	e.t.Helper()
	return strings.Contains(string(e.get("/metrics").body), line)
}

func TestNewRequiresExplicitAuthMode(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := server.Config{Mux: router.New(), Store: st, Connector: botframework.NewConnector(botframework.ConnectorConfig{}), Metrics: metrics.New()}
	if _, err := server.New(base); err == nil {
		t.Fatal("New accepted a config without a validator and without Unauthenticated")
	}
	base.Unauthenticated = true
	if _, err := server.New(base); err != nil {
		t.Fatalf("New: %v", err)
	}
}

func TestRequestValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	big := testkit.PersonalMessage(e.fake.ServiceURL, strings.Repeat("x", server.MaxBodyBytes))
	tests := []struct {
		name   string
		body   []byte
		status int
	}{
		{"too large", testkit.JSON(t, big), http.StatusRequestEntityTooLarge},
		{"not json", []byte("{"), http.StatusBadRequest},
		{"array", []byte("[]"), http.StatusBadRequest},
		{"null", []byte("null"), http.StatusBadRequest},
		{"no type", []byte(`{"id":"1","text":"hi"}`), http.StatusBadRequest},
		{"wrong field type", []byte(`{"type":"message","text":42}`), http.StatusBadRequest},
		{"trailing data", []byte(`{"type":"message"} {"type":"message"}`), http.StatusBadRequest},
		{"unknown type", []byte(`{"type":"somethingNew","id":"a1","conversation":{"id":"c1"},"serviceUrl":"` + e.fake.ServiceURL + `"}`), http.StatusOK},
		{"typing", testkit.JSON(t, func() *botframework.Activity {
			a := testkit.PersonalMessage(e.fake.ServiceURL, "")
			a.Type = botframework.TypeTyping
			return a
		}()), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(tt.body, "")
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tt.status, r.body)
			}
			if tt.status >= 400 {
				var eb struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error.Code == "" {
					t.Fatalf("error body %q is not the error shape", r.body)
				}
			}
		})
	}
	// Ignored activities are not claimed: the same id is still claimable.
	ok, err := e.store.ClaimActivity(context.Background(), "c1", "a1")
	if err != nil || !ok {
		t.Fatalf("ignored activity was claimed (ok=%v err=%v)", ok, err)
	}
	if !e.metric(`guestpass_activities_total{outcome="bad_request",type="unknown"} 7`) ||
		!e.metric(`guestpass_activities_total{outcome="ignored",type="other"} 1`) {
		t.Fatalf("metrics:\n%s", e.get("/metrics").body)
	}
	if e.count("help") != 0 || len(e.fake.Calls()) != 0 {
		t.Fatal("a rejected request reached a handler or the connector")
	}
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	e := newEnv(t, envOptions{})
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for i := 0; i < 8; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/messages", pr)
	req.ContentLength = -1 // chunked: the limit must hold while reading
	if r := e.do(req); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", r.status)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	e := newEnv(t, envOptions{auth: true})
	head, _ := http.NewRequest(http.MethodHead, e.http.URL+"/api/messages", nil)
	if r := e.do(head); r.status != http.StatusOK {
		t.Fatalf("HEAD /api/messages = %d", r.status)
	}
	if r := e.get("/healthz"); r.status != http.StatusOK {
		t.Fatalf("/healthz = %d", r.status)
	}
	// Keys not loaded yet: not ready.
	r := e.get("/readyz")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "signing keys") {
		t.Fatalf("/readyz before keys = %d %s", r.status, r.body)
	}
	// The first authenticated activity loads the keys.
	if r := e.signed(testkit.PersonalMessage(e.fake.ServiceURL, "count")); r.status != http.StatusOK {
		t.Fatalf("signed activity = %d %s", r.status, r.body)
	}
	if r := e.get("/readyz"); r.status != http.StatusOK {
		t.Fatalf("/readyz = %d %s", r.status, r.body)
	}
	if !e.metric(`guestpass_activities_total{outcome="ok",type="message"} 1`) ||
		!e.metric(`guestpass_activity_duration_seconds_count{type="message"} 1`) ||
		!e.metric(`guestpass_auth_failures_total{reason="bad_signature"} 0`) {
		t.Fatalf("metrics:\n%s", e.get("/metrics").body)
	}
	if r := e.get("/nope"); r.status != http.StatusNotFound {
		t.Fatalf("/nope = %d", r.status)
	}
	// With the store gone, the bot is not ready.
	_ = e.store.Close()
	if r := e.get("/readyz"); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "store") {
		t.Fatalf("/readyz without store = %d %s", r.status, r.body)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, envOptions{auth: true})
	a := testkit.PersonalMessage(e.fake.ServiceURL, "count")
	body := testkit.JSON(t, a)
	tests := []struct {
		name   string
		header string
		status int
		reason string
	}{
		{"missing header", "", http.StatusUnauthorized, "missing_header"},
		{"basic scheme", "Basic dXNlcjpwYXNz", http.StatusUnauthorized, "bad_scheme"},
		{"garbage token", "Bearer not.a.jwt", http.StatusUnauthorized, "malformed_token"},
		{"wrong audience", e.issuer.Header("99999999-2222-3333-4444-555555555555", a.ServiceURL), http.StatusUnauthorized, "bad_audience"},
		{"service url mismatch", e.issuer.Header(appID, "https://smba.trafficmanager.net/emea/"), http.StatusUnauthorized, "serviceurl_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(body, tt.header)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (%s)", r.status, tt.status, r.body)
			}
			if strings.Contains(string(r.body), tt.reason) {
				t.Fatalf("the body reveals the reason: %s", r.body)
			}
			if !e.metric(`guestpass_auth_failures_total{reason="` + tt.reason + `"} 1`) {
				t.Fatalf("auth failure %q not counted:\n%s", tt.reason, e.get("/metrics").body)
			}
		})
	}
	t.Run("endorsement missing", func(t *testing.T) {
		a := testkit.PersonalMessage(e.fake.ServiceURL, "count")
		a.ChannelID = "webchat" // the key is endorsed for msteams only
		if r := e.signed(a); r.status != http.StatusForbidden {
			t.Fatalf("status = %d, want 403 (%s)", r.status, r.body)
		}
	})
	if n := e.count("count"); n != 0 {
		t.Fatalf("an unauthenticated activity ran a handler %d times", n)
	}
	if r := e.signed(a); r.status != http.StatusOK || e.count("count") != 1 {
		t.Fatalf("valid token: status %d, runs %d", r.status, e.count("count"))
	}
}

func TestTenantAllowlist(t *testing.T) {
	e := newEnv(t, envOptions{tenants: []string{"other-tenant", testkit.PlaygroundTenantID}})
	if r := e.post(testkit.JSON(t, testkit.PersonalMessage(e.fake.ServiceURL, "count")), ""); r.status != http.StatusOK {
		t.Fatalf("allowed tenant: %d %s", r.status, r.body)
	}
	for name, mutate := range map[string]func(a *botframework.Activity){
		"foreign tenant": func(a *botframework.Activity) {
			a.ChannelData.Tenant.ID = "evil-tenant"
			a.Conversation.TenantID = "evil-tenant"
		},
		"channel data wins over conversation": func(a *botframework.Activity) { a.ChannelData.Tenant.ID = "evil-tenant" },
		"no tenant": func(a *botframework.Activity) {
			a.ChannelData.Tenant = nil
			a.Conversation.TenantID = ""
		},
	} {
		t.Run(name, func(t *testing.T) {
			a := testkit.PersonalMessage(e.fake.ServiceURL, "count")
			mutate(a)
			if r := e.post(testkit.JSON(t, a), ""); r.status != http.StatusForbidden {
				t.Fatalf("status = %d, want 403", r.status)
			}
			if _, err := e.store.Conversation(context.Background(), "never"); !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
		})
	}
	if n := e.count("count"); n != 1 {
		t.Fatalf("count ran %d times, want 1 (foreign tenants must not run handlers)", n)
	}
}

func TestEndToEndSignedMessageReply(t *testing.T) {
	e := newEnv(t, envOptions{auth: true})
	a := testkit.ChannelMention(e.fake.ServiceURL, "help")
	if r := e.signed(a); r.status != http.StatusOK {
		t.Fatalf("status = %d %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call, err := e.fake.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if call.Op != botframework.OpSend || call.ConversationID != a.Conversation.ID || call.Activity.Text != "here is some help" {
		t.Fatalf("connector got %s %s: %s", call.Op, call.ConversationID, call.Body)
	}
	if call.Activity.Recipient == nil || call.Activity.Recipient.ID != testkit.PlaygroundUserID {
		t.Fatalf("reply not addressed to the user: %s", call.Body)
	}
	if !e.metric(`guestpass_connector_requests_total{op="send",status="201"} 1`) {
		t.Fatalf("connector call not counted:\n%s", e.get("/metrics").body)
	}
}

func TestInvokeAnsweredInResponse(t *testing.T) {
	e := newEnv(t, envOptions{auth: true})
	other := testkit.ActionInvoke(e.fake.ServiceURL, "x", nil)
	other.Name = "composeExtension/query"
	tests := []struct {
		name      string
		a         *botframework.Activity
		status    int
		bodyType  string
		bodyEmpty bool
	}{
		{"card", testkit.ActionInvoke(e.fake.ServiceURL, "approve", map[string]string{"requestId": "r1"}), 200, botframework.InvokeTypeAdaptiveCard, false},
		{"error status", testkit.ActionInvoke(e.fake.ServiceURL, "conflict", nil), 409, botframework.InvokeTypeError, false},
		{"unknown verb", testkit.ActionInvoke(e.fake.ServiceURL, "nope", nil), 400, botframework.InvokeTypeError, false},
		{"failing verb", testkit.ActionInvoke(e.fake.ServiceURL, "broken", nil), 500, botframework.InvokeTypeError, false},
		{"unknown invoke", other, 501, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.signed(tt.a)
			if r.status != tt.status {
				t.Fatalf("HTTP status = %d, want %d (%s)", r.status, tt.status, r.body)
			}
			if tt.bodyEmpty {
				if len(r.body) != 0 {
					t.Fatalf("body = %s, want empty", r.body)
				}
				return
			}
			var body struct {
				StatusCode int             `json:"statusCode"`
				Type       string          `json:"type"`
				Value      json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("body %s: %v", r.body, err)
			}
			if body.StatusCode != r.status || body.Type != tt.bodyType || len(body.Value) == 0 {
				t.Fatalf("body = %s; want statusCode %d = HTTP status, type %s, a value", r.body, r.status, tt.bodyType)
			}
		})
	}
	if len(e.fake.Calls()) != 0 {
		t.Fatal("invokes must be answered in the HTTP response, not through the connector")
	}
}

func TestSubmitDrivesVerbHandler(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.post(testkit.JSON(t, testkit.Submit(e.fake.ServiceURL, map[string]string{"verb": "approve", "requestId": "r1"})), "")
	// Action.Submit is a message: acknowledged with a plain 200, no invoke body; the handler's
	// card replaces the clicked card through the connector instead.
	if r.status != http.StatusOK || len(r.body) != 0 || e.count("approve") != 1 {
		t.Fatalf("status %d body %q runs %d", r.status, r.body, e.count("approve"))
	}
	calls := e.fake.Calls()
	if len(calls) != 1 || calls[0].Op != botframework.OpUpdate || calls[0].ActivityID != testkit.PlaygroundCardActivityID ||
		len(calls[0].Activity.Attachments) != 1 {
		t.Fatalf("connector calls = %+v, want one update of the clicked card", calls)
	}
}

func TestDuplicatesProcessedOnce(t *testing.T) {
	e := newEnv(t, envOptions{auth: true})
	msg := testkit.PersonalMessage(e.fake.ServiceURL, "count")
	for i := 0; i < 3; i++ {
		if r := e.signed(msg); r.status != http.StatusOK {
			t.Fatalf("delivery %d: %d %s", i, r.status, r.body)
		}
	}
	if n := e.count("count"); n != 1 {
		t.Fatalf("handler ran %d times for one activity id, want 1", n)
	}
	// The same id in another conversation is another activity.
	other := *msg
	other.Conversation.ID = "another-conversation"
	if r := e.signed(&other); r.status != http.StatusOK || e.count("count") != 2 {
		t.Fatalf("same id, other conversation: status %d, runs %d", r.status, e.count("count"))
	}

	inv := testkit.ActionInvoke(e.fake.ServiceURL, "approve", nil)
	first, second := e.signed(inv), e.signed(inv)
	if first.status != 200 || second.status != 200 || e.count("approve") != 1 {
		t.Fatalf("invoke: %d then %d, runs %d", first.status, second.status, e.count("approve"))
	}
	var body struct {
		StatusCode int    `json:"statusCode"`
		Type       string `json:"type"`
	}
	if err := json.Unmarshal(second.body, &body); err != nil || body.StatusCode != 200 || body.Type != botframework.InvokeTypeMessage {
		t.Fatalf("duplicate invoke body %s", second.body)
	}
	if !e.metric(`guestpass_activities_total{outcome="duplicate",type="message"} 2`) {
		t.Fatalf("duplicates not counted:\n%s", e.get("/metrics").body)
	}
}

func TestFailedTurnIsReleasedForRetry(t *testing.T) {
	e := newEnv(t, envOptions{auth: true})
	for name, text := range map[string]string{"error": "flaky", "panic": "panic"} {
		t.Run(name, func(t *testing.T) {
			msg := testkit.PersonalMessage(e.fake.ServiceURL, text)
			if r := e.signed(msg); r.status != http.StatusInternalServerError {
				t.Fatalf("failing turn: status %d, want 500 (%s)", r.status, r.body)
			}
			// The claim was released: the channel's re-send claims it again.
			ok, err := e.store.ClaimActivity(context.Background(), msg.Conversation.ID, msg.ID)
			if err != nil || !ok {
				t.Fatalf("claim after failure: ok=%v err=%v", ok, err)
			}
			if err := e.store.ReleaseActivity(context.Background(), msg.Conversation.ID, msg.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
	msg := testkit.PersonalMessage(e.fake.ServiceURL, "flaky")
	e.mu.Lock()
	e.runs["flaky"] = 0
	e.mu.Unlock()
	if r := e.signed(msg); r.status != http.StatusInternalServerError {
		t.Fatalf("first delivery: %d", r.status)
	}
	if r := e.signed(msg); r.status != http.StatusOK {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	if r := e.signed(msg); r.status != http.StatusOK || e.count("flaky") != 2 {
		t.Fatalf("after success the re-send is a duplicate: status %d, runs %d (want 2)", r.status, e.count("flaky"))
	}
}

func TestConversationReferences(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	install := testkit.InstallationUpdate(e.fake.ServiceURL)
	if r := e.post(testkit.JSON(t, install), ""); r.status != http.StatusOK {
		t.Fatalf("installationUpdate: %d", r.status)
	}
	ref, err := e.store.Conversation(ctx, testkit.PlaygroundConversationID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ConversationRef{
		ConversationID: testkit.PlaygroundConversationID, ConversationType: "personal", ServiceURL: e.fake.ServiceURL,
		TenantID: testkit.PlaygroundTenantID, BotID: testkit.PlaygroundBotID, BotName: testkit.PlaygroundBotName,
		UserID: testkit.PlaygroundUserID, UserAADObjectID: testkit.PlaygroundUserAADObjectID,
	}
	ref.UpdatedAt = time.Time{}
	if ref != want {
		t.Fatalf("stored reference\n got %+v\nwant %+v", ref, want)
	}
	if got, err := e.store.PersonalConversation(ctx, testkit.PlaygroundTenantID, testkit.PlaygroundUserAADObjectID); err != nil || got.ConversationID != testkit.PlaygroundConversationID {
		t.Fatalf("PersonalConversation: %+v, %v", got, err)
	}

	// A channel message stores the team and channel.
	ch := testkit.ChannelMention(e.fake.ServiceURL, "count")
	if r := e.post(testkit.JSON(t, ch), ""); r.status != http.StatusOK {
		t.Fatalf("channel message: %d", r.status)
	}
	if ref, err := e.store.Conversation(ctx, ch.Conversation.ID); err != nil || ref.TeamID != testkit.PlaygroundTeamID || ref.ConversationType != "channel" {
		t.Fatalf("channel reference %+v, %v", ref, err)
	}

	// Uninstall forgets the personal conversation.
	remove := testkit.InstallationUpdate(e.fake.ServiceURL)
	remove.Action = "remove"
	if r := e.post(testkit.JSON(t, remove), ""); r.status != http.StatusOK {
		t.Fatalf("uninstall: %d", r.status)
	}
	if _, err := e.store.Conversation(ctx, testkit.PlaygroundConversationID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after uninstall: %v, want ErrNotFound", err)
	}
	// A message after a reinstall stores it again even though the cache saw it before.
	if r := e.post(testkit.JSON(t, testkit.PersonalMessage(e.fake.ServiceURL, "count")), ""); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	if _, err := e.store.Conversation(ctx, testkit.PlaygroundConversationID); err != nil {
		t.Fatalf("after a new message: %v", err)
	}
}

// signalHandler is a slog.Handler that closes a channel when a record with msg is logged.
type signalHandler struct {
	msg  string
	once *sync.Once
	ch   chan struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.msg) {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

func TestGracefulShutdownDrainsInFlightTurn(t *testing.T) {
	draining := make(chan struct{})
	log := slog.New(signalHandler{msg: "shutting down", once: new(sync.Once), ch: draining})
	e := newEnv(t, envOptions{logger: log, timeout: time.Minute})
	started, release := make(chan struct{}), make(chan struct{})
	var turnErr atomic.Value
	e.mux.HandleCommand("slow", func(ctx context.Context, t *router.Turn) error {
		close(started)
		<-release
		if err := ctx.Err(); err != nil {
			turnErr.Store(err)
		}
		_, err := t.SendText(ctx, "done")
		return err
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String() + "/api/messages"
	result := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", bytes.NewReader(testkit.JSON(t, testkit.PersonalMessage(e.fake.ServiceURL, "slow"))))
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	<-started
	stop()
	<-draining
	// New connections are refused while the in-flight turn drains.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a new request was served during shutdown: %d", resp.StatusCode)
	}
	close(release)
	if status := <-result; status != http.StatusOK {
		t.Fatalf("in-flight turn answered %d, want 200", status)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if v := turnErr.Load(); v != nil {
		t.Fatalf("the draining turn's context was cancelled: %v", v)
	}
	if calls := e.fake.Calls(); len(calls) != 1 || calls[0].Activity.Text != "done" {
		t.Fatalf("the drained turn's reply did not reach the connector: %+v", calls)
	}
}

func TestShutdownDeadlineCancelsTurns(t *testing.T) {
	e := newEnv(t, envOptions{timeout: 50 * time.Millisecond})
	started := make(chan struct{})
	e.mux.HandleCommand("stuck", func(ctx context.Context, t *router.Turn) error {
		close(started)
		<-ctx.Done() // only the drain deadline ends this turn
		return ctx.Err()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/api/messages", "application/json",
			bytes.NewReader(testkit.JSON(t, testkit.PersonalMessage(e.fake.ServiceURL, "stuck"))))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	stop()
	if err := <-served; err == nil {
		t.Fatal("Serve returned nil although a turn outlived the drain deadline")
	}
}
