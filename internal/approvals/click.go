package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// maxJustification matches the card input's maxLength.
const maxJustification = 1000

// loginText is the text of the sign-in request sent to a click without a usable token.
const loginText = "Sign in to record your decision"

// clickData is the part of an approval card's action data the handler reads: ids and the
// justification input, never an identity.
type clickData struct {
	RequestID     string
	Stage         int
	Justification string
}

func parseClickData(raw json.RawMessage) (clickData, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return clickData{}, fmt.Errorf("action data is not an object: %w", err)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	d := clickData{RequestID: strings.TrimSpace(str(cards.KeyRequestID)), Justification: strings.TrimSpace(str(cards.InputJustification)), Stage: 1}
	if !validRequestID(d.RequestID) {
		return clickData{}, errors.New("action data has no valid request id")
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(str(cards.KeyNonce), "s")); err == nil && n >= 1 && n <= 3 {
		d.Stage = n
	}
	if utf8.RuneCountInString(d.Justification) > maxJustification {
		d.Justification = string([]rune(d.Justification)[:maxJustification])
	}
	return d, nil
}

// handleDecide handles approve (approve=true) and deny clicks.
func (a *Approvals) handleDecide(approve bool) router.Handler {
	return func(ctx context.Context, t *router.Turn) error {
		if t.IsSubmit() {
			// Action.Submit (an old client's fallback) carries no SSO token and cannot get one.
			return t.Respond(botframework.MessageResponse("Deciding from this card needs a newer Teams client. You can also decide in My Access."))
		}
		av, err := t.Activity.ActionValue()
		if err != nil {
			return t.Respond(botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is malformed."))
		}
		data, err := parseClickData(av.Action.Data)
		if err != nil {
			t.Log.Warn("malformed approval click", "error", err)
			return t.Respond(botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is malformed."))
		}
		log := t.Log.With("request_id", data.RequestID)
		rec, err := a.loadRecord(ctx, data.RequestID)
		if err != nil {
			return fmt.Errorf("load request %s: %w", data.RequestID, err)
		}
		if rec == nil {
			return t.Respond(botframework.ErrorResponse(http.StatusNotFound, "NotFound", "I no longer track this request."))
		}
		oid, tenant := t.Identity.AADObjectID, t.Identity.TenantID
		pending := func(errs map[string]string) botframework.InvokeResponse {
			return botframework.CardResponse(cards.Approval(cards.ApprovalInput{Request: rec.Request, Scenario: rec.Scenario,
				Stage: data.Stage, Nonce: nonce(data.Stage), Justification: data.Justification, Errors: errs}))
		}
		if rec.Final {
			card, err := a.renderFor(ctx, rec, oid, data.Stage)
			if err != nil {
				return err
			}
			return t.Respond(botframework.CardResponse(card))
		}
		if !approve && data.Justification == "" {
			return t.Respond(pending(map[string]string{cards.InputJustification: "Give a reason to deny the request."}))
		}

		cctx, cancel := context.WithTimeout(ctx, clickBudget)
		defer cancel()
		id, cred, resp, err := a.auth.Click(cctx, log, av, tenant, oid, loginText)
		switch {
		case resp != nil:
			return t.Respond(*resp)
		case errors.Is(err, sso.ErrLocalToken):
			return t.Respond(pending(map[string]string{cards.ErrorKeyForm: "I couldn't sign you in. Nothing was recorded; try again."}))
		case err != nil:
			return t.Respond(pending(map[string]string{cards.ErrorKeyForm: "Sign-in is temporarily unavailable. Nothing was recorded; try again in a moment."}))
		}

		// One click at a time per approver and request in this replica: a double click then
		// makes one decision and the second click finds it (Graph answers 409 across replicas).
		unlock, err := a.locks.Lock(cctx, data.RequestID+"\x00"+strings.ToLower(id.OID))
		if err != nil {
			return t.Respond(pending(map[string]string{cards.ErrorKeyForm: "That took too long. Nothing was recorded; try again."}))
		}
		defer unlock()
		res, err := a.d.Entitlement.Decide(cctx, cred, data.RequestID, approve, data.Justification)
		switch {
		case errors.Is(err, entitlement.ErrAlreadyDecided):
			log.Info("approval already decided", "stage", data.Stage)
			return t.Respond(botframework.CardResponse(a.alreadyDecided(ctx, rec, id.OID, data.Stage, err)))
		case errors.Is(err, entitlement.ErrNotApprover):
			log.Info("clicking user is not an approver of the current stage")
			return t.Respond(botframework.CardResponse(cards.Approval(cards.ApprovalInput{Request: rec.Request, Scenario: rec.Scenario,
				Stage: data.Stage, Nonce: nonce(data.Stage), NotApprover: true})))
		case err != nil:
			log.Error("recording the decision failed", "error", err)
			a.audit(ctx, store.AuditEntry{ActorOID: id.OID, ActorName: id.Name, TenantID: id.TenantID, Action: auditAction(approve),
				Target: data.RequestID, Outcome: "failed", Detail: err.Error(), ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID})
			return t.Respond(pending(map[string]string{cards.ErrorKeyForm: "I couldn't record your decision in Entra. Nothing was lost; try again in a moment."}))
		}
		return a.recorded(ctx, t, rec, id, approve, data.Justification, res)
	}
}

// recorded does everything that follows a decision Graph accepted: remember and audit it,
// advance to the next stage, update every card, tell the sponsor, and show the result.
func (a *Approvals) recorded(ctx context.Context, t *router.Turn, rec *record, id *sso.Identity, approve bool, justification string, res entitlement.Decision) error {
	r := rec.Request
	stage := max(res.Stage, 1)
	stages := max(r.StageCount, stage)
	d := decision{Stage: stage, Approve: approve, ByOID: id.OID, ByName: id.Name, At: a.now(), Justification: justification, StageCount: stages}
	if err := a.putJSON(ctx, decisionKey(r.ID, stage), d); err != nil {
		// Graph has the decision; the bot only lost its copy. Cards are corrected by the worker.
		t.Log.Error("storing the recorded decision failed", "request_id", r.ID, "error", err)
	}
	a.audit(ctx, store.AuditEntry{ActorOID: id.OID, ActorName: id.Name, TenantID: id.TenantID, Action: auditAction(approve),
		Target: r.ID, Outcome: "recorded", Detail: fmt.Sprintf("stage %d of %d", stage, stages), ActivityID: t.Activity.ID,
		ConversationID: t.Activity.Conversation.ID, GraphRequestID: res.GraphRequestID})
	t.Log.Info("approval decision recorded", "request_id", r.ID, "stage", stage, "approve", approve, "graph_request_id", res.GraphRequestID)

	final := !approve || stage >= stages
	verb := "denied"
	if approve {
		verb = "approved"
	}
	var errs []error
	if !final {
		errs = append(errs, a.enqueueStage(ctx, rec, stage+1, nil))
	}
	errs = append(errs, a.updateCards(ctx, r.ID, fmt.Sprintf("s%d-decided", stage)))
	who := id.Name
	if who == "" {
		who = "An approver"
	}
	if final {
		errs = append(errs, a.note(ctx, r.ID, "outcome", rec.SponsorOID, fmt.Sprintf("%s %s %s's request for %s.",
			who, verb, personName(r.Requestor), packageName(rec))))
	} else {
		errs = append(errs, a.note(ctx, r.ID, fmt.Sprintf("decision:s%d", stage), rec.SponsorOID, fmt.Sprintf(
			"%s approved stage %d of %d of %s's request for %s; it now waits for stage %d.", who, stage, stages,
			personName(r.Requestor), packageName(rec), stage+1)))
	}
	if err := errors.Join(errs...); err != nil {
		// The decision stands; follow-ups the store refused are logged, and the worker's next
		// pass corrects the cards when the request closes.
		t.Log.Error("follow-up of a recorded decision failed", "request_id", r.ID, "error", err)
	}
	card, err := a.renderFor(ctx, rec, id.OID, stage)
	if err != nil {
		return err
	}
	return t.Respond(botframework.CardResponse(card))
}

// alreadyDecided renders the card after a 409: the decision the bot recorded for that stage, else
// what Graph said about the existing decision, else the request's state read app-only.
func (a *Approvals) alreadyDecided(ctx context.Context, rec *record, viewer string, stage int, cause error) cards.Card {
	var ade *entitlement.AlreadyDecidedError
	if errors.As(cause, &ade) && ade.Stage > 0 {
		stage = ade.Stage
	}
	in := cards.ApprovalInput{Request: rec.Request, Scenario: rec.Scenario, Stage: stage, Nonce: nonce(stage)}
	if decs, err := a.decisions(ctx, rec.Request.ID, max(rec.Request.StageCount, stage)); err == nil {
		if d, ok := decs[stage]; ok {
			in.Decision = decisionView(d, viewer)
			return cards.Approval(in)
		}
	}
	if ade != nil && ade.ReviewResult != "" {
		in.Decision = &cards.Decision{Outcome: cards.DecisionApproved, By: ade.ReviewedBy}
		if strings.HasPrefix(strings.ToLower(ade.ReviewResult), "den") {
			in.Decision.Outcome = cards.DecisionDenied
		}
		if in.Decision.By == "" {
			in.Decision.By = "another approver"
		}
		return cards.Approval(in)
	}
	in.Decision = &cards.Decision{Outcome: cards.DecisionApproved, By: "another approver"}
	if r, err := a.d.Entitlement.RequestState(ctx, rec.Request.ID); err == nil {
		if outcome, final := outcomeOf(r); final {
			in.Decision = &cards.Decision{Outcome: outcome, Elsewhere: outcome == cards.DecisionApproved || outcome == cards.DecisionDenied}
		}
	}
	return cards.Approval(in)
}

func auditAction(approve bool) string {
	if approve {
		return "approval.approve"
	}
	return "approval.deny"
}

// handleRefresh answers the card's refresh with the current state for the viewing user.
func (a *Approvals) handleRefresh(ctx context.Context, t *router.Turn) error {
	var raw json.RawMessage
	if t.IsSubmit() {
		raw = t.ActionData()
	} else {
		av, err := t.Activity.ActionValue()
		if err != nil {
			return t.Respond(botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is malformed."))
		}
		raw = av.Action.Data
	}
	data, err := parseClickData(raw)
	if err != nil {
		return t.Respond(botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is malformed."))
	}
	rec, err := a.loadRecord(ctx, data.RequestID)
	if err != nil {
		return fmt.Errorf("load request %s: %w", data.RequestID, err)
	}
	if rec == nil {
		return t.Respond(botframework.ErrorResponse(http.StatusNotFound, "NotFound", "I no longer track this request."))
	}
	if !rec.Final {
		// The worker notices closures on its next poll; a viewer refreshing now should not see
		// a live Approve button on a closed request until then.
		if r, err := a.d.Entitlement.RequestState(ctx, data.RequestID); err == nil {
			if outcome, final := outcomeOf(r); final {
				view := *rec
				view.Final, view.Outcome = true, outcome
				rec = &view
			}
		} else {
			t.Log.Warn("reading the request for a refresh failed", "request_id", data.RequestID, "error", err)
		}
	}
	card, err := a.renderFor(ctx, rec, t.Identity.AADObjectID, data.Stage)
	if err != nil {
		return err
	}
	return t.Respond(botframework.CardResponse(card))
}

// handleTokenExchange answers signin/tokenExchange (an OAuthCard's SSO in chat): the token is
// validated and exchanged once per exchange id, and nothing is kept; 412 makes the client show
// the sign-in button.
func (a *Approvals) handleTokenExchange(ctx context.Context, t *router.Turn) error {
	v, err := t.Activity.TokenExchangeValue()
	if err != nil {
		return t.Respond(botframework.TokenExchangeFailed("", a.d.SSO.ConnectionName, "The token exchange request is malformed."))
	}
	// Every Teams client of the user sends one; only the first is exchanged.
	first, err := a.d.Store.ClaimActivity(ctx, t.Activity.Conversation.ID, "tokenexchange:"+v.ID)
	if err != nil {
		return fmt.Errorf("claim token exchange: %w", err)
	}
	if !first {
		return t.Respond(botframework.TokenExchangeOK(v.ID, v.ConnectionName))
	}
	cctx, cancel := context.WithTimeout(ctx, clickBudget)
	defer cancel()
	if _, _, err := a.auth.Authenticate(cctx, v.Token, t.Identity.TenantID, t.Identity.AADObjectID); err != nil {
		t.Log.Warn("token exchange failed", sso.LogAttrs(err)...)
		return t.Respond(botframework.TokenExchangeFailed(v.ID, v.ConnectionName, "The token could not be exchanged."))
	}
	return t.Respond(botframework.TokenExchangeOK(v.ID, v.ConnectionName))
}

// handleVerifyState acknowledges a completed nominal sign-in. The click it belongs to is re-sent
// by the client and then finds SSO working.
func (a *Approvals) handleVerifyState(_ context.Context, t *router.Turn) error {
	return t.Respond(botframework.StatusResponse(http.StatusOK))
}
