package dialogs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"guestpass/internal/authz"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// User-facing texts used in more than one place.
const (
	titleDraft   = "Scenario draft"
	noDraftText  = "That card belongs to a scenario draft that is no longer active: it was finished, cancelled or replaced, or it expired. Type `new scenario` to start again."
	busyText     = "Your draft was changed from somewhere else at the same moment, so I didn't apply your last action. Please try it again."
	useCardText  = "Use the card above to fill in this step, or type `back`, `cancel` or `start over`."
	staleNotice  = "That card was out of date, so I didn't apply it. Here is where your draft is now."
	interrupted  = "Creating the scenario was interrupted. Retry to finish it: the parts that already exist are reused."
	progressBusy = "I'm still creating your scenario. The card updates when it's ready."
)

// expiredText is the message for a draft that timed out.
func (d *Dialogs) expiredText() string {
	return fmt.Sprintf("That scenario draft expired after %s of inactivity — type `new scenario` to start again.", humanDuration(d.engine.TTL()))
}

func humanDuration(dur time.Duration) string {
	switch {
	case dur >= time.Hour && dur%time.Hour == 0:
		if h := int(dur / time.Hour); h != 1 {
			return fmt.Sprintf("%d hours", h)
		}
		return "1 hour"
	case dur >= time.Minute:
		return fmt.Sprintf("%d minutes", int(dur/time.Minute))
	}
	return dur.String()
}

// authorize decides whether the turn's user may perform action here. On refusal it answers the
// user, records the refusal in the audit log and returns ok=false.
func (d *Dialogs) authorize(ctx context.Context, t *router.Turn, in Input, action authz.Action) (authz.Roles, bool, error) {
	id := t.Identity
	if id.AADObjectID == "" || id.TenantID == "" {
		return authz.Roles{}, false, replyMessage(ctx, t, in, "Who are you?", "I can't tell which account you're using here, so I can't manage guest scenarios for you.")
	}
	roles, err := d.roles.Roles(ctx, id.TenantID, id.AADObjectID)
	if err != nil {
		t.Log.WarnContext(ctx, "resolving roles failed", "error", err)
		return authz.Roles{}, false, replyError(ctx, t, in, "I couldn't check your permissions",
			"Checking what you may do failed just now. Please try again in a moment.", nil)
	}
	dec := authz.Decide(roles, action, t.Activity.Conversation.ConversationType)
	if dec.Allowed {
		return roles, true, nil
	}
	if entry, ok := authz.RefusalAudit(authz.Actor{TenantID: id.TenantID, UserOID: id.AADObjectID, UserName: id.Name,
		ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID}, roles, action, dec); ok {
		if err := d.store.AppendAudit(ctx, entry); err != nil {
			t.Log.ErrorContext(ctx, "recording a refusal in the audit log failed", "error", err)
		}
	}
	t.Log.InfoContext(ctx, "action refused", "action", string(action), "code", dec.Code)
	return roles, false, replyMessage(ctx, t, in, "Not allowed", dec.Reason)
}

// start opens the wizard on step with draft, replacing any dialog the user had here.
func (d *Dialogs) start(ctx context.Context, t *router.Turn, in Input, st *wizardState, step string) error {
	st.TenantID = t.Identity.TenantID
	if !st.editing() {
		st.Draft.OwnerOID = t.Identity.AADObjectID
	}
	var card cards.Card
	err := d.engine.Transact(ctx, keyOf(t), func(Current) (Change, error) {
		var err error
		if card, err = st.render(step); err != nil {
			return Change{}, err
		}
		raw, err := st.encode()
		if err != nil {
			return Change{}, err
		}
		return Save(cards.DialogScenario, step, raw), nil
	})
	if errors.Is(err, ErrBusy) {
		return replyMessage(ctx, t, in, titleDraft, busyText)
	}
	if err != nil {
		return err
	}
	_, err = reply(ctx, t, in, card)
	return err
}

// input applies one input (typed, Action.Submit or Action.Execute) to the user's scenario draft
// and answers with the next card.
func (d *Dialogs) input(ctx context.Context, t *router.Turn, in Input) error {
	var res stepResult
	err := d.engine.Transact(ctx, keyOf(t), func(cur Current) (Change, error) {
		res = stepResult{}
		switch {
		case !cur.Found || cur.Name != cards.DialogScenario:
			res.text = noDraftText
			return Keep(), nil
		case cur.Expired:
			res.text = d.expiredText()
			return Delete(), nil
		}
		st, err := decodeState(cur.State)
		if err != nil {
			t.Log.ErrorContext(ctx, "unreadable dialog state; ending the dialog", "error", err)
			res.text = "I couldn't read your scenario draft, so I ended it. Type `new scenario` to start again."
			return Delete(), nil
		}
		return d.apply(ctx, t, cur.Step, st, in, &res)
	})
	if errors.Is(err, ErrBusy) {
		return replyMessage(ctx, t, in, titleDraft, busyText)
	}
	if err != nil {
		return err
	}
	if res.text != "" {
		return replyMessage(ctx, t, in, titleDraft, res.text)
	}
	id, err := reply(ctx, t, in, res.card)
	if err != nil {
		return err
	}
	if res.create {
		d.bg.Add(1)
		go d.runCreation(t, keyOf(t), id, *res.state)
	}
	return nil
}

// apply is the wizard's step function: the same for all three input sources. It must not write
// anything outside the returned Change (Transact may call it again after a lost race); it may
// read (directory searches, the store).
func (d *Dialogs) apply(ctx context.Context, t *router.Turn, step string, st *wizardState, in Input, res *stepResult) (Change, error) {
	save := func(next string) (Change, error) {
		card, err := st.render(next)
		if err != nil {
			return Change{}, err
		}
		raw, err := st.encode()
		if err != nil {
			return Change{}, err
		}
		res.step, res.state, res.card = next, st, card
		return Save(cards.DialogScenario, next, raw), nil
	}

	if in.Source == SourceText {
		var ok bool
		if in, ok = textInput(step, in); !ok || st.Phase != phaseEditing && in.Verb == cards.VerbWizardNext {
			res.text = useCardText
			return Keep(), nil
		}
	} else if in.Value(cards.KeyNonce) != st.Nonce || (in.Value(cards.KeyStep) != step && in.Value(cards.KeyStep) != "") {
		ch, err := save(step)
		res.card = withNotice(res.card, staleNotice)
		return ch, err
	}

	if st.Phase == phaseCreating {
		if d.engine.Now().Sub(st.Since) < creationStale {
			res.card = cards.CreationProgress(st.Draft.Name, st.Progress)
			return Keep(), nil
		}
		st.Phase, st.Failure = phaseFailed, interrupted
	}

	verb := in.Verb
	if st.Phase == phaseFailed {
		switch verb {
		case cards.VerbWizardCancel, cards.VerbWizardRestart, cards.VerbCreateScenario, cards.VerbSaveScenario:
		case cards.VerbWizardBack:
			st.Phase, st.Failure, st.Progress = phaseEditing, "", nil
			return save(cards.StepReview)
		default:
			return save(cards.StepReview)
		}
	}

	switch verb {
	case cards.VerbWizardCancel:
		res.card = cards.Message("Scenario draft cancelled", "Nothing was created. Type `new scenario` to start again.")
		if st.editing() {
			res.card = cards.Message("Edit cancelled", "Your changes were discarded; the scenario is unchanged.")
		}
		return Delete(), nil

	case cards.VerbWizardRestart:
		fresh, err := d.freshState(ctx, st)
		if err != nil {
			res.text = "I couldn't reload the scenario to start over. Please try again in a moment."
			return Keep(), nil
		}
		*st = *fresh
		return save(st.steps()[0])

	case cards.VerbWizardBack:
		prev, ok := st.neighbour(step, -1)
		st.Values, st.Errors, st.Search = nil, nil, nil
		if !ok {
			st.Errors = map[string]string{cards.ErrorKeyForm: "This is the first step. Use Cancel to stop."}
		}
		return save(prev)

	case cards.VerbWizardSearch:
		if step != cards.StepResources {
			return save(step)
		}
		q := strings.TrimSpace(in.Value(cards.InputResourceQuery))
		st.Values, st.Errors = nil, nil
		switch {
		case q == "":
			st.Errors = map[string]string{cards.InputResourceQuery: "Type part of a Team, group, site or app name."}
		case len([]rune(q)) > maxSearchLen:
			st.Errors = map[string]string{cards.InputResourceQuery: fmt.Sprintf("Use at most %d characters.", maxSearchLen)}
		default:
			results, err := d.searchResources(ctx, q)
			if err != nil {
				t.Log.WarnContext(ctx, "resource search failed", "error", err)
				st.Values = map[string]string{cards.InputResourceQuery: q}
				st.Errors = map[string]string{cards.InputResourceQuery: "Searching failed just now. Please try again in a moment."}
				return save(step)
			}
			st.Search = &cards.ResourceSearch{Query: q, Results: results}
		}
		return save(step)

	case cards.VerbWizardAddResources:
		errs := fieldErrors{}
		if step == cards.StepResources {
			addResources(st, in.Value(cards.InputResourcePick), errs)
		}
		st.Values, st.Errors = nil, nil
		if len(errs) > 0 {
			st.Errors = errs
		}
		return save(step)

	case cards.VerbWizardRemoveResource:
		if step == cards.StepResources {
			removeResource(st, in.Value(cards.KeyIndex))
		}
		st.Values, st.Errors = nil, nil
		return save(step)

	case cards.VerbCreateScenario, cards.VerbSaveScenario:
		if step != cards.StepReview || (verb == cards.VerbSaveScenario) != st.editing() {
			return save(step)
		}
		if field, msg, at := d.validateDraft(ctx, st); field != "" {
			st.Phase, st.Failure, st.Progress = phaseEditing, "", nil
			st.Values, st.Errors = nil, map[string]string{field: msg}
			return save(at)
		}
		st.Phase, st.Attempt, st.Since, st.Failure = phaseCreating, newNonce(), d.engine.Now(), ""
		st.Progress = initialProgress(st)
		res.create = true
		return save(step)

	case cards.VerbWizardNext:
		if step == cards.StepReview {
			return save(step)
		}
		draft := cloneScenario(st.Draft)
		errs := fieldErrors{}
		switch step {
		case cards.StepName:
			applyName(&draft, in, errs)
			if _, bad := errs[cards.InputName]; !bad && !st.editing() {
				if taken, err := d.nameTaken(ctx, st.TenantID, draft.Name, draft.OwnerOID); err != nil {
					return Change{}, err
				} else if taken {
					errs.add(cards.InputName, "You or someone else already has a scenario with this name. Choose another name.")
				}
			}
		case cards.StepPartners:
			applyPartners(&draft, in, errs)
		case cards.StepResources:
			if len(draft.Resources) == 0 {
				errs.add(cards.InputResourcePick, "Add at least one resource: search, pick, then Add selected.")
			}
		case cards.StepApproval:
			applyApproval(ctx, &draft, in, errs, st.NeedsSecondStage, d.resolve)
		case cards.StepDuration:
			applyDuration(&draft, in, errs)
		case cards.StepQuestions:
			applyQuestions(&draft, in, errs)
		}
		if len(errs) > 0 {
			st.Values, st.Errors = in.Data, errs
			return save(step)
		}
		st.Draft, st.Values, st.Errors, st.Search = draft, nil, nil, nil
		next, _ := st.neighbour(step, 1)
		return save(next)
	}
	// An unknown verb on a current card: show the step again rather than guess.
	return save(step)
}

// freshState is the state "start over" returns to: the stored scenario for an edit, else the
// template's or the blank defaults.
func (d *Dialogs) freshState(ctx context.Context, st *wizardState) (*wizardState, error) {
	fresh := &wizardState{TenantID: st.TenantID}
	if st.editing() {
		s, err := d.svc.LoadScenario(ctx, st.Draft.ID)
		if err != nil {
			return nil, err
		}
		fresh.Draft = s
		return fresh, nil
	}
	fresh.Draft = blankDraft()
	if tpl, ok := TemplateByID(st.Draft.Template); ok {
		fresh.Draft, fresh.NeedsSecondStage = tpl.Draft, tpl.NeedsSecondStage
	}
	fresh.Draft.OwnerOID = st.Draft.OwnerOID
	return fresh, nil
}

// validateDraft re-checks the whole draft before anything reaches Graph: each step's rules (the
// draft may come from a template or an older version of the wizard), the name's uniqueness, and
// the service's own validation. It returns the first problem's field, message and step.
func (d *Dialogs) validateDraft(ctx context.Context, st *wizardState) (field, msg, step string) {
	draft := cloneScenario(st.Draft)
	none := Input{Data: map[string]string{}}
	checks := []struct {
		step string
		run  func(errs fieldErrors)
	}{
		{cards.StepName, func(errs fieldErrors) { applyName(&draft, none, errs) }},
		{cards.StepPartners, func(errs fieldErrors) { applyPartners(&draft, none, errs) }},
		{cards.StepResources, func(errs fieldErrors) {
			if len(draft.Resources) == 0 {
				errs.add(cards.InputResourcePick, "Add at least one resource.")
			}
		}},
		{cards.StepApproval, func(errs fieldErrors) {
			applyApproval(ctx, &draft, none, errs, st.NeedsSecondStage, d.resolve)
		}},
		{cards.StepDuration, func(errs fieldErrors) { applyDuration(&draft, none, errs) }},
		{cards.StepQuestions, func(errs fieldErrors) { applyQuestions(&draft, none, errs) }},
	}
	for _, c := range checks {
		if st.editing() && (c.step == cards.StepName || c.step == cards.StepPartners || c.step == cards.StepQuestions) {
			continue
		}
		errs := fieldErrors{}
		c.run(errs)
		for f, m := range errs {
			return f, m, c.step
		}
	}
	if !st.editing() {
		taken, err := d.nameTaken(ctx, st.TenantID, draft.Name, draft.OwnerOID)
		if err != nil {
			return cards.ErrorKeyForm, "I couldn't check the scenario name just now. Please try again.", cards.StepReview
		}
		if taken {
			return cards.InputName, "You or someone else already has a scenario with this name. Choose another name.", cards.StepName
		}
	}
	if f, m := d.serviceValidate(st.Draft, ""); f != "" {
		return f, m, stepOfField(f, st)
	}
	return "", "", ""
}

// stepOfField is the wizard step that shows field.
func stepOfField(field string, st *wizardState) string {
	switch field {
	case cards.InputName, cards.InputDescription:
		return cards.StepName
	case cards.InputPartnerDomains, cards.InputAnyExternalUser:
		return cards.StepPartners
	case cards.InputResourcePick, cards.InputResourceQuery:
		return cards.StepResources
	case cards.InputDurationDays, cards.InputAllowExtension, cards.InputAllowB2B:
		return cards.StepDuration
	case cards.InputApprovalRequired, cards.InputSponsorApproves, cards.InputStage1Approvers, cards.InputStage2Approvers,
		cards.InputStage3Approvers, cards.InputRequestorJustification, cards.InputApproverJustification, cards.InputAutoDenyDays:
		return cards.StepApproval
	}
	if strings.HasPrefix(field, "question") && !st.editing() {
		return cards.StepQuestions
	}
	return cards.StepReview
}

// nameTaken reports whether a scenario of the tenant already has name (case-insensitive). The
// owner's own scenario whose creation failed or was interrupted does not count: creating it again
// resumes it (creation is idempotent by name).
func (d *Dialogs) nameTaken(ctx context.Context, tenantID, name, ownerOID string) (bool, error) {
	rec, err := d.store.ScenarioByName(ctx, tenantID, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dialogs: look up scenario name: %w", err)
	}
	resumable := rec.State == store.ScenarioProvisioning || rec.State == store.ScenarioFailed
	return !(resumable && rec.OwnerOID == ownerOID), nil
}

// cloneScenario deep-copies a scenario so a rejected submission leaves the draft untouched.
func cloneScenario(s entitlement.Scenario) entitlement.Scenario {
	b, err := json.Marshal(s)
	if err != nil {
		return s
	}
	var out entitlement.Scenario
	if json.Unmarshal(b, &out) != nil {
		return s
	}
	return out
}
