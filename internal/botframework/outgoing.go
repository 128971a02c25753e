package botframework

import (
	"errors"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// Outgoing is an activity the bot sends through the Bot Connector.
//
// It is a separate, small type because schema.Activity serialises zero time.Time and struct values
// despite omitempty ("timestamp":"0001-01-01T00:00:00Z", "suggestedActions":{}), which the
// connector stores or rejects. Every field here is omitted when empty. It reuses schema's
// Attachment, ChannelAccount and ConversationAccount, which serialise cleanly.
type Outgoing struct {
	// Type is the activity type; NewText and NewCard set "message".
	Type string `json:"type"`
	// ID is set on updates (PUT) to the id of the activity being replaced.
	ID string `json:"id,omitempty"`
	// Text is a plain or markdown message. Never combined with Attachments (see ErrMixedContent).
	Text string `json:"text,omitempty"`
	// TextFormat is "plain", "markdown" or "xml".
	TextFormat string `json:"textFormat,omitempty"`
	// Summary is shown by clients that cannot render the attachments (e.g. notifications).
	Summary string `json:"summary,omitempty"`
	// Attachments carries cards.
	Attachments []schema.Attachment `json:"attachments,omitempty"`
	// AttachmentLayout is "list" or "carousel".
	AttachmentLayout string `json:"attachmentLayout,omitempty"`
	// Entities carries mention entities for outbound @mentions.
	Entities []Entity `json:"entities,omitempty"`
	// From, Recipient and Conversation address the activity; see Activity.Reply.
	From         *schema.ChannelAccount      `json:"from,omitempty"`
	Recipient    *Account                    `json:"recipient,omitempty"`
	Conversation *schema.ConversationAccount `json:"conversation,omitempty"`
	// ReplyToID threads the activity under another one.
	ReplyToID string `json:"replyToId,omitempty"`
	// ChannelData carries channel-specific fields such as Teams notification settings.
	ChannelData any `json:"channelData,omitempty"`
}

// ErrMixedContent reports an outgoing activity with both text and attachments. Teams and the
// Agents Playground split such a message in two (answering 202 without an id) and reject it on
// update, so guestpass never sends one.
var ErrMixedContent = errors.New("botframework: an activity carries either text or attachments, not both")

// NewText returns a plain message activity.
func NewText(text string) *Outgoing {
	return &Outgoing{Type: TypeMessage, Text: text}
}

// NewCard returns an attachment-only message carrying one Adaptive Card. card is any value that
// marshals to the card JSON (a map, a struct or json.RawMessage).
func NewCard(card any) *Outgoing {
	return &Outgoing{Type: TypeMessage, Attachments: []schema.Attachment{{
		ContentType: ContentTypeAdaptiveCard,
		Content:     card,
	}}}
}

// NewTyping returns a typing indicator.
func NewTyping() *Outgoing { return &Outgoing{Type: TypeTyping} }

// validate checks the invariants every send relies on.
func (o *Outgoing) validate() error {
	if o == nil {
		return errors.New("botframework: nil outgoing activity")
	}
	if o.Type == "" {
		return errors.New("botframework: outgoing activity has no type")
	}
	if o.Text != "" && len(o.Attachments) > 0 {
		return ErrMixedContent
	}
	return nil
}
