package cards

import "strconv"

// Data is an action's data: ids only, never identities or authorisation. encoding/json writes map
// keys sorted, so cards stay deterministic.
type Data map[string]string

// Data keys. Handlers read exactly these; the identity of the clicking user always comes from the
// authenticated activity.
const (
	KeyVerb         = "verb"
	KeyDialog       = "dialog"
	KeyStep         = "step"
	KeyNonce        = "nonce"
	KeyRequestID    = "requestId"
	KeyScenarioID   = "scenarioId"
	KeyTemplate     = "template"
	KeyIndex        = "index"
	KeyPage         = "page"
	KeyOnboardingID = "onboardingId"
)

// Verbs. Approval verbs are handled by the approvals package; wizard.* verbs by the dialog named in
// data "dialog"; the rest by the command handlers.
const (
	VerbApprove = "approve"
	VerbDeny    = "deny"
	VerbRefresh = "refresh"

	VerbWizardNext           = "wizard.next"
	VerbWizardBack           = "wizard.back"
	VerbWizardCancel         = "wizard.cancel"
	VerbWizardRestart        = "wizard.restart"
	VerbWizardSearch         = "wizard.search"
	VerbWizardAddResources   = "wizard.addResources"
	VerbWizardRemoveResource = "wizard.removeResource"
	// VerbWizardTemplate starts the scenario wizard pre-filled from data "template".
	VerbWizardTemplate = "wizard.template"
	// VerbCreateScenario creates the reviewed draft (also the Retry after a failed creation).
	VerbCreateScenario = "scenario.create"
	// VerbSaveScenario saves an edited scenario (review step of an edit).
	VerbSaveScenario = "scenario.save"

	VerbNewScenario    = "scenario.new"
	VerbScenarioList   = "scenario.list"
	VerbScenarioShow   = "scenario.show"
	VerbScenarioEdit   = "scenario.edit"
	VerbScenarioRetire = "scenario.retire"
	VerbRetireConfirm  = "scenario.retireConfirm"

	// VerbInviteGuests opens the invite form (data "scenarioId" when known).
	VerbInviteGuests = "invite.start"

	VerbGuestList          = "guests.list"
	VerbGuestRemove        = "guests.remove"
	VerbGuestRemoveConfirm = "guests.removeConfirm"

	VerbExpirySendLink  = "expiry.sendLink"
	VerbExpiryExtend    = "expiry.extend"
	VerbExpiryLetExpire = "expiry.letExpire"
)

// Dialog names (data "dialog").
const (
	DialogScenario = "scenario"
	DialogInvite   = "invite"
)

// ErrorKeyForm keys an error about the whole card rather than one field.
const ErrorKeyForm = "_form"

// Input ids. Submitted values merge into data under these keys.
const (
	InputName                   = "name"
	InputDescription            = "description"
	InputPartnerDomains         = "partnerDomains"
	InputAnyExternalUser        = "anyExternalUser"
	InputResourceQuery          = "resourceQuery"
	InputResourcePick           = "resourcePick"
	InputApprovalRequired       = "approvalRequired"
	InputSponsorApproves        = "sponsorApproves"
	InputStage1Approvers        = "stage1Approvers"
	InputStage2Approvers        = "stage2Approvers"
	InputStage3Approvers        = "stage3Approvers"
	InputRequestorJustification = "requestorJustificationRequired"
	InputApproverJustification  = "approverJustificationRequired"
	InputAutoDenyDays           = "autoDenyDays"
	InputDurationDays           = "durationDays"
	InputAllowExtension         = "allowExtension"
	InputAllowB2B               = "allowB2BInvitation"

	// InputJustification is the approver's justification on an approval card.
	InputJustification = "justification"

	InputInviteScenario  = "inviteScenario"
	InputInviteAddresses = "addresses"
	InputInviteDelivery  = "delivery"
)

// QuestionSlots is how many requestor questions the wizard's questions step offers.
const QuestionSlots = 3

// InputQuestion is the id of question n's text (1-based).
func InputQuestion(n int) string { return "question" + strconv.Itoa(n) }

// InputQuestionChoices is the id of question n's comma-separated choices (empty: free text).
func InputQuestionChoices(n int) string { return "question" + strconv.Itoa(n) + "Choices" }

// InputQuestionRequired is the id of question n's "answer required" toggle.
func InputQuestionRequired(n int) string { return "question" + strconv.Itoa(n) + "Required" }

// Toggle values as submitted.
const (
	ToggleOn  = "true"
	ToggleOff = "false"
)

// Invitation delivery choices (InputInviteDelivery).
const (
	DeliveryMail = "mail"
	DeliveryLink = "link"
	DeliveryB2B  = "b2b"
)

// button builds an Action.Execute; data gets the verb and the extra key/value pairs.
func button(title, verb string, kv ...string) ActionExecute {
	d := Data{KeyVerb: verb}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			d[kv[i]] = kv[i+1]
		}
	}
	return ActionExecute{Title: plain(title, 60), Verb: verb, Data: d}
}

// positive, destructive and noInputs adjust a button.
func positive(a ActionExecute) ActionExecute    { a.Style = "positive"; return a }
func destructive(a ActionExecute) ActionExecute { a.Style = "destructive"; return a }
func noInputs(a ActionExecute) ActionExecute    { a.AssociatedInputs = "none"; return a }

// pageButtons returns Previous/Next for a 1-based page of a list whose buttons send verb with the
// given extra data.
func pageButtons(page int, hasNext bool, base Data) []Action {
	if base == nil || base[KeyVerb] == "" {
		return nil
	}
	var out []Action
	mk := func(title string, p int) ActionExecute {
		d := Data{}
		for k, v := range base {
			d[k] = v
		}
		d[KeyPage] = strconv.Itoa(p)
		return noInputs(ActionExecute{Title: title, Verb: base[KeyVerb], Data: d})
	}
	if page > 1 {
		out = append(out, mk("Previous", page-1))
	}
	if hasNext {
		out = append(out, mk("Next", max(page, 1)+1))
	}
	return out
}
