package admin_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/admin"
	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/commands"
	"guestpass/internal/credentials"
	"guestpass/internal/entitlement"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/sso"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

type env struct {
	t     *testing.T
	tn    *testenv.Tenant
	st    store.Store
	svc   *entitlement.Service
	roles *authz.Resolver
	auth  *sso.Authenticator
	url   string
	// graph is the admin's app-only client (nil: tn.Graph).
	graph *msgraphsdk.GraphServiceClient
}

func newEnv(t *testing.T) *env { return newEnvWith(t, testenv.Options{}) }

// newEnvWith serves the admin commands and card verbs over the sandbox tenant, with the
// dispatcher, role resolution and SSO exactly as production wires them (no local token issuer:
// a click without an SSO token gets the sign-in request).
func newEnvWith(t *testing.T, o testenv.Options) *env {
	t.Helper()
	e := newTenant(t, o)
	e.serve()
	return e
}

// newTenant builds the sandbox tenant, the store and the entitlement service, without serving
// the admin commands yet (serve does).
func newTenant(t *testing.T, o testenv.Options) *env {
	t.Helper()
	o.ConnectorOptions = append(o.ConnectorOptions, testkit.WithoutRateLimit())
	tn := testenv.New(t, o)
	st := tn.OpenStore(nil)
	return &env{t: t, tn: tn, st: st, svc: tn.Service(st, nil)}
}

// serve serves the admin commands and card verbs with e.svc and e.graph.
func (e *env) serve() {
	t, tn, st := e.t, e.tn, e.st
	t.Helper()
	res, err := authz.NewResolver(authz.ResolverOptions{Graph: tn.Graph, AdminGroupID: sandbox.GroupAdmins,
		SponsorGroupID: sandbox.GroupSponsors, HomeTenantID: sandbox.TenantID, Logger: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	e.roles = res
	v, x := tn.SSO()
	if e.auth, err = sso.NewAuthenticator(v, x, tn.SSOSettings(), nil); err != nil {
		t.Fatal(err)
	}
	d, err := commands.NewDispatcher(commands.DispatcherOptions{Resolver: res, Audit: st, Logger: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := admin.New(e.options(e.doctorDeps()))
	if err != nil {
		t.Fatal(err)
	}
	a.Register(d)
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: tn.Connector.Client(), MaxRetries: -1, Logger: testenv.Quiet(), Timeout: 5 * time.Second})
	e.url = tn.Serve(st, conn, func(mux *router.Mux) {
		a.RegisterVerbs(mux)
		d.Register(mux)
	}).URL
}

func (e *env) options(doctor admin.DoctorDeps) admin.Options {
	g := e.graph
	if g == nil {
		g = e.tn.Graph
	}
	return admin.Options{Graph: g, Service: e.svc, Store: e.st, TenantID: sandbox.TenantID, Doctor: doctor,
		Auth: e.auth, Logger: testenv.Quiet()}
}

// doctorDeps builds a fresh app-only credential, so its first token carries the sandbox's
// current app roles.
func (e *env) doctorDeps() admin.DoctorDeps {
	e.t.Helper()
	cred, err := credentials.GraphAppOnly(e.tn.Credentials)
	if err != nil {
		e.t.Fatal(err)
	}
	return admin.DoctorDeps{Config: []admin.ConfigLine{{Name: "Mode", Value: "local"}, {Name: "Client secret", Value: "set"}},
		GraphCredential: cred, GraphScope: sso.GraphScope(e.tn.Sandbox.GraphURL())}
}

// say posts text from Alex (admin) in a personal chat and returns the one reply as JSON.
func (e *env) say(text string) string {
	e.t.Helper()
	return e.sayAs(sandbox.UserAlex, text)
}

// sayAs posts text from user oid in their personal chat and returns the one reply as JSON.
func (e *env) sayAs(oid, text string) string {
	e.t.Helper()
	a := testkit.PersonalMessage(e.tn.Connector.ServiceURL, text)
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: names[oid], AadObjectID: oid}
	a.Conversation.ID = "a:personal-" + oid
	a.Conversation.TenantID = sandbox.TenantID
	a.ChannelData.Tenant = &botframework.IDRef{ID: sandbox.TenantID}
	before := len(e.tn.Connector.Calls())
	if res := testenv.Post(e.t, e.url, a); res.Status >= 300 {
		e.t.Fatalf("POST %q: %d %s", text, res.Status, res.Raw)
	}
	var out []string
	for _, c := range e.tn.Connector.Calls()[before:] {
		if c.Activity != nil {
			b, _ := json.Marshal(c.Activity)
			out = append(out, string(b))
		}
	}
	if len(out) != 1 {
		e.t.Fatalf("%q: want one reply, got %d: %v", text, len(out), out)
	}
	return out[0]
}

func (e *env) scenario(name string) entitlement.Scenario {
	e.t.Helper()
	sc, err := e.svc.CreateScenario(context.Background(), entitlement.Scenario{
		Name: name, Description: "Launch collaboration",
		Partners: []entitlement.Partner{{Domain: sandbox.ContosoDomain, TenantID: sandbox.ContosoTenantID}},
		Resources: []entitlement.Resource{{Kind: entitlement.ResourceGroup, OriginID: sandbox.GroupProjectX, DisplayName: "Project X",
			Role: entitlement.Role{OriginID: "Member_" + sandbox.GroupProjectX, DisplayName: "Member"}}},
		Approval: entitlement.Approval{Required: true, Stages: []entitlement.Stage{{AutoDenyAfterDays: 14,
			Approvers: []entitlement.Approver{{Kind: entitlement.ApproverUser, ID: sandbox.UserMegan}}}}},
		DurationDays: 30, OwnerOID: sandbox.UserAdele,
	})
	if err != nil {
		e.t.Fatalf("CreateScenario: %v", err)
	}
	return sc
}

func (e *env) request(pkg, email string) string {
	e.t.Helper()
	id, err := e.tn.Sandbox.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: email, AccessPackageID: pkg, GuestDisplayName: email})
	if err != nil {
		e.t.Fatalf("SubmitGuestRequest: %v", err)
	}
	return id
}

func TestAdminCommands(t *testing.T) {
	e := newEnv(t)
	sc := e.scenario("Launch Alpha")
	e.request(sc.AccessPackageID, "pending.guest@contoso.com")
	granted := e.request(sc.AccessPackageID, "granted.guest@contoso.com")
	if err := e.tn.Sandbox.DecideAs(sandbox.UserMegan, granted, "Approve", "ok"); err != nil {
		t.Fatal(err)
	}
	for _, en := range []store.AuditEntry{
		{ActorOID: sandbox.UserAdele, ActorName: "Adele Vance", Action: "scenario.new", Target: "Launch Alpha", Outcome: "ok"},
		{ActorOID: sandbox.UserMegan, ActorName: "Megan Bowen", Action: "approval.approve", Target: "req-1", Outcome: "ok"},
		{Action: "approval.unreachable", Target: "req-2", Outcome: "failed", Detail: "card to isaiah: recipient unreachable"},
	} {
		if err := e.st.AppendAudit(context.Background(), en); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		text      string
		want, not []string
	}{
		{"requests", []string{"Access requests", "pending.guest@contoso.com", "pendingApproval"}, []string{"granted.guest"}},
		{"requests all --scenario \"launch alpha\"", []string{"Access requests for Launch Alpha", "pending.guest@contoso.com", "granted.guest@contoso.com"}, nil},
		{"requests --scenario Nope", []string{`There is no provisioned scenario named \"Nope\"`}, nil},
		{"catalogs", []string{"Catalogs"}, []string{"No catalogs"}},
		{"packages", []string{"Access packages", "Launch Alpha"}, nil},
		{"packages --catalog NoSuchCatalog", []string{"No access packages."}, []string{"Launch Alpha"}},
		{"orgs", []string{"Connected organizations", "tenant " + sandbox.ContosoTenantID}, nil},
		{"expiring --days 31", []string{"Access expiring within 31 days", "granted.guest@contoso.com"}, []string{"pending.guest"}},
		{"expiring --days 7", []string{"No access expires within 7 days."}, []string{"granted.guest"}},
		{"audit --last 1", []string{"Audit log", "approval.unreachable"}, []string{"scenario.new"}},
		{"audit --action approval.approve", []string{"approval.approve"}, []string{"scenario.new", "approval.unreachable"}},
		{"audit --user adele", []string{"scenario.new", "Adele Vance"}, []string{"approval.approve"}},
		{"audit --user " + sandbox.UserMegan, []string{"approval.approve"}, []string{"scenario.new"}},
		{"stats", []string{"Scenarios", "Requests awaiting approval", "Active assignments", "Onboardings", "Outbox",
			`Approvers not reachable in Teams, last 7 days (audit --action approval.unreachable)","type":"TextBlock","wrap":true}],"type":"TableCell"},{"items":[{"text":"1"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			e.t = t
			got := e.say(tt.text)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply lacks %q: %s", w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("reply has %q: %s", w, got)
				}
			}
		})
	}
}

// TestStatsCounts checks the numbers, not only the labels.
func TestStatsCounts(t *testing.T) {
	e := newEnv(t)
	sc := e.scenario("Launch Beta")
	e.request(sc.AccessPackageID, "one@contoso.com")
	e.request(sc.AccessPackageID, "two@contoso.com")
	got := e.say("stats")
	for _, w := range []string{`"text":"Requests awaiting approval"`, `"text":"2"`, `"text":"1 (active 1)"`} {
		if !strings.Contains(got, w) {
			t.Errorf("stats lacks %s: %s", w, got)
		}
	}
}

func TestDoctorReportsExactlyTheMissingPermission(t *testing.T) {
	tests := []struct {
		name   string
		remove string
		want   map[string][]string
	}{
		{"full set", "", map[string][]string{}},
		{"no tenant lookup", "CrossTenantInformation.ReadBasic.All", map[string][]string{"Partner tenant lookup": {"CrossTenantInformation.ReadBasic.All"}}},
		{"no applications", "Application.ReadWrite.All", map[string][]string{"Scenarios with applications": {"Application.ReadWrite.All"}}},
		// Invitations are sent with the sponsor's delegated token, never the bot's: removing the
		// application permission must not be reported as missing.
		{"no app-only invitations", "User.Invite.All", map[string][]string{}},
		{"no sites", "Sites.FullControl.All", map[string][]string{"Scenarios with SharePoint sites": {"Sites.FullControl.All"}}},
		{"no entitlement management", "EntitlementManagement.ReadWrite.All", map[string][]string{
			"Create and edit scenarios":      {"EntitlementManagement.ReadWrite.All"},
			"Pending requests and approvals": {"EntitlementManagement.Read.All"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.tn.Sandbox.SetAppRoles(slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool { return r == tt.remove }))
			a, err := admin.New(e.options(e.doctorDeps()))
			if err != nil {
				t.Fatal(err)
			}
			r := a.Diagnose(context.Background())
			if !maps.EqualFunc(r.MissingByFeature, tt.want, slices.Equal) {
				t.Errorf("missing = %v, want %v", r.MissingByFeature, tt.want)
			}
			for _, c := range r.Checks {
				if (c.Name == "Graph app-only token" || c.Name == "Store") && !c.OK {
					t.Errorf("check %s failed: %s", c.Name, c.Detail)
				}
			}
			card, err := json.Marshal(admin.DoctorCard(r))
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.want) > 0 && !strings.Contains(string(card), "Grant admin consent") {
				t.Errorf("card lacks the fix: %s", card)
			}
			if len(tt.want) == 0 && strings.Contains(string(card), "✗") {
				t.Errorf("card reports a failure with nothing missing: %s", card)
			}
			if strings.Contains(string(card), e.tn.Credentials.ClientSecret) {
				t.Error("card leaks the client secret")
			}
		})
	}
}

func TestDoctorCommand(t *testing.T) {
	e := newEnv(t)
	got := e.say("doctor")
	for _, w := range []string{"guestpass doctor", "Mode", "✓ Graph app-only token", "✓ Store", "Bot Connector token", "skipped: local mode", "Graph permissions", "✓ Partner tenant lookup"} {
		if !strings.Contains(got, w) {
			t.Errorf("doctor card lacks %q: %s", w, got)
		}
	}
	if strings.Contains(got, "✗") {
		t.Errorf("doctor reports a failure on a fully configured sandbox: %s", got)
	}
}
