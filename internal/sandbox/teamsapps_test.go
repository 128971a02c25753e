package sandbox_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/appcatalogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"guestpass/internal/sandbox"
)

const installedAppsRoute = "POST /v1.0/users/{id}/teamwork/installedApps"

func bindApp(id string) map[string]any {
	return map[string]any{"teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/" + id}
}

func TestTeamsAppCatalogFiltersByExternalID(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	// The catalog is read with AppCatalog.Read.All, which guestpass does not hold by default.
	sb.SetAppRoles(append(slices.Clone(sandbox.DefaultAppRoles), "AppCatalog.Read.All"))
	client := graphClient(t, sb, appCredential(t, sb))
	// A quote in the value must arrive escaped and match nothing rather than break the filter.
	for _, tt := range []struct {
		externalID string
		want       []string
	}{
		{sandbox.BotAppID, []string{sandbox.TeamsAppCatalogID}},
		{"o'brien", nil},
	} {
		filter := "externalId eq '" + strings.ReplaceAll(tt.externalID, "'", "''") + "'"
		page, err := client.AppCatalogs().TeamsApps().Get(ctx(t), &appcatalogs.TeamsAppsRequestBuilderGetRequestConfiguration{
			QueryParameters: &appcatalogs.TeamsAppsRequestBuilderGetQueryParameters{Filter: &filter},
		})
		if err != nil {
			t.Fatalf("list teamsApps %q: %v", filter, err)
		}
		var got []string
		for _, a := range page.GetValue() {
			got = append(got, *a.GetId())
			if *a.GetExternalId() != tt.externalID || *a.GetDistributionMethod() != models.ORGANIZATION_TEAMSAPPDISTRIBUTIONMETHOD {
				t.Errorf("app = %v %v", *a.GetExternalId(), a.GetDistributionMethod())
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %q: ids %v, want %v", filter, got, tt.want)
		}
	}
	// Without a catalog permission (guestpass's default grant) the listing is refused.
	sb.SetAppRoles(sandbox.DefaultAppRoles)
	if r := appAPI(t, sb).do("GET", "/appCatalogs/teamsApps", nil); r.status != http.StatusForbidden || !strings.Contains(string(r.raw), "AppCatalog.Read.All") {
		t.Fatalf("catalog without AppCatalog.Read.All: %d %s", r.status, r.raw)
	}
}

func TestInstallAppForUser(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	client := graphClient(t, sb, appCredential(t, sb))
	apps := client.Users().ByUserId(sandbox.UserMegan).Teamwork().InstalledApps()
	if sb.AppInstalled(sandbox.UserMegan) {
		t.Fatal("the app is installed for Megan before anyone installed it")
	}
	body := models.NewUserScopeTeamsAppInstallation()
	body.SetAdditionalData(map[string]any{"teamsApp@odata.bind": sb.GraphURL() + "/appCatalogs/teamsApps/" + sandbox.TeamsAppCatalogID})
	// Graph answers 201 without a body; the SDK returns no object and no error.
	if _, err := apps.Post(ctx(t), body, nil); err != nil {
		t.Fatalf("install: %v", err)
	}
	if !sb.AppInstalled(sandbox.UserMegan) || sb.AppInstalled(sandbox.UserIsaiah) {
		t.Fatalf("installed for Megan %v, Isaiah %v; want only Megan", sb.AppInstalled(sandbox.UserMegan), sb.AppInstalled(sandbox.UserIsaiah))
	}
	_, err := apps.Post(ctx(t), body, nil)
	if status, code := odataStatus(t, err); status != http.StatusConflict || code != "Conflict" {
		t.Fatalf("second install: %d %s, want 409 Conflict", status, code)
	}

	filter := "teamsApp/id eq '" + sandbox.TeamsAppCatalogID + "'"
	page, err := apps.Get(ctx(t), &users.ItemTeamworkInstalledAppsRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTeamworkInstalledAppsRequestBuilderGetQueryParameters{Filter: &filter, Expand: []string{"teamsApp"}},
	})
	if err != nil {
		t.Fatalf("list installed apps: %v", err)
	}
	if len(page.GetValue()) != 1 || page.GetValue()[0].GetTeamsApp() == nil || *page.GetValue()[0].GetTeamsApp().GetExternalId() != sandbox.BotAppID {
		t.Fatalf("installed apps = %+v", page.GetValue())
	}
	installationID := *page.GetValue()[0].GetId()
	chat, err := apps.ByUserScopeTeamsAppInstallationId(installationID).Chat().Get(ctx(t), nil)
	if err != nil {
		t.Fatalf("chat with the app: %v", err)
	}
	if id := *chat.GetId(); !strings.HasPrefix(id, "19:"+sandbox.UserMegan+"_") || !strings.HasSuffix(id, "@unq.gbl.spaces") ||
		*chat.GetChatType() != models.ONEONONE_CHATTYPE {
		t.Fatalf("chat = %s %v", id, chat.GetChatType())
	}
	if c := sb.Calls()[installedAppsRoute]; c != 2 {
		t.Errorf("install calls = %d, want 2", c)
	}
}

func TestInstallAppErrors(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	path := "/users/" + sandbox.UserIsaiah + "/teamwork/installedApps"
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		code   string
	}{
		{"no binding", path, map[string]any{}, 400, "BadRequest"},
		{"binding to something else", path, map[string]any{"teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/users/x"}, 400, "BadRequest"},
		{"unknown property", path, map[string]any{"teamsApp@odata.bind": bindApp(sandbox.TeamsAppCatalogID)["teamsApp@odata.bind"], "color": "red"}, 400, "BadRequest"},
		{"app not in the catalog", path, bindApp("11111111-2222-3333-4444-555555555555"), 404, "NotFound"},
		{"unknown user", "/users/11111111-2222-3333-4444-555555555555/teamwork/installedApps", bindApp(sandbox.TeamsAppCatalogID), 404, "Request_ResourceNotFound"},
		// The Self permission only lets the bot install itself, not another app.
		{"another app with a Self permission", path, bindApp("com.microsoft.teamspace.tab.planner"), 403, "Authorization_RequestDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := app.do("POST", tt.path, tt.body)
			if r.status != tt.status || errCode(r) != tt.code {
				t.Fatalf("status %d %s, want %d %s: %s", r.status, errCode(r), tt.status, tt.code, r.raw)
			}
		})
	}
	if sb.AppInstalled(sandbox.UserIsaiah) {
		t.Fatal("a failed install left the app installed")
	}

	// Without a TeamsAppInstallation permission the install is refused, naming the permission.
	sb.SetAppRoles(slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool {
		return r == "TeamsAppInstallation.ReadWriteSelfForUser.All"
	}))
	limited := appAPI(t, sb)
	r := limited.do("POST", path, bindApp(sandbox.TeamsAppCatalogID))
	if r.status != http.StatusForbidden || !strings.Contains(string(r.raw), "TeamsAppInstallation.ReadWriteSelfForUser.All") {
		t.Fatalf("install without the permission: %d %s", r.status, r.raw)
	}
	if r := limited.do("GET", path, nil); r.status != http.StatusForbidden {
		t.Fatalf("list without the permission: %d %s", r.status, r.raw)
	}
	if r := limited.do("GET", path+"/bm9uZQ/chat", nil); r.status != http.StatusForbidden {
		t.Fatalf("chat without the permission: %d %s", r.status, r.raw)
	}
	// With it again, an unknown installation is 404.
	sb.SetAppRoles(sandbox.DefaultAppRoles)
	if r := appAPI(t, sb).do("GET", path+"/bm9uZQ/chat", nil); r.status != http.StatusNotFound {
		t.Fatalf("chat of an unknown installation: %d %s", r.status, r.raw)
	}
}

func TestInstalledAppsPersist(t *testing.T) {
	path := t.TempDir() + "/sandbox.json"
	sb := newSandbox(t, sandbox.Options{StatePath: path})
	appAPI(t, sb).must(201, "POST", "/users/"+sandbox.UserLynne+"/teamwork/installedApps", bindApp(sandbox.TeamsAppCatalogID))
	again := newSandbox(t, sandbox.Options{StatePath: path})
	if !again.AppInstalled(sandbox.UserLynne) {
		t.Fatal("the installation did not survive a restart")
	}
}
