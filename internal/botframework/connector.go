package botframework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/infracloudio/msbotbuilder-go/schema"
)

// DefaultConnectorScope is the token scope of the public-cloud Bot Connector.
const DefaultConnectorScope = "https://api.botframework.com/.default"

// Connector operation names, passed to ConnectorConfig.Observe and carried by ConnectorError.
// They are stable and suitable as metric labels.
const (
	OpSend               = "send"
	OpReply              = "reply"
	OpUpdate             = "update"
	OpDelete             = "delete"
	OpCreateConversation = "create_conversation"
	OpMembers            = "members"
)

// SubCodeMessageWritesBlocked is the 403 sub-code Teams returns when the user blocked or
// uninstalled the bot: the message was not delivered and retrying will not help.
const SubCodeMessageWritesBlocked = "MessageWritesBlocked"

// maxResponseBody bounds how much of a connector response is read.
const maxResponseBody = 1 << 20

var (
	// ErrOutcomeUnknown reports a POST (send, reply, create conversation) that may or may not have
	// taken effect: the request was written and then the call timed out, the connection broke, or
	// the service answered 408 or an unexpected 5xx. It is not repeated, because repeating would
	// risk a duplicate message; callers decide (e.g. update the existing message instead).
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrNoActivityID reports a successful send whose response carried no activity id (Teams and
	// the Playground answer 202 without a body when they split a text + card activity). The
	// message was delivered, but it cannot be updated later.
	ErrNoActivityID = errors.New("connector returned no activity id")
)

// ConnectorError is a non-2xx answer from the Bot Connector.
type ConnectorError struct {
	// Op is the operation (OpSend, …).
	Op string
	// Status is the HTTP status code.
	Status int
	// Code and Message come from the error body {"error":{"code","message"}}.
	Code    string
	Message string
	// SubCode is Teams' sub-code, e.g. SubCodeMessageWritesBlocked.
	SubCode string
	// RetryAfter is the service's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// Error implements error.
func (e *ConnectorError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "botframework: connector %s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.SubCode != "" {
		fmt.Fprintf(&b, " (%s)", e.SubCode)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// ConnectorConfig configures a Connector. Zero values get the documented defaults.
type ConnectorConfig struct {
	// HTTPClient sends the requests; default a client with the default transport. Per-call
	// timeouts come from Timeout, not from the client.
	HTTPClient *http.Client
	// Credential obtains the outbound token (azidentity credentials cache tokens and are safe for
	// concurrent use). Nil means no Authorization header, which is what the Agents SDK does in
	// local mode against the Agents Playground's mock connector.
	Credential azcore.TokenCredential
	// Scope is the token scope; default DefaultConnectorScope.
	Scope string
	// Timeout bounds each HTTP attempt, token acquisition included; default 15s.
	Timeout time.Duration
	// MaxRetries is how many times a retryable failure is retried; default 4. Negative: none.
	MaxRetries int
	// MaxRetryAfter is the longest Retry-After the connector waits for; a longer one is returned
	// to the caller as a *ConnectorError with RetryAfter set. Default 60s.
	MaxRetryAfter time.Duration
	// BaseBackoff is the first backoff when the service sends no Retry-After; it doubles per
	// attempt (with jitter) up to 10s. Default 500ms.
	BaseBackoff time.Duration
	// Pacer keeps calls within the Teams rate limits; nil means no pacing.
	Pacer *Pacer
	// Observe, if set, is called after every HTTP attempt with the operation and the HTTP status
	// (0 when no response arrived). It is the metrics hook.
	Observe func(op string, status int)
	// Logger receives retry and failure logs; default slog.Default().
	Logger *slog.Logger
	// Sleep waits between retries; nil means a real timer. Tests inject a virtual clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used to interpret HTTP-date Retry-After values; default time.Now.
	Now func() time.Time
}

// Connector is a client of the Bot Connector REST API (v3) for the operations guestpass needs.
// It is safe for concurrent use.
type Connector struct {
	client        *http.Client
	cred          azcore.TokenCredential
	scope         string
	timeout       time.Duration
	maxRetries    int
	maxRetryAfter time.Duration
	baseBackoff   time.Duration
	pacer         *Pacer
	observe       func(op string, status int)
	log           *slog.Logger
	sleep         func(ctx context.Context, d time.Duration) error
	now           func() time.Time
}

// NewConnector returns a Connector for cfg.
func NewConnector(cfg ConnectorConfig) *Connector {
	c := &Connector{
		client:        cfg.HTTPClient,
		cred:          cfg.Credential,
		scope:         cfg.Scope,
		timeout:       cfg.Timeout,
		maxRetries:    cfg.MaxRetries,
		maxRetryAfter: cfg.MaxRetryAfter,
		baseBackoff:   cfg.BaseBackoff,
		pacer:         cfg.Pacer,
		observe:       cfg.Observe,
		log:           cfg.Logger,
		sleep:         cfg.Sleep,
		now:           cfg.Now,
	}
	if c.client == nil {
		c.client = &http.Client{}
	}
	if c.scope == "" {
		c.scope = DefaultConnectorScope
	}
	if c.timeout <= 0 {
		c.timeout = 15 * time.Second
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = 4
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxRetryAfter <= 0 {
		c.maxRetryAfter = time.Minute
	}
	if c.baseBackoff <= 0 {
		c.baseBackoff = 500 * time.Millisecond
	}
	if c.observe == nil {
		c.observe = func(string, int) {}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Send posts act to a conversation and returns the new activity's id.
func (c *Connector) Send(ctx context.Context, serviceURL, conversationID string, act *Outgoing) (string, error) {
	if err := act.validate(); err != nil {
		return "", fmt.Errorf("botframework: connector %s: %w", OpSend, err)
	}
	u, err := endpoint(serviceURL, conversationID, "activities")
	if err != nil {
		return "", fmt.Errorf("botframework: connector %s: %w", OpSend, err)
	}
	return c.postActivity(ctx, OpSend, u, conversationID, act)
}

// Reply posts act as a reply to replyToID in a conversation and returns the new activity's id.
func (c *Connector) Reply(ctx context.Context, serviceURL, conversationID, replyToID string, act *Outgoing) (string, error) {
	if err := act.validate(); err != nil {
		return "", fmt.Errorf("botframework: connector %s: %w", OpReply, err)
	}
	if replyToID == "" {
		return "", fmt.Errorf("botframework: connector %s: empty replyToId", OpReply)
	}
	u, err := endpoint(serviceURL, conversationID, "activities", replyToID)
	if err != nil {
		return "", fmt.Errorf("botframework: connector %s: %w", OpReply, err)
	}
	cp := *act
	if cp.ReplyToID == "" {
		cp.ReplyToID = replyToID
	}
	return c.postActivity(ctx, OpReply, u, conversationID, &cp)
}

func (c *Connector) postActivity(ctx context.Context, op, u, conversationID string, act *Outgoing) (string, error) {
	var res struct {
		ID string `json:"id"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodPost, url: u, body: act, out: &res,
		paceKey: conversationID, conversationID: conversationID})
	if err != nil {
		return "", err
	}
	if res.ID == "" {
		return "", fmt.Errorf("botframework: connector %s: HTTP %d: %w", op, status, ErrNoActivityID)
	}
	return res.ID, nil
}

// Update replaces an activity (PUT), e.g. to change a card for everyone. act.ID is set to
// activityID in the request; act itself is not modified.
func (c *Connector) Update(ctx context.Context, serviceURL, conversationID, activityID string, act *Outgoing) error {
	if err := act.validate(); err != nil {
		return fmt.Errorf("botframework: connector %s: %w", OpUpdate, err)
	}
	if activityID == "" {
		return fmt.Errorf("botframework: connector %s: empty activity id", OpUpdate)
	}
	u, err := endpoint(serviceURL, conversationID, "activities", activityID)
	if err != nil {
		return fmt.Errorf("botframework: connector %s: %w", OpUpdate, err)
	}
	cp := *act
	cp.ID = activityID
	_, err = c.do(ctx, request{op: OpUpdate, method: http.MethodPut, url: u, body: &cp, idempotent: true,
		paceKey: conversationID, conversationID: conversationID})
	return err
}

// Delete deletes an activity.
func (c *Connector) Delete(ctx context.Context, serviceURL, conversationID, activityID string) error {
	if activityID == "" {
		return fmt.Errorf("botframework: connector %s: empty activity id", OpDelete)
	}
	u, err := endpoint(serviceURL, conversationID, "activities", activityID)
	if err != nil {
		return fmt.Errorf("botframework: connector %s: %w", OpDelete, err)
	}
	_, err = c.do(ctx, request{op: OpDelete, method: http.MethodDelete, url: u, idempotent: true,
		paceKey: conversationID, conversationID: conversationID})
	return err
}

// Members lists the members of a conversation.
func (c *Connector) Members(ctx context.Context, serviceURL, conversationID string) ([]Account, error) {
	u, err := endpoint(serviceURL, conversationID, "members")
	if err != nil {
		return nil, fmt.Errorf("botframework: connector %s: %w", OpMembers, err)
	}
	var members []Account
	_, err = c.do(ctx, request{op: OpMembers, method: http.MethodGet, url: u, out: &members, idempotent: true,
		paceKey: "members\x00" + conversationID, conversationID: conversationID})
	if err != nil {
		return nil, err
	}
	return members, nil
}

// ConversationParameters is the body of "create conversation". For a Teams 1:1 chat set Bot, one
// member (the user's channel id, or their Entra object id if they installed the app) and TenantID.
type ConversationParameters struct {
	IsGroup   bool                    `json:"isGroup"`
	Bot       schema.ChannelAccount   `json:"bot"`
	Members   []schema.ChannelAccount `json:"members"`
	TopicName string                  `json:"topicName,omitempty"`
	TenantID  string                  `json:"tenantId,omitempty"`
	// Activity, if set, is posted as the first message of the conversation.
	Activity *Outgoing `json:"activity,omitempty"`
	// ChannelData defaults to {"tenant":{"id":TenantID}}, which Teams requires.
	ChannelData any `json:"channelData,omitempty"`
}

// ConversationResource is the answer to "create conversation".
type ConversationResource struct {
	// ID is the conversation id; Teams returns the existing one for a user's 1:1 chat.
	ID string `json:"id"`
	// ActivityID is the id of the first message, when one was sent.
	ActivityID string `json:"activityId,omitempty"`
	// ServiceURL is the service URL to use for the conversation, when the service returns one.
	ServiceURL string `json:"serviceUrl,omitempty"`
}

// CreateConversation creates (or, in Teams, returns the existing) conversation described by p.
func (c *Connector) CreateConversation(ctx context.Context, serviceURL string, p ConversationParameters) (ConversationResource, error) {
	var res ConversationResource
	if p.Bot.ID == "" || len(p.Members) == 0 || p.Members[0].ID == "" {
		return res, fmt.Errorf("botframework: connector %s: bot and member ids are required", OpCreateConversation)
	}
	if !p.IsGroup && p.TenantID == "" {
		return res, fmt.Errorf("botframework: connector %s: a 1:1 conversation needs the tenant id", OpCreateConversation)
	}
	if p.Activity != nil {
		if err := p.Activity.validate(); err != nil {
			return res, fmt.Errorf("botframework: connector %s: %w", OpCreateConversation, err)
		}
	}
	if p.ChannelData == nil && p.TenantID != "" {
		p.ChannelData = ChannelData{Tenant: &IDRef{ID: p.TenantID}}
	}
	u, err := endpoint(serviceURL, "")
	if err != nil {
		return res, fmt.Errorf("botframework: connector %s: %w", OpCreateConversation, err)
	}
	_, err = c.do(ctx, request{op: OpCreateConversation, method: http.MethodPost, url: u, body: p, out: &res,
		paceKey: "create\x00" + p.Members[0].ID})
	if err != nil {
		return res, err
	}
	if res.ID == "" {
		return res, fmt.Errorf("botframework: connector %s: response has no conversation id", OpCreateConversation)
	}
	return res, nil
}

// endpoint builds {serviceURL}/v3/conversations[/{conversationID}[/{rest…}]], escaping every id
// as one path segment (Teams ids contain ':', '@' and ';messageid=').
func endpoint(serviceURL, conversationID string, rest ...string) (string, error) {
	u, err := url.Parse(serviceURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("invalid service URL")
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"))
	b.WriteString("/v3/conversations")
	if len(rest) > 0 {
		if conversationID == "" {
			return "", errors.New("empty conversation id")
		}
		b.WriteString("/")
		b.WriteString(url.PathEscape(conversationID))
		for _, seg := range rest {
			b.WriteString("/")
			b.WriteString(url.PathEscape(seg))
		}
	}
	return b.String(), nil
}

// request is one logical connector call, possibly sent several times.
type request struct {
	op, method, url string
	body            any // marshalled once; every attempt gets a fresh reader
	out             any // decoded from a 2xx body when non-empty
	idempotent      bool
	paceKey         string
	conversationID  string // for logs only
}

// attemptResult is what one HTTP attempt produced.
type attemptResult struct {
	status int
	header http.Header
	body   []byte
	wrote  bool // the whole request was written to the connection
	err    error
}

// do runs r with pacing and bounded retries and returns the final HTTP status.
func (c *Connector) do(ctx context.Context, r request) (int, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return 0, fmt.Errorf("botframework: connector %s: encode body: %w", r.op, err)
		}
	}
	log := c.log.With("op", r.op, "conversation_id", r.conversationID)
	for attempt := 0; ; attempt++ {
		if c.pacer != nil {
			if err := c.pacer.Wait(ctx, r.paceKey); err != nil {
				return 0, fmt.Errorf("botframework: connector %s: waiting for rate limit: %w", r.op, err)
			}
		}
		res := c.attempt(ctx, r, payload)
		c.observe(r.op, res.status)

		var (
			err        error
			retryable  bool
			retryAfter time.Duration
		)
		switch {
		case res.err != nil:
			err, retryable = c.transportFailure(ctx, r, res)
		case res.status >= 200 && res.status < 300:
			if r.out != nil && len(bytes.TrimSpace(res.body)) > 0 {
				if derr := json.Unmarshal(res.body, r.out); derr != nil {
					return res.status, fmt.Errorf("botframework: connector %s: decode response (HTTP %d): %w", r.op, res.status, derr)
				}
			}
			return res.status, nil
		default:
			cerr := parseConnectorError(r.op, res.status, res.body)
			cerr.RetryAfter = parseRetryAfter(res.header.Get("Retry-After"), c.now())
			retryAfter = cerr.RetryAfter
			err = cerr
			switch {
			case retryableStatus(res.status):
				retryable = true
			case res.status == http.StatusRequestTimeout && r.idempotent:
				retryable = true
			case !r.idempotent && (res.status == http.StatusRequestTimeout || res.status >= 500):
				err = fmt.Errorf("botframework: connector %s: %w: %w", r.op, ErrOutcomeUnknown, cerr)
			}
		}
		if !retryable || attempt >= c.maxRetries {
			if retryable {
				log.Warn("connector call failed after retries", "attempts", attempt+1, "status", res.status, "error", err)
			}
			return res.status, err
		}
		delay := retryAfter
		if delay > c.maxRetryAfter {
			log.Warn("connector asked to retry later than allowed; giving up", "status", res.status, "retry_after", delay)
			return res.status, err
		}
		if delay <= 0 {
			delay = c.backoff(attempt)
		}
		log.Info("retrying connector call", "attempt", attempt+1, "status", res.status, "delay", delay, "error", err)
		if serr := c.sleep(ctx, delay); serr != nil {
			return res.status, fmt.Errorf("botframework: connector %s: %w (while waiting to retry after: %v)", r.op, serr, err)
		}
	}
}

// transportFailure classifies an attempt that got no HTTP response.
func (c *Connector) transportFailure(ctx context.Context, r request, res attemptResult) (err error, retryable bool) {
	if res.wrote && !r.idempotent {
		// The service may have acted on the request; repeating a POST could duplicate a message.
		return fmt.Errorf("botframework: connector %s: %w: %w", r.op, ErrOutcomeUnknown, res.err), false
	}
	err = fmt.Errorf("botframework: connector %s: %w", r.op, res.err)
	if ctx.Err() != nil {
		return err, false
	}
	var perm *permanentError
	if errors.As(res.err, &perm) {
		return err, false
	}
	return err, true
}

// permanentError marks an attempt failure that another attempt cannot fix: the request could not
// be built, or the token could not be obtained (azidentity already retries where that helps).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// attempt sends one HTTP request.
func (c *Connector) attempt(ctx context.Context, r request, payload []byte) attemptResult {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, r.method, r.url, body)
	if err != nil {
		return attemptResult{err: &permanentError{err}}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "guestpass")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if c.cred != nil {
		if !tokenSafeURL(req.URL) {
			return attemptResult{err: &permanentError{errors.New("refusing to send a connector token over plain HTTP to a non-loopback host")}}
		}
		tok, err := c.cred.GetToken(actx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
		if err != nil {
			return attemptResult{err: &permanentError{fmt.Errorf("acquire connector token: %w", err)}}
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return attemptResult{err: err, wrote: wrote.Load()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	res := attemptResult{status: resp.StatusCode, header: resp.Header, body: data, wrote: true}
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The service accepted the call, so it must not be repeated; only the body is lost.
		res.body = nil
	}
	return res
}

// tokenSafeURL reports whether a bearer token may be sent to u: over HTTPS, or plain HTTP to a
// loopback host (the Agents Playground and test fakes).
func tokenSafeURL(u *url.URL) bool {
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// retryableStatus lists the statuses Teams documents as retryable (teams-bot-protocol.md §4.4).
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusPreconditionFailed, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff returns the wait before retry number attempt+1: exponential with full jitter in its
// upper half, capped at 10s.
func (c *Connector) backoff(attempt int) time.Duration {
	d := c.baseBackoff << min(attempt, 10)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. Zero when absent or
// invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// parseConnectorError reads {"error":{"code","message","subCode"}} (with a few tolerated
// variants) from a non-2xx body.
func parseConnectorError(op string, status int, body []byte) *ConnectorError {
	e := &ConnectorError{Op: op, Status: status}
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			SubCode string `json:"subCode"`
		} `json:"error"`
		SubCode string `json:"subCode"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.Code = firstNonEmpty(doc.Error.Code, doc.Code)
		e.Message = firstNonEmpty(doc.Error.Message, doc.Message)
		e.SubCode = firstNonEmpty(doc.Error.SubCode, doc.SubCode)
	}
	if e.SubCode == "" && (e.Code == SubCodeMessageWritesBlocked || strings.Contains(e.Message, SubCodeMessageWritesBlocked)) {
		e.SubCode = SubCodeMessageWritesBlocked
	}
	const maxMessage = 512
	if len(e.Message) > maxMessage {
		e.Message = e.Message[:maxMessage]
	}
	return e
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
