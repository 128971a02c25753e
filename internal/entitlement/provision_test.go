package entitlement_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"

	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

const em = "/identityGovernance/entitlementManagement"

func fabrikamScenario() entitlement.Scenario {
	return entitlement.Scenario{
		Name: "Fabrikam launch", Description: "Fabrikam partners on Project X",
		Partners: []entitlement.Partner{{Domain: sandbox.FabrikamDomain, DisplayName: "Fabrikam"}},
		Resources: []entitlement.Resource{{Kind: entitlement.ResourceGroup, OriginID: sandbox.GroupProjectX,
			Role: entitlement.Role{OriginID: "Member_" + sandbox.GroupProjectX}}},
		Approval: entitlement.Approval{Required: true, RequestorJustificationRequired: true, Stages: []entitlement.Stage{
			{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverSponsor}, {Kind: entitlement.ApproverGroup, ID: sandbox.GroupApprovers}}, AutoDenyAfterDays: 7},
			{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverInternalSponsors}}, AutoDenyAfterDays: 14, ApproverJustificationRequired: true},
		}},
		DurationDays: 90, AllowExtension: true,
		Questions: []entitlement.Question{{Text: "Which project?", Required: true}, {Text: "Role?", Choices: []string{"Engineer", "Designer"}}},
		OwnerOID:  sandbox.UserAlex,
	}
}

// Documented v1.0 request bodies (learn.microsoft.com: entitlementmanagement-post-catalogs,
// -post-resourcerequests, -post-connectedorganizations, connectedorganization-post-internalsponsors,
// -post-accesspackages, accesspackage-post-resourcerolescopes example 3, -post-assignmentpolicies with
// the accessPackageAssignmentPolicy resource's v1.0 properties).
const (
	goldenCatalog = `{"displayName":"guestpass guest access","description":"Access packages guests request through guestpass. Managed by guestpass.",
		"state":"published","isExternallyVisible":true}`
	goldenResourceRequest = `{"requestType":"adminAdd","resource":{"originId":"{{group}}","originSystem":"AadGroup"},"catalog":{"id":"{{catalog}}"}}`
	goldenConnectedOrg    = `{"displayName":"Fabrikam","description":"Partner organisation added by guestpass",
		"identitySources":[{"@odata.type":"#microsoft.graph.domainIdentitySource","domainName":"fabrikam.com","displayName":"Fabrikam"}],
		"state":"configured"}`
	goldenSponsorRef    = `{"@odata.id":"{{graph}}/users/{{alex}}"}`
	goldenAccessPackage = `{"displayName":"Fabrikam launch","description":"Fabrikam partners on Project X","isHidden":false,"catalog":{"id":"{{catalog}}"}}`
	goldenRoleScope     = `{"role":{"id":"{{roleId}}","originId":"Member_{{group}}","originSystem":"AadGroup","resource":{"id":"{{resourceId}}"}},
		"scope":{"id":"{{scopeId}}","originId":"{{group}}","originSystem":"AadGroup","isRootScope":true}}`
	goldenPolicy = `{
	"displayName":"guestpass: Fabrikam launch",
	"description":"Requests from guests of Fabrikam; managed by guestpass",
	"accessPackage":{"id":"{{package}}"},
	"allowedTargetScope":"specificConnectedOrganizationUsers",
	"specificAllowedTargets":[{"@odata.type":"#microsoft.graph.connectedOrganizationMembers","connectedOrganizationId":"{{org}}","description":"Fabrikam"}],
	"expiration":{"type":"afterDuration","duration":"P90D"},
	"requestorSettings":{"enableTargetsToSelfAddAccess":true,"enableTargetsToSelfUpdateAccess":true,"enableTargetsToSelfRemoveAccess":true,
		"allowCustomAssignmentSchedule":false,"enableOnBehalfRequestorsToAddAccess":false,"enableOnBehalfRequestorsToUpdateAccess":false,
		"enableOnBehalfRequestorsToRemoveAccess":false,"onBehalfRequestors":[]},
	"requestApprovalSettings":{"isApprovalRequiredForAdd":true,"isApprovalRequiredForUpdate":true,"isRequestorJustificationRequired":true,
		"stages":[
			{"durationBeforeAutomaticDenial":"P7D","isApproverJustificationRequired":false,"isEscalationEnabled":false,
			 "primaryApprovers":[{"@odata.type":"#microsoft.graph.singleUser","userId":"{{alex}}"},{"@odata.type":"#microsoft.graph.groupMembers","groupId":"{{approvers}}"}],
			 "fallbackPrimaryApprovers":[],"escalationApprovers":[],"fallbackEscalationApprovers":[]},
			{"durationBeforeAutomaticDenial":"P14D","isApproverJustificationRequired":true,"isEscalationEnabled":false,
			 "primaryApprovers":[{"@odata.type":"#microsoft.graph.internalSponsors"}],
			 "fallbackPrimaryApprovers":[{"@odata.type":"#microsoft.graph.singleUser","userId":"{{alex}}"}],
			 "escalationApprovers":[],"fallbackEscalationApprovers":[]}]},
	"questions":[
		{"@odata.type":"#microsoft.graph.accessPackageTextInputQuestion","text":"Which project?","isRequired":true,"isAnswerEditable":true,"sequence":0,"isSingleLineQuestion":false},
		{"@odata.type":"#microsoft.graph.accessPackageMultipleChoiceQuestion","text":"Role?","isRequired":false,"isAnswerEditable":true,"sequence":1,
		 "choices":[{"actualValue":"Engineer","text":"Engineer"},{"actualValue":"Designer","text":"Designer"}],"isMultipleSelectionAllowed":false}]
}`
)

func TestCreateScenarioSendsDocumentedBodiesAndMinimalCalls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc, err := e.svc.CreateScenario(ctx, fabrikamScenario())
	if err != nil {
		t.Fatal(err)
	}
	if sc.State != entitlement.StateActive || sc.CatalogID == "" || sc.AccessPackageID == "" || sc.PolicyID == "" ||
		sc.Partners[0].ConnectedOrganizationID == "" || sc.CreatedAt.IsZero() {
		t.Fatalf("scenario not fully provisioned: %+v", sc)
	}
	if want := "https://myaccess.microsoft.com/@" + sandbox.TenantID + "#/access-packages/" + sc.AccessPackageID; sc.MyAccessLink != want {
		t.Errorf("link %q, want %q", sc.MyAccessLink, want)
	}

	names := map[string]string{sc.CatalogID: "{catalog}", sc.AccessPackageID: "{package}", sc.Partners[0].ConnectedOrganizationID: "{org}"}
	wantRoutes := []string{
		"GET " + em + "/catalogs",
		"POST " + em + "/catalogs",
		"GET " + em + "/catalogs/{catalog}/resources",
		"POST " + em + "/resourceRequests",
		"GET " + em + "/catalogs/{catalog}/resources",
		"GET " + em + "/connectedOrganizations",
		"POST " + em + "/connectedOrganizations",
		"POST " + em + "/connectedOrganizations/{org}/internalSponsors/$ref",
		"GET " + em + "/accessPackages",
		"POST " + em + "/accessPackages",
		"POST " + em + "/accessPackages/{package}/resourceRoleScopes",
		"POST " + em + "/assignmentPolicies",
	}
	var got []string
	for _, r := range e.wire.routes(names) {
		if !strings.Contains(r, "/oauth2/") && !strings.Contains(r, "well-known") {
			got = append(got, r)
		}
	}
	if !slices.Equal(got, wantRoutes) {
		t.Errorf("Graph calls:\n got %q\nwant %q", got, wantRoutes)
	}
	if n := e.counter.Count("CreateScenario"); n != 12 {
		t.Errorf("CreateScenario made %d Graph calls, want 12", n)
	}

	// Ids the sandbox handed out, for the goldens.
	res := e.catalogResource(t, sc.CatalogID, sandbox.GroupProjectX)
	vars := map[string]string{
		"catalog": sc.CatalogID, "package": sc.AccessPackageID, "org": sc.Partners[0].ConnectedOrganizationID,
		"group": sandbox.GroupProjectX, "alex": sandbox.UserAlex, "approvers": sandbox.GroupApprovers,
		"graph": e.sb.GraphURL(), "resourceId": res.id, "roleId": res.memberRoleID, "scopeId": res.rootScopeID,
	}
	for _, g := range []struct{ method, suffix, golden string }{
		{"POST", em + "/catalogs", goldenCatalog},
		{"POST", em + "/resourceRequests", goldenResourceRequest},
		{"POST", em + "/connectedOrganizations", goldenConnectedOrg},
		{"POST", "/internalSponsors/$ref", goldenSponsorRef},
		{"POST", em + "/accessPackages", goldenAccessPackage},
		{"POST", "/resourceRoleScopes", goldenRoleScope},
		{"POST", em + "/assignmentPolicies", goldenPolicy},
	} {
		bodies := e.wire.bodies(g.method, g.suffix)
		if len(bodies) != 1 {
			t.Errorf("%s %s sent %d times, want once", g.method, g.suffix, len(bodies))
			continue
		}
		jsonEqual(t, g.method+" "+g.suffix, bodies[0], fill(g.golden, vars))
	}

	// The same definition again: everything is found, nothing is written, and the catalog is
	// remembered (no catalog lookup).
	e.reset()
	again, err := e.svc.CreateScenario(ctx, fabrikamScenario())
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != sc.ID || again.AccessPackageID != sc.AccessPackageID || again.PolicyID != sc.PolicyID {
		t.Errorf("re-run produced a different scenario: %+v vs %+v", again, sc)
	}
	for _, c := range e.graphCalls() {
		if c.Method != http.MethodGet {
			t.Errorf("re-run wrote to Graph: %s %s", c.Method, c.Path)
		}
	}
	if n := e.counter.Count("CreateScenario"); n != 3 {
		t.Errorf("idempotent re-run made %d Graph calls, want 3 (resource, organization, package lookups)", n)
	}
}

// resourceIDs are the catalog ids of a group resource.
type resourceIDs struct{ id, memberRoleID, rootScopeID string }

func (e *env) catalogResource(t *testing.T, catalogID, groupID string) resourceIDs {
	t.Helper()
	f := graph.EqFilter("originId", groupID)
	page, err := e.app.IdentityGovernance().EntitlementManagement().Catalogs().ByAccessPackageCatalogId(catalogID).Resources().Get(
		graph.WithOperation(context.Background(), "test"),
		&igov.EntitlementManagementCatalogsItemResourcesRequestBuilderGetRequestConfiguration{
			QueryParameters: &igov.EntitlementManagementCatalogsItemResourcesRequestBuilderGetQueryParameters{Filter: &f, Expand: []string{"roles", "scopes"}},
		})
	if err != nil || len(page.GetValue()) != 1 {
		t.Fatalf("catalog resource %s: %v (%d found)", groupID, err, len(page.GetValue()))
	}
	r := page.GetValue()[0]
	out := resourceIDs{id: *r.GetId()}
	for _, ro := range r.GetRoles() {
		if *ro.GetOriginId() == "Member_"+groupID {
			out.memberRoleID = *ro.GetId()
		}
	}
	for _, sc := range r.GetScopes() {
		if sc.GetIsRootScope() != nil && *sc.GetIsRootScope() {
			out.rootScopeID = *sc.GetId()
		}
	}
	return out
}

// countObjects counts what exists in the sandbox for the Fabrikam scenario.
func (e *env) countObjects(t *testing.T, name string) (catalogs, packages, policies, orgs, roleScopes int) {
	t.Helper()
	ctx := graph.WithOperation(context.Background(), "test")
	emb := e.app.IdentityGovernance().EntitlementManagement()
	cf := graph.EqFilter("displayName", entitlement.DefaultCatalogName)
	cats, err := emb.Catalogs().Get(ctx, &igov.EntitlementManagementCatalogsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementCatalogsRequestBuilderGetQueryParameters{Filter: &cf}})
	if err != nil {
		t.Fatal(err)
	}
	catalogs = len(cats.GetValue())
	pf := graph.EqFilter("displayName", name)
	pkgs, err := emb.AccessPackages().Get(ctx, &igov.EntitlementManagementAccessPackagesRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAccessPackagesRequestBuilderGetQueryParameters{Filter: &pf,
			Expand: []string{"assignmentPolicies", "resourceRoleScopes"}}})
	if err != nil {
		t.Fatal(err)
	}
	packages = len(pkgs.GetValue())
	for _, p := range pkgs.GetValue() {
		policies += len(p.GetAssignmentPolicies())
		roleScopes += len(p.GetResourceRoleScopes())
	}
	of := "identitySources/any(is:is/microsoft.graph.domainIdentitySource/domainName eq 'fabrikam.com')"
	os, err := emb.ConnectedOrganizations().Get(ctx, &igov.EntitlementManagementConnectedOrganizationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementConnectedOrganizationsRequestBuilderGetQueryParameters{Filter: &of}})
	if err != nil {
		t.Fatal(err)
	}
	orgs = len(os.GetValue())
	return
}

func TestCreateScenarioResumesAfterPartialFailure(t *testing.T) {
	for _, step := range []string{em + "/connectedOrganizations", em + "/accessPackages", "/resourceRoleScopes", em + "/assignmentPolicies"} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.wire.inject(&fault{method: "POST", pathSuffix: step, remaining: 1, status: http.StatusInternalServerError})
			_, err := e.svc.CreateScenario(ctx, fabrikamScenario())
			ge, ok := graph.AsError(err)
			if !ok || ge.Status != 500 || ge.Code != "InjectedFault" {
				t.Fatalf("first run: err = %v, want the injected 500", err)
			}
			rec, err := e.store.ScenarioByName(ctx, sandbox.TenantID, "Fabrikam launch")
			if err != nil {
				t.Fatal(err)
			}
			if rec.State != store.ScenarioFailed || !strings.Contains(rec.LastError, "InjectedFault") {
				t.Errorf("stored state %q / %q, want failed with the error", rec.State, rec.LastError)
			}

			sc, err := e.svc.CreateScenario(ctx, fabrikamScenario())
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if sc.ID != rec.ID || sc.State != entitlement.StateActive {
				t.Errorf("resume made scenario %s (%s), want %s active", sc.ID, sc.State, rec.ID)
			}
			cats, pkgs, pols, orgs, rss := e.countObjects(t, "Fabrikam launch")
			if cats != 1 || pkgs != 1 || pols != 1 || orgs != 1 || rss != 1 {
				t.Errorf("after resume: %d catalogs, %d packages, %d policies, %d organizations, %d role scopes; want one each",
					cats, pkgs, pols, orgs, rss)
			}
		})
	}
}

func TestCreateScenarioNameWithQuotesAndUnicode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := fabrikamScenario()
	sc.Name = `Zoë's "Launch" — 東京 & co`
	first, err := e.svc.CreateScenario(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	var sawFilter bool
	for _, c := range e.wire.calls() {
		if strings.HasSuffix(c.Path, em+"/accessPackages") && c.Method == "GET" {
			sawFilter = strings.Contains(c.Query, `displayName eq 'Zoë''s "Launch" — 東京 & co'`)
		}
	}
	if !sawFilter {
		t.Error("the access package lookup did not carry the escaped name")
	}
	second, err := e.svc.CreateScenario(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessPackageID != first.AccessPackageID {
		t.Error("the escaped lookup missed the package and created a second one")
	}
	if _, pkgs, _, _, _ := e.countObjects(t, sc.Name); pkgs != 1 {
		t.Errorf("%d packages named %q", pkgs, sc.Name)
	}
}

func TestCreateScenarioConnectsDomainOfExistingTenant(t *testing.T) {
	// contoso.com is an Entra tenant with a connected organization already (seeded), which lists
	// the tenant, not the domain: the domain lookup misses, creation conflicts, and the service
	// resolves the domain to its tenant to find the existing organization.
	e := newEnv(t)
	e.wire.inject(&fault{method: "GET", pathSuffix: "/tenantRelationships/findTenantInformationByDomainName(domainName='contoso.com')",
		remaining: 1, status: 200, reply: `{"tenantId":"` + sandbox.ContosoTenantID + `","displayName":"Contoso","defaultDomainName":"contoso.com"}`})
	sc := fabrikamScenario()
	sc.Name = "Contoso guests"
	sc.Partners = []entitlement.Partner{{Domain: sandbox.ContosoDomain}}
	got, err := e.svc.CreateScenario(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Partners[0]
	if p.ConnectedOrganizationID != sandbox.ContosoConnectedOrgID || !strings.EqualFold(p.TenantID, sandbox.ContosoTenantID) {
		t.Errorf("partner = %+v, want the seeded Contoso organization", p)
	}
	// Re-running looks the organization up by tenant id straight away: no second conflict.
	e.reset()
	if _, err := e.svc.CreateScenario(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.graphCalls() {
		if c.Method == "POST" {
			t.Errorf("re-run posted %s", c.Path)
		}
		if strings.Contains(c.Path, "findTenantInformation") {
			t.Error("re-run resolved the domain again")
		}
	}

	t.Run("tenant id given", func(t *testing.T) {
		e := newEnv(t)
		sc.Partners = []entitlement.Partner{{TenantID: sandbox.ContosoTenantID}}
		got, err := e.svc.CreateScenario(context.Background(), sc)
		if err != nil {
			t.Fatal(err)
		}
		if got.Partners[0].ConnectedOrganizationID != sandbox.ContosoConnectedOrgID {
			t.Errorf("partner = %+v", got.Partners[0])
		}
		for _, c := range e.graphCalls() {
			if c.Method == "POST" && strings.HasSuffix(c.Path, "/connectedOrganizations") {
				t.Error("created a second organization for a connected tenant")
			}
		}
	})
}

func TestCreateScenarioNameOwnedByAnotherSponsor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateScenario(ctx, fabrikamScenario()); err != nil {
		t.Fatal(err)
	}
	e.reset()
	other := fabrikamScenario()
	other.OwnerOID = sandbox.UserAdele
	_, err := e.svc.CreateScenario(ctx, other)
	var ve entitlement.ValidationErrors
	if !errors.As(err, &ve) || ve[0].Field != "name" {
		t.Fatalf("err = %v, want a name validation error", err)
	}
	if e.counter.Total() != 0 {
		t.Errorf("%d Graph calls for a refused name", e.counter.Total())
	}
}

func TestRestrictedModeUsesConfiguredCatalog(t *testing.T) {
	// An administrator's catalog: created here through Graph as the admin would.
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateScenario(ctx, fabrikamScenario()); err != nil {
		t.Fatal(err)
	}
	recs, _ := e.store.ListScenarios(ctx, store.ScenarioQuery{})
	catalogID := recs[0].CatalogID

	r := newEnvSharing(t, e, func(o *entitlement.ServiceOptions) { o.CatalogID = catalogID })
	sc := fabrikamScenario()
	sc.Name = "Restricted"
	got, err := r.svc.CreateScenario(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if got.CatalogID != catalogID {
		t.Errorf("catalog %s, want the configured %s", got.CatalogID, catalogID)
	}
	for _, c := range e.wire.calls() {
		if c.Method == "POST" && strings.HasSuffix(c.Path, em+"/catalogs") && strings.Contains(c.Body, "Restricted") {
			t.Error("restricted mode created a catalog")
		}
	}
	// An unfiltered assignment listing reads the catalog's access packages one by one
	// (TestRestrictedListingsStayInTheCatalog checks it with a catalog-scoped role only).
	e.wire.reset()
	if _, err := r.svc.Assignments(ctx, entitlement.AssignmentFilter{}); err != nil {
		t.Errorf("unfiltered assignment listing in restricted mode: %v", err)
	}
	perPackage := 0
	for _, c := range e.wire.calls() {
		if strings.HasSuffix(c.Path, em+"/assignments") {
			perPackage++
			if !strings.Contains(c.Query, "accessPackage/id eq '") {
				t.Errorf("restricted mode listed assignments without an access package: %s", c.Query)
			}
		}
	}
	if perPackage != 2 { // the catalog holds both scenarios' packages
		t.Errorf("%d assignment listings, want one per access package of the catalog (2)", perPackage)
	}
}

// newEnvSharing builds a second service over the same sandbox, store and wire.
func newEnvSharing(t *testing.T, e *env, mods ...envOption) *env {
	t.Helper()
	opts := e.opts
	for _, m := range mods {
		m(&opts)
	}
	svc, err := entitlement.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	cp := *e
	cp.svc, cp.opts = svc, opts
	return &cp
}
