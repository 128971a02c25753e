package dialogs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// RoleResolver resolves a user's guestpass roles; *authz.Resolver implements it.
type RoleResolver interface {
	Roles(ctx context.Context, tenantID, userOID string) (authz.Roles, error)
}

// Deps are what the scenario dialogs need.
type Deps struct {
	// Store persists dialogs and holds the scenario records and the audit log.
	Store store.Store
	// Service is the entitlement-management service.
	Service *entitlement.Service
	// Roles resolves who may do what.
	Roles RoleResolver
	// TTL is how long a draft survives without input (default DefaultTTL).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives background-work logs (default slog.Default()).
	Logger *slog.Logger
	// CreateTimeout bounds one scenario creation or update (default 5 minutes).
	CreateTimeout time.Duration
}

// Dialogs runs the sponsor's scenario conversations: the wizard (new, from a template, edit), and
// list, show and retire. Handlers are thin: they turn a Turn into an Input and call the core.
type Dialogs struct {
	engine  *Engine
	store   store.Store
	svc     *entitlement.Service
	roles   RoleResolver
	log     *slog.Logger
	timeout time.Duration

	// Creations run after the card action's response (teams-bot-protocol.md §3.1: answer fast,
	// then update the card); Shutdown waits for them.
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// New checks deps and returns the dialogs.
func New(deps Deps) (*Dialogs, error) {
	switch {
	case deps.Store == nil:
		return nil, errors.New("dialogs: Store is required")
	case deps.Service == nil:
		return nil, errors.New("dialogs: Service is required")
	case deps.Roles == nil:
		return nil, errors.New("dialogs: Roles is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.CreateTimeout <= 0 {
		deps.CreateTimeout = 5 * time.Minute
	}
	d := &Dialogs{
		engine:  NewEngine(deps.Store, EngineOptions{TTL: deps.TTL, Now: deps.Now}),
		store:   deps.Store,
		svc:     deps.Service,
		roles:   deps.Roles,
		log:     deps.Logger,
		timeout: deps.CreateTimeout,
	}
	d.bgCtx, d.bgCancel = context.WithCancel(context.Background())
	return d, nil
}

// Register builds the dialogs from deps and registers their commands, card verbs and the
// text-input middleware on mux (see Dialogs.Register).
func Register(mux *router.Mux, deps Deps) (*Dialogs, error) {
	d, err := New(deps)
	if err != nil {
		return nil, err
	}
	d.Register(mux)
	return d, nil
}

// Shutdown waits for running creations to finish, cancelling them when ctx ends first. A
// cancelled creation leaves the draft in a state the sponsor can retry.
func (d *Dialogs) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { d.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		d.bgCancel()
		<-done
		return fmt.Errorf("dialogs: shutdown: %w", ctx.Err())
	}
}

// keyOf is the dialog key of a turn: the conversation and the authenticated user.
func keyOf(t *router.Turn) Key {
	return Key{ConversationID: t.Activity.Conversation.ID, UserOID: t.Identity.AADObjectID}
}
