package cards

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"guestpass/internal/entitlement"
)

// Scenario wizard steps, in order (data "step").
const (
	StepName      = "name"
	StepPartners  = "partners"
	StepResources = "resources"
	StepApproval  = "approval"
	StepDuration  = "duration"
	StepQuestions = "questions"
	StepReview    = "review"
)

var wizardSteps = []string{StepName, StepPartners, StepResources, StepApproval, StepDuration, StepQuestions, StepReview}

// WizardSteps returns the scenario wizard's steps in order (a copy: the order is fixed).
func WizardSteps() []string { return append([]string(nil), wizardSteps...) }

var stepTitles = map[string]string{
	StepName:      "Name and description",
	StepPartners:  "Partner organisations",
	StepResources: "Resources",
	StepApproval:  "Approval",
	StepDuration:  "Access duration",
	StepQuestions: "Questions for requestors",
	StepReview:    "Review",
}

// ErrUnknownStep reports a wizard step name WizardStep does not know.
var ErrUnknownStep = errors.New("cards: unknown wizard step")

// WizardInput is what every wizard step card shows.
type WizardInput struct {
	// Draft is the scenario so far; a non-empty Draft.ID means the wizard edits an existing scenario.
	Draft entitlement.Scenario
	// Values are the raw inputs of the last submission, keyed by input id. They win over the draft so
	// a rejected entry is shown as typed next to its error.
	Values map[string]string
	// Errors are validation errors keyed by input id (ErrorKeyForm for the whole step).
	Errors map[string]string
	// Nonce identifies the dialog instance; echoed in every button's data when set.
	Nonce string
	// Search is the resources step's last search; nil before the first search.
	Search *ResourceSearch
}

// ResourceSearch is a resource search and its results, as the resources step shows them.
type ResourceSearch struct {
	Query   string
	Results []ResourceOption
}

// ResourceOption is a search result with the roles a scenario may grant in it. Resource.Role is
// ignored.
type ResourceOption struct {
	Resource entitlement.Resource
	Roles    []entitlement.Role
}

// ResourceChoiceValue is the InputResourcePick value for role j of search result i: the dialog keeps
// the results it showed and maps the picked values back with ParseResourceChoice.
func ResourceChoiceValue(i, j int) string { return strconv.Itoa(i) + "." + strconv.Itoa(j) }

// ErrBadResourceChoice reports an InputResourcePick value that is not "<result>.<role>".
var ErrBadResourceChoice = errors.New("cards: malformed resource choice")

// ParseResourceChoice parses one InputResourcePick value (multi-select submits them
// comma-separated) into the result and role indexes.
func ParseResourceChoice(v string) (result, role int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(v), ".")
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q", ErrBadResourceChoice, clip(v, 40))
	}
	result, err1 := strconv.Atoi(a)
	role, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || result < 0 || role < 0 || len(a) > 4 || len(b) > 4 {
		return 0, 0, fmt.Errorf("%w: %q", ErrBadResourceChoice, clip(v, 40))
	}
	return result, role, nil
}

// WizardStep builds the card for one step of the scenario wizard.
func WizardStep(step string, in WizardInput) (Card, error) {
	var body []Element
	switch step {
	case StepName:
		body = nameStep(in)
	case StepPartners:
		body = partnersStep(in)
	case StepResources:
		body = resourcesStep(in)
	case StepApproval:
		body = approvalStep(in)
	case StepDuration:
		body = durationStep(in)
	case StepQuestions:
		body = questionsStep(in)
	case StepReview:
		body = reviewBody(in.Draft)
	default:
		return Card{}, fmt.Errorf("%w: %q", ErrUnknownStep, clip(step, 40))
	}
	body = join(wizardHeader(step, in), formError(in.Errors), body)
	return Card{Body: body, Actions: wizardActions(step, in)}, nil
}

func wizardHeader(step string, in WizardInput) []Element {
	n := 0
	for i, s := range wizardSteps {
		if s == step {
			n = i + 1
		}
	}
	head := "New guest scenario"
	if in.Draft.ID != "" {
		head = "Edit guest scenario"
		if in.Draft.Name != "" {
			head += ": " + esc(in.Draft.Name)
		}
	}
	return one(title(head), subtitle(fmt.Sprintf("Step %d of %d · %s", n, len(wizardSteps), stepTitles[step])))
}

func wizardButton(title, verb, step string, in WizardInput) ActionExecute {
	return button(title, verb, KeyDialog, DialogScenario, KeyStep, step, KeyNonce, in.Nonce)
}

func wizardActions(step string, in WizardInput) []Action {
	var primary ActionExecute
	switch {
	case step == StepReview && in.Draft.ID != "":
		primary = positive(wizardButton("Save changes", VerbSaveScenario, step, in))
	case step == StepReview:
		primary = positive(wizardButton("Create", VerbCreateScenario, step, in))
	default:
		primary = positive(wizardButton("Next", VerbWizardNext, step, in))
	}
	out := []Action{primary}
	// The first step has nowhere to go back to; every other step does.
	if step != wizardSteps[0] {
		out = append(out, noInputs(wizardButton("Back", VerbWizardBack, step, in)))
	}
	return append(out,
		noInputs(wizardButton("Cancel", VerbWizardCancel, step, in)),
		noInputs(wizardButton("Start over", VerbWizardRestart, step, in)),
	)
}

// value returns the submitted value for id, else def.
func (in WizardInput) value(id, def string) string {
	if v, ok := in.Values[id]; ok {
		return v
	}
	return def
}

// toggle returns the submitted toggle value for id, else def.
func (in WizardInput) toggle(id string, def bool) string {
	return in.value(id, toggleValue(def))
}

// number returns the submitted number for id when it parses, else def (0 leaves the input empty).
func (in WizardInput) number(id string, def int) *int {
	if v, ok := in.Values[id]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return &n
		}
		return nil
	}
	if def == 0 {
		return nil
	}
	return &def
}

func nameStep(in WizardInput) []Element {
	return join(
		one(InputText{ID: InputName, Label: "Scenario name", Placeholder: "e.g. Fabrikam project partners",
			Value: plain(in.value(InputName, in.Draft.Name), MaxNameLength), MaxLength: MaxNameLength,
			IsRequired: true, ErrorMessage: "Enter a name for the scenario."}),
		fieldError(in.Errors, InputName),
		one(InputText{ID: InputDescription, Label: "Description (what guests get and why)", IsMultiline: true,
			Value: clip(in.value(InputDescription, in.Draft.Description), MaxDescriptionLength), MaxLength: MaxDescriptionLength}),
		fieldError(in.Errors, InputDescription),
	)
}

func partnersStep(in WizardInput) []Element {
	domains := make([]string, 0, len(in.Draft.Partners))
	var known []string
	for _, p := range in.Draft.Partners {
		if p.Domain != "" {
			domains = append(domains, p.Domain)
		}
		if p.DisplayName != "" {
			known = append(known, p.Domain, p.DisplayName)
		}
	}
	body := join(
		one(para("Which organisations' users may request access? Enter their email domains, separated by commas or one per line.")),
		one(InputText{ID: InputPartnerDomains, Label: "Partner domains", Placeholder: "fabrikam.com, contoso.co.uk",
			IsMultiline: true, MaxLength: 2000, Value: clip(in.value(InputPartnerDomains, strings.Join(domains, "\n")), 2000)}),
		fieldError(in.Errors, InputPartnerDomains),
	)
	if len(known) > 0 {
		body = append(body, section("Recognised organisations"))
		body = append(body, facts(known...)...)
	}
	return join(body,
		one(InputToggle{ID: InputAnyExternalUser, Title: "Any external user (any organisation)", Wrap: true,
			Value: in.toggle(InputAnyExternalUser, in.Draft.AnyExternalUser)}),
		one(warning("⚠ With \"any external user\", anyone with an account outside your organisation can request access, and the partner domains are ignored. Approval becomes the only gate: use it only with approval required and a short duration.")),
		fieldError(in.Errors, InputAnyExternalUser),
	)
}

func resourceKindName(r entitlement.Resource) string {
	switch {
	case r.Kind == entitlement.ResourceGroup && r.IsTeam:
		return "Team"
	case r.Kind == entitlement.ResourceGroup:
		return "Group"
	case r.Kind == entitlement.ResourceSite:
		return "SharePoint site"
	case r.Kind == entitlement.ResourceApplication:
		return "App"
	}
	return "Resource"
}

func roleName(r entitlement.Role) string {
	if r.DisplayName != "" {
		return r.DisplayName
	}
	return r.OriginID
}

func resourceName(r entitlement.Resource) string {
	if r.DisplayName != "" {
		return r.DisplayName
	}
	return r.OriginID
}

// resourceLine is "**Name** · Team · Member" (escaped).
func resourceLine(r entitlement.Resource) string {
	s := "**" + esc(resourceName(r)) + "** · " + resourceKindName(r)
	if role := roleName(r.Role); role != "" {
		s += " · " + esc(role)
	}
	return s
}

func resourcesStep(in WizardInput) []Element {
	body := one(section("Selected resources"))
	if len(in.Draft.Resources) == 0 {
		body = append(body, note("None yet. Search below and add the Teams, groups, SharePoint sites and apps guests should get."))
	}
	for i, r := range in.Draft.Resources {
		body = append(body, ColumnSet{Columns: []Column{
			{Width: "stretch", VerticalContentAlignment: "Center", Items: one(para(resourceLine(r)))},
			{Width: "auto", VerticalContentAlignment: "Center", Items: one(actionSet(noInputs(
				button("Remove", VerbWizardRemoveResource, KeyDialog, DialogScenario, KeyStep, StepResources,
					KeyNonce, in.Nonce, KeyIndex, strconv.Itoa(i)))))},
		}})
	}
	body = append(body, fieldError(in.Errors, InputResourcePick)...)

	query := ""
	if in.Search != nil {
		query = in.Search.Query
	}
	body = append(body,
		section("Find resources"),
		InputText{ID: InputResourceQuery, Label: "Team, group, site or app name", Placeholder: "e.g. Project Falcon",
			Value: plain(in.value(InputResourceQuery, query), 100), MaxLength: 100},
	)
	body = append(body, fieldError(in.Errors, InputResourceQuery)...)
	body = append(body, actionSet(wizardButton("Search", VerbWizardSearch, StepResources, in)))
	if in.Search == nil {
		return body
	}
	var choices []Choice
	for i, o := range in.Search.Results {
		name := plain(resourceName(o.Resource), 80) + " (" + resourceKindName(o.Resource) + ")"
		for j, role := range o.Roles {
			choices = append(choices, Choice{Title: name + " · " + plain(roleName(role), 60), Value: ResourceChoiceValue(i, j)})
		}
	}
	if len(choices) == 0 {
		return append(body, note("No matches for “"+esc(in.Search.Query)+"”. Try part of the name, or check that the bot may see the resource."))
	}
	return append(body,
		InputChoiceSet{ID: InputResourcePick, Label: "Pick resources and the role guests get in each", Style: "expanded",
			IsMultiSelect: true, Wrap: true, Choices: choices},
		actionSet(wizardButton("Add selected", VerbWizardAddResources, StepResources, in)),
	)
}

// approverNames lists a stage's approvers other than the sponsor, for prefilling its text input.
func approverNames(in WizardInput, stage int) (names string, sponsor bool) {
	if stage >= len(in.Draft.Approval.Stages) {
		return "", false
	}
	var out []string
	for _, a := range in.Draft.Approval.Stages[stage].Approvers {
		if a.Kind == entitlement.ApproverSponsor {
			sponsor = true
			continue
		}
		out = append(out, approverLabel(a))
	}
	return strings.Join(out, ", "), sponsor
}

func approverLabel(a entitlement.Approver) string {
	switch a.Kind {
	case entitlement.ApproverSponsor:
		return "The sponsor"
	case entitlement.ApproverInternalSponsors:
		return "The organisation's internal sponsors"
	case entitlement.ApproverExternalSponsors:
		return "The organisation's external sponsors"
	case entitlement.ApproverRequestorManager:
		return "The requestor's manager"
	}
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return a.ID
}

func approvalStep(in WizardInput) []Element {
	d := in.Draft
	// Defaults (the sponsor approves, approval on) are the dialog's: the card shows the draft as is.
	stage1, sponsor := approverNames(in, 0)
	stage2, _ := approverNames(in, 1)
	stage3, _ := approverNames(in, 2)
	autoDeny := 0
	approverJust := false
	if len(d.Approval.Stages) > 0 {
		autoDeny = d.Approval.Stages[0].AutoDenyAfterDays
		approverJust = d.Approval.Stages[0].ApproverJustificationRequired
	}
	approvers := func(id, label, value string) []Element {
		return join(one(InputText{ID: id, Label: label, Placeholder: "megan@contoso.com, Adele Vance",
			Value: clip(in.value(id, value), 1000), MaxLength: 1000}), fieldError(in.Errors, id))
	}
	return join(
		one(InputToggle{ID: InputApprovalRequired, Title: "Require approval (recommended)", Wrap: true,
			Value: in.toggle(InputApprovalRequired, d.Approval.Required)}),
		one(note("Without approval, requests from the partner organisations are approved automatically.")),
		fieldError(in.Errors, InputApprovalRequired),
		one(section("Stage 1")),
		one(InputToggle{ID: InputSponsorApproves, Title: "You (the sponsor) approve", Wrap: true,
			Value: in.toggle(InputSponsorApproves, sponsor)}),
		approvers(InputStage1Approvers, "More approvers (email addresses or names)", stage1),
		one(section("Further stages (optional)")),
		approvers(InputStage2Approvers, "Second-stage approvers", stage2),
		approvers(InputStage3Approvers, "Third-stage approvers (needs a second stage)", stage3),
		one(section("Rules")),
		one(InputToggle{ID: InputRequestorJustification, Title: "Guests must say why they need access", Wrap: true,
			Value: in.toggle(InputRequestorJustification, d.Approval.RequestorJustificationRequired)}),
		one(InputToggle{ID: InputApproverJustification, Title: "Approvers must give a reason for their decision", Wrap: true,
			Value: in.toggle(InputApproverJustification, approverJust)}),
		one(InputNumber{ID: InputAutoDenyDays, Label: "Deny automatically when no one decides within (days, 1–14)",
			Value: in.number(InputAutoDenyDays, autoDeny), Min: intp(1), Max: intp(14)}),
		fieldError(in.Errors, InputAutoDenyDays),
	)
}

func durationStep(in WizardInput) []Element {
	return join(
		one(InputNumber{ID: InputDurationDays, Label: "Access lasts (days, at most 365)", Placeholder: "90",
			Value: in.number(InputDurationDays, in.Draft.DurationDays), Min: intp(1), Max: intp(365),
			IsRequired: true, ErrorMessage: "Enter a number of days from 1 to 365."}),
		fieldError(in.Errors, InputDurationDays),
		one(InputToggle{ID: InputAllowExtension, Title: "Guests can ask for an extension before their access ends", Wrap: true,
			Value: in.toggle(InputAllowExtension, in.Draft.AllowExtension)}),
		fieldError(in.Errors, InputAllowExtension),
		one(section("Invitations")),
		one(InputToggle{ID: InputAllowB2B, Title: "Sponsors may also send B2B invitations", Wrap: true,
			Value: in.toggle(InputAllowB2B, in.Draft.AllowB2BInvitation)}),
		one(warning(b2bWarning)),
		fieldError(in.Errors, InputAllowB2B),
	)
}

const b2bWarning = "⚠ Guests invited with a B2B invitation are outside entitlement management's automatic removal: when their access ends, their guest account stays in the directory until someone removes it."

func questionsStep(in WizardInput) []Element {
	body := one(para(fmt.Sprintf("Optional: up to %d questions guests answer when they request access. Leave a question empty to skip it.", QuestionSlots)))
	for n := 1; n <= QuestionSlots; n++ {
		var q entitlement.Question
		if n <= len(in.Draft.Questions) {
			q = in.Draft.Questions[n-1]
		}
		body = join(body,
			one(InputText{ID: InputQuestion(n), Label: fmt.Sprintf("Question %d", n), MaxLength: 500,
				Value: plain(in.value(InputQuestion(n), q.Text), 500)}),
			fieldError(in.Errors, InputQuestion(n)),
			one(InputText{ID: InputQuestionChoices(n), Label: "Choices, separated by commas (empty for a free-text answer)", MaxLength: 1000,
				Value: plain(in.value(InputQuestionChoices(n), strings.Join(q.Choices, ", ")), 1000)}),
			fieldError(in.Errors, InputQuestionChoices(n)),
			one(InputToggle{ID: InputQuestionRequired(n), Title: "An answer is required", Value: in.toggle(InputQuestionRequired(n), q.Required)}),
		)
	}
	return body
}

// reviewBody summarises a scenario; the review step and the scenario detail card share it.
func reviewBody(s entitlement.Scenario) []Element {
	body := one(section(esc(s.Name)))
	body = append(body, textLines(s.Description)...)
	body = append(body, section("Who can request"))
	switch {
	case s.AnyExternalUser:
		body = append(body, warning("⚠ Any external user, from any organisation"))
	case len(s.Partners) == 0:
		body = append(body, note("No partner organisations yet."))
	default:
		var pairs []string
		for _, p := range s.Partners {
			name := p.DisplayName
			if name == "" {
				name = "Partner organisation"
			}
			pairs = append(pairs, name, firstNonEmpty(p.Domain, p.TenantID))
		}
		body = append(body, facts(pairs...)...)
	}
	body = append(body, section("What they get"))
	if len(s.Resources) == 0 {
		body = append(body, note("No resources yet."))
	}
	for _, r := range s.Resources {
		body = append(body, TextBlock{Text: "• " + resourceLine(r), Wrap: true, Spacing: "Small"})
	}
	body = append(body, section("Approval"))
	if !s.Approval.Required || len(s.Approval.Stages) == 0 {
		body = append(body, para("Automatic: requests are approved without a decision."))
	} else {
		var pairs []string
		for i, st := range s.Approval.Stages {
			names := make([]string, 0, len(st.Approvers))
			for _, a := range st.Approvers {
				names = append(names, approverLabel(a))
			}
			rule := fmt.Sprintf("%s; denied automatically after %s", strings.Join(names, ", "), days(st.AutoDenyAfterDays))
			if st.ApproverJustificationRequired {
				rule += "; approvers give a reason"
			}
			pairs = append(pairs, fmt.Sprintf("Stage %d", i+1), rule)
		}
		body = append(body, facts(pairs...)...)
	}
	body = append(body, facts(
		"Guests give a reason", yesNo(s.Approval.RequestorJustificationRequired),
		"Access lasts", days(s.DurationDays),
		"Extension", map[bool]string{true: "Guests may request one", false: "Not allowed"}[s.AllowExtension],
		"B2B invitations", map[bool]string{true: "Allowed", false: "Not allowed"}[s.AllowB2BInvitation],
	)...)
	if len(s.Questions) > 0 {
		body = append(body, section("Questions for requestors"))
		for _, q := range s.Questions {
			line := "• " + esc(q.Text)
			if len(q.Choices) > 0 {
				line += " (" + esc(strings.Join(q.Choices, " / ")) + ")"
			}
			if q.Required {
				line += " — required"
			}
			body = append(body, TextBlock{Text: line, Wrap: true, Spacing: "Small"})
		}
	}
	return body
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// TemplateOption is one scenario template the picker offers; the catalogue and its defaults live
// with the dialogs.
type TemplateOption struct {
	ID          string
	Name        string
	Description string
}

// Templates lets a sponsor start the wizard from a template or from scratch.
func Templates(templates []TemplateOption) Card {
	body := one(title("New guest scenario"), subtitle("Start from a template and adjust it, or start from scratch."))
	for _, t := range templates {
		body = append(body, Container{Separator: true, Spacing: "Medium", Items: join(
			one(TextBlock{Text: esc(t.Name), Wrap: true, Weight: "Bolder"}),
			textLines(t.Description),
			one(actionSet(button("Use this template", VerbWizardTemplate, KeyDialog, DialogScenario, KeyTemplate, t.ID))),
		)})
	}
	return Card{Body: body, Actions: []Action{button("Start from scratch", VerbNewScenario, KeyDialog, DialogScenario)}}
}
