// Package app wires guestpass together from a validated config.Config: the store, the channel
// token validator, the outbound connector and its credential, the Graph backend (the in-process
// sandbox tenant in sandbox mode), the domain services (entitlement management, role resolution,
// SSO), the conversation features (scenario dialogs, approvals, onboarding) with their workers,
// the router, and the HTTP server. Run serves until the context ends and then shuts everything
// down in order.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"guestpass/internal/botframework"
	"guestpass/internal/config"
	"guestpass/internal/credentials"
	"guestpass/internal/metrics"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/server"
	"guestpass/internal/store"
)

// Maintenance schedule: de-duplication claims are kept a day (Teams re-sends within minutes, so
// that is far more than enough and keeps the table small); expired dialogs and key/value entries
// are deleted on the same tick.
const (
	claimRetention = 24 * time.Hour
	pruneEvery     = time.Hour
)

// Options are the process-level dependencies that do not come from the environment.
type Options struct {
	// Logger is the root logger; default slog.Default().
	Logger *slog.Logger
	// HTTPClient carries outbound calls to the channel's key endpoints and the Bot Connector;
	// default a client with TLS 1.2+.
	HTTPClient *http.Client
	// ConnectorCredential overrides the outbound Bot Connector credential built from the
	// configuration (tests use a static token).
	ConnectorCredential azcore.TokenCredential
	// Ready, if set, is called with the HTTP server's bound address once it listens.
	Ready func(net.Addr)
}

// App is a wired guestpass process.
type App struct {
	cfg       config.Config
	log       *slog.Logger
	opts      Options
	store     store.Store
	metrics   *metrics.Metrics
	validator *botframework.ChannelValidator
	connector *botframework.Connector
	mux       *router.Mux
	server    *server.Server
	graph     GraphBackend
	features  features
	// connectorCred is the outbound Bot Connector credential (nil in local mode); doctor checks it.
	connectorCred azcore.TokenCredential
	closers       []func(context.Context) error
}

// GraphBackend is where the bot's Microsoft Graph lives: the real one in tenant mode, the
// in-process sandbox tenant in sandbox mode.
type GraphBackend struct {
	// BaseURL is Graph's v1.0 root.
	BaseURL string
	// AuthorityHost is the Entra authority tokens for BaseURL come from ("" = public cloud).
	AuthorityHost string
	// TenantID is the directory the bot manages.
	TenantID string
	// HTTPClient trusts the backend's TLS certificate (the sandbox's is self-signed).
	HTTPClient *http.Client
	// Sandbox is the in-process sandbox tenant, nil in tenant mode.
	Sandbox *sandbox.Sandbox
}

// New builds every component; nothing listens until Run. On error, whatever was opened is
// closed again.
func New(ctx context.Context, cfg config.Config, opts Options) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}}
	}
	a := &App{cfg: cfg, log: opts.Logger, opts: opts, metrics: metrics.New()}
	defer func() {
		if err != nil {
			a.close(context.Background())
		}
	}()

	a.store, err = store.Open(ctx, cfg.DatabaseURL, store.WithLogger(a.log))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.closers = append(a.closers, func(context.Context) error { return a.store.Close() })

	if a.graph, err = a.startGraph(); err != nil {
		return nil, err
	}

	cred := opts.ConnectorCredential
	if cred == nil && !cfg.LocalMode() {
		if cred, err = credentials.BotConnector(a.credentialConfig()); err != nil {
			return nil, fmt.Errorf("bot connector credential: %w", err)
		}
	}
	a.connectorCred = cred
	a.connector = botframework.NewConnector(botframework.ConnectorConfig{
		HTTPClient: opts.HTTPClient,
		Credential: cred, // nil in local mode: the Playground's mock connector takes no token
		Pacer:      botframework.NewPacer(botframework.PacerConfig{}),
		Observe:    a.metrics.ConnectorRequest,
		Logger:     a.log.With("component", "connector"),
	})

	if !cfg.LocalMode() {
		a.validator, err = botframework.NewChannelValidator(botframework.ChannelValidatorConfig{
			AppID:       cfg.AppID,
			Issuer:      cfg.TokenIssuer,
			MetadataURL: cfg.OpenIDMetadataURL,
			HTTPClient:  opts.HTTPClient,
			Logger:      a.log,
		})
		if err != nil {
			return nil, fmt.Errorf("channel validator: %w", err)
		}
	}

	if a.features, err = a.buildFeatures(a.graph); err != nil {
		return nil, err
	}

	a.mux = router.New()
	a.mux.Use(router.Logging(), reportFailures, router.Recover(), router.IdentityContext())
	a.registerHandlers()

	scfg := server.Config{
		Addr:            cfg.ListenAddr(),
		Mux:             a.mux,
		Store:           a.store,
		Connector:       a.connector,
		AllowedTenants:  cfg.AllowedTenantIDs,
		Metrics:         a.metrics,
		Logger:          a.log,
		ShutdownTimeout: cfg.ShutdownTimeout,
	}
	if a.validator != nil {
		scfg.Validator = a.validator
	} else {
		scfg.Unauthenticated = true
	}
	if a.server, err = server.New(scfg); err != nil {
		return nil, err
	}
	return a, nil
}

// credentialConfig is the bot's own app registration as the credentials package needs it.
func (a *App) credentialConfig() credentials.Config {
	return credentials.Config{
		AppID:               a.cfg.AppID,
		AppType:             credentials.AppType(a.cfg.AppType),
		TenantID:            a.cfg.AppTenantID,
		ClientSecret:        a.cfg.AppPassword,
		CertificatePath:     a.cfg.AppCertificatePath,
		CertificatePassword: a.cfg.AppCertificatePassword,
		AuthorityHost:       a.cfg.AuthorityHost,
		HTTPClient:          a.opts.HTTPClient,
	}
}

// startGraph is the one place that decides which Graph the bot talks to. In sandbox mode it
// starts the sandbox tenant on its loopback address, persisting to SANDBOX_STATE.
func (a *App) startGraph() (GraphBackend, error) {
	if a.cfg.GraphMode == config.GraphTenant {
		return GraphBackend{
			BaseURL:       a.cfg.GraphBaseURL,
			AuthorityHost: a.cfg.AuthorityHost,
			TenantID:      a.cfg.AppTenantID,
			HTTPClient:    a.opts.HTTPClient,
		}, nil
	}
	sb, err := sandbox.New(sandbox.Options{
		StatePath: a.cfg.SandboxState,
		Logger:    a.log.With("component", "sandbox"),
	})
	if err != nil {
		return GraphBackend{}, fmt.Errorf("sandbox tenant: %w", err)
	}
	if err := sb.Start(a.cfg.SandboxAddr); err != nil {
		return GraphBackend{}, fmt.Errorf("sandbox tenant: %w", err)
	}
	a.closers = append(a.closers, sb.Close)
	endpoint, err := WriteSandboxEndpoint(a.cfg.SandboxState, sb)
	if err != nil {
		return GraphBackend{}, err
	}
	a.closers = append(a.closers, func(context.Context) error { return RemoveSandboxEndpoint(a.cfg.SandboxState, sb.BaseURL()) })
	a.log.Info("sandbox tenant started", "sandbox_url", sb.BaseURL(), "graph_url", sb.GraphURL(),
		"state", a.cfg.SandboxState, "endpoint_file", endpoint)
	return GraphBackend{
		BaseURL:       sb.GraphURL(),
		AuthorityHost: sb.AuthorityHost(),
		TenantID:      sb.TenantID(),
		HTTPClient:    sb.HTTPClient(),
		Sandbox:       sb,
	}, nil
}

// Graph returns the Graph backend the bot uses.
func (a *App) Graph() GraphBackend { return a.graph }

// Run serves until ctx ends, then drains in-flight turns (bounded by SHUTDOWN_TIMEOUT) and
// closes the store and the sandbox. It returns nil after a clean shutdown.
func (a *App) Run(ctx context.Context) error {
	defer a.close(context.Background())
	if a.cfg.LocalMode() {
		a.log.Warn("LOCAL MODE: MicrosoftAppId is not set, so requests are NOT AUTHENTICATED. " +
			"Serving on loopback only; set MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId for any real deployment.")
	}
	a.log.Info("starting guestpass", "config", a.cfg)

	bg, stopBG := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.background(bg)
	}()
	err := a.server.ListenAndServe(ctx, a.opts.Ready)
	stopBG()
	<-done
	return err
}

// background runs the workers and the maintenance loop until ctx ends, and returns only when
// every worker has stopped, so the store is not closed under them.
func (a *App) background(ctx context.Context) {
	var wg sync.WaitGroup
	workers := []func(context.Context){a.features.approvals.Run, a.features.onboarding.Run}
	if a.validator != nil {
		workers = append(workers, a.validator.Run)
	}
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w(ctx)
		}()
	}
	defer wg.Wait()
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.prune(ctx, time.Now())
		}
	}
}

// prune deletes what the store no longer needs: old de-duplication claims, expired dialogs and
// expired key/value entries.
func (a *App) prune(ctx context.Context, now time.Time) {
	steps := []struct {
		what string
		run  func() (int64, error)
	}{
		{"activity claims", func() (int64, error) { return a.store.PruneActivities(ctx, now.Add(-claimRetention)) }},
		{"expired dialogs", func() (int64, error) { return a.store.PruneDialogs(ctx, now) }},
		{"expired key/value entries", func() (int64, error) { return a.store.PruneKV(ctx, now) }},
	}
	for _, s := range steps {
		n, err := s.run()
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("pruning failed", "what", s.what, "error", err)
		case n > 0:
			a.log.Debug("pruned", "what", s.what, "count", n)
		}
	}
}

// close releases everything New opened, newest first.
func (a *App) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Warn("closing a component failed", "error", err)
		}
	}
	a.closers = nil
}
