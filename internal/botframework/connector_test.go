package botframework_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/botframework"
	"guestpass/internal/testkit"
)

// staticCredential is an azcore.TokenCredential that hands out a fixed token and counts calls,
// standing in for azidentity (which would need Entra).
type staticCredential struct {
	token  string
	scopes atomic.Value
	calls  atomic.Int64
	err    error
}

func (c *staticCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	c.scopes.Store(opts.Scopes)
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// newTestConnector returns a connector against fake whose waits run on clock.
func newTestConnector(fake *testkit.Connector, clock *testkit.Clock, mod func(*botframework.ConnectorConfig)) *botframework.Connector {
	cfg := botframework.ConnectorConfig{
		HTTPClient: fake.Client(),
		Timeout:    5 * time.Second,
		Sleep:      clock.Sleep,
		Now:        clock.Now,
		Logger:     slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	return botframework.NewConnector(cfg)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectorOperations(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t)
	clock := testkit.NewClock(time.Unix(1_800_000_000, 0))
	var observed []string
	conn := newTestConnector(fake, clock, func(c *botframework.ConnectorConfig) {
		c.Observe = func(op string, status int) { observed = append(observed, op+":"+http.StatusText(status)) }
	})
	conv := testkit.PlaygroundConversationID

	sentID, err := conn.Send(ctx, fake.ServiceURL, conv, botframework.NewText("hello"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	replyID, err := conn.Reply(ctx, fake.ServiceURL, conv, "92b70c81", botframework.NewCard(map[string]any{"type": "AdaptiveCard", "version": "1.5"}))
	if err != nil {
		t.Fatalf("Reply: %v", err)
	}
	if sentID == "" || replyID == "" || sentID == replyID {
		t.Fatalf("ids: send %q reply %q, want two distinct non-empty ids", sentID, replyID)
	}
	card := botframework.NewCard(map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{}})
	if err := conn.Update(ctx, fake.ServiceURL, conv, replyID, card); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if card.ID != "" {
		t.Errorf("Update modified the caller's activity: ID = %q", card.ID)
	}
	if err := conn.Delete(ctx, fake.ServiceURL, conv, sentID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	members, err := conn.Members(ctx, fake.ServiceURL, conv)
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	if len(members) != 1 || members[0].AadObjectID != testkit.PlaygroundUserAADObjectID {
		t.Errorf("Members = %+v, want the Playground user", members)
	}

	calls := fake.Calls()
	want := []struct{ op, method, path, activityID string }{
		{botframework.OpSend, http.MethodPost, "/v3/conversations/" + conv + "/activities", ""},
		{botframework.OpReply, http.MethodPost, "/v3/conversations/" + conv + "/activities/92b70c81", "92b70c81"},
		{botframework.OpUpdate, http.MethodPut, "/v3/conversations/" + conv + "/activities/" + replyID, replyID},
		{botframework.OpDelete, http.MethodDelete, "/v3/conversations/" + conv + "/activities/" + sentID, sentID},
		{botframework.OpMembers, http.MethodGet, "/v3/conversations/" + conv + "/members", ""},
	}
	if len(calls) != len(want) {
		t.Fatalf("got %d calls, want %d: %+v", len(calls), len(want), calls)
	}
	for i, w := range want {
		c := calls[i]
		if c.Op != w.op || c.Method != w.method || c.Path != w.path || c.ActivityID != w.activityID {
			t.Errorf("call %d = %s %s %s (activity %q), want %s %s %s (activity %q)", i, c.Op, c.Method, c.Path, c.ActivityID, w.op, w.method, w.path, w.activityID)
		}
		if c.Authorization != "" {
			t.Errorf("call %d carried Authorization without a credential", i)
		}
	}
	if calls[0].Activity.Text != "hello" || calls[0].Activity.Type != "message" {
		t.Errorf("sent activity = %+v", calls[0].Activity)
	}
	if calls[1].Activity.ReplyToID != "92b70c81" {
		t.Errorf("reply replyToId = %q", calls[1].Activity.ReplyToID)
	}
	if calls[2].Activity.ID != replyID || len(calls[2].Activity.Attachments) != 1 {
		t.Errorf("update body = %+v, want id %q and one attachment", calls[2].Activity, replyID)
	}
	for _, body := range []string{string(calls[0].Body), string(calls[2].Body)} {
		for _, zero := range []string{"0001-01-01", "suggestedActions", `"from":{}`} {
			if strings.Contains(body, zero) {
				t.Errorf("outgoing body contains zero value %q: %s", zero, body)
			}
		}
	}
	if len(observed) != 5 || observed[0] != "send:Created" {
		t.Errorf("observed = %v", observed)
	}
}

func TestConnectorEscapesConversationIDs(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t)
	conn := newTestConnector(fake, testkit.NewClock(time.Now()), nil)
	ids := []string{
		"19:abc123@thread.tacv2;messageid=1795634428653",
		"team-id;messageid=1795634428653",
		"a:1qhN/with?odd#chars",
	}
	for _, id := range ids {
		if _, err := conn.Send(ctx, fake.ServiceURL, id, botframework.NewText("x")); err != nil {
			t.Fatalf("Send to %q: %v", id, err)
		}
		if err := conn.Update(ctx, fake.ServiceURL, id, "1:2/3", botframework.NewText("y")); err != nil {
			t.Fatalf("Update in %q: %v", id, err)
		}
	}
	calls := fake.Calls()
	for i, id := range ids {
		send, upd := calls[2*i], calls[2*i+1]
		if send.ConversationID != id || upd.ConversationID != id {
			t.Errorf("conversation id arrived as %q / %q, want %q", send.ConversationID, upd.ConversationID, id)
		}
		if upd.ActivityID != "1:2/3" {
			t.Errorf("activity id arrived as %q", upd.ActivityID)
		}
		if strings.Contains(id, ";") && !strings.Contains(send.RawPath, "%3Bmessageid=") {
			t.Errorf("raw path %q does not escape ';'", send.RawPath)
		}
	}
}

func TestConnectorRetriesThrottlingHonouringRetryAfter(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	tests := []struct {
		name       string
		status     int
		retryAfter string
		failures   int
		wantSleep  time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, "3", 2, 3 * time.Second},
		// An HTTP date is absolute, so only the first wait is 7 s.
		{"429 http date", http.StatusTooManyRequests, clock.Now().Add(7 * time.Second).Format(http.TimeFormat), 1, 7 * time.Second},
		{"412", http.StatusPreconditionFailed, "1", 2, time.Second},
		{"502", http.StatusBadGateway, "2", 2, 2 * time.Second},
		{"503", http.StatusServiceUnavailable, "2", 2, 2 * time.Second},
		{"504", http.StatusGatewayTimeout, "2", 2, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			fake := testkit.NewConnector(t)
			clock := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
			conn := newTestConnector(fake, clock, nil)
			fake.FailNext(tt.failures, tt.status, tt.retryAfter)
			id, err := conn.Send(ctx, fake.ServiceURL, "conv-1", botframework.NewText("hi"))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id == "" {
				t.Fatal("no id after retries")
			}
			if n := len(fake.Calls()); n != tt.failures+1 {
				t.Errorf("calls = %d, want %d failures + success", n, tt.failures)
			}
			sleeps := clock.Sleeps()
			if len(sleeps) != tt.failures {
				t.Fatalf("sleeps = %v, want %d", sleeps, tt.failures)
			}
			for _, d := range sleeps {
				if d != tt.wantSleep {
					t.Errorf("sleeps = %v, want each %v", sleeps, tt.wantSleep)
				}
			}
		})
	}
}

func TestConnectorRetriesAreBounded(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t)
	clock := testkit.NewClock(time.Now())
	conn := newTestConnector(fake, clock, func(c *botframework.ConnectorConfig) { c.MaxRetries = 2 })
	fake.FailNext(10, http.StatusServiceUnavailable, "")
	_, err := conn.Send(ctx, fake.ServiceURL, "conv-1", botframework.NewText("hi"))
	var cerr *botframework.ConnectorError
	if !errors.As(err, &cerr) || cerr.Status != http.StatusServiceUnavailable || cerr.Op != botframework.OpSend {
		t.Fatalf("err = %v, want a 503 *ConnectorError", err)
	}
	if n := len(fake.Calls()); n != 3 {
		t.Errorf("calls = %d, want 3 (1 + 2 retries)", n)
	}
	sleeps := clock.Sleeps()
	if len(sleeps) != 2 {
		t.Fatalf("sleeps = %v, want 2 backoffs", sleeps)
	}
	// Exponential backoff with jitter in the upper half: [250ms,500ms] then [500ms,1s].
	if sleeps[0] < 250*time.Millisecond || sleeps[0] > 500*time.Millisecond ||
		sleeps[1] < 500*time.Millisecond || sleeps[1] > time.Second {
		t.Errorf("backoffs = %v, want within [250ms,500ms] and [500ms,1s]", sleeps)
	}
}

func TestConnectorGivesUpOnLongRetryAfter(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t)
	clock := testkit.NewClock(time.Now())
	conn := newTestConnector(fake, clock, func(c *botframework.ConnectorConfig) { c.MaxRetryAfter = 10 * time.Second })
	fake.FailNext(1, http.StatusTooManyRequests, "120")
	_, err := conn.Send(ctx, fake.ServiceURL, "conv-1", botframework.NewText("hi"))
	var cerr *botframework.ConnectorError
	if !errors.As(err, &cerr) || cerr.Status != http.StatusTooManyRequests || cerr.RetryAfter != 120*time.Second {
		t.Fatalf("err = %v, want 429 with RetryAfter 120s", err)
	}
	if len(clock.Sleeps()) != 0 || len(fake.Calls()) != 1 {
		t.Errorf("sleeps %v, calls %d: want no wait and one call", clock.Sleeps(), len(fake.Calls()))
	}
}

func TestConnectorUnknownOutcomeIsNotRepeated(t *testing.T) {
	tests := []struct {
		name   string
		script func(*testkit.Connector)
		op     func(context.Context, *botframework.Connector, string) error
	}{
		{
			name:   "send times out after writing",
			script: func(f *testkit.Connector) { f.HangNext(1) },
			op: func(ctx context.Context, c *botframework.Connector, u string) error {
				_, err := c.Send(ctx, u, "conv-1", botframework.NewText("hi"))
				return err
			},
		},
		{
			name:   "reply gets 500",
			script: func(f *testkit.Connector) { f.FailNext(1, http.StatusInternalServerError, "") },
			op: func(ctx context.Context, c *botframework.Connector, u string) error {
				_, err := c.Reply(ctx, u, "conv-1", "1", botframework.NewText("hi"))
				return err
			},
		},
		{
			name:   "send gets 408",
			script: func(f *testkit.Connector) { f.FailNext(1, http.StatusRequestTimeout, "") },
			op: func(ctx context.Context, c *botframework.Connector, u string) error {
				_, err := c.Send(ctx, u, "conv-1", botframework.NewText("hi"))
				return err
			},
		},
		{
			name:   "create conversation times out",
			script: func(f *testkit.Connector) { f.HangNext(1) },
			op: func(ctx context.Context, c *botframework.Connector, u string) error {
				_, err := c.CreateConversation(ctx, u, botframework.ConversationParameters{
					Bot:      schema.ChannelAccount{ID: testkit.PlaygroundBotID},
					Members:  []schema.ChannelAccount{{ID: testkit.PlaygroundUserID}},
					TenantID: testkit.PlaygroundTenantID,
				})
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			fake := testkit.NewConnector(t)
			// Long enough for the request to be written even on a loaded machine, so the
			// timeout happens after sending.
			conn := newTestConnector(fake, testkit.NewClock(time.Now()), func(c *botframework.ConnectorConfig) {
				c.Timeout = 500 * time.Millisecond
			})
			tt.script(fake)
			err := tt.op(ctx, conn, fake.ServiceURL)
			if !errors.Is(err, botframework.ErrOutcomeUnknown) {
				t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
			}
			if n := len(fake.Calls()); n != 1 {
				t.Errorf("calls = %d, want exactly 1 (no blind repeat)", n)
			}
		})
	}
}

func TestConnectorRetriesIdempotentCallsAfterTimeout(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t)
	conn := newTestConnector(fake, testkit.NewClock(time.Now()), func(c *botframework.ConnectorConfig) {
		c.Timeout = 200 * time.Millisecond
	})
	fake.HangNext(1)
	if err := conn.Update(ctx, fake.ServiceURL, "conv-1", "42", botframework.NewText("edited")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	calls := fake.Calls()
	if len(calls) != 2 || calls[1].Status != http.StatusOK {
		t.Errorf("calls = %+v, want a hung PUT then a successful one", calls)
	}
}

func TestConnectorTypedErrors(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t)
	conn := newTestConnector(fake, testkit.NewClock(time.Now()), nil)

	fake.Block("blocked-conv")
	_, err := conn.Send(ctx, fake.ServiceURL, "blocked-conv", botframework.NewText("hi"))
	var cerr *botframework.ConnectorError
	if !errors.As(err, &cerr) || cerr.Status != http.StatusForbidden || cerr.SubCode != botframework.SubCodeMessageWritesBlocked {
		t.Fatalf("err = %v, want 403 MessageWritesBlocked", err)
	}
	if errors.Is(err, botframework.ErrOutcomeUnknown) {
		t.Error("a 403 is a known outcome")
	}

	fake.FailNextWith(1, http.StatusAccepted, "", "")
	_, err = conn.Send(ctx, fake.ServiceURL, "conv-1", botframework.NewText("hi"))
	if !errors.Is(err, botframework.ErrNoActivityID) {
		t.Errorf("202 without body: err = %v, want ErrNoActivityID", err)
	}

	fake.FailNext(1, http.StatusNotFound, "")
	err = conn.Update(ctx, fake.ServiceURL, "conv-1", "1", botframework.NewText("x"))
	if !errors.As(err, &cerr) || cerr.Status != http.StatusNotFound || cerr.Code != "NotFound" {
		t.Errorf("404: err = %v, want *ConnectorError 404 NotFound", err)
	}

	before := len(fake.Calls())
	mixed := botframework.NewCard(map[string]any{"type": "AdaptiveCard"})
	mixed.Text = "and text"
	if _, err := conn.Send(ctx, fake.ServiceURL, "conv-1", mixed); !errors.Is(err, botframework.ErrMixedContent) {
		t.Errorf("mixed send: err = %v, want ErrMixedContent", err)
	}
	if err := conn.Update(ctx, fake.ServiceURL, "conv-1", "1", mixed); !errors.Is(err, botframework.ErrMixedContent) {
		t.Errorf("mixed update: err = %v, want ErrMixedContent", err)
	}
	for _, bad := range []string{"", "not a url", "ftp://x/", "https://user:pw@host/", "https://host/?q=1"} {
		if _, err := conn.Send(ctx, bad, "conv-1", botframework.NewText("x")); err == nil {
			t.Errorf("service URL %q accepted", bad)
		}
	}
	if _, err := conn.Send(ctx, fake.ServiceURL, "", botframework.NewText("x")); err == nil {
		t.Error("empty conversation id accepted")
	}
	if after := len(fake.Calls()); after != before {
		t.Errorf("invalid calls reached the connector: %d requests", after-before)
	}
}

func TestConnectorAuthorizationHeader(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t, testkit.WithRequiredAuthorization("Bearer tok-1"))
	cred := &staticCredential{token: "tok-1"}
	conn := newTestConnector(fake, testkit.NewClock(time.Now()), func(c *botframework.ConnectorConfig) { c.Credential = cred })
	if _, err := conn.Send(ctx, fake.ServiceURL, "conv-1", botframework.NewText("hi")); err != nil {
		t.Fatalf("Send with credential: %v", err)
	}
	if got := fake.Calls()[0].Authorization; got != "Bearer tok-1" {
		t.Errorf("Authorization = %q", got)
	}
	if scopes, _ := cred.scopes.Load().([]string); len(scopes) != 1 || scopes[0] != botframework.DefaultConnectorScope {
		t.Errorf("scopes = %v", scopes)
	}

	anon := newTestConnector(fake, testkit.NewClock(time.Now()), nil)
	_, err := anon.Send(ctx, fake.ServiceURL, "conv-1", botframework.NewText("hi"))
	var cerr *botframework.ConnectorError
	if !errors.As(err, &cerr) || cerr.Status != http.StatusUnauthorized {
		t.Errorf("without credential: err = %v, want 401 from the fake", err)
	}
	if got := fake.Calls()[1].Authorization; got != "" {
		t.Errorf("Authorization without credential = %q, want none", got)
	}

	// A token must never travel over plain HTTP to a remote host, nor may a credential failure
	// be retried into a loop.
	calls := cred.calls.Load()
	if _, err := conn.Send(ctx, "http://connector.example.com/", "conv-1", botframework.NewText("hi")); err == nil {
		t.Error("sent a token over plain HTTP to a non-loopback host")
	}
	if cred.calls.Load() != calls {
		t.Error("token acquired for an unsafe URL")
	}
	failing := newTestConnector(fake, testkit.NewClock(time.Now()), func(c *botframework.ConnectorConfig) {
		c.Credential = &staticCredential{err: errors.New("AADSTS700016")}
	})
	n := len(fake.Calls())
	if _, err := failing.Send(ctx, fake.ServiceURL, "conv-1", botframework.NewText("hi")); err == nil ||
		!strings.Contains(err.Error(), "AADSTS700016") {
		t.Errorf("credential failure: err = %v", err)
	}
	if len(fake.Calls()) != n {
		t.Error("request sent without a token after the credential failed")
	}
}

func TestConnectorCreateConversation(t *testing.T) {
	ctx := testCtx(t)
	fake := testkit.NewConnector(t)
	conn := newTestConnector(fake, testkit.NewClock(time.Now()), nil)
	params := botframework.ConversationParameters{
		Bot:      schema.ChannelAccount{ID: testkit.PlaygroundBotID, Name: testkit.PlaygroundBotName},
		Members:  []schema.ChannelAccount{{ID: testkit.PlaygroundUserID}},
		TenantID: testkit.PlaygroundTenantID,
	}
	first, err := conn.CreateConversation(ctx, fake.ServiceURL, params)
	if err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	again, err := conn.CreateConversation(ctx, fake.ServiceURL, params)
	if err != nil {
		t.Fatalf("CreateConversation again: %v", err)
	}
	if first.ID == "" || first.ID != again.ID {
		t.Errorf("ids %q, %q: want the same 1:1 conversation", first.ID, again.ID)
	}
	call := fake.Calls()[0]
	cd, _ := call.Conversation.ChannelData.(map[string]any)
	tenant, _ := cd["tenant"].(map[string]any)
	if call.Conversation.IsGroup || tenant["id"] != testkit.PlaygroundTenantID {
		t.Errorf("body = %s, want isGroup false and channelData.tenant.id", call.Body)
	}
	if _, err := conn.CreateConversation(ctx, fake.ServiceURL, botframework.ConversationParameters{
		Bot: params.Bot, Members: params.Members,
	}); err == nil {
		t.Error("1:1 conversation without tenant id accepted")
	}
}

func TestPacerKeepsBurstWithinTeamsLimits(t *testing.T) {
	ctx := testCtx(t)
	clock := testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	fake := testkit.NewConnector(t, testkit.WithClock(clock.Now))
	start := clock.Now()
	pacer := botframework.NewPacer(botframework.PacerConfig{Now: clock.Now, Sleep: clock.Sleep})
	conn := newTestConnector(fake, clock, func(c *botframework.ConnectorConfig) { c.Pacer = pacer })
	for i := range 100 {
		if _, err := conn.Send(ctx, fake.ServiceURL, "conv-burst", botframework.NewText("burst")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := fake.Throttled(); n != 0 {
		t.Errorf("fake connector sent %d 429s, want 0", n)
	}
	if n := len(fake.Calls()); n != 100 {
		t.Errorf("calls = %d, want 100 (no retries needed)", n)
	}
	// 100 sends need at least two 30 s windows (60 per 30 s).
	if elapsed := clock.Now().Sub(start); elapsed < 30*time.Second {
		t.Errorf("virtual time elapsed %v, want ≥ 30s", elapsed)
	}

	// Without the pacer the same burst is throttled: the fake's limits are real.
	unpaced := newTestConnector(fake, clock, func(c *botframework.ConnectorConfig) { c.MaxRetries = -1 })
	var throttled bool
	for range 10 {
		_, err := unpaced.Send(ctx, fake.ServiceURL, "conv-unpaced", botframework.NewText("x"))
		var cerr *botframework.ConnectorError
		if errors.As(err, &cerr) && cerr.Status == http.StatusTooManyRequests {
			throttled = true
		}
	}
	if !throttled {
		t.Error("an unpaced burst of 10 was not throttled by the fake")
	}
}

func TestPacerIsolatesConversations(t *testing.T) {
	ctx := testCtx(t)
	clock := testkit.NewClock(time.Unix(0, 0))
	p := botframework.NewPacer(botframework.PacerConfig{Now: clock.Now, Sleep: clock.Sleep, GlobalRPS: 1000, GlobalBurst: 100})
	for range 7 {
		if err := p.Wait(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if len(clock.Sleeps()) != 0 {
		t.Fatalf("first 7 calls waited: %v", clock.Sleeps())
	}
	if err := p.Wait(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("another conversation waited for a's limit: %v", clock.Sleeps())
	}
	if err := p.Wait(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if len(clock.Sleeps()) == 0 {
		t.Error("the 8th call to a within a second did not wait")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Wait(cancelled, "c"); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with cancelled context = %v", err)
	}
}

func TestPacerGlobalRate(t *testing.T) {
	ctx := testCtx(t)
	clock := testkit.NewClock(time.Unix(0, 0))
	p := botframework.NewPacer(botframework.PacerConfig{Now: clock.Now, Sleep: clock.Sleep, GlobalRPS: 10, GlobalBurst: 2})
	start := clock.Now()
	for i := range 22 {
		if err := p.Wait(ctx, "conv-"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	// 2 immediately, then 20 at 10/s: at least 2 s of virtual time.
	if elapsed := clock.Now().Sub(start); elapsed < 2*time.Second || elapsed > 3*time.Second {
		t.Errorf("22 calls at 10 rps burst 2 took %v, want about 2s", elapsed)
	}
}

func BenchmarkPacer(b *testing.B) {
	clock := testkit.NewClock(time.Unix(0, 0))
	p := botframework.NewPacer(botframework.PacerConfig{Now: clock.Now, Sleep: clock.Sleep, GlobalRPS: 1e9, GlobalBurst: 1 << 20})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "conv-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		clock.Advance(time.Millisecond)
		if err := p.Wait(ctx, keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
	}
}
