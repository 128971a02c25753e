package dialogs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// listPageSize is how many scenarios one page of `scenarios` shows.
// Each row costs Graph calls for its counts, so pages are short.
const listPageSize = 5

// mayManage reports whether the user owns or co-owns the scenario, or is an admin.
func mayManage(roles authz.Roles, userOID string, s entitlement.Scenario) bool {
	if roles.Guest {
		return false
	}
	return roles.Admin || s.OwnerOID == userOID || slices.Contains(s.CoOwnerOIDs, userOID)
}

// onCommand runs the text commands `scenarios`, `scenario show|new|edit|retire` and `new scenario`.
func (d *Dialogs) onCommand(ctx context.Context, t *router.Turn) error {
	in := inputOf(t)
	cmd, err := commands.Parse(router.CommandText(t.Activity))
	if err != nil {
		var ue *commands.UsageError
		if errors.As(err, &ue) {
			text := ue.Error()
			if ue.Usage != "" {
				text += "\nUsage: " + ue.Usage
			}
			return replyMessage(ctx, t, in, "I didn't understand that", text)
		}
		return replyMessage(ctx, t, in, "I didn't understand that", "Type `help` to see what I can do.")
	}
	switch cmd.Path() {
	case "scenarios":
		return d.list(ctx, t, in, 1, cmd.Bool("retired"))
	case "scenario show":
		return d.showByName(ctx, t, in, cmd.Arg("name"))
	case "scenario new":
		return d.newScenario(ctx, t, in, cmd.Flag("template"), cmd.Arg("name"), cmd.Has("template") || cmd.Arg("name") != "")
	case "scenario edit":
		return d.byName(ctx, t, in, cmd.Arg("name"), authz.ActionScenarioEdit, d.edit)
	case "scenario retire":
		return d.byName(ctx, t, in, cmd.Arg("name"), authz.ActionScenarioRetire, d.retireConfirm)
	}
	return router.ErrUnhandled
}

// newScenario starts the wizard: the template picker when nothing was said about how to start,
// else a blank or template draft (with the name, when given, pre-filled on the first step).
func (d *Dialogs) newScenario(ctx context.Context, t *router.Turn, in Input, templateID, name string, direct bool) error {
	if _, ok, err := d.authorize(ctx, t, in, authz.ActionScenarioNew); !ok || err != nil {
		return err
	}
	if !direct {
		_, err := reply(ctx, t, in, cards.Templates(templateOptions()))
		return err
	}
	st := &wizardState{Draft: blankDraft()}
	if templateID != "" {
		tpl, ok := TemplateByID(templateID)
		if !ok {
			ids := make([]string, 0, 3)
			for _, x := range Templates() {
				ids = append(ids, "`"+x.ID+"`")
			}
			return replyMessage(ctx, t, in, "Unknown template", fmt.Sprintf("There is no template %q. Templates: %s.", clipText(templateID, 40), strings.Join(ids, ", ")))
		}
		st.Draft, st.NeedsSecondStage = tpl.Draft, tpl.NeedsSecondStage
	}
	if name != "" {
		st.Values = map[string]string{cards.InputName: name}
	}
	return d.start(ctx, t, in, st, cards.StepName)
}

// onVerb handles the scenario card actions.
func (d *Dialogs) onVerb(ctx context.Context, t *router.Turn) error {
	in := inputOf(t)
	switch in.Verb {
	case cards.VerbNewScenario:
		return d.newScenario(ctx, t, in, "", "", true)
	case cards.VerbWizardTemplate:
		return d.newScenario(ctx, t, in, in.Value(cards.KeyTemplate), "", true)
	case cards.VerbScenarioList:
		page, _ := strconv.Atoi(in.Value(cards.KeyPage))
		return d.list(ctx, t, in, max(page, 1), false)
	case cards.VerbScenarioShow:
		return d.byID(ctx, t, in, in.Value(cards.KeyScenarioID), authz.ActionScenarioShow, d.show)
	case cards.VerbScenarioEdit:
		return d.byID(ctx, t, in, in.Value(cards.KeyScenarioID), authz.ActionScenarioEdit, d.edit)
	case cards.VerbScenarioRetire:
		return d.byID(ctx, t, in, in.Value(cards.KeyScenarioID), authz.ActionScenarioRetire, d.retireConfirm)
	case cards.VerbRetireConfirm:
		return d.byID(ctx, t, in, in.Value(cards.KeyScenarioID), authz.ActionScenarioRetire, d.retire)
	case cards.VerbInviteGuests:
		return replyMessage(ctx, t, in, "Inviting guests",
			"Sending invitations from the bot is coming in a later version. For now, share the scenario's My Access link with your guests: they sign in with their own account and request access.")
	}
	return d.onWizardVerb(ctx, t, in)
}

// onWizardVerb routes wizard.* and create/save clicks to the dialog named in the card's data.
func (d *Dialogs) onWizardVerb(ctx context.Context, t *router.Turn, in Input) error {
	if dlg := in.Value(cards.KeyDialog); dlg != "" && dlg != cards.DialogScenario {
		return replyMessage(ctx, t, in, "Not available", "That card belongs to a feature this version of the bot doesn't offer yet.")
	}
	if in.Verb == cards.VerbCreateScenario || in.Verb == cards.VerbSaveScenario {
		// Roles may have changed since the draft started (a sponsor removed from the group).
		action := authz.ActionScenarioNew
		if in.Verb == cards.VerbSaveScenario {
			action = authz.ActionScenarioEdit
		}
		if _, ok, err := d.authorize(ctx, t, in, action); !ok || err != nil {
			return err
		}
	}
	if t.Identity.AADObjectID == "" {
		return replyMessage(ctx, t, in, "Who are you?", "I can't tell which account you're using here.")
	}
	return d.input(ctx, t, in)
}

// textMiddleware feeds typed messages to the user's scenario draft. Text that parses as a command
// still runs the command (so `scenario show X` works mid-draft); anything else goes to the draft's
// current step when the user has one here.
func (d *Dialogs) textMiddleware(next router.Handler) router.Handler {
	return func(ctx context.Context, t *router.Turn) error {
		if string(t.Activity.Type) != botframework.TypeMessage || t.IsSubmit() || t.Identity.AADObjectID == "" {
			return next(ctx, t)
		}
		text := router.CommandText(t.Activity)
		if text == "" {
			return next(ctx, t)
		}
		if _, err := commands.Parse(text); err == nil {
			return next(ctx, t)
		}
		cur, err := d.engine.Load(ctx, keyOf(t))
		if err != nil {
			return err
		}
		if !cur.Found || cur.Name != cards.DialogScenario {
			if controlVerb(text) == cards.VerbWizardCancel {
				return replyMessage(ctx, t, inputOf(t), titleDraft, "There's no scenario draft to cancel.")
			}
			return next(ctx, t)
		}
		return d.input(ctx, t, inputOf(t))
	}
}

// list answers with a page of the scenarios the user owns or co-owns (admins too: the list is
// "my scenarios"; an admin opens another sponsor's by name).
func (d *Dialogs) list(ctx context.Context, t *router.Turn, in Input, page int, retired bool) error {
	if _, ok, err := d.authorize(ctx, t, in, authz.ActionScenarios); !ok || err != nil {
		return err
	}
	recs, err := d.store.ListScenarios(ctx, store.ScenarioQuery{TenantID: t.Identity.TenantID, OwnerOID: t.Identity.AADObjectID, IncludeRetired: retired})
	if err != nil {
		return fmt.Errorf("dialogs: list scenarios: %w", err)
	}
	start := min((page-1)*listPageSize, len(recs))
	end := min(start+listPageSize, len(recs))
	li := cards.ScenarioListInput{Page: page, HasNext: end < len(recs)}
	for _, r := range recs[start:end] {
		row := cards.ScenarioSummary{ID: r.ID, Name: r.Name, Retired: r.State == store.ScenarioRetired}
		if det, err := d.svc.GetScenario(ctx, r.ID); err == nil {
			row.Pending, row.Active = det.PendingRequests, det.ActiveAssignments
		} else {
			// The list stays useful without counts; the detail card retries them.
			t.Log.WarnContext(ctx, "counting a scenario's guests failed", "scenario_id", r.ID, "error", err)
		}
		li.Scenarios = append(li.Scenarios, row)
	}
	_, err = reply(ctx, t, in, cards.ScenarioList(li))
	return err
}

type scenarioAction func(ctx context.Context, t *router.Turn, in Input, roles authz.Roles, s entitlement.Scenario) error

// byName finds a scenario of the user's tenant by name and runs fn on it when the user may.
func (d *Dialogs) byName(ctx context.Context, t *router.Turn, in Input, name string, action authz.Action, fn scenarioAction) error {
	roles, ok, err := d.authorize(ctx, t, in, action)
	if !ok || err != nil {
		return err
	}
	rec, err := d.store.ScenarioByName(ctx, t.Identity.TenantID, name)
	if errors.Is(err, store.ErrNotFound) {
		return replyMessage(ctx, t, in, "Scenario not found", fmt.Sprintf("There is no scenario named “%s”. Type `scenarios` to see yours.", clipText(name, 80)))
	}
	if err != nil {
		return fmt.Errorf("dialogs: find scenario by name: %w", err)
	}
	return d.withScenario(ctx, t, in, rec.ID, roles, fn)
}

// byID is byName for card actions, which carry the scenario id.
func (d *Dialogs) byID(ctx context.Context, t *router.Turn, in Input, id string, action authz.Action, fn scenarioAction) error {
	roles, ok, err := d.authorize(ctx, t, in, action)
	if !ok || err != nil {
		return err
	}
	return d.withScenario(ctx, t, in, id, roles, fn)
}

func (d *Dialogs) withScenario(ctx context.Context, t *router.Turn, in Input, id string, roles authz.Roles, fn scenarioAction) error {
	if id == "" || len(id) > 200 {
		return replyMessage(ctx, t, in, "Scenario not found", "That card doesn't name a scenario I know. Type `scenarios` to see yours.")
	}
	s, err := d.svc.LoadScenario(ctx, id)
	if errors.Is(err, entitlement.ErrNotFound) {
		return replyMessage(ctx, t, in, "Scenario not found", "That scenario no longer exists. Type `scenarios` to see yours.")
	}
	if err != nil {
		t.Log.WarnContext(ctx, "loading a scenario failed", "error", err)
		return replyError(ctx, t, in, "I couldn't load the scenario", failureMessage(err), nil)
	}
	if !mayManage(roles, t.Identity.AADObjectID, s) {
		return replyMessage(ctx, t, in, "Not your scenario", "Only the scenario's owners and guestpass admins can see and change it.")
	}
	return fn(ctx, t, in, roles, s)
}

func (d *Dialogs) showByName(ctx context.Context, t *router.Turn, in Input, name string) error {
	return d.byName(ctx, t, in, name, authz.ActionScenarioShow, d.show)
}

func (d *Dialogs) show(ctx context.Context, t *router.Turn, in Input, roles authz.Roles, s entitlement.Scenario) error {
	card, err := d.detail(ctx, s, mayManage(roles, t.Identity.AADObjectID, s))
	if err != nil {
		return err
	}
	_, err = reply(ctx, t, in, card)
	return err
}

// detail builds a scenario's detail card with its live counts from Graph.
func (d *Dialogs) detail(ctx context.Context, s entitlement.Scenario, canManage bool) (cards.Card, error) {
	det, err := d.svc.GetScenario(ctx, s.ID)
	if err != nil {
		return cards.Card{}, fmt.Errorf("dialogs: scenario details: %w", err)
	}
	return cards.ScenarioDetail(cards.DetailInput{Scenario: det.Scenario, MyAccessURL: det.MyAccessLink,
		Pending: det.PendingRequests, Active: det.ActiveAssignments, Retired: det.State == entitlement.StateRetired,
		CanManage: canManage}), nil
}

// edit opens the wizard on an existing scenario.
func (d *Dialogs) edit(ctx context.Context, t *router.Turn, in Input, _ authz.Roles, s entitlement.Scenario) error {
	if s.State == entitlement.StateRetired {
		return replyMessage(ctx, t, in, "Scenario retired", "A retired scenario can't be edited.")
	}
	if s.AccessPackageID == "" || s.PolicyID == "" {
		return replyMessage(ctx, t, in, "Scenario not ready", "“"+s.Name+"” was not fully created yet. Start `new scenario` with the same name to finish creating it, then edit it.")
	}
	st := &wizardState{Draft: cloneScenario(s)}
	return d.start(ctx, t, in, st, st.steps()[0])
}

func (d *Dialogs) retireConfirm(ctx context.Context, t *router.Turn, in Input, _ authz.Roles, s entitlement.Scenario) error {
	if s.State == entitlement.StateRetired {
		return replyMessage(ctx, t, in, "Already retired", "“"+s.Name+"” is already retired.")
	}
	_, err := reply(ctx, t, in, cards.RetireConfirm(s))
	return err
}

func (d *Dialogs) retire(ctx context.Context, t *router.Turn, in Input, roles authz.Roles, s entitlement.Scenario) error {
	entry := store.AuditEntry{ActorOID: t.Identity.AADObjectID, ActorName: t.Identity.Name, TenantID: t.Identity.TenantID,
		Action: "scenario.retire", Target: s.ID, Outcome: "ok", ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID}
	retired, err := d.svc.RetireScenario(ctx, s.ID)
	if err != nil {
		entry.Outcome, entry.Detail, entry.GraphRequestID = "failed", failureMessage(err), graphRequestID(err)
	}
	if aerr := d.store.AppendAudit(ctx, entry); aerr != nil {
		t.Log.ErrorContext(ctx, "writing the audit entry failed", "error", aerr)
	}
	if err != nil {
		t.Log.ErrorContext(ctx, "retiring a scenario failed", "error", err)
		return replyError(ctx, t, in, "Couldn't retire “"+s.Name+"”", failureMessage(err),
			cards.Data{cards.KeyVerb: cards.VerbRetireConfirm, cards.KeyScenarioID: s.ID})
	}
	card, err := d.detail(ctx, retired, mayManage(roles, t.Identity.AADObjectID, retired))
	if err != nil {
		return err
	}
	_, err = reply(ctx, t, in, withNotice(card, "✓ Retired. No new requests are accepted; guests who have access keep it until it ends."))
	return err
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
