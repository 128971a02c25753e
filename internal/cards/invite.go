package cards

import (
	"fmt"
	"strings"
	"time"

	"guestpass/internal/entitlement"
)

// Invite dialog steps (data "step" with dialog DialogInvite).
const (
	StepInviteForm    = "form"
	StepInvitePreview = "preview"
)

// MaxInviteAddresses is how many addresses one invite form takes.
const MaxInviteAddresses = 50

// InviteScenario is a scenario the sponsor may invite guests to.
type InviteScenario struct {
	ID       string
	Name     string
	AllowB2B bool
}

// InviteFormInput is what the invite form shows.
type InviteFormInput struct {
	// Scenarios are the scenarios the sponsor owns or co-owns (admins: any), at least one.
	Scenarios []InviteScenario
	// Values are the raw inputs of the last submission (InputInviteScenario, InputInviteAddresses,
	// InputInviteDelivery); InputInviteScenario may be preset to the scenario the form was opened from.
	Values map[string]string
	Errors map[string]string
	Nonce  string
}

// InviteForm asks for the scenario, up to MaxInviteAddresses addresses and the delivery.
func InviteForm(in InviteFormInput) Card {
	val := func(id, def string) string {
		if v, ok := in.Values[id]; ok {
			return v
		}
		return def
	}
	var choices []Choice
	b2b := false
	for _, s := range in.Scenarios {
		choices = append(choices, Choice{Title: plain(s.Name, 100), Value: s.ID})
		b2b = b2b || s.AllowB2B
	}
	def := ""
	if len(in.Scenarios) == 1 {
		def = in.Scenarios[0].ID
	}
	delivery := []Choice{
		{Title: "An email from your mailbox (you see it before it is sent)", Value: DeliveryMail},
		{Title: "A link card you forward yourself", Value: DeliveryLink},
	}
	if b2b {
		delivery = append(delivery, Choice{Title: "A B2B invitation (only for scenarios that allow it)", Value: DeliveryB2B})
	}
	body := join(
		one(title("Invite guests"), subtitle("Guests get the scenario's request link, sign in with their own work account and request access; your scenario's approval applies.")),
		formError(in.Errors),
		one(InputChoiceSet{ID: InputInviteScenario, Label: "Scenario", Choices: choices,
			Value: val(InputInviteScenario, def), IsRequired: true, ErrorMessage: "Choose a scenario."}),
		fieldError(in.Errors, InputInviteScenario),
		one(InputText{ID: InputInviteAddresses, Label: fmt.Sprintf("Email addresses (up to %d, separated by commas, spaces or new lines)", MaxInviteAddresses),
			Placeholder: "jane@fabrikam.com, tom@fabrikam.com", IsMultiline: true, MaxLength: 8000,
			Value: clip(val(InputInviteAddresses, ""), 8000), IsRequired: true, ErrorMessage: "Enter at least one email address."}),
		fieldError(in.Errors, InputInviteAddresses),
		one(InputChoiceSet{ID: InputInviteDelivery, Label: "How guests get the link", Style: "expanded", Wrap: true,
			Choices: delivery, Value: val(InputInviteDelivery, DeliveryMail), IsRequired: true, ErrorMessage: "Choose how to send the link."}),
		fieldError(in.Errors, InputInviteDelivery),
	)
	if b2b {
		body = append(body, warning(b2bWarning))
	}
	ib := func(title, verb string) ActionExecute {
		return button(title, verb, KeyDialog, DialogInvite, KeyStep, StepInviteForm, KeyNonce, in.Nonce)
	}
	return Card{Body: body, Actions: []Action{positive(ib("Continue", VerbWizardNext)), noInputs(ib("Cancel", VerbWizardCancel))}}
}

// InvitePreviewInput is the sponsor's mail as it will be sent.
type InvitePreviewInput struct {
	ScenarioName string
	Recipients   []string
	Subject      string
	Body         string
	Nonce        string
}

// InvitePreview shows the mail to confirm before it is sent from the sponsor's mailbox.
func InvitePreview(in InvitePreviewInput) Card {
	to := in.Recipients
	more := ""
	if len(to) > 5 {
		more = fmt.Sprintf(" and %d more", len(to)-5)
		to = to[:5]
	}
	body := join(
		one(title("Check the email"), subtitle(fmt.Sprintf("It is sent from your mailbox to %d guest(s), one message each.", len(in.Recipients)))),
		facts("To", strings.Join(to, ", ")+more, "Subject", in.Subject),
		one(Container{Style: "emphasis", Items: textLines(in.Body)}),
	)
	ib := func(title, verb string) ActionExecute {
		return button(title, verb, KeyDialog, DialogInvite, KeyStep, StepInvitePreview, KeyNonce, in.Nonce)
	}
	return Card{Body: body, Actions: []Action{
		positive(ib("Send", VerbWizardNext)),
		noInputs(ib("Back", VerbWizardBack)),
		noInputs(ib("Cancel", VerbWizardCancel)),
	}}
}

// InviteProgressInput is the state of a running invitation batch.
type InviteProgressInput struct {
	ScenarioName     string
	Total            int
	Sent             int
	AlreadyHasAccess int
	Refused          int
}

// InviteProgress is the card updated in place while a batch runs.
func InviteProgress(in InviteProgressInput) Card {
	done := in.Sent + in.AlreadyHasAccess + in.Refused
	return Card{Body: join(
		one(title("Inviting guests to “"+esc(in.ScenarioName)+"”"),
			para(fmt.Sprintf("… %d of %d processed", min(done, in.Total), in.Total))),
		facts("Sent", itoa(in.Sent), "Already have access", itoa(in.AlreadyHasAccess), "Refused", itoa(in.Refused)),
	)}
}

// InviteOutcome is one guest's result.
type InviteOutcome string

// Invite outcomes.
const (
	InviteSent             InviteOutcome = "sent"
	InviteLinkReady        InviteOutcome = "linkReady"
	InviteAlreadyHasAccess InviteOutcome = "alreadyHasAccess"
	InviteRefused          InviteOutcome = "refused"
)

var inviteOutcomeText = map[InviteOutcome]string{
	InviteSent:             "✓ Sent",
	InviteLinkReady:        "✓ Link card ready",
	InviteAlreadyHasAccess: "Already has access",
	InviteRefused:          "✗ Refused",
}

// GuestResult is one row of the results card.
type GuestResult struct {
	Email   string
	Outcome InviteOutcome
	// Reason explains a refusal (or any other outcome) in the sponsor's terms.
	Reason string
}

// InviteResultsInput is a finished batch.
type InviteResultsInput struct {
	ScenarioID   string
	ScenarioName string
	Results      []GuestResult
}

// InviteResults shows per-guest results.
func InviteResults(in InviteResultsInput) Card {
	counts := map[InviteOutcome]int{}
	rows := make([][]string, 0, len(in.Results))
	for _, r := range in.Results {
		counts[r.Outcome]++
		rows = append(rows, []string{r.Email, firstNonEmpty(inviteOutcomeText[r.Outcome], string(r.Outcome)), r.Reason})
	}
	summary := fmt.Sprintf("%d sent · %d already have access · %d refused",
		counts[InviteSent]+counts[InviteLinkReady], counts[InviteAlreadyHasAccess], counts[InviteRefused])
	body := one(title("Invitations for “"+esc(in.ScenarioName)+"”"), subtitle(summary))
	if len(rows) > 0 {
		body = append(body, table([]string{"Guest", "Result", "Details"}, rows))
	}
	return Card{Body: body, Actions: []Action{button("Invite more", VerbInviteGuests, KeyScenarioID, in.ScenarioID)}}
}

// GuestLinkInput is what a forwardable link card tells the guest.
type GuestLinkInput struct {
	ScenarioName string
	Description  string
	SponsorName  string
	// Organisation is the inviting organisation's name.
	Organisation string
	DurationDays int
	MyAccessURL  string
}

// GuestLink is the card a sponsor forwards to a guest. It carries no bot actions (the guest is not
// in the bot's conversation), only the link.
func GuestLink(in GuestLinkInput) Card {
	org := firstNonEmpty(in.Organisation, "our organisation")
	body := join(
		one(title("You're invited to request access"), subtitle(esc(in.ScenarioName)+" · "+esc(org))),
		textLines(in.Description),
		facts("Sponsor", in.SponsorName, "Access lasts", daysIf(in.DurationDays)),
		one(para("Open the link, sign in with your own work account and request access. Your request is approved by "+esc(org)+" before you get access.")),
	)
	var actions []Action
	if u := safeURL(in.MyAccessURL); u != "" {
		body = append(body, note("Link: "+EscapeMarkdown(u)))
		actions = append(actions, ActionOpenURL{Title: "Request access", URL: u})
	}
	return Card{Body: body, Actions: actions}
}

func daysIf(n int) string {
	if n <= 0 {
		return ""
	}
	return days(n)
}

// ExpiryInput is what the sponsor's expiry notice shows.
type ExpiryInput struct {
	Guest        entitlement.Person
	ScenarioName string
	OnboardingID string
	ExpiresAt    time.Time
	// ExtensionAllowed: the policy lets the guest request an extension (offer to send the link).
	ExtensionAllowed bool
	// CanExtend offers Extend (with the sponsor's own delegated right). It is shown to the
	// scenario's owners without probing Entra; Entra decides when they click, and a refusal offers
	// the extension link instead.
	CanExtend bool
}

// ExpiryNotice tells a sponsor that a guest's access ends soon, with the ways to act.
func ExpiryNotice(in ExpiryInput) Card {
	g := in.Guest
	body := join(
		one(title("A guest's access ends soon")),
		facts("Guest", firstNonEmpty(g.DisplayName, g.Email), "Email", g.Email, "Organisation", g.Organisation,
			"Scenario", in.ScenarioName, "Access ends", formatTime(in.ExpiresAt)),
	)
	var actions []Action
	if in.ExtensionAllowed {
		actions = append(actions, button("Send the guest the extension link", VerbExpirySendLink, KeyOnboardingID, in.OnboardingID))
	}
	if in.CanExtend {
		actions = append(actions, positive(button("Extend", VerbExpiryExtend, KeyOnboardingID, in.OnboardingID)))
	}
	if !in.ExtensionAllowed && !in.CanExtend {
		body = append(body, note("This scenario doesn't allow extensions. The guest can request access again after it ends."))
	}
	actions = append(actions, button("Let it expire", VerbExpiryLetExpire, KeyOnboardingID, in.OnboardingID))
	return Card{Body: body, Actions: actions}
}

// GuestRow is one guest in the sponsor's list.
type GuestRow struct {
	OnboardingID string
	Name         string
	Email        string
	ScenarioName string
	// Status is the onboarding state in words (link sent, requested, has access, expiring, …).
	Status string
	Since  time.Time
	Until  time.Time
	// CanRemove shows Remove (the viewer may remove this guest's access).
	CanRemove bool
}

// GuestListInput is one page of guests.
type GuestListInput struct {
	Guests  []GuestRow
	Page    int
	HasNext bool
}

// GuestList lists guests with status, scenario, since and until, each removable with confirmation.
func GuestList(in GuestListInput) Card {
	body := one(title("Your guests"))
	if in.Page > 1 || in.HasNext {
		body = append(body, subtitle("Page "+itoa(max(in.Page, 1))))
	}
	if len(in.Guests) == 0 && in.Page <= 1 {
		body = append(body, para("You have no guests yet. Invite some from one of your scenarios."))
	}
	for _, g := range in.Guests {
		period := ""
		if !g.Since.IsZero() {
			period = "since " + formatDate(g.Since)
		}
		if !g.Until.IsZero() {
			period = strings.TrimSpace(period + " until " + formatDate(g.Until))
		}
		line := esc(g.ScenarioName) + " · " + esc(g.Status)
		if period != "" {
			line += " · " + period
		}
		cols := []Column{{Width: "stretch", VerticalContentAlignment: "Center", Items: one(
			TextBlock{Text: esc(firstNonEmpty(g.Name, g.Email)), Wrap: true, Weight: "Bolder"},
			TextBlock{Text: esc(g.Email), Wrap: true, IsSubtle: true, Spacing: "None"},
			TextBlock{Text: line, Wrap: true, IsSubtle: true, Spacing: "None"},
		)}}
		if g.CanRemove {
			cols = append(cols, Column{Width: "auto", VerticalContentAlignment: "Center", Items: one(actionSet(
				destructive(button("Remove", VerbGuestRemove, KeyOnboardingID, g.OnboardingID))))})
		}
		body = append(body, ColumnSet{Separator: true, Spacing: "Medium", Columns: cols})
	}
	return Card{Body: body, Actions: pageButtons(in.Page, in.HasNext, Data{KeyVerb: VerbGuestList})}
}

// GuestRemoveConfirm asks before removing a guest's access.
func GuestRemoveConfirm(g GuestRow) Card {
	return Card{
		Body: join(
			one(title("Remove "+esc(firstNonEmpty(g.Name, g.Email))+"'s access?")),
			facts("Email", g.Email, "Scenario", g.ScenarioName),
			one(para("Their access to the scenario's resources ends now. If it was their last access package, Entra may block and later remove their guest account, as your tenant's lifecycle settings say.")),
		),
		Actions: []Action{
			destructive(button("Remove access", VerbGuestRemoveConfirm, KeyOnboardingID, g.OnboardingID)),
			button("Keep", VerbGuestList),
		},
	}
}
