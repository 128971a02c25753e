package sandbox_test

import (
	"slices"
	"testing"
	"time"

	"guestpass/internal/sandbox"
)

func myRequests(on string) string {
	return "/identityGovernance/entitlementManagement/assignmentRequests/filterByCurrentUser(on='" + on + "')"
}

func TestRequestsFilterByCurrentUserApprover(t *testing.T) {
	clock := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	sb := newSandbox(t, sandbox.Options{Now: func() time.Time { return clock }})
	app := appAPI(t, sb)
	// Package A: Megan decides stage 1, the Partner approvers group (Megan, Isaiah, Lynne) stage 2.
	a := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan)), stage(groupMembers(sandbox.GroupApprovers))))
	// Package B: only Isaiah decides.
	b := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserIsaiah))))

	submit := func(email, pkg string) string {
		t.Helper()
		id, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: email, AccessPackageID: pkg, Justification: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	r1 := submit("nestorw@contoso.com", a.packageID)
	r2 := submit("diegos@contoso.com", a.packageID)
	r3 := submit("johannal@contoso.com", b.packageID)
	r4 := submit("pradeepg@contoso.com", a.packageID)
	// r2 is denied: no longer pending, so nobody's to decide.
	if err := sb.DecideAs(sandbox.UserMegan, r2, "Deny", "no"); err != nil {
		t.Fatal(err)
	}
	// r4 moves to stage 2: Megan approved stage 1, and is an approver of stage 2 too (group).
	if err := sb.DecideAs(sandbox.UserMegan, r4, "Approve", "ok"); err != nil {
		t.Fatal(err)
	}

	mine := func(oid string, query string) []string {
		t.Helper()
		items, _ := userAPI(t, sb, oid).all(myRequests("approver") + query)
		got := ids(items)
		slices.Sort(got)
		return got
	}
	sorted := func(xs ...string) []string { slices.Sort(xs); return xs }
	tests := []struct {
		name, oid string
		want      []string
	}{
		{"stage-1 approver and stage-2 group member", sandbox.UserMegan, sorted(r1, r4)},
		{"single approver of another package, stage-2 group member", sandbox.UserIsaiah, sorted(r3, r4)},
		{"nested group member, stage 2 only", sandbox.UserLynne, sorted(r4)},
		{"not an approver", sandbox.UserPatti, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mine(tt.oid, ""); !slices.Equal(got, tt.want) {
				t.Fatalf("approver requests of %s = %v, want %v", tt.oid, got, tt.want)
			}
		})
	}

	t.Run("filter and expand as on the collection", func(t *testing.T) {
		megan := userAPI(t, sb, sandbox.UserMegan)
		body := megan.must(200, "GET", myRequests("approver")+"?$expand="+q("requestor($expand=connectedOrganization),accessPackage")+
			"&$filter="+q("status eq 'PendingApproval'"), nil)
		items := body["value"].([]any)
		if len(items) != 2 {
			t.Fatalf("filtered = %v", items)
		}
		for _, it := range items {
			m := it.(map[string]any)
			req, _ := m["requestor"].(map[string]any)
			org, _ := req["connectedOrganization"].(map[string]any)
			ap, _ := m["accessPackage"].(map[string]any)
			if m["state"] != "pendingApproval" || req["email"] == nil || org["id"] != sandbox.ContosoConnectedOrgID || ap["id"] != a.packageID {
				t.Fatalf("expanded request = %v", m)
			}
		}
		if got := mine(sandbox.UserMegan, "?$filter="+q("status eq 'Delivered'")); len(got) != 0 {
			t.Fatalf("status filter ignored: %v", got)
		}
	})

	t.Run("escalation approvers once escalation is due", func(t *testing.T) {
		c := stage(singleUser(sandbox.UserAdele))
		c["isEscalationEnabled"] = true
		c["durationBeforeEscalation"] = "P1D"
		c["escalationApprovers"] = []any{singleUser(sandbox.UserPatti)}
		d := provision(t, app, contosoPolicy(c))
		r5 := submit("lidiah@contoso.com", d.packageID)
		if got := mine(sandbox.UserPatti, ""); len(got) != 0 {
			t.Fatalf("escalation approver before escalation: %v", got)
		}
		clock = clock.Add(25 * time.Hour)
		if got := mine(sandbox.UserPatti, ""); !slices.Equal(got, []string{r5}) {
			t.Fatalf("escalation approver after escalation: %v", got)
		}
	})
}

func TestRequestsFilterByCurrentUserRefusals(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	d := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan))))
	if _, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "nestorw@contoso.com", AccessPackageID: d.packageID, Justification: "x"}); err != nil {
		t.Fatal(err)
	}
	// Application permissions are not supported by this function (Graph v1.0 permissions table).
	r := app.do("GET", myRequests("approver"), nil)
	if r.status != 403 || errCode(r) == "" {
		t.Fatalf("app-only: HTTP %d %s", r.status, r.raw)
	}
	megan := userAPI(t, sb, sandbox.UserMegan)
	if r := megan.do("GET", myRequests("everyone"), nil); r.status != 400 {
		t.Fatalf("on='everyone': HTTP %d %s", r.status, r.raw)
	}
	if r := megan.do("GET", myRequests("approver")+"?$expand=catalog", nil); r.status != 400 {
		t.Fatalf("unknown $expand: HTTP %d %s", r.status, r.raw)
	}
}

func TestRequestsFilterByCurrentUserTargetAndCreatedBy(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := appAPI(t, sb)
	d := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan))))
	id, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "nestorw@contoso.com", AccessPackageID: d.packageID, Justification: "x"})
	if err != nil {
		t.Fatal(err)
	}
	nestor := userAPI(t, sb, sandbox.GuestNestor)
	for _, on := range []string{"target", "createdBy"} {
		if items, _ := nestor.all(myRequests(on)); !slices.Equal(ids(items), []string{id}) {
			t.Errorf("on=%s for the guest = %v, want [%s]", on, ids(items), id)
		}
	}
	megan := userAPI(t, sb, sandbox.UserMegan)
	for _, on := range []string{"target", "createdBy"} {
		if items, _ := megan.all(myRequests(on)); len(items) != 0 {
			t.Errorf("on=%s for the approver = %v, want none", on, ids(items))
		}
	}
}
