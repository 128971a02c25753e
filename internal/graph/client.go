// Package graph builds guestpass's Microsoft Graph clients (msgraph-sdk-go) and holds what every
// Graph caller needs: OData literal escaping and filter builders, a typed *Error that keeps Graph's
// error code and request ids for the audit log, a paging helper, and a per-operation call hook so
// tests can assert how many Graph calls an operation costs.
//
// Retries: the kiota retry handler retries 429/503/504 honouring Retry-After. guestpass configures
// it so that (a) a POST is retried only on 429 and 503 — responses that mean the request was not
// processed — never on 504, where the object may have been created and a blind retry would
// duplicate it; (b) a Retry-After longer than Options.MaxRetryAfter is not slept through but
// returned as a throttled *Error, so callers (a background poller) can back off on their own
// schedule instead of holding a request open for minutes.
package graph

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// DefaultBaseURL is Microsoft Graph v1.0 in the global cloud.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Defaults for Options' zero values.
const (
	DefaultMaxRetries    = 3
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultTimeout       = 100 * time.Second
	defaultRetryDelay    = 2 // seconds, doubled per attempt when no Retry-After is given
)

// Options configures NewClient.
type Options struct {
	// BaseURL is the Graph root including the version, e.g. https://graph.microsoft.us/v1.0.
	// Default DefaultBaseURL.
	BaseURL string
	// Credential authenticates every request (app-only or a user's on-behalf-of credential).
	Credential azcore.TokenCredential
	// Scopes requested for tokens; default https://<BaseURL host>/.default.
	Scopes []string
	// HTTPClient supplies the base transport (TLS roots, proxy) and the overall timeout of one
	// call including its retries; nil uses a clone of http.DefaultTransport and DefaultTimeout.
	HTTPClient *http.Client
	// Logger receives a debug line per HTTP attempt (method, path, status, graph_request_id —
	// never query strings, which can hold personal data, nor tokens). Default slog.Default().
	Logger *slog.Logger
	// MaxRetries bounds retries of 429/503/504 (1–10; default DefaultMaxRetries).
	MaxRetries int
	// MaxRetryAfter is the longest Retry-After the client sleeps through; longer ones surface
	// as a throttled *Error. Default DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// RetryDelaySeconds is the base back-off when Graph sends no Retry-After (default 2).
	RetryDelaySeconds int
	// OnCall observes every HTTP attempt, retries included (see CallCounter).
	OnCall func(Call)
}

func init() {
	// The page iterator looks up error factories here; without one, a failed next-page request
	// comes back as a bare ApiError without Graph's code and request id. Ignore "already
	// registered": another package registering the same mapping is fine.
	_ = msgraphcore.RegisterError(msgraphcore.PageIteratorErrorRegistryKey, abs.ErrorMappings{
		"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	})
}

// constructMu serialises client construction; see NewClient.
var constructMu sync.Mutex

// NewClient returns a Graph service client for opts. It is safe for concurrent use.
func NewClient(opts Options) (*msgraphsdk.GraphServiceClient, error) {
	if opts.Credential == nil {
		return nil, errors.New("graph: a credential is required")
	}
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("graph: base URL %q must be an absolute https URL", opts.BaseURL)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		// Tokens must never travel in clear text; plain http is for a loopback sandbox only.
		return nil, fmt.Errorf("graph: base URL %q must use https", opts.BaseURL)
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = []string{u.Scheme + "://" + u.Host + "/.default"}
	}
	// The auth provider silently sends requests unauthenticated to hosts it does not know, so
	// the configured Graph host (national cloud, sandbox) must be on its list.
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(opts.Credential, scopes, []string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph: auth provider: %w", err)
	}
	// The SDK's constructors register serializers in kiota's package-level registries without
	// locking, so building two clients at once (two approvers clicking at the same time) races.
	constructMu.Lock()
	defer constructMu.Unlock()
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, nil, nil, httpClient(opts))
	if err != nil {
		return nil, fmt.Errorf("graph: request adapter: %w", err)
	}
	adapter.SetBaseUrl(base)
	return msgraphsdk.NewGraphServiceClient(adapter), nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// httpClient assembles the middleware pipeline in a fixed order. kiota's own default list is
// built from a map and so comes out in random order; it also gzips request bodies, which Graph
// does not need for these small payloads and which would make captured bodies unreadable.
func httpClient(opts Options) *http.Client {
	var parent http.RoundTripper
	timeout := DefaultTimeout
	if opts.HTTPClient != nil {
		parent = opts.HTTPClient.Transport
		if opts.HTTPClient.Timeout > 0 {
			timeout = opts.HTTPClient.Timeout
		}
	}
	if parent == nil {
		parent = http.DefaultTransport.(*http.Transport).Clone()
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	parent = &observer{next: parent, logger: logger, onCall: opts.OnCall}

	maxRetryAfter := opts.MaxRetryAfter
	if maxRetryAfter <= 0 {
		maxRetryAfter = DefaultMaxRetryAfter
	}
	maxRetries := opts.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultMaxRetries
	}
	delay := opts.RetryDelaySeconds
	if delay <= 0 {
		delay = defaultRetryDelay
	}
	gopts := msgraphsdk.GetDefaultClientOptions()
	middlewares := []khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&gopts),
		khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs),
		khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
			MaxRetries:   maxRetries,
			DelaySeconds: delay,
			ShouldRetry: func(_ time.Duration, _ int, req *http.Request, resp *http.Response) bool {
				return shouldRetry(req, resp, maxRetryAfter)
			},
		}),
		khttp.NewRedirectHandler(),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
	}
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, middlewares...),
		Timeout:   timeout,
		// The kiota redirect handler follows redirects itself (and drops the Authorization
		// header on a host change); net/http must not do it a second time.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// shouldRetry decides a retry the kiota handler has found eligible (429/503/504, attempts left).
func shouldRetry(req *http.Request, resp *http.Response, maxRetryAfter time.Duration) bool {
	if req.Method == http.MethodPost && resp.StatusCode == http.StatusGatewayTimeout {
		return false
	}
	if d, ok := retryAfter(resp.Header); ok && d > maxRetryAfter {
		return false
	}
	// The handler drops this response without closing it; drain it so the connection is reused.
	if resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
	return true
}

// retryAfter parses a Retry-After header given in seconds or as an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}
