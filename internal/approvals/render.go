package approvals

import (
	"context"
	"strconv"
	"strings"

	"guestpass/internal/cards"
)

// renderFor builds the card approver oid should see for stage, from the stored state: final when
// the request closed, "decided" when the bot recorded a decision for that stage, else pending
// with buttons.
func (a *Approvals) renderFor(ctx context.Context, rec *record, oid string, stage int) (cards.Card, error) {
	in := cards.ApprovalInput{Request: rec.Request, Scenario: rec.Scenario, Stage: stage, Nonce: nonce(stage)}
	decs, err := a.decisions(ctx, rec.Request.ID, max(rec.Request.StageCount, stage))
	if err != nil {
		return cards.Card{}, errorf("decisions of %s: %w", rec.Request.ID, err)
	}
	if rec.Final {
		in.Decision = finalDecision(rec, decs, oid)
		return cards.Approval(in), nil
	}
	if d, ok := decs[stage]; ok {
		in.Decision = decisionView(d, oid)
	}
	return cards.Approval(in), nil
}

// finalDecision is the banner of a closed request: the bot's deciding decision when there is
// one, else the outcome as Graph reports it, marked as decided elsewhere.
func finalDecision(rec *record, decs map[int]decision, viewer string) *cards.Decision {
	last := 0
	for s, d := range decs {
		if s > last && (!d.Approve || s >= rec.Request.StageCount) {
			last = s
		}
	}
	if d, ok := decs[last]; ok && last > 0 && outcomeMatches(d, rec.Outcome) {
		return decisionView(d, viewer)
	}
	out := &cards.Decision{Outcome: rec.Outcome, At: rec.EndedAt}
	if rec.Outcome == cards.DecisionApproved || rec.Outcome == cards.DecisionDenied {
		out.Elsewhere = true
	}
	return out
}

func outcomeMatches(d decision, o cards.DecisionOutcome) bool {
	return (d.Approve && o == cards.DecisionApproved) || (!d.Approve && o == cards.DecisionDenied)
}

// decisionView shows a recorded decision to viewer ("by you" for the decider).
func decisionView(d decision, viewer string) *cards.Decision {
	out := &cards.Decision{Outcome: cards.DecisionDenied, By: d.ByName, At: d.At, Justification: d.Justification,
		ByYou: strings.EqualFold(d.ByOID, viewer)}
	if d.Approve {
		out.Outcome = cards.DecisionApproved
	}
	if out.By == "" && !out.ByYou {
		out.By = "another approver"
	}
	return out
}

// nonce identifies the card instance by its stage; it is echoed back on clicks for logs only
// (the decided stage always comes from Graph).
func nonce(stage int) string { return "s" + strconv.Itoa(stage) }
