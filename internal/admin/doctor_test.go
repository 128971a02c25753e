package admin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/admin"
	"guestpass/internal/sandbox"
)

// without returns the sandbox's default application permissions minus drop, plus add.
func without(drop []string, add ...string) []string {
	out := slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool { return slices.Contains(drop, r) })
	return append(out, add...)
}

// diagnose runs doctor with catalogID as CATALOG_ID and a fresh app-only token (carrying the
// sandbox's current app roles).
func (e *env) diagnose(catalogID string) admin.Report {
	e.t.Helper()
	deps := e.doctorDeps()
	deps.CatalogID = catalogID
	a, err := admin.New(e.options(deps))
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Diagnose(context.Background())
}

func check(t *testing.T, r admin.Report, name string) admin.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, r.Checks)
	return admin.Check{}
}

var emPermissions = []string{"EntitlementManagement.ReadWrite.All", "EntitlementManagement.Read.All"}

// TestDoctorAcceptsIdentityGovernanceAdministrator: Entra accepts the Identity Governance
// Administrator directory role on the bot's service principal instead of the
// EntitlementManagement application permissions, so doctor must not report them missing then —
// and must still report them when the role is absent or cannot be read.
func TestDoctorAcceptsIdentityGovernanceAdministrator(t *testing.T) {
	emMissing := map[string][]string{
		"Create and edit scenarios":      {"EntitlementManagement.ReadWrite.All"},
		"Pending requests and approvals": {"EntitlementManagement.Read.All"},
	}
	tests := []struct {
		name       string
		roles      []string
		assign     string // directory role of the bot's service principal
		principal  string
		wantDetail string
		wantEM     bool // the EntitlementManagement features are reported missing
	}{
		{"role instead of the permission", without(emPermissions, "RoleManagement.Read.Directory"), sandbox.DirectoryRoleIdentityGovernanceAdmin,
			sandbox.BotServicePrincipalID, "Identity Governance Administrator", false},
		{"neither role nor permission", without(emPermissions, "RoleManagement.Read.Directory"), "", "", "none", true},
		{"someone else holds the role", without(emPermissions, "RoleManagement.Read.Directory"), sandbox.DirectoryRoleIdentityGovernanceAdmin,
			sandbox.UserPatti, "none", true},
		{"role cannot be read", without(emPermissions), sandbox.DirectoryRoleIdentityGovernanceAdmin,
			sandbox.BotServicePrincipalID, "RoleManagement.Read.Directory", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.tn.Sandbox.SetAppRoles(tt.roles)
			if tt.assign != "" {
				e.tn.Sandbox.AssignDirectoryRole(tt.principal, tt.assign)
			}
			r := e.diagnose("")
			for feature, perms := range emMissing {
				got, missing := r.MissingByFeature[feature]
				if missing != tt.wantEM || (missing && !slices.Equal(got, perms)) {
					t.Errorf("%s: missing %v (%v), want missing=%v", feature, got, missing, tt.wantEM)
				}
			}
			if len(r.MissingByFeature) != len(emMissing) && tt.wantEM || !tt.wantEM && len(r.MissingByFeature) != 0 {
				t.Errorf("missing = %v", r.MissingByFeature)
			}
			if c := check(t, r, "Directory roles"); !c.OK || !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("directory roles check = %+v, want %q", c, tt.wantDetail)
			}
		})
	}
}

// TestDoctorCatalogMode: doctor names the mode and, in restricted mode, whether the configured
// catalog exists and admits external users; Catalog owner on that catalog stands in for the
// tenant-wide permission to create scenarios.
func TestDoctorCatalogMode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	newCatalog := func(name string, external bool) string {
		cat := models.NewAccessPackageCatalog()
		cat.SetDisplayName(&name)
		cat.SetIsExternallyVisible(&external)
		created, err := e.tn.Graph.IdentityGovernance().EntitlementManagement().Catalogs().Post(ctx, cat, nil)
		if err != nil {
			t.Fatal(err)
		}
		return *created.GetId()
	}
	partners := newCatalog("Partners (restricted)", true)
	internal := newCatalog("Internal only", false)

	tests := []struct {
		name, catalogID string
		ok              bool
		want            []string
	}{
		{"full mode", "", true, []string{"full", "guestpass guest access"}},
		{"restricted", partners, true, []string{"restricted", "Partners (restricted)", partners, "enabled for external users"}},
		{"catalog not external", internal, false, []string{"Internal only", "not enabled for external users"}},
		{"no such catalog", "0badc0de-0000-4000-8000-000000000000", false, []string{"0badc0de-0000-4000-8000-000000000000", "does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			c := check(t, e.diagnose(tt.catalogID), "Catalog mode")
			if c.OK != tt.ok {
				t.Errorf("OK = %v, want %v: %s", c.OK, tt.ok, c.Detail)
			}
			for _, w := range tt.want {
				if !strings.Contains(c.Detail, w) {
					t.Errorf("detail %q lacks %q", c.Detail, w)
				}
			}
		})
	}

	// Restricted mode's permissions: EntitlementManagement.Read.All plus Catalog owner on the
	// configured catalog — not on another one.
	e.t = t
	e.tn.Sandbox.SetAppRoles(without(emPermissions, "EntitlementManagement.Read.All"))
	e.tn.Sandbox.AssignEntitlementRole(sandbox.BotServicePrincipalID, sandbox.EMRoleCatalogOwner, "/AccessPackageCatalog/"+internal)
	if got := e.diagnose(partners).MissingByFeature; !slices.Equal(got["Create and edit scenarios"], []string{"EntitlementManagement.ReadWrite.All"}) {
		t.Errorf("owner of another catalog: missing = %v", got)
	}
	e.tn.Sandbox.AssignEntitlementRole(sandbox.BotServicePrincipalID, sandbox.EMRoleCatalogOwner, "/AccessPackageCatalog/"+partners)
	r := e.diagnose(partners)
	if len(r.MissingByFeature) != 0 {
		t.Errorf("owner of the configured catalog: missing = %v", r.MissingByFeature)
	}
	if c := check(t, r, "Entitlement-management roles"); !strings.Contains(c.Detail, "Catalog owner") {
		t.Errorf("role check = %+v", c)
	}
	// In full mode the same role does not replace the tenant-wide permission.
	if got := e.diagnose("").MissingByFeature; len(got["Create and edit scenarios"]) == 0 {
		t.Errorf("full mode with only a catalog role: missing = %v", got)
	}
}
