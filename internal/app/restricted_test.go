package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"guestpass/internal/credentials"
	"guestpass/internal/sandbox"
	"guestpass/internal/sso"
	"guestpass/internal/testkit"
)

// sandboxCall calls the sandbox's Graph app-only over HTTP, as the bot's app, and decodes the
// JSON answer into out (when not nil).
func sandboxCall(t *testing.T, sb *sandbox.Sandbox, method, path string, body, out any) {
	t.Helper()
	creds := sb.AppCredentials()
	cred, err := credentials.GraphAppOnly(credentials.Config{AppID: creds.ClientID, AppType: credentials.SingleTenant, TenantID: sb.TenantID(),
		ClientSecret: creds.ClientSecret, AuthorityHost: sb.AuthorityHost(), HTTPClient: sb.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{sso.GraphScope(sb.GraphURL())}})
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if body != nil {
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	rd := bytes.NewReader(raw)
	req, _ := http.NewRequest(method, sb.GraphURL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := sb.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestrictedModeProvisionsInTheConfiguredCatalog: with CATALOG_ID, a scenario defined in the
// wizard becomes an access package in the administrator's catalog, and the bot creates no
// catalog of its own.
func TestRestrictedModeProvisionsInTheConfiguredCatalog(t *testing.T) {
	dir := t.TempDir()
	statePath := filepath.Join(dir, "sandbox.json")

	// The administrator's catalog, created in the sandbox tenant the app will load.
	sb, err := sandbox.New(sandbox.Options{StatePath: statePath})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sb.Handler())
	srv.TLS = sb.TLSConfig()
	srv.StartTLS()
	if err := sb.SetBaseURL(srv.URL); err != nil {
		t.Fatal(err)
	}
	var catalog struct {
		ID string `json:"id"`
	}
	sandboxCall(t, sb, http.MethodPost, "/identityGovernance/entitlementManagement/catalogs",
		map[string]any{"displayName": "Partner access (admin-managed)", "isExternallyVisible": true, "state": "published"}, &catalog)
	srv.Close()
	if catalog.ID == "" {
		t.Fatal("the catalog has no id")
	}

	a, base := localApp(t, dir, map[string]string{"CATALOG_ID": catalog.ID})
	fake := testkit.NewConnector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	b := &player{t: t, url: base, fake: fake}

	b.defineScenario(ctx, "Osprey partners", "Restricted-mode scenario")

	running := a.Graph().Sandbox
	if n := running.Calls()["POST /v1.0/identityGovernance/entitlementManagement/catalogs"]; n != 0 {
		t.Errorf("restricted mode created %d catalog(s)", n)
	}
	var pkgs struct {
		Value []struct {
			DisplayName string `json:"displayName"`
			Catalog     struct {
				ID string `json:"id"`
			} `json:"catalog"`
		} `json:"value"`
	}
	sandboxCall(t, running, http.MethodGet, "/identityGovernance/entitlementManagement/accessPackages?$expand=catalog&$filter="+
		url.QueryEscape("displayName eq 'Osprey partners'"), nil, &pkgs)
	if len(pkgs.Value) != 1 || pkgs.Value[0].Catalog.ID != catalog.ID {
		t.Fatalf("access packages named Osprey partners = %+v; want one in catalog %s", pkgs.Value, catalog.ID)
	}
}
