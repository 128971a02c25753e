// Package approvals lets approvers decide guest access requests from Adaptive Cards in Teams, with
// the decision recorded in Entra as the approver.
//
// Three parts share the store:
//
//   - The detection worker (Poll, run by Run on the replica holding the "approvals.poller"
//     lease) lists pending requests app-only. A new request gets one outbox row per (request,
//     approver, stage) for the first stage's approvers, derived from the request's policy because
//     stages are not readable app-only. A request that leaves the pending list is read app-only
//     and, once final (approved, denied, cancelled, expired), every card sent for it is updated
//     to the final state. Reminders and escalations are outbox rows too, so they are sent once.
//   - The sender (Deliver, run by Run on every replica; rows are claimed atomically) sends the
//     outbox rows: to the approver's stored personal conversation, else a 1:1 conversation it
//     creates. Every row is written before its send and marked after it with the activity id; a
//     send whose outcome is unknown is never repeated (the reminder covers it). The connector's
//     pacer keeps the Teams rate limits. An approver who cannot be reached is recorded, audited
//     and reported to the scenario's sponsor.
//   - The click (verbs approve, deny, refresh): without an SSO token the answer is a 401
//     loginRequest so Teams signs the approver in silently and re-sends the click; with one, the
//     token is validated (package sso), exchanged on-behalf-of, and the decision is recorded
//     through Graph as the approver. The clicking identity is the validated token's, which must be
//     the activity's sender; card data only names the request.
//
// State kept besides the outbox (store key/value entries, written by one writer each): the
// request snapshot cards are rendered from (worker), the set of open requests (worker), and the
// decision the bot recorded per stage (click).
package approvals

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

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/keylock"
	"guestpass/internal/lease"
	"guestpass/internal/proactive"
	"guestpass/internal/router"
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// Defaults for Deps fields left zero.
const (
	DefaultPollInterval   = 30 * time.Second
	DefaultRemindAfter    = 24 * time.Hour
	DefaultEscalateAfter  = 48 * time.Hour
	DefaultConnectionName = sso.DefaultConnectionName
	// DefaultSenders is how many recipients' rows are sent concurrently; the pacer decides the
	// rate. Teams sustains about 4 sends a second per conversation, so reaching the app's global
	// budget (30–50 a second) takes at least 8–13 conversations in flight.
	DefaultSenders = 16
	// clickBudget bounds the work of one click (token exchange and Graph decision) so the invoke
	// is answered before Teams gives up on it.
	clickBudget = 12 * time.Second
	// leaseName is the store lease only the polling replica holds.
	leaseName = "approvals.poller"
	// claimBatch is how many outbox rows one claim takes: large enough to span many recipients,
	// small enough that the claim lease covers sending them at Teams' rates.
	claimBatch = 200
	// claimLease is how long a claimed row may stay in "sending" before it is written off as
	// unknown (the sender died mid-send).
	claimLease = 5 * time.Minute
	// maxAttempts bounds retries of sends that failed without reaching Teams.
	maxAttempts = 5
)

// Entitlement is what approvals uses of the entitlement service (*entitlement.Service).
type Entitlement interface {
	// PendingRequests calls fn for every request in pendingApproval on a managed access package,
	// app-only, all pages.
	PendingRequests(ctx context.Context, fn func(entitlement.Request) error) error
	// RequestState reads one request app-only.
	RequestState(ctx context.Context, requestID string) (entitlement.Request, error)
	// ApproversFor resolves the approvers of a policy's stage (1-based) for a requestor to
	// people, expanding groups and sponsors.
	ApproversFor(ctx context.Context, policyID string, stage int, requestor entitlement.Person) ([]entitlement.Person, error)
	// LoadScenario returns a guestpass scenario (its approval stages say whether a stage's
	// approvers depend on the requestor).
	LoadScenario(ctx context.Context, id string) (entitlement.Scenario, error)
	// Decide records the decision as the user behind cred on the stage assigned to them;
	// entitlement.ErrAlreadyDecided for 409, entitlement.ErrNotApprover for 403/not assigned.
	Decide(ctx context.Context, cred azcore.TokenCredential, requestID string, approve bool, justification string) (entitlement.Decision, error)
	// MyPendingApprovals lists, as the user behind cred, the oldest limit requests waiting for
	// their decision and counts all of them.
	MyPendingApprovals(ctx context.Context, cred azcore.TokenCredential, limit int) (entitlement.MyApprovals, error)
}

// Connector is the part of the Bot Connector client approvals uses (*botframework.Connector).
type Connector interface {
	Send(ctx context.Context, serviceURL, conversationID string, act *botframework.Outgoing) (string, error)
	Update(ctx context.Context, serviceURL, conversationID, activityID string, act *botframework.Outgoing) error
	CreateConversation(ctx context.Context, serviceURL string, p botframework.ConversationParameters) (botframework.ConversationResource, error)
}

// SSOSettings describe the sign-in request sent to a click without a token.
type SSOSettings = sso.Settings

// Deps are the collaborators and settings of the approvals feature.
type Deps struct {
	Store       store.Store
	Entitlement Entitlement
	Connector   Connector
	// Validator and Exchanger turn a click's SSO token into the approver's Graph credential.
	Validator *sso.Validator
	Exchanger *sso.Exchanger
	// LocalToken, set only in local mode with the sandbox tenant, issues the clicking user's SSO
	// token (the Agents Playground has no SSO); the token is then validated and exchanged exactly
	// as in production.
	LocalToken func(ctx context.Context, tenantID, userOID string) (string, error)
	SSO        SSOSettings

	// TenantID is the tenant whose requests are polled (the bot's tenant).
	TenantID string
	// BotID is the bot's channel id ("28:<appId>"), needed to create 1:1 conversations.
	BotID string
	// ServiceURL is the Bot Connector URL for approvers with no stored conversation; default
	// proactive.DefaultServiceURL.
	ServiceURL string
	// Admins returns the admins told about requests pending past EscalateAfter; optional.
	Admins func(ctx context.Context) ([]string, error)
	// Installer installs the bot's Teams app for a recipient Teams refuses a conversation with
	// (TEAMS_APP_CATALOG_ID, *teamsapp.Installer); nil leaves such recipients unreachable.
	Installer proactive.Installer

	// PollInterval is APPROVAL_POLL_INTERVAL (default 30 s).
	PollInterval time.Duration
	// RemindAfter: still pending this long after the cards went out, approvers get one reminder
	// card (default 24 h). EscalateAfter: the sponsor and admins are told (default 48 h).
	RemindAfter   time.Duration
	EscalateAfter time.Duration
	// Senders is the number of concurrent sends (default DefaultSenders).
	Senders int
	// Holder identifies this replica for the lease and outbox claims; default hostname + random.
	Holder string
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Approvals is the approvals feature. Build it with New.
type Approvals struct {
	d    Deps
	auth *sso.Authenticator
	log  *slog.Logger
	now  func() time.Time
	kick chan struct{}

	// locks serialise, within this replica, clicks of one user on one request: a double click
	// makes one Graph call and the second sees the first's result.
	locks keylock.Map
	// convs finds or opens recipients' personal conversations.
	convs *proactive.Conversations
}

// New validates d and returns the feature.
func New(d Deps) (*Approvals, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("approvals: Store is required")
	case d.Entitlement == nil:
		return nil, errors.New("approvals: Entitlement is required")
	case d.Connector == nil:
		return nil, errors.New("approvals: Connector is required")
	case d.TenantID == "":
		return nil, errors.New("approvals: TenantID is required")
	case d.BotID == "":
		return nil, errors.New("approvals: BotID is required")
	}
	auth, err := sso.NewAuthenticator(d.Validator, d.Exchanger, d.SSO, d.LocalToken)
	if err != nil {
		return nil, fmt.Errorf("approvals: %w", err)
	}
	d.SSO = auth.Settings
	if d.PollInterval <= 0 {
		d.PollInterval = DefaultPollInterval
	}
	if d.RemindAfter <= 0 {
		d.RemindAfter = DefaultRemindAfter
	}
	if d.EscalateAfter <= 0 {
		d.EscalateAfter = DefaultEscalateAfter
	}
	if d.Senders <= 0 {
		d.Senders = DefaultSenders
	}
	if d.Holder == "" {
		host, _ := os.Hostname()
		d.Holder = host + "-" + randomID()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	log := d.Logger.With("component", "approvals")
	convs, err := proactive.New(proactive.Options{Connector: d.Connector, Store: d.Store, BotID: d.BotID,
		ServiceURL: d.ServiceURL, Installer: d.Installer, Now: d.Now, Logger: log})
	if err != nil {
		return nil, errorf("%w", err)
	}
	return &Approvals{
		d: d, log: log, now: d.Now,
		auth:  auth,
		convs: convs,
		kick:  make(chan struct{}, 1),
	}, nil
}

// Register routes the card verbs, the sign-in invokes and the `approvals` command word to the
// feature (the app hands the word to the command dispatcher, which authorizes it first).
func (a *Approvals) Register(mux *router.Mux) {
	mux.HandleVerb(cards.VerbApprove, a.handleDecide(true))
	mux.HandleVerb(cards.VerbDeny, a.handleDecide(false))
	mux.HandleVerb(cards.VerbRefresh, a.handleRefresh)
	mux.HandleVerb(cards.VerbMyApprovals, a.handleMyApprovals)
	mux.HandleCommand(MyApprovalsCommand, a.handleMyApprovalsCommand)
	mux.HandleInvoke(botframework.InvokeSigninTokenExchange, a.handleTokenExchange)
	mux.HandleInvoke(botframework.InvokeSigninVerifyState, a.handleVerifyState)
}

// Run polls (while holding the lease) and sends outbox rows until ctx ends.
func (a *Approvals) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		lease.Loop(ctx, a.d.Store, leaseName, a.d.Holder, a.d.PollInterval, a.log, a.Poll)
	}()
	go func() { defer wg.Done(); a.sendLoop(ctx) }()
	wg.Wait()
}

func (a *Approvals) sendLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if _, err := a.Deliver(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("delivering outbox rows failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
	}
}

// wake makes the sender look at the outbox now instead of at its next tick.
func (a *Approvals) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errorf wraps err with the package prefix.
func errorf(format string, args ...any) error { return fmt.Errorf("approvals: "+format, args...) }
