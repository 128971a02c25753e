package commands_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/commands"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

// Verbs of the test cards: verbRerun runs the command line in its data again through
// Dispatcher.Run, as admin list paging does; verbAuthorize only checks `orgs add` with
// Dispatcher.Authorize, as the connected-organization confirmations do.
const (
	verbRerun     = "test.rerun"
	verbAuthorize = "test.authorize"
)

func registerClickVerbs(mux *router.Mux, d *commands.Dispatcher) {
	mux.HandleVerb(verbRerun, func(ctx context.Context, t *router.Turn) error {
		var data struct {
			Command string `json:"command"`
		}
		if err := json.Unmarshal(t.ActionData(), &data); err != nil {
			return err
		}
		cmd, err := commands.Parse(data.Command)
		if err != nil {
			return err
		}
		return d.Run(ctx, t, cmd)
	})
	mux.HandleVerb(verbAuthorize, func(ctx context.Context, t *router.Turn) error {
		roles, ok, err := d.Authorize(ctx, t, authz.ActionOrgsAdd)
		if !ok {
			return err
		}
		return t.Respond(botframework.MessageResponse("authorized as " + roles.String()))
	})
}

// click posts an Action.Execute click of oid with verb and data, in their personal chat or in a
// group chat, and returns the invoke response and the messages the bot sent meanwhile (JSON).
func (e *dispatchEnv) click(oid, verb string, data map[string]string, group bool) (testenv.Response, []string) {
	e.t.Helper()
	data["verb"] = verb
	a := testkit.ActionInvoke(e.tn.Connector.ServiceURL, verb, data)
	a.From = schema.ChannelAccount{ID: "29:" + oid, Name: "User", AadObjectID: oid}
	a.Conversation.ID = "a:personal-" + oid
	a.Conversation.TenantID = sandbox.TenantID
	a.ChannelData.Tenant = &botframework.IDRef{ID: sandbox.TenantID}
	if group {
		a.Conversation.ConversationType = "groupChat"
		a.Conversation.ID = "19:group-chat@thread.v2"
	}
	before := len(e.conn.Calls())
	res := testenv.Post(e.t, e.url, a)
	if res.Status != 200 {
		e.t.Fatalf("click %v: %d %s", data, res.Status, res.Raw)
	}
	var sent []string
	for _, c := range e.conn.Calls()[before:] {
		if c.Activity != nil {
			b, _ := json.Marshal(c.Activity)
			sent = append(sent, string(b))
		}
	}
	return res, sent
}

// TestRunAuthorizesClicks: a command run again from a card goes through the same roles, table,
// refusal audit and handler lookup as a typed one; the dispatcher's own answers replace the
// clicked card instead of arriving as new messages (card text escapes markdown, so the wanted
// phrases leave out the backticks).
func TestRunAuthorizesClicks(t *testing.T) {
	e := newDispatchEnv(t)
	tests := []struct {
		name    string
		oid     string
		command string
		group   bool
		// ran is the text the registered handler sends, when it runs.
		ran     string
		want    []string
		notWant []string
		refused string
	}{
		{name: "admin", oid: sandbox.UserAlex, command: "requests all", ran: "requests ran: all"},
		{name: "sponsor refused an admin command", oid: sandbox.UserAdele, command: "requests",
			want: []string{"Not allowed", "Only guestpass admins can run", "requests"}, refused: authz.CodeNotAdmin},
		{name: "admin command in a group chat", oid: sandbox.UserAlex, command: "requests", group: true,
			want: []string{"Not allowed", "only in a 1:1 chat"}, refused: authz.CodePersonalChat},
		{name: "no handler", oid: sandbox.UserAlex, command: "doctor", want: []string{"doctor", "is not available in this deployment"}},
		{name: "roles cannot be resolved: fail closed", oid: "bad/../id", command: "scenarios",
			want: []string{"couldn't check your permissions", "so I can't run", "scenarios"}},
		{name: "help for a sponsor", oid: sandbox.UserAdele, command: "help", want: []string{`"scenarios`}, notWant: []string{`"requests`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			before := len(e.refusals())
			res, sent := e.click(tt.oid, verbRerun, map[string]string{"command": tt.command}, tt.group)
			if tt.ran != "" {
				if len(sent) != 1 || !strings.Contains(sent[0], tt.ran) {
					t.Errorf("handler did not run: sent %v, response %s", sent, res.Raw)
				}
			} else {
				if len(sent) != 0 {
					t.Errorf("answered with new messages %v; want the click's response", sent)
				}
				if res.Body.Type != botframework.ContentTypeAdaptiveCard {
					t.Errorf("response is not a card: %s", res.Raw)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(res.Raw, w) {
					t.Errorf("response %s\nlacks %q", res.Raw, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(res.Raw, w) {
					t.Errorf("response %s\nhas %q", res.Raw, w)
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
				if r := refs[0]; r.Outcome != tt.refused || r.ActorOID != tt.oid || r.Target != string(authz.ActionRequests) {
					t.Errorf("refusal audit = %+v", r)
				}
			}
		})
	}
}

// TestAuthorize: a card action that belongs to a command is allowed, refused and audited by the
// same table as the command.
func TestAuthorize(t *testing.T) {
	e := newDispatchEnv(t)
	if res, _ := e.click(sandbox.UserAlex, verbAuthorize, map[string]string{}, false); !strings.Contains(res.Raw, "authorized as admin") {
		t.Errorf("admin: %s", res.Raw)
	}
	res, _ := e.click(sandbox.UserMegan, verbAuthorize, map[string]string{}, false)
	if !strings.Contains(res.Raw, "Not allowed") || !strings.Contains(res.Raw, "Only guestpass admins") || strings.Contains(res.Raw, "authorized") {
		t.Errorf("non-admin: %s", res.Raw)
	}
	res, _ = e.click(sandbox.UserAlex, verbAuthorize, map[string]string{}, true)
	if !strings.Contains(res.Raw, "1:1 chat") || strings.Contains(res.Raw, "authorized") {
		t.Errorf("group chat: %s", res.Raw)
	}
	refs := e.refusals() // newest first
	if len(refs) != 2 || refs[1].ActorOID != sandbox.UserMegan || refs[1].Outcome != authz.CodeNotAdmin ||
		refs[0].Outcome != authz.CodePersonalChat || refs[0].Target != string(authz.ActionOrgsAdd) {
		t.Errorf("refusals = %+v", refs)
	}
}
