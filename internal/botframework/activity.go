// Package botframework is guestpass's Bot Framework protocol adapter: the activity wire model,
// inbound channel-token validation, the outbound Bot Connector client and invoke responses.
//
// It uses msbotbuilder-go's schema types as the wire model but none of that module's adapter, auth
// or connector code (see docs/msbotbuilder-go.md for the defects that rule them out). It knows
// nothing about guestpass's domain.
package botframework

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// Activity types and invoke names guestpass routes on.
const (
	TypeMessage            = "message"
	TypeInvoke             = "invoke"
	TypeConversationUpdate = "conversationUpdate"
	TypeInstallationUpdate = "installationUpdate"
	TypeMessageReaction    = "messageReaction"
	TypeEvent              = "event"
	TypeTyping             = "typing"

	InvokeAdaptiveCardAction  = "adaptiveCard/action"
	InvokeSigninTokenExchange = "signin/tokenExchange"
	InvokeSigninVerifyState   = "signin/verifyState"

	// ContentTypeAdaptiveCard is the attachment content type of an Adaptive Card.
	ContentTypeAdaptiveCard = "application/vnd.microsoft.card.adaptive"
)

// Activity is an inbound Bot Framework activity.
//
// It embeds msbotbuilder-go's schema.Activity for the standard fields and shadows the fields whose
// schema typing loses data or rejects valid input: Value (schema: map, but Action.Submit data may be
// any JSON value), ChannelData (typed Teams fields), Entities (schema keeps only "type", dropping
// mention details) and Recipient (Teams adds isTargeted for slash commands). encoding/json picks the
// shallower field, so the shadowing fields win on both decode and encode.
type Activity struct {
	schema.Activity

	// Value is the raw activity value: an invoke payload or Action.Submit data merged with inputs.
	Value json.RawMessage `json:"value,omitempty"`
	// ChannelData carries the Teams-specific fields guestpass reads.
	ChannelData ChannelData `json:"channelData,omitempty"`
	// Entities keeps every entity as raw JSON plus the fields guestpass reads.
	Entities []Entity `json:"entities,omitempty"`
	// Recipient is the bot (or, for outbound activities, the user).
	Recipient Account `json:"recipient,omitempty"`
}

// Account is a channel account with the Teams extension fields. Inbound it is the recipient (the
// bot); the connector's member listing fills the TeamsChannelAccount fields (email, UPN, tenant).
type Account struct {
	schema.ChannelAccount
	// IsTargeted is set by Teams on slash-command messages addressed to the bot only.
	IsTargeted bool `json:"isTargeted,omitempty"`
	// Email, UserPrincipalName, TenantID, UserRole, GivenName and Surname come from Teams member
	// listings (TeamsChannelAccount). They are informational: identity decisions use AadObjectID.
	Email             string `json:"email,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	TenantID          string `json:"tenantId,omitempty"`
	UserRole          string `json:"userRole,omitempty"`
	GivenName         string `json:"givenName,omitempty"`
	Surname           string `json:"surname,omitempty"`
}

// ChannelData is the subset of Teams channelData guestpass uses.
type ChannelData struct {
	Tenant    *IDRef  `json:"tenant,omitempty"`
	Team      *IDRef  `json:"team,omitempty"`
	Channel   *IDRef  `json:"channel,omitempty"`
	Source    *Source `json:"source,omitempty"`
	EventType string  `json:"eventType,omitempty"`
	// Settings appears on installationUpdate (selected channel).
	Settings json.RawMessage `json:"settings,omitempty"`
}

// Source tells where an activity originated; card actions carry {"name":"message"}.
type Source struct {
	Name string `json:"name,omitempty"`
}

// IDRef is an object carrying an id (and sometimes a name), as Teams uses in channelData.
type IDRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Entity is an activity entity. Mention entities carry Mentioned and Text.
type Entity struct {
	Type      string                 `json:"type,omitempty"`
	Mentioned *schema.ChannelAccount `json:"mentioned,omitempty"`
	Text      string                 `json:"text,omitempty"`
	Locale    string                 `json:"locale,omitempty"`
	Timezone  string                 `json:"timezone,omitempty"`
}

// ErrMalformedActivity reports a request body that is not a usable activity.
var ErrMalformedActivity = errors.New("malformed activity")

// DecodeActivity decodes one activity from r. It never panics; any decoding problem, a missing type
// or trailing data is reported as ErrMalformedActivity.
func DecodeActivity(r io.Reader) (*Activity, error) {
	dec := json.NewDecoder(r)
	var a Activity
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedActivity, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the activity", ErrMalformedActivity)
	}
	if strings.TrimSpace(string(a.Type)) == "" {
		return nil, fmt.Errorf("%w: no type", ErrMalformedActivity)
	}
	return &a, nil
}

// DecodeActivityBytes is DecodeActivity over a byte slice.
func DecodeActivityBytes(b []byte) (*Activity, error) { return DecodeActivity(bytes.NewReader(b)) }

// TenantID returns the tenant the activity comes from: channelData.tenant.id, else
// conversation.tenantId.
func (a *Activity) TenantID() string {
	if a.ChannelData.Tenant != nil && a.ChannelData.Tenant.ID != "" {
		return a.ChannelData.Tenant.ID
	}
	return a.Conversation.TenantID
}

// IsPersonal reports whether the activity comes from a 1:1 chat with the bot.
func (a *Activity) IsPersonal() bool {
	return a.Conversation.ConversationType == "personal" ||
		(a.Conversation.ConversationType == "" && !a.Conversation.IsGroup)
}

// TextWithoutMentions returns the message text with the bot's own @mention removed and surrounding
// whitespace trimmed, so "<at>Guestpass</at> help" in a channel reads as "help" in a personal chat.
//
// Only mentions whose entity names the recipient (the bot) are removed; mentions of other people
// stay in the text because they may be command arguments. Teams puts the exact mention markup in
// the entity's text; when an entity carries no text the generic "<at>name</at>" form is removed.
func (a *Activity) TextWithoutMentions() string {
	text := a.Text
	for _, e := range a.Entities {
		if !strings.EqualFold(e.Type, "mention") || e.Mentioned == nil || a.Recipient.ID == "" ||
			e.Mentioned.ID != a.Recipient.ID {
			continue
		}
		markup := e.Text
		if markup == "" && e.Mentioned.Name != "" {
			markup = "<at>" + e.Mentioned.Name + "</at>"
		}
		if markup != "" {
			text = strings.ReplaceAll(text, markup, " ")
		}
	}
	return strings.Join(strings.FieldsFunc(text, isMentionSpace), " ")
}

// isMentionSpace treats the no-break space Teams inserts after mentions like any other space.
func isMentionSpace(r rune) bool { return r == '\u00a0' || unicode.IsSpace(r) }

// ConversationRef is what a bot must keep to message a conversation proactively later
// (teams-bot-protocol.md §4.1). It is refreshed from every inbound activity because the service URL
// can change.
type ConversationRef struct {
	// ServiceURL is the regional Bot Connector base URL to call.
	ServiceURL string `json:"serviceUrl"`
	// ChannelID is the channel ("msteams").
	ChannelID string `json:"channelId"`
	// ConversationID identifies the chat; channel thread ids contain ";messageid=".
	ConversationID string `json:"conversationId"`
	// ConversationType is personal, groupChat or channel.
	ConversationType string `json:"conversationType,omitempty"`
	// TenantID is the tenant the conversation belongs to.
	TenantID string `json:"tenantId,omitempty"`
	// BotID and BotName address the bot ("28:<appId>" in Teams).
	BotID   string `json:"botId"`
	BotName string `json:"botName,omitempty"`
	// UserID is the user's channel id ("29:…", unique per bot); UserAADObjectID their Entra object id.
	UserID          string `json:"userId,omitempty"`
	UserAADObjectID string `json:"userAadObjectId,omitempty"`
	// TeamID and TeamsChannelID are set for channel conversations.
	TeamID         string `json:"teamId,omitempty"`
	TeamsChannelID string `json:"teamsChannelId,omitempty"`
}

// ConversationRef extracts the conversation reference of an inbound activity. The sender is the
// user and the recipient the bot, as in every activity the channel delivers to a bot.
func (a *Activity) ConversationRef() ConversationRef {
	ref := ConversationRef{
		ServiceURL:       a.ServiceURL,
		ChannelID:        a.ChannelID,
		ConversationID:   a.Conversation.ID,
		ConversationType: a.Conversation.ConversationType,
		TenantID:         a.TenantID(),
		BotID:            a.Recipient.ID,
		BotName:          a.Recipient.Name,
		UserID:           a.From.ID,
		UserAADObjectID:  a.From.AadObjectID,
	}
	if a.ChannelData.Team != nil {
		ref.TeamID = a.ChannelData.Team.ID
	}
	if a.ChannelData.Channel != nil {
		ref.TeamsChannelID = a.ChannelData.Channel.ID
	}
	return ref
}

// Reply addresses o as an answer to a: from the bot to the sender, in a's conversation, threaded
// under a. Fields already set on o are kept. It returns o for chaining.
func (a *Activity) Reply(o *Outgoing) *Outgoing {
	if o.From == nil && a.Recipient.ID != "" {
		from := a.Recipient.ChannelAccount
		o.From = &from
	}
	if o.Recipient == nil && a.From.ID != "" {
		o.Recipient = &Account{ChannelAccount: a.From}
	}
	if o.Conversation == nil && a.Conversation.ID != "" {
		conv := a.Conversation
		o.Conversation = &conv
	}
	if o.ReplyToID == "" {
		o.ReplyToID = a.ID
	}
	return o
}
