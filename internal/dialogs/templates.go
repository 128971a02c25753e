package dialogs

import (
	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
)

// Template is a common external-collaboration scenario that pre-fills the wizard. Resources are
// never pre-filled (they are the sponsor's own Teams, sites and apps); Hint says what to add.
type Template struct {
	ID          string
	Name        string
	Description string
	// Draft is the pre-filled scenario (no name, partners or resources).
	Draft entitlement.Scenario
	// NeedsSecondStage makes the approval step require second-stage approvers: the template's
	// point is that someone besides the sponsor signs off.
	NeedsSecondStage bool
}

// Template ids (data "template" of the picker's buttons and --template of `scenario new`).
const (
	TemplateProjectPartner = "project-partner"
	TemplateVendorApp      = "vendor-app"
	TemplateEventGuest     = "event-guest"
)

// defaultAutoDenyDays is the auto-denial the wizard proposes: long enough for a sponsor's week
// off, short enough that a forgotten request does not linger.
const defaultAutoDenyDays = 7

// sponsorStage is an approval stage decided by the scenario's sponsor.
func sponsorStage() entitlement.Stage {
	return entitlement.Stage{
		Approvers:                     []entitlement.Approver{{Kind: entitlement.ApproverSponsor}},
		ApproverJustificationRequired: false,
		AutoDenyAfterDays:             defaultAutoDenyDays,
	}
}

// blankDraft is the wizard's starting point without a template: sponsor approval with requestor
// justification (the safe defaults issue 4 asks for) and 90 days.
func blankDraft() entitlement.Scenario {
	return entitlement.Scenario{
		Approval: entitlement.Approval{
			Required:                       true,
			RequestorJustificationRequired: true,
			Stages:                         []entitlement.Stage{sponsorStage()},
		},
		DurationDays:   90,
		AllowExtension: true,
	}
}

// Templates returns the template catalogue in the order the picker shows it.
func Templates() []Template {
	partner := blankDraft()
	partner.Template = TemplateProjectPartner
	partner.DurationDays = 90

	vendor := blankDraft()
	vendor.Template = TemplateVendorApp
	vendor.DurationDays = 30
	vendor.AllowExtension = false
	second := sponsorStage()
	second.Approvers = nil
	second.ApproverJustificationRequired = true
	vendor.Approval.Stages = append(vendor.Approval.Stages, second)

	event := blankDraft()
	event.Template = TemplateEventGuest
	event.DurationDays = 14
	event.AllowExtension = false
	event.Approval = entitlement.Approval{Required: false}

	return []Template{
		{
			ID:          TemplateProjectPartner,
			Name:        "Project partner",
			Description: "A partner organisation's people join a project Team and its SharePoint site.\nYou approve each request; access lasts 90 days and can be extended.",
			Draft:       partner,
		},
		{
			ID:          TemplateVendorApp,
			Name:        "Vendor app access",
			Description: "A vendor's staff get a role in one of your enterprise apps.\nYou approve first, then a second approver you name; access lasts 30 days.",
			Draft:       vendor, NeedsSecondStage: true,
		},
		{
			ID:          TemplateEventGuest,
			Name:        "Event guest",
			Description: "Guests from the partner organisation join an event Team for two weeks.\nRequests from the partner organisation are approved automatically.",
			Draft:       event,
		},
	}
}

// TemplateByID returns the template with id.
func TemplateByID(id string) (Template, bool) {
	for _, t := range Templates() {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

// templateOptions lists the templates for the picker card.
func templateOptions() []cards.TemplateOption {
	ts := Templates()
	out := make([]cards.TemplateOption, len(ts))
	for i, t := range ts {
		out[i] = cards.TemplateOption{ID: t.ID, Name: t.Name, Description: t.Description}
	}
	return out
}
