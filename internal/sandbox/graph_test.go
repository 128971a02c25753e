package sandbox_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"guestpass/internal/sandbox"
)

func appAPI(t *testing.T, sb *sandbox.Sandbox) *api {
	return newAPI(t, sb, token(t, appCredential(t, sb)))
}

// userAPI returns a client with a delegated Graph token for the user (SSO token → on-behalf-of).
func userAPI(t *testing.T, sb *sandbox.Sandbox, oid string) *api {
	t.Helper()
	sso, err := sb.MintSSOToken(oid)
	if err != nil {
		t.Fatal(err)
	}
	r := oboForm(t, sb, sso, graphScope)
	tok, _ := r.body["access_token"].(string)
	if tok == "" {
		t.Fatalf("on-behalf-of for %s: %v", oid, r.body)
	}
	return newAPI(t, sb, tok)
}

func ids(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	return out
}

func TestUserFiltersSearchAndSelect(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	tests := []struct {
		name  string
		query string
		hdr   []string
		want  []string
	}{
		{"mail eq", "$filter=" + q("mail eq 'ALEXW@example.com'"), nil, []string{sandbox.UserAlex}},
		{"upn eq", "$filter=" + q("userPrincipalName eq 'isaiah@example.com'"), nil, []string{sandbox.UserIsaiah}},
		{"startswith", "$filter=" + q("startswith(displayName,'meg')"), nil, []string{sandbox.UserMegan}},
		{"escaped quote matches nothing", "$filter=" + q("displayName eq 'O''Brien'"), nil, nil},
		{"guests", "$filter=" + q("userType eq 'Guest' and startswith(mail,'nestor')"), nil, []string{sandbox.GuestNestor}},
		{"search", "$search=" + q(`"displayName:ade"`), []string{"ConsistencyLevel", "eventual"}, []string{sandbox.UserAdele}},
		{"search or", "$search=" + q(`"displayName:lynne" OR "mail:pattif"`), []string{"ConsistencyLevel", "eventual"}, []string{sandbox.UserPatti, sandbox.UserLynne}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, _ := app.all("/users?"+tc.query, tc.hdr...)
			got := ids(items)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}

	r := app.do("GET", "/users?$search="+q(`"displayName:ade"`), nil)
	if r.status != 400 || errCode(r) != "BadRequest" || !strings.Contains(r.raw2(), "ConsistencyLevel") {
		t.Fatalf("$search without ConsistencyLevel: %d %s", r.status, r.raw)
	}

	def := app.must(200, "GET", "/users/"+sandbox.GuestDiego, nil)
	if _, ok := def["userType"]; ok {
		t.Errorf("userType returned without $select: %v", def)
	}
	sel := app.must(200, "GET", "/users/"+sandbox.GuestDiego+"?$select=id,userType,externalUserState,mail", nil)
	if sel["userType"] != "Guest" || sel["externalUserState"] != "Accepted" || sel["displayName"] != nil {
		t.Errorf("selected user = %v", sel)
	}
	byUPN := app.must(200, "GET", "/users/"+url.PathEscape("diegos_contoso.com#EXT#@example.onmicrosoft.com"), nil)
	if byUPN["id"] != sandbox.GuestDiego {
		t.Errorf("user by guest UPN = %v", byUPN)
	}
}

func (r resp) raw2() string { return string(r.raw) }

func TestPagingNextLinks(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	first := app.must(200, "GET", "/users?$select=id,displayName&$count=true", nil, "ConsistencyLevel", "eventual")
	next, _ := first["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, sb.GraphURL()+"/users?") || !strings.Contains(next, "%24skiptoken=") || !strings.Contains(next, "%24select=") {
		t.Fatalf("nextLink = %q", next)
	}
	if len(first["value"].([]any)) != 2 || first["@odata.count"] != float64(9) {
		t.Fatalf("first page: %v", first)
	}
	if ctx, _ := first["@odata.context"].(string); ctx != sb.GraphURL()+"/$metadata#users" {
		t.Errorf("@odata.context = %q", ctx)
	}
	all, pages := app.all("/users")
	if len(all) != 9 || pages != 5 {
		t.Fatalf("paged %d users in %d pages, want 9 in 5", len(all), pages)
	}
	seen := map[string]bool{}
	for _, id := range ids(all) {
		if seen[id] {
			t.Fatalf("user %s on two pages", id)
		}
		seen[id] = true
	}
	if _, pages := app.all("/users?$top=1"); pages != 9 {
		t.Fatalf("$top=1 gave %d pages, want 9", pages)
	}
	if r := app.do("GET", "/users?$skiptoken=bogus", nil); r.status != 400 {
		t.Fatalf("bogus skiptoken: %d", r.status)
	}
	big := newSandbox(t, sandbox.Options{PageSize: 100})
	if _, pages := appAPI(t, big).all("/users"); pages != 1 {
		t.Fatalf("PageSize 100 gave %d pages", pages)
	}
}

func TestErrorShapes(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	anon := newAPI(t, sb, "")
	app := appAPI(t, sb)
	idToken, _ := sb.MintSSOToken(sandbox.UserAlex) // a bot-audience token is not a Graph token
	tests := []struct {
		name   string
		client *api
		method string
		path   string
		status int
		code   string
	}{
		{"no token", anon, "GET", "/users", 401, "InvalidAuthenticationToken"},
		{"wrong audience", newAPI(t, sb, idToken), "GET", "/users", 401, "InvalidAuthenticationToken"},
		{"garbage token", newAPI(t, sb, "abc.def.ghi"), "GET", "/users", 401, "InvalidAuthenticationToken"},
		{"unknown segment", app, "GET", "/nothingHere", 400, "BadRequest"},
		{"wrong method", app, "DELETE", "/users", 405, "BadRequest"},
		{"invalid filter", app, "GET", "/users?$filter=" + q("displayName eq"), 400, "BadRequest"},
		{"unsupported function", app, "GET", "/users?$filter=" + q("length(displayName) eq 3"), 400, "BadRequest"},
		{"unsupported option", app, "GET", "/users?$skip=2", 400, "BadRequest"},
		{"unknown expand", app, "GET", "/identityGovernance/entitlementManagement/accessPackages?$expand=nope", 400, "BadRequest"},
		{"not found", app, "GET", "/identityGovernance/entitlementManagement/catalogs/does-not-exist", 404, "ResourceNotFound"},
		{"user not found", app, "GET", "/users/nobody", 404, "Request_ResourceNotFound"},
		{"me app-only", app, "GET", "/me", 400, "BadRequest"},
		{"beta property", app, "POST", "/identityGovernance/entitlementManagement/assignmentRequests", 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = map[string]any{"requestType": "AdminAdd", "accessPackageAssignment": map[string]any{"targetId": sandbox.UserAlex}}
			}
			r := tc.client.do(tc.method, tc.path, body, "client-request-id", "test-"+tc.name)
			if r.status != tc.status || errCode(r) != tc.code {
				t.Fatalf("status %d code %q, want %d %q: %s", r.status, errCode(r), tc.status, tc.code, r.raw)
			}
			e := r.body["error"].(map[string]any)
			inner, _ := e["innerError"].(map[string]any)
			if len(e) != 3 || e["message"] == "" || inner == nil || len(inner) != 3 {
				t.Fatalf("error body shape: %s", r.raw)
			}
			if inner["request-id"] != r.header.Get("request-id") || r.header.Get("request-id") == "" {
				t.Errorf("request-id header %q vs body %v", r.header.Get("request-id"), inner["request-id"])
			}
			if inner["client-request-id"] != "test-"+tc.name || r.header.Get("client-request-id") != "test-"+tc.name {
				t.Errorf("client-request-id not echoed: %v / %q", inner["client-request-id"], r.header.Get("client-request-id"))
			}
			if _, err := time.Parse("2006-01-02T15:04:05", inner["date"].(string)); err != nil {
				t.Errorf("innerError.date %v: %v", inner["date"], err)
			}
		})
	}
}

func TestThrottleKnob(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	const route = "GET /v1.0/users/{id}"
	if !slices.Contains(sb.Routes(), route) {
		t.Fatalf("route %q not served", route)
	}
	app.must(204, "POST", "!/sandbox/throttle", map[string]any{"route": route, "count": 2})
	for i := range 2 {
		r := app.do("GET", "/users/"+sandbox.UserAlex, nil)
		if r.status != 429 || r.header.Get("Retry-After") != "1" || errCode(r) != "TooManyRequests" {
			t.Fatalf("call %d: %d Retry-After %q", i, r.status, r.header.Get("Retry-After"))
		}
	}
	app.must(200, "GET", "/users/"+sandbox.UserAlex, nil)
	app.must(200, "GET", "/users", nil) // other routes were never throttled
	if n := sb.Calls()[route]; n != 3 {
		t.Fatalf("Calls()[%q] = %d, want 3", route, n)
	}
	if r := app.do("POST", "!/sandbox/throttle", map[string]any{"route": "GET /nope", "count": 1}); r.status != 400 {
		t.Fatalf("unknown route accepted: %d", r.status)
	}
}

func TestPersistenceRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "sandbox.json")
	sb := newSandbox(t, sandbox.Options{StatePath: path})
	app := appAPI(t, sb)
	created := app.must(201, "POST", "/identityGovernance/entitlementManagement/catalogs", map[string]any{"displayName": "Kept across restarts"})
	creds := sb.AppCredentials()
	sb.AdvanceClock(time.Hour)

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600 (it holds the sandbox keys)", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state directory has %d entries, want only the state file (no temp leftovers)", len(entries))
	}

	again := newSandbox(t, sandbox.Options{StatePath: path})
	if again.AppCredentials() != creds {
		t.Error("client secret changed across a restart")
	}
	if d := again.Now().Sub(time.Now()); d < 59*time.Minute {
		t.Errorf("clock offset not restored: %v", d)
	}
	got := appAPI(t, again).must(200, "GET", "/identityGovernance/entitlementManagement/catalogs/"+created["id"].(string), nil)
	if got["displayName"] != "Kept across restarts" {
		t.Fatalf("catalog after restart = %v", got)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.New(sandbox.Options{StatePath: path}); err == nil {
		t.Fatal("corrupt state file accepted")
	}
}

func TestPolicyAllowedTargetScope(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	contoso := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan))))
	external := provision(t, app, map[string]any{
		"displayName": "Any external user", "allowedTargetScope": "allExternalUsers",
		"requestorSettings":       map[string]any{"enableTargetsToSelfAddAccess": true},
		"requestApprovalSettings": map[string]any{"isApprovalRequiredForAdd": true, "stages": []any{stage(singleUser(sandbox.UserMegan))}},
	})
	tests := []struct {
		name    string
		email   string
		pkg     string
		just    string
		wantErr string
	}{
		{"contoso guest", "nestorw@contoso.com", contoso.packageID, "kickoff", ""},
		{"new contoso user", "pradeepg@contoso.com", contoso.packageID, "kickoff", ""},
		{"fabrikam outside the connected org", "kim@fabrikam.com", contoso.packageID, "kickoff", "RequestorNotInPolicyScope"},
		{"justification required", "johannal@contoso.com", contoso.packageID, "", "JustificationRequired"},
		{"fabrikam on an all-external policy", "kim@fabrikam.com", external.packageID, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: tc.email, AccessPackageID: tc.pkg, Justification: tc.just})
			var se *sandbox.Error
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (!errorsAs(err, &se) || se.Code != tc.wantErr):
				t.Fatalf("err = %v, want %s", err, tc.wantErr)
			}
		})
	}
	pending, _ := app.all("/identityGovernance/entitlementManagement/assignmentRequests?$expand=requestor,accessPackage&$filter=" + q("state eq 'pendingApproval'"))
	if len(pending) != 3 {
		t.Fatalf("pending requests = %d, want 3", len(pending))
	}
	for _, p := range pending {
		if p["requestor"].(map[string]any)["email"] == nil || p["accessPackage"].(map[string]any)["displayName"] != "Project X guests" {
			t.Fatalf("expanded request = %v", p)
		}
	}

	// Over the wire: a guest's delegated userAdd, and a member trying the external policy.
	diego := userAPI(t, sb, sandbox.GuestDiego)
	body := map[string]any{
		"requestType":   "userAdd",
		"justification": "Working with Alex on Project X",
		"assignment":    map[string]any{"targetId": sandbox.GuestDiego, "assignmentPolicyId": contoso.policyID, "accessPackageId": contoso.packageID},
	}
	created := diego.must(201, "POST", "/identityGovernance/entitlementManagement/assignmentRequests", body)
	if created["state"] != "submitted" || created["requestType"] != "userAdd" {
		t.Fatalf("created = %v", created)
	}
	if r := diego.do("POST", "/identityGovernance/entitlementManagement/assignmentRequests", body); r.status != 400 || errCode(r) != "ExistingOpenRequest" {
		t.Fatalf("duplicate request: %d %s", r.status, r.raw)
	}
	isaiah := userAPI(t, sb, sandbox.UserIsaiah)
	body["assignment"].(map[string]any)["targetId"] = sandbox.UserIsaiah
	if r := isaiah.do("POST", "/identityGovernance/entitlementManagement/assignmentRequests", body); r.status != 403 || errCode(r) != "RequestorNotInPolicyScope" {
		t.Fatalf("member on an external policy: %d %s", r.status, r.raw)
	}
}

func TestMultiStageEscalationAndAutoDenial(t *testing.T) {
	clock := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	sb := newSandbox(t, sandbox.Options{Now: func() time.Time { return clock }})
	app := appAPI(t, sb)
	second := stage(groupMembers(sandbox.GroupApprovers))
	second["isEscalationEnabled"] = true
	second["durationBeforeEscalation"] = "P1D"
	second["durationBeforeAutomaticDenial"] = "P3D"
	second["escalationApprovers"] = []any{singleUser(sandbox.UserPatti)}
	d := provision(t, app, contosoPolicy(stage(map[string]any{"@odata.type": "#microsoft.graph.internalSponsors"}), second))

	reqID, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "nestorw@contoso.com", AccessPackageID: d.packageID, Justification: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// Stage 1: Contoso's internal sponsor (Alex) approves.
	if err := sb.DecideAs(sandbox.UserMegan, reqID, "Approve", ""); !isStatus(err, 403) {
		t.Fatalf("Megan on stage 1: %v, want 403", err)
	}
	if err := sb.DecideAs(sandbox.UserAlex, reqID, "Approve", "sponsor ok"); err != nil {
		t.Fatal(err)
	}
	// Stage 2: the nested group member Lynne sees it as assigned to her.
	lynne := userAPI(t, sb, sandbox.UserLynne)
	mine, _ := lynne.all("/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/filterByCurrentUser(on='approver')")
	if len(mine) != 1 || mine[0]["id"] != reqID {
		t.Fatalf("Lynne's approvals = %v", mine)
	}
	stages, _ := lynne.all("/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/" + reqID + "/stages")
	if len(stages) != 2 || stages[0]["reviewResult"] != "Approved" || stages[0]["assignedToMe"] != false ||
		stages[1]["status"] != "InProgress" || stages[1]["assignedToMe"] != true {
		t.Fatalf("stages = %v", stages)
	}
	patti := userAPI(t, sb, sandbox.UserPatti)
	path := "/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/" + reqID + "/stages/" + stages[1]["id"].(string)
	if r := patti.do("PATCH", path, map[string]any{"reviewResult": "Approve"}); r.status != 403 {
		t.Fatalf("escalation approver before escalation: %d", r.status)
	}
	clock = clock.Add(25 * time.Hour)
	patti.must(204, "PATCH", path, map[string]any{"reviewResult": "Approve", "justification": "escalated"})
	got := app.must(200, "GET", "/identityGovernance/entitlementManagement/assignmentRequests/"+reqID, nil)
	if got["state"] != "delivered" {
		t.Fatalf("after the last stage: %v", got["state"])
	}
	team := app.must(200, "GET", "/groups/"+sandbox.GroupProjectX+"/transitiveMembers/microsoft.graph.user?$filter="+q("id eq '"+sandbox.GuestNestor+"'"), nil)
	if len(team["value"].([]any)) != 1 {
		t.Fatalf("delivered guest is not a member of the group: %v", team)
	}

	// Auto-denial: nobody decides stage 1 within its 14 days.
	late, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "johannal@contoso.com", AccessPackageID: d.packageID, Justification: "x"})
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(13 * 24 * time.Hour)
	if s := app.must(200, "GET", "/identityGovernance/entitlementManagement/assignmentRequests/"+late, nil)["state"]; s != "pendingApproval" {
		t.Fatalf("before the deadline: %v", s)
	}
	sb.AdvanceClock(25 * time.Hour)
	denied := app.must(200, "GET", "/identityGovernance/entitlementManagement/assignmentRequests/"+late, nil)
	if denied["state"] != "denied" || denied["status"] != "Expired" {
		t.Fatalf("after the deadline: %v / %v", denied["state"], denied["status"])
	}
	if err := sb.DecideAs(sandbox.UserAlex, late, "Approve", ""); !isStatus(err, 409) {
		t.Fatalf("deciding an auto-denied request: %v, want 409", err)
	}
}

func TestDenyCancelAndMail(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	d := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan))))
	a, _ := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "nestorw@contoso.com", AccessPackageID: d.packageID, Justification: "x"})
	b, _ := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "diegos@contoso.com", AccessPackageID: d.packageID, Justification: "x"})
	app.must(204, "POST", "!/sandbox/approvals/"+a+"/decide", map[string]any{"approverOid": sandbox.UserMegan, "reviewResult": "Deny", "justification": "no"})
	app.must(204, "POST", "!/sandbox/assignment-requests/"+b+"/cancel", map[string]any{})
	for id, want := range map[string]string{a: "denied", b: "canceled"} {
		if s := app.must(200, "GET", "/identityGovernance/entitlementManagement/assignmentRequests/"+id, nil)["state"]; s != want {
			t.Errorf("request state %v, want %s", s, want)
		}
	}
	active, _ := app.all("/identityGovernance/entitlementManagement/assignments?$filter=" + q("accessPackage/id eq '"+d.packageID+"'"))
	if len(active) != 0 {
		t.Errorf("denied/cancelled requests left assignments: %v", active)
	}

	alex := userAPI(t, sb, sandbox.UserAlex)
	msg := map[string]any{"message": map[string]any{"subject": "Welcome", "toRecipients": []any{
		map[string]any{"emailAddress": map[string]any{"address": "kim@fabrikam.com"}}}}}
	alex.must(202, "POST", "/me/sendMail", msg)
	if r := app.do("POST", "/users/"+sandbox.UserAlex+"/sendMail", msg); r.status != 403 {
		t.Fatalf("app-only sendMail: %d", r.status)
	}
	if r := alex.do("POST", "/users/"+sandbox.UserMegan+"/sendMail", msg); r.status != 403 {
		t.Fatalf("sendMail as someone else: %d", r.status)
	}
	sent := sb.SentMail()
	if len(sent) != 1 || sent[0].FromUserID != sandbox.UserAlex || sent[0].Message["subject"] != "Welcome" {
		t.Fatalf("sent mail = %+v", sent)
	}
	if got := app.must(200, "GET", "!/sandbox/mail", nil)["value"].([]any); len(got) != 1 {
		t.Fatalf("/sandbox/mail = %v", got)
	}
}

func TestInvitationCreatesGuestAndRedeems(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	const myAccess = "https://myaccess.microsoft.com/@example.com#/access-packages/x"
	inv := app.must(201, "POST", "/invitations", map[string]any{
		"invitedUserEmailAddress": "kim@fabrikam.com", "invitedUserDisplayName": "Kim Akers",
		"inviteRedirectUrl": myAccess, "sendInvitationMessage": false,
	})
	uid := inv["invitedUser"].(map[string]any)["id"].(string)
	if inv["status"] != "PendingAcceptance" || inv["inviteRedirectUrl"] != myAccess {
		t.Fatalf("invitation = %v", inv)
	}
	u := app.must(200, "GET", "/users/"+uid+"?$select=userPrincipalName,userType,externalUserState,mail", nil)
	if u["userType"] != "Guest" || u["externalUserState"] != "PendingAcceptance" || !strings.Contains(u["userPrincipalName"].(string), "#EXT#") {
		t.Fatalf("guest = %v", u)
	}
	hc := sb.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc.Get(inv["inviteRedeemUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != myAccess {
		t.Fatalf("redeem: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if s := app.must(200, "GET", "/users/"+uid+"?$select=externalUserState", nil)["externalUserState"]; s != "Accepted" {
		t.Fatalf("after redemption: %v", s)
	}
	sb.SetAppRoles([]string{"User.Read.All"})
	limited := newAPI(t, sb, token(t, appCredential(t, sb)))
	if r := limited.do("POST", "/invitations", map[string]any{"invitedUserEmailAddress": "a@fabrikam.com", "inviteRedirectUrl": myAccess}); r.status != 403 {
		t.Fatalf("invitation without User.Invite.All: %d", r.status)
	}
}

func errorsAs(err error, target **sandbox.Error) bool { return errors.As(err, target) }

func isStatus(err error, status int) bool {
	var se *sandbox.Error
	return errors.As(err, &se) && se.Status == status
}

func TestConcurrentDecisionsRecordOnce(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	d := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan), singleUser(sandbox.UserAdele))))
	reqID, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "diegos@contoso.com", AccessPackageID: d.packageID, Justification: "x"})
	if err != nil {
		t.Fatal(err)
	}
	megan, adele := userAPI(t, sb, sandbox.UserMegan), userAPI(t, sb, sandbox.UserAdele)
	stages, _ := megan.all("/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/" + reqID + "/stages")
	path := "/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/" + reqID + "/stages/" + stages[0]["id"].(string)
	statuses := make(chan int, 2)
	for _, c := range []*api{megan, adele} {
		go func() { statuses <- c.do("PATCH", path, map[string]any{"reviewResult": "Approve"}).status }()
	}
	got := []int{<-statuses, <-statuses}
	slices.Sort(got)
	if !slices.Equal(got, []int{204, 409}) {
		t.Fatalf("statuses = %v, want one 204 and one 409", got)
	}
	after, _ := megan.all("/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/" + reqID + "/stages")
	if after[0]["reviewResult"] != "Approved" || after[0]["reviewedBy"] == nil {
		t.Fatalf("stage after the race = %v", after[0])
	}
}
