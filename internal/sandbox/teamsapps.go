package sandbox

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Teams apps: the tenant's app catalog and apps installed in users' personal scope, so the bot can
// install itself for an approver it has never talked to (Graph, app-only) before it creates the 1:1
// conversation (Bot Connector, which refuses users without the app; see testkit.WithInstalledApps
// and AppInstalled).
//
//	GET  /v1.0/appCatalogs/teamsApps                                 the catalog; $filter on externalId,
//	                                                                 distributionMethod, id, displayName
//	GET  /v1.0/appCatalogs/teamsApps/{id}
//	GET  /v1.0/users/{id}/teamwork/installedApps                     $expand=teamsApp,teamsAppDefinition;
//	                                                                 $filter=teamsApp/id eq '…'
//	POST /v1.0/users/{id}/teamwork/installedApps                     {"teamsApp@odata.bind": ".../appCatalogs/teamsApps/{id}"}
//	                                                                 → 201 without a body; 409 Conflict when
//	                                                                 the app is installed already
//	GET  /v1.0/users/{id}/teamwork/installedApps/{installationId}
//	GET  /v1.0/users/{id}/teamwork/installedApps/{installationId}/chat  the user's 1:1 chat with the app
//
// The catalog holds the bot's own app (id TeamsAppCatalogID, externalId the bot's client id, the
// manifest id guestpass's package uses by default) and one store app. Installing needs
// TeamsAppInstallation.ReadWriteSelfForUser.All (or a broader TeamsAppInstallation permission);
// the "Self" permissions only let an app install itself, as in Graph. Installations persist with
// the rest of the state.

const (
	// TeamsAppCatalogID is the id the sandbox tenant's Teams app catalog gives the bot's app (what
	// TEAMS_APP_CATALOG_ID names in a real tenant). Its externalId is the bot's client id.
	TeamsAppCatalogID = "5c1e7a2d-9b4f-4e3a-8d6c-2f1a0b9c8e71"
	// teamsStoreAppID is a Microsoft store app in the catalog (store apps keep their manifest id).
	teamsStoreAppID = "com.microsoft.teamspace.tab.planner"
)

// Application permissions that let an app manage Teams apps in users' personal scope. The Self
// variants cover only the calling app itself.
const pTeamsAppSelfForUser = "TeamsAppInstallation.ReadWriteSelfForUser.All"

var (
	teamsUserAppSelfWrite = []string{pTeamsAppSelfForUser, "TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All"}
	teamsUserAppAnyWrite  = []string{"TeamsAppInstallation.ReadWriteForUser.All", "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
		"TeamsAppInstallation.ManageSelectedForUser.All", "TeamsAppInstallation.ReadWriteSelectedForUser.All"}

	permTeamsCatalogRead = &perm{
		app:       []string{"AppCatalog.Read.All", "AppCatalog.ReadWrite.All"},
		delegated: []string{"AppCatalog.Read.All", "AppCatalog.ReadWrite.All", "AppCatalog.Submit", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	permUserAppsWrite = &perm{
		app: append(append([]string{}, teamsUserAppSelfWrite...), teamsUserAppAnyWrite...),
		delegated: []string{"TeamsAppInstallation.ReadWriteSelfForUser", "TeamsAppInstallation.ReadWriteForUser",
			"TeamsAppInstallation.ReadWriteAndConsentSelfForUser", "TeamsAppInstallation.ReadWriteAndConsentForUser"},
	}
	permUserAppsRead = &perm{
		app:       append([]string{"TeamsAppInstallation.ReadForUser.All"}, permUserAppsWrite.app...),
		delegated: append([]string{"TeamsAppInstallation.ReadForUser"}, permUserAppsWrite.delegated...),
	}
)

// teamsAppRec is an app of the tenant's Teams app catalog.
type teamsAppRec struct {
	ID                 string
	ExternalID         string
	DisplayName        string
	DistributionMethod string
	// WebAppID is the manifest's webApplicationInfo.id: the Entra app the Self permissions match.
	WebAppID string
	Version  string
}

// teamsInstallRec is an app installed in a user's personal scope.
type teamsInstallRec struct {
	ID         string    `json:"id"`
	UserID     string    `json:"userId"`
	TeamsAppID string    `json:"teamsAppId"`
	Created    time.Time `json:"created"`
}

// teamsCatalog is the tenant's Teams app catalog: fixed, because guestpass only reads it.
func (s *Sandbox) teamsCatalog() []*teamsAppRec {
	return []*teamsAppRec{
		{ID: TeamsAppCatalogID, ExternalID: s.opts.ClientID, DisplayName: "guestpass", DistributionMethod: "organization",
			WebAppID: s.opts.ClientID, Version: "1.0.0"},
		{ID: teamsStoreAppID, ExternalID: "", DisplayName: "Tasks by Planner and To Do", DistributionMethod: "store",
			WebAppID: "09abbdfd-ed23-44ee-a2d9-a627aa1c90f3", Version: "0.0.24"},
	}
}

func (s *Sandbox) teamsApp(id string) *teamsAppRec {
	return find(s.teamsCatalog(), id, func(a *teamsAppRec) string { return a.ID })
}

func teamsAppView(a *teamsAppRec) map[string]any {
	var ext any
	if a.ExternalID != "" {
		ext = a.ExternalID
	}
	return map[string]any{
		"id": a.ID, "externalId": ext, "displayName": a.DisplayName, "distributionMethod": a.DistributionMethod,
	}
}

func teamsAppDefinitionView(a *teamsAppRec) map[string]any {
	return map[string]any{
		"id":         base64.RawURLEncoding.EncodeToString([]byte(a.ID + "##" + a.Version + "##Published")),
		"teamsAppId": a.ID, "displayName": a.DisplayName, "version": a.Version,
	}
}

// installationID builds an installation id the way Teams does: the base64 of "{user}##{app}".
func installationID(userID, appID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(userID + "##" + appID))
}

func (s *Sandbox) listTeamsApps(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand); err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, "appCatalogs/teamsApps", collect(s.teamsCatalog(), teamsAppView), nil), nil
}

func (s *Sandbox) getTeamsApp(c *reqCtx) (int, any, *graphError) {
	a := s.teamsApp(c.params["id"])
	if a == nil {
		return 0, nil, gerr(http.StatusNotFound, "NotFound", "The Teams app '"+c.params["id"]+"' was not found in the app catalog.")
	}
	return 200, s.entity(c, "appCatalogs/teamsApps", teamsAppView(a)), nil
}

// installedUser resolves the {id} of a teamwork route to a user.
func (s *Sandbox) installedUser(c *reqCtx) (*userRec, *graphError) {
	u := s.st.userByIDOrUPN(c.params["id"])
	if u == nil {
		return nil, dirNotFound(c.params["id"])
	}
	return u, nil
}

// installationView is the full (filterable) view of an installation; installationOut trims it to
// what was expanded.
func (s *Sandbox) installationView(in *teamsInstallRec) map[string]any {
	v := map[string]any{"@odata.type": "#microsoft.graph.userScopeTeamsAppInstallation", "id": in.ID}
	if a := s.teamsApp(in.TeamsAppID); a != nil {
		v["teamsApp"] = teamsAppView(a)
		v["teamsAppDefinition"] = teamsAppDefinitionView(a)
	}
	return v
}

func installationOut(v map[string]any, ex map[string]*expandNode) map[string]any {
	out := map[string]any{}
	for k, val := range v {
		if k == "teamsApp" || k == "teamsAppDefinition" {
			if _, ok := expanded(ex, k); !ok {
				continue
			}
		}
		out[k] = val
	}
	return out
}

func (s *Sandbox) listInstalledApps(c *reqCtx) (int, any, *graphError) {
	u, err := s.installedUser(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkExpand(c.q.expand, "teamsApp", "teamsAppDefinition"); err != nil {
		return 0, nil, err
	}
	var views []map[string]any
	for _, in := range s.st.TeamsAppInstallations {
		if in.UserID == u.ID {
			views = append(views, s.installationView(in))
		}
	}
	return 200, s.collection(c, "users('"+u.ID+"')/teamwork/installedApps", views, func(v map[string]any) map[string]any {
		return installationOut(v, c.q.expand)
	}), nil
}

func (s *Sandbox) installation(c *reqCtx) (*userRec, *teamsInstallRec, *graphError) {
	u, err := s.installedUser(c)
	if err != nil {
		return nil, nil, err
	}
	for _, in := range s.st.TeamsAppInstallations {
		if in.UserID == u.ID && in.ID == c.params["iid"] {
			return u, in, nil
		}
	}
	return nil, nil, gerr(http.StatusNotFound, "NotFound", "The app installation '"+c.params["iid"]+"' was not found for the user.")
}

func (s *Sandbox) getInstalledApp(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "teamsApp", "teamsAppDefinition"); err != nil {
		return 0, nil, err
	}
	u, in, err := s.installation(c)
	if err != nil {
		return 0, nil, err
	}
	return 200, s.entity(c, "users('"+u.ID+"')/teamwork/installedApps", installationOut(s.installationView(in), c.q.expand)), nil
}

// getInstalledAppChat returns the 1:1 chat between the user and the app's bot, as Graph does for
// bots installed in the personal scope.
func (s *Sandbox) getInstalledAppChat(c *reqCtx) (int, any, *graphError) {
	u, in, err := s.installation(c)
	if err != nil {
		return 0, nil, err
	}
	a := s.teamsApp(in.TeamsAppID)
	if a == nil || a.WebAppID == "" {
		return 0, nil, gerr(http.StatusNotFound, "NotFound", "The app has no bot, so there is no chat with it.")
	}
	created := in.Created.UTC().Format(time.RFC3339Nano)
	return 200, s.entity(c, "chats", map[string]any{
		"id": "19:" + u.ID + "_" + a.WebAppID + "@unq.gbl.spaces", "topic": nil, "chatType": "oneOnOne",
		"createdDateTime": created, "lastUpdatedDateTime": created, "tenantId": TenantID,
		"webUrl": "https://teams.microsoft.com/l/chat/19%3A" + url.PathEscape(u.ID+"_"+a.WebAppID) + "%40unq.gbl.spaces/0?tenantId=" + TenantID,
	}), nil
}

func (s *Sandbox) installApp(c *reqCtx) (int, any, *graphError) {
	u, err := s.installedUser(c)
	if err != nil {
		return 0, nil, err
	}
	body, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(body, "userScopeTeamsAppInstallation", "consentedPermissionSet"); err != nil {
		return 0, nil, err
	}
	appID, ok := boundTeamsApp(str(body, "teamsApp@odata.bind"))
	if !ok {
		return 0, nil, badRequest("The request body must bind the app: {\"teamsApp@odata.bind\": \"https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{id}\"}.")
	}
	a := s.teamsApp(appID)
	if a == nil {
		return 0, nil, gerr(http.StatusNotFound, "NotFound", "The Teams app '"+appID+"' was not found in the app catalog.")
	}
	if c.caller.appOnly && !strings.EqualFold(a.WebAppID, s.opts.ClientID) && !hasAnyRole(c.caller, teamsUserAppAnyWrite) {
		return 0, nil, forbidden("The Self permissions only allow an app to install itself; installing another app needs one of: " +
			strings.Join(teamsUserAppAnyWrite, ", ") + ".")
	}
	id := installationID(u.ID, a.ID)
	for _, in := range s.st.TeamsAppInstallations {
		if in.ID == id {
			return 0, nil, gerr(http.StatusConflict, "Conflict", "The app '"+a.ID+"' is already installed for the user.")
		}
	}
	s.st.TeamsAppInstallations = append(s.st.TeamsAppInstallations, &teamsInstallRec{ID: id, UserID: u.ID, TeamsAppID: a.ID, Created: c.now})
	return http.StatusCreated, nil, nil
}

// boundTeamsApp extracts the catalog app id from a teamsApp@odata.bind URL
// (".../appCatalogs/teamsApps/{id}").
func boundTeamsApp(bind string) (string, bool) {
	ref, err := url.Parse(bind)
	if bind == "" || err != nil {
		return "", false
	}
	segs := strings.Split(strings.Trim(ref.EscapedPath(), "/"), "/")
	if len(segs) < 3 || !strings.EqualFold(segs[len(segs)-3], "appCatalogs") || !strings.EqualFold(segs[len(segs)-2], "teamsApps") {
		return "", false
	}
	id, err := url.PathUnescape(segs[len(segs)-1])
	return id, err == nil && id != ""
}

func hasAnyRole(c *caller, roles []string) bool {
	for _, r := range roles {
		if c.roles[strings.ToLower(r)] {
			return true
		}
	}
	return false
}

// AppInstalled reports whether the bot's app is installed in the personal scope of the user with
// object id userOID: what the Bot Connector requires before it creates a 1:1 conversation with
// the user (testkit.WithInstalledApps).
func (s *Sandbox) AppInstalled(userOID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(userOID)
	if u == nil {
		return false
	}
	id := installationID(u.ID, TeamsAppCatalogID)
	for _, in := range s.st.TeamsAppInstallations {
		if in.ID == id {
			return true
		}
	}
	return false
}
