package testkit

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/botframework"
)

// The Agents Playground's mock identities (agents-playground.md §3.3). The tenant, bot and object
// ids are deliberately not valid GUIDs, exactly as the Playground sends them.
const (
	PlaygroundTenantID        = "00000000-0000-0000-0000-0000000000001"
	PlaygroundBotID           = "00000000-0000-0000-0000-00000000000011"
	PlaygroundBotName         = "Test Bot"
	PlaygroundUserID          = "user-id-0"
	PlaygroundUserName        = "Alex Wilber"
	PlaygroundUserAADObjectID = "00000000-0000-0000-0000-0000000000020"
	PlaygroundConversationID  = "fee90f80-3a74-4bf5-b8ec-70aaec02f5d9"
	PlaygroundTeamID          = "team-id"
	PlaygroundCardActivityID  = "1795634384392"
)

var activitySeq atomic.Int64

// newActivityID returns a fresh, unique activity id (the Playground uses GUIDs).
func newActivityID() string {
	n := activitySeq.Add(1)
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

// PlaygroundUser is the Playground's mock user as a connector member.
func PlaygroundUser() botframework.Account {
	return botframework.Account{ChannelAccount: schema.ChannelAccount{
		ID: PlaygroundUserID, Name: PlaygroundUserName, AadObjectID: PlaygroundUserAADObjectID,
	}}
}

// base returns the fields every Playground activity in a personal chat carries.
func base(serviceURL, typ string) *botframework.Activity {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := &botframework.Activity{}
	a.Type = schema.ActivityTypes(typ)
	a.ID = newActivityID()
	a.Timestamp = now
	a.ServiceURL = serviceURL
	a.ChannelID = "msteams"
	a.From = schema.ChannelAccount{ID: PlaygroundUserID, Name: PlaygroundUserName, AadObjectID: PlaygroundUserAADObjectID}
	a.Conversation = schema.ConversationAccount{ConversationType: "personal", TenantID: PlaygroundTenantID, ID: PlaygroundConversationID}
	a.Recipient = botframework.Account{ChannelAccount: schema.ChannelAccount{ID: PlaygroundBotID, Name: PlaygroundBotName}}
	a.Locale = "en-US"
	a.Entities = []botframework.Entity{{Type: "clientInfo", Locale: "en-US", Timezone: "UTC"}}
	a.ChannelData = botframework.ChannelData{Tenant: &botframework.IDRef{ID: PlaygroundTenantID}}
	return a
}

// PersonalMessage is a text message in the personal chat (sample 01).
func PersonalMessage(serviceURL, text string) *botframework.Activity {
	a := base(serviceURL, botframework.TypeMessage)
	a.Text = text
	a.TextFormat = "plain"
	return a
}

// ChannelMention is a channel message that @mentions the bot before text (sample 08).
func ChannelMention(serviceURL, text string) *botframework.Activity {
	a := base(serviceURL, botframework.TypeMessage)
	mention := "<at>" + PlaygroundBotName + "</at>"
	a.Text = mention + " " + text
	a.TextFormat = "plain"
	a.Conversation = schema.ConversationAccount{IsGroup: true, ConversationType: "channel", TenantID: PlaygroundTenantID,
		ID: PlaygroundTeamID + ";messageid=1795634428653"}
	a.Entities = append([]botframework.Entity{{Type: "mention", Text: mention,
		Mentioned: &schema.ChannelAccount{ID: PlaygroundBotID, Name: PlaygroundBotName}}}, a.Entities...)
	a.ChannelData.Team = &botframework.IDRef{ID: PlaygroundTeamID}
	a.ChannelData.Channel = &botframework.IDRef{ID: PlaygroundTeamID}
	return a
}

// ActionInvoke is an Action.Execute click: invoke adaptiveCard/action with verb and data on the
// card PlaygroundCardActivityID (sample 02).
func ActionInvoke(serviceURL, verb string, data any) *botframework.Activity {
	a := base(serviceURL, botframework.TypeInvoke)
	a.Name = botframework.InvokeAdaptiveCardAction
	a.ReplyToID = PlaygroundCardActivityID
	a.ChannelData.Source = &botframework.Source{Name: "message"}
	a.Value = mustJSON(map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": verb, "data": data}})
	return a
}

// Submit is an Action.Submit click: a message without text whose value is the action data merged
// with the card inputs (samples 04, 05).
func Submit(serviceURL string, value any) *botframework.Activity {
	a := base(serviceURL, botframework.TypeMessage)
	a.ReplyToID = PlaygroundCardActivityID
	a.ChannelData.Source = &botframework.Source{Name: "message"}
	a.Value = mustJSON(value)
	return a
}

// ConversationUpdate announces the user and the bot joining the personal chat (sample 06).
func ConversationUpdate(serviceURL string) *botframework.Activity {
	a := base(serviceURL, botframework.TypeConversationUpdate)
	a.From.Name = ""
	a.MembersAdded = []schema.ChannelAccount{
		{ID: PlaygroundUserID, AadObjectID: PlaygroundUserAADObjectID},
		{ID: PlaygroundBotID},
	}
	a.Entities = nil
	return a
}

// InstallationUpdate is the app being added to the personal chat (sample 07).
func InstallationUpdate(serviceURL string) *botframework.Activity {
	a := base(serviceURL, botframework.TypeInstallationUpdate)
	a.From.Name = ""
	a.Action = "add"
	a.ChannelData.Source = &botframework.Source{Name: "message"}
	a.ChannelData.Settings = mustJSON(map[string]any{"selectedChannel": map[string]any{"id": PlaygroundConversationID}})
	return a
}

// JSON marshals an activity for a request body, failing the test on error.
func JSON(t testing.TB, a *botframework.Activity) []byte {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("testkit: marshal activity: %v", err)
	}
	return b
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("testkit: marshal %T: %v", v, err))
	}
	return b
}
