package cards

import (
	"fmt"

	"guestpass/internal/entitlement"
)

// StepState is the state of one creation step on the progress card.
type StepState string

// Creation step states.
const (
	StepPending StepState = "pending"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
	StepSkipped StepState = "skipped"
)

// ProgressStep is one line of the creation progress card (catalog, resources, connected
// organization, access package, policy).
type ProgressStep struct {
	Label string
	State StepState
}

var stepIcons = map[StepState]string{
	StepPending: "○",
	StepRunning: "…",
	StepDone:    "✓",
	StepFailed:  "✗",
	StepSkipped: "–",
}

func progressLines(steps []ProgressStep) []Element {
	var out []Element
	for _, s := range steps {
		icon, ok := stepIcons[s.State]
		if !ok {
			icon = stepIcons[StepPending]
		}
		tb := TextBlock{Text: icon + " " + esc(s.Label), Wrap: true, Spacing: "Small"}
		switch s.State {
		case StepDone:
			tb.Color = "Good"
		case StepFailed:
			tb.Color = "Attention"
		case StepPending, StepSkipped:
			tb.IsSubtle = true
		}
		out = append(out, tb)
	}
	return out
}

// CreationProgress is the card updated in place while a scenario is created.
func CreationProgress(scenarioName string, steps []ProgressStep) Card {
	return Card{Body: join(
		one(title("Creating “"+esc(scenarioName)+"”"), subtitle("This takes a few seconds. The card updates as each part is ready.")),
		progressLines(steps),
	)}
}

// CreatedInput is what the result card shows after a scenario was created.
type CreatedInput struct {
	Scenario entitlement.Scenario
	// MyAccessURL is the access package's My Access link guests use to request access.
	MyAccessURL string
}

// ScenarioCreated is the result card: the My Access link and an "Invite guests" button.
func ScenarioCreated(in CreatedInput) Card {
	s := in.Scenario
	body := one(
		TextBlock{Text: "✓ “" + esc(s.Name) + "” is ready", Wrap: true, Style: "heading", Size: "Large", Weight: "Bolder", Color: "Good"},
		para("Guests from the partner organisations can now request access with the link below. Their requests follow the approval you set."),
	)
	body = append(body, facts("Access lasts", days(s.DurationDays), "Resources", fmt.Sprint(len(s.Resources)))...)
	var actions []Action
	if u := safeURL(in.MyAccessURL); u != "" {
		body = append(body, note("Request link: "+EscapeMarkdown(u)))
		actions = append(actions, ActionOpenURL{Title: "Open in My Access", URL: u})
	}
	actions = append(actions,
		positive(button("Invite guests", VerbInviteGuests, KeyScenarioID, s.ID)),
		button("Show scenario", VerbScenarioShow, KeyScenarioID, s.ID),
	)
	return Card{Body: body, Actions: actions}
}

// FailedInput is what the failure card shows when creating a scenario failed.
type FailedInput struct {
	ScenarioName string
	// Message says what failed and what to do, in the sponsor's terms (no raw Graph payloads).
	Message string
	// Steps is the progress so far, so the sponsor sees what already exists.
	Steps []ProgressStep
	// Nonce is the wizard dialog's nonce; Retry re-sends the review step's Create.
	Nonce string
}

// CreationFailed is the failure card with Retry (creation is idempotent) and Cancel.
func CreationFailed(in FailedInput) Card {
	body := join(
		one(TextBlock{Text: "⚠ Couldn't create “" + esc(in.ScenarioName) + "”", Wrap: true, Style: "heading", Size: "Large", Weight: "Bolder", Color: "Attention"}),
		textLines(in.Message),
		progressLines(in.Steps),
		one(note("Retry continues where creation stopped; nothing is created twice.")),
	)
	wb := func(title, verb string) ActionExecute {
		return button(title, verb, KeyDialog, DialogScenario, KeyStep, StepReview, KeyNonce, in.Nonce)
	}
	return Card{Body: body, Actions: []Action{
		positive(wb("Retry", VerbCreateScenario)),
		noInputs(wb("Back to review", VerbWizardBack)),
		noInputs(wb("Cancel", VerbWizardCancel)),
	}}
}

// ScenarioSummary is one scenario in the list.
type ScenarioSummary struct {
	ID      string
	Name    string
	Pending int
	Active  int
	Retired bool
}

// ScenarioListInput is one page of the sponsor's scenarios.
type ScenarioListInput struct {
	Scenarios []ScenarioSummary
	// Page is 1-based; HasNext adds a Next button.
	Page    int
	HasNext bool
}

// ScenarioList lists scenarios, each with a Show button, paged.
func ScenarioList(in ScenarioListInput) Card {
	body := one(title("Your guest scenarios"))
	if in.Page > 1 || in.HasNext {
		body = append(body, subtitle("Page "+itoa(max(in.Page, 1))))
	}
	if len(in.Scenarios) == 0 && in.Page <= 1 {
		body = append(body, para("You have no guest scenarios yet."))
	}
	for _, s := range in.Scenarios {
		line := fmt.Sprintf("%d active · %d pending", s.Active, s.Pending)
		if s.Retired {
			line += " · retired"
		}
		body = append(body, ColumnSet{Separator: true, Spacing: "Medium", Columns: []Column{
			{Width: "stretch", VerticalContentAlignment: "Center", Items: one(
				TextBlock{Text: esc(s.Name), Wrap: true, Weight: "Bolder"},
				TextBlock{Text: line, Wrap: true, IsSubtle: true, Spacing: "None"},
			)},
			{Width: "auto", VerticalContentAlignment: "Center", Items: one(actionSet(
				button("Open", VerbScenarioShow, KeyScenarioID, s.ID)))},
		}})
	}
	actions := pageButtons(in.Page, in.HasNext, Data{KeyVerb: VerbScenarioList})
	actions = append(actions, button("New scenario", VerbNewScenario, KeyDialog, DialogScenario))
	return Card{Body: body, Actions: actions}
}

// DetailInput is what the scenario detail card shows.
type DetailInput struct {
	Scenario    entitlement.Scenario
	MyAccessURL string
	Pending     int
	Active      int
	Retired     bool
	// CanManage shows Edit and Retire (the viewer owns or co-owns the scenario, or is an admin).
	CanManage bool
}

// ScenarioDetail shows one scenario: resources, policy, approvers, link, counts; Edit/Retire.
func ScenarioDetail(in DetailInput) Card {
	s := in.Scenario
	head := one(title("Guest scenario"))
	if in.Retired {
		head = append(head, warning("Retired: no new requests. Guests who have access keep it until it ends."))
	}
	head = append(head, facts("Active guests", itoa(in.Active), "Pending requests", itoa(in.Pending))...)
	body := join(head, reviewBody(s))
	var actions []Action
	u := safeURL(in.MyAccessURL)
	if u != "" {
		body = append(body, note("Request link: "+EscapeMarkdown(u)))
	}
	if !in.Retired {
		actions = append(actions, positive(button("Invite guests", VerbInviteGuests, KeyScenarioID, s.ID)))
	}
	if u != "" {
		actions = append(actions, ActionOpenURL{Title: "Open in My Access", URL: u})
	}
	if in.CanManage && !in.Retired {
		actions = append(actions,
			button("Edit", VerbScenarioEdit, KeyScenarioID, s.ID),
			destructive(button("Retire", VerbScenarioRetire, KeyScenarioID, s.ID)),
		)
	}
	return Card{Body: body, Actions: actions}
}

// RetireConfirm asks before retiring a scenario.
func RetireConfirm(s entitlement.Scenario) Card {
	return Card{
		Body: one(
			title("Retire “"+esc(s.Name)+"”?"),
			para("Guests will no longer be able to request access through this scenario. Guests who already have access keep it until it ends; pending requests can still be decided."),
		),
		Actions: []Action{
			destructive(button("Retire", VerbRetireConfirm, KeyScenarioID, s.ID)),
			button("Keep it", VerbScenarioShow, KeyScenarioID, s.ID),
		},
	}
}
