package entitlement_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
)

func TestPreviewConnectedOrg(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		domain              string
		wantTenant, wantOrg string
		wantName            string
		wantErr             error
	}{
		{domain: sandbox.FabrikamDomain, wantName: sandbox.FabrikamDomain},
		{domain: "Contoso.COM", wantTenant: sandbox.ContosoTenantID, wantOrg: sandbox.ContosoConnectedOrgID, wantName: "Contoso"},
		{domain: "not a domain", wantErr: entitlement.ErrInvalid},
		{domain: "x'); drop", wantErr: entitlement.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			p, err := e.svc.PreviewConnectedOrg(ctx, tt.domain)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			existing := ""
			if p.Existing != nil {
				existing = p.Existing.ID
			}
			if p.TenantID != tt.wantTenant || existing != tt.wantOrg || p.DisplayName != tt.wantName || p.Domain != strings.ToLower(tt.domain) {
				t.Errorf("preview = %+v (existing %q), want tenant %q, org %q, name %q", p, existing, tt.wantTenant, tt.wantOrg, tt.wantName)
			}
		})
	}
}

// TestAddAndRemoveConnectedOrgAsTheAdmin runs the writes with delegated credentials: Alex holds no
// entitlement-management role in the sandbox, so Entra refuses him although the bot's app-only
// token could have created the organization; Patti (catalog creator) may.
func TestAddAndRemoveConnectedOrgAsTheAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	count := func() int {
		t.Helper()
		all, err := e.svc.ConnectedOrgs(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	before := count()

	if _, err := e.svc.AddConnectedOrg(ctx, e.as(sandbox.UserAlex), sandbox.FabrikamDomain); !errors.Is(err, entitlement.ErrForbidden) {
		t.Fatalf("add as Alex: %v, want ErrForbidden", err)
	}
	if n := count(); n != before {
		t.Fatalf("a refused add created an organization: %d → %d", before, n)
	}

	e.reset()
	got, err := e.svc.AddConnectedOrg(ctx, e.as(sandbox.UserPatti), sandbox.FabrikamDomain)
	if err != nil {
		t.Fatalf("add as Patti: %v", err)
	}
	if got.Org.ID == "" || got.GraphRequestID == "" || !slices.Equal(got.Org.Domains, []string{sandbox.FabrikamDomain}) || got.Org.State != "configured" {
		t.Errorf("created = %+v", got)
	}
	jsonEqual(t, "POST connectedOrganizations", e.wire.bodies("POST", "/connectedOrganizations")[0],
		`{"displayName":"fabrikam.com","description":"Partner organisation added by a guestpass admin","state":"configured",
		  "identitySources":[{"@odata.type":"#microsoft.graph.domainIdentitySource","domainName":"fabrikam.com","displayName":"fabrikam.com"}]}`)

	// A second add never duplicates: it names the existing organization.
	_, err = e.svc.AddConnectedOrg(ctx, e.as(sandbox.UserPatti), sandbox.FabrikamDomain)
	var exists *entitlement.OrgExistsError
	if !errors.As(err, &exists) || exists.Org.ID != got.Org.ID {
		t.Fatalf("second add: %v, want OrgExistsError for %s", err, got.Org.ID)
	}
	if n := count(); n != before+1 {
		t.Fatalf("organizations: %d, want %d", n, before+1)
	}
	// Entra refuses a domain of the tenant itself; the reason is kept for the admin.
	_, err = e.svc.AddConnectedOrg(ctx, e.as(sandbox.UserPatti), sandbox.TenantDomain)
	if ge, ok := graph.AsError(err); !errors.Is(err, entitlement.ErrRefused) || !ok || !strings.Contains(ge.Message, "domain of this tenant") {
		t.Errorf("add own domain: %v, want ErrRefused with Entra's reason", err)
	}

	for _, q := range []string{sandbox.FabrikamDomain, "FABRIKAM.COM", got.Org.ID} {
		m, err := e.svc.ResolveConnectedOrg(ctx, q)
		if err != nil || len(m) != 1 || m[0].ID != got.Org.ID {
			t.Errorf("resolve %q = %+v, %v", q, m, err)
		}
	}
	// contoso.com is stored as Contoso's tenant: the domain still names it.
	if m, err := e.svc.ResolveConnectedOrg(ctx, "contoso.com"); err != nil || len(m) != 1 || m[0].ID != sandbox.ContosoConnectedOrgID {
		t.Errorf("resolve contoso.com = %+v, %v", m, err)
	}
	if m, err := e.svc.ResolveConnectedOrg(ctx, "Nope Inc"); err != nil || len(m) != 0 {
		t.Errorf("resolve unknown = %+v, %v", m, err)
	}

	if _, err := e.svc.RemoveConnectedOrg(ctx, e.as(sandbox.UserAlex), got.Org.ID); !errors.Is(err, entitlement.ErrForbidden) {
		t.Fatalf("remove as Alex: %v, want ErrForbidden", err)
	}
	rm, err := e.svc.RemoveConnectedOrg(ctx, e.as(sandbox.UserPatti), got.Org.ID)
	if err != nil || rm.GraphRequestID == "" {
		t.Fatalf("remove as Patti: %+v, %v", rm, err)
	}
	if _, err := e.svc.GetConnectedOrg(ctx, got.Org.ID); !errors.Is(err, entitlement.ErrNotFound) {
		t.Errorf("get after remove: %v", err)
	}
	if _, err := e.svc.RemoveConnectedOrg(ctx, e.as(sandbox.UserPatti), got.Org.ID); !errors.Is(err, entitlement.ErrNotFound) {
		t.Errorf("second remove: %v, want ErrNotFound", err)
	}
}

// TestRemoveConnectedOrgInUse: the sandbox, like the reference, refuses to delete an
// organization an assignment policy targets; the refusal keeps Entra's reason.
func TestRemoveConnectedOrgInUse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := fabrikamScenario()
	sc.Partners = []entitlement.Partner{{Domain: sandbox.ContosoDomain, TenantID: sandbox.ContosoTenantID}}
	sc = e.create(t, sc)
	contoso, err := e.svc.GetConnectedOrg(ctx, sandbox.ContosoConnectedOrgID)
	if err != nil {
		t.Fatal(err)
	}
	pols, err := e.svc.PoliciesTargetingOrg(ctx, contoso.ID)
	if err != nil || len(pols) != 1 {
		t.Fatalf("policies targeting Contoso = %v, %v", pols, err)
	}
	if names, err := e.svc.ScenariosWithOrg(ctx, contoso); err != nil || !slices.Equal(names, []string{sc.Name}) {
		t.Errorf("scenarios with Contoso = %v, %v", names, err)
	}
	_, err = e.svc.RemoveConnectedOrg(ctx, e.as(sandbox.UserPatti), contoso.ID)
	ge, ok := graph.AsError(err)
	if !errors.Is(err, entitlement.ErrRefused) || !ok || !strings.Contains(ge.Message, "used by assignment policy") {
		t.Fatalf("remove in-use org: %v", err)
	}
	if _, err := e.svc.GetConnectedOrg(ctx, contoso.ID); err != nil {
		t.Errorf("the refused removal deleted the organization: %v", err)
	}
}
