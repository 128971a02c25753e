// Package store is guestpass's durable state: activity de-duplication claims, conversation
// references, dialog state, the audit log, leases, the outbox, scenario records, onboardings and a
// small key/value cache.
//
// One contract ([Store]) has two implementations selected by the database URL given to [Open]:
// SQLite (modernc.org/sqlite, no cgo, the embedded default) and PostgreSQL (pgx). Both share one
// implementation of every method on database/sql; only connection set-up, placeholders, row
// locking and the schema types differ. Schemas are versioned goose migrations embedded in the
// binary and applied by [Open].
//
// Everything that must hold across restarts and replicas (an activity claimed once, a dialog
// updated by one writer at a time, one poller per lease, an outbox row claimed by one sender) is
// decided by a single conditional statement in the database, never by in-process locks.
//
// Timestamps are stored in UTC with microsecond precision; values read back are in UTC.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"
)

// Sentinel errors. Methods wrap them with context; branch with errors.Is.
var (
	// ErrNotFound reports that the requested row does not exist (or has expired, for key/value
	// entries).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports a lost optimistic-concurrency race (a dialog saved with a stale version)
	// or a uniqueness violation (a scenario name already used by another scenario).
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid reports an argument the store refuses before touching the database (an empty key,
	// an unknown state, malformed JSON).
	ErrInvalid = errors.New("store: invalid argument")
)

// Dialect names returned by [Store.Dialect].
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Outbox states. A row moves pending → sending (claimed) → sent; a failed send goes back to pending
// (retry) or to failed (permanent); a send whose outcome is unknown goes to unknown and is never
// resent automatically, because Teams may already show the card.
const (
	OutboxPending = "pending"
	OutboxSending = "sending"
	OutboxSent    = "sent"
	OutboxUnknown = "unknown"
	OutboxFailed  = "failed"
)

// Scenario states.
const (
	ScenarioProvisioning = "provisioning"
	ScenarioActive       = "active"
	ScenarioFailed       = "failed"
	ScenarioRetired      = "retired"
)

// Onboarding channels: how the guest received the link.
const (
	ChannelMail = "mail"
	ChannelCard = "card"
	ChannelB2B  = "b2b"
)

// Onboarding states, in the order a guest normally moves through them.
const (
	OnboardingLinkSent  = "link_sent"
	OnboardingRequested = "requested"
	OnboardingApproved  = "approved"
	OnboardingDenied    = "denied"
	OnboardingDelivered = "delivered"
	OnboardingExpiring  = "expiring"
	OnboardingExpired   = "expired"
	OnboardingRemoved   = "removed"
	OnboardingFailed    = "failed"
)

// Store is the persistence contract every guestpass component uses. Implementations are safe for
// concurrent use by many goroutines and, for PostgreSQL, by many replicas sharing the database.
type Store interface {
	// Ping checks that the database answers (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the database connections.
	Close() error
	// Dialect returns DialectSQLite or DialectPostgres.
	Dialect() string

	// ClaimActivity records that this (conversation, activity) is being processed and reports
	// whether the caller is the first to claim it. Teams re-sends slow activities; only the first
	// claimer may run side effects. The claim holds across restarts and replicas.
	ClaimActivity(ctx context.Context, conversationID, activityID string) (claimed bool, err error)
	// ReleaseActivity drops a claim so a failed turn can be retried by the channel's next re-send.
	ReleaseActivity(ctx context.Context, conversationID, activityID string) error
	// PruneActivities deletes claims made before olderThan and returns how many it deleted.
	PruneActivities(ctx context.Context, olderThan time.Time) (int64, error)

	// UpsertConversation stores a conversation reference for proactive messages. Empty fields of
	// ref keep the values already stored, because not every activity carries every field.
	UpsertConversation(ctx context.Context, ref ConversationRef) error
	// Conversation returns the reference of a conversation, or ErrNotFound.
	Conversation(ctx context.Context, conversationID string) (ConversationRef, error)
	// PersonalConversation returns the most recently updated personal (1:1) conversation of a user
	// in a tenant, or ErrNotFound.
	PersonalConversation(ctx context.Context, tenantID, userAADObjectID string) (ConversationRef, error)
	// DeleteConversation forgets a conversation (the app was uninstalled). Deleting a missing
	// conversation is not an error.
	DeleteConversation(ctx context.Context, conversationID string) error

	// LoadDialog returns the dialog of a user in a conversation, or ErrNotFound. Expired dialogs
	// are returned too (see Dialog.Expired) so the caller can say that the dialog timed out.
	LoadDialog(ctx context.Context, conversationID, userID string) (Dialog, error)
	// SaveDialog inserts the dialog when d.Version is 0 and otherwise updates it only if the stored
	// version still equals d.Version. It returns the dialog as stored, with its new version, or
	// ErrConflict when another writer got there first (or, for Version 0, a dialog already exists).
	SaveDialog(ctx context.Context, d Dialog) (Dialog, error)
	// DeleteDialog ends a dialog. Deleting a missing dialog is not an error.
	DeleteDialog(ctx context.Context, conversationID, userID string) error
	// PruneDialogs deletes dialogs that expired at or before now and returns how many it deleted.
	PruneDialogs(ctx context.Context, now time.Time) (int64, error)

	// AppendAudit adds an entry to the audit log; a zero At means now.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns audit entries matching q, newest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)

	// AcquireLease takes the named lease for holder until now+ttl when it is free, expired or
	// already held by holder (then it is renewed). It reports whether holder holds the lease.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if holder holds it; otherwise it does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error

	// EnqueueOutbox records the intent to send an item. It is a no-op reporting created=false when
	// an item with the same Key exists, which makes enqueueing idempotent.
	EnqueueOutbox(ctx context.Context, item OutboxItem) (created bool, err error)
	// ClaimOutbox atomically claims up to limit due pending items for holder for the lease
	// duration and moves them to sending. Items left in sending by a claim that expired (the
	// sender died or hung mid-send, so Teams may or may not have the message) are moved to
	// unknown and are not returned: they must not be resent blindly.
	ClaimOutbox(ctx context.Context, holder string, limit int, lease time.Duration) ([]OutboxItem, error)
	// MarkOutboxSent records a confirmed send and the activity id Teams returned.
	MarkOutboxSent(ctx context.Context, id int64, activityID string) error
	// MarkOutboxUnknown records that a send's outcome is unknown (timeout, connection reset after
	// the request was written).
	MarkOutboxUnknown(ctx context.Context, id int64, reason string) error
	// MarkOutboxFailed records a failed send: with a zero retryAt the item fails permanently,
	// otherwise it becomes pending again, due at retryAt. It is also how an operator or worker
	// re-queues an unknown item after checking that the recipient did not get it.
	MarkOutboxFailed(ctx context.Context, id int64, reason string, retryAt time.Time) error
	// OutboxByKey returns the item with the idempotency key, or ErrNotFound.
	OutboxByKey(ctx context.Context, key string) (OutboxItem, error)
	// ListOutbox returns items matching q, oldest first.
	ListOutbox(ctx context.Context, q OutboxQuery) ([]OutboxItem, error)

	// PutScenario inserts or replaces the scenario with rec.ID. Names are unique per tenant,
	// compared case-insensitively; ErrConflict when another scenario has the name.
	PutScenario(ctx context.Context, rec ScenarioRecord) error
	// GetScenario returns a scenario by id, or ErrNotFound.
	GetScenario(ctx context.Context, id string) (ScenarioRecord, error)
	// ScenarioByName returns a tenant's scenario by name (case-insensitive), or ErrNotFound.
	ScenarioByName(ctx context.Context, tenantID, name string) (ScenarioRecord, error)
	// ScenarioByAccessPackage returns the scenario backed by an access package, or ErrNotFound.
	ScenarioByAccessPackage(ctx context.Context, accessPackageID string) (ScenarioRecord, error)
	// ListScenarios returns scenarios matching q, ordered by name.
	ListScenarios(ctx context.Context, q ScenarioQuery) ([]ScenarioRecord, error)

	// UpsertOnboarding records an invitation of a guest to a scenario, keyed by the scenario and
	// the guest's email (case-insensitive). Inviting the same guest again replaces the row's
	// fields (a new cycle) but keeps its id and CreatedAt. It returns the row as stored.
	UpsertOnboarding(ctx context.Context, o Onboarding) (Onboarding, error)
	// GetOnboarding returns an onboarding by id, or ErrNotFound.
	GetOnboarding(ctx context.Context, id int64) (Onboarding, error)
	// ListOnboardings returns onboardings matching q, most recently invited first.
	ListOnboardings(ctx context.Context, q OnboardingQuery) ([]Onboarding, error)
	// UpdateOnboardingState moves an onboarding to state and sets the non-nil fields of f. It
	// returns the row as stored, or ErrNotFound.
	UpdateOnboardingState(ctx context.Context, id int64, state string, f OnboardingFields) (Onboarding, error)
	// CountInvitesSince counts the guests a sponsor invited at or after since (for the per-sponsor
	// daily limit). A guest invited again to the same scenario counts once, at the latest time.
	CountInvitesSince(ctx context.Context, sponsorOID string, since time.Time) (int, error)

	// GetKV returns the value stored under key, or ErrNotFound when it is missing or expired.
	GetKV(ctx context.Context, key string) ([]byte, error)
	// PutKV stores value under key; a ttl <= 0 means the entry does not expire.
	PutKV(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// DeleteKV removes key. Deleting a missing key is not an error.
	DeleteKV(ctx context.Context, key string) error
	// PruneKV deletes entries that expired at or before now and returns how many it deleted.
	PruneKV(ctx context.Context, now time.Time) (int64, error)
}

// ConversationRef is what the bot needs to message a conversation proactively.
type ConversationRef struct {
	ConversationID   string
	ConversationType string // "personal", "groupChat" or "channel"
	ServiceURL       string
	TenantID         string
	BotID            string
	BotName          string
	UserID           string // the channel account id (29:…), activity.from.id
	UserAADObjectID  string
	UserName         string
	TeamID           string
	ChannelID        string
	UpdatedAt        time.Time // set by the store
}

// Dialog is the persisted state of one user's multi-turn dialog in one conversation.
type Dialog struct {
	ConversationID string
	UserID         string
	Name           string
	Step           string
	State          json.RawMessage // nil is stored as SQL NULL
	Version        int64           // 0 for a new dialog; the store increments it on every save
	UpdatedAt      time.Time       // set by the store
	ExpiresAt      time.Time       // zero: never expires
}

// Expired reports whether the dialog has expired at now.
func (d Dialog) Expired(now time.Time) bool {
	return !d.ExpiresAt.IsZero() && !now.Before(d.ExpiresAt)
}

// AuditEntry is one audit-log record: who did what to which target, when, with the correlation
// ids needed to trace it in Teams and Graph.
type AuditEntry struct {
	ID             int64     // set by the store
	At             time.Time // zero: now
	ActorOID       string
	ActorName      string
	TenantID       string
	Action         string // required, e.g. "approval.approve"
	Target         string
	Outcome        string
	Detail         string
	ActivityID     string
	ConversationID string
	GraphRequestID string
}

// AuditQuery filters ListAudit. Zero fields do not filter.
type AuditQuery struct {
	ActorOID string
	Action   string
	Limit    int       // default 100, at most 1000
	Before   time.Time // only entries strictly before this time
}

// OutboxItem is one message the bot intends to send. The intent is written before sending and
// marked after, so a restart never sends the same card twice.
type OutboxItem struct {
	ID             int64
	Key            string // unique idempotency key, e.g. "approval:<requestId>:<approverOid>:stage1"
	Kind           string // required, e.g. "approval-card"
	TenantID       string
	RecipientOID   string
	ConversationID string
	Payload        json.RawMessage
	State          string // OutboxPending … OutboxFailed; set by the store
	ActivityID     string // the id Teams returned for the sent activity
	Attempts       int    // number of claims
	LastError      string
	NotBefore      time.Time // zero: due now
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ClaimedBy      string    // holder of the latest claim
	ClaimedUntil   time.Time // end of the latest claim; zero when never claimed
}

// OutboxQuery filters ListOutbox. Zero fields do not filter.
type OutboxQuery struct {
	Kind      string
	State     string
	KeyPrefix string
	Limit     int // default 100, at most 1000
}

// ScenarioRecord is guestpass's side of a guest scenario; the Entra objects themselves live in
// Graph and are referenced by id.
type ScenarioRecord struct {
	ID              string
	TenantID        string
	Name            string
	OwnerOID        string
	CoOwnerOIDs     []string
	CatalogID       string
	AccessPackageID string
	PolicyID        string
	ConnectedOrgIDs []string
	State           string // ScenarioProvisioning … ScenarioRetired
	Spec            json.RawMessage
	LastError       string
	CreatedAt       time.Time  // set by the store on insert when zero; kept on update
	UpdatedAt       time.Time  // set by the store
	RetiredAt       *time.Time // set by the store to now when State is retired and it is nil
}

// ScenarioQuery filters ListScenarios. Zero fields do not filter.
type ScenarioQuery struct {
	TenantID       string
	OwnerOID       string // matches the owner or any co-owner
	IncludeRetired bool
}

// Onboarding follows one guest invited to one scenario, from the link to access and expiry.
type Onboarding struct {
	ID            int64
	TenantID      string
	ScenarioID    string // must name a stored scenario
	SponsorOID    string
	GuestEmail    string
	GuestOID      string
	Channel       string // ChannelMail, ChannelCard or ChannelB2B
	State         string // OnboardingLinkSent … OnboardingFailed
	RequestID     string
	AssignmentID  string
	LastError     string
	ExpiresAt     *time.Time
	NotifiedState string    // the last state the sponsor was told about
	InvitedAt     time.Time // set by the store on every UpsertOnboarding
	CreatedAt     time.Time // set by the store
	UpdatedAt     time.Time // set by the store
}

// OnboardingQuery filters ListOnboardings. Zero fields do not filter.
type OnboardingQuery struct {
	TenantID   string
	SponsorOID string
	ScenarioID string
	GuestEmail string   // case-insensitive
	State      string   // exactly this state
	States     []string // any of these states (combined with State if both are set)
	Limit      int      // default 100, at most 1000
}

// OnboardingFields are the optional fields UpdateOnboardingState sets; nil leaves a field as it is
// and a pointer to the zero value clears it.
type OnboardingFields struct {
	GuestOID      *string
	RequestID     *string
	AssignmentID  *string
	LastError     *string
	ExpiresAt     *time.Time // a pointer to the zero time clears it
	NotifiedState *string
}

// Option configures Open.
type Option func(*options)

type options struct {
	now    func() time.Time
	logger *slog.Logger
}

// WithClock makes the store read the current time from now instead of time.Now, so tests can move
// leases, claims and expiries forward.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLogger sets the logger for migration progress (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}
