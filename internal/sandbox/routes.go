package sandbox

import "net/http"

const emPath = "/v1.0/identityGovernance/entitlementManagement"

func (s *Sandbox) buildRoutes() []route {
	g := func(method, pattern string, p *perm, h handlerFunc) route {
		return route{method: method, pattern: pattern, kind: kindGraph, perm: p, h: h}
	}
	id := func(method, pattern string) route {
		return route{method: method, pattern: pattern, kind: kindIdentity}
	}
	ctl := func(method, pattern string, h handlerFunc) route {
		return route{method: method, pattern: "/sandbox" + pattern, kind: kindControl, h: h}
	}
	const (
		get, post, patch, put, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete
	)
	return compileRoutes([]route{
		// Entra-like identity endpoints.
		id(get, "/{tenant}/v2.0/.well-known/openid-configuration"),
		id(get, "/{tenant}/discovery/v2.0/keys"),
		id(post, "/{tenant}/oauth2/v2.0/token"),
		id(get, "/{tenant}/oauth2/v2.0/authorize"),
		id(get, "/common/discovery/instance"),

		// Directory.
		g(get, "/v1.0/me", permMe, s.getMe),
		g(post, "/v1.0/me/sendMail", permSendMail, s.sendMail),
		g(get, "/v1.0/users", permUsersRead, s.listUsers),
		g(get, "/v1.0/users/{id}", permUsersRead, s.getUser),
		g(get, "/v1.0/users/{id}/manager", permUsersRead, s.getManager),
		g(get, "/v1.0/users/{id}/sponsors", permUsersRead, s.listSponsors),
		g(post, "/v1.0/users/{id}/sponsors/$ref", permUsersWrite, s.addSponsor),
		g(get, "/v1.0/users/{id}/memberOf", permMembership, s.listMemberOf(false)),
		g(get, "/v1.0/users/{id}/transitiveMemberOf", permMembership, s.listMemberOf(true)),
		g(post, "/v1.0/users/{id}/checkMemberGroups", permMembership, s.checkMemberGroups),
		g(post, "/v1.0/users/{id}/sendMail", permSendMail, s.sendMail),
		g(get, "/v1.0/groups", permGroupsRead, s.listGroups),
		g(get, "/v1.0/groups/{id}", permGroupsRead, s.getGroup),
		g(get, "/v1.0/groups/{id}/members", permGroupsRead, s.listMembers(false, false)),
		g(get, "/v1.0/groups/{id}/transitiveMembers", permGroupsRead, s.listMembers(true, false)),
		g(get, "/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user", permGroupsRead, s.listMembers(true, true)),
		g(get, "/v1.0/sites", permSitesRead, s.listSites),
		g(get, "/v1.0/sites/{id}", permSitesRead, s.getSite),
		g(get, "/v1.0/servicePrincipals", permAppsRead, s.listServicePrincipals),
		g(get, "/v1.0/servicePrincipals/{id}", permAppsRead, s.getServicePrincipal),
		g(get, "/v1.0/servicePrincipals(appId='{appId}')", permAppsRead, s.getServicePrincipal),
		g(get, "/v1.0/servicePrincipals/{id}/appRoleAssignments", permAppsRead, s.listAppRoleAssignments),
		g(get, "/v1.0/roleManagement/entitlementManagement/roleAssignments", permRoleAssignmentsRead, s.listEMRoleAssignments),
		g(get, "/v1.0/roleManagement/directory/roleAssignments", permDirectoryRolesRead, s.listDirectoryRoleAssignments),
		g(post, "/v1.0/invitations", permInvite, s.createInvitation),
		g(get, "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='{domain}')", permTenantInfo, s.findTenantByDomain),

		// Teams apps: the app catalog and apps installed for users (teamsapps.go).
		g(get, "/v1.0/appCatalogs/teamsApps", permTeamsCatalogRead, s.listTeamsApps),
		g(get, "/v1.0/appCatalogs/teamsApps/{id}", permTeamsCatalogRead, s.getTeamsApp),
		g(get, "/v1.0/users/{id}/teamwork/installedApps", permUserAppsRead, s.listInstalledApps),
		g(post, "/v1.0/users/{id}/teamwork/installedApps", permUserAppsWrite, s.installApp),
		g(get, "/v1.0/users/{id}/teamwork/installedApps/{iid}", permUserAppsRead, s.getInstalledApp),
		g(get, "/v1.0/users/{id}/teamwork/installedApps/{iid}/chat", permUserAppsRead, s.getInstalledAppChat),

		// Entitlement management: catalogs and resources.
		g(post, emPath+"/catalogs", permEMWrite, s.createCatalog),
		g(get, emPath+"/catalogs", permEMRead, s.listCatalogs),
		g(get, emPath+"/catalogs/{id}", permEMRead, s.getCatalog),
		g(get, emPath+"/catalogs/{id}/resources", permEMRead, s.listCatalogResources),
		g(get, emPath+"/catalogs/{id}/resourceRoles", permEMRead, s.listCatalogResourceRoles),
		g(post, emPath+"/resourceRequests", permEMWrite, s.createResourceRequest),

		// Access packages.
		g(post, emPath+"/accessPackages", permEMWrite, s.createAccessPackage),
		g(get, emPath+"/accessPackages", permEMRead, s.listAccessPackages),
		g(get, emPath+"/accessPackages/{id}", permEMRead, s.getAccessPackage),
		g(patch, emPath+"/accessPackages/{id}", permEMWrite, s.updateAccessPackage),
		g(del, emPath+"/accessPackages/{id}", permEMWrite, s.deleteAccessPackage),
		g(get, emPath+"/accessPackages/{id}/resourceRoleScopes", permEMRead, s.listRoleScopes),
		g(post, emPath+"/accessPackages/{id}/resourceRoleScopes", permEMWrite, s.createRoleScope),
		g(del, emPath+"/accessPackages/{id}/resourceRoleScopes/{rsid}", permEMWrite, s.deleteRoleScope),
		g(get, emPath+"/accessPackages/{id}/assignmentPolicies", permEMRead, s.listPackagePolicies),

		// Assignment policies.
		g(post, emPath+"/assignmentPolicies", permEMWrite, s.createPolicy),
		g(get, emPath+"/assignmentPolicies", permEMRead, s.listPolicies),
		g(get, emPath+"/assignmentPolicies/{id}", permEMRead, s.getPolicy),
		g(put, emPath+"/assignmentPolicies/{id}", permEMWrite, s.replacePolicy),
		g(del, emPath+"/assignmentPolicies/{id}", permEMWrite, s.deletePolicy),

		// Connected organizations.
		g(post, emPath+"/connectedOrganizations", permEMWrite, s.createConnectedOrg),
		g(get, emPath+"/connectedOrganizations", permEMRead, s.listConnectedOrgs),
		g(get, emPath+"/connectedOrganizations/{id}", permEMRead, s.getConnectedOrg),
		g(patch, emPath+"/connectedOrganizations/{id}", permEMWrite, s.updateConnectedOrg),
		g(del, emPath+"/connectedOrganizations/{id}", permEMWrite, s.deleteConnectedOrg),
		g(get, emPath+"/connectedOrganizations/{id}/internalSponsors", permEMRead, s.listOrgSponsors(true)),
		g(get, emPath+"/connectedOrganizations/{id}/externalSponsors", permEMRead, s.listOrgSponsors(false)),
		g(post, emPath+"/connectedOrganizations/{id}/internalSponsors/$ref", permEMWrite, s.addOrgSponsor(true)),
		g(post, emPath+"/connectedOrganizations/{id}/externalSponsors/$ref", permEMWrite, s.addOrgSponsor(false)),
		g(del, emPath+"/connectedOrganizations/{id}/internalSponsors/{oid}/$ref", permEMWrite, s.removeOrgSponsor(true)),
		g(del, emPath+"/connectedOrganizations/{id}/externalSponsors/{oid}/$ref", permEMWrite, s.removeOrgSponsor(false)),

		// Requests, assignments, approvals.
		g(get, emPath+"/assignmentRequests", permEMRead, s.listRequests),
		g(post, emPath+"/assignmentRequests", permRequestPost, s.createRequest),
		g(get, emPath+"/assignmentRequests/filterByCurrentUser(on='{on}')", permMyRequests, s.requestsForCurrentUser),
		g(get, emPath+"/assignmentRequests/{id}", permEMRead, s.getRequest),
		g(post, emPath+"/assignmentRequests/{id}/cancel", permRequestSelf, s.cancelRequest),
		g(get, emPath+"/assignments", permEMRead, s.listAssignments),
		g(get, emPath+"/assignments/{id}", permEMRead, s.getAssignment),
		g(get, emPath+"/accessPackageAssignmentApprovals/filterByCurrentUser(on='{on}')", permApprovalRead, s.approvalsForCurrentUser),
		g(get, emPath+"/accessPackageAssignmentApprovals/{id}", permApprovalRead, s.getApproval),
		g(get, emPath+"/accessPackageAssignmentApprovals/{id}/stages", permApprovalRead, s.listStages),
		g(get, emPath+"/accessPackageAssignmentApprovals/{id}/stages/{sid}", permApprovalRead, s.getStage),
		g(patch, emPath+"/accessPackageAssignmentApprovals/{id}/stages/{sid}", permApprovalEdit, s.updateStage),

		// Sandbox-only control endpoints (no Graph equivalent; local demo and tests).
		ctl(post, "/sso-token", s.ctlSSOToken),
		ctl(post, "/guest-requests", s.ctlGuestRequest),
		ctl(post, "/approvals/{id}/decide", s.ctlDecide),
		ctl(post, "/assignment-requests/{id}/cancel", s.ctlCancel),
		ctl(get, "/mail", s.ctlMail),
		ctl(post, "/throttle", s.ctlThrottle),
		ctl(put, "/app-roles", s.ctlAppRoles),
		ctl(post, "/clock", s.ctlClock),
		ctl(get, "/calls", s.ctlCalls),
		ctl(get, "/redeem", s.ctlRedeem),
	})
}
