package commands_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/commands"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

// dispatchEnv is the real router and /api/messages server over a SQLite store, with roles
// resolved through the sandbox tenant's Graph.
type dispatchEnv struct {
	t    *testing.T
	tn   *testenv.Tenant
	st   store.Store
	url  string
	conn *testkit.Connector
}

// newDispatchEnv registers handlers for `scenarios` and `requests` only, so every other command
// exercises the "not available" path.
func newDispatchEnv(t *testing.T) *dispatchEnv {
	t.Helper()
	tn := testenv.New(t, testenv.Options{ConnectorOptions: []testkit.ConnectorOption{testkit.WithoutRateLimit()}})
	st := tn.OpenStore(nil)
	res, err := authz.NewResolver(authz.ResolverOptions{Graph: tn.Graph, AdminGroupID: sandbox.GroupAdmins,
		SponsorGroupID: sandbox.GroupSponsors, HomeTenantID: sandbox.TenantID, Logger: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	d, err := commands.NewDispatcher(commands.DispatcherOptions{Resolver: res, Audit: st, Logger: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	d.Handle(authz.ActionScenarios, func(ctx context.Context, tr *router.Turn, cmd commands.Command, roles authz.Roles) error {
		_, err := tr.SendText(ctx, "scenarios ran for "+roles.String())
		return err
	})
	d.Handle(authz.ActionRequests, func(ctx context.Context, tr *router.Turn, cmd commands.Command, _ authz.Roles) error {
		_, err := tr.SendText(ctx, "requests ran: "+cmd.Arg("state"))
		return err
	})
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: tn.Connector.Client(), MaxRetries: -1, Logger: testenv.Quiet(), Timeout: 5 * time.Second})
	api := tn.Serve(st, conn, func(mux *router.Mux) {
		registerClickVerbs(mux, d)
		d.Register(mux)
	})
	return &dispatchEnv{t: t, tn: tn, st: st, url: api.URL, conn: tn.Connector}
}

// say posts text from oid in a personal chat (channel=false) or as an @mention in a channel,
// and returns what the bot sent back to that conversation, as JSON.
func (e *dispatchEnv) say(oid, text string, channel bool) string {
	e.t.Helper()
	var a *botframework.Activity
	if channel {
		a = testkit.ChannelMention(e.tn.Connector.ServiceURL, text)
	} else {
		a = testkit.PersonalMessage(e.tn.Connector.ServiceURL, text)
		a.Conversation.ID = "a:personal-" + oid
	}
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "User " + oid[len(oid)-2:], AadObjectID: oid}
	a.Conversation.TenantID = sandbox.TenantID
	a.ChannelData.Tenant = &botframework.IDRef{ID: sandbox.TenantID}
	before := len(e.conn.Calls())
	if res := testenv.Post(e.t, e.url, a); res.Status >= 300 {
		e.t.Fatalf("POST %q: %d %s", text, res.Status, res.Raw)
	}
	var out []string
	for _, c := range e.conn.Calls()[before:] {
		if c.Activity != nil && c.ConversationID == a.Conversation.ID {
			b, _ := json.Marshal(c.Activity)
			out = append(out, string(b))
		}
	}
	if len(out) != 1 {
		e.t.Fatalf("%q: want exactly one reply, got %d: %v", text, len(out), out)
	}
	return out[0]
}

func (e *dispatchEnv) refusals() []store.AuditEntry {
	e.t.Helper()
	list, err := e.st.ListAudit(context.Background(), store.AuditQuery{Action: authz.AuditActionRefused})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func TestDispatcher(t *testing.T) {
	e := newDispatchEnv(t)
	tests := []struct {
		name    string
		oid     string
		text    string
		channel bool
		want    []string
		notWant []string
		// refused is the audited refusal code, empty when nothing is refused.
		refused string
	}{
		{name: "usage error with suggestion", oid: sandbox.UserAlex, text: "requets pending",
			want: []string{"is not a command", "Did you mean `requests`?"}},
		{name: "bad value: suggestion and usage", oid: sandbox.UserAlex, text: "requests pendng",
			want: []string{"Did you mean `pending`?", "Usage: requests [pending|all]"}},
		{name: "admin runs an admin command", oid: sandbox.UserAlex, text: "/Requests ALL", want: []string{"requests ran: all"}},
		{name: "default argument", oid: sandbox.UserPatti, text: "requests", want: []string{"requests ran: pending"}},
		{name: "sponsor refused an admin command", oid: sandbox.UserAdele, text: "requests",
			want: []string{"Only guestpass admins can run `requests`"}, notWant: []string{"ran"}, refused: authz.CodeNotAdmin},
		{name: "guest refused a sponsor command", oid: sandbox.GuestDiego, text: "scenarios",
			want: []string{"Guest accounts can't run `scenarios`"}, notWant: []string{"ran"}, refused: authz.CodeGuest},
		{name: "admin command in a channel", oid: sandbox.UserAlex, text: "requests", channel: true,
			want: []string{"only in a 1:1 chat"}, notWant: []string{"ran"}, refused: authz.CodePersonalChat},
		{name: "sponsor command in a channel is fine", oid: sandbox.UserAdele, text: "scenarios", channel: true,
			want: []string{"scenarios ran for sponsor"}},
		{name: "allowed but no handler", oid: sandbox.UserAlex, text: "doctor",
			want: []string{"`doctor` is not available in this deployment"}},
		{name: "roles cannot be resolved: fail closed", oid: "bad/../id", text: "scenarios",
			want: []string{"couldn't check your permissions"}, notWant: []string{"ran"}},
		{name: "empty after the mention", oid: sandbox.UserAlex, text: "", channel: true, want: []string{"Type help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			before := len(e.refusals())
			got := e.say(tt.oid, tt.text, tt.channel)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply %s\nlacks %q", got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("reply %s\nhas %q", got, w)
				}
			}
			refs := e.refusals()
			switch {
			case tt.refused == "" && len(refs) != before:
				t.Errorf("audit got %d new refusals, want none", len(refs)-before)
			case tt.refused != "":
				if len(refs) != before+1 {
					t.Fatalf("audit has %d new refusals, want 1", len(refs)-before)
				}
				r := refs[0] // newest first
				if r.Outcome != tt.refused || r.ActorOID != tt.oid || r.Target != string(mustParse(t, tt.text).Action()) || r.TenantID != sandbox.TenantID {
					t.Errorf("refusal audit = %+v", r)
				}
			}
		})
	}
}

func mustParse(t *testing.T, text string) commands.Command {
	t.Helper()
	c, err := commands.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHelpShowsOnlyVisibleCommands checks help per role: only commands the user may run and this
// deployment answers.
func TestHelpShowsOnlyVisibleCommands(t *testing.T) {
	e := newDispatchEnv(t)
	tests := []struct {
		name      string
		oid       string
		want, not []string
	}{
		{"admin (admins may do what sponsors may)", sandbox.UserPatti, []string{`"help`, `"requests`, `"scenarios`}, []string{`"doctor`}},
		{"admin and sponsor", sandbox.UserAlex, []string{`"help`, `"requests`, `"scenarios`}, []string{`"doctor`, `"approvals`}},
		{"sponsor", sandbox.UserAdele, []string{`"help`, `"scenarios`}, []string{`"requests`}},
		{"guest", sandbox.GuestDiego, []string{`"help`}, []string{`"requests`, `"scenarios`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			got := e.say(tt.oid, "help", false)
			if !strings.Contains(got, "application/vnd.microsoft.card.adaptive") {
				t.Fatalf("help is not a card: %s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("help lacks %s: %s", w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("help shows %s: %s", w, got)
				}
			}
		})
	}
}

func TestHandleRejectsNonCommands(t *testing.T) {
	d, err := commands.NewDispatcher(commands.DispatcherOptions{Resolver: failingResolver{}, Audit: nopAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []authz.Action{authz.ActionHelp, authz.ActionApprove, "nope"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) did not panic", a)
				}
			}()
			d.Handle(a, func(context.Context, *router.Turn, commands.Command, authz.Roles) error { return nil })
		}()
	}
	if _, err := commands.NewDispatcher(commands.DispatcherOptions{}); err == nil {
		t.Error("NewDispatcher without a resolver succeeded")
	}
}

// failingResolver and nopAudit only satisfy NewDispatcher's argument checks.
type failingResolver struct{}

func (failingResolver) Roles(context.Context, string, string) (authz.Roles, error) {
	return authz.Roles{}, context.DeadlineExceeded
}

type nopAudit struct{}

func (nopAudit) AppendAudit(context.Context, store.AuditEntry) error { return nil }
