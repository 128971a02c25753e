package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"guestpass/internal/app"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
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
	var logs testkit.SyncBuffer
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

	// Installing the app greets the installer with what they may run (Alex is an admin here).
	if got := post(t, url, testkit.InstallationUpdate(fake.ServiceURL), ""); got != http.StatusOK {
		t.Fatalf("installationUpdate = %d", got)
	}
	welcome, err := fake.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if body := string(welcome.Body); !strings.Contains(body, "Welcome to guestpass") || !strings.Contains(body, "doctor") {
		t.Fatalf("installing answered %s, want the welcome card with the admin commands", body)
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
	if !strings.Contains(call.Activity.Text, "`dance`") || !strings.Contains(call.Activity.Text, "help") || call.Activity.TextFormat != "plain" {
		t.Fatalf("unknown command answered %q (format %q)", call.Activity.Text, call.Activity.TextFormat)
	}

	if got := post(t, url, testkit.Submit(fake.ServiceURL, map[string]string{"verb": "gone"}), ""); got != http.StatusOK {
		t.Fatalf("stale submit = %d", got)
	}
	if call, err = fake.Next(ctx); err != nil || !strings.Contains(call.Activity.Text, "out of date") {
		t.Fatalf("stale submit answered %+v, %v", call.Activity, err)
	}
}

// localApp starts the bot in local mode against a fresh sandbox in dir.
func localApp(t *testing.T, dir string, env map[string]string) (*app.App, string) {
	t.Helper()
	m := map[string]string{
		"PORT":          "0",
		"DATABASE_URL":  filepath.Join(dir, "guestpass.db"),
		"SANDBOX_STATE": filepath.Join(dir, "sandbox.json"),
	}
	for k, v := range env {
		m[k] = v
	}
	cfg, err := config.Load(envOf(m))
	if err != nil {
		t.Fatal(err)
	}
	return startedApp(t, cfg, app.Options{})
}

// cardJSON returns the single Adaptive Card a connector call carries, as JSON.
func cardJSON(t *testing.T, call testkit.Call) string {
	t.Helper()
	if call.Activity.Text != "" || len(call.Activity.Attachments) != 1 ||
		call.Activity.Attachments[0].ContentType != botframework.ContentTypeAdaptiveCard {
		t.Fatalf("answer %s is not exactly one Adaptive Card", call.Body)
	}
	raw, err := json.Marshal(call.Activity.Attachments[0].Content)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestLocalModeWiresEveryFeature(t *testing.T) {
	dir := t.TempDir()
	a, url := localApp(t, dir, map[string]string{"APPROVAL_POLL_INTERVAL": "1s"})
	fake := testkit.NewConnector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// help: the Playground's default user (Alex Wilber) is a sponsor and admin in the sandbox
	// (the seeded groups are the defaults), so the approvals, scenario, invitation and admin
	// commands are listed.
	if got := post(t, url, testkit.PersonalMessage(fake.ServiceURL, "help"), ""); got != http.StatusOK {
		t.Fatalf("help = %d", got)
	}
	call, err := fake.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	help := cardJSON(t, call)
	for _, want := range []string{"approvals", "scenario new", "scenarios", "invite", "guests", "audit", "doctor"} {
		if !strings.Contains(help, want) {
			t.Errorf("help card does not list %q: %s", want, help)
		}
	}

	// help <topic> narrows the card; an unknown topic gets the parser's suggestion as plain text.
	topics := []struct {
		text, want, notWant string
		card                bool
	}{
		{"help scenario", "scenario retire", "invite", true},
		{"help invite", "invite", "scenario new", true},
		{"help scenaro", "Did you mean", "", false},
	}
	for _, tt := range topics {
		if got := post(t, url, testkit.PersonalMessage(fake.ServiceURL, tt.text), ""); got != http.StatusOK {
			t.Fatalf("%s = %d", tt.text, got)
		}
		if call, err = fake.Next(ctx); err != nil {
			t.Fatal(err)
		}
		got := call.Activity.Text
		if tt.card {
			got = cardJSON(t, call)
		} else if call.Activity.TextFormat != "plain" {
			t.Errorf("%s answered in format %q, want plain", tt.text, call.Activity.TextFormat)
		}
		if !strings.Contains(got, tt.want) || (tt.notWant != "" && strings.Contains(got, tt.notWant)) {
			t.Errorf("%s answered %s; want %q and not %q", tt.text, got, tt.want, tt.notWant)
		}
	}

	// The scenario wizard answers its alias with its first card, the template picker.
	if got := post(t, url, testkit.PersonalMessage(fake.ServiceURL, "new scenario"), ""); got != http.StatusOK {
		t.Fatalf("new scenario = %d", got)
	}
	if call, err = fake.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if wizard := cardJSON(t, call); !strings.Contains(wizard, cards.VerbWizardTemplate) {
		t.Fatalf("new scenario answered %s, want the template picker", wizard)
	}

	// The approvals worker polls the sandbox's pending requests app-only.
	sb := a.Graph().Sandbox
	const poll = "GET /v1.0/identityGovernance/entitlementManagement/assignmentRequests"
	for sb.Calls()[poll] == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("the approvals worker never polled; calls %v", sb.Calls())
		case <-time.After(20 * time.Millisecond):
		}
	}

	// The sandbox advertises itself for `bot guest`, which reaches its control endpoint.
	ep, err := app.FindSandbox(filepath.Join(dir, "sandbox.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if ep.URL != sb.BaseURL() {
		t.Fatalf("advertised sandbox %q, running at %q", ep.URL, sb.BaseURL())
	}
	_, err = app.SubmitGuestRequest(ctx, app.GuestOptions{
		Email: "guest@contoso.com", Package: "0badc0de-0000-4000-8000-000000000000",
		StatePath: filepath.Join(dir, "sandbox.json"),
	})
	if err == nil || !strings.Contains(err.Error(), "must reference an existing access package") {
		t.Fatalf("guest request for an unknown package: %v", err)
	}
}

func TestPlayGuestValidatesInput(t *testing.T) {
	tests := []struct {
		name string
		o    app.GuestOptions
		want string
	}{
		{"bad email", app.GuestOptions{Email: "guest", Package: "x"}, "not an email address"},
		{"display-name email", app.GuestOptions{Email: "Guest <g@contoso.com>", Package: "x"}, "not an email address"},
		{"no package", app.GuestOptions{Email: "g@contoso.com"}, "--package is required"},
		{"no sandbox", app.GuestOptions{Email: "g@contoso.com", Package: "x", StatePath: "/nonexistent/sandbox.json"}, "no running sandbox found"},
		{"http sandbox", app.GuestOptions{Email: "g@contoso.com", Package: "x", SandboxURL: "http://127.0.0.1:1"}, "not an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := app.SubmitGuestRequest(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
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
	entra := refusingEntra(t)
	cfg, err := config.Load(envOf(map[string]string{
		"AZURE_AUTHORITY_HOST":    entra.URL + "/",
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
	a, url := startedApp(t, cfg, app.Options{ConnectorCredential: staticToken("connector-token"), HTTPClient: entra.Client()})

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
	// Entra refused the bot's Graph credential, so roles are unknown: help fails closed to what
	// everyone may run.
	if help := string(call.Body); strings.Contains(help, "scenario new") || !strings.Contains(help, "help") {
		t.Fatalf("help without resolvable roles lists %s", help)
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

// refusingEntra is an Entra authority that refuses every token request as Entra does for a wrong
// client secret, so tenant-mode wiring fails fast and closed without a network.
func refusingEntra(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}
