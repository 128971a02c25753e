package sandbox

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Sandbox. The zero value is usable: an in-memory tenant with the demo
// organisation, page size 2 and a random client secret.
type Options struct {
	// StatePath, when set, is a JSON file the sandbox loads at start and rewrites atomically after
	// every change, so a restart keeps the demo's objects (and the sandbox's keys and secret).
	StatePath string
	// PageSize is the number of items per collection page (default 2, so clients always page).
	PageSize int
	// Now is the clock for entitlement-management timing (auto-denial, escalation, expiry);
	// default time.Now. AdvanceClock moves it forward. Token lifetimes use the wall clock.
	Now func() time.Time
	// Logger receives request logs (never tokens). Default: discard.
	Logger *slog.Logger
	// ClientID is the bot's app id in the sandbox (default BotAppID).
	ClientID string
	// ClientSecret is the app's secret. Default: generated once and kept in the state file.
	ClientSecret string
	// ClientCertificates are certificates whose keys may sign client assertions for the app.
	ClientCertificates []*x509.Certificate
	// SSOAudiences are extra audiences accepted in on-behalf-of assertions, besides
	// "api://botid-{ClientID}" and ClientID.
	SSOAudiences []string
	// Hostnames the TLS certificate covers (default 127.0.0.1, ::1, localhost).
	Hostnames []string
	// TokenLifetime of issued access tokens (default 1 h).
	TokenLifetime time.Duration
}

// Sandbox is the built-in sandbox tenant: a Microsoft Graph v1.0 subset plus an Entra-like
// identity endpoint, served over HTTPS. It is safe for concurrent use.
type Sandbox struct {
	opts Options
	log  *slog.Logger
	keys *keyMaterial

	mu sync.Mutex // guards st
	st *state

	base atomic.Value // string: the https origin, set by Start or SetBaseURL

	cmu      sync.Mutex // guards calls and throttle
	calls    map[string]int
	throttle map[string]int

	routes []route

	srvMu sync.Mutex
	srv   *http.Server
}

// New builds a sandbox: it loads Options.StatePath when present, else seeds the demo organisation.
// Call Start (or serve Handler yourself and call SetBaseURL) before use.
func New(opts Options) (*Sandbox, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientID == "" {
		opts.ClientID = BotAppID
	}
	if len(opts.Hostnames) == 0 {
		opts.Hostnames = []string{"127.0.0.1", "::1", "localhost"}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var st *state
	if opts.StatePath != "" {
		loaded, err := loadState(opts.StatePath)
		if err != nil {
			return nil, err
		}
		st = loaded
	}
	fresh := st == nil
	if fresh {
		st = seedState(opts.Now())
	}
	if opts.ClientSecret != "" {
		st.Secrets.ClientSecret = opts.ClientSecret
	} else if st.Secrets.ClientSecret == "" {
		st.Secrets.ClientSecret = randomSecret()
	}
	keys, err := loadOrCreateKeys(&st.Secrets, opts.Hostnames, time.Now())
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		opts: opts, log: log, keys: keys, st: st,
		calls: map[string]int{}, throttle: map[string]int{},
	}
	s.routes = s.buildRoutes()
	if opts.StatePath != "" {
		if err := saveState(opts.StatePath, st); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func randomSecret() string {
	// 32 random bytes as two UUIDs' worth of entropy, in the "~" style of Entra secrets.
	id := strings.ReplaceAll(newID()+newID(), "-", "")
	return "sbx~" + base64.RawURLEncoding.EncodeToString([]byte(id))[:40]
}

// SetBaseURL sets the https URL the sandbox is reachable at (e.g. an httptest server's URL). It is
// the authority host and the root of the Graph URL; tokens are issued for it.
func (s *Sandbox) SetBaseURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.Host == "" || (p.Path != "" && p.Path != "/") {
		return fmt.Errorf("sandbox base URL %q: must be an https origin such as https://127.0.0.1:8443", u)
	}
	s.base.Store("https://" + p.Host)
	return nil
}

// BaseURL is the sandbox origin, also the AZURE_AUTHORITY_HOST of local mode.
func (s *Sandbox) BaseURL() string {
	v, _ := s.base.Load().(string)
	return v
}

// GraphURL is the sandbox's Graph endpoint, "{BaseURL}/v1.0".
func (s *Sandbox) GraphURL() string { return s.BaseURL() + "/v1.0" }

// AuthorityHost is the authority host for azidentity's cloud configuration ("{BaseURL}/").
func (s *Sandbox) AuthorityHost() string { return s.BaseURL() + "/" }

// TenantID is the sandbox tenant's id.
func (s *Sandbox) TenantID() string { return TenantID }

// AppCredentials are the client id and secret of the bot's app registration in the sandbox.
type AppCredentials struct {
	// ClientID is the app (client) id.
	ClientID string
	// ClientSecret is the app's client secret.
	ClientSecret string
}

// AppCredentials returns the bot's client id and secret for the sandbox tenant.
func (s *Sandbox) AppCredentials() AppCredentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return AppCredentials{ClientID: s.opts.ClientID, ClientSecret: s.st.Secrets.ClientSecret}
}

// SetAppRoles replaces the application permissions granted to the bot's app (the roles claim of
// tokens issued from now on), e.g. to remove EntitlementManagement.ReadWrite.All in a test.
func (s *Sandbox) SetAppRoles(roles []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.AppRoles = slices.Clone(roles)
	s.persistLocked()
}

// SetDelegatedScopes replaces the delegated permissions consented for the bot's app; on-behalf-of
// requests for other scopes fail with AADSTS65001 (consent required).
func (s *Sandbox) SetDelegatedScopes(scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.DelegatedScopes = slices.Clone(scopes)
	s.persistLocked()
}

// Calls returns how many requests each route received, keyed "METHOD /pattern", e.g.
// "GET /v1.0/identityGovernance/entitlementManagement/assignmentRequests" or
// "POST /{tenant}/oauth2/v2.0/token". Throttled requests count too.
func (s *Sandbox) Calls() map[string]int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// GraphCalls returns the total number of Graph (/v1.0) requests received.
func (s *Sandbox) GraphCalls() int {
	n := 0
	for k, v := range s.Calls() {
		if strings.Contains(k, " /v1.0/") {
			n += v
		}
	}
	return n
}

// ResetCalls clears the call counters.
func (s *Sandbox) ResetCalls() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	clear(s.calls)
}

// ThrottleNext makes the next n requests to route (a Calls key) fail with 429 and Retry-After: 1.
func (s *Sandbox) ThrottleNext(route string, n int) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.throttle[route] = n
}

// Routes lists the route keys the sandbox serves (the keys of Calls and ThrottleNext).
func (s *Sandbox) Routes() []string {
	out := make([]string, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, r.key())
	}
	return out
}

// AdvanceClock moves the sandbox's entitlement-management clock forward by d (persisted).
func (s *Sandbox) AdvanceClock(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.ClockOffset += d
	s.advanceLocked(s.nowLocked())
	s.persistLocked()
}

// Now returns the sandbox's entitlement-management clock.
func (s *Sandbox) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Sandbox) nowLocked() time.Time {
	return s.opts.Now().Add(s.st.ClockOffset).UTC()
}

// SentMail returns the messages sent through sendMail, oldest first.
func (s *Sandbox) SentMail() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.Mail)
}

func (s *Sandbox) persistLocked() {
	if s.opts.StatePath == "" {
		return
	}
	if err := saveState(s.opts.StatePath, s.st); err != nil {
		s.log.Error("sandbox state not saved", "error", err, "path", s.opts.StatePath)
	}
}

// Handler returns the sandbox's HTTP handler (identity, Graph and /sandbox control endpoints).
func (s *Sandbox) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on addr (e.g. "127.0.0.1:0"), serves HTTPS in the background and sets BaseURL.
func (s *Sandbox) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox listen %s: %w", addr, err)
	}
	host := ln.Addr().(*net.TCPAddr)
	hostname := host.IP.String()
	if host.IP.IsUnspecified() {
		hostname = "127.0.0.1"
	} else if host.IP.To4() == nil {
		hostname = "[" + hostname + "]"
	}
	if err := s.SetBaseURL(fmt.Sprintf("https://%s:%d", hostname, host.Port)); err != nil {
		_ = ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.srvMu.Lock()
	s.srv = srv
	s.srvMu.Unlock()
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sandbox server stopped", "error", err)
		}
	}()
	return nil
}

// Close stops a server started with Start, waiting up to ctx for in-flight requests.
func (s *Sandbox) Close(ctx context.Context) error {
	s.srvMu.Lock()
	srv := s.srv
	s.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("sandbox shutdown: %w", err)
	}
	return nil
}

// Run serves a sandbox on addr until ctx is done: the standalone "bot sandbox" mode. When
// certPath is set, the TLS certificate is written there (PEM) so a bot in another process can
// trust it; the client secret is in the state file, never logged.
func Run(ctx context.Context, addr, certPath string, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s, err := New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(addr); err != nil {
		return err
	}
	if certPath != "" {
		if err := writeFileAtomic(certPath, s.CertificatePEM(), 0o644); err != nil {
			return err
		}
	}
	log := s.log
	if h, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			log.Warn("sandbox tenant listening beyond loopback: anyone who can reach it can mint tokens for its fake users", "addr", addr)
		}
	}
	log.Info("sandbox tenant listening", "base_url", s.BaseURL(), "graph_url", s.GraphURL(),
		"tenant_id", TenantID, "client_id", s.opts.ClientID, "state_path", opts.StatePath, "cert_path", certPath)
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Close(shutdownCtx)
}
