package admin_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/credentials"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
	"guestpass/internal/testenv"
)

// service builds an entitlement service over e's store with client; catalogID selects
// restricted mode.
func (e *env) service(client *msgraphsdk.GraphServiceClient, catalogID string) *entitlement.Service {
	e.t.Helper()
	svc, err := entitlement.NewService(entitlement.ServiceOptions{Graph: client, Store: e.st, TenantID: sandbox.TenantID,
		CatalogID: catalogID, Logger: testenv.Quiet(),
		DelegatedClient: func(_ context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
			return e.tn.GraphClient(cred)
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// tableRows returns the data rows (header excluded) of the table card in a reply.
func tableRows(t *testing.T, reply string) [][]string {
	t.Helper()
	var a struct {
		Attachments []struct {
			Content struct {
				Body []struct {
					Type string `json:"type"`
					Rows []struct {
						Cells []struct {
							Items []struct {
								Text string `json:"text"`
							} `json:"items"`
						} `json:"cells"`
					} `json:"rows"`
				} `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal([]byte(reply), &a); err != nil || len(a.Attachments) != 1 {
		t.Fatalf("not one card: %v %s", err, reply)
	}
	var rows [][]string
	for _, el := range a.Attachments[0].Content.Body {
		if el.Type != "Table" {
			continue
		}
		for _, r := range el.Rows[1:] {
			var row []string
			for _, c := range r.Cells {
				text := ""
				if len(c.Items) > 0 {
					text = c.Items[0].Text
				}
				row = append(row, text)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// column returns column i of rows.
func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		if i < len(r) {
			out = append(out, r[i])
		}
	}
	return out
}

// TestRestrictedModeAdminLists: with CATALOG_ID set and the bot's service principal holding
// only Catalog owner on that catalog — no EntitlementManagement application permission, so the
// sandbox refuses tenant-wide listings with 403 — expiring, stats, requests, packages and
// catalogs answer with the catalog's data and show nothing of other catalogs.
func TestRestrictedModeAdminLists(t *testing.T) {
	e := newTenant(t, testenv.Options{})
	ctx := context.Background()

	// Before the switch, with the tenant-wide permission: a scenario in guestpass's own catalog,
	// and the administrator's catalog with a scenario in it.
	outside := e.scenario("Outside Beta")
	cat := models.NewAccessPackageCatalog()
	name, external := "Partner access", true
	cat.SetDisplayName(&name)
	cat.SetIsExternallyVisible(&external)
	created, err := e.tn.Graph.IdentityGovernance().EntitlementManagement().Catalogs().Post(ctx, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	catalogID := *created.GetId()
	full := e.svc
	e.svc = e.service(e.tn.Graph, catalogID)
	inside := e.scenario("Launch Alpha")
	e.svc = full
	if inside.CatalogID != catalogID || outside.CatalogID == catalogID {
		t.Fatalf("catalogs: inside %s, outside %s, configured %s", inside.CatalogID, outside.CatalogID, catalogID)
	}
	for _, sc := range []entitlement.Scenario{inside, outside} {
		tag := strings.ToLower(strings.Fields(sc.Name)[1]) // alpha, beta
		e.request(sc.AccessPackageID, "pending."+tag+"@contoso.com")
		granted := e.request(sc.AccessPackageID, "granted."+tag+"@contoso.com")
		if err := e.tn.Sandbox.DecideAs(sandbox.UserMegan, granted, "Approve", "ok"); err != nil {
			t.Fatal(err)
		}
	}

	// The switch: Catalog owner on the configured catalog instead of the tenant-wide permission,
	// and a fresh app-only token that carries it.
	e.tn.Sandbox.SetAppRoles(without(emPermissions))
	e.tn.Sandbox.AssignEntitlementRole(sandbox.BotServicePrincipalID, sandbox.EMRoleCatalogOwner, "/AccessPackageCatalog/"+catalogID)
	cred, err := credentials.GraphAppOnly(e.tn.Credentials)
	if err != nil {
		t.Fatal(err)
	}
	if e.graph, err = e.tn.GraphClient(cred); err != nil {
		t.Fatal(err)
	}
	// Listing tenant-wide, as full mode does, is refused now: the test exercises the scoping.
	if err := e.service(e.graph, "").AccessPackages(ctx, func(entitlement.AccessPackage) error { return nil }); !graph.IsForbidden(err) {
		t.Fatalf("tenant-wide listing with Catalog owner only: %v, want 403", err)
	}
	e.svc = e.service(e.graph, catalogID)
	e.serve()

	t.Run("expiring", func(t *testing.T) {
		e.t = t
		rows := tableRows(t, e.say("expiring --days 31"))
		if len(rows) != 1 || rows[0][0] != "granted.alpha@contoso.com" || rows[0][2] != inside.AccessPackageID {
			t.Errorf("rows = %q, want granted.alpha's assignment only", rows)
		}
	})
	t.Run("stats", func(t *testing.T) {
		e.t = t
		got := map[string]string{}
		for _, r := range tableRows(t, e.say("stats")) {
			got[r[0]] = r[1]
		}
		// The store holds both scenarios; Graph is read for the catalog's only.
		for label, want := range map[string]string{"Scenarios": "2 (active 2)", "Requests awaiting approval": "1", "Active assignments": "1"} {
			if got[label] != want {
				t.Errorf("%s = %q, want %q (all: %v)", label, got[label], want, got)
			}
		}
	})
	t.Run("requests", func(t *testing.T) {
		e.t = t
		if got := column(tableRows(t, e.say("requests")), 0); !slices.Equal(got, []string{"pending.alpha@contoso.com"}) {
			t.Errorf("pending requestors = %q", got)
		}
		rows := tableRows(t, e.say("requests all"))
		got := column(rows, 0)
		slices.Sort(got)
		if !slices.Equal(got, []string{"granted.alpha@contoso.com", "pending.alpha@contoso.com"}) || !slices.Equal(column(rows, 1), []string{"Launch Alpha", "Launch Alpha"}) {
			t.Errorf("requests = %q", rows)
		}
	})
	t.Run("packages", func(t *testing.T) {
		e.t = t
		if rows := tableRows(t, e.say("packages")); len(rows) != 1 || rows[0][0] != "Launch Alpha" || rows[0][1] != "Partner access" {
			t.Errorf("packages = %q, want Launch Alpha in Partner access only", rows)
		}
	})
	t.Run("catalogs", func(t *testing.T) {
		e.t = t
		if rows := tableRows(t, e.say("catalogs")); len(rows) != 1 || rows[0][0] != "Partner access" || rows[0][3] != "yes" {
			t.Errorf("catalogs = %q, want the configured catalog only", rows)
		}
	})
}

// TestFullModeAdminListCosts pins the entitlement-management Graph calls of the list commands in
// full mode: one query each (stats: pending requests and assignments), with no catalog narrowing.
func TestFullModeAdminListCosts(t *testing.T) {
	e := newEnvWith(t, testenv.Options{PageSize: 100})
	sc := e.scenario("Launch Gamma")
	e.request(sc.AccessPackageID, "pending.gamma@contoso.com")
	granted := e.request(sc.AccessPackageID, "granted.gamma@contoso.com")
	if err := e.tn.Sandbox.DecideAs(sandbox.UserMegan, granted, "Approve", "ok"); err != nil {
		t.Fatal(err)
	}
	emCalls := func() map[string]int {
		out := map[string]int{}
		for k, v := range e.tn.Sandbox.Calls() {
			if strings.Contains(k, "/identityGovernance/") {
				out[strings.TrimPrefix(k, "GET /v1.0/identityGovernance/entitlementManagement")] = v
			}
		}
		return out
	}
	for _, tt := range []struct {
		text string
		want map[string]int
	}{
		{"requests all", map[string]int{"/assignmentRequests": 1}},
		{"catalogs", map[string]int{"/catalogs": 1}},
		{"packages", map[string]int{"/accessPackages": 1}},
		{"expiring --days 31", map[string]int{"/assignments": 1}},
		{"stats", map[string]int{"/assignmentRequests": 1, "/assignments": 1}},
	} {
		t.Run(tt.text, func(t *testing.T) {
			e.t = t
			before := emCalls()
			reply := e.say(tt.text)
			got := map[string]int{}
			for k, v := range emCalls() {
				if d := v - before[k]; d != 0 {
					got[k] = d
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("calls = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("calls = %v, want %v", got, tt.want)
				}
			}
			if strings.Contains(reply, "couldn't") || len(tableRows(t, reply)) == 0 {
				t.Errorf("no rows: %s", reply)
			}
		})
	}
}
