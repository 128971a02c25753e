package entitlement_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"guestpass/internal/entitlement"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

func TestMyPendingApprovals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.create(t, oneStage("Mine A")) // the Partner approvers group: Megan, Isaiah, Lynne
	bsc := oneStage("Mine B")
	bsc.Approval.Stages[0].Approvers = []entitlement.Approver{{Kind: entitlement.ApproverUser, ID: sandbox.UserAdele}}
	b := e.create(t, bsc)
	r1 := e.request(t, a, "first@fabrikam.com")
	r2 := e.request(t, a, "second@fabrikam.com")
	r3 := e.request(t, b, "third@fabrikam.com")

	e.reset()
	got, err := e.svc.MyPendingApprovals(ctx, e.as(sandbox.UserMegan), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 2 || len(got.Items) != 2 || got.Items[0].Request.ID != r1 || got.Items[1].Request.ID != r2 {
		t.Fatalf("Megan's approvals = %+v, want %s then %s (not %s)", got, r1, r2, r3)
	}
	for _, it := range got.Items {
		r := it.Request
		switch {
		case it.Stage != 1:
			t.Errorf("%s: stage %d, want 1", r.ID, it.Stage)
		case r.ScenarioID != a.ID || r.StageCount != 1 || r.DurationDays != a.DurationDays || r.AccessPackage != "Mine A":
			t.Errorf("%s: scenario details missing: %+v", r.ID, r)
		case r.AutoDenyAt.IsZero() || r.CreatedAt.IsZero() || r.State != entitlement.RequestPendingApproval:
			t.Errorf("%s: dates or state missing: %+v", r.ID, r)
		case r.Requestor.Organisation != "Fabrikam" || !strings.HasSuffix(r.Requestor.Email, "@fabrikam.com") || r.Justification == "":
			t.Errorf("%s: requestor or justification missing: %+v", r.ID, r)
		}
	}
	// One list call with the documented function, filter and expansion, then one stage read per
	// listed request; all delegated.
	var list []captured
	for _, c := range e.graphCalls() {
		if strings.Contains(c.Path, "filterByCurrentUser") {
			list = append(list, c)
		}
	}
	if len(list) != 1 || !strings.HasSuffix(list[0].Path, "/identityGovernance/entitlementManagement/assignmentRequests/filterByCurrentUser(on='approver')") ||
		!strings.Contains(list[0].Query, "$filter=status eq 'PendingApproval'") || !strings.Contains(list[0].Query, "requestor($expand=connectedOrganization)") {
		t.Fatalf("list calls = %+v", list)
	}
	if n := e.counter.Count("MyPendingApprovals"); n != 3 {
		t.Errorf("Graph calls = %d, want 3 (list + 2 stage reads)", n)
	}

	t.Run("limit keeps the oldest and counts the rest", func(t *testing.T) {
		got, err := e.svc.MyPendingApprovals(ctx, e.as(sandbox.UserIsaiah), 1)
		if err != nil || got.Total != 2 || len(got.Items) != 1 || got.Items[0].Request.ID != r1 {
			t.Fatalf("limit 1 = %+v, %v", got, err)
		}
	})
	t.Run("another package's approver", func(t *testing.T) {
		got, err := e.svc.MyPendingApprovals(ctx, e.as(sandbox.UserAdele), 10)
		if err != nil || got.Total != 1 || got.Items[0].Request.ID != r3 {
			t.Fatalf("Adele = %+v, %v", got, err)
		}
	})
	t.Run("not an approver", func(t *testing.T) {
		got, err := e.svc.MyPendingApprovals(ctx, e.as(sandbox.UserPatti), 10)
		if err != nil || got.Total != 0 || len(got.Items) != 0 {
			t.Fatalf("Patti = %+v, %v", got, err)
		}
	})
	t.Run("decided requests leave the list", func(t *testing.T) {
		if _, err := e.svc.Decide(ctx, e.as(sandbox.UserMegan), r1, false, "Unknown partner"); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.MyPendingApprovals(ctx, e.as(sandbox.UserLynne), 10)
		if err != nil || got.Total != 1 || got.Items[0].Request.ID != r2 {
			t.Fatalf("Lynne after the denial = %+v, %v", got, err)
		}
	})
	t.Run("packages guestpass does not manage are listed without scenario details", func(t *testing.T) {
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "empty.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		stranger := newEnvSharing(t, e, func(o *entitlement.ServiceOptions) { o.Store = st })
		got, err := stranger.svc.MyPendingApprovals(ctx, e.as(sandbox.UserAdele), 10)
		if err != nil || got.Total != 1 {
			t.Fatalf("stranger = %+v, %v", got, err)
		}
		if r := got.Items[0].Request; r.ScenarioID != "" || r.AccessPackage != "Mine B" || !r.AutoDenyAt.IsZero() || got.Items[0].Stage != 1 {
			t.Fatalf("unmanaged request = %+v stage %d", r, got.Items[0].Stage)
		}
	})
}

func TestMyPendingApprovalsRefusals(t *testing.T) {
	e := newEnv(t, func(o *entitlement.ServiceOptions) { o.DelegatedClient = nil })
	ctx := context.Background()
	if _, err := e.svc.MyPendingApprovals(ctx, e.as(sandbox.UserMegan), 10); !errors.Is(err, entitlement.ErrNoDelegation) {
		t.Fatalf("without delegation: %v", err)
	}
	for _, limit := range []int{0, -1, entitlement.MaxMyApprovals + 1} {
		var ve *entitlement.ValidationError
		if _, err := e.svc.MyPendingApprovals(ctx, e.as(sandbox.UserMegan), limit); !errors.As(err, &ve) || ve.Field != "limit" {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
	if n := len(e.graphCalls()); n != 0 {
		t.Errorf("%d Graph calls; the app-only client must never serve this", n)
	}
}
