package entitlement_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
)

// catalogOwner turns the bot into a restricted-mode deployment over e's sandbox: its app loses
// the EntitlementManagement permissions and holds Catalog owner on catalogID only, and the
// returned env's service (CatalogID set) uses a fresh app-only token carrying that.
func catalogOwner(t *testing.T, e *env, catalogID string) *env {
	t.Helper()
	e.sb.SetAppRoles(slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool {
		return strings.HasPrefix(r, "EntitlementManagement.")
	}))
	e.sb.AssignEntitlementRole(sandbox.BotServicePrincipalID, sandbox.EMRoleCatalogOwner, "/AccessPackageCatalog/"+catalogID)
	app := e.tn.AppGraph()
	opts := e.opts
	opts.Graph, opts.CatalogID = app, catalogID
	svc, err := entitlement.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	cp := *e
	cp.svc, cp.app, cp.opts = svc, app, opts
	return &cp
}

// adminCatalog creates an externally visible catalog as an administrator would and returns its id.
func adminCatalog(t *testing.T, e *env, name string) string {
	t.Helper()
	cat := models.NewAccessPackageCatalog()
	cat.SetDisplayName(&name)
	external := true
	cat.SetIsExternallyVisible(&external)
	got, err := e.app.IdentityGovernance().EntitlementManagement().Catalogs().Post(context.Background(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	return *got.GetId()
}

// TestRestrictedListingsStayInTheCatalog: with only Catalog owner on the configured catalog,
// the listings the admin commands use answer with that catalog's objects, narrowed the way
// Graph requires (the sandbox refuses anything else with 403), and nothing of other catalogs.
func TestRestrictedListingsStayInTheCatalog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	outside := e.create(t, oneStage("Outside"))
	catalogID := adminCatalog(t, e, "Partner access")
	inside := newEnvSharing(t, e, func(o *entitlement.ServiceOptions) { o.CatalogID = catalogID }).create(t, oneStage("Inside"))
	if inside.CatalogID != catalogID || outside.CatalogID == catalogID {
		t.Fatalf("catalogs: inside %s, outside %s, configured %s", inside.CatalogID, outside.CatalogID, catalogID)
	}
	granted := e.request(t, inside, "granted@fabrikam.com")
	e.request(t, inside, "waiting@fabrikam.com")
	if err := e.sb.DecideAs(sandbox.UserMegan, granted, "Approve", "ok"); err != nil {
		t.Fatal(err)
	}
	out := e.request(t, outside, "other@fabrikam.com")
	if err := e.sb.DecideAs(sandbox.UserMegan, out, "Approve", "ok"); err != nil {
		t.Fatal(err)
	}
	e.request(t, outside, "other.waiting@fabrikam.com")

	r := catalogOwner(t, e, catalogID)
	r.reset()
	list, err := r.svc.Assignments(ctx, entitlement.AssignmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// The waiting request's assignment exists too (state delivering), as in Entra.
	var targets []string
	for _, a := range list {
		if a.AccessPackageID != inside.AccessPackageID {
			t.Errorf("assignment of another catalog: %+v", a)
		}
		targets = append(targets, a.State+" "+a.Target.Email)
	}
	slices.Sort(targets)
	if want := []string{"delivered granted@fabrikam.com", "delivering waiting@fabrikam.com"}; !slices.Equal(targets, want) {
		t.Errorf("assignments = %q, want %q", targets, want)
	}
	// One listing of the catalog's packages, then one of each package's assignments.
	var queries []string
	for _, c := range r.graphCalls() {
		queries = append(queries, c.Method+" "+strings.TrimPrefix(c.Path, "/v1.0"+em)+"?"+c.Query)
	}
	if len(queries) != 2 || !strings.Contains(queries[0], "/accessPackages?") || !strings.Contains(queries[0], "catalog/id eq '"+catalogID+"'") ||
		!strings.Contains(queries[1], "/assignments?") || !strings.Contains(queries[1], "accessPackage/id eq '"+inside.AccessPackageID+"'") {
		t.Errorf("Graph calls = %q", queries)
	}
	if got, err := r.svc.Assignments(ctx, entitlement.AssignmentFilter{ExpiringWithin: 91 * 24 * time.Hour}); err != nil || len(got) != 1 {
		t.Errorf("expiring within 91 days: %+v %v", got, err)
	}
	if got, err := r.svc.Assignments(ctx, entitlement.AssignmentFilter{ExpiringWithin: 24 * time.Hour}); err != nil || len(got) != 0 {
		t.Errorf("expiring within a day: %+v %v", got, err)
	}

	requests := func(f entitlement.RequestFilter) []entitlement.Request {
		t.Helper()
		var got []entitlement.Request
		if err := r.svc.Requests(ctx, f, func(q entitlement.Request) error {
			got = append(got, q)
			return nil
		}); err != nil {
			t.Fatalf("Requests(%+v): %v", f, err)
		}
		return got
	}
	all := requests(entitlement.RequestFilter{})
	if len(all) != 2 || all[0].CreatedAt.Before(all[1].CreatedAt) {
		t.Fatalf("requests = %+v, want the catalog's two, newest first", all)
	}
	for _, q := range all {
		if q.AccessPackage != "Inside" || !strings.HasSuffix(q.Requestor.Email, "@fabrikam.com") || strings.Contains(q.Requestor.Email, "other") {
			t.Errorf("request %+v", q)
		}
	}
	if got := requests(entitlement.RequestFilter{State: entitlement.RequestPendingApproval}); len(got) != 1 || got[0].Requestor.Email != "waiting@fabrikam.com" {
		t.Errorf("pending requests = %+v", got)
	}
	if got := requests(entitlement.RequestFilter{Limit: 1}); len(got) != 1 || got[0].ID != all[0].ID {
		t.Errorf("newest request = %+v, want %s", got, all[0].ID)
	}
	if got := requests(entitlement.RequestFilter{AccessPackageID: inside.AccessPackageID}); len(got) != 2 {
		t.Errorf("requests of the package = %d", len(got))
	}

	var pkgs []entitlement.AccessPackage
	if err := r.svc.AccessPackages(ctx, func(p entitlement.AccessPackage) error { pkgs = append(pkgs, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].ID != inside.AccessPackageID || pkgs[0].Catalog != "Partner access" || pkgs[0].CatalogID != catalogID {
		t.Errorf("access packages = %+v", pkgs)
	}
	var cats []entitlement.Catalog
	if err := r.svc.Catalogs(ctx, func(c entitlement.Catalog) error { cats = append(cats, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(cats) != 1 || cats[0].ID != catalogID || cats[0].DisplayName != "Partner access" || !cats[0].External {
		t.Errorf("catalogs = %+v", cats)
	}
	// The store also holds the scenario of the other catalog: it is skipped, not refused.
	if got := r.pending(t); len(got) != 1 || got[0].Requestor.Email != "waiting@fabrikam.com" || got[0].ScenarioID != inside.ID {
		t.Errorf("pending = %+v", got)
	}

	// The same service in full mode is what the tenant-wide permission was for: refused now.
	full := newEnvSharing(t, r, func(o *entitlement.ServiceOptions) { o.CatalogID = "" })
	if _, err := full.svc.Assignments(ctx, entitlement.AssignmentFilter{}); !graph.IsForbidden(err) {
		t.Errorf("tenant-wide assignments with a catalog role only: %v, want 403", err)
	}
}

// TestFullModeListingsAreOneQuery pins the cost of the listings in full mode: one query each,
// followed through its pages, with no catalog narrowing; Limit ends the listing early.
func TestFullModeListingsAreOneQuery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.create(t, oneStage("Full"))
	for _, g := range []string{"a", "b", "c", "d", "e"} {
		e.request(t, sc, g+"@fabrikam.com")
	}
	count := func(name string, f func() error) []captured {
		t.Helper()
		e.reset()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return e.graphCalls()
	}
	noop := func(entitlement.Request) error { return nil }
	for _, tt := range []struct {
		name  string
		calls int
		f     func() error
	}{
		// Five requests are three pages of two.
		{"Requests", 3, func() error { return e.svc.Requests(ctx, entitlement.RequestFilter{}, noop) }},
		{"Requests limit 1", 1, func() error { return e.svc.Requests(ctx, entitlement.RequestFilter{Limit: 1}, noop) }},
		{"Requests limit 3", 2, func() error { return e.svc.Requests(ctx, entitlement.RequestFilter{Limit: 3}, noop) }},
		{"AccessPackages", 1, func() error {
			return e.svc.AccessPackages(ctx, func(entitlement.AccessPackage) error { return nil })
		}},
		{"Catalogs", 1, func() error { return e.svc.Catalogs(ctx, func(entitlement.Catalog) error { return nil }) }},
		// Each request made an assignment (delivering until approved): three pages too.
		{"Assignments", 3, func() error { _, err := e.svc.Assignments(ctx, entitlement.AssignmentFilter{}); return err }},
	} {
		calls := count(tt.name, tt.f)
		if len(calls) != tt.calls {
			t.Errorf("%s: %d Graph calls, want %d", tt.name, len(calls), tt.calls)
		}
		for _, c := range calls {
			if strings.Contains(c.Query, "catalog/id") || strings.Contains(c.Query, "accessPackage/id") {
				t.Errorf("%s: full mode narrowed the listing: %s", tt.name, c.Query)
			}
		}
	}

	if err := e.svc.Requests(ctx, entitlement.RequestFilter{AccessPackageID: "../x"}, noop); !errors.Is(err, entitlement.ErrInvalid) {
		t.Errorf("bad package id: %v", err)
	}
	if err := e.svc.Requests(ctx, entitlement.RequestFilter{Limit: -1}, noop); !errors.Is(err, entitlement.ErrInvalid) {
		t.Errorf("negative limit: %v", err)
	}
	stop := errors.New("stop")
	if err := e.svc.Requests(ctx, entitlement.RequestFilter{}, func(entitlement.Request) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error: %v", err)
	}
}
