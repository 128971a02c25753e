package botframework_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"guestpass/internal/botframework"
	"guestpass/internal/testkit"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeSample(t testing.TB, name string) *botframework.Activity {
	t.Helper()
	a, err := botframework.DecodeActivityBytes(readSample(t, name))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return a
}

func TestDecodePlaygroundSamples(t *testing.T) {
	tests := []struct {
		file     string
		typ      string
		personal bool
		convID   string
		teamID   string
	}{
		{"01-message-personal.json", botframework.TypeMessage, true, testkit.PlaygroundConversationID, ""},
		{"02-invoke-adaptiveCard_action-via-http-api.json", botframework.TypeInvoke, true, testkit.PlaygroundConversationID, ""},
		{"04-message-action-submit-via-ui-click.json", botframework.TypeMessage, true, testkit.PlaygroundConversationID, ""},
		{"05-message-action-submit-via-http-api.json", botframework.TypeMessage, true, testkit.PlaygroundConversationID, ""},
		{"06-conversationUpdate-on-ui-connect.json", botframework.TypeConversationUpdate, true, testkit.PlaygroundConversationID, ""},
		{"07-installationUpdate-on-ui-connect.json", botframework.TypeInstallationUpdate, true, testkit.PlaygroundConversationID, ""},
		{"08-message-team-channel-with-mention.json", botframework.TypeMessage, false, "team-id;messageid=1795634428653", "team-id"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a := decodeSample(t, tt.file)
			if string(a.Type) != tt.typ || a.IsPersonal() != tt.personal || a.TenantID() != testkit.PlaygroundTenantID {
				t.Errorf("type %q personal %v tenant %q", a.Type, a.IsPersonal(), a.TenantID())
			}
			ref := a.ConversationRef()
			want := botframework.ConversationRef{
				ServiceURL: "http://localhost:56150/_connector", ChannelID: "msteams", ConversationID: tt.convID,
				ConversationType: a.Conversation.ConversationType, TenantID: testkit.PlaygroundTenantID,
				BotID: testkit.PlaygroundBotID, BotName: a.Recipient.Name, UserID: testkit.PlaygroundUserID,
				UserAADObjectID: testkit.PlaygroundUserAADObjectID, TeamID: tt.teamID, TeamsChannelID: tt.teamID,
			}
			if ref != want {
				t.Errorf("ConversationRef = %+v\nwant %+v", ref, want)
			}
		})
	}
}

func TestTextWithoutMentions(t *testing.T) {
	channel := decodeSample(t, "08-message-team-channel-with-mention.json")
	if got := channel.TextWithoutMentions(); got != "hi from channel" {
		t.Errorf("channel mention: %q", got)
	}
	tests := []struct {
		name string
		a    *botframework.Activity
		want string
	}{
		{"personal, no mention", testkit.PersonalMessage("u", "  help  me "), "help me"},
		{"builder mention", testkit.ChannelMention("u", "admin status"), "admin status"},
		{"other user's mention kept", func() *botframework.Activity {
			a := testkit.ChannelMention("u", "approve <at>Megan</at>")
			a.Entities = append(a.Entities, botframework.Entity{Type: "mention", Text: "<at>Megan</at>"})
			return a
		}(), "approve <at>Megan</at>"},
		{"no-break space after mention", func() *botframework.Activity {
			a := testkit.ChannelMention("u", "")
			a.Text = "<at>Test Bot</at>\u00a0help"
			return a
		}(), "help"},
		{"entity without text uses the name", func() *botframework.Activity {
			a := testkit.ChannelMention("u", "help")
			a.Entities[0].Text = ""
			return a
		}(), "help"},
		{"mention of someone else with the bot's name but another id", func() *botframework.Activity {
			a := testkit.ChannelMention("u", "help")
			a.Entities[0].Mentioned.ID = "29:someone"
			return a
		}(), "<at>Test Bot</at> help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.TextWithoutMentions(); got != tt.want {
				t.Errorf("TextWithoutMentions() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestActionValue(t *testing.T) {
	a := decodeSample(t, "02-invoke-adaptiveCard_action-via-http-api.json")
	v, err := a.ActionValue()
	if err != nil {
		t.Fatalf("ActionValue: %v", err)
	}
	var data map[string]string
	if err := json.Unmarshal(v.Action.Data, &data); err != nil {
		t.Fatalf("data %s: %v", v.Action.Data, err)
	}
	if v.Action.Type != "Action.Execute" || v.Action.Verb != "approve" || v.Trigger != "manual" || data["requestId"] != "r1" {
		t.Errorf("value = %+v (data %s)", v, v.Action.Data)
	}
	if v.Authentication != nil {
		t.Error("authentication present in a plain click")
	}

	sso := testkit.ActionInvoke("u", "approve", map[string]string{"requestId": "r1"})
	sso.Value = json.RawMessage(`{"action":{"type":"Action.Execute","verb":"approve"},"authentication":{"id":"x","connectionName":"c","token":"eyJ.secret.sig"}}`)
	v, err = sso.ActionValue()
	if err != nil || v.Authentication == nil || v.Authentication.Token != "eyJ.secret.sig" {
		t.Fatalf("SSO re-send: %+v, %v", v, err)
	}

	for name, bad := range map[string]*botframework.Activity{
		"message":  testkit.PersonalMessage("u", "hi"),
		"no value": func() *botframework.Activity { a := testkit.ActionInvoke("u", "v", nil); a.Value = nil; return a }(),
		"string value": func() *botframework.Activity {
			a := testkit.ActionInvoke("u", "v", nil)
			a.Value = json.RawMessage(`"x"`)
			return a
		}(),
		"missing verb": func() *botframework.Activity { a := testkit.ActionInvoke("u", "", nil); return a }(),
		"other invoke": func() *botframework.Activity {
			a := testkit.ActionInvoke("u", "v", nil)
			a.Name = "signin/verifyState"
			return a
		}(),
		"numeric verb": func() *botframework.Activity {
			a := testkit.ActionInvoke("u", "v", nil)
			a.Value = json.RawMessage(`{"action":{"verb":7}}`)
			return a
		}(),
		"action string": func() *botframework.Activity {
			a := testkit.ActionInvoke("u", "v", nil)
			a.Value = json.RawMessage(`{"action":"x"}`)
			return a
		}(),
	} {
		if _, err := bad.ActionValue(); err == nil {
			t.Errorf("%s: ActionValue succeeded", name)
		} else if !errors.Is(err, botframework.ErrNotInvoke) && !errors.Is(err, botframework.ErrMalformedActivity) {
			t.Errorf("%s: err = %v, want ErrNotInvoke or ErrMalformedActivity", name, err)
		}
	}
}

func TestTokenExchangeValueRedactsToken(t *testing.T) {
	a := testkit.ActionInvoke("u", "x", nil)
	a.Name = botframework.InvokeSigninTokenExchange
	a.Value = json.RawMessage(`{"id":"ex-1","connectionName":"graph","token":"eyJhbGciOi.secret-part.sig"}`)
	v, err := a.TokenExchangeValue()
	if err != nil {
		t.Fatalf("TokenExchangeValue: %v", err)
	}
	if v.ID != "ex-1" || v.ConnectionName != "graph" || v.Token != "eyJhbGciOi.secret-part.sig" {
		t.Errorf("value = %#v", v.ID)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("exchange", "value", *v, "ptr", v)
	for _, out := range []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %s", *v, *v, v), logged.String()} {
		if strings.Contains(out, "secret-part") {
			t.Errorf("token leaked: %s", out)
		}
	}
	a.Value = json.RawMessage(`{"id":"ex-1"}`)
	if _, err := a.TokenExchangeValue(); !errors.Is(err, botframework.ErrMalformedActivity) {
		t.Errorf("value without token: err = %v", err)
	}
}

func TestSubmitValueKeepsAnyJSON(t *testing.T) {
	// msbotbuilder-go's map-typed Value rejects these; guestpass keeps the raw JSON.
	for _, value := range []string{`"plain string"`, `[1,2]`, `42`, `{"action":"submit","requestId":"r1"}`} {
		body := `{"type":"message","id":"1","value":` + value + `}`
		a, err := botframework.DecodeActivityBytes([]byte(body))
		if err != nil {
			t.Fatalf("decode value %s: %v", value, err)
		}
		if string(a.Value) != value {
			t.Errorf("Value = %s, want %s", a.Value, value)
		}
	}
}

func TestDecodeActivityRejectsMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"empty":          ``,
		"array":          `[]`,
		"string":         `"message"`,
		"no type":        `{"id":"1"}`,
		"blank type":     `{"type":"  "}`,
		"trailing data":  `{"type":"message"} {"type":"message"}`,
		"bad timestamp":  `{"type":"message","timestamp":"yesterday"}`,
		"wrong type":     `{"type":"message","from":"alice"}`,
		"truncated":      `{"type":"message","text":"hi`,
		"channelData []": `{"type":"message","channelData":[]}`,
	} {
		if _, err := botframework.DecodeActivityBytes([]byte(body)); !errors.Is(err, botframework.ErrMalformedActivity) {
			t.Errorf("%s: err = %v, want ErrMalformedActivity", name, err)
		}
	}
}

func TestReplyAddressesTheSender(t *testing.T) {
	in := decodeSample(t, "01-message-personal.json")
	out := in.Reply(botframework.NewText("hello"))
	if out.From == nil || out.From.ID != testkit.PlaygroundBotID || out.Recipient == nil || out.Recipient.ID != testkit.PlaygroundUserID ||
		out.Conversation == nil || out.Conversation.ID != testkit.PlaygroundConversationID || out.ReplyToID != in.ID {
		t.Errorf("Reply addressing = %+v", out)
	}
	keep := &botframework.Outgoing{Type: "message", ReplyToID: "other"}
	if in.Reply(keep).ReplyToID != "other" {
		t.Error("Reply overwrote a set replyToId")
	}
}

func TestOutgoingJSONHasNoZeroValues(t *testing.T) {
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5"}
	tests := []struct {
		name string
		o    *botframework.Outgoing
		want string
	}{
		{"text", botframework.NewText("hi"), `{"type":"message","text":"hi"}`},
		{"card", botframework.NewCard(card), `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.5"}}]}`},
		{"typing", botframework.NewTyping(), `{"type":"typing"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.o)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("%s: %s\nwant %s", tt.name, b, tt.want)
		}
	}
}

func FuzzDecodeActivity(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			f.Add(readSample(f, e.Name()))
		}
	}
	f.Add([]byte(`{"type":"invoke","name":"signin/tokenExchange","value":{"id":1}}`))
	f.Add([]byte(`{"type":"message","text":"<at>x</at>","entities":[{"type":"mention","mentioned":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := botframework.DecodeActivityBytes(data)
		if err != nil {
			if !errors.Is(err, botframework.ErrMalformedActivity) {
				t.Fatalf("error %v does not wrap ErrMalformedActivity", err)
			}
			return
		}
		_ = a.TextWithoutMentions()
		_ = a.TenantID()
		_ = a.IsPersonal()
		_ = a.ConversationRef()
		_, _ = a.ActionValue()
		_, _ = a.TokenExchangeValue()
		_ = a.Reply(botframework.NewText("x"))
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("re-encoding a decoded activity: %v", err)
		}
	})
}

func BenchmarkDecodeActivity(b *testing.B) {
	body := readSample(b, "02-invoke-adaptiveCard_action-via-http-api.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := botframework.DecodeActivityBytes(body); err != nil {
			b.Fatal(err)
		}
	}
}
