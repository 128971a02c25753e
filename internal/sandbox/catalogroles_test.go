package sandbox_test

import (
	"slices"
	"strings"
	"testing"

	"guestpass/internal/sandbox"
)

// TestCatalogScopedAppRole: an app whose service principal holds only a catalog-scoped
// entitlement-management role (no EntitlementManagement application permission) reads that
// catalog's objects, and listings narrowed to them by $filter, and is refused (403) everything
// else: other catalogs' objects, listings that span catalogs, and writes.
func TestCatalogScopedAppRole(t *testing.T) {
	const em = "/identityGovernance/entitlementManagement"
	sb := newSandbox(t, sandbox.Options{})
	full := appAPI(t, sb)
	ours := provision(t, full, contosoPolicy())
	other := provision(t, full, contosoPolicy())
	for i, pkg := range []string{ours.packageID, ours.packageID, ours.packageID, other.packageID} {
		email := []string{"a", "b", "c", "d"}[i] + ".guest@contoso.com"
		if _, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: email, AccessPackageID: pkg, Justification: "work"}); err != nil {
			t.Fatal(err)
		}
	}
	oursAssignments, _ := full.all(em + "/assignments?$filter=" + q("accessPackage/id eq '"+ours.packageID+"'"))
	otherAssignments, _ := full.all(em + "/assignments?$filter=" + q("accessPackage/id eq '"+other.packageID+"'"))
	if len(oursAssignments) != 3 || len(otherAssignments) != 1 {
		t.Fatalf("assignments: ours %d, other %d", len(oursAssignments), len(otherAssignments))
	}

	sb.SetAppRoles(withoutEM())
	sb.AssignEntitlementRole(sandbox.BotServicePrincipalID, sandbox.EMRoleCatalogOwner, "/AccessPackageCatalog/"+ours.catalogID)
	// Someone else's role on the other catalog grants the app nothing there.
	sb.AssignEntitlementRole(sandbox.UserPatti, sandbox.EMRoleCatalogOwner, "/AccessPackageCatalog/"+other.catalogID)
	app := appAPI(t, sb) // a fresh token, without the EntitlementManagement roles

	eq := func(path, value string) string { return q(path + " eq '" + value + "'") }
	allowed := []struct {
		path  string
		items int // -1: an entity, not a collection
	}{
		{em + "/catalogs/" + ours.catalogID, -1},
		{em + "/catalogs/" + ours.catalogID + "/resources", 1},
		{em + "/accessPackages?$expand=catalog&$filter=" + eq("catalog/id", ours.catalogID), 1},
		{em + "/accessPackages/" + ours.packageID, -1},
		{em + "/accessPackages/" + ours.packageID + "/assignmentPolicies", 1},
		{em + "/assignmentPolicies?$filter=" + eq("accessPackage/id", ours.packageID), 1},
		{em + "/assignmentPolicies/" + ours.policyID, -1},
		// Three assignments over two pages: the next page keeps the filter.
		{em + "/assignments?$expand=target&$filter=" + eq("accessPackage/id", ours.packageID), 3},
		{em + "/assignments?$filter=" + q("(accessPackage/id eq '"+ours.packageID+"') and (state eq 'delivered')"), 3},
		{em + "/assignments?$filter=" + q("accessPackage/id in ('"+ours.packageID+"')"), 3},
		{em + "/assignments/" + oursAssignments[0]["id"].(string), -1},
		{em + "/assignmentRequests?$filter=" + eq("accessPackage/id", ours.packageID), 3},
	}
	for _, tt := range allowed {
		if tt.items < 0 {
			app.must(200, "GET", tt.path, nil)
			continue
		}
		if items, _ := app.all(tt.path); len(items) != tt.items {
			t.Errorf("GET %s: %d items, want %d", tt.path, len(items), tt.items)
		}
	}

	refused := []string{
		em + "/catalogs",
		em + "/catalogs/" + other.catalogID,
		em + "/accessPackages",
		em + "/accessPackages?$filter=" + eq("catalog/id", other.catalogID),
		em + "/accessPackages?$filter=" + q("catalog/id eq '"+ours.catalogID+"' or catalog/id eq '"+other.catalogID+"'"),
		em + "/accessPackages?$filter=" + q("catalog/id ne '"+other.catalogID+"'"),
		em + "/accessPackages?$filter=" + q("not (catalog/id eq '"+other.catalogID+"')"),
		em + "/accessPackages/" + other.packageID,
		em + "/assignmentPolicies",
		em + "/assignments",
		em + "/assignments?$filter=" + q("state eq 'delivered'"),
		em + "/assignments?$filter=" + eq("accessPackage/id", other.packageID),
		em + "/assignments?$filter=" + q("accessPackage/id in ('"+ours.packageID+"','"+other.packageID+"')"),
		em + "/assignments?$filter=" + eq("accessPackage/id", "o''brien"),
		em + "/assignments/" + otherAssignments[0]["id"].(string),
		em + "/assignmentRequests",
		em + "/connectedOrganizations",
	}
	for _, path := range refused {
		if r := app.do("GET", path, nil); r.status != 403 || errCode(r) != "Authorization_RequestDenied" {
			t.Errorf("GET %s: %d %s, want 403", path, r.status, r.raw)
		}
	}
	// Writes are not modelled for catalog roles: they still need EntitlementManagement.ReadWrite.All.
	if r := app.do("POST", em+"/accessPackages", map[string]any{"displayName": "New", "catalog": map[string]any{"id": ours.catalogID}}); r.status != 403 {
		t.Errorf("create an access package with a catalog role only: %d %s", r.status, r.raw)
	}
	// A missing object is still a 404.
	if r := app.do("GET", em+"/accessPackages/0badc0de-0000-4000-8000-000000000000", nil); r.status != 404 {
		t.Errorf("missing access package: %d %s", r.status, r.raw)
	}

	// Without any catalog role a narrowed listing is refused too.
	bare := newSandbox(t, sandbox.Options{})
	bare.SetAppRoles(withoutEM())
	if r := appAPI(t, bare).do("GET", em+"/accessPackages?$filter="+eq("catalog/id", ours.catalogID), nil); r.status != 403 ||
		!strings.Contains(string(r.raw), "EntitlementManagement.Read.All") {
		t.Errorf("no permission and no role: %d %s", r.status, r.raw)
	}
}

// withoutEM is the default application permissions without the EntitlementManagement ones.
func withoutEM() []string {
	return slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool {
		return strings.HasPrefix(r, "EntitlementManagement.")
	})
}
