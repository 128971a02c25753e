package dialogs

import (
	"context"
	"errors"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// Progress step labels on the creation card, in the order the service provisions them.
var (
	createLabels = []string{"Catalog", "Resources", "Partner organisations", "Access package", "Assignment policy"}
	updateLabels = []string{"Resources", "Approval and duration"}
)

// initialProgress is the progress card's first state: every part under way (the service does the
// parts in one call), the partner organisations skipped when any external user may request.
func initialProgress(st *wizardState) []cards.ProgressStep {
	labels := createLabels
	if st.editing() {
		labels = updateLabels
	}
	out := make([]cards.ProgressStep, len(labels))
	for i, l := range labels {
		out[i] = cards.ProgressStep{Label: l, State: cards.StepRunning}
		if !st.editing() && i == 2 && st.Draft.AnyExternalUser {
			out[i].State = cards.StepSkipped
		}
	}
	return out
}

// runCreation creates (or, for an edit, saves) the scenario after the card action has been
// answered, updating the progress card in place as each part is ready and finishing with the
// result card or a failure card with Retry. It runs in the background: the turn has ended.
func (d *Dialogs) runCreation(t *router.Turn, key Key, activityID string, st wizardState) {
	defer d.bg.Done()
	ctx, cancel := context.WithTimeout(d.bgCtx, d.timeout)
	defer cancel()
	log := t.Log.With("scenario", st.Draft.Name)

	show := func(card cards.Card) {
		if activityID == "" {
			if _, err := t.SendCard(ctx, card); err != nil {
				log.WarnContext(ctx, "sending the creation card failed", "error", err)
			}
			return
		}
		if err := t.Update(ctx, activityID, botframework.NewCard(card)); err != nil {
			log.WarnContext(ctx, "updating the creation card failed", "error", err)
		}
	}
	owner := key.UserOID
	var (
		final   cards.Card
		outcome = "ok"
		target  = st.Draft.ID
		failErr error
		steps   []cards.ProgressStep
	)
	// The service reports no per-step progress: the card shows every step under way, then the
	// outcome, with the steps that completed (derived from the ids the service returns).
	if st.editing() {
		saved, err := d.svc.UpdateScenario(ctx, st.Draft.ID, st.Draft)
		if err == nil {
			detail, derr := d.detail(ctx, saved, true)
			if derr != nil {
				log.WarnContext(ctx, "loading the saved scenario failed", "error", derr)
				detail = cards.Message("Scenario saved", "Your changes to “"+saved.Name+"” are saved.")
			}
			final = withNotice(detail, "✓ Your changes are saved.")
		} else {
			failErr, steps = err, failedProgress(st.Progress)
		}
	} else {
		draft := st.Draft
		draft.OwnerOID = owner
		created, err := d.svc.CreateScenario(ctx, draft)
		target = created.ID
		if err == nil {
			final = cards.ScenarioCreated(cards.CreatedInput{Scenario: created, MyAccessURL: created.MyAccessLink})
		} else {
			failErr, steps = err, progressOf(created, true)
		}
	}
	if failErr != nil {
		outcome = "failed"
		log.ErrorContext(ctx, "scenario provisioning failed", "error", failErr, "graph_request_id", graphRequestID(failErr))
	}

	// Record the outcome in the dialog, unless the sponsor moved on (cancelled, started another
	// draft): then only the card changes.
	var failCard *cards.Card
	err := d.engine.Transact(ctx, key, func(cur Current) (Change, error) {
		failCard = nil
		if !cur.Found || cur.Expired || cur.Name != cards.DialogScenario {
			return Keep(), nil
		}
		cs, err := decodeState(cur.State)
		if err != nil || cs.Attempt != st.Attempt || cs.Phase != phaseCreating {
			return Keep(), nil
		}
		if failErr == nil {
			return Delete(), nil
		}
		step := cards.StepReview
		if errors.Is(failErr, entitlement.ErrInvalid) {
			// Rejected before any Graph call (for instance the name is taken after all): back to
			// the field, as if the step had rejected it.
			field, msg := validationField(failErr)
			cs.Phase, cs.Failure, cs.Progress = phaseEditing, "", nil
			cs.Values, cs.Errors = nil, map[string]string{field: msg}
			step = stepOfField(field, cs)
		} else {
			cs.Phase, cs.Failure, cs.Progress = phaseFailed, failureMessage(failErr), steps
		}
		card, err := cs.render(step)
		if err != nil {
			return Change{}, err
		}
		raw, err := cs.encode()
		if err != nil {
			return Change{}, err
		}
		failCard = &card
		return Save(cards.DialogScenario, step, raw), nil
	})
	if err != nil {
		log.ErrorContext(ctx, "recording the creation outcome failed", "error", err)
	}
	if failErr != nil {
		if failCard != nil {
			final = *failCard
		} else {
			final = cards.Error("Couldn't create “"+st.Draft.Name+"”", failureMessage(failErr), nil)
		}
	}
	action := "scenario.create"
	if st.editing() {
		action = "scenario.update"
	}
	entry := store.AuditEntry{ActorOID: owner, ActorName: t.Identity.Name, TenantID: st.TenantID, Action: action,
		Target: firstNonEmpty(target, st.Draft.Name), Outcome: outcome, ActivityID: t.Activity.ID, ConversationID: key.ConversationID}
	if failErr != nil {
		entry.Detail = failureMessage(failErr)
		entry.GraphRequestID = graphRequestID(failErr)
	}
	if err := d.store.AppendAudit(context.WithoutCancel(ctx), entry); err != nil {
		log.ErrorContext(ctx, "writing the audit entry failed", "error", err)
	}
	show(final)
}

// failedProgress marks the first step still running as failed and the others not done as
// pending: nothing after the failure ran.
func failedProgress(p []cards.ProgressStep) []cards.ProgressStep {
	out := append([]cards.ProgressStep(nil), p...)
	failed := false
	for i := range out {
		if out[i].State != cards.StepRunning {
			continue
		}
		if failed {
			out[i].State = cards.StepPending
			continue
		}
		out[i].State, failed = cards.StepFailed, true
	}
	return out
}
