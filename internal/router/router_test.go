package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/botframework"
	"guestpass/internal/router"
	"guestpass/internal/testkit"
)

const svc = "http://127.0.0.1:1/unused/"

// recorder returns a handler that records its name and the turn's parsed routing fields.
type hit struct {
	name, command, args, verb string
	data                      string
}

func newMux(t *testing.T, hits *[]hit, withDefault bool) *router.Mux {
	t.Helper()
	m := router.New()
	h := func(name string) router.Handler {
		return func(_ context.Context, turn *router.Turn) error {
			*hits = append(*hits, hit{name: name, command: turn.Command(), args: turn.Args(), verb: turn.Verb(), data: string(turn.ActionData())})
			return nil
		}
	}
	m.HandleCommand("help", h("cmd:help"))
	m.HandleCommand("/Scenario", h("cmd:scenario"))
	m.HandleVerb("approve", h("verb:approve"))
	m.HandleInvoke(botframework.InvokeAdaptiveCardAction, h("invoke:action"))
	m.HandleInvoke(botframework.InvokeSigninTokenExchange, h("invoke:tokenExchange"))
	m.HandleActivity(botframework.TypeMessage, h("activity:message"))
	m.HandleActivity(botframework.TypeConversationUpdate, h("activity:conversationUpdate"))
	if withDefault {
		m.HandleDefault(h("default"))
	}
	return m
}

func turnOf(a *botframework.Activity) *router.Turn {
	return router.NewTurn(a, router.TurnConfig{})
}

func TestDispatchOrder(t *testing.T) {
	mentionOther := testkit.PersonalMessage(svc, "<at>Megan</at> help")
	mentionOther.Conversation.ConversationType = "groupChat"
	mentionOther.Entities = []botframework.Entity{{Type: "mention", Text: "<at>Megan</at>",
		Mentioned: &schema.ChannelAccount{ID: "29:megan", Name: "Megan"}}}
	invokeOther := testkit.ActionInvoke(svc, "x", nil)
	invokeOther.Name = "task/fetch"
	tokenExchange := testkit.ActionInvoke(svc, "x", nil)
	tokenExchange.Name = botframework.InvokeSigninTokenExchange
	typing := testkit.PersonalMessage(svc, "")
	typing.Type = botframework.TypeTyping
	nullValue := testkit.PersonalMessage(svc, "")
	nullValue.Value = json.RawMessage("null")

	tests := []struct {
		name     string
		a        *botframework.Activity
		want     hit
		noDefHit string // expected handler without a default ("" = ErrUnhandled)
	}{
		{"execute verb", testkit.ActionInvoke(svc, "approve", map[string]string{"requestId": "r1"}),
			hit{name: "verb:approve", verb: "approve", data: `{"requestId":"r1"}`}, "verb:approve"},
		{"execute unknown verb falls to invoke name", testkit.ActionInvoke(svc, "nope", nil),
			hit{name: "invoke:action", verb: "nope", data: "null"}, "invoke:action"},
		{"invoke by name", tokenExchange, hit{name: "invoke:tokenExchange"}, "invoke:tokenExchange"},
		{"unknown invoke goes to default", invokeOther, hit{name: "default"}, ""},
		{"submit routes by verb like execute", testkit.Submit(svc, map[string]string{"verb": "approve", "requestId": "r1", "comment": "ok"}),
			hit{name: "verb:approve", verb: "approve", data: `{"comment":"ok","requestId":"r1","verb":"approve"}`}, "verb:approve"},
		{"submit without verb falls to message", testkit.Submit(svc, map[string]string{"action": "submit"}),
			hit{name: "activity:message", data: `{"action":"submit"}`}, "activity:message"},
		{"submit with non-object value", testkit.Submit(svc, []int{1, 2}),
			hit{name: "activity:message", data: `[1,2]`}, "activity:message"},
		{"command", testkit.PersonalMessage(svc, "help me please"),
			hit{name: "cmd:help", command: "help", args: "me please"}, "cmd:help"},
		{"command with slash and case", testkit.PersonalMessage(svc, "  /HELP  "),
			hit{name: "cmd:help", command: "help"}, "cmd:help"},
		{"command registered with slash", testkit.PersonalMessage(svc, "scenario new  \"Project X\""),
			hit{name: "cmd:scenario", command: "scenario", args: `new "Project X"`}, "cmd:scenario"},
		{"channel mention stripped", testkit.ChannelMention(svc, "help   guests"),
			hit{name: "cmd:help", command: "help", args: "guests"}, "cmd:help"},
		{"mention of someone else kept", mentionOther,
			hit{name: "activity:message", command: "<at>megan</at>", args: "help"}, "activity:message"},
		{"unknown command falls to message", testkit.PersonalMessage(svc, "dance"),
			hit{name: "activity:message", command: "dance"}, "activity:message"},
		{"message with null value is not a submit", nullValue, hit{name: "activity:message"}, "activity:message"},
		{"activity type", testkit.ConversationUpdate(svc), hit{name: "activity:conversationUpdate"}, "activity:conversationUpdate"},
		{"unknown type goes to default", typing, hit{name: "default"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits []hit
			m := newMux(t, &hits, true)
			if err := m.Dispatch(context.Background(), turnOf(tt.a)); err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
			if len(hits) != 1 || hits[0] != tt.want {
				t.Fatalf("hits = %+v, want [%+v]", hits, tt.want)
			}

			hits = nil
			m = newMux(t, &hits, false)
			err := m.Dispatch(context.Background(), turnOf(tt.a))
			if tt.noDefHit == "" {
				if !errors.Is(err, router.ErrUnhandled) || len(hits) != 0 {
					t.Fatalf("without default: err = %v, hits = %+v; want ErrUnhandled", err, hits)
				}
				return
			}
			if err != nil || len(hits) != 1 || hits[0].name != tt.noDefHit {
				t.Fatalf("without default: err = %v, hits = %+v; want %s", err, hits, tt.noDefHit)
			}
		})
	}
}

func TestMiddlewareOrderAndErrors(t *testing.T) {
	var trace []string
	mw := func(name string) router.Middleware {
		return func(next router.Handler) router.Handler {
			return func(ctx context.Context, turn *router.Turn) error {
				trace = append(trace, name+">")
				err := next(ctx, turn)
				trace = append(trace, "<"+name)
				return err
			}
		}
	}
	boom := errors.New("boom")
	m := router.New()
	m.Use(mw("outer"), mw("inner"))
	m.HandleCommand("fail", func(context.Context, *router.Turn) error { trace = append(trace, "handler"); return boom })

	err := m.Dispatch(context.Background(), turnOf(testkit.PersonalMessage(svc, "fail")))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	want := "outer> inner> handler <inner <outer"
	if got := strings.Join(trace, " "); got != want {
		t.Fatalf("trace = %q, want %q", got, want)
	}

	// Middleware also runs for turns nothing handles, and sees ErrUnhandled.
	trace = nil
	err = m.Dispatch(context.Background(), turnOf(testkit.PersonalMessage(svc, "other")))
	if !errors.Is(err, router.ErrUnhandled) || strings.Join(trace, " ") != "outer> inner> <inner <outer" {
		t.Fatalf("unhandled: err = %v, trace = %q", err, trace)
	}
}

func TestRecoverAndLogging(t *testing.T) {
	var logs bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := router.New()
	m.Use(router.Logging(), router.Recover())
	m.HandleCommand("panic", func(context.Context, *router.Turn) error { panic("kaboom") })
	m.HandleCommand("ok", func(context.Context, *router.Turn) error { return nil })

	a := testkit.PersonalMessage(svc, "panic")
	turn := router.NewTurn(a, router.TurnConfig{Logger: base, RequestID: "req-1"})
	err := m.Dispatch(context.Background(), turn)
	var pe *router.PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 {
		t.Fatalf("err = %#v, want *PanicError with the value and a stack", err)
	}

	var failed map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "turn failed" {
			failed = rec
		}
	}
	if failed == nil {
		t.Fatalf("no 'turn failed' log line in:\n%s", logs.String())
	}
	for k, want := range map[string]string{
		"level": "ERROR", "activity_id": a.ID, "conversation_id": a.Conversation.ID, "request_id": "req-1",
		"tenant_id": testkit.PlaygroundTenantID, "user_oid": testkit.PlaygroundUserAADObjectID, "command": "panic",
	} {
		if failed[k] != want {
			t.Errorf("log %s = %v, want %q", k, failed[k], want)
		}
	}

	logs.Reset()
	if err := m.Dispatch(context.Background(), router.NewTurn(testkit.PersonalMessage(svc, "ok"), router.TurnConfig{Logger: base})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"msg":"turn handled"`) || !strings.Contains(logs.String(), `"level":"DEBUG"`) {
		t.Fatalf("success not logged at debug: %s", logs.String())
	}
}

func TestTurnLoggerKeepsCorrelationKeys(t *testing.T) {
	var logs bytes.Buffer
	a := testkit.PersonalMessage(svc, "hi")
	turn := router.NewTurn(a, router.TurnConfig{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), RequestID: "r-9"})
	turn.Log.With("step", "one").WithGroup("g").Info("derived", "k", "v")
	turn.Log.Info("direct")
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		for _, want := range []string{`"activity_id":"` + a.ID + `"`, `"conversation_id":"` + a.Conversation.ID + `"`, `"request_id":"r-9"`} {
			if !strings.Contains(line, want) {
				t.Errorf("log line %s lacks %s", line, want)
			}
		}
	}
	if !strings.Contains(logs.String(), `"step":"one","g":{"k":"v"}`) {
		t.Errorf("derived logger lost its own attributes: %s", logs.String())
	}
}

func TestIdentityContext(t *testing.T) {
	m := router.New()
	m.Use(router.IdentityContext())
	var got router.Identity
	var ok bool
	m.HandleCommand("who", func(ctx context.Context, _ *router.Turn) error {
		got, ok = router.IdentityFrom(ctx)
		return nil
	})
	a := testkit.PersonalMessage(svc, "who")
	if err := m.Dispatch(context.Background(), router.NewTurn(a, router.TurnConfig{Authenticated: true})); err != nil {
		t.Fatal(err)
	}
	if !ok || got.AADObjectID != testkit.PlaygroundUserAADObjectID || !got.Authenticated {
		t.Fatalf("IdentityFrom = %+v, %v", got, ok)
	}
	if _, ok := router.IdentityFrom(context.Background()); ok {
		t.Fatal("IdentityFrom found an identity in a bare context")
	}
}

func TestIdentityFromActivity(t *testing.T) {
	a := testkit.PersonalMessage(svc, "hi")
	a.ChannelData.Tenant = nil // falls back to conversation.tenantId
	turn := router.NewTurn(a, router.TurnConfig{Authenticated: true})
	want := router.Identity{TenantID: testkit.PlaygroundTenantID, UserID: testkit.PlaygroundUserID,
		AADObjectID: testkit.PlaygroundUserAADObjectID, Name: testkit.PlaygroundUserName, Authenticated: true}
	if turn.Identity != want {
		t.Fatalf("Identity = %+v, want %+v", turn.Identity, want)
	}
}

func TestRespond(t *testing.T) {
	msg := turnOf(testkit.PersonalMessage(svc, "hi"))
	if err := msg.Respond(botframework.MessageResponse("x")); !errors.Is(err, router.ErrNotInvoke) {
		t.Fatalf("Respond on a message: %v, want ErrNotInvoke", err)
	}
	inv := turnOf(testkit.ActionInvoke(svc, "approve", nil))
	if inv.InvokeResponse() != nil {
		t.Fatal("fresh invoke turn has a response")
	}
	_ = inv.Respond(botframework.MessageResponse("first"))
	if err := inv.Respond(botframework.ErrorResponse(409, "Conflict", "already decided")); err != nil {
		t.Fatal(err)
	}
	if got := inv.InvokeResponse(); got == nil || got.StatusCode != 409 {
		t.Fatalf("InvokeResponse = %+v, want the last one (409)", got)
	}
}

func TestTurnSendsThroughConnector(t *testing.T) {
	fake := testkit.NewConnector(t)
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: fake.Client(), MaxRetries: -1})
	a := testkit.PersonalMessage(fake.ServiceURL, "hi")
	turn := router.NewTurn(a, router.TurnConfig{Connector: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5"}

	sentID, err := turn.SendText(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	replyID, err := turn.Reply(ctx, botframework.NewCard(card))
	if err != nil {
		t.Fatal(err)
	}
	if err := turn.Update(ctx, replyID, botframework.NewCard(card)); err != nil {
		t.Fatal(err)
	}
	if err := turn.Delete(ctx, sentID); err != nil {
		t.Fatal(err)
	}
	calls, err := fake.WaitCalls(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []struct{ op, activityID string }{
		{botframework.OpSend, ""}, {botframework.OpReply, a.ID}, {botframework.OpUpdate, replyID}, {botframework.OpDelete, sentID},
	}
	for i, w := range wantOps {
		c := calls[i]
		if c.Op != w.op || c.ActivityID != w.activityID || c.ConversationID != a.Conversation.ID {
			t.Errorf("call %d = %s conv=%s id=%s, want %s conv=%s id=%s", i, c.Op, c.ConversationID, c.ActivityID, w.op, a.Conversation.ID, w.activityID)
		}
		if c.Op == botframework.OpDelete {
			continue
		}
		act := c.Activity
		if act == nil || act.From == nil || act.From.ID != testkit.PlaygroundBotID || act.Recipient == nil ||
			act.Recipient.ID != testkit.PlaygroundUserID || act.Conversation == nil || act.Conversation.ID != a.Conversation.ID {
			t.Errorf("call %d is not addressed bot → user in the conversation: %s", i, c.Body)
		}
	}
	if calls[0].Activity.Text != "hello" || len(calls[0].Activity.Attachments) != 0 {
		t.Errorf("text send carried %s", calls[0].Body)
	}
	if calls[1].Activity.Text != "" || len(calls[1].Activity.Attachments) != 1 {
		t.Errorf("card reply carried %s", calls[1].Body)
	}
}

func TestTurnRefusesInvalidOutgoing(t *testing.T) {
	fake := testkit.NewConnector(t)
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: fake.Client(), MaxRetries: -1})
	turn := router.NewTurn(testkit.PersonalMessage(fake.ServiceURL, "hi"), router.TurnConfig{Connector: conn})
	card := map[string]any{"type": "AdaptiveCard"}

	mixed := botframework.NewCard(card)
	mixed.Text = "and text"
	twoCards := botframework.NewCard(card)
	twoCards.Attachments = append(twoCards.Attachments, twoCards.Attachments[0])
	hero := botframework.NewCard(card)
	hero.Attachments[0].ContentType = "application/vnd.microsoft.card.hero"

	tests := []struct {
		name string
		out  *botframework.Outgoing
	}{
		{"nil", nil},
		{"empty", botframework.NewText("")},
		{"text and card", mixed},
		{"two cards", twoCards},
		{"not an adaptive card", hero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if _, err := turn.Send(ctx, tt.out); !errors.Is(err, router.ErrInvalidOutgoing) {
				t.Errorf("Send: %v, want ErrInvalidOutgoing", err)
			}
			if _, err := turn.Reply(ctx, tt.out); !errors.Is(err, router.ErrInvalidOutgoing) {
				t.Errorf("Reply: %v, want ErrInvalidOutgoing", err)
			}
			if err := turn.Update(ctx, "1", tt.out); !errors.Is(err, router.ErrInvalidOutgoing) {
				t.Errorf("Update: %v, want ErrInvalidOutgoing", err)
			}
		})
	}
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("the connector received %d calls for refused activities", n)
	}
	// A typing indicator carries neither text nor a card and is fine.
	if _, err := turn.Send(context.Background(), botframework.NewTyping()); err != nil {
		t.Fatalf("typing: %v", err)
	}
}

func TestSubmitResponsesGoThroughConnector(t *testing.T) {
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5"}
	noReplyTo := testkit.Submit(svc, map[string]string{"verb": "v"})
	noReplyTo.ReplyToID = ""
	tests := []struct {
		name     string
		a        *botframework.Activity
		resp     *botframework.InvokeResponse
		wantOp   string
		wantID   string
		wantText string
	}{
		{"card replaces the clicked card", testkit.Submit(svc, map[string]string{"verb": "v"}), ptr(botframework.CardResponse(card)),
			botframework.OpUpdate, testkit.PlaygroundCardActivityID, ""},
		{"card without replyToId is sent", noReplyTo, ptr(botframework.CardResponse(card)), botframework.OpSend, "", ""},
		{"message becomes text", testkit.Submit(svc, map[string]string{"verb": "v"}), ptr(botframework.MessageResponse("Saved.")),
			botframework.OpSend, "", "Saved."},
		{"error becomes its message", testkit.Submit(svc, map[string]string{"verb": "v"}),
			ptr(botframework.ErrorResponse(403, "Forbidden", "You are not an approver for this stage.")),
			botframework.OpSend, "", "You are not an approver for this stage."},
		{"no response sends nothing", testkit.Submit(svc, map[string]string{"verb": "v"}), nil, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := testkit.NewConnector(t)
			conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: fake.Client(), MaxRetries: -1})
			tt.a.ServiceURL = fake.ServiceURL
			m := router.New()
			m.HandleVerb("v", func(_ context.Context, turn *router.Turn) error {
				if tt.resp == nil {
					return nil
				}
				return turn.Respond(*tt.resp)
			})
			if err := m.Dispatch(context.Background(), router.NewTurn(tt.a, router.TurnConfig{Connector: conn})); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls()
			if tt.wantOp == "" {
				if len(calls) != 0 {
					t.Fatalf("calls = %+v, want none", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Op != tt.wantOp || calls[0].ActivityID != tt.wantID || calls[0].Activity.Text != tt.wantText {
				t.Fatalf("calls = %+v, want one %s id=%q text=%q", calls, tt.wantOp, tt.wantID, tt.wantText)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func FuzzTurnParse(f *testing.F) {
	f.Add("<at>Test Bot</at> help me", `{"verb":"approve"}`, "message")
	f.Add("/scenario new \"x\"", "", "message")
	f.Add("", `{"action":{"verb":"approve","data":{"a":1}}}`, "invoke")
	f.Add("", `[1,`, "invoke")
	f.Fuzz(func(t *testing.T, text, value, typ string) {
		a := testkit.ChannelMention(svc, text)
		a.Type = schema.ActivityTypes(typ)
		if typ == "invoke" {
			a.Name = botframework.InvokeAdaptiveCardAction
		}
		a.Value = json.RawMessage(value)
		turn := turnOf(a)
		_ = turn.Command()
		_ = turn.Args()
		_ = turn.Verb()
		_ = turn.IsSubmit()
		if c := turn.Command(); strings.ContainsAny(c, " \t\n") {
			t.Fatalf("command %q contains whitespace", c)
		}
	})
}
