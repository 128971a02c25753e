package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// HandlerFunc runs one authorized command. roles are the sender's resolved roles (the dispatcher
// has already checked them against the authorization table for cmd's action and the conversation).
type HandlerFunc func(ctx context.Context, t *router.Turn, cmd Command, roles authz.Roles) error

// RoleResolver resolves a user's roles; *authz.Resolver implements it.
type RoleResolver interface {
	Roles(ctx context.Context, tenantID, userOID string) (authz.Roles, error)
}

// AuditLog records refusals; store.Store implements it.
type AuditLog interface {
	AppendAudit(ctx context.Context, e store.AuditEntry) error
}

// DispatcherOptions configure NewDispatcher.
type DispatcherOptions struct {
	// Resolver resolves the sender's roles (required).
	Resolver RoleResolver
	// Audit receives refusals (required: a refusal that is not recorded is not explicit).
	Audit AuditLog
	// Logger is used when a turn carries no logger of its own; it defaults to slog.Default().
	Logger *slog.Logger
}

// Dispatcher is the one entry point for typed commands: it parses the text, resolves the sender's
// roles, applies the authorization table and runs the handler a feature registered for the
// command's action. Keeping this in one place means no feature can forget the authorization check
// or the personal-chat rule. Register handlers before serving; afterwards it is safe for
// concurrent use.
type Dispatcher struct {
	resolver RoleResolver
	audit    AuditLog
	log      *slog.Logger

	mu       sync.RWMutex
	handlers map[authz.Action]HandlerFunc
}

// NewDispatcher returns a Dispatcher with only the built-in `help`.
func NewDispatcher(o DispatcherOptions) (*Dispatcher, error) {
	if o.Resolver == nil {
		return nil, errors.New("commands: NewDispatcher: a role resolver is required")
	}
	if o.Audit == nil {
		return nil, errors.New("commands: NewDispatcher: an audit log is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Dispatcher{resolver: o.Resolver, audit: o.Audit, log: o.Logger, handlers: map[authz.Action]HandlerFunc{}}, nil
}

// Handle registers h for the command whose spec names action. It panics when action is not a
// text command or is `help` (built in), like http.ServeMux does on a bad pattern: both are
// programming errors found at start-up.
func (d *Dispatcher) Handle(action authz.Action, h HandlerFunc) {
	if _, ok := ForAction(action); !ok || action == authz.ActionHelp || h == nil {
		panic(fmt.Sprintf("commands: Handle: %q is not a command that takes a handler", action))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.handlers[action] = h
}

func (d *Dispatcher) handler(action authz.Action) HandlerFunc {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.handlers[action]
}

// Register makes the dispatcher the handler of typed commands on mux: every command word of the
// registry, and every other text message (so an unknown word gets a "did you mean"). Call it
// after the features have registered their card verbs; commands are registered with Handle.
func (d *Dispatcher) Register(mux *router.Mux) {
	seen := map[string]bool{}
	for p := range phrases {
		w, _, _ := strings.Cut(p, " ")
		if !seen[w] {
			seen[w] = true
			mux.HandleCommand(w, d.ServeTurn)
		}
	}
	mux.HandleActivity(botframework.TypeMessage, d.ServeTurn)
}

// ServeTurn is the router.Handler for a text message. Card submissions (a value and no text) are
// not commands and yield router.ErrUnhandled.
func (d *Dispatcher) ServeTurn(ctx context.Context, t *router.Turn) error {
	if t.IsSubmit() {
		return router.ErrUnhandled
	}
	cmd, err := Parse(router.CommandText(t.Activity))
	var ue *UsageError
	switch {
	case errors.Is(err, ErrEmpty):
		return d.say(ctx, t, "Type help to see what I can do.")
	case errors.As(err, &ue):
		text := ue.Error()
		if ue.Usage != "" {
			text += "\nUsage: " + ue.Usage
		}
		return d.say(ctx, t, text)
	case err != nil:
		return fmt.Errorf("commands: parse: %w", err)
	}
	return d.Run(ctx, t, cmd)
}

// Run authorizes and runs a parsed command for the sender of t: it resolves their roles (from the
// authenticated activity, never from card data), applies the authorization table for cmd's
// action in t's conversation, audits a refusal, answers `help` itself and otherwise runs the
// handler registered for the action. ServeTurn calls it after parsing; a card action that runs a
// command again (such as an admin list's Next button) calls it too, so a click cannot take a
// path around the table. On a card action (an Action.Execute invoke or an Action.Submit) the
// dispatcher's own answers — refusals, "not available", help — become the click's response
// rather than new messages.
func (d *Dispatcher) Run(ctx context.Context, t *router.Turn, cmd Command) error {
	action := cmd.Action()
	roles, ok, err := d.authorize(ctx, t, action, cmd.Path())
	if !ok {
		return err
	}
	if action == authz.ActionHelp {
		return d.help(ctx, t, cmd, roles)
	}
	h := d.handler(action)
	if h == nil {
		return d.answer(ctx, t, "Not available", fmt.Sprintf("`%s` is not available in this deployment of guestpass.", cmd.Path()))
	}
	if err := h(ctx, t, cmd, roles); err != nil {
		return fmt.Errorf("commands: %s: %w", action, err)
	}
	return nil
}

// Authorize applies the authorization table for action to the sender of t in t's conversation,
// exactly as Run does for a command: it resolves the sender's roles, and answers and audits a
// refusal. ok reports that the action may go ahead, with the sender's roles; when it is false
// the turn has been answered and err reports only a failure to answer. It is for card actions
// that are not commands but belong to one (a confirmation of `orgs add`, say).
func (d *Dispatcher) Authorize(ctx context.Context, t *router.Turn, action authz.Action) (roles authz.Roles, ok bool, err error) {
	name := string(action)
	if s, found := ForAction(action); found {
		name = s.Path()
	}
	return d.authorize(ctx, t, action, name)
}

// authorize is Authorize; name is how the refusal for a failed role look-up names the command.
func (d *Dispatcher) authorize(ctx context.Context, t *router.Turn, action authz.Action, name string) (authz.Roles, bool, error) {
	log := t.Log
	if log == nil {
		log = d.log
	}
	log = log.With("command", string(action), "user_oid", t.Identity.AADObjectID, "tenant_id", t.Identity.TenantID)
	roles, rerr := d.resolver.Roles(ctx, t.Identity.TenantID, t.Identity.AADObjectID)
	if rerr != nil {
		// Fail closed: zero roles. Help stays useful (it shows what everyone may run); anything
		// else is refused with the reason, not with a misleading "only admins can".
		log.WarnContext(ctx, "resolving roles failed", "error", rerr)
		if action != authz.ActionHelp {
			return authz.Roles{}, false, d.answer(ctx, t, "I couldn't check your permissions",
				fmt.Sprintf("I couldn't check your permissions just now, so I can't run `%s`. Please try again in a moment.", name))
		}
		roles = authz.Roles{}
	}
	decision := authz.Decide(roles, action, t.Activity.Conversation.ConversationType)
	if decision.Allowed {
		return roles, true, nil
	}
	log.InfoContext(ctx, "command refused", "code", decision.Code, "roles", roles.String(), "click", isClick(t))
	if entry, ok := authz.RefusalAudit(authz.Actor{
		TenantID: t.Identity.TenantID, UserOID: t.Identity.AADObjectID, UserName: t.Identity.Name,
		ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID,
	}, roles, action, decision); ok {
		if err := d.audit.AppendAudit(ctx, entry); err != nil {
			// The refusal stands whether or not it was recorded; a lost audit entry is an
			// operational problem, reported at error level.
			log.ErrorContext(ctx, "recording a refusal in the audit log failed", "error", err)
		}
	}
	return roles, false, d.answer(ctx, t, "Not allowed", decision.Reason)
}

// Welcome greets the people of a conversation the app was just installed in with the help card
// for the installer's roles, so nobody starts from an empty chat. Role resolution failing only
// narrows the list to what everyone may run.
func (d *Dispatcher) Welcome(ctx context.Context, t *router.Turn) error {
	roles, err := d.resolver.Roles(ctx, t.Identity.TenantID, t.Identity.AADObjectID)
	if err != nil {
		d.log.WarnContext(ctx, "resolving roles for the welcome failed", "error", err)
		roles = authz.Roles{}
	}
	_, err = t.SendCard(ctx, cards.Help(d.helpInput(Visible(roles), roles, true)))
	return err
}

// help answers `help` and `help <command>` with the commands the sender may run and this
// deployment answers, so help never advertises a command that would only earn "not available".
func (d *Dispatcher) help(ctx context.Context, t *router.Turn, cmd Command, roles authz.Roles) error {
	specs := Visible(roles)
	if topic := cmd.Arg("command"); topic != "" {
		about, err := HelpTopic(topic)
		var ue *UsageError
		if errors.As(err, &ue) {
			return d.answer(ctx, t, "Unknown command", ue.Error())
		} else if err != nil {
			return err
		}
		specs = slices.DeleteFunc(about, func(s Spec) bool { return !authz.Allowed(roles, s.Action) })
	}
	return d.answerCard(ctx, t, cards.Help(d.helpInput(specs, roles, false)))
}

// helpInput lists the specs this deployment answers.
func (d *Dispatcher) helpInput(specs []Spec, roles authz.Roles, welcome bool) cards.HelpInput {
	in := cards.HelpInput{IsAdmin: roles.Admin && !roles.Guest, Welcome: welcome}
	for _, s := range specs {
		if s.Action == authz.ActionHelp || d.handler(s.Action) != nil {
			in.Commands = append(in.Commands, cards.Command{Name: s.Path(), Usage: s.Usage(), Description: s.Summary})
		}
	}
	return in
}

// isClick reports a card action (an Action.Execute invoke or an Action.Submit) rather than
// typed text.
func isClick(t *router.Turn) bool {
	return string(t.Activity.Type) == botframework.TypeInvoke || t.IsSubmit()
}

// answer replies with text: plain text to a typed command, a message card titled title as the
// response to a card action (which replaces the clicked card).
func (d *Dispatcher) answer(ctx context.Context, t *router.Turn, title, text string) error {
	if isClick(t) {
		return d.answerCard(ctx, t, cards.Message(title, text))
	}
	return d.say(ctx, t, text)
}

// answerCard replies with a card: a new message for a typed command, the response to a card
// action.
func (d *Dispatcher) answerCard(ctx context.Context, t *router.Turn, card cards.Card) error {
	if isClick(t) {
		return t.Respond(botframework.CardResponse(card))
	}
	if _, err := t.SendCard(ctx, card); err != nil {
		return fmt.Errorf("commands: reply: %w", err)
	}
	return nil
}

// say sends text as plain text: it may echo what the user typed, which must not render as
// markdown or mentions.
func (d *Dispatcher) say(ctx context.Context, t *router.Turn, text string) error {
	out := botframework.NewText(text)
	out.TextFormat = "plain"
	if _, err := t.Send(ctx, out); err != nil {
		return fmt.Errorf("commands: reply: %w", err)
	}
	return nil
}
