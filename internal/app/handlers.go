package app

import (
	"context"
	"errors"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/commands"
	"guestpass/internal/router"
)

// featureCommands maps the command actions that conversation features answer to the command word
// each feature registers on the router.
var featureCommands = map[authz.Action]string{
	authz.ActionApprovals:      "approvals",
	authz.ActionScenarios:      "scenarios",
	authz.ActionScenarioShow:   "scenario",
	authz.ActionScenarioNew:    "scenario",
	authz.ActionScenarioEdit:   "scenario",
	authz.ActionScenarioRetire: "scenario",
	authz.ActionInvite:         "invite",
	authz.ActionGuests:         "guests",
	authz.ActionGuestsRemove:   "guests",
}

// registerHandlers routes every feature. The features register their card verbs and command
// words first (onboarding after dialogs: it takes over the dialogs' invite verb). Then the
// command dispatcher takes over every command word, so that parsing, "did you mean", role
// resolution, the authorization table and refusal audits happen in one place for all typed
// commands; it hands each feature action to the handler that feature registered for its word,
// and help lists exactly the commands something answers.
func (a *App) registerHandlers() {
	a.features.dialogs.Register(a.mux)
	a.features.approvals.Register(a.mux)
	a.features.onboarding.Register(a.mux)
	a.features.admin.RegisterVerbs(a.mux)
	for action, word := range featureCommands {
		if h := a.mux.CommandHandler(word); h != nil {
			a.features.dispatcher.Handle(action, forward(h))
		}
	}
	a.features.dispatcher.Register(a.mux)
	a.mux.HandleActivity(botframework.TypeMessage, a.otherMessage)
	a.mux.HandleActivity(botframework.TypeInstallationUpdate, a.installed)
}

// installed greets a conversation the app was just added to. Upgrades ("add-upgrade") and
// removals stay silent: a reinstall should not repeat the introduction.
func (a *App) installed(ctx context.Context, t *router.Turn) error {
	if t.Activity.Action != "add" {
		return nil
	}
	return a.features.dispatcher.Welcome(ctx, t)
}

// otherMessage answers messages nothing else took: typed text goes to the dispatcher (unknown
// words get a "did you mean"); a card submission no feature claims is from an outdated card.
func (a *App) otherMessage(ctx context.Context, t *router.Turn) error {
	if !t.IsSubmit() {
		return a.features.dispatcher.ServeTurn(ctx, t)
	}
	out := botframework.NewText("That card is out of date or no longer supported. Type help to see what I can do.")
	out.TextFormat = "plain"
	_, err := t.Send(ctx, out)
	return err
}

// forward adapts a feature's router handler to the dispatcher. The turn is passed on unchanged:
// the feature reads the command from it and re-checks its own ownership rules.
func forward(h router.Handler) commands.HandlerFunc {
	return func(ctx context.Context, t *router.Turn, _ commands.Command, _ authz.Roles) error {
		return h(ctx, t)
	}
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
