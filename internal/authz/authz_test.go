package authz

import (
	"strings"
	"testing"
)

// Roles as the table test sees them. guestAdmin is a guest who is (wrongly) in the admin and
// sponsor groups: the Guest flag must win.
var (
	everyone      = Roles{}
	sponsor       = Roles{Sponsor: true}
	admin         = Roles{Admin: true}
	adminSponsor  = Roles{Admin: true, Sponsor: true}
	guest         = Roles{Guest: true}
	guestAdmin    = Roles{Guest: true, Admin: true, Sponsor: true}
	guestSponsor  = Roles{Guest: true, Sponsor: true}
	allRoleValues = []Roles{everyone, sponsor, admin, adminSponsor, guest, guestAdmin, guestSponsor}
)

// Expected cells, written out independently of the implementation's table.
const (
	y = true
	n = false
)

var expected = []struct {
	action Action
	// everyone, sponsor, admin (admin-group member who is not a sponsor), adminSponsor, guest,
	// guestAdmin, guestSponsor
	cells    [7]bool
	personal bool
}{
	{ActionHelp, [7]bool{y, y, y, y, y, y, y}, n},
	{ActionApprovals, [7]bool{y, y, y, y, y, y, y}, y},
	{ActionApprove, [7]bool{y, y, y, y, y, y, y}, n},
	{ActionDeny, [7]bool{y, y, y, y, y, y, y}, n},
	{ActionScenarios, [7]bool{n, y, y, y, n, n, n}, n},
	{ActionScenarioShow, [7]bool{n, y, y, y, n, n, n}, n},
	{ActionScenarioNew, [7]bool{n, y, y, y, n, n, n}, n},
	{ActionScenarioEdit, [7]bool{n, y, y, y, n, n, n}, n},
	{ActionScenarioRetire, [7]bool{n, y, y, y, n, n, n}, n},
	{ActionInvite, [7]bool{n, y, y, y, n, n, n}, y},
	{ActionGuests, [7]bool{n, y, y, y, n, n, n}, y},
	{ActionGuestsRemove, [7]bool{n, y, y, y, n, n, n}, y},
	{ActionRequests, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionCatalogs, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionPackages, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionOrgs, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionOrgsAdd, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionOrgsRemove, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionExpiring, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionAudit, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionStats, [7]bool{n, n, y, y, n, n, n}, y},
	{ActionDoctor, [7]bool{n, n, y, y, n, n, n}, y},
}

func TestAuthorizationTable(t *testing.T) {
	for _, row := range expected {
		for i, roles := range allRoleValues {
			if got := Allowed(roles, row.action); got != row.cells[i] {
				t.Errorf("Allowed(%s, %s) = %v, want %v", roles, row.action, got, row.cells[i])
			}
		}
		if got := RequiresPersonalChat(row.action); got != row.personal {
			t.Errorf("RequiresPersonalChat(%s) = %v, want %v", row.action, got, row.personal)
		}
	}
}

// TestTableCoverage keeps the expected table and the implementation's table in step: an action
// added to one must be added to the other.
func TestTableCoverage(t *testing.T) {
	tested := map[Action]bool{}
	for _, row := range expected {
		if tested[row.action] {
			t.Errorf("action %s listed twice", row.action)
		}
		tested[row.action] = true
	}
	actions := Actions()
	if len(actions) != len(expected) {
		t.Errorf("table has %d actions, test expects %d", len(actions), len(expected))
	}
	for _, a := range actions {
		if !tested[a] {
			t.Errorf("action %s has no expected row", a)
		}
	}
}

func TestUnknownActionFailsClosed(t *testing.T) {
	for _, roles := range allRoleValues {
		if Allowed(roles, "rm -rf") {
			t.Errorf("unknown action allowed for %s", roles)
		}
	}
	if !RequiresPersonalChat("rm -rf") {
		t.Error("unknown action does not require a personal chat")
	}
	d := Decide(adminSponsor, "nonsense", ConversationPersonal)
	if d.Allowed || d.Code != CodeUnknown {
		t.Errorf("Decide(unknown) = %+v", d)
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		roles  Roles
		action Action
		conv   string
		code   string
		reason string
	}{
		{"admin in personal chat", admin, ActionAudit, "personal", "", ""},
		{"admin in channel", admin, ActionAudit, "channel", CodePersonalChat, "`audit` shows guest and tenant details, so I answer it only in a 1:1 chat."},
		{"admin in group chat", adminSponsor, ActionOrgsAdd, "groupChat", CodePersonalChat, "`orgs add` shows guest and tenant details"},
		{"unknown conversation type counts as shared", admin, ActionDoctor, "", CodePersonalChat, "1:1 chat"},
		{"sponsor asks for an admin command", sponsor, ActionAudit, "personal", CodeNotAdmin, "Only guestpass admins can run `audit`."},
		{"sponsor asks in a channel: role refusal first", sponsor, ActionAudit, "channel", CodeNotAdmin, "Only guestpass admins can run `audit`."},
		{"everyone asks for a sponsor command", everyone, ActionScenarioNew, "personal", CodeNotSponsor, "Only sponsors can run `scenario new`."},
		{"guest asks for a sponsor command", guest, ActionScenarioNew, "personal", CodeGuest, "Guest accounts can't run `scenario new`."},
		{"guest in the admin group", guestAdmin, ActionDoctor, "personal", CodeGuest, "Guest accounts can't run `doctor`."},
		{"sponsor scenario command in a channel", sponsor, ActionScenarioShow, "channel", "", ""},
		{"sponsor guests list in a channel", sponsor, ActionGuests, "channel", CodePersonalChat, "`guests` shows guest and tenant details"},
		{"approvals in a group chat", everyone, ActionApprovals, "groupChat", CodePersonalChat, "1:1 chat"},
		{"approve click in a channel", guest, ActionApprove, "channel", "", ""},
		{"help anywhere", guest, ActionHelp, "channel", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.roles, tt.action, tt.conv)
			if d.Allowed != (tt.code == "") || d.Code != tt.code {
				t.Fatalf("Decide = %+v, want code %q", d, tt.code)
			}
			if !strings.Contains(d.Reason, tt.reason) || (tt.code == "") != (d.Reason == "") {
				t.Errorf("Reason = %q, want it to contain %q", d.Reason, tt.reason)
			}
			if d.Allowed != (Allowed(tt.roles, tt.action) && (!RequiresPersonalChat(tt.action) || tt.conv == ConversationPersonal)) {
				t.Errorf("Decide disagrees with Allowed and RequiresPersonalChat")
			}
		})
	}
}

func TestRefusalAudit(t *testing.T) {
	actor := Actor{TenantID: "t1", UserOID: "u1", UserName: "Alex", ActivityID: "a1", ConversationID: "c1"}
	d := Decide(guestAdmin, ActionAudit, "personal")
	e, ok := RefusalAudit(actor, guestAdmin, ActionAudit, d)
	if !ok {
		t.Fatal("RefusalAudit of a refusal returned false")
	}
	if e.Action != AuditActionRefused || e.Target != "audit" || e.Outcome != CodeGuest ||
		e.ActorOID != "u1" || e.ActorName != "Alex" || e.TenantID != "t1" || e.ActivityID != "a1" ||
		e.ConversationID != "c1" || e.Detail != "roles=guest,admin,sponsor" {
		t.Errorf("audit entry = %+v", e)
	}
	if _, ok := RefusalAudit(actor, admin, ActionAudit, Decide(admin, ActionAudit, "personal")); ok {
		t.Error("RefusalAudit of an allowed action returned true")
	}
}

func TestActionCommand(t *testing.T) {
	if got := ActionScenarioNew.Command(); got != "scenario new" {
		t.Errorf("Command() = %q", got)
	}
	if got := (Roles{}).String(); got != "everyone" {
		t.Errorf("Roles{}.String() = %q", got)
	}
}
