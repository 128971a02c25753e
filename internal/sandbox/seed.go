package sandbox

import "time"

// The demo organisation the sandbox starts with. Its people are the Microsoft 365 Agents
// Playground's mock users (see .m365agentsplayground.yml at the repository root), with the
// Playground's aadObjectIds as their object ids, so the user typing in the Playground is a user of
// the sandbox tenant. Those ids are not valid GUIDs (the Playground's are not either); every other
// seeded id is a GUID.
//
//	Person (Playground from.id)        Object id suffix  Role in the demo
//	Alex Wilber (user-id-0, default)   …0000000000020    sponsor; member of guestpass-admins and guestpass-sponsors; manager Patti
//	Megan Bowen (user-id-1)            …0000000000021    approver (Partner approvers); manager Patti
//	Adele Vance (user-id-2)            …0000000000022    sponsor (guestpass-sponsors), owns Project X; manager Megan
//	Isaiah Langer (user-id-3)          …0000000000023    approver (Partner approvers); manager Megan
//	Patti Fernandez (user-id-4)        …0000000000024    guestpass-admins; entitlement-management "Catalog creator"; manager Lynne
//	Lynne Robbins (user-id-5)          …0000000000025    top of the manager chain; Sales leads (nested in Partner approvers)
//
//	Group                     Kind                         Members
//	guestpass-admins          security                     Alex, Patti
//	guestpass-sponsors        security                     Alex, Adele, Megan
//	Partner approvers         security                     Megan, Isaiah, group Sales leads
//	Sales leads               security                     Lynne
//	My Team                   Microsoft 365 + Team         all six (the Playground's team, aadGroupId …000000000031)
//	Project X                 Microsoft 365 + Team         Adele, Alex, Isaiah
//	Northwind Launch          Microsoft 365 + Team         Megan, Patti, Alex
//	Marketing                 Microsoft 365 (no Team)      Megan, Lynne
//
//	SharePoint sites: Project X, Northwind Launch, Partner Portal (https://example.sharepoint.com/sites/…).
//	Enterprise apps: Relecloud Travel (roles Traveler, Travel approver), Proseware CRM (Reader, Editor),
//	Woodgrove Docs (no roles: "Default Access"), plus Microsoft Graph and the bot's own app.
//	Teams app catalog: the bot's app (TeamsAppCatalogID, externalId BotAppID), installed for nobody yet.
//
//	Partner organisation contoso.com: an Entra tenant (ContosoTenantID) with a configured connected
//	organization (internal sponsor Alex, external sponsor Diego) and guests Diego Siciliani and Nestor
//	Wilke (redeemed) and Johanna Lorenz (invitation pending). fabrikam.com is a plain domain (not an
//	Entra tenant) with no connected organization and nobody in the directory yet.
const (
	// TenantID is the sandbox tenant: the Agents Playground's mock tenant id.
	TenantID = "00000000-0000-0000-0000-0000000000001"
	// TenantDomain is the sandbox tenant's verified domain (the Playground users' domain).
	TenantDomain = "example.com"
	// TenantDisplayName names the demo organisation.
	TenantDisplayName = "Example Corp (sandbox)"

	// BotAppID is the client id of the bot's app registration in the sandbox: the Playground's bot id.
	BotAppID = "00000000-0000-0000-0000-00000000000011"
	// BotServicePrincipalID is the object id of the bot's service principal.
	BotServicePrincipalID = "3f6d2c7a-5b1e-4d8f-9a0c-1e2b3c4d5e60"
	// GraphAppID is Microsoft Graph's well-known application id.
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	// GraphServicePrincipalID is the object id of Microsoft Graph's service principal in the sandbox.
	GraphServicePrincipalID = "8d0b6c3e-1f2a-4b5c-9d6e-7f8091a2b3c4"
	// TeamsClientAppID is the Teams client's application id, the azp of Teams SSO tokens.
	TeamsClientAppID = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"

	// UserAlex is Alex Wilber, the Playground's default user: sponsor and guestpass admin.
	UserAlex = "00000000-0000-0000-0000-0000000000020"
	// UserMegan is Megan Bowen: approver.
	UserMegan = "00000000-0000-0000-0000-0000000000021"
	// UserAdele is Adele Vance: sponsor.
	UserAdele = "00000000-0000-0000-0000-0000000000022"
	// UserIsaiah is Isaiah Langer: approver.
	UserIsaiah = "00000000-0000-0000-0000-0000000000023"
	// UserPatti is Patti Fernandez: guestpass admin and entitlement-management catalog creator.
	UserPatti = "00000000-0000-0000-0000-0000000000024"
	// UserLynne is Lynne Robbins: top of the manager chain.
	UserLynne = "00000000-0000-0000-0000-0000000000025"

	// GroupAdmins is the guestpass-admins security group.
	GroupAdmins = "6a1f0b2c-3d4e-4f50-8a61-7b8c9d0e1f21"
	// GroupSponsors is the guestpass-sponsors security group.
	GroupSponsors = "6a1f0b2c-3d4e-4f50-8a61-7b8c9d0e1f22"
	// GroupApprovers is the "Partner approvers" security group (nests GroupSalesLeads).
	GroupApprovers = "6a1f0b2c-3d4e-4f50-8a61-7b8c9d0e1f23"
	// GroupSalesLeads is the "Sales leads" security group.
	GroupSalesLeads = "6a1f0b2c-3d4e-4f50-8a61-7b8c9d0e1f24"
	// GroupMyTeam is the Playground's team "My Team" (its aadGroupId).
	GroupMyTeam = "00000000-0000-0000-0000-000000000031"
	// GroupProjectX is the "Project X" team.
	GroupProjectX = "2b7e4c1d-8f3a-4e6b-9c0d-1a2b3c4d5e01"
	// GroupNorthwind is the "Northwind Launch" team.
	GroupNorthwind = "2b7e4c1d-8f3a-4e6b-9c0d-1a2b3c4d5e02"
	// GroupMarketing is the "Marketing" Microsoft 365 group (no team).
	GroupMarketing = "2b7e4c1d-8f3a-4e6b-9c0d-1a2b3c4d5e03"

	// SiteProjectX is the id of the Project X SharePoint site.
	SiteProjectX = "example.sharepoint.com,4c1e2a3b-5d6f-4a7b-8c9d-0e1f2a3b4c01,9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c01"
	// SiteProjectXURL is the Project X site URL (the originId of its catalog resource).
	SiteProjectXURL = "https://example.sharepoint.com/sites/ProjectX"
	// SiteNorthwind is the id of the Northwind Launch SharePoint site.
	SiteNorthwind = "example.sharepoint.com,4c1e2a3b-5d6f-4a7b-8c9d-0e1f2a3b4c02,9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c02"
	// SiteNorthwindURL is the Northwind Launch site URL.
	SiteNorthwindURL = "https://example.sharepoint.com/sites/NorthwindLaunch"
	// SitePartnerPortal is the id of the Partner Portal SharePoint site.
	SitePartnerPortal = "example.sharepoint.com,4c1e2a3b-5d6f-4a7b-8c9d-0e1f2a3b4c03,9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c03"
	// SitePartnerPortalURL is the Partner Portal site URL.
	SitePartnerPortalURL = "https://example.sharepoint.com/sites/PartnerPortal"

	// AppRelecloudTravel is the service principal id of the Relecloud Travel enterprise app.
	AppRelecloudTravel = "7c2d9e4f-0a1b-4c3d-8e5f-6a7b8c9d0e01"
	// AppProsewareCRM is the service principal id of the Proseware CRM enterprise app.
	AppProsewareCRM = "7c2d9e4f-0a1b-4c3d-8e5f-6a7b8c9d0e02"
	// AppWoodgroveDocs is the service principal id of the Woodgrove Docs enterprise app (no app roles).
	AppWoodgroveDocs = "7c2d9e4f-0a1b-4c3d-8e5f-6a7b8c9d0e03"

	// ContosoDomain is the partner organisation's domain.
	ContosoDomain = "contoso.com"
	// ContosoTenantID is the partner organisation's Entra tenant id.
	ContosoTenantID = "9e3f1a2b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"
	// ContosoConnectedOrgID is the seeded connected organization for Contoso.
	ContosoConnectedOrgID = "c0ffee00-1234-4abc-9def-0123456789ab"
	// GuestDiego is Diego Siciliani (diegos@contoso.com), a redeemed guest and Contoso's external sponsor.
	GuestDiego = "e1a2b3c4-d5e6-4f70-8192-a3b4c5d6e701"
	// GuestNestor is Nestor Wilke (nestorw@contoso.com), a redeemed guest.
	GuestNestor = "e1a2b3c4-d5e6-4f70-8192-a3b4c5d6e702"
	// GuestJohanna is Johanna Lorenz (johannal@contoso.com), a guest whose invitation is pending.
	GuestJohanna = "e1a2b3c4-d5e6-4f70-8192-a3b4c5d6e703"
	// FabrikamDomain is a second external domain: not an Entra tenant, no connected organization.
	FabrikamDomain = "fabrikam.com"
)

// Entitlement-management role definition ids (roleManagement/entitlementManagement).
const (
	// EMRoleCatalogCreator is the "Catalog creator" role.
	EMRoleCatalogCreator = "ba92d953-d8e0-4e39-a797-0cbedb0a89e8"
	// EMRoleCatalogOwner is the "Catalog owner" role.
	EMRoleCatalogOwner = "ae79f266-94d4-4dab-b730-feca7e132178"
	// EMRoleCatalogReader is the "Catalog reader" role.
	EMRoleCatalogReader = "44272f93-9762-48e8-af59-1b5351b1d6b3"
	// EMRoleAccessPackageManager is the "Access package manager" role.
	EMRoleAccessPackageManager = "7f480852-ebdc-47d4-87de-0d8498384a83"
	// EMRoleAssignmentManager is the "Access package assignment manager" role.
	EMRoleAssignmentManager = "e2182095-804a-4656-ae11-64734e9b7ae5"
)

// Microsoft Graph application permissions the sandbox knows, with Graph's app role ids, so the
// admin "doctor" can compare the bot's appRoleAssignments with what it needs.
var graphAppPermissions = []appRoleRec{
	{ID: "9acd699f-1e81-4958-b001-93b1d2506e19", Value: "EntitlementManagement.ReadWrite.All"},
	{ID: "c74fd47d-ed3c-45c3-9a9e-b8676de685d2", Value: "EntitlementManagement.Read.All"},
	{ID: "df021288-bdef-4463-88db-98f22de89214", Value: "User.Read.All"},
	{ID: "741f803b-c850-494e-b5df-cde7c675a1ca", Value: "User.ReadWrite.All"},
	{ID: "09850681-111b-4a89-9bed-3f2cae46d706", Value: "User.Invite.All"},
	{ID: "5b567255-7703-4780-807c-7be8301ae99b", Value: "Group.Read.All"},
	{ID: "62a82d76-70ea-41e2-9197-370581804d09", Value: "Group.ReadWrite.All"},
	{ID: "98830695-27a2-44f7-8c18-0c3ebc9698f6", Value: "GroupMember.Read.All"},
	{ID: "7ab1d382-f21e-4acd-a863-ba3e13f7da61", Value: "Directory.Read.All"},
	{ID: "19dbc75e-c2e2-444c-a770-ec69d8559fc7", Value: "Directory.ReadWrite.All"},
	{ID: "332a536c-c7ef-4017-ab91-336970924f0d", Value: "Sites.Read.All"},
	{ID: "a82116e5-55eb-4c41-a434-62fe8a61c773", Value: "Sites.FullControl.All"},
	{ID: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", Value: "Application.Read.All"},
	{ID: "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", Value: "Application.ReadWrite.All"},
	{ID: "b633e1c5-b582-4048-a93e-9f11b44c7e96", Value: "Mail.Send"},
	{ID: "483bed4a-2ad3-4361-a73b-c83ccdbdc53c", Value: "RoleManagement.Read.Directory"},
	{ID: "908de74d-f8b2-4d6b-a9ed-2a17b3b78179", Value: "TeamsAppInstallation.ReadWriteSelfForUser.All"},
}

// DefaultAppRoles are the application permissions granted to the bot's app in a fresh sandbox:
// what guestpass needs in a real tenant.
var DefaultAppRoles = []string{
	"EntitlementManagement.ReadWrite.All",
	"User.Read.All",
	"User.Invite.All",
	"Group.ReadWrite.All",
	"Sites.FullControl.All",
	"Application.ReadWrite.All",
	"CrossTenantInformation.ReadBasic.All",
	// Only with TEAMS_APP_CATALOG_ID (installing the app for approvers); granted so local mode can
	// turn that on.
	"TeamsAppInstallation.ReadWriteSelfForUser.All",
}

// DefaultDelegatedScopes are the delegated permissions consented for the bot's app: what an
// on-behalf-of token for ".default" carries.
var DefaultDelegatedScopes = []string{
	"EntitlementManagement.ReadWrite.All",
	"User.Read",
	"User.ReadBasic.All",
	"Mail.Send",
}

func seedState(now time.Time) *state {
	created := now.Add(-90 * 24 * time.Hour).UTC().Truncate(time.Second)
	person := func(id, given, surname, mailLocal, upnLocal, title, dept, manager string) *userRec {
		return &userRec{
			ID: id, DisplayName: given + " " + surname, GivenName: given, Surname: surname,
			Mail: mailLocal + "@" + TenantDomain, UPN: upnLocal + "@" + TenantDomain,
			JobTitle: title, Department: dept, UserType: "Member", ManagerID: manager, Created: created,
		}
	}
	guest := func(id, given, surname, local, state string, sponsor string) *userRec {
		mail := local + "@" + ContosoDomain
		return &userRec{
			ID: id, DisplayName: given + " " + surname, GivenName: given, Surname: surname,
			Mail: mail, UPN: guestUPN(mail), UserType: "Guest", ExternalUserState: state,
			CreationType: "Invitation", HomeTenantID: ContosoTenantID, SponsorIDs: []string{sponsor}, Created: created,
		}
	}
	team := func(id, name, nick, desc string, members ...string) *groupRec {
		return &groupRec{
			ID: id, DisplayName: name, Description: desc, Mail: nick + "@" + TenantDomain, MailNickname: nick,
			GroupTypes: []string{"Unified"}, MailEnabled: true, ResourceProvisioningOptions: []string{"Team"},
			Visibility: "Private", MemberIDs: members, OwnerIDs: members[:1], Created: created,
		}
	}
	secGroup := func(id, name, nick, desc string, members ...string) *groupRec {
		return &groupRec{
			ID: id, DisplayName: name, Description: desc, MailNickname: nick, GroupTypes: []string{},
			SecurityEnabled: true, ResourceProvisioningOptions: []string{}, MemberIDs: members, Created: created,
		}
	}
	site := func(id, name, display, url, desc string) *siteRec {
		return &siteRec{ID: id, Name: name, DisplayName: display, WebURL: url, Description: desc, Created: created}
	}
	role := func(id, value, display string) appRoleRec {
		return appRoleRec{ID: id, Value: value, DisplayName: display, Description: display, AllowedMemberTypes: []string{"User"}}
	}
	graphRoles := make([]appRoleRec, len(graphAppPermissions))
	for i, p := range graphAppPermissions {
		graphRoles[i] = appRoleRec{ID: p.ID, Value: p.Value, DisplayName: p.Value, Description: p.Value,
			AllowedMemberTypes: []string{"Application"}}
	}
	marketing := team(GroupMarketing, "Marketing", "marketing", "Marketing department", UserMegan, UserLynne)
	marketing.ResourceProvisioningOptions = []string{}

	return &state{
		Version:         stateVersion,
		AppRoles:        append([]string(nil), DefaultAppRoles...),
		DelegatedScopes: append([]string(nil), DefaultDelegatedScopes...),
		KnownTenants: []knownTenant{
			{TenantID: ContosoTenantID, DisplayName: "Contoso", Domain: ContosoDomain},
		},
		Users: []*userRec{
			person(UserAlex, "Alex", "Wilber", "alexw", "alexw", "Partner Manager", "Business Development", UserPatti),
			person(UserMegan, "Megan", "Bowen", "meganb", "meganb", "Marketing Manager", "Marketing", UserPatti),
			person(UserAdele, "Adele", "Vance", "adelev", "adelev", "Project Lead", "Engineering", UserMegan),
			person(UserIsaiah, "Isaiah", "Langer", "isaiahl", "isaiah", "Sales Representative", "Sales", UserMegan),
			person(UserPatti, "Patti", "Fernandez", "pattif", "pattif", "Director of Partnerships", "Business Development", UserLynne),
			person(UserLynne, "Lynne", "Robbins", "lynner", "lynner", "Chief Operating Officer", "Executive", ""),
			guest(GuestDiego, "Diego", "Siciliani", "diegos", "Accepted", UserAlex),
			guest(GuestNestor, "Nestor", "Wilke", "nestorw", "Accepted", UserAdele),
			guest(GuestJohanna, "Johanna", "Lorenz", "johannal", "PendingAcceptance", UserAlex),
		},
		Groups: []*groupRec{
			secGroup(GroupAdmins, "guestpass-admins", "guestpass-admins", "Administrators of the guestpass bot", UserAlex, UserPatti),
			secGroup(GroupSponsors, "guestpass-sponsors", "guestpass-sponsors", "Employees who may sponsor guests", UserAlex, UserAdele, UserMegan),
			secGroup(GroupApprovers, "Partner approvers", "partner-approvers", "Approve partner access requests", UserMegan, UserIsaiah, GroupSalesLeads),
			secGroup(GroupSalesLeads, "Sales leads", "sales-leads", "Sales leadership", UserLynne),
			team(GroupMyTeam, "My Team", "myteam", "The Agents Playground's team", UserAlex, UserMegan, UserAdele, UserIsaiah, UserPatti, UserLynne),
			team(GroupProjectX, "Project X", "projectx", "Project X delivery team", UserAdele, UserAlex, UserIsaiah),
			team(GroupNorthwind, "Northwind Launch", "northwindlaunch", "Launch of the Northwind product line", UserMegan, UserPatti, UserAlex),
			marketing,
		},
		Sites: []*siteRec{
			site(SiteProjectX, "ProjectX", "Project X", SiteProjectXURL, "Project X documents"),
			site(SiteNorthwind, "NorthwindLaunch", "Northwind Launch", SiteNorthwindURL, "Launch plan and assets"),
			site(SitePartnerPortal, "PartnerPortal", "Partner Portal", SitePartnerPortalURL, "Shared space for partners"),
		},
		ServicePrincipals: []*servicePrincipalRec{
			{ID: GraphServicePrincipalID, AppID: GraphAppID, DisplayName: "Microsoft Graph", AppRoles: graphRoles,
				OwnerTenant: "f8cdef31-a31e-4b4a-93e4-5f571e91255a"},
			{ID: BotServicePrincipalID, AppID: BotAppID, DisplayName: "guestpass (sandbox)", Tags: []string{"WindowsAzureActiveDirectoryIntegratedApp"},
				OwnerTenant: TenantID},
			{ID: AppRelecloudTravel, AppID: "41b5c7d9-2e3f-4a5b-8c6d-7e8f9a0b1c01", DisplayName: "Relecloud Travel",
				Tags: []string{"WindowsAzureActiveDirectoryIntegratedApp"}, OwnerTenant: TenantID,
				AppRoles: []appRoleRec{
					role("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d01", "Travel.Traveler", "Traveler"),
					role("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d02", "Travel.Approver", "Travel approver"),
				}},
			{ID: AppProsewareCRM, AppID: "41b5c7d9-2e3f-4a5b-8c6d-7e8f9a0b1c02", DisplayName: "Proseware CRM",
				Tags: []string{"WindowsAzureActiveDirectoryIntegratedApp"}, OwnerTenant: TenantID,
				AppRoles: []appRoleRec{
					role("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d03", "CRM.Reader", "Reader"),
					role("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d04", "CRM.Editor", "Editor"),
				}},
			{ID: AppWoodgroveDocs, AppID: "41b5c7d9-2e3f-4a5b-8c6d-7e8f9a0b1c03", DisplayName: "Woodgrove Docs",
				Tags: []string{"WindowsAzureActiveDirectoryIntegratedApp"}, OwnerTenant: TenantID},
		},
		EMRoleAssignments: []*emRoleAssignmentRec{
			{ID: "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b01", PrincipalID: UserPatti, RoleDefinitionID: EMRoleCatalogCreator,
				DirectoryScopeID: "/", AppScopeID: "/"},
		},
		ConnectedOrgs: []*connectedOrgRec{{
			ID: ContosoConnectedOrgID, DisplayName: "Contoso", Description: "Partner organisation Contoso",
			IdentitySources: []map[string]any{{
				"@odata.type": "#microsoft.graph.azureActiveDirectoryTenant",
				"tenantId":    ContosoTenantID, "displayName": "Contoso",
			}},
			State: "configured", InternalSponsorIDs: []string{UserAlex}, ExternalSponsorIDs: []string{GuestDiego},
			Created: created, Modified: created,
		}},
	}
}

// guestUPN builds the user principal name Entra gives an invited guest.
func guestUPN(mail string) string {
	b := []byte(mail)
	for i, c := range b {
		if c == '@' {
			b[i] = '_'
		}
	}
	return string(b) + "#EXT#@" + "example.onmicrosoft.com"
}
