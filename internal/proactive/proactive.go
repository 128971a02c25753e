// Package proactive finds or opens a user's personal (1:1) conversation with the bot, for the
// messages the bot starts itself: approval cards, sponsor notices, onboarding updates.
//
// The stored conversation reference (captured from the user's own activities) comes first. Without
// one, the conversation is created through the Bot Connector from the tenant id and the user's
// Entra object id; Teams creates it only for users who have the app, so when it refuses and an
// Installer is configured (TEAMS_APP_CATALOG_ID), the app is installed for the user through Graph
// and the conversation created again.
package proactive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/botframework"
	"guestpass/internal/keylock"
	"guestpass/internal/store"
)

// DefaultServiceURL is the public cloud's Bot Connector for users the bot has no conversation
// with yet (conversations the bot has seen carry their own service URL).
const DefaultServiceURL = "https://smba.trafficmanager.net/teams/"

// ErrUnreachable marks a user the bot cannot message: Teams refuses the conversation (the user
// does not have the app and it could not be installed, or the bot is blocked). Retrying the same
// call cannot help; someone has to act.
var ErrUnreachable = errors.New("recipient unreachable")

// Connector is the part of the Bot Connector client used here (*botframework.Connector).
type Connector interface {
	CreateConversation(ctx context.Context, serviceURL string, p botframework.ConversationParameters) (botframework.ConversationResource, error)
}

// Store holds conversation references (store.Store).
type Store interface {
	PersonalConversation(ctx context.Context, tenantID, userOID string) (store.ConversationRef, error)
	UpsertConversation(ctx context.Context, ref store.ConversationRef) error
}

// Installer installs the bot's Teams app in a user's personal scope (*teamsapp.Installer).
type Installer interface {
	// InstallForUser installs the app for the user with Entra object id userOID and reports
	// whether this call installed it (false: it was installed already). A failure that repeating
	// cannot fix is a *teamsapp.Error with Permanent set.
	InstallForUser(ctx context.Context, userOID string) (bool, error)
}

// Options configure New.
type Options struct {
	Connector Connector
	Store     Store
	// BotID is the bot's channel id ("28:<appId>").
	BotID string
	// ServiceURL is where conversations are created (default DefaultServiceURL).
	ServiceURL string
	// Installer, when set, installs the app for users Teams refuses a conversation with.
	Installer Installer
	// Now is the clock (default time.Now); Logger defaults to slog.Default().
	Now    func() time.Time
	Logger *slog.Logger
}

// Conversations finds and opens personal conversations. It is safe for concurrent use.
type Conversations struct {
	o Options
	// locks make concurrent sends to one user create the chat (or install the app) once.
	locks    keylock.Map
	installs installCache
}

// New validates o and returns Conversations.
func New(o Options) (*Conversations, error) {
	switch {
	case o.Connector == nil || o.Store == nil:
		return nil, errors.New("proactive: Connector and Store are required")
	case o.BotID == "":
		return nil, errors.New("proactive: BotID is required")
	}
	if o.ServiceURL == "" {
		o.ServiceURL = DefaultServiceURL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Conversations{o: o}, nil
}

// Personal returns the user's personal conversation with the bot: the stored reference, else a
// created one (stored for next time). Errors wrap ErrUnreachable when retrying cannot help.
func (c *Conversations) Personal(ctx context.Context, tenantID, userOID string) (store.ConversationRef, error) {
	unlock, err := c.locks.Lock(ctx, strings.ToLower(userOID))
	if err != nil {
		return store.ConversationRef{}, err
	}
	defer unlock()
	ref, err := c.o.Store.PersonalConversation(ctx, tenantID, userOID)
	if err == nil {
		return ref, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.ConversationRef{}, fmt.Errorf("conversation of %s: %w", userOID, err)
	}
	res, err := c.create(ctx, tenantID, userOID)
	switch {
	case err == nil:
	case refused(err) && c.o.Installer != nil:
		if res, err = c.installAndCreate(ctx, tenantID, userOID, err); err != nil {
			return store.ConversationRef{}, err
		}
	case refused(err):
		// Teams only creates a chat with users who have the app: nothing to retry.
		return store.ConversationRef{}, fmt.Errorf("%w: create conversation: %v", ErrUnreachable, err)
	default:
		// Creating a 1:1 chat is idempotent in Teams (it returns the existing one), so an
		// unknown outcome here is just a failure to retry.
		return store.ConversationRef{}, fmt.Errorf("create conversation: %s", err.Error())
	}
	serviceURL := c.o.ServiceURL
	if res.ServiceURL != "" {
		serviceURL = res.ServiceURL
	}
	ref = store.ConversationRef{ConversationID: res.ID, ConversationType: "personal", ServiceURL: serviceURL,
		TenantID: tenantID, BotID: c.o.BotID, UserAADObjectID: userOID}
	if err := c.o.Store.UpsertConversation(ctx, ref); err != nil {
		return store.ConversationRef{}, fmt.Errorf("store created conversation: %w", err)
	}
	return ref, nil
}

// create asks the Bot Connector for the 1:1 conversation with the user (tenant id and Entra
// object id). Teams returns the existing chat when there is one.
func (c *Conversations) create(ctx context.Context, tenantID, oid string) (botframework.ConversationResource, error) {
	return c.o.Connector.CreateConversation(ctx, c.o.ServiceURL, botframework.ConversationParameters{
		Bot:      schema.ChannelAccount{ID: c.o.BotID},
		Members:  []schema.ChannelAccount{{ID: oid, AadObjectID: oid}},
		TenantID: tenantID,
	})
}

// refused reports a conversation Teams will not create as asked (a 4xx other than throttling):
// for a user by object id, typically 403 BotNotInConversationRoster because they do not have the
// app. Repeating the same call cannot help.
func refused(err error) bool {
	var ce *botframework.ConnectorError
	return errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && ce.Status != http.StatusTooManyRequests
}
