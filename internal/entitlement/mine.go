package entitlement

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/graph"
)

// MaxMyApprovals bounds the limit of MyPendingApprovals: each listed request costs one more
// delegated read (its stages), and the list is answered inside a card click.
const MaxMyApprovals = 25

// myStageReaders is how many stage reads run at once for one list.
const myStageReaders = 4

// MyApproval is a request waiting for the signed-in approver's decision.
type MyApproval struct {
	Request Request
	// Stage is the 1-based stage waiting for the approver, read as the approver; 0 when the
	// stages could not be read.
	Stage int
}

// MyApprovals is the start of the signed-in approver's pending requests, oldest first.
type MyApprovals struct {
	Items []MyApproval
	// Total counts every request waiting for the approver; Items holds the first limit of them.
	Total int
}

// MyPendingApprovals lists the requests waiting for a decision of the user behind cred, on any
// access package (guestpass scenario or not), with the scenario details toRequest adds for the
// ones guestpass manages. It calls filterByCurrentUser(on='approver'), which Graph serves only
// with a delegated token (application permissions are not supported), so it never falls back to
// the app-only client. The oldest limit requests (1..MaxMyApprovals) get their current stage
// read as the approver.
func (s *Service) MyPendingApprovals(ctx context.Context, cred azcore.TokenCredential, limit int) (MyApprovals, error) {
	ctx = op(ctx, "MyPendingApprovals")
	if limit < 1 || limit > MaxMyApprovals {
		return MyApprovals{}, &ValidationError{Field: "limit", Message: "must be between 1 and " + strconv.Itoa(MaxMyApprovals)}
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return MyApprovals{}, err
	}
	filter := graph.EqFilter("status", "PendingApproval")
	page, err := nonEmpty(c.IdentityGovernance().EntitlementManagement().AssignmentRequests().FilterByCurrentUserWithOn(ptr("approver")).
		GetAsFilterByCurrentUserWithOnGetResponse(ctx, &igov.EntitlementManagementAssignmentRequestsFilterByCurrentUserWithOnRequestBuilderGetRequestConfiguration{
			QueryParameters: &igov.EntitlementManagementAssignmentRequestsFilterByCurrentUserWithOnRequestBuilderGetQueryParameters{
				Filter: &filter, Expand: requestExpand,
			},
		}))
	if err != nil {
		return MyApprovals{}, graph.Wrap("list my pending approvals", err)
	}
	scenarios := map[string]*Scenario{} // access package id -> scenario (nil: not guestpass's)
	var all []Request
	err = graph.Each(ctx, c, "list my pending approvals", page,
		igov.CreateEntitlementManagementAssignmentRequestsFilterByCurrentUserWithOnGetResponseFromDiscriminatorValue,
		func(r models.AccessPackageAssignmentRequestable) error {
			if st := r.GetState(); st != nil && !strings.EqualFold(st.String(), string(RequestPendingApproval)) {
				return nil // the function's contract is "pending"; keep the list honest regardless
			}
			pkgID := ""
			if ap := r.GetAccessPackage(); ap != nil {
				pkgID = deref(ap.GetId())
			}
			sc, seen := scenarios[pkgID]
			if !seen && pkgID != "" {
				found, ok, err := s.scenarioForPackage(ctx, pkgID)
				if err != nil {
					return err
				}
				if ok {
					sc = &found
				}
				scenarios[pkgID] = sc
			}
			all = append(all, toRequest(r, sc))
			return nil
		})
	if err != nil {
		return MyApprovals{}, err
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.Before(all[j].CreatedAt) })
	out := MyApprovals{Total: len(all)}
	for _, r := range all[:min(limit, len(all))] {
		out.Items = append(out.Items, MyApproval{Request: r})
	}

	// The stage line is read as the approver (stages are not readable app-only). A failed read
	// leaves the stage unknown rather than failing the list: the decision click reads them again.
	sem := make(chan struct{}, myStageReaders)
	var wg sync.WaitGroup
	for i := range out.Items {
		wg.Add(1)
		sem <- struct{}{}
		go func(it *MyApproval) {
			defer func() { <-sem; wg.Done() }()
			stages, err := readStages(ctx, c, it.Request.ID)
			if err != nil {
				s.log.WarnContext(ctx, "reading the stages of a pending approval failed", "request_id", it.Request.ID, "error", err)
				return
			}
			it.Stage = currentStageOf(stages)
		}(&out.Items[i])
	}
	wg.Wait()
	for i := range out.Items {
		if out.Items[i].Stage != 1 {
			// toRequest's automatic denial is the first stage's (stages do not say when they
			// started), so it is only shown for a request still in its first stage.
			out.Items[i].Request.AutoDenyAt = time.Time{}
		}
	}
	return out, nil
}

// currentStageOf is the number of the stage in progress, preferring the one assigned to the
// caller; 0 when none is in progress.
func currentStageOf(stages []ApprovalStageInfo) int {
	n := 0
	for _, st := range stages {
		if strings.EqualFold(st.Status, "InProgress") {
			if st.AssignedToMe {
				return st.Number
			}
			if n == 0 {
				n = st.Number
			}
		}
	}
	return n
}
