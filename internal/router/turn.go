package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/botframework"
)

// Connector is the part of the Bot Connector client a Turn uses; *botframework.Connector
// implements it.
type Connector interface {
	Send(ctx context.Context, serviceURL, conversationID string, act *botframework.Outgoing) (string, error)
	Reply(ctx context.Context, serviceURL, conversationID, replyToID string, act *botframework.Outgoing) (string, error)
	Update(ctx context.Context, serviceURL, conversationID, activityID string, act *botframework.Outgoing) error
	Delete(ctx context.Context, serviceURL, conversationID, activityID string) error
}

// Identity is who sent the activity, taken from the activity itself after the server has
// authenticated it (or, in local mode, as the Agents Playground sent it). Card data never
// contributes to it.
type Identity struct {
	// TenantID is channelData.tenant.id, else conversation.tenantId.
	TenantID string
	// UserID is the channel account id (29:… in Teams).
	UserID string
	// AADObjectID is the user's Entra object id.
	AADObjectID string
	// Name is the display name the channel sent; for display only, never for decisions.
	Name string
	// Authenticated reports that the activity came with a validated channel token (false in local
	// mode).
	Authenticated bool
}

// ErrInvalidOutgoing reports an outgoing activity a Turn refuses to send: a message must carry
// either text or exactly one card attachment.
var ErrInvalidOutgoing = errors.New("router: an outgoing message carries either text or exactly one card")

// ErrNotInvoke reports Respond on a turn whose activity is not an invoke.
var ErrNotInvoke = errors.New("router: only invoke activities take an invoke response")

// TurnConfig carries what the server knows about a turn besides the activity.
type TurnConfig struct {
	// Connector sends, updates and deletes activities.
	Connector Connector
	// Logger is the base logger; the Turn adds the activity's correlation keys. Nil discards.
	Logger *slog.Logger
	// RequestID correlates the HTTP request with the turn's logs.
	RequestID string
	// Authenticated is set when the activity's channel token was validated.
	Authenticated bool
}

// Turn is one inbound activity being handled, and what a handler can do in response.
type Turn struct {
	// Activity is the decoded inbound activity.
	Activity *botframework.Activity
	// Log carries activity_id, conversation_id, request_id, tenant_id and user_oid.
	Log *slog.Logger
	// Identity is the authenticated sender.
	Identity Identity
	// RequestID is the HTTP request's correlation id.
	RequestID string

	conn Connector

	parseOnce sync.Once
	command   string
	args      string
	verb      string
	data      json.RawMessage
	submit    bool

	mu       sync.Mutex
	response *botframework.InvokeResponse
}

// NewTurn prepares a turn for a (validated) activity.
func NewTurn(a *botframework.Activity, cfg TurnConfig) *Turn {
	id := Identity{
		TenantID:      a.TenantID(),
		UserID:        a.From.ID,
		AADObjectID:   a.From.AadObjectID,
		Name:          a.From.Name,
		Authenticated: cfg.Authenticated,
	}
	base := slog.DiscardHandler
	if cfg.Logger != nil {
		base = cfg.Logger.Handler()
	}
	log := slog.New(&lazyAttrs{Handler: base, attrs: []slog.Attr{
		slog.String("activity_id", a.ID),
		slog.String("conversation_id", a.Conversation.ID),
		slog.String("request_id", cfg.RequestID),
		slog.String("tenant_id", id.TenantID),
		slog.String("user_oid", id.AADObjectID),
	}})
	return &Turn{Activity: a, Log: log, Identity: id, RequestID: cfg.RequestID, conn: cfg.Connector}
}

// parse extracts the command or the card action once; handlers and middleware may ask repeatedly.
func (t *Turn) parse() {
	t.parseOnce.Do(func() {
		a := t.Activity
		switch string(a.Type) {
		case botframework.TypeInvoke:
			if a.Name == botframework.InvokeAdaptiveCardAction {
				var v struct {
					Action struct {
						Verb string          `json:"verb"`
						Data json.RawMessage `json:"data"`
					} `json:"action"`
				}
				if json.Unmarshal(a.Value, &v) == nil {
					t.verb, t.data = v.Action.Verb, v.Action.Data
				}
			}
		case botframework.TypeMessage:
			text := CommandText(a)
			if text == "" && hasValue(a.Value) {
				t.submit = true
				t.data = a.Value
				var v struct {
					Verb string `json:"verb"`
				}
				if json.Unmarshal(a.Value, &v) == nil {
					t.verb = v.Verb
				}
				return
			}
			first, rest, _ := strings.Cut(text, " ")
			t.command = strings.ToLower(strings.TrimPrefix(first, "/"))
			t.args = strings.TrimSpace(rest)
		}
	})
}

func hasValue(v json.RawMessage) bool {
	s := strings.TrimSpace(string(v))
	return s != "" && s != "null"
}

// IsSubmit reports whether the activity is an Action.Submit: a message with a value and no text.
func (t *Turn) IsSubmit() bool { t.parse(); return t.submit }

// Verb is the card action's verb: Action.Execute's verb, or "verb" in Action.Submit data.
func (t *Turn) Verb() string { t.parse(); return t.verb }

// ActionData is the card action's data: Action.Execute's data, or the whole Action.Submit value
// (data merged with the card's inputs). It is user-controlled input, never identity.
func (t *Turn) ActionData() json.RawMessage { t.parse(); return t.data }

// Command is the lower-cased first word of a text message, without a leading '/' or the bot's
// @mention; empty for other activities.
func (t *Turn) Command() string { t.parse(); return t.command }

// Args is the raw text after the command word, trimmed.
func (t *Turn) Args() string { t.parse(); return t.args }

// CommandText is a message's text with the bot's @mentions removed and whitespace collapsed.
// Teams puts "<at>Bot name</at>" into the text of channel and group-chat messages.
func CommandText(a *botframework.Activity) string {
	text := a.Text
	if strings.Contains(text, "<at>") {
		for _, e := range a.Entities {
			if e.Type != "mention" || e.Mentioned == nil || e.Mentioned.ID != a.Recipient.ID {
				continue
			}
			mention := e.Text
			if mention == "" {
				mention = "<at>" + e.Mentioned.Name + "</at>"
			}
			text = strings.ReplaceAll(text, mention, " ")
		}
	}
	return strings.Join(strings.Fields(text), " ")
}

// address fills in the routing fields of an outgoing activity from the inbound one: from the bot
// to the user, in the same conversation. Fields the handler set are kept.
func (t *Turn) address(out *botframework.Outgoing) (*botframework.Outgoing, error) {
	if out == nil {
		return nil, ErrInvalidOutgoing
	}
	if out.Type == "" || out.Type == botframework.TypeMessage {
		hasText := out.Text != ""
		if hasText == (len(out.Attachments) > 0) || len(out.Attachments) > 1 {
			return nil, ErrInvalidOutgoing
		}
		if len(out.Attachments) == 1 && out.Attachments[0].ContentType != botframework.ContentTypeAdaptiveCard {
			return nil, fmt.Errorf("%w: attachment is %q", ErrInvalidOutgoing, out.Attachments[0].ContentType)
		}
	}
	cp := *out
	if cp.Type == "" {
		cp.Type = botframework.TypeMessage
	}
	a := t.Activity
	if cp.From == nil {
		cp.From = &schema.ChannelAccount{ID: a.Recipient.ID, Name: a.Recipient.Name}
	}
	if cp.Recipient == nil {
		cp.Recipient = &botframework.Account{ChannelAccount: a.From}
	}
	if cp.Conversation == nil {
		conv := a.Conversation
		cp.Conversation = &conv
	}
	return &cp, nil
}

// Send posts a message (text or one card) to the turn's conversation and returns its activity
// id, which is needed to update the card later.
func (t *Turn) Send(ctx context.Context, out *botframework.Outgoing) (string, error) {
	act, err := t.address(out)
	if err != nil {
		return "", err
	}
	id, err := t.conn.Send(ctx, t.Activity.ServiceURL, t.Activity.Conversation.ID, act)
	if err != nil {
		return "", fmt.Errorf("send to conversation: %w", err)
	}
	return id, nil
}

// SendText is Send with a plain-text message.
func (t *Turn) SendText(ctx context.Context, text string) (string, error) {
	return t.Send(ctx, botframework.NewText(text))
}

// SendCard is Send with an attachment-only message carrying one Adaptive Card.
func (t *Turn) SendCard(ctx context.Context, card any) (string, error) {
	return t.Send(ctx, botframework.NewCard(card))
}

// Reply posts a message threaded under the inbound activity (in channels it lands in the
// thread) and returns its activity id.
func (t *Turn) Reply(ctx context.Context, out *botframework.Outgoing) (string, error) {
	act, err := t.address(out)
	if err != nil {
		return "", err
	}
	if t.Activity.ID == "" {
		id, err := t.conn.Send(ctx, t.Activity.ServiceURL, t.Activity.Conversation.ID, act)
		if err != nil {
			return "", fmt.Errorf("send to conversation: %w", err)
		}
		return id, nil
	}
	id, err := t.conn.Reply(ctx, t.Activity.ServiceURL, t.Activity.Conversation.ID, t.Activity.ID, act)
	if err != nil {
		return "", fmt.Errorf("reply to activity: %w", err)
	}
	return id, nil
}

// Update replaces an activity the bot sent in this conversation (a card, typically).
func (t *Turn) Update(ctx context.Context, activityID string, out *botframework.Outgoing) error {
	act, err := t.address(out)
	if err != nil {
		return err
	}
	if err := t.conn.Update(ctx, t.Activity.ServiceURL, t.Activity.Conversation.ID, activityID, act); err != nil {
		return fmt.Errorf("update activity: %w", err)
	}
	return nil
}

// Delete deletes an activity the bot sent in this conversation.
func (t *Turn) Delete(ctx context.Context, activityID string) error {
	if err := t.conn.Delete(ctx, t.Activity.ServiceURL, t.Activity.Conversation.ID, activityID); err != nil {
		return fmt.Errorf("delete activity: %w", err)
	}
	return nil
}

// Respond sets the answer to a card action. For an invoke it is returned in the HTTP response.
// For an Action.Submit (which has no HTTP answer) the router delivers it through the connector
// after the handler returns: a card replaces the card that was clicked, a message or an error is
// sent as text. So verb handlers answer the same way whichever action type the client used. A
// later call replaces an earlier one; other activities get ErrNotInvoke.
func (t *Turn) Respond(resp botframework.InvokeResponse) error {
	if string(t.Activity.Type) != botframework.TypeInvoke && !t.IsSubmit() {
		return ErrNotInvoke
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.response = &resp
	return nil
}

// deliverSubmitResponse sends the response a handler set on an Action.Submit turn.
func (t *Turn) deliverSubmitResponse(ctx context.Context) error {
	resp := t.InvokeResponse()
	if resp == nil || !t.IsSubmit() {
		return nil
	}
	if resp.Type == botframework.InvokeTypeAdaptiveCard {
		card := botframework.NewCard(resp.Value)
		if id := t.Activity.ReplyToID; id != "" {
			return t.Update(ctx, id, card)
		}
		_, err := t.Send(ctx, card)
		return err
	}
	text := responseText(resp)
	if text == "" {
		return nil
	}
	out := botframework.NewText(text)
	out.TextFormat = "plain"
	_, err := t.Send(ctx, out)
	return err
}

// responseText is what a non-card invoke response says: a message's text, an error's message or
// a login request's prompt.
func responseText(resp *botframework.InvokeResponse) string {
	if s, ok := resp.Value.(string); ok {
		return s
	}
	b, err := json.Marshal(resp.Value)
	if err != nil {
		return ""
	}
	var v struct {
		Message string `json:"message"`
		Text    string `json:"text"`
	}
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	if v.Message != "" {
		return v.Message
	}
	return v.Text
}

// InvokeResponse returns the response set with Respond, or nil.
func (t *Turn) InvokeResponse() *botframework.InvokeResponse {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.response
}

// lazyAttrs adds the turn's correlation attributes to records only when one is actually logged.
// Logger.With would have the JSON handler pre-render them on every turn, although most turns log
// nothing beyond the server's access line.
type lazyAttrs struct {
	slog.Handler
	attrs []slog.Attr
}

func (h *lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.attrs...)
	return h.Handler.Handle(ctx, r)
}

func (h *lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.Handler.WithAttrs(append(slices.Clip(h.attrs), attrs...))
}

func (h *lazyAttrs) WithGroup(name string) slog.Handler {
	return h.Handler.WithAttrs(h.attrs).WithGroup(name)
}
