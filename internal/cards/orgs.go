package cards

import (
	"strings"

	"guestpass/internal/entitlement"
)

// Cards of the admin commands `orgs add <domain>` and `orgs remove <organization>`, and the data
// of the admin lists' paging buttons. Every write is confirmed first; the confirming click then
// runs with the admin's delegated token, so the cards say that Entra records the admin.

// Data keys of the admin cards.
const (
	// KeyDomain is the domain `orgs add` confirms.
	KeyDomain = "domain"
	// KeyOrgID is a connected organization's id.
	KeyOrgID = "orgId"
	// KeyCommand is an admin list's command line in canonical form (commands.Command.String):
	// a paging click runs it again, through the same parser and authorization check as typing it.
	KeyCommand = "command"
)

// Admin card verbs.
const (
	// VerbOrgAdd shows the add confirmation again (Retry after a failed look-up).
	VerbOrgAdd = "orgs.add"
	// VerbOrgAddConfirm creates the connected organization for data "domain".
	VerbOrgAddConfirm = "orgs.addConfirm"
	// VerbOrgRemove shows the removal confirmation for data "orgId".
	VerbOrgRemove = "orgs.remove"
	// VerbOrgRemoveConfirm deletes the connected organization data "orgId".
	VerbOrgRemoveConfirm = "orgs.removeConfirm"
	// VerbOrgCancel drops an add ("domain") or a removal ("orgId").
	VerbOrgCancel = "orgs.cancel"
	// VerbAdminPage shows page data "page" of the admin list data "command".
	VerbAdminPage = "admin.page"
)

// StateConfigured is the connected organization state `orgs add` creates.
const StateConfigured = "configured"

// maxPick is the most organizations a pick list or a suggestion list shows.
const maxPick = 10

// OrgAddInput is what `orgs add` is about to create.
type OrgAddInput struct {
	Domain string
	// DisplayName is the tenant's name, else the domain.
	DisplayName string
	// TenantID is the domain's Entra tenant; empty when there is none.
	TenantID string
}

// tenantText says what the identity source will be.
func tenantText(tenantID string) string {
	if tenantID == "" {
		return "not an Entra tenant: domain identity source"
	}
	return tenantID
}

// OrgAddConfirm asks before adding a connected organization.
func OrgAddConfirm(in OrgAddInput) Card {
	return Card{
		Body: join(
			one(title("Add a connected organization?")),
			facts("Organization", firstNonEmpty(in.DisplayName, in.Domain), "Domain", in.Domain,
				"Tenant", tenantText(in.TenantID), "State", StateConfigured),
			one(para("Users from this organization can then request the access packages whose policies admit connected organizations.")),
			one(note("It is created with your account: Entra checks that you may add connected organizations and records you as the one who did.")),
		),
		Actions: []Action{
			positive(noInputs(button("Confirm", VerbOrgAddConfirm, KeyDomain, in.Domain))),
			noInputs(button("Cancel", VerbOrgCancel, KeyDomain, in.Domain)),
		},
	}
}

// orgFacts describes a connected organization.
func orgFacts(o entitlement.ConnectedOrg) []Element {
	return facts("Organization", o.DisplayName, "Domain", strings.Join(o.Domains, ", "),
		"Tenant", strings.Join(o.TenantIDs, ", "), "State", o.State, "Id", o.ID)
}

// OrgExists shows the connected organization that already covers domain: nothing was added.
func OrgExists(domain string, o entitlement.ConnectedOrg) Card {
	return Card{Body: join(
		one(title("Already connected")),
		one(para(esc(domain)+" is already covered by this connected organization, so nothing was added.")),
		orgFacts(o),
	)}
}

// OrgAdded confirms a created connected organization.
func OrgAdded(o entitlement.ConnectedOrg) Card {
	return Card{Body: join(
		one(title("Connected organization added")),
		orgFacts(o),
		one(note("Entra records you as the one who added it.")),
	)}
}

// OrgRemoveInput is what `orgs remove` is about to delete and what depends on it.
type OrgRemoveInput struct {
	Org entitlement.ConnectedOrg
	// Policies are the assignment policies that target the organization's users.
	Policies []string
	// Scenarios are the guestpass scenarios that list the organization as a partner.
	Scenarios []string
	// Unchecked is set when what depends on the organization could not be read.
	Unchecked bool
}

// OrgRemoveConfirm asks before deleting a connected organization, saying what happens.
func OrgRemoveConfirm(in OrgRemoveInput) Card {
	o := in.Org
	body := join(
		one(title("Remove "+esc(firstNonEmpty(o.DisplayName, o.ID))+"?")),
		orgFacts(o),
		one(para("Entra deletes the connected organization. Assignment policies that target it stop admitting its users; access they already have is not removed by this.")),
	)
	if len(in.Policies) > 0 {
		body = append(body, warning("Assignment policies that target it: "+escList(in.Policies)+". Entra may refuse the removal while they do."))
	}
	if len(in.Scenarios) > 0 {
		body = append(body, warning("guestpass scenarios that list it as a partner: "+escList(in.Scenarios)+". Its users can no longer request them."))
	}
	if in.Unchecked {
		body = append(body, warning("I couldn't check which policies and scenarios use it."))
	}
	body = append(body, note("It is removed with your account: Entra checks that you may and records you as the one who did."))
	return Card{Body: body, Actions: []Action{
		destructive(noInputs(button("Remove", VerbOrgRemoveConfirm, KeyOrgID, o.ID))),
		noInputs(button("Cancel", VerbOrgCancel, KeyOrgID, o.ID)),
	}}
}

// escList escapes and joins names, at most maxPick of them.
func escList(names []string) string {
	parts := make([]string, 0, min(len(names), maxPick)+1)
	for i, n := range names {
		if i == maxPick {
			parts = append(parts, itoa(len(names)-maxPick)+" more")
			break
		}
		parts = append(parts, esc(n))
	}
	return strings.Join(parts, ", ")
}

// OrgPickInput is a list of organizations to choose the one to remove from: several matched
// Query, or none did and these are suggestions.
type OrgPickInput struct {
	Query string
	Orgs  []entitlement.ConnectedOrg
	// NoMatch says nothing matched Query; Orgs are then suggestions (possibly none).
	NoMatch bool
}

// OrgPick lists organizations, each with a button that opens its removal confirmation.
func OrgPick(in OrgPickInput) Card {
	var body []Element
	switch {
	case in.NoMatch && len(in.Orgs) == 0:
		body = one(title("No such organization"),
			para("No connected organization has the name, domain or id "+esc(in.Query)+". Type orgs to list them."))
	case in.NoMatch:
		body = one(title("No such organization"),
			para("No connected organization has the name, domain or id "+esc(in.Query)+". Did you mean one of these?"))
	default:
		body = one(title("Which organization?"),
			para("Several connected organizations match "+esc(in.Query)+". Pick the one to remove."))
	}
	for i, o := range in.Orgs {
		if i == maxPick {
			body = append(body, note(itoa(len(in.Orgs)-maxPick)+" more; type orgs remove with the organization's id."))
			break
		}
		detail := strings.Join(append(append([]string{}, o.Domains...), o.TenantIDs...), ", ")
		body = append(body, ColumnSet{Separator: true, Spacing: "Medium", Columns: []Column{
			{Width: "stretch", VerticalContentAlignment: "Center", Items: one(
				TextBlock{Text: esc(firstNonEmpty(o.DisplayName, o.ID)), Wrap: true, Weight: "Bolder"},
				TextBlock{Text: cellText(detail), Wrap: true, IsSubtle: true, Spacing: "None"},
				TextBlock{Text: esc(o.ID), Wrap: true, IsSubtle: true, Spacing: "None", Size: "Small"},
			)},
			{Width: "auto", VerticalContentAlignment: "Center", Items: one(actionSet(
				noInputs(button("Remove…", VerbOrgRemove, KeyOrgID, o.ID))))},
		}})
	}
	return Card{Body: body}
}

// AdminPageData is the paging data of an admin list card: a click on Next or Previous runs
// command again for the page the button names.
func AdminPageData(command string) Data {
	return Data{KeyVerb: VerbAdminPage, KeyCommand: command}
}
