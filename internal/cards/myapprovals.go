package cards

import (
	"fmt"
	"strings"

	"guestpass/internal/entitlement"
)

// VerbMyApprovals fetches the clicking approver's pending approvals. It is a card button, not the
// typed command itself, because only a card click carries the Teams SSO token the list is read
// with (Graph lists "my approvals" only for a delegated token).
const VerbMyApprovals = "approvals.mine"

// MyApprovalsPrompt is the answer to the typed `approvals`: one button that signs the approver in
// (silently, through Teams SSO) and replaces this card with the list.
func MyApprovalsPrompt() Card {
	return Card{
		Body: one(
			title("Your pending approvals"),
			para("I read the requests waiting for your decision from Entra as you, so Teams signs you in when you select the button."),
		),
		Actions: []Action{noInputs(button("Show my approvals", VerbMyApprovals))},
	}
}

// MyApprovalState says what the list can offer for one request.
type MyApprovalState int

// Item states.
const (
	// MyApprovalDecidable: guestpass tracks the request, so Approve and Deny work from the list.
	MyApprovalDecidable MyApprovalState = iota
	// MyApprovalArriving: a guestpass scenario's request the bot has not picked up yet; its
	// approval card is on its way.
	MyApprovalArriving
	// MyApprovalOtherPackage: an access package guestpass does not manage; decide it in My Access.
	MyApprovalOtherPackage
)

// MyApprovalItem is one request waiting for the approver.
type MyApprovalItem struct {
	Request entitlement.Request
	// Scenario is the guestpass scenario's name; empty for other access packages.
	Scenario string
	// Stage is the 1-based stage waiting for the approver; 0 leaves the stage line out.
	Stage int
	State MyApprovalState
}

// MyApprovalsInput is what the list shows.
type MyApprovalsInput struct {
	// Items are the requests shown, oldest first.
	Items []MyApprovalItem
	// Total counts every request waiting for the approver (at least len(Items)).
	Total int
}

// MyApprovals lists the approver's pending requests, each with Approve and Deny sending the
// approval card's own verbs and data, so a decision takes exactly the approval card's path (SSO,
// on-behalf-of, Graph as the approver). Its one justification input has the approval card's id:
// one decision is made per list, and the answer replaces the list with that request's card.
func MyApprovals(in MyApprovalsInput) Card {
	refresh := noInputs(button("Refresh", VerbMyApprovals))
	body := one(title("Your pending approvals"))
	if len(in.Items) == 0 {
		body = append(body, para("Nothing waits for you."))
		return Card{Body: body, Actions: []Action{refresh}}
	}
	total := max(in.Total, len(in.Items))
	summary := "1 request waits for your decision."
	if total > 1 {
		summary = fmt.Sprintf("%d requests wait for your decision.", total)
	}
	if total > len(in.Items) {
		summary = fmt.Sprintf("%d requests wait for your decision; here are the %d oldest.", total, len(in.Items))
	}
	body = append(body, subtitle(summary))
	for _, it := range in.Items {
		if it.State == MyApprovalDecidable {
			// Above the requests, so a reason is typed before Deny is selected.
			body = append(body,
				InputText{ID: InputJustification, Label: "Justification (required to deny)", IsMultiline: true,
					MaxLength: 1000, Placeholder: "Why you approve or deny the request you decide"},
				note("Decide one request at a time: this card then shows that request with your decision."))
			break
		}
	}
	for _, it := range in.Items {
		body = append(body, myApprovalItem(it))
	}
	if rest := total - len(in.Items); rest > 0 {
		others := fmt.Sprintf("The other %d arrive as approval cards in this chat, and My Access lists them all.", rest)
		if rest == 1 {
			others = "The other one arrives as an approval card in this chat, and My Access lists it too."
		}
		body = append(body, note(others))
	}
	return Card{Body: body, Actions: []Action{refresh}}
}

func myApprovalItem(it MyApprovalItem) Element {
	r := it.Request
	who := firstNonEmpty(r.Requestor.DisplayName, r.Requestor.Email, "Someone")
	what := firstNonEmpty(it.Scenario, r.AccessPackage)
	head := esc(who)
	if what != "" {
		head += " — " + esc(what)
	}
	details := []string{
		"Email", r.Requestor.Email,
		"Organisation", r.Requestor.Organisation,
	}
	if r.AccessPackage != "" && r.AccessPackage != it.Scenario {
		details = append(details, "Access package", r.AccessPackage)
	}
	if !r.CreatedAt.IsZero() {
		details = append(details, "Requested", formatTime(r.CreatedAt))
	}
	if it.Stage > 0 {
		details = append(details, "Stage", fmt.Sprintf("Stage %d of %d", it.Stage, max(r.StageCount, it.Stage)))
	}
	if !r.AutoDenyAt.IsZero() {
		details = append(details, "Denied automatically", formatTime(r.AutoDenyAt)+" if no one decides")
	}
	items := join(one(TextBlock{Text: head, Wrap: true, Weight: "Bolder"}), facts(details...))
	if strings.TrimSpace(r.Justification) != "" {
		items = append(items, TextBlock{Text: "Reason given:", Wrap: true, IsSubtle: true, Spacing: "Small"})
		items = append(items, textLines(r.Justification)...)
	}
	switch it.State {
	case MyApprovalDecidable:
		stage := ""
		if it.Stage > 0 {
			stage = "s" + itoa(it.Stage)
		}
		decide := func(title, verb string) ActionExecute {
			return button(title, verb, KeyRequestID, r.ID, KeyNonce, stage)
		}
		items = append(items, actionSet(positive(decide("Approve", VerbApprove)), destructive(decide("Deny", VerbDeny))))
	case MyApprovalArriving:
		items = append(items, note("This request just arrived: its approval card is on its way to this chat."))
	default:
		items = append(items, note("guestpass doesn't manage this access package: decide it in My Access."))
	}
	return Container{Items: items, Separator: true, Spacing: "Large"}
}
