// Package router is guestpass's dispatch mux for Bot Framework activities and the Turn context its
// handlers receive.
//
// Routing follows the shape of an activity, most specific key first (the design of slack-go's
// socketmode handler, mapped onto Teams):
//
//	invoke adaptiveCard/action → Action.Execute verb → invoke name
//	message with a value and no text (Action.Submit) → the value's "verb"
//	message with text → command (its first word)
//	→ activity type → default
//
// Action.Execute and Action.Submit drive the same verb handlers, so a card works whichever action
// type a client sends. Card data follows one convention: {"verb": "<verb>", …} in Action.Submit
// data; Action.Execute carries the verb in its own "verb" property.
//
// Every dispatch runs synchronously: an invoke's answer belongs in the HTTP response.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"guestpass/internal/botframework"
)

// Handler handles one turn. A returned error fails the turn: the server releases the activity's
// de-duplication claim so the channel's re-send can run it again.
type Handler func(ctx context.Context, t *Turn) error

// Middleware wraps a Handler; it runs around routing, so it sees every turn.
type Middleware func(Handler) Handler

// ErrUnhandled is returned by Dispatch when no handler matched the activity (and no default is
// set). The server answers such activities with 200 (or 501 for an invoke) and ignores them.
var ErrUnhandled = errors.New("router: no handler for activity")

// Mux routes turns to handlers. Register handlers before serving; a Mux is read-only afterwards
// and then safe for concurrent use.
type Mux struct {
	activities map[string]Handler
	invokes    map[string]Handler
	verbs      map[string]Handler
	commands   map[string]Handler
	fallback   Handler
	middleware []Middleware
	chain      Handler
}

// New returns an empty Mux.
func New() *Mux {
	m := &Mux{
		activities: map[string]Handler{},
		invokes:    map[string]Handler{},
		verbs:      map[string]Handler{},
		commands:   map[string]Handler{},
	}
	m.chain = m.route
	return m
}

// Use appends middleware; the first one added is the outermost.
func (m *Mux) Use(mw ...Middleware) {
	m.middleware = append(m.middleware, mw...)
	h := Handler(m.route)
	for i := len(m.middleware) - 1; i >= 0; i-- {
		h = m.middleware[i](h)
	}
	m.chain = h
}

// HandleActivity routes activities of a type (botframework.TypeMessage, TypeConversationUpdate, …)
// that no more specific handler took.
func (m *Mux) HandleActivity(activityType string, h Handler) { m.activities[activityType] = h }

// HandleInvoke routes invoke activities by name (e.g. botframework.InvokeSigninTokenExchange). An
// adaptiveCard/action whose verb has a handler goes to the verb handler instead.
func (m *Mux) HandleInvoke(name string, h Handler) { m.invokes[name] = h }

// HandleVerb routes Adaptive Card actions by verb: Action.Execute invokes and Action.Submit
// messages whose data carries {"verb": verb}. Verbs are case-sensitive identifiers.
func (m *Mux) HandleVerb(verb string, h Handler) { m.verbs[verb] = h }

// HandleCommand routes text messages whose first word (case-insensitive, optional leading '/',
// bot mention removed) is name. The handler reads the rest with Turn.Args.
func (m *Mux) HandleCommand(name string, h Handler) {
	m.commands[strings.ToLower(strings.TrimPrefix(name, "/"))] = h
}

// CommandHandler returns the handler registered for the command word name, or nil.
func (m *Mux) CommandHandler(name string) Handler {
	return m.commands[strings.ToLower(strings.TrimPrefix(name, "/"))]
}

// HandleDefault sets the handler for turns nothing else matched.
func (m *Mux) HandleDefault(h Handler) { m.fallback = h }

// Dispatch runs the middleware chain and the matched handler for t. It returns ErrUnhandled when
// nothing matched.
func (m *Mux) Dispatch(ctx context.Context, t *Turn) error { return m.chain(ctx, t) }

// Match returns the handler routing would pick for t, or nil.
func (m *Mux) Match(t *Turn) Handler {
	a := t.Activity
	switch string(a.Type) {
	case botframework.TypeInvoke:
		if a.Name == botframework.InvokeAdaptiveCardAction {
			if h := m.verbs[t.Verb()]; h != nil && t.Verb() != "" {
				return h
			}
		}
		if h := m.invokes[a.Name]; h != nil {
			return h
		}
	case botframework.TypeMessage:
		if t.IsSubmit() {
			if h := m.verbs[t.Verb()]; h != nil && t.Verb() != "" {
				return h
			}
		} else if cmd := t.Command(); cmd != "" {
			if h := m.commands[cmd]; h != nil {
				return h
			}
		}
	}
	if h := m.activities[string(a.Type)]; h != nil {
		return h
	}
	return m.fallback
}

func (m *Mux) route(ctx context.Context, t *Turn) error {
	h := m.Match(t)
	if h == nil {
		return ErrUnhandled
	}
	if err := h(ctx, t); err != nil {
		return err
	}
	if err := t.deliverSubmitResponse(ctx); err != nil {
		return fmt.Errorf("deliver the card action's response: %w", err)
	}
	return nil
}

// PanicError is a handler panic turned into an error by Recover.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("router: handler panicked: %v", e.Value) }

// Recover turns a handler panic into a *PanicError, logging the stack, so one bad turn never takes
// the process down and the turn's claim is released like any other failure.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, t *Turn) (err error) {
			defer func() {
				if v := recover(); v != nil {
					pe := &PanicError{Value: v, Stack: debug.Stack()}
					t.Log.ErrorContext(ctx, "handler panicked", "panic", fmt.Sprint(v), "stack", string(pe.Stack))
					err = pe
				}
			}()
			return next(ctx, t)
		}
	}
}

// Logging logs the end of every turn with its route and duration: failures at error level,
// unhandled activities and successes at debug (the server logs one info line per request).
func Logging() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, t *Turn) error {
			start := time.Now()
			err := next(ctx, t)
			level := slog.LevelDebug
			if err != nil && !errors.Is(err, ErrUnhandled) {
				level = slog.LevelError
			}
			if !t.Log.Enabled(ctx, level) {
				return err
			}
			attrs := []slog.Attr{
				slog.String("type", string(t.Activity.Type)),
				slog.Duration("duration", time.Since(start)),
			}
			if t.Activity.Name != "" {
				attrs = append(attrs, slog.String("name", t.Activity.Name))
			}
			if v := t.Verb(); v != "" {
				attrs = append(attrs, slog.String("verb", v))
			} else if c := t.Command(); c != "" {
				attrs = append(attrs, slog.String("command", c))
			}
			switch {
			case err == nil:
				t.Log.LogAttrs(ctx, level, "turn handled", attrs...)
			case errors.Is(err, ErrUnhandled):
				t.Log.LogAttrs(ctx, level, "turn unhandled", attrs...)
			default:
				attrs = append(attrs, slog.String("error", err.Error()))
				t.Log.LogAttrs(ctx, level, "turn failed", attrs...)
			}
			return err
		}
	}
}

type identityKey struct{}

// IdentityContext puts the turn's authenticated identity into the context, so code below the
// handlers that only receives a context (services writing audit entries, Graph calls made on a
// user's behalf) can tell who is acting without trusting any request data.
func IdentityContext() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, t *Turn) error {
			return next(context.WithValue(ctx, identityKey{}, t.Identity), t)
		}
	}
}

// IdentityFrom returns the identity IdentityContext stored in ctx.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
