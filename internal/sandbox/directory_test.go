package sandbox_test

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"guestpass/internal/sandbox"
)

func TestDirectoryReads(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)

	if m := app.must(200, "GET", "/users/"+sandbox.UserAdele+"/manager", nil); m["id"] != sandbox.UserMegan || m["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("Adele's manager = %v", m)
	}
	if r := app.do("GET", "/users/"+sandbox.UserLynne+"/manager", nil); r.status != 404 {
		t.Errorf("Lynne has no manager: %d", r.status)
	}
	members, _ := app.all("/groups/" + sandbox.GroupApprovers + "/transitiveMembers/microsoft.graph.user")
	got := ids(members)
	slices.Sort(got)
	want := []string{sandbox.UserMegan, sandbox.UserIsaiah, sandbox.UserLynne}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("transitive users of Partner approvers = %v, want %v", got, want)
	}
	all, _ := app.all("/groups/" + sandbox.GroupApprovers + "/transitiveMembers")
	if len(all) != 4 {
		t.Errorf("transitiveMembers (users and the nested group) = %d, want 4", len(all))
	}
	chk := app.must(200, "POST", "/users/"+sandbox.UserLynne+"/checkMemberGroups", map[string]any{"groupIds": []string{sandbox.GroupApprovers, sandbox.GroupAdmins}})
	if v := chk["value"].([]any); len(v) != 1 || v[0] != sandbox.GroupApprovers {
		t.Errorf("checkMemberGroups = %v", chk)
	}
	teams, _ := app.all("/groups?$filter=" + q("resourceProvisioningOptions/Any(x:x eq 'Team')"))
	if len(teams) != 3 {
		t.Errorf("Teams-backed groups = %d, want 3", len(teams))
	}
	found, _ := app.all("/groups?$search="+q(`"displayName:northwind"`), "ConsistencyLevel", "eventual")
	if len(found) != 1 || found[0]["id"] != sandbox.GroupNorthwind {
		t.Errorf("group search = %v", found)
	}
	sites, _ := app.all("/sites?search=project")
	if len(sites) != 1 || sites[0]["webUrl"] != sandbox.SiteProjectXURL {
		t.Errorf("site search = %v", sites)
	}
	if s := app.must(200, "GET", "/sites/"+sandbox.SiteNorthwind, nil); s["displayName"] != "Northwind Launch" {
		t.Errorf("site = %v", s)
	}
	graphSP := app.must(200, "GET", "/servicePrincipals(appId='"+sandbox.GraphAppID+"')", nil)
	if graphSP["id"] != sandbox.GraphServicePrincipalID || len(graphSP["appRoles"].([]any)) < 10 {
		t.Errorf("Graph service principal = %v", graphSP["displayName"])
	}
	apps, _ := app.all("/servicePrincipals?$search="+q(`"displayName:relecloud"`), "ConsistencyLevel", "eventual")
	if len(apps) != 1 || len(apps[0]["appRoles"].([]any)) != 2 {
		t.Errorf("app search = %v", apps)
	}

	// The bot's app role assignments follow SetAppRoles, for the admin doctor.
	sb.SetAppRoles([]string{"EntitlementManagement.ReadWrite.All", "User.Read.All", "Application.Read.All", "User.ReadWrite.All"})
	app = appAPI(t, sb)
	assigned, _ := app.all("/servicePrincipals/" + sandbox.BotServicePrincipalID + "/appRoleAssignments")
	if len(assigned) != 4 || assigned[0]["resourceId"] != sandbox.GraphServicePrincipalID {
		t.Errorf("bot appRoleAssignments = %v", assigned)
	}
	ra, _ := app.all("/roleManagement/entitlementManagement/roleAssignments?$filter=" + q("principalId eq '"+sandbox.UserPatti+"'"))
	if len(ra) != 1 || ra[0]["roleDefinitionId"] != sandbox.EMRoleCatalogCreator {
		t.Errorf("Patti's EM roles = %v", ra)
	}

	alex := userAPI(t, sb, sandbox.UserAlex)
	if me := alex.must(200, "GET", "/me", nil); me["id"] != sandbox.UserAlex || me["mail"] != "alexw@example.com" {
		t.Errorf("/me = %v", me)
	}
	// Delegated callers without an entitlement-management role cannot administer it.
	if r := alex.do("GET", "/identityGovernance/entitlementManagement/catalogs", nil); r.status != 403 {
		t.Errorf("Alex lists catalogs: %d, want 403", r.status)
	}
	userAPI(t, sb, sandbox.UserPatti).must(201, "POST", "/identityGovernance/entitlementManagement/catalogs", map[string]any{"displayName": "Patti's"})

	app.must(204, "POST", "/users/"+sandbox.GuestJohanna+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + sandbox.UserMegan})
	sponsors, _ := app.all("/users/" + sandbox.GuestJohanna + "/sponsors")
	if got := ids(sponsors); !slices.Equal(got, []string{sandbox.UserAlex, sandbox.UserMegan}) {
		t.Errorf("sponsors = %v", got)
	}
	if r := app.do("POST", "/users/"+sandbox.GuestJohanna+"/sponsors/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + sandbox.UserMegan}); r.status != 400 {
		t.Errorf("duplicate sponsor: %d", r.status)
	}
}

func TestConnectedOrganizations(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	const orgs = "/identityGovernance/entitlementManagement/connectedOrganizations"
	domainOrg := func(domain string) map[string]any {
		return map[string]any{"displayName": domain, "state": "configured", "identitySources": []any{map[string]any{
			"@odata.type": "#microsoft.graph.domainIdentitySource", "domainName": domain, "displayName": domain}}}
	}
	// Contoso exists already (seeded, by tenant): creating it by domain conflicts.
	if r := app.do("POST", orgs, domainOrg("contoso.com")); r.status != 409 {
		t.Fatalf("duplicate connected org: %d %s", r.status, r.raw)
	}
	byTenant, _ := app.all(orgs + "?$filter=" + q("identitySources/any(is:is/microsoft.graph.azureActiveDirectoryTenant/tenantId eq '"+sandbox.ContosoTenantID+"')"))
	if len(byTenant) != 1 || byTenant[0]["id"] != sandbox.ContosoConnectedOrgID {
		t.Fatalf("lookup by tenant id = %v", byTenant)
	}
	app.must(204, "DELETE", orgs+"/"+sandbox.ContosoConnectedOrgID, nil)
	created := app.must(201, "POST", orgs, domainOrg("contoso.com"))
	src := created["identitySources"].([]any)[0].(map[string]any)
	if src["@odata.type"] != "#microsoft.graph.azureActiveDirectoryTenant" || src["tenantId"] != sandbox.ContosoTenantID {
		t.Fatalf("a domain of an Entra tenant must come back as its tenant: %v", src)
	}
	fab := app.must(201, "POST", orgs, domainOrg(sandbox.FabrikamDomain))
	fsrc := fab["identitySources"].([]any)[0].(map[string]any)
	if fsrc["@odata.type"] != "#microsoft.graph.domainIdentitySource" || fsrc["domainName"] != "fabrikam.com" {
		t.Fatalf("plain domain source = %v", fsrc)
	}
	byDomain, _ := app.all(orgs + "?$filter=" + q("identitySources/any(is:is/microsoft.graph.domainIdentitySource/domainName eq 'fabrikam.com')"))
	if len(byDomain) != 1 || byDomain[0]["id"] != fab["id"] {
		t.Fatalf("lookup by domain = %v", byDomain)
	}
	if r := app.do("POST", orgs, domainOrg("not a domain")); r.status != 400 {
		t.Fatalf("invalid domain: %d", r.status)
	}
	id := fab["id"].(string)
	ref := map[string]any{"@odata.id": sb.GraphURL() + "/users/" + sandbox.UserAdele}
	app.must(204, "POST", orgs+"/"+id+"/internalSponsors/$ref", ref)
	if r := app.do("POST", orgs+"/"+id+"/internalSponsors/$ref", ref); r.status != 400 {
		t.Fatalf("duplicate sponsor: %d", r.status)
	}
	if r := app.do("POST", orgs+"/"+id+"/internalSponsors/$ref", map[string]any{"@odata.id": sb.GraphURL() + "/users/" + sandbox.GuestDiego}); r.status != 400 {
		t.Fatalf("guest as internal sponsor: %d", r.status)
	}
	app.must(204, "POST", orgs+"/"+id+"/externalSponsors/$ref", map[string]any{"@odata.id": sb.GraphURL() + "/users/" + sandbox.GuestDiego})
	internal, _ := app.all(orgs + "/" + id + "/internalSponsors")
	external, _ := app.all(orgs + "/" + id + "/externalSponsors")
	if !slices.Equal(ids(internal), []string{sandbox.UserAdele}) || !slices.Equal(ids(external), []string{sandbox.GuestDiego}) {
		t.Fatalf("sponsors internal %v external %v", ids(internal), ids(external))
	}
	app.must(204, "DELETE", orgs+"/"+id+"/internalSponsors/"+sandbox.UserAdele+"/$ref", nil)
	if internal, _ := app.all(orgs + "/" + id + "/internalSponsors"); len(internal) != 0 {
		t.Fatalf("sponsor not removed: %v", internal)
	}
}

func TestEntitlementValidation(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	d := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan))))
	const em = "/identityGovernance/entitlementManagement"
	policy := func(mut func(map[string]any)) map[string]any {
		p := contosoPolicy(stage(singleUser(sandbox.UserMegan)))
		p["accessPackage"] = map[string]any{"id": d.packageID}
		mut(p)
		return p
	}
	stagesOf := func(p map[string]any) []any { return p["requestApprovalSettings"].(map[string]any)["stages"].([]any) }
	tests := []struct {
		name string
		path string
		body map[string]any
		want int
	}{
		{"four stages", em + "/assignmentPolicies", policy(func(p map[string]any) {
			s := stagesOf(p)
			p["requestApprovalSettings"].(map[string]any)["stages"] = []any{s[0], s[0], s[0], s[0]}
		}), 400},
		{"manager approver on an external policy", em + "/assignmentPolicies", policy(func(p map[string]any) {
			p["requestApprovalSettings"].(map[string]any)["stages"] = []any{stage(map[string]any{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1})}
		}), 400},
		{"unknown approver user", em + "/assignmentPolicies", policy(func(p map[string]any) {
			p["requestApprovalSettings"].(map[string]any)["stages"] = []any{stage(singleUser("nobody"))}
		}), 400},
		{"bad duration", em + "/assignmentPolicies", policy(func(p map[string]any) {
			p["expiration"] = map[string]any{"type": "afterDuration", "duration": "90 days"}
		}), 400},
		{"unknown property", em + "/assignmentPolicies", policy(func(p map[string]any) { p["canExtend"] = true }), 400},
		{"manager approver on a member policy", em + "/assignmentPolicies", policy(func(p map[string]any) {
			p["allowedTargetScope"] = "allMemberUsers"
			p["specificAllowedTargets"] = []any{}
			p["requestApprovalSettings"].(map[string]any)["stages"] = []any{stage(map[string]any{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 2})}
		}), 201},
		{"resource already onboarded", em + "/resourceRequests", map[string]any{"requestType": "adminAdd",
			"resource": map[string]any{"originId": sandbox.GroupProjectX, "originSystem": "AadGroup"}, "catalog": map[string]any{"id": d.catalogID}}, 400},
		{"site resource", em + "/resourceRequests", map[string]any{"requestType": "adminAdd",
			"resource": map[string]any{"originId": sandbox.SiteProjectXURL, "originSystem": "SharePointOnline"}, "catalog": map[string]any{"id": d.catalogID}}, 201},
		{"app resource", em + "/resourceRequests", map[string]any{"requestType": "adminAdd",
			"resource": map[string]any{"originId": sandbox.AppWoodgroveDocs, "originSystem": "AadApplication"}, "catalog": map[string]any{"id": d.catalogID}}, 201},
		{"package without catalog", em + "/accessPackages", map[string]any{"displayName": "x"}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := app.do("POST", tc.path, tc.body); r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.raw)
			}
		})
	}
	roles, _ := app.all(em + "/catalogs/" + d.catalogID + "/resourceRoles?$expand=resource&$filter=" +
		q("originSystem eq 'AadApplication' and resource/originId eq '"+sandbox.AppWoodgroveDocs+"'"))
	if len(roles) != 1 || roles[0]["displayName"] != "Default Access" || roles[0]["resource"] == nil {
		t.Fatalf("app resource roles = %v", roles)
	}

	pkg := app.must(200, "GET", em+"/accessPackages/"+d.packageID+"?$expand="+q("resourceRoleScopes($expand=role,scope)"), nil)
	rss := pkg["resourceRoleScopes"].([]any)
	rs := rss[0].(map[string]any)
	if len(rss) != 1 || rs["role"].(map[string]any)["originId"] != "Member_"+sandbox.GroupProjectX || rs["scope"].(map[string]any)["isRootScope"] != true {
		t.Fatalf("role scopes = %v", rss)
	}
	withPolicies, _ := app.all(em + "/accessPackages?$expand=assignmentPolicies&$filter=" + q("catalog/id eq '"+d.catalogID+"'"))
	if len(withPolicies) != 1 || len(withPolicies[0]["assignmentPolicies"].([]any)) != 2 {
		t.Fatalf("packages with policies = %v", withPolicies)
	}
	pols, _ := app.all(em + "/assignmentPolicies?$expand=accessPackage&$filter=" + q("accessPackage/id eq '"+d.packageID+"' and displayName eq 'Contoso guests'"))
	if len(pols) != 2 || pols[0]["accessPackage"].(map[string]any)["id"] != d.packageID {
		t.Fatalf("policies by package = %d", len(pols))
	}

	// PUT is a full replace; PATCH on a package answers 204.
	put := policy(func(p map[string]any) {
		p["displayName"] = "Contoso guests (retired)"
		p["requestorSettings"] = map[string]any{"enableTargetsToSelfAddAccess": false}
	})
	updated := app.must(200, "PUT", em+"/assignmentPolicies/"+d.policyID, put)
	if updated["displayName"] != "Contoso guests (retired)" || updated["requestorSettings"].(map[string]any)["enableTargetsToSelfAddAccess"] != false {
		t.Fatalf("PUT result = %v", updated)
	}
	if _, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "nestorw@contoso.com", AccessPackageID: d.packageID, PolicyID: d.policyID, Justification: "x"}); !isStatus(err, 403) {
		t.Fatalf("request on a retired policy: %v, want 403", err)
	}
	app.must(204, "PATCH", em+"/accessPackages/"+d.packageID, map[string]any{"isHidden": true})
	if h := app.must(200, "GET", em+"/accessPackages/"+d.packageID, nil)["isHidden"]; h != true {
		t.Fatalf("isHidden after PATCH = %v", h)
	}

	// Admin add by email of someone new, then admin remove.
	req := app.must(201, "POST", em+"/assignmentRequests", map[string]any{"requestType": "adminAdd",
		"assignment": map[string]any{"target": map[string]any{"email": "pradeepg@contoso.com"}, "assignmentPolicyId": d.policyID, "accessPackageId": d.packageID}})
	got := app.must(200, "GET", em+"/assignmentRequests/"+req["id"].(string)+"?$expand=assignment", nil)
	asg := got["assignment"].(map[string]any)
	if got["state"] != "delivered" || asg["state"] != "delivered" {
		t.Fatalf("adminAdd = %v", got)
	}
	app.must(201, "POST", em+"/assignmentRequests", map[string]any{"requestType": "adminRemove", "assignment": map[string]any{"id": asg["id"]}})
	if s := app.must(200, "GET", em+"/assignments/"+asg["id"].(string), nil)["state"]; s != "expired" {
		t.Fatalf("after adminRemove: %v", s)
	}
	if r := app.do("DELETE", em+"/assignmentPolicies/"+d.policyID, nil); r.status != 204 {
		t.Fatalf("delete policy without active assignments: %d %s", r.status, r.raw)
	}

	sb.SetAppRoles([]string{"EntitlementManagement.ReadWrite.All"})
	limited := appAPI(t, sb)
	if r := limited.do("POST", em+"/resourceRequests", map[string]any{"requestType": "adminAdd",
		"resource": map[string]any{"originId": sandbox.GroupNorthwind, "originSystem": "AadGroup"}, "catalog": map[string]any{"id": d.catalogID}}); r.status != 403 {
		t.Fatalf("adding a group without Group.ReadWrite.All: %d", r.status)
	}
}

// TestPlaygroundConfigMatchesSeed keeps .m365agentsplayground.yml and the seed in step.
func TestPlaygroundConfigMatchesSeed(t *testing.T) {
	f, err := os.Open("../../.m365agentsplayground.yml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	var objectIDs []string
	tenant := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "aadObjectId:"); ok {
			objectIDs = append(objectIDs, strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(line, "aadGroupId:"); ok {
			objectIDs = append(objectIDs, strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(line, "tenantId:"); ok {
			tenant = strings.TrimSpace(v)
		}
	}
	if tenant != sandbox.TenantID {
		t.Errorf("Playground tenant %q, sandbox %q", tenant, sandbox.TenantID)
	}
	if len(objectIDs) != 7 { // six users and the team's aadGroupId
		t.Fatalf("found %d object ids in the Playground config", len(objectIDs))
	}
	for _, id := range objectIDs[:6] {
		app.must(200, "GET", "/users/"+id, nil)
	}
	app.must(200, "GET", "/groups/"+objectIDs[6], nil)
	if objectIDs[0] != sandbox.UserAlex || objectIDs[1] != sandbox.UserMegan {
		t.Errorf("current user / first user = %v", objectIDs[:2])
	}
}

func TestStartServesHTTPS(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sb.Close(ctx)
	})
	if !strings.HasPrefix(sb.BaseURL(), "https://127.0.0.1:") || sb.GraphURL() != sb.BaseURL()+"/v1.0" {
		t.Fatalf("BaseURL %q GraphURL %q", sb.BaseURL(), sb.GraphURL())
	}
	app := appAPI(t, sb)
	app.must(200, "GET", "/users/"+sandbox.UserAlex, nil)
	tok := app.must(200, "POST", "!/sandbox/sso-token", map[string]any{"userOid": sandbox.UserMegan})
	if s, _ := tok["token"].(string); strings.Count(s, ".") != 2 {
		t.Fatalf("sso-token = %v", tok)
	}
}

func TestFindTenantInformationByDomainName(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := newAPI(t, sb, token(t, appCredential(t, sb)))
	got := app.must(200, "GET", "/tenantRelationships/findTenantInformationByDomainName(domainName='contoso.com')", nil)
	if got["tenantId"] != sandbox.ContosoTenantID || got["defaultDomainName"] != sandbox.ContosoDomain {
		t.Fatalf("tenant information = %v", got)
	}
	r := app.do("GET", "/tenantRelationships/findTenantInformationByDomainName(domainName='unknown.example')", nil)
	if r.status != 404 {
		t.Fatalf("unknown domain: status %d, want 404", r.status)
	}
}
