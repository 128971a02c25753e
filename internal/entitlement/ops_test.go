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

func oids(ps []entitlement.Person) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.OID)
	}
	slices.Sort(out)
	return out
}

func sorted(v ...string) []string { slices.Sort(v); return v }

func TestApproversForEveryApproverKind(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	contoso := fabrikamScenario()
	contoso.Name = "Contoso sponsors"
	contoso.Partners = []entitlement.Partner{{TenantID: sandbox.ContosoTenantID}}
	contoso.Approval.Stages = []entitlement.Stage{
		// A user who is also in the group: listed once.
		{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverUser, ID: sandbox.UserMegan}, {Kind: entitlement.ApproverGroup, ID: sandbox.GroupApprovers}}, AutoDenyAfterDays: 5},
		{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverInternalSponsors}, {Kind: entitlement.ApproverExternalSponsors}}, AutoDenyAfterDays: 5},
	}
	contoso = e.create(t, contoso)
	orgID := contoso.Partners[0].ConnectedOrganizationID
	diego := entitlement.Person{OID: sandbox.GuestDiego, ConnectedOrganizationID: orgID}

	tests := []struct {
		name      string
		stage     int
		requestor entitlement.Person
		want      []string
	}{
		{"user and nested group, deduplicated", 1, diego, sorted(sandbox.UserMegan, sandbox.UserIsaiah, sandbox.UserLynne)},
		{"internal and external sponsors", 2, diego, sorted(sandbox.UserAlex, sandbox.GuestDiego)},
		// Without a connected organization the sponsors resolve to nobody: the fallback (the
		// scenario owner) takes over, as in Entra.
		{"sponsors fall back to the owner", 2, entitlement.Person{OID: sandbox.GuestDiego}, sorted(sandbox.UserAlex)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.svc.ApproversFor(ctx, contoso.PolicyID, tt.stage, tt.requestor)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(oids(got), tt.want) {
				t.Errorf("approvers %v, want %v", oids(got), tt.want)
			}
			for _, p := range got {
				if p.DisplayName == "" || p.Email == "" {
					t.Errorf("approver without name or mail: %+v", p)
				}
			}
		})
	}

	// The requestor's manager is allowed only on policies for directory users, which guestpass
	// scenarios never are; an administrator's policy can still use it.
	t.Run("requestor manager levels 1 and 2", func(t *testing.T) {
		pol := models.NewAccessPackageAssignmentPolicy()
		pol.SetDisplayName(ptr("members"))
		ap := models.NewAccessPackage()
		ap.SetId(&contoso.AccessPackageID)
		pol.SetAccessPackage(ap)
		pol.SetAllowedTargetScope(ptr(models.ALLMEMBERUSERS_ALLOWEDTARGETSCOPE))
		as := models.NewAccessPackageAssignmentApprovalSettings()
		as.SetIsApprovalRequiredForAdd(ptr(true))
		var stages []models.AccessPackageApprovalStageable
		for _, level := range []int32{1, 2} {
			m := models.NewRequestorManager()
			m.SetManagerLevel(ptr(level))
			st := models.NewAccessPackageApprovalStage()
			st.SetPrimaryApprovers([]models.SubjectSetable{m})
			stages = append(stages, st)
		}
		as.SetStages(stages)
		pol.SetRequestApprovalSettings(as)
		created, err := e.app.IdentityGovernance().EntitlementManagement().AssignmentPolicies().Post(graph.WithOperation(ctx, "test"), pol, nil)
		if err != nil {
			t.Fatal(err)
		}
		adele := entitlement.Person{OID: sandbox.UserAdele}
		for stage, want := range map[int]string{1: sandbox.UserMegan, 2: sandbox.UserPatti} {
			got, err := e.svc.ApproversFor(ctx, *created.GetId(), stage, adele)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(oids(got), []string{want}) {
				t.Errorf("manager level %d: %v, want %s", stage, oids(got), want)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		e.reset()
		for _, c := range []struct {
			policy string
			stage  int
		}{{"x' or 'a", 1}, {contoso.PolicyID, 0}, {contoso.PolicyID, 4}} {
			if _, err := e.svc.ApproversFor(ctx, c.policy, c.stage, diego); !errors.Is(err, entitlement.ErrInvalid) {
				t.Errorf("%q stage %d: err = %v", c.policy, c.stage, err)
			}
		}
		if len(e.graphCalls()) != 0 {
			t.Error("Graph called for invalid input")
		}
		if _, err := e.svc.ApproversFor(ctx, contoso.PolicyID, 3, diego); err == nil {
			t.Error("stage beyond the policy accepted")
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestInviteAndMailAsSponsor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.create(t, oneStage("Invites"))
	e.sb.SetDelegatedScopes(append(slices.Clone(sandbox.DefaultDelegatedScopes), "User.Invite.All"))
	cred := e.as(sandbox.UserAlex)
	e.reset()
	inv, err := e.svc.Invite(ctx, cred, entitlement.InviteInput{Email: "New.Guest@Fabrikam.com", DisplayName: "New Guest",
		RedirectURL: sc.MyAccessLink, SponsorOID: sandbox.UserAlex})
	if err != nil {
		t.Fatal(err)
	}
	if inv.InvitedUserOID == "" || inv.RedeemURL == "" {
		t.Errorf("invitation = %+v", inv)
	}
	if n := e.counter.Count("Invite"); n != 1 {
		t.Errorf("one invitation made %d Graph calls, want 1", n)
	}
	bodies := e.wire.bodies("POST", "/v1.0/invitations")
	if len(bodies) != 1 {
		t.Fatalf("%d invitation posts", len(bodies))
	}
	// invitation-post (v1.0) with the invitedUserSponsors relationship of the v1.0 resource.
	jsonEqual(t, "POST /invitations", bodies[0], fill(`{"invitedUserEmailAddress":"New.Guest@fabrikam.com","invitedUserDisplayName":"New Guest",
		"inviteRedirectUrl":"{{link}}","sendInvitationMessage":false,
		"invitedUserSponsors":[{"@odata.type":"#microsoft.graph.user","id":"{{alex}}"}]}`, map[string]string{"link": sc.MyAccessLink, "alex": sandbox.UserAlex}))
	p, ok, err := e.svc.FindUserByEmail(ctx, "new.guest@fabrikam.com")
	if err != nil || !ok || p.OID != inv.InvitedUserOID || !p.External {
		t.Errorf("FindUserByEmail = %+v %v %v", p, ok, err)
	}

	e.reset()
	err = e.svc.SendMail(ctx, cred, entitlement.Mail{To: []string{"new.guest@fabrikam.com"}, Subject: "Your access to Invites",
		Body: "Request access here: " + sc.MyAccessLink})
	if err != nil {
		t.Fatal(err)
	}
	mails := e.sb.SentMail()
	if len(mails) == 0 || !strings.Contains(mustJSON(t, mails[len(mails)-1]), sc.MyAccessLink) {
		t.Errorf("sent mail = %+v", mails)
	}
	// user-sendmail (v1.0). The SDK spells the action parameters as Graph's metadata declares
	// them ("Message", "SaveToSentItems"); action parameter names are case-insensitive and the
	// docs' examples write them in lower camel case.
	jsonEqual(t, "POST /me/sendMail", e.wire.bodies("POST", "/me/sendMail")[0], fill(`{"Message":{"@odata.type":"#microsoft.graph.message",
		"subject":"Your access to Invites","body":{"contentType":"text","content":"Request access here: {{link}}"},
		"toRecipients":[{"emailAddress":{"address":"new.guest@fabrikam.com"}}]},"SaveToSentItems":true}`, map[string]string{"link": sc.MyAccessLink}))

	t.Run("validation", func(t *testing.T) {
		e.reset()
		for _, in := range []entitlement.InviteInput{
			{Email: "not-an-email", RedirectURL: sc.MyAccessLink, SponsorOID: sandbox.UserAlex},
			{Email: "Guest <g@fabrikam.com>", RedirectURL: sc.MyAccessLink, SponsorOID: sandbox.UserAlex},
			{Email: "g@fabrikam.com", RedirectURL: "http://insecure.example", SponsorOID: sandbox.UserAlex},
			{Email: "g@fabrikam.com", RedirectURL: sc.MyAccessLink, SponsorOID: "me"},
		} {
			if _, err := e.svc.Invite(ctx, cred, in); !errors.Is(err, entitlement.ErrInvalid) {
				t.Errorf("%+v: err = %v", in, err)
			}
		}
		if err := e.svc.SendMail(ctx, cred, entitlement.Mail{To: []string{"a@b.com"}, Subject: "x\r\nBcc: evil@example.com", Body: "b"}); !errors.Is(err, entitlement.ErrInvalid) {
			t.Errorf("header injection in subject: %v", err)
		}
		if len(e.graphCalls()) != 0 {
			t.Error("Graph called for invalid input")
		}
	})
}

func TestAssignmentsRemovalAndDirectAssignment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.create(t, oneStage("Assignments"))
	reqID := e.request(t, sc, "asg@fabrikam.com")
	if err := e.sb.DecideAs(sandbox.UserMegan, reqID, "Approve", "ok"); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.Assignments(ctx, entitlement.AssignmentFilter{AccessPackageID: sc.AccessPackageID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Target.Email != "asg@fabrikam.com" || list[0].State != "delivered" || list[0].ExpiresAt.IsZero() {
		t.Fatalf("assignments = %+v", list)
	}
	a := list[0]
	if d := a.ExpiresAt.Sub(a.StartsAt); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("assignment lasts %v, want the policy's 90 days", d)
	}
	for _, tt := range []struct {
		within time.Duration
		want   int
	}{{24 * time.Hour, 0}, {91 * 24 * time.Hour, 1}} {
		got, err := e.svc.Assignments(ctx, entitlement.AssignmentFilter{AccessPackageID: sc.AccessPackageID, ExpiringWithin: tt.within})
		if err != nil || len(got) != tt.want {
			t.Errorf("expiring within %v: %d (%v), want %d", tt.within, len(got), err, tt.want)
		}
	}
	got, err := e.svc.Assignments(ctx, entitlement.AssignmentFilter{TargetOID: a.Target.OID})
	if err != nil || len(got) != 1 {
		t.Errorf("by target: %d %v", len(got), err)
	}

	// Removal and direct assignment run as the signed-in user; Alex holds no entitlement
	// management role, so Entra refuses him — guestpass never retries app-only.
	if _, err := e.svc.RemoveAssignment(ctx, e.as(sandbox.UserAlex), a.ID); !errors.Is(err, entitlement.ErrForbidden) {
		t.Errorf("remove as a sponsor without a role: %v", err)
	}
	e.reset()
	remID, err := e.svc.RemoveAssignment(ctx, e.as(sandbox.UserPatti), a.ID)
	if err != nil {
		t.Fatalf("remove as catalog creator: %v", err)
	}
	if remID == "" {
		t.Error("no removal request id")
	}
	jsonEqual(t, "POST assignmentRequests (adminRemove)", e.wire.bodies("POST", em+"/assignmentRequests")[0],
		`{"requestType":"adminRemove","assignment":{"id":"`+a.ID+`"}}`)

	e.reset()
	// A Contoso guest is outside this Fabrikam-only policy: Entra refuses, and the refusal keeps
	// Graph's error for the audit log.
	_, err = e.svc.AdminAdd(ctx, e.as(sandbox.UserPatti), entitlement.AdminAddInput{AccessPackageID: sc.AccessPackageID,
		PolicyID: sc.PolicyID, TargetOID: sandbox.GuestNestor})
	if ge, ok := graph.AsError(err); !errors.Is(err, entitlement.ErrForbidden) || !ok || ge.RequestID == "" {
		t.Errorf("out-of-scope direct assignment: %v", err)
	}
	e.reset()
	r, err := e.svc.AdminAdd(ctx, e.as(sandbox.UserPatti), entitlement.AdminAddInput{AccessPackageID: sc.AccessPackageID,
		PolicyID: sc.PolicyID, TargetEmail: "Direct@Fabrikam.com", Justification: "Kick-off"})
	if err != nil {
		t.Fatalf("admin add: %v", err)
	}
	if r.ID == "" {
		t.Errorf("request = %+v", r)
	}
	// entitlementmanagement-post-assignmentrequests example 5 (someone not yet in the
	// directory), with the v1.0 names: "adminAdd" and the "assignment" navigation property.
	jsonEqual(t, "POST assignmentRequests (adminAdd)", e.wire.bodies("POST", em+"/assignmentRequests")[0],
		`{"requestType":"adminAdd","justification":"Kick-off","assignment":{"target":{"email":"Direct@fabrikam.com"},`+
			`"assignmentPolicyId":"`+sc.PolicyID+`","accessPackageId":"`+sc.AccessPackageID+`"}}`)
	if _, err := e.svc.AdminAdd(ctx, e.as(sandbox.UserPatti), entitlement.AdminAddInput{AccessPackageID: sc.AccessPackageID,
		PolicyID: sc.PolicyID, TargetOID: sandbox.GuestNestor, TargetEmail: "x@fabrikam.com"}); !errors.Is(err, entitlement.ErrInvalid) {
		t.Errorf("both targets: %v", err)
	}
}

func TestUpdateRetireAndGetScenario(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.create(t, oneStage("Lifecycle"))
	e.request(t, sc, "one@fabrikam.com")
	e.request(t, sc, "two@fabrikam.com")
	e.request(t, sc, "three@fabrikam.com")

	d, err := e.svc.GetScenario(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.PendingRequests != 3 || d.ActiveAssignments != 0 || d.Name != "Lifecycle" {
		t.Errorf("details = %+v", d)
	}

	next := oneStage("Lifecycle")
	next.DurationDays = 30
	next.Resources = []entitlement.Resource{{Kind: entitlement.ResourceGroup, OriginID: sandbox.GroupNorthwind,
		Role: entitlement.Role{OriginID: "Member_" + sandbox.GroupNorthwind}}}
	e.reset()
	up, err := e.svc.UpdateScenario(ctx, sc.ID, next)
	if err != nil {
		t.Fatal(err)
	}
	if up.DurationDays != 30 || up.PolicyID != sc.PolicyID || up.Resources[0].OriginID != sandbox.GroupNorthwind {
		t.Errorf("updated = %+v", up)
	}
	puts := e.wire.bodies("PUT", "/assignmentPolicies/"+sc.PolicyID)
	if len(puts) != 1 || !strings.Contains(puts[0], `"duration":"P30D"`) || !strings.Contains(puts[0], `"enableTargetsToSelfAddAccess":true`) {
		t.Errorf("policy PUT = %q", puts)
	}
	var deleted, added int
	for _, c := range e.graphCalls() {
		if c.Method == "DELETE" && strings.Contains(c.Path, "/resourceRoleScopes/") {
			deleted++
		}
		if c.Method == "POST" && strings.HasSuffix(c.Path, "/resourceRoleScopes") {
			added++
		}
	}
	if deleted != 1 || added != 1 {
		t.Errorf("role scopes: %d removed, %d added; want 1 and 1", deleted, added)
	}
	if _, err := e.svc.UpdateScenario(ctx, sc.ID, oneStage("Renamed")); !errors.Is(err, entitlement.ErrInvalid) {
		t.Errorf("rename: %v", err)
	}

	e.reset()
	ret, err := e.svc.RetireScenario(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ret.State != entitlement.StateRetired {
		t.Errorf("state %s", ret.State)
	}
	puts = e.wire.bodies("PUT", "/assignmentPolicies/"+sc.PolicyID)
	if len(puts) != 1 || !strings.Contains(puts[0], `"enableTargetsToSelfAddAccess":false`) {
		t.Errorf("retire PUT = %q", puts)
	}
	if _, err := e.sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "late@fabrikam.com", AccessPackageID: sc.AccessPackageID}); err == nil {
		t.Error("a retired scenario still accepts requests")
	}
	if d, err := e.svc.GetScenario(ctx, sc.ID); err != nil || d.PendingRequests != 3 {
		t.Errorf("existing requests after retiring: %+v %v", d, err)
	}
	if list, _ := e.svc.ListScenarios(ctx, sandbox.UserAlex); len(list) != 0 {
		t.Errorf("retired scenario still listed: %+v", list)
	}
	if again, err := e.svc.RetireScenario(ctx, sc.ID); err != nil || again.State != entitlement.StateRetired {
		t.Errorf("retiring twice: %v", err)
	}
	if _, err := e.svc.GetScenario(ctx, "no-such-scenario"); !errors.Is(err, entitlement.ErrNotFound) {
		t.Errorf("unknown scenario: %v", err)
	}
}

func TestListScenariosByOwner(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, oneStage("Alex's"))
	adele := oneStage("Adele's")
	adele.OwnerOID = sandbox.UserAdele
	adele.CoOwnerOIDs = []string{sandbox.UserAlex}
	e.create(t, adele)
	e.reset()
	for owner, want := range map[string]int{sandbox.UserAlex: 2, sandbox.UserAdele: 1, sandbox.UserMegan: 0, "": 2} {
		list, err := e.svc.ListScenarios(ctx, owner)
		if err != nil || len(list) != want {
			t.Errorf("owner %q: %d scenarios (%v), want %d", owner, len(list), err, want)
		}
	}
	if e.counter.Total() != 0 {
		t.Error("listing scenarios called Graph")
	}
}

func TestDirectorySearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t.Run("users", func(t *testing.T) {
		got, err := e.svc.SearchUsers(ctx, "megan", 5)
		if err != nil || len(got) != 1 || got[0].OID != sandbox.UserMegan {
			t.Errorf("megan: %+v %v", got, err)
		}
		// Quotes, backslashes and unicode are safe and do not break the clause.
		for _, term := range []string{`O'Brien`, `"megan"`, `Zoë \ 東京`, `a" OR "mail:x`} {
			if _, err := e.svc.SearchUsers(ctx, term, 5); err != nil {
				t.Errorf("%q: %v", term, err)
			}
		}
		for _, c := range e.wire.calls() {
			if strings.HasSuffix(c.Path, "/users") && strings.Contains(c.Query, `a" OR "mail:x`) {
				t.Errorf("search term escaped its clause: %s", c.Query)
			}
		}
	})
	t.Run("groups mark teams", func(t *testing.T) {
		got, err := e.svc.SearchGroups(ctx, "project", 5)
		if err != nil || len(got) != 1 || got[0].ID != sandbox.GroupProjectX || !got[0].IsTeam || got[0].Roles[0].OriginID != "Member_"+sandbox.GroupProjectX {
			t.Errorf("project: %+v %v", got, err)
		}
		got, err = e.svc.SearchGroups(ctx, "marketing", 5)
		if err != nil || len(got) != 1 || got[0].IsTeam {
			t.Errorf("marketing is not a team: %+v %v", got, err)
		}
	})
	t.Run("sites", func(t *testing.T) {
		got, err := e.svc.SearchSites(ctx, "Partner Portal", 5)
		if err != nil || len(got) != 1 || got[0].OriginID != sandbox.SitePartnerPortalURL {
			t.Errorf("sites: %+v %v", got, err)
		}
	})
	t.Run("applications with roles", func(t *testing.T) {
		got, err := e.svc.SearchApplications(ctx, "Relecloud", 5)
		if err != nil || len(got) != 1 || len(got[0].Roles) != 2 {
			t.Fatalf("relecloud: %+v %v", got, err)
		}
		got, err = e.svc.SearchApplications(ctx, "Woodgrove", 5)
		if err != nil || len(got) != 1 || got[0].Roles[0].DisplayName != "Default Access" {
			t.Errorf("woodgrove: %+v %v", got, err)
		}
	})
	t.Run("bad terms", func(t *testing.T) {
		for _, term := range []string{"", "   ", strings.Repeat("x", 101), "a\x00b"} {
			if _, err := e.svc.SearchUsers(ctx, term, 5); !errors.Is(err, entitlement.ErrInvalid) {
				t.Errorf("%q: %v", term, err)
			}
		}
	})
}

func TestMyAccessLink(t *testing.T) {
	for _, tt := range []struct {
		cloud entitlement.Cloud
		want  string
	}{
		{entitlement.CloudPublic, "https://myaccess.microsoft.com/@contoso.onmicrosoft.com#/access-packages/ap-1"},
		{entitlement.CloudUSGov, "https://myaccess.microsoft.us/@contoso.onmicrosoft.com#/access-packages/ap-1"},
	} {
		if got := entitlement.MyAccessLink(tt.cloud, "contoso.onmicrosoft.com", "ap-1"); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.cloud, got, tt.want)
		}
	}
}
