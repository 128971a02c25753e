package cards

import (
	"fmt"
	"strings"
	"time"

	"guestpass/internal/entitlement"
)

// DecisionOutcome is how a request ended, as the final approval card shows it.
type DecisionOutcome string

// Decision outcomes.
const (
	DecisionApproved DecisionOutcome = "approved"
	DecisionDenied   DecisionOutcome = "denied"
	// DecisionCanceled: the requestor withdrew the request.
	DecisionCanceled DecisionOutcome = "canceled"
	// DecisionExpired: no one decided in time and Entra denied it automatically.
	DecisionExpired DecisionOutcome = "expired"
)

// Decision is a recorded outcome; a card with a Decision is final (no buttons, no refresh).
type Decision struct {
	Outcome DecisionOutcome
	// By is the deciding approver's display name; empty when unknown.
	By string
	// ByYou says the viewer decided ("Approved by you").
	ByYou bool
	At    time.Time
	// Elsewhere marks decisions made outside guestpass (My Access, email).
	Elsewhere bool
	// Justification is the approver's reason, when given.
	Justification string
}

// ApprovalInput is what an approval card shows.
type ApprovalInput struct {
	Request entitlement.Request
	// Scenario is the scenario's name; empty shows only the access package.
	Scenario string
	// Stage is the 1-based current stage (0 leaves the stage line out).
	Stage int
	// Nonce identifies this card instance; echoed in the buttons' data.
	Nonce string
	// ApproverMRIs are the approvers' Teams user MRIs ("29:…") for refresh.userIds; more than
	// MaxRefreshUserIDs are cut, duplicates and empties dropped.
	ApproverMRIs []string
	// JustificationRequired marks the justification as required for Approve too (the stage's
	// approverJustificationRequired); Deny always needs it (checked by the handler, shown via Errors).
	JustificationRequired bool
	// Justification refills the input after an error.
	Justification string
	// Errors: InputJustification for a missing reason, ErrorKeyForm for a failed decision (the card
	// keeps its buttons so nothing is lost).
	Errors map[string]string
	// NotApprover says the viewer is not an approver for the current stage (no decision buttons).
	NotApprover bool
	// Decision makes the card final.
	Decision *Decision
}

// Approval builds the approval card in all its variants: pending (Approve/Deny with justification
// and refresh), error (buttons kept, error shown), not an approver for this stage, and final
// (approved, denied, decided elsewhere, cancelled, expired) with no buttons.
func Approval(in ApprovalInput) Card {
	r := in.Request
	body := one(title("Guest access request"))
	pkg := firstNonEmpty(in.Scenario, r.AccessPackage)
	if pkg != "" {
		body = append(body, subtitle(esc(pkg)))
	}
	if in.Decision != nil {
		body = append(body, decisionBanner(*in.Decision))
	}
	body = append(body, section("Requested by"))
	body = append(body, facts(
		"Name", r.Requestor.DisplayName,
		"Email", r.Requestor.Email,
		"Organisation", r.Requestor.Organisation,
	)...)
	details := []string{"Scenario", in.Scenario}
	if r.AccessPackage != "" && r.AccessPackage != in.Scenario {
		details = append(details, "Access package", r.AccessPackage)
	}
	if r.DurationDays > 0 {
		details = append(details, "Access for", days(r.DurationDays))
	}
	if !r.CreatedAt.IsZero() {
		details = append(details, "Requested", formatTime(r.CreatedAt))
	}
	if in.Stage > 0 {
		details = append(details, "Stage", fmt.Sprintf("Stage %d of %d", in.Stage, max(r.StageCount, in.Stage)))
	}
	if in.Decision == nil && !r.AutoDenyAt.IsZero() {
		details = append(details, "Denied automatically", formatTime(r.AutoDenyAt)+" if no one decides")
	}
	body = append(body, section("Request"))
	body = append(body, facts(details...)...)
	if strings.TrimSpace(r.Justification) != "" {
		body = append(body, section("Reason given"))
		body = append(body, textLines(r.Justification)...)
	}
	if len(r.Answers) > 0 {
		body = append(body, section("Answers"))
		var pairs []string
		for _, a := range r.Answers {
			pairs = append(pairs, a.Question, firstNonEmpty(a.Value, "—"))
		}
		body = append(body, facts(pairs...)...)
	}
	if in.Decision != nil {
		return Card{Body: body}
	}

	decide := func(title, verb string) ActionExecute {
		return button(title, verb, KeyRequestID, r.ID, KeyNonce, in.Nonce)
	}
	refresh := &Refresh{Data: decide("", VerbRefresh).Data, UserIDs: refreshUserIDs(in.ApproverMRIs)}
	if in.NotApprover {
		stage := "this stage"
		if in.Stage > 0 {
			stage = fmt.Sprintf("stage %d", in.Stage)
		}
		body = append(body, Container{Style: "warning", Items: one(para("You are not an approver for " + stage + " of this request, so you can't decide it here."))})
		return Card{Body: body, Refresh: refresh, Actions: []Action{noInputs(decide("Refresh", VerbRefresh))}}
	}

	label := "Justification (required to deny)"
	if in.JustificationRequired {
		label = "Justification (required)"
	}
	body = append(body, formError(in.Errors)...)
	body = append(body, InputText{ID: InputJustification, Label: label, IsMultiline: true, MaxLength: 1000,
		Placeholder: "Why you approve or deny", Value: clip(in.Justification, 1000),
		IsRequired: in.JustificationRequired, ErrorMessage: errIf(in.JustificationRequired, "Give a reason for your decision.")})
	body = append(body, fieldError(in.Errors, InputJustification)...)
	return Card{Body: body, Refresh: refresh, Actions: []Action{
		positive(decide("Approve", VerbApprove)),
		destructive(decide("Deny", VerbDeny)),
	}}
}

func errIf(b bool, msg string) string {
	if b {
		return msg
	}
	return ""
}

// refreshUserIDs dedupes and caps the refresh audience; nil (no userIds) when empty, which in a
// 1:1 chat refreshes for the one viewer.
func refreshUserIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		if len(out) == MaxRefreshUserIDs {
			break
		}
	}
	return out
}

func decisionBanner(d Decision) Element {
	var text, color, style string
	who := ""
	switch {
	case d.ByYou:
		who = " by you"
	case d.By != "":
		who = " by " + esc(d.By)
	}
	where := ""
	if d.Elsewhere {
		where = " outside Teams"
	}
	when := ""
	if !d.At.IsZero() {
		when = ", " + formatTime(d.At)
	}
	switch d.Outcome {
	case DecisionApproved:
		text, color, style = "✓ Approved"+who+where+when, "Good", "good"
	case DecisionDenied:
		text, color, style = "✗ Denied"+who+where+when, "Attention", "attention"
	case DecisionCanceled:
		text, color, style = "Cancelled by the requestor"+when, "Default", "emphasis"
	case DecisionExpired:
		text, color, style = "Expired: no one decided in time, so the request was denied automatically"+when, "Warning", "warning"
	default:
		text, color, style = "This request is closed"+when, "Default", "emphasis"
	}
	items := one(TextBlock{Text: text, Wrap: true, Weight: "Bolder", Color: color})
	if strings.TrimSpace(d.Justification) != "" {
		items = append(items, TextBlock{Text: "Reason:", Wrap: true, IsSubtle: true, Spacing: "Small"})
		items = append(items, textLines(d.Justification)...)
	}
	return Container{Style: style, Items: items}
}
