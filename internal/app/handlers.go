package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/router"
)

// wiredCommands are the command words some registered feature answers. Help lists only these,
// so it never advertises a command the bot would answer with "I don't know".
var wiredCommands = map[string]bool{
	"help": true, "scenarios": true, "scenario": true, // help here; the rest: dialogs
	"invite": true, "guests": true, // onboarding
}

// registerHandlers routes every feature. Order matters: onboarding takes over the dialogs'
// invite verb, so it registers after them.
func (a *App) registerHandlers() {
	a.mux.HandleCommand("help", a.help)
	a.features.dialogs.Register(a.mux)
	a.features.approvals.Register(a.mux)
	a.features.onboarding.Register(a.mux)
	a.mux.HandleActivity(botframework.TypeMessage, a.unknownMessage)
}

// help answers with the help card listing the commands the sender may run (a card only: an
// activity never mixes text and a card).
func (a *App) help(ctx context.Context, t *router.Turn) error {
	roles, err := a.features.roles.Roles(ctx, t.Identity.TenantID, t.Identity.AADObjectID)
	if err != nil {
		// Help is harmless: show what everyone may run rather than failing the turn.
		t.Log.Warn("resolving roles for help failed; showing the commands everyone may run", "error", err)
		roles = authz.Roles{}
	}
	specs := commands.Visible(roles)
	if topic := t.Args(); topic != "" {
		// `help <command>`: the same card, narrowed to that command (or a command word's
		// sub-commands) among those the user may run.
		about, err := commands.HelpTopic(topic)
		if err != nil {
			return a.usage(ctx, t, err)
		}
		specs = slices.DeleteFunc(about, func(s commands.Spec) bool { return !authz.Allowed(roles, s.Action) })
	}
	in := cards.HelpInput{IsAdmin: roles.Admin && !roles.Guest}
	for _, s := range specs {
		if wiredCommands[s.Name] {
			in.Commands = append(in.Commands, cards.Command{Name: s.Path(), Usage: s.Usage(), Description: s.Summary})
		}
	}
	if len(in.Commands) == 0 {
		return a.plain(ctx, t, "You can't use that command here. Type help to see what I can do.")
	}
	_, err = t.SendCard(ctx, cards.Help(in))
	return err
}

// usage answers a command the parser refused with its explanation and suggestion.
func (a *App) usage(ctx context.Context, t *router.Turn, err error) error {
	var ue *commands.UsageError
	if !errors.As(err, &ue) {
		return err
	}
	text := ue.Error()
	if ue.Usage != "" {
		text += "\nUsage: " + ue.Usage
	}
	return a.plain(ctx, t, text)
}

// plain sends text that must not render as markdown (it may echo user input).
func (a *App) plain(ctx context.Context, t *router.Turn, text string) error {
	out := botframework.NewText(text)
	out.TextFormat = "plain"
	_, err := t.Send(ctx, out)
	return err
}

// maxEcho bounds how much of an unknown command is repeated back.
const maxEcho = 40

// unknownMessage answers messages no command or card action took.
func (a *App) unknownMessage(ctx context.Context, t *router.Turn) error {
	var text string
	switch {
	case t.IsSubmit():
		text = "That card is out of date or no longer supported. Type help to see what I can do."
	case t.Command() == "":
		text = "I only understand typed commands. Type help to see what I can do."
	default:
		word := t.Command()
		if utf8.RuneCountInString(word) > maxEcho {
			word = string([]rune(word)[:maxEcho]) + "…"
		}
		text = fmt.Sprintf("I don't know the command %q. Type help to see what I can do.", word)
	}
	return a.plain(ctx, t, text)
}

// reportFailures tells the user when a message turn failed unexpectedly, so a bug or outage is
// not met with silence. Invokes answer in their HTTP response instead.
func reportFailures(next router.Handler) router.Handler {
	return func(ctx context.Context, t *router.Turn) error {
		err := next(ctx, t)
		if err == nil || errors.Is(err, router.ErrUnhandled) || string(t.Activity.Type) != botframework.TypeMessage {
			return err
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, serr := t.SendText(sctx, "Sorry, something went wrong on my side. Please try again in a moment."); serr != nil {
			t.Log.Warn("telling the user about a failed turn failed", "error", serr)
		}
		return err
	}
}
