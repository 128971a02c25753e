package entitlement_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

// oneStage is a single-stage variant of the Fabrikam scenario: the "Partner approvers" group
// (Megan, Isaiah, and Lynne through the nested "Sales leads") decides.
func oneStage(name string) entitlement.Scenario {
	sc := fabrikamScenario()
	sc.Name = name
	sc.Approval.Stages = []entitlement.Stage{{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverGroup, ID: sandbox.GroupApprovers}}, AutoDenyAfterDays: 7}}
	return sc
}

func (e *env) create(t *testing.T, sc entitlement.Scenario) entitlement.Scenario {
	t.Helper()
	got, err := e.svc.CreateScenario(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *env) request(t *testing.T, sc entitlement.Scenario, guest string) string {
	t.Helper()
	pol, err := e.app.IdentityGovernance().EntitlementManagement().AssignmentPolicies().ByAccessPackageAssignmentPolicyId(sc.PolicyID).
		Get(graph.WithOperation(context.Background(), "test"), nil)
	if err != nil || len(pol.GetQuestions()) == 0 {
		t.Fatalf("policy questions: %v", err)
	}
	q := pol.GetQuestions()[0]
	id, err := e.sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: guest, AccessPackageID: sc.AccessPackageID,
		Justification: "Working with " + sc.Name, Answers: []any{
			map[string]any{"@odata.type": "#microsoft.graph.accessPackageAnswerString", "value": "Apollo", "displayValue": "Apollo",
				"answeredQuestion": map[string]any{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": *q.GetId(), "text": *q.GetText()}},
		}})
	if err != nil {
		t.Fatalf("guest request: %v", err)
	}
	return id
}

func (e *env) pending(t *testing.T) []entitlement.Request {
	t.Helper()
	var out []entitlement.Request
	if err := e.svc.PendingRequests(context.Background(), func(r entitlement.Request) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPendingRequestsPagesAndCarriesCardData(t *testing.T) {
	e := newEnv(t)
	sc := e.create(t, fabrikamScenario())
	var ids []string
	for i := range 5 {
		ids = append(ids, e.request(t, sc, fmt.Sprintf("guest%d@fabrikam.com", i)))
	}
	e.reset()
	got := e.pending(t)
	if len(got) != 5 {
		t.Fatalf("%d pending requests, want 5", len(got))
	}
	// The sandbox pages by 2: 5 requests are 3 pages, one Graph call each.
	if n := e.counter.Count("PendingRequests"); n != 3 {
		t.Errorf("PendingRequests made %d Graph calls for 3 pages, want 3", n)
	}
	var gotIDs []string
	for _, r := range got {
		gotIDs = append(gotIDs, r.ID)
	}
	slices.Sort(gotIDs)
	slices.Sort(ids)
	if !slices.Equal(gotIDs, ids) {
		t.Errorf("ids %v, want %v", gotIDs, ids)
	}
	r := got[0]
	if r.State != entitlement.RequestPendingApproval || r.ScenarioID != sc.ID || r.PolicyID != sc.PolicyID ||
		r.AccessPackageID != sc.AccessPackageID || r.AccessPackage != sc.Name || r.DurationDays != 90 || r.StageCount != 2 {
		t.Errorf("request = %+v", r)
	}
	if !strings.HasSuffix(r.Requestor.Email, "@fabrikam.com") || r.Requestor.OID == "" ||
		r.Requestor.ConnectedOrganizationID != sc.Partners[0].ConnectedOrganizationID || r.Requestor.Organisation != "Fabrikam" {
		t.Errorf("requestor = %+v", r.Requestor)
	}
	if r.Justification == "" || len(r.Answers) != 1 || r.Answers[0].Question != "Which project?" || r.Answers[0].Value != "Apollo" {
		t.Errorf("justification/answers = %q %+v", r.Justification, r.Answers)
	}
	if want := r.CreatedAt.Add(7 * 24 * time.Hour); !r.AutoDenyAt.Equal(want) {
		t.Errorf("auto-deny at %v, want %v", r.AutoDenyAt, want)
	}

	t.Run("429 then success", func(t *testing.T) {
		e.reset()
		e.sb.ThrottleNext("GET /v1.0/identityGovernance/entitlementManagement/assignmentRequests", 1)
		if got := e.pending(t); len(got) != 5 {
			t.Fatalf("%d requests after a throttled page", len(got))
		}
		if n := e.counter.Count("PendingRequests"); n != 4 {
			t.Errorf("%d calls, want 3 pages + 1 retry", n)
		}
	})

	t.Run("callback error stops", func(t *testing.T) {
		boom := errors.New("boom")
		n := 0
		err := e.svc.PendingRequests(context.Background(), func(entitlement.Request) error { n++; return boom })
		if !errors.Is(err, boom) || n != 1 {
			t.Errorf("err=%v after %d callbacks", err, n)
		}
	})

	t.Run("state changes are seen app-only", func(t *testing.T) {
		if err := e.sb.CancelRequest(ids[0]); err != nil {
			t.Fatal(err)
		}
		st, err := e.svc.RequestState(context.Background(), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if st.State != entitlement.RequestCanceled || !st.State.Final() || st.ScenarioID != sc.ID {
			t.Errorf("state %+v", st)
		}
		if _, err := e.svc.RequestState(context.Background(), "00000000-0000-0000-0000-00000000dead"); !errors.Is(err, entitlement.ErrNotFound) {
			t.Errorf("unknown request: %v", err)
		}
		if _, err := e.svc.RequestState(context.Background(), "x' or 1 eq 1"); !errors.Is(err, entitlement.ErrInvalid) {
			t.Errorf("hostile id: %v", err)
		}
	})
}

func TestPendingRequestsSkipsPackagesGuestpassDoesNotManage(t *testing.T) {
	e := newEnv(t)
	sc := e.create(t, oneStage("Ours"))
	e.request(t, sc, "a@fabrikam.com")
	if got := e.pending(t); len(got) != 1 {
		t.Fatalf("%d pending requests, want 1", len(got))
	}
	// The same tenant seen by a guestpass whose store knows no scenario.
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	stranger := newEnvSharing(t, e, func(o *entitlement.ServiceOptions) { o.Store = st })
	if got := stranger.pending(t); len(got) != 0 {
		t.Errorf("reported %d requests of packages guestpass does not manage", len(got))
	}
}

func TestDecideAsApprover(t *testing.T) {
	e := newEnv(t)
	sc := e.create(t, oneStage("Decide"))
	reqID := e.request(t, sc, "dana@fabrikam.com")
	ctx := context.Background()

	t.Run("non-approver", func(t *testing.T) {
		_, err := e.svc.Decide(ctx, e.as(sandbox.UserPatti), reqID, true, "")
		if !errors.Is(err, entitlement.ErrNotApprover) {
			t.Fatalf("err = %v, want ErrNotApprover", err)
		}
	})

	t.Run("deny needs a justification", func(t *testing.T) {
		e.reset()
		_, err := e.svc.Decide(ctx, e.as(sandbox.UserMegan), reqID, false, "  ")
		var ve entitlement.ValidationErrors
		if !errors.As(err, &ve) || ve[0].Field != "justification" {
			t.Fatalf("err = %v", err)
		}
		if len(e.graphCalls()) != 0 {
			t.Error("Graph called for invalid input")
		}
	})

	e.reset()
	d, err := e.svc.Decide(ctx, e.as(sandbox.UserMegan), reqID, true, "Known partner")
	if err != nil {
		t.Fatal(err)
	}
	if d.Stage != 1 || !d.Approved || d.RequestID != reqID || d.StageID == "" || d.GraphRequestID == "" || d.ClientRequestID == "" {
		t.Errorf("decision = %+v", d)
	}
	if n := e.counter.Count("Decide"); n != 2 {
		t.Errorf("one approval made %d Graph calls, want 2 (read stages, PATCH)", n)
	}
	patch := e.wire.bodies("PATCH", "/stages/"+d.StageID)
	if len(patch) != 1 {
		t.Fatalf("%d PATCHes", len(patch))
	}
	jsonEqual(t, "PATCH approvalStage", patch[0], `{"reviewResult":"Approve","justification":"Known partner"}`)
	st, err := e.svc.RequestState(ctx, reqID)
	if err != nil || st.State == entitlement.RequestPendingApproval {
		t.Errorf("request still pending after approval: %+v %v", st, err)
	}

	t.Run("second click", func(t *testing.T) {
		_, err := e.svc.Decide(ctx, e.as(sandbox.UserIsaiah), reqID, true, "")
		var ad *entitlement.AlreadyDecidedError
		if !errors.Is(err, entitlement.ErrAlreadyDecided) || !errors.As(err, &ad) {
			t.Fatalf("err = %v, want already decided", err)
		}
		if !strings.EqualFold(ad.ReviewResult, "Approved") || !strings.Contains(ad.ReviewedBy, "Megan") {
			t.Errorf("existing decision = %+v", ad)
		}
	})
}

func TestDecideRaceMapsConflict(t *testing.T) {
	e := newEnv(t)
	sc := e.create(t, oneStage("Race"))
	reqID := e.request(t, sc, "race@fabrikam.com")
	// Megan decides in My Access between Isaiah's read of the stages and his PATCH: Graph
	// answers Isaiah's PATCH with 409.
	e.wire.inject(&fault{method: "PATCH", pathSuffix: "", remaining: 1, before: func() {
		if err := e.sb.DecideAs(sandbox.UserMegan, reqID, "Deny", "Not expected"); err != nil {
			t.Errorf("DecideAs: %v", err)
		}
	}})
	_, err := e.svc.Decide(context.Background(), e.as(sandbox.UserIsaiah), reqID, true, "")
	var ad *entitlement.AlreadyDecidedError
	if !errors.As(err, &ad) {
		t.Fatalf("err = %v, want *AlreadyDecidedError", err)
	}
	if !strings.EqualFold(ad.ReviewResult, "Denied") || !strings.Contains(ad.ReviewedBy, "Megan") || ad.GraphRequestID == "" {
		t.Errorf("conflict = %+v", ad)
	}
	var sawConflict bool
	for _, c := range e.wire.calls() {
		sawConflict = sawConflict || (c.Method == "PATCH" && c.Status == 409)
	}
	if !sawConflict {
		t.Error("Graph never answered 409: the race was not exercised")
	}
}

func TestDecideNeverUsesAppOnly(t *testing.T) {
	e := newEnv(t, func(o *entitlement.ServiceOptions) { o.DelegatedClient = nil })
	sc := e.create(t, oneStage("No delegation"))
	reqID := e.request(t, sc, "x@fabrikam.com")
	e.reset()
	if _, err := e.svc.Decide(context.Background(), e.as(sandbox.UserMegan), reqID, true, ""); !errors.Is(err, entitlement.ErrNoDelegation) {
		t.Fatalf("err = %v", err)
	}
	if len(e.graphCalls()) != 0 {
		t.Error("Decide fell back to the app-only client")
	}
}

func TestDecideThreeStages(t *testing.T) {
	e := newEnv(t)
	sc := fabrikamScenario()
	sc.Name = "Three stages"
	sc.Approval.Stages = []entitlement.Stage{
		{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverUser, ID: sandbox.UserMegan}}, AutoDenyAfterDays: 3},
		{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverUser, ID: sandbox.UserIsaiah}}, AutoDenyAfterDays: 3},
		{Approvers: []entitlement.Approver{{Kind: entitlement.ApproverSponsor}}, AutoDenyAfterDays: 3},
	}
	sc = e.create(t, sc)
	reqID := e.request(t, sc, "three@fabrikam.com")
	ctx := context.Background()
	if _, err := e.svc.Decide(ctx, e.as(sandbox.UserIsaiah), reqID, true, ""); !errors.Is(err, entitlement.ErrNotApprover) {
		t.Fatalf("stage-2 approver deciding stage 1: %v", err)
	}
	for i, who := range []string{sandbox.UserMegan, sandbox.UserIsaiah, sandbox.UserAlex} {
		d, err := e.svc.Decide(ctx, e.as(who), reqID, true, "ok")
		if err != nil {
			t.Fatalf("stage %d: %v", i+1, err)
		}
		if d.Stage != i+1 {
			t.Errorf("decided stage %d, want %d", d.Stage, i+1)
		}
	}
	st, _ := e.svc.RequestState(ctx, reqID)
	if st.State == entitlement.RequestPendingApproval {
		t.Errorf("still pending after three approvals: %+v", st)
	}
	stages, err := e.svc.Stages(ctx, e.as(sandbox.UserAlex), reqID)
	if err != nil || len(stages) != 3 {
		t.Fatalf("stages = %+v, %v", stages, err)
	}
	for i, s := range stages {
		if s.Number != i+1 || !strings.EqualFold(s.ReviewResult, "Approved") || s.ReviewedBy == "" {
			t.Errorf("stage %d = %+v", i+1, s)
		}
	}
}
