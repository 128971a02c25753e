package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/store"
)

// Poll runs one detection pass: new pending requests get their first-stage cards, requests that
// left the pending list are finalised, and reminders and escalations fall due. Only the lease
// holder should call it (Run does); it is idempotent, so an overlap during a lease hand-over
// produces no duplicates.
func (a *Approvals) Poll(ctx context.Context) error {
	var pending []entitlement.Request
	err := a.d.Entitlement.PendingRequests(ctx, func(r entitlement.Request) error {
		pending = append(pending, r)
		return nil
	})
	if err != nil {
		return errorf("list pending requests: %w", err)
	}
	open, err := a.loadOpen(ctx)
	if err != nil {
		return errorf("load open requests: %w", err)
	}
	pass := &pollPass{approvers: map[string][]entitlement.Person{}, scenarios: map[string]*entitlement.Scenario{}}
	seen := make(map[string]bool, len(pending))
	pending = spread(pending)
	var errs []error
	for _, r := range pending {
		if !validRequestID(r.ID) {
			a.log.Warn("ignoring a pending request with an unexpected id", "request_id", r.ID)
			continue
		}
		seen[r.ID] = true
		if slices.Contains(open, r.ID) {
			if err := a.remind(ctx, r.ID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := a.track(ctx, r, pass); err != nil {
			errs = append(errs, err)
			continue
		}
		open = append(open, r.ID)
		// Let the sender start on the cards while the rest of the pass is still detecting.
		a.wake()
	}
	var still []string
	for _, id := range open {
		if seen[id] {
			still = append(still, id)
			continue
		}
		done, err := a.settle(ctx, id)
		if err != nil {
			errs = append(errs, err)
		}
		if !done {
			still = append(still, id)
		}
	}
	if err := a.saveOpen(ctx, still); err != nil {
		errs = append(errs, errorf("save open requests: %w", err))
	}
	a.wake()
	return errors.Join(errs...)
}

// spread orders requests round-robin by access package (oldest first within each), so that when
// many requests arrive at once the first cards go to many different approvers. The sender is woken
// while detection goes on, and Teams paces each conversation far below the app's global budget:
// a burst of one package's requests first would leave the budget idle behind one approver's chat.
func spread(rs []entitlement.Request) []entitlement.Request {
	index := map[string]int{}
	var groups [][]entitlement.Request
	for _, r := range rs {
		i, ok := index[r.AccessPackageID]
		if !ok {
			i = len(groups)
			index[r.AccessPackageID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	out := make([]entitlement.Request, 0, len(rs))
	for round := 0; len(out) < len(rs); round++ {
		for _, g := range groups {
			if round < len(g) {
				out = append(out, g[round])
			}
		}
	}
	return out
}

// track starts following a new pending request: its snapshot, then one card row per first-stage
// approver (enqueued before anything is sent).
func (a *Approvals) track(ctx context.Context, r entitlement.Request, pass *pollPass) error {
	rec, err := a.loadRecord(ctx, r.ID)
	if err != nil {
		return errorf("load request %s: %w", r.ID, err)
	}
	if rec == nil {
		rec = &record{Request: r, FirstSeen: a.now()}
		if sc, err := a.d.Store.ScenarioByAccessPackage(ctx, r.AccessPackageID); err == nil {
			rec.SponsorOID, rec.Scenario = sc.OwnerOID, sc.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			return errorf("scenario of request %s: %w", r.ID, err)
		}
	} else {
		rec.Request = r
	}
	if err := a.saveRecord(ctx, rec); err != nil {
		return errorf("save request %s: %w", r.ID, err)
	}
	if err := a.enqueueStage(ctx, rec, 1, pass); err != nil {
		return err
	}
	a.log.Info("new pending request", "request_id", r.ID, "access_package_id", r.AccessPackageID)
	return nil
}

// pollPass caches, for one detection pass, what many requests share: a scenario, and the
// approvers of a stage whose approvers do not depend on the requestor. Without it every new
// request would cost its own policy and directory reads.
type pollPass struct {
	scenarios map[string]*entitlement.Scenario // nil value: not loadable
	approvers map[string][]entitlement.Person
}

// approvers resolves the approvers of stage for r, from pass's cache when they cannot depend on
// the requestor (users, groups, the sponsor).
func (a *Approvals) approvers(ctx context.Context, r entitlement.Request, stage int, pass *pollPass) ([]entitlement.Person, error) {
	if pass == nil || r.ScenarioID == "" {
		return a.d.Entitlement.ApproversFor(ctx, r.PolicyID, stage, r.Requestor)
	}
	sc, ok := pass.scenarios[r.ScenarioID]
	if !ok {
		if loaded, err := a.d.Entitlement.LoadScenario(ctx, r.ScenarioID); err == nil {
			sc = &loaded
		}
		pass.scenarios[r.ScenarioID] = sc
	}
	if sc == nil || stage > len(sc.Approval.Stages) || !requestorIndependent(sc.Approval.Stages[stage-1]) {
		return a.d.Entitlement.ApproversFor(ctx, r.PolicyID, stage, r.Requestor)
	}
	key := r.PolicyID + "\x00" + strconv.Itoa(stage)
	if ps, ok := pass.approvers[key]; ok {
		return ps, nil
	}
	ps, err := a.d.Entitlement.ApproversFor(ctx, r.PolicyID, stage, r.Requestor)
	if err != nil {
		return nil, err
	}
	pass.approvers[key] = ps
	return ps, nil
}

// requestorIndependent reports whether a stage's approvers are the same for every requestor.
func requestorIndependent(st entitlement.Stage) bool {
	for _, list := range [][]entitlement.Approver{st.Approvers, st.EscalationApprovers} {
		for _, ap := range list {
			switch ap.Kind {
			case entitlement.ApproverUser, entitlement.ApproverGroup, entitlement.ApproverSponsor:
			default:
				return false
			}
		}
	}
	return true
}

// enqueueStage writes one card row per approver of stage. Existing rows are kept (idempotent).
func (a *Approvals) enqueueStage(ctx context.Context, rec *record, stage int, pass *pollPass) error {
	r := rec.Request
	approvers, err := a.approvers(ctx, r, stage, pass)
	if err != nil {
		return errorf("approvers of request %s stage %d: %w", r.ID, stage, err)
	}
	if len(approvers) == 0 {
		a.log.Warn("no approver could be resolved for a stage", "request_id", r.ID, "stage", stage)
		a.audit(ctx, store.AuditEntry{TenantID: a.d.TenantID, Action: "approval.no_approvers", Target: r.ID,
			Outcome: "unreachable", Detail: fmt.Sprintf("stage %d has no resolvable approver", stage)})
		if rec.SponsorOID != "" {
			return a.note(ctx, r.ID, fmt.Sprintf("noapprovers:s%d", stage), rec.SponsorOID,
				fmt.Sprintf("No approver could be found for stage %d of %s's request for %s. Check the scenario's approvers.",
					stage, personName(r.Requestor), packageName(rec)))
		}
		return nil
	}
	for _, p := range approvers {
		if p.OID == "" {
			continue
		}
		if err := a.enqueueCard(ctx, r.ID, p, stage, false); err != nil {
			return err
		}
	}
	return nil
}

func (a *Approvals) enqueueCard(ctx context.Context, requestID string, p entitlement.Person, stage int, reminder bool) error {
	payload, _ := json.Marshal(cardPayload{RequestID: requestID, Stage: stage, ApproverOID: p.OID, ApproverName: p.DisplayName, Reminder: reminder})
	item := store.OutboxItem{Key: cardKey(requestID, p.OID, stage, reminder), Kind: KindCard, TenantID: a.d.TenantID,
		RecipientOID: p.OID, Payload: payload}
	if ref, err := a.d.Store.PersonalConversation(ctx, a.d.TenantID, p.OID); err == nil {
		item.ConversationID = ref.ConversationID
	}
	if _, err := a.d.Store.EnqueueOutbox(ctx, item); err != nil {
		return errorf("enqueue card for request %s: %w", requestID, err)
	}
	return nil
}

// note enqueues a text message to recipient, once per (request, what, recipient).
func (a *Approvals) note(ctx context.Context, requestID, what, recipientOID, text string) error {
	if recipientOID == "" {
		return nil
	}
	payload, _ := json.Marshal(notePayload{RequestID: requestID, Text: text})
	if _, err := a.d.Store.EnqueueOutbox(ctx, store.OutboxItem{Key: noteKey(requestID, what, recipientOID), Kind: KindNote,
		TenantID: a.d.TenantID, RecipientOID: recipientOID, Payload: payload}); err != nil {
		return errorf("enqueue note for request %s: %w", requestID, err)
	}
	return nil
}

// settle reads a request that left the pending list. It reports whether the request is final
// (and then its cards are being updated); a request still pending (list and read disagree for a
// moment) is kept open.
func (a *Approvals) settle(ctx context.Context, requestID string) (bool, error) {
	r, err := a.d.Entitlement.RequestState(ctx, requestID)
	if err != nil {
		return false, errorf("read request %s: %w", requestID, err)
	}
	outcome, final := outcomeOf(r)
	if !final {
		return false, nil
	}
	return true, a.finalize(ctx, requestID, r, outcome)
}

// outcomeOf maps a request's state to the outcome approval cards show.
func outcomeOf(r entitlement.Request) (cards.DecisionOutcome, bool) {
	switch strings.ToLower(string(r.State)) {
	case "pendingapproval", "submitted", "":
		return "", false
	case "denied":
		if strings.Contains(strings.ToLower(r.Status), "expire") || strings.Contains(strings.ToLower(r.Status), "timedout") {
			return cards.DecisionExpired, true
		}
		return cards.DecisionDenied, true
	case "canceled", "cancelled":
		return cards.DecisionCanceled, true
	default:
		// delivering, delivered, deliveryFailed, scheduled, partiallyDelivered: it was approved.
		return cards.DecisionApproved, true
	}
}

// finalize marks the request final and updates every card sent for it. If the bot did not
// record the deciding decision, the sponsor is told it was decided elsewhere.
func (a *Approvals) finalize(ctx context.Context, requestID string, r entitlement.Request, outcome cards.DecisionOutcome) error {
	rec, err := a.loadRecord(ctx, requestID)
	if err != nil {
		return errorf("load request %s: %w", requestID, err)
	}
	if rec == nil {
		rec = &record{Request: r, FirstSeen: a.now()}
	}
	if rec.Final {
		return nil
	}
	rec.Final, rec.Outcome, rec.EndedAt = true, outcome, a.now()
	if err := a.saveRecord(ctx, rec); err != nil {
		return errorf("save request %s: %w", requestID, err)
	}
	if err := a.updateCards(ctx, requestID, "final"); err != nil {
		return err
	}
	decs, err := a.decisions(ctx, requestID, rec.Request.StageCount)
	if err != nil {
		return errorf("decisions of %s: %w", requestID, err)
	}
	byBot := false
	for _, d := range decs {
		if !d.Approve || d.Stage >= rec.Request.StageCount {
			byBot = true
		}
	}
	a.audit(ctx, store.AuditEntry{TenantID: a.d.TenantID, Action: "approval.closed", Target: requestID, Outcome: string(outcome),
		Detail: fmt.Sprintf("state %s, decided in Teams: %t", r.State, byBot)})
	if !byBot {
		var text string
		switch outcome {
		case cards.DecisionApproved:
			text = "was approved outside Teams (My Access or email)"
		case cards.DecisionDenied:
			text = "was denied outside Teams"
		case cards.DecisionExpired:
			text = "expired: no one decided in time, so Entra denied it"
		case cards.DecisionCanceled:
			text = "was cancelled by the requestor"
		}
		if err := a.note(ctx, requestID, "outcome", rec.SponsorOID, fmt.Sprintf("%s's request for %s %s.",
			personName(rec.Request.Requestor), packageName(rec), text)); err != nil {
			return err
		}
	}
	a.log.Info("request closed", "request_id", requestID, "outcome", outcome)
	return nil
}

// updateCards enqueues an in-place update of every card sent for the request; event makes the
// keys unique per occasion ("final", "s1-decided").
func (a *Approvals) updateCards(ctx context.Context, requestID, event string) error {
	rows, err := a.cardRows(ctx, requestID)
	if err != nil {
		return errorf("%w", err)
	}
	for _, row := range rows {
		if row.ActivityID == "" {
			// Not sent (or outcome unknown): nothing to update. A pending row is rendered in its
			// final state when (if) it is sent.
			continue
		}
		payload, _ := json.Marshal(updatePayload{RequestID: requestID, CardKey: row.Key})
		if _, err := a.d.Store.EnqueueOutbox(ctx, store.OutboxItem{Key: "approval-update:" + event + ":" + row.Key, Kind: KindUpdate,
			TenantID: row.TenantID, RecipientOID: row.RecipientOID, ConversationID: row.ConversationID, Payload: payload}); err != nil {
			return errorf("enqueue card update for %s: %w", requestID, err)
		}
	}
	a.wake()
	return nil
}

// remind sends one reminder card per approver of the current stage once RemindAfter passed, and
// tells the sponsor and admins once EscalateAfter passed.
func (a *Approvals) remind(ctx context.Context, requestID string) error {
	rows, err := a.cardRows(ctx, requestID)
	if err != nil {
		return errorf("%w", err)
	}
	stage, started := currentStage(rows)
	if stage == 0 {
		return nil
	}
	age := a.now().Sub(started)
	if age < a.d.RemindAfter {
		return nil
	}
	if decs, err := a.decisions(ctx, requestID, stage); err != nil {
		return errorf("decisions of %s: %w", requestID, err)
	} else if _, decided := decs[stage]; decided {
		return nil
	}
	for _, row := range rows {
		var p cardPayload
		if json.Unmarshal(row.Payload, &p) != nil || p.Reminder || p.Stage != stage {
			continue
		}
		if err := a.enqueueCard(ctx, requestID, entitlementPerson(p), stage, true); err != nil {
			return err
		}
	}
	if age < a.d.EscalateAfter {
		return nil
	}
	rec, err := a.loadRecord(ctx, requestID)
	if err != nil || rec == nil {
		return err
	}
	text := fmt.Sprintf("%s's request for %s has waited %d hours for stage %d approval.",
		personName(rec.Request.Requestor), packageName(rec), int(age.Hours()), stage)
	recipients := []string{rec.SponsorOID}
	if a.d.Admins != nil {
		admins, err := a.d.Admins(ctx)
		if err != nil {
			return errorf("resolve admins: %w", err)
		}
		recipients = append(recipients, admins...)
	}
	for _, oid := range recipients {
		if err := a.note(ctx, requestID, fmt.Sprintf("escalation:s%d", stage), oid, text); err != nil {
			return err
		}
	}
	return nil
}

func entitlementPerson(p cardPayload) entitlement.Person {
	return entitlement.Person{OID: p.ApproverOID, DisplayName: p.ApproverName}
}

func personName(p entitlement.Person) string {
	switch {
	case p.DisplayName != "":
		return p.DisplayName
	case p.Email != "":
		return p.Email
	default:
		return "A guest"
	}
}

func packageName(rec *record) string {
	switch {
	case rec.Scenario != "":
		return rec.Scenario
	case rec.Request.AccessPackage != "":
		return rec.Request.AccessPackage
	default:
		return "an access package"
	}
}

// audit appends an audit entry, logging (not failing) when the store refuses: the action it
// records has already happened.
func (a *Approvals) audit(ctx context.Context, e store.AuditEntry) {
	if err := a.d.Store.AppendAudit(ctx, e); err != nil {
		a.log.Error("writing the audit log failed", "action", e.Action, "request_id", e.Target, "error", err)
	}
}
