package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"guestpass/internal/app"
	"guestpass/internal/botframework"
	"guestpass/internal/config"
	"guestpass/internal/testkit"
)

const (
	appID    = "11111111-2222-3333-4444-555555555555"
	tenantID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// started runs the app until the test ends and returns its base URL.
func started(t *testing.T, cfg config.Config, opts app.Options) string {
	_, url := startedApp(t, cfg, opts)
	return url
}

// startedApp is started returning the app as well.
func startedApp(t *testing.T, cfg config.Config, opts app.Options) (*app.App, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	addr := make(chan net.Addr, 1)
	opts.Ready = func(a net.Addr) { addr <- a }
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := app.New(ctx, cfg, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case ad := <-addr:
		return a, "http://" + ad.String()
	case err := <-done:
		t.Fatalf("Run returned before listening: %v", err)
	}
	return nil, ""
}

func post(t *testing.T, url string, a *botframework.Activity, auth string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/messages", bytes.NewReader(testkit.JSON(t, a)))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestLocalModeServesThePlayground(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load(envOf(map[string]string{
		"PORT":          "0",
		"DATABASE_URL":  filepath.Join(dir, "guestpass.db"),
		"SANDBOX_STATE": filepath.Join(dir, "sandbox.json"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	a, url := startedApp(t, cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	fake := testkit.NewConnector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if got := get(t, url+"/healthz"); got != http.StatusOK {
		t.Fatalf("/healthz = %d", got)
	}
	if got := get(t, url+"/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz = %d", got)
	}
	if !strings.Contains(logs.String(), "NOT AUTHENTICATED") {
		t.Fatalf("no loud local-mode warning in the logs:\n%s", logs.String())
	}
	// Sandbox mode: the sandbox tenant answers over TLS on loopback, trusted by the backend's client.
	g := a.Graph()
	if g.Sandbox == nil || !strings.HasPrefix(g.BaseURL, "https://127.0.0.1:") {
		t.Fatalf("graph backend %+v, want the in-process sandbox", g)
	}
	resp, err := g.HTTPClient.Get(g.AuthorityHost + g.TenantID + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sandbox OpenID metadata = %d", resp.StatusCode)
	}

	// The Playground sends no Authorization header and non-GUID ids.
	if got := post(t, url, testkit.PersonalMessage(fake.ServiceURL, "/Help"), ""); got != http.StatusOK {
		t.Fatalf("help = %d", got)
	}
	call, err := fake.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if call.Activity.Text != "" || len(call.Activity.Attachments) != 1 ||
		call.Activity.Attachments[0].ContentType != botframework.ContentTypeAdaptiveCard {
		t.Fatalf("help answered with %s, want one Adaptive Card and no text", call.Body)
	}
	if call.Authorization != "" {
		t.Fatalf("local mode sent a connector token: %q", call.Authorization)
	}
	var card struct {
		Type    string `json:"type"`
		Version string `json:"version"`
	}
	raw, _ := json.Marshal(call.Activity.Attachments[0].Content)
	if err := json.Unmarshal(raw, &card); err != nil || card.Type != "AdaptiveCard" || card.Version != "1.5" {
		t.Fatalf("help card %s", raw)
	}

	if got := post(t, url, testkit.ChannelMention(fake.ServiceURL, "dance <b>now</b>"), ""); got != http.StatusOK {
		t.Fatalf("unknown command = %d", got)
	}
	call, err = fake.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(call.Activity.Text, `"dance"`) || !strings.Contains(call.Activity.Text, "help") || call.Activity.TextFormat != "plain" {
		t.Fatalf("unknown command answered %q (format %q)", call.Activity.Text, call.Activity.TextFormat)
	}

	if got := post(t, url, testkit.Submit(fake.ServiceURL, map[string]string{"verb": "gone"}), ""); got != http.StatusOK {
		t.Fatalf("stale submit = %d", got)
	}
	if call, err = fake.Next(ctx); err != nil || !strings.Contains(call.Activity.Text, "out of date") {
		t.Fatalf("stale submit answered %+v, %v", call.Activity, err)
	}
}

// staticToken is a fixed outbound credential standing in for Entra.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestAuthenticatedModeRequiresChannelTokens(t *testing.T) {
	dir := t.TempDir()
	issuer := testkit.NewChannelIssuer(t)
	cfg, err := config.Load(envOf(map[string]string{
		"MicrosoftAppId":          appID,
		"MicrosoftAppPassword":    "secret",
		"MicrosoftAppTenantId":    tenantID,
		"BIND_ADDRESS":            "127.0.0.1",
		"PORT":                    "0",
		"DATABASE_URL":            filepath.Join(dir, "guestpass.db"),
		"BOT_OPENID_METADATA_URL": issuer.MetadataURL,
	}))
	if err != nil {
		t.Fatal(err)
	}
	fake := testkit.NewConnector(t, testkit.WithRequiredAuthorization("Bearer connector-token"))
	a, url := startedApp(t, cfg, app.Options{ConnectorCredential: staticToken("connector-token")})

	msg := testkit.PersonalMessage(fake.ServiceURL, "help")
	msg.ChannelData.Tenant.ID, msg.Conversation.TenantID = tenantID, tenantID
	if got := post(t, url, msg, ""); got != http.StatusUnauthorized {
		t.Fatalf("unsigned activity = %d, want 401", got)
	}
	foreign := testkit.PersonalMessage(fake.ServiceURL, "help") // the Playground's tenant is not ours
	if got := post(t, url, foreign, issuer.Header(appID, fake.ServiceURL)); got != http.StatusForbidden {
		t.Fatalf("activity from another tenant = %d, want 403 (single-tenant bots allow their own tenant)", got)
	}
	if got := post(t, url, msg, issuer.Header(appID, fake.ServiceURL)); got != http.StatusOK {
		t.Fatalf("signed activity = %d", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := fake.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if call.Status != http.StatusCreated || call.Authorization != "Bearer connector-token" || len(call.Activity.Attachments) != 1 {
		t.Fatalf("reply: status %d auth %q body %s", call.Status, call.Authorization, call.Body)
	}
	if got := get(t, url+"/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz after keys loaded = %d", got)
	}
	if g := a.Graph(); g.Sandbox != nil || g.BaseURL != config.DefaultGraphBaseURL || g.TenantID != tenantID {
		t.Fatalf("tenant mode graph backend = %+v", g)
	}
}

func TestNewFailsOnUnusableStore(t *testing.T) {
	cfg, err := config.Load(envOf(map[string]string{"PORT": "0", "DATABASE_URL": "mysql://db/guestpass"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("New accepted an unsupported database URL")
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
