package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/botframework"
)

// Call is one request the fake Bot Connector received.
type Call struct {
	// Op is the operation: botframework.OpSend, OpReply, OpUpdate, OpDelete,
	// OpCreateConversation or OpMembers.
	Op string
	// Method and Path are the HTTP method and the decoded path below the service URL
	// (e.g. "/v3/conversations/19:x;messageid=1/activities").
	Method string
	Path   string
	// RawPath is the path exactly as sent on the wire (escaped).
	RawPath string
	// ConversationID and ActivityID are the decoded path parameters (ActivityID is the replyToId
	// for replies and the target for updates and deletes).
	ConversationID string
	ActivityID     string
	// Activity is the decoded activity of sends, replies and updates.
	Activity *botframework.Outgoing
	// Conversation is the decoded body of create-conversation calls.
	Conversation *botframework.ConversationParameters
	// Body is the raw request body.
	Body []byte
	// Authorization is the Authorization header as received ("" when absent).
	Authorization string
	// Status is the status the fake answered with; ResultID the id it returned, if any.
	Status   int
	ResultID string
}

// ConnectorOption configures NewConnector.
type ConnectorOption func(*Connector)

// WithClock makes the fake's rate limiting use now instead of the real clock, so pacing tests can
// run on the same virtual clock as the botframework.Pacer.
func WithClock(now func() time.Time) ConnectorOption {
	return func(c *Connector) { c.now = now }
}

// WithoutRateLimit turns off the Teams per-conversation limits in the fake.
func WithoutRateLimit() ConnectorOption {
	return func(c *Connector) { c.rateLimit = false }
}

// WithRequiredAuthorization makes the fake answer 401 unless the Authorization header equals
// header exactly (e.g. "Bearer token-1").
func WithRequiredAuthorization(header string) ConnectorOption {
	return func(c *Connector) { c.requiredAuth = header }
}

// WithInstalledApps makes the fake refuse to create a 1:1 conversation with a user who does not
// have the bot's app, as Teams does (403 BotNotInConversationRoster): installed reports, by the
// member's Entra object id, whether the app is installed in their personal scope (e.g. the
// sandbox tenant's Sandbox.AppInstalled, so installing through Graph makes the chat creatable).
// Without this option every user has the app. Members addressed by a "29:" id are not checked:
// the bot only learns such an id from someone it already shares a conversation with.
func WithInstalledApps(installed func(userOID string) bool) ConnectorOption {
	return func(c *Connector) { c.installed = installed }
}

// Connector is a fake Bot Connector speaking the v3 REST protocol over real HTTP. It behaves like
// Teams and the Agents Playground's mock connector where guestpass depends on it: ids like
// Teams', 201 {"id"} on sends, 202 without a body when text and attachments are mixed, 400
// BadSyntax on a mixed update, the same 1:1 conversation id per member, and the Teams
// per-conversation rate limits with 429 + Retry-After.
type Connector struct {
	// ServiceURL is the service URL to put in activities; it has a path prefix and a trailing
	// slash like Teams' regional URLs ("…/teams/").
	ServiceURL string

	srv          *httptest.Server
	now          func() time.Time
	rateLimit    bool
	requiredAuth string
	installed    func(userOID string) bool

	mu        sync.Mutex
	calls     []Call
	changed   chan struct{} // closed and replaced on every recorded call
	cursor    int           // Next's position in calls
	nextID    int64
	failures  []failure
	hangs     int
	blocked   map[string]bool
	members   map[string][]botframework.Account
	convByKey map[string]string
	sendTimes map[string][]time.Time
	throttled int
	release   chan struct{} // closed when the fake shuts down, to release hung requests
}

// failure is a scripted error response.
type failure struct {
	status     int
	retryAfter string
	body       string
}

// NewConnector starts a fake Bot Connector that is closed when the test ends.
func NewConnector(t testing.TB, opts ...ConnectorOption) *Connector {
	t.Helper()
	c := &Connector{
		now:       time.Now,
		rateLimit: true,
		changed:   make(chan struct{}),
		nextID:    1795634384392,
		blocked:   make(map[string]bool),
		members:   make(map[string][]botframework.Account),
		convByKey: make(map[string]string),
		sendTimes: make(map[string][]time.Time),
		release:   make(chan struct{}),
	}
	for _, o := range opts {
		o(c)
	}
	const prefix = "/teams"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/conversations", c.handleCreate)
	mux.HandleFunc("POST /v3/conversations/{conv}/activities", c.handleActivity(botframework.OpSend))
	mux.HandleFunc("POST /v3/conversations/{conv}/activities/{id}", c.handleActivity(botframework.OpReply))
	mux.HandleFunc("PUT /v3/conversations/{conv}/activities/{id}", c.handleActivity(botframework.OpUpdate))
	mux.HandleFunc("DELETE /v3/conversations/{conv}/activities/{id}", c.handleActivity(botframework.OpDelete))
	mux.HandleFunc("GET /v3/conversations/{conv}/members", c.handleMembers)
	c.srv = httptest.NewServer(http.StripPrefix(prefix, mux))
	c.ServiceURL = c.srv.URL + prefix + "/"
	t.Cleanup(func() {
		c.mu.Lock()
		close(c.release)
		c.mu.Unlock()
		c.srv.Close()
	})
	return c
}

// URL is the fake's base URL (without the service path prefix).
func (c *Connector) URL() string { return c.srv.URL }

// Client returns an HTTP client for the fake's server.
func (c *Connector) Client() *http.Client { return c.srv.Client() }

// FailNext makes the next n requests fail with status; retryAfter, if not empty, is sent as the
// Retry-After header. The body is a Bot Connector error with a code derived from the status.
func (c *Connector) FailNext(n, status int, retryAfter string) {
	body := fmt.Sprintf(`{"error":{"code":%q,"message":"scripted failure"}}`, strings.ReplaceAll(http.StatusText(status), " ", ""))
	c.FailNextWith(n, status, retryAfter, body)
}

// FailNextWith is FailNext with an explicit response body.
func (c *Connector) FailNextWith(n, status int, retryAfter, body string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		c.failures = append(c.failures, failure{status: status, retryAfter: retryAfter, body: body})
	}
}

// HangNext makes the next n requests hang after their body was read, until the client gives up
// or the test ends: the caller cannot know whether the call took effect. They are recorded.
func (c *Connector) HangNext(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hangs += n
}

// Block makes sends, replies and updates to conversationID answer 403 with sub-code
// MessageWritesBlocked, as Teams does when the user blocked or uninstalled the bot.
func (c *Connector) Block(conversationID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked[conversationID] = true
}

// SetMembers sets what the members listing of conversationID returns.
func (c *Connector) SetMembers(conversationID string, members []botframework.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.members[conversationID] = members
}

// Throttled returns how many 429s the fake's rate limiting has sent (scripted failures excluded).
func (c *Connector) Throttled() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.throttled
}

// Calls returns a copy of every call received so far, in order.
func (c *Connector) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Call(nil), c.calls...)
}

// Next returns the next call that Next has not returned yet, waiting for it until ctx ends.
func (c *Connector) Next(ctx context.Context) (Call, error) {
	for {
		c.mu.Lock()
		if c.cursor < len(c.calls) {
			call := c.calls[c.cursor]
			c.cursor++
			c.mu.Unlock()
			return call, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Call{}, fmt.Errorf("testkit: waiting for a connector call: %w", ctx.Err())
		}
	}
}

// WaitFor returns the first call (received before or after WaitFor was called) for which match
// returns true, waiting until ctx ends.
func (c *Connector) WaitFor(ctx context.Context, match func(Call) bool) (Call, error) {
	seen := 0
	for {
		c.mu.Lock()
		for ; seen < len(c.calls); seen++ {
			if match(c.calls[seen]) {
				call := c.calls[seen]
				c.mu.Unlock()
				return call, nil
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Call{}, fmt.Errorf("testkit: waiting for a matching connector call: %w", ctx.Err())
		}
	}
}

// WaitCalls waits until at least n calls were received and returns them.
func (c *Connector) WaitCalls(ctx context.Context, n int) ([]Call, error) {
	for {
		c.mu.Lock()
		if len(c.calls) >= n {
			calls := append([]Call(nil), c.calls...)
			c.mu.Unlock()
			return calls, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("testkit: waiting for %d connector calls: %w", n, ctx.Err())
		}
	}
}

// record appends call and wakes the waiters. c.mu must be held.
func (c *Connector) record(call Call) {
	c.calls = append(c.calls, call)
	close(c.changed)
	c.changed = make(chan struct{})
}

// newID returns a Teams-like numeric activity id. c.mu must be held.
func (c *Connector) newID() string {
	c.nextID++
	return strconv.FormatInt(c.nextID, 10)
}

// gate applies the scripted behaviours shared by every route. It returns false when it answered
// the request itself. c.mu must be held; it is released while a request hangs.
func (c *Connector) gate(w http.ResponseWriter, r *http.Request, call *Call) bool {
	if c.requiredAuth != "" && call.Authorization != c.requiredAuth {
		writeError(w, http.StatusUnauthorized, "", `{"message":"Authorization has been denied for this request."}`)
		call.Status = http.StatusUnauthorized
		c.record(*call)
		return false
	}
	if len(c.failures) > 0 {
		f := c.failures[0]
		c.failures = c.failures[1:]
		writeError(w, f.status, f.retryAfter, f.body)
		call.Status = f.status
		c.record(*call)
		return false
	}
	if c.hangs > 0 {
		c.hangs--
		call.Status = 0
		c.record(*call)
		release := c.release
		c.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-release:
		}
		c.mu.Lock()
		return false
	}
	return true
}

// limited enforces the Teams send limits for key and answers 429 when one is exceeded.
// c.mu must be held.
func (c *Connector) limited(w http.ResponseWriter, key string, call *Call) bool {
	if !c.rateLimit {
		return false
	}
	now := c.now()
	times := c.sendTimes[key]
	for _, win := range botframework.TeamsSendWindows {
		n := 0
		oldest := now
		for i := len(times) - 1; i >= 0 && now.Sub(times[i]) < win.Length; i-- {
			n++
			oldest = times[i]
		}
		if n >= win.Limit {
			retry := int((oldest.Add(win.Length).Sub(now) + time.Second - 1) / time.Second)
			c.throttled++
			writeError(w, http.StatusTooManyRequests, strconv.Itoa(max(retry, 1)),
				`{"error":{"code":"TooManyRequests","message":"rate limit exceeded"}}`)
			call.Status = http.StatusTooManyRequests
			c.record(*call)
			return true
		}
	}
	// Keep one hour of history: the longest window.
	cut := 0
	for cut < len(times) && now.Sub(times[cut]) >= time.Hour {
		cut++
	}
	c.sendTimes[key] = append(times[cut:], now)
	return false
}

func (c *Connector) handleActivity(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, http.StatusBadRequest, "", `{"error":{"code":"BadArgument","message":"unreadable body"}}`)
			return
		}
		call := Call{
			Op: op, Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
			ConversationID: r.PathValue("conv"), ActivityID: r.PathValue("id"),
			Body: body, Authorization: r.Header.Get("Authorization"),
		}
		if op != botframework.OpDelete {
			var act botframework.Outgoing
			if err := json.Unmarshal(body, &act); err != nil || act.Type == "" {
				c.mu.Lock()
				call.Status = http.StatusBadRequest
				c.record(call)
				c.mu.Unlock()
				writeError(w, http.StatusBadRequest, "", `{"error":{"code":"BadArgument","message":"invalid activity"}}`)
				return
			}
			call.Activity = &act
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.gate(w, r, &call) {
			return
		}
		if c.blocked[call.ConversationID] && op != botframework.OpDelete {
			call.Status = http.StatusForbidden
			c.record(call)
			writeError(w, http.StatusForbidden, "",
				`{"error":{"code":"Forbidden","subCode":"MessageWritesBlocked","message":"The bot is blocked or not installed for the user."}}`)
			return
		}
		mixed := call.Activity != nil && call.Activity.Text != "" && len(call.Activity.Attachments) > 0
		switch op {
		case botframework.OpSend, botframework.OpReply:
			if c.limited(w, call.ConversationID, &call) {
				return
			}
			if mixed {
				// Teams and the Playground split text + attachments into two messages and
				// answer without an id.
				call.Status = http.StatusAccepted
				c.record(call)
				w.WriteHeader(http.StatusAccepted)
				return
			}
			call.Status, call.ResultID = http.StatusCreated, c.newID()
			c.record(call)
			writeJSON(w, http.StatusCreated, map[string]string{"id": call.ResultID})
		case botframework.OpUpdate:
			if mixed {
				call.Status = http.StatusBadRequest
				c.record(call)
				writeError(w, http.StatusBadRequest, "",
					`{"error":{"code":"BadSyntax","message":"Activity resulted into multiple skype activities"}}`)
				return
			}
			call.Status, call.ResultID = http.StatusOK, call.ActivityID
			c.record(call)
			writeJSON(w, http.StatusOK, map[string]string{"id": call.ResultID})
		case botframework.OpDelete:
			call.Status = http.StatusOK
			c.record(call)
			w.WriteHeader(http.StatusOK)
		}
	}
}

func (c *Connector) handleCreate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "", `{"error":{"code":"BadArgument","message":"unreadable body"}}`)
		return
	}
	call := Call{Op: botframework.OpCreateConversation, Method: r.Method, Path: r.URL.Path,
		RawPath: r.URL.EscapedPath(), Body: body, Authorization: r.Header.Get("Authorization")}
	var p botframework.ConversationParameters
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := json.Unmarshal(body, &p); err != nil || p.Bot.ID == "" || len(p.Members) != 1 || p.Members[0].ID == "" ||
		(!p.IsGroup && p.TenantID == "") {
		call.Status = http.StatusBadRequest
		c.record(call)
		writeError(w, http.StatusBadRequest, "", `{"error":{"code":"BadArgument","message":"a 1:1 conversation needs bot, one member and tenantId"}}`)
		return
	}
	call.Conversation = &p
	if !c.gate(w, r, &call) {
		return
	}
	if c.limited(w, "create\x00"+p.Members[0].ID, &call) {
		return
	}
	if !c.hasApp(p.Members[0]) {
		call.Status = http.StatusForbidden
		c.record(call)
		writeError(w, http.StatusForbidden, "",
			`{"error":{"code":"BotNotInConversationRoster","message":"The bot is not part of the conversation roster."}}`)
		return
	}
	key := p.TenantID + "\x00" + p.Members[0].ID
	id, ok := c.convByKey[key]
	if !ok {
		id = "a:1" + strconv.Itoa(len(c.convByKey)+1) + "qhN" + strings.NewReplacer(":", "", "-", "").Replace(p.Members[0].ID)
		c.convByKey[key] = id
	}
	res := botframework.ConversationResource{ID: id}
	if p.Activity != nil {
		res.ActivityID = c.newID()
	}
	call.Status, call.ResultID, call.ConversationID = http.StatusCreated, id, id
	c.record(call)
	writeJSON(w, http.StatusCreated, res)
}

// hasApp reports whether a 1:1 conversation may be created with member (WithInstalledApps).
func (c *Connector) hasApp(member schema.ChannelAccount) bool {
	if c.installed == nil || strings.HasPrefix(member.ID, "29:") {
		return true
	}
	oid := member.AadObjectID
	if oid == "" {
		oid = member.ID
	}
	return c.installed(oid)
}

func (c *Connector) handleMembers(w http.ResponseWriter, r *http.Request) {
	call := Call{Op: botframework.OpMembers, Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
		ConversationID: r.PathValue("conv"), Authorization: r.Header.Get("Authorization")}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.gate(w, r, &call) {
		return
	}
	members, ok := c.members[call.ConversationID]
	if !ok {
		members = []botframework.Account{PlaygroundUser()}
	}
	call.Status = http.StatusOK
	c.record(call)
	writeJSON(w, http.StatusOK, members)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, retryAfter, body string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
