package dialogs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"guestpass/internal/keylock"
	"guestpass/internal/store"
)

// DefaultTTL is how long a dialog survives without input.
const DefaultTTL = 24 * time.Hour

// maxAttempts bounds how often a transaction reloads and re-applies after losing an optimistic
// concurrency race to another replica.
const maxAttempts = 3

// ErrBusy reports that a dialog kept changing under a transaction (another replica wrote it on
// every attempt). The input was not applied; the user is asked to try again.
var ErrBusy = errors.New("dialogs: the dialog changed concurrently")

// Key identifies a dialog: one user (Entra object id, from the authenticated activity) in one
// conversation. A user's dialog in a personal chat and in a team channel are independent.
type Key struct {
	ConversationID string
	UserOID        string
}

// String is the key of the in-process lock (the NUL separator cannot occur in either id).
func (k Key) String() string { return k.ConversationID + "\x00" + k.UserOID }

// Current is a dialog as a transaction sees it.
type Current struct {
	store.Dialog
	// Found is false when the user has no dialog in the conversation.
	Found bool
	// Expired is set when the dialog exists but timed out.
	Expired bool
}

// Change is what a transaction does to the dialog it saw.
type Change struct {
	op    changeOp
	name  string
	step  string
	state []byte
}

type changeOp int

// Change operations.
const (
	opKeep changeOp = iota
	opSave
	opDelete
)

// Keep leaves the dialog as it is.
func Keep() Change { return Change{op: opKeep} }

// Delete ends the dialog.
func Delete() Change { return Change{op: opDelete} }

// Save stores the dialog with a new step and state; its expiry moves to now + TTL.
func Save(name, step string, state []byte) Change {
	return Change{op: opSave, name: name, step: step, state: state}
}

// Engine runs multi-turn dialogs persisted in the store. Work on one dialog is serialised in this
// process by a per-key lock and across replicas by the store's optimistic version: a transaction
// that loses a race reloads the dialog and applies its input again to what the winner wrote, so
// no input is silently lost and no state is overwritten. It is safe for concurrent use.
type Engine struct {
	store store.Store
	now   func() time.Time
	ttl   time.Duration
	locks keylock.Map
}

// EngineOptions configure NewEngine.
type EngineOptions struct {
	// TTL is how long a dialog lives without input (default DefaultTTL).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewEngine returns an Engine over st.
func NewEngine(st store.Store, o EngineOptions) *Engine {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{store: st, now: o.Now, ttl: o.TTL}
}

// TTL is the inactivity timeout of dialogs.
func (e *Engine) TTL() time.Duration { return e.ttl }

// Now reads the engine's clock.
func (e *Engine) Now() time.Time { return e.now() }

// Transact loads the dialog of key, calls fn with it and applies the Change fn returns, holding the
// key's in-process lock throughout. When the save loses to a concurrent writer (another replica),
// Transact reloads and calls fn again, at most maxAttempts times in all, then fails with ErrBusy.
// fn must therefore have no side effects beyond idempotent reads; the caller acts on what the
// last call of fn decided after Transact returns.
func (e *Engine) Transact(ctx context.Context, key Key, fn func(cur Current) (Change, error)) error {
	if key.ConversationID == "" || key.UserOID == "" {
		return errors.New("dialogs: a dialog needs a conversation and a user object id")
	}
	unlock, err := e.locks.Lock(ctx, key.String())
	if err != nil {
		return fmt.Errorf("dialogs: waiting for the dialog lock: %w", err)
	}
	defer unlock()
	for range maxAttempts {
		cur, err := e.load(ctx, key)
		if err != nil {
			return err
		}
		ch, err := fn(cur)
		if err != nil {
			return err
		}
		switch ch.op {
		case opKeep:
			return nil
		case opDelete:
			if !cur.Found {
				return nil
			}
			if err := e.store.DeleteDialog(ctx, key.ConversationID, key.UserOID); err != nil {
				return fmt.Errorf("dialogs: end dialog: %w", err)
			}
			return nil
		}
		d := store.Dialog{
			ConversationID: key.ConversationID,
			UserID:         key.UserOID,
			Name:           ch.name,
			Step:           ch.step,
			State:          ch.state,
			ExpiresAt:      e.now().Add(e.ttl),
		}
		if cur.Found {
			d.Version = cur.Version
		}
		_, err = e.store.SaveDialog(ctx, d)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("dialogs: save dialog: %w", err)
		}
		return nil
	}
	return ErrBusy
}

// Load returns the dialog of key without locking it (for read-only checks).
func (e *Engine) Load(ctx context.Context, key Key) (Current, error) { return e.load(ctx, key) }

func (e *Engine) load(ctx context.Context, key Key) (Current, error) {
	d, err := e.store.LoadDialog(ctx, key.ConversationID, key.UserOID)
	if errors.Is(err, store.ErrNotFound) {
		return Current{}, nil
	}
	if err != nil {
		return Current{}, fmt.Errorf("dialogs: load dialog: %w", err)
	}
	return Current{Dialog: d, Found: true, Expired: d.Expired(e.now())}, nil
}

// newNonce returns a fresh card nonce: every card a dialog renders gets one, so a click on any
// older card is recognisably stale.
func newNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
