// Package onboarding lets sponsors invite guests to a scenario and follows each guest from the
// link to access and expiry.
//
// Inviting: the invite form (from a scenario's result card, `invite`, or `/invite a@x.com
// --scenario Name`) takes up to 50 addresses. Delivery is an email from the sponsor's own mailbox
// (shown first; the Send click is an Action.Execute carrying the sponsor's Teams SSO token, which
// is validated and exchanged on-behalf-of, so Graph sends the mail as the sponsor), a link card the
// sponsor forwards, or, only where the scenario opts in, a B2B invitation made with the sponsor's
// delegated token. The bot never grants access itself: guests request access in My Access, so the
// scenario's approval applies.
//
// A batch runs after the click's answer and updates the progress card in place. Each guest is
// recorded in the store (a per-guest ledger entry and the onboarding row) before anything is sent
// and marked after, so a restarted or repeated Send resumes where the batch stopped and never
// sends a guest a second message; a guest whose send was interrupted mid-call is reported, not
// resent.
//
// Following: the worker (Run, on the replica holding the "onboarding.follower" lease) reads
// each access package's requests and assignments app-only (O(packages) calls per pass) and moves
// each onboarding through link sent → requested → approved/denied → delivered → expiring →
// expired/removed, even when the guest's request was decided between two passes. The sponsor is
// told once when access is delivered or denied and gets the expiry card once before access ends
// (ExpiryNotice): send the guest the extension link, extend with the sponsor's own delegated
// right (adminUpdate; Entra decides), or let it expire. `guests` lists the sponsor's guests;
// removal uses the sponsor's (or an admin's) delegated token.
package onboarding

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/lease"
	"guestpass/internal/proactive"
	"guestpass/internal/router"
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// Defaults for Deps fields left zero.
const (
	DefaultDailyLimit     = 100
	DefaultExpiryNotice   = 7 * 24 * time.Hour
	DefaultPollInterval   = time.Minute
	DefaultConnectionName = sso.DefaultConnectionName

	// leaseName is the store lease only the following replica holds.
	leaseName = "onboarding.follower"
	// clickBudget bounds the token exchange of a click so the invoke is answered in time.
	clickBudget = 12 * time.Second
	// draftTTL is how long an unsent invitation draft (and a finished batch's ledger) is kept.
	draftTTL = 7 * 24 * time.Hour
	// batchLease is how long one batch run holds its lease without renewing it (it renews after
	// every guest); a replica that died mid-batch frees the batch after this long.
	batchLease = 2 * time.Minute
)

// RoleResolver resolves a user's guestpass roles; *authz.Resolver implements it.
type RoleResolver interface {
	Roles(ctx context.Context, tenantID, userOID string) (authz.Roles, error)
}

// Connector is the part of the Bot Connector client onboarding uses (*botframework.Connector).
type Connector interface {
	Send(ctx context.Context, serviceURL, conversationID string, act *botframework.Outgoing) (string, error)
	Update(ctx context.Context, serviceURL, conversationID, activityID string, act *botframework.Outgoing) error
	CreateConversation(ctx context.Context, serviceURL string, p botframework.ConversationParameters) (botframework.ConversationResource, error)
}

// SSOSettings describe the sign-in request sent to a click that needs the sponsor's delegated
// token but carries none.
type SSOSettings = sso.Settings

// Deps are the collaborators and settings of the onboarding feature.
type Deps struct {
	Store     store.Store
	Service   *entitlement.Service
	Roles     RoleResolver
	Connector Connector
	// Validator and Exchanger turn a click's SSO token into the sponsor's Graph credential.
	Validator *sso.Validator
	Exchanger *sso.Exchanger
	// LocalToken, set only in local mode with the sandbox tenant, issues the clicking user's SSO
	// token; it is then validated and exchanged exactly as in production.
	LocalToken func(ctx context.Context, tenantID, userOID string) (string, error)
	SSO        SSOSettings

	// TenantID is the bot's tenant. BotID is the bot's channel id ("28:<appId>"), needed to
	// message sponsors without a stored conversation at ServiceURL (default proactive.DefaultServiceURL).
	TenantID   string
	BotID      string
	ServiceURL string
	// Installer, when set (TEAMS_APP_CATALOG_ID), installs the bot's app for a sponsor Teams
	// refuses a conversation with, so their notices still arrive.
	Installer proactive.Installer
	// Organisation names the inviting organisation in mails and link cards.
	Organisation string

	// DailyLimit is INVITE_DAILY_LIMIT: guests one sponsor may invite in 24 hours (default 100).
	DailyLimit int
	// ExpiryNotice is how long before an assignment ends the sponsor gets the expiry card
	// (default 7 days).
	ExpiryNotice time.Duration
	// PollInterval is how often the worker follows onboardings (default 1 minute).
	PollInterval time.Duration
	// Holder identifies this replica for leases; default hostname + random.
	Holder string
	Now    func() time.Time
	Logger *slog.Logger
}

// Onboarding is the feature. Build it with New.
type Onboarding struct {
	d    Deps
	auth *sso.Authenticator
	log  *slog.Logger
	now  func() time.Time
	// convs finds or opens sponsors' personal conversations.
	convs *proactive.Conversations

	// Batches run after the click's answer; Shutdown stops and waits for them.
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc

	// afterGuest, when set (tests), runs after each guest of a batch is recorded.
	afterGuest func(i int)
}

// New validates d and returns the feature.
func New(d Deps) (*Onboarding, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("onboarding: Store is required")
	case d.Service == nil:
		return nil, errors.New("onboarding: Service is required")
	case d.Roles == nil:
		return nil, errors.New("onboarding: Roles is required")
	case d.Connector == nil:
		return nil, errors.New("onboarding: Connector is required")
	case d.TenantID == "":
		return nil, errors.New("onboarding: TenantID is required")
	case d.BotID == "":
		return nil, errors.New("onboarding: BotID is required")
	case d.DailyLimit < 0:
		return nil, errors.New("onboarding: DailyLimit must not be negative")
	}
	auth, err := sso.NewAuthenticator(d.Validator, d.Exchanger, d.SSO, d.LocalToken)
	if err != nil {
		return nil, fmt.Errorf("onboarding: %w", err)
	}
	d.SSO = auth.Settings
	if d.DailyLimit == 0 {
		d.DailyLimit = DefaultDailyLimit
	}
	if d.ExpiryNotice <= 0 {
		d.ExpiryNotice = DefaultExpiryNotice
	}
	if d.PollInterval <= 0 {
		d.PollInterval = DefaultPollInterval
	}
	if d.Holder == "" {
		host, _ := os.Hostname()
		d.Holder = host + "-" + randomID(6)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	log := d.Logger.With("component", "onboarding")
	convs, err := proactive.New(proactive.Options{Connector: d.Connector, Store: d.Store, BotID: d.BotID,
		ServiceURL: d.ServiceURL, Installer: d.Installer, Now: d.Now, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("onboarding: %w", err)
	}
	o := &Onboarding{d: d, log: log, now: d.Now, auth: auth, convs: convs}
	o.bgCtx, o.bgCancel = context.WithCancel(context.Background())
	return o, nil
}

// Run follows onboardings (while holding the lease) until ctx ends.
func (o *Onboarding) Run(ctx context.Context) {
	lease.Loop(ctx, o.d.Store, leaseName, o.d.Holder, o.d.PollInterval, o.log, o.Poll)
}

// Shutdown stops running batches (cancelling them when ctx ends first) and waits for them. A
// stopped batch resumes when the sponsor clicks Resume on its progress card.
func (o *Onboarding) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { o.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		o.bgCancel()
		<-done
		return fmt.Errorf("onboarding: shutdown: %w", ctx.Err())
	}
}

// notify sends a card to a user's personal conversation.
func (o *Onboarding) notify(ctx context.Context, tenantID, oid string, card any) error {
	ref, err := o.convs.Personal(ctx, tenantID, oid)
	if err != nil {
		return err
	}
	if _, err := o.d.Connector.Send(ctx, ref.ServiceURL, ref.ConversationID, botframework.NewCard(card)); err != nil {
		return fmt.Errorf("send to %s: %w", oid, err)
	}
	return nil
}

// audit appends an audit entry, logging (not failing) when the store refuses it.
func (o *Onboarding) audit(ctx context.Context, e store.AuditEntry) {
	if err := o.d.Store.AppendAudit(ctx, e); err != nil {
		o.log.ErrorContext(ctx, "recording an audit entry failed", "action", e.Action, "error", err)
	}
}

// Register routes the feature's commands and card verbs. Call it after the dialogs' Register: it
// takes over VerbInviteGuests and, through middleware, the wizard verbs of invite cards (data
// "dialog": "invite"), leaving the scenario wizard's to the dialogs.
func (o *Onboarding) Register(mux *router.Mux) {
	mux.HandleCommand("invite", o.onInviteCommand)
	mux.HandleCommand("guests", o.onGuestsCommand)
	for verb, h := range map[string]router.Handler{
		cards.VerbInviteGuests:        o.onInviteVerb,
		cards.VerbGuestList:           o.onGuestListVerb,
		cards.VerbGuestRemove:         o.onGuestRemoveVerb,
		cards.VerbGuestRemoveConfirm:  o.onGuestRemoveConfirm,
		cards.VerbExpirySendLink:      o.onExpirySendLink,
		cards.VerbExpiryExtend:        o.onExpiryExtend,
		cards.VerbExpiryExtendConfirm: o.onExpiryExtendConfirm,
		cards.VerbExpiryLetExpire:     o.onExpiryLetExpire,
	} {
		mux.HandleVerb(verb, h)
	}
	mux.Use(o.inviteCardMiddleware)
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
