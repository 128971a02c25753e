package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"guestpass/internal/sandbox"
)

const (
	routeCatalogs = "GET /v1.0/identityGovernance/entitlementManagement/catalogs"
	routeStage    = "PATCH /v1.0/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/{id}/stages/{sid}"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSDKCreateCatalogAndPageThroughCatalogs(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	client := graphClient(t, sb, appCredential(t, sb))
	em := client.IdentityGovernance().EntitlementManagement()
	want := map[string]bool{}
	for i := range 5 {
		c := models.NewAccessPackageCatalog()
		name := fmt.Sprintf("Guests 'quoted' ünïcode %d", i)
		c.SetDisplayName(&name)
		ext := true
		c.SetIsExternallyVisible(&ext)
		state := models.PUBLISHED_ACCESSPACKAGECATALOGSTATE
		c.SetState(&state)
		created, err := em.Catalogs().Post(ctx(t), c, nil)
		if err != nil {
			t.Fatalf("create catalog: %v", err)
		}
		if created.GetId() == nil || *created.GetDisplayName() != name || !*created.GetIsExternallyVisible() ||
			*created.GetCatalogType() != models.USERMANAGED_ACCESSPACKAGECATALOGTYPE {
			t.Fatalf("created catalog = %+v", created)
		}
		want[*created.GetId()] = true
	}
	sb.ResetCalls()
	page, err := em.Catalogs().Get(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	it, err := msgraphcore.NewPageIterator[models.AccessPackageCatalogable](page, client.GetAdapter(),
		models.CreateAccessPackageCatalogCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	if err := it.Iterate(ctx(t), func(c models.AccessPackageCatalogable) bool {
		got[*c.GetId()] = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || len(want) != 5 {
		t.Fatalf("iterated %d catalogs, want 5", len(got))
	}
	for id := range want {
		if !got[id] {
			t.Errorf("catalog %s missing from the pages", id)
		}
	}
	if n := sb.Calls()[routeCatalogs]; n != 3 {
		t.Errorf("list catalogs took %d calls, want 3 pages of 2", n)
	}

	// A filter with an escaped quote finds exactly one catalog.
	f := "displayName eq 'Guests ''quoted'' ünïcode 3'"
	res, err := em.Catalogs().Get(ctx(t), &igov.EntitlementManagementCatalogsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementCatalogsRequestBuilderGetQueryParameters{Filter: &f},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetValue()) != 1 || *res.GetValue()[0].GetDisplayName() != "Guests 'quoted' ünïcode 3" {
		t.Fatalf("filtered catalogs = %d", len(res.GetValue()))
	}
}

func odataStatus(t *testing.T, err error) (int, string) {
	t.Helper()
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not an ODataError", err, err)
	}
	code := ""
	if e := oe.GetErrorEscaped(); e != nil && e.GetCode() != nil {
		code = *e.GetCode()
		if e.GetInnerError() == nil || e.GetInnerError().GetRequestId() == nil || *e.GetInnerError().GetRequestId() == "" {
			t.Errorf("error %s has no innerError.request-id", code)
		}
	}
	return oe.ResponseStatusCode, code
}

func TestSDKApprovalDecisionsAsDifferentUsers(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	app := newAPI(t, sb, token(t, appCredential(t, sb)))
	d := provision(t, app, contosoPolicy(stage(singleUser(sandbox.UserMegan), singleUser(sandbox.UserAdele))))
	reqID, err := sb.SubmitGuestRequest(sandbox.GuestRequest{GuestEmail: "diegos@contoso.com", AccessPackageID: d.packageID, Justification: "Project X kickoff"})
	if err != nil {
		t.Fatal(err)
	}

	// The approver reads the stages with her delegated token and finds the one assigned to her.
	megan := graphClient(t, sb, oboCredential(t, sb, sandbox.UserMegan))
	approvals := megan.IdentityGovernance().EntitlementManagement().AccessPackageAssignmentApprovals()
	stages, err := approvals.ByApprovalId(reqID).Stages().Get(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages.GetValue()) != 1 || !*stages.GetValue()[0].GetAssignedToMe() || *stages.GetValue()[0].GetStatus() != "InProgress" {
		t.Fatalf("stages = %+v", stages.GetValue())
	}
	stageID := *stages.GetValue()[0].GetId()
	decision := func(result, why string) models.ApprovalStageable {
		s := models.NewApprovalStage()
		s.SetReviewResult(&result)
		s.SetJustification(&why)
		return s
	}

	// Not an approver of the stage: 403.
	isaiah := graphClient(t, sb, oboCredential(t, sb, sandbox.UserIsaiah))
	_, err = isaiah.IdentityGovernance().EntitlementManagement().AccessPackageAssignmentApprovals().ByApprovalId(reqID).
		Stages().ByApprovalStageId(stageID).Patch(ctx(t), decision("Approve", "ok"), nil)
	if status, _ := odataStatus(t, err); status != http.StatusForbidden {
		t.Fatalf("non-approver PATCH: status %d, want 403", status)
	}
	// App-only tokens cannot decide (nor read) approvals: 403.
	appClient := graphClient(t, sb, appCredential(t, sb))
	_, err = appClient.IdentityGovernance().EntitlementManagement().AccessPackageAssignmentApprovals().ByApprovalId(reqID).
		Stages().ByApprovalStageId(stageID).Patch(ctx(t), decision("Approve", "ok"), nil)
	if status, code := odataStatus(t, err); status != http.StatusForbidden || code != "Authorization_RequestDenied" {
		t.Fatalf("app-only PATCH: %d %s, want 403 Authorization_RequestDenied", status, code)
	}
	if _, err := appClient.IdentityGovernance().EntitlementManagement().AccessPackageAssignmentApprovals().ByApprovalId(reqID).Get(ctx(t), nil); err == nil {
		t.Fatal("app-only GET approval succeeded, want 403")
	}

	// The approver decides: 204, and a second decision conflicts: 409.
	sb.ResetCalls()
	if _, err := approvals.ByApprovalId(reqID).Stages().ByApprovalStageId(stageID).Patch(ctx(t), decision("Approve", "Partner confirmed"), nil); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if n := sb.Calls()[routeStage]; n != 1 {
		t.Errorf("approval took %d PATCH calls, want 1", n)
	}
	adele := graphClient(t, sb, oboCredential(t, sb, sandbox.UserAdele))
	_, err = adele.IdentityGovernance().EntitlementManagement().AccessPackageAssignmentApprovals().ByApprovalId(reqID).
		Stages().ByApprovalStageId(stageID).Patch(ctx(t), decision("Deny", "too late"), nil)
	if status, _ := odataStatus(t, err); status != http.StatusConflict {
		t.Fatalf("second decision: status %d, want 409", status)
	}

	// App-only detection sees the request delivered, with an assignment expiring per the policy.
	req, err := appClient.IdentityGovernance().EntitlementManagement().AssignmentRequests().ByAccessPackageAssignmentRequestId(reqID).Get(ctx(t),
		&igov.EntitlementManagementAssignmentRequestsAccessPackageAssignmentRequestItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &igov.EntitlementManagementAssignmentRequestsAccessPackageAssignmentRequestItemRequestBuilderGetQueryParameters{
				Expand: []string{"assignment", "requestor", "accessPackage"},
			},
		})
	if err != nil {
		t.Fatal(err)
	}
	if *req.GetState() != models.DELIVERED_ACCESSPACKAGEREQUESTSTATE || *req.GetRequestor().GetEmail() != "diegos@contoso.com" ||
		*req.GetAccessPackage().GetId() != d.packageID {
		t.Fatalf("request = state %v requestor %v", req.GetState(), req.GetRequestor().GetEmail())
	}
	a := req.GetAssignment()
	end := a.GetSchedule().GetExpiration().GetEndDateTime()
	if *a.GetState() != models.DELIVERED_ACCESSPACKAGEASSIGNMENTSTATE || end == nil ||
		end.Sub(*a.GetSchedule().GetStartDateTime()) != 90*24*time.Hour {
		t.Fatalf("assignment state %v schedule end %v", a.GetState(), end)
	}
}

func TestSDKRetriesThrottledCall(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	client := graphClient(t, sb, appCredential(t, sb))
	sb.ThrottleNext(routeCatalogs, 1)
	sb.ResetCalls()
	if _, err := client.IdentityGovernance().EntitlementManagement().Catalogs().Get(ctx(t), nil); err != nil {
		t.Fatalf("throttled then retried: %v", err)
	}
	if n := sb.Calls()[routeCatalogs]; n != 2 {
		t.Fatalf("calls = %d, want 2 (429, then success)", n)
	}
}
