package entitlement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/graph"
)

// ErrAssignmentNotActive reports that an assignment to extend is no longer delivered (it expired,
// was removed, or is still being delivered).
var ErrAssignmentNotActive = errors.New("the assignment is not active")

// Extension is the outcome of ExtendAssignment.
type Extension struct {
	// RequestID is the adminUpdate request Entra recorded; GraphRequestID is the request-id of the
	// POST, for the audit log.
	RequestID      string
	GraphRequestID string
	// PreviousEnd is the end the assignment had; ExpiresAt the end it has now.
	PreviousEnd time.Time
	ExpiresAt   time.Time
}

// ExtendAssignment moves an active assignment's end to until with the caller's delegated right
// (an adminUpdate request whose schedule carries the new expiration), so Entra checks that the
// sponsor may manage the package's assignments (access package assignment manager, catalog owner,
// …) and records them as the actor. Never app-only: the bot must not extend access on anyone's
// behalf with its own permission.
//
// It reads the assignment first, as the same user, to keep its start and to refuse an assignment
// that has already ended. Errors: ErrForbidden (Entra refused the user), ErrNotFound,
// ErrAssignmentNotActive, or a *ValidationError (bad id, until not after the current end).
func (s *Service) ExtendAssignment(ctx context.Context, cred azcore.TokenCredential, assignmentID string, until time.Time) (Extension, error) {
	ctx = op(ctx, "ExtendAssignment")
	var v validator
	if !ValidEntityID(assignmentID) {
		v.add("assignmentId", "is not an assignment id")
	}
	now := s.now()
	if !until.After(now) {
		v.add("until", "must be in the future")
	}
	if err := v.err(); err != nil {
		return Extension{}, err
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return Extension{}, err
	}
	em := c.IdentityGovernance().EntitlementManagement()
	cur, err := nonEmpty(em.Assignments().ByAccessPackageAssignmentId(assignmentID).Get(ctx, nil))
	if err != nil {
		return Extension{}, extendError(assignmentID, "read assignment", err)
	}
	a := toAssignment(cur)
	if !strings.EqualFold(a.State, "delivered") {
		return Extension{}, fmt.Errorf("extend assignment %s (%s): %w", assignmentID, a.State, ErrAssignmentNotActive)
	}
	if !a.ExpiresAt.IsZero() && !until.After(a.ExpiresAt) {
		return Extension{}, &ValidationError{Field: "until", Message: "is not after the assignment's current end " + a.ExpiresAt.Format(time.RFC3339)}
	}
	start := a.StartsAt
	if start.IsZero() {
		start = now
	}
	until = until.UTC().Truncate(time.Second)

	req := models.NewAccessPackageAssignmentRequest()
	req.SetRequestType(ptr(models.ADMINUPDATE_ACCESSPACKAGEREQUESTTYPE))
	asg := models.NewAccessPackageAssignment()
	asg.SetId(ptr(assignmentID))
	req.SetAssignment(asg)
	// The new schedule is the request's own schedule (entitlementManagementSchedule); the
	// assignment that results takes it. afterDateTime names the end exactly.
	sch := models.NewEntitlementManagementSchedule()
	sch.SetStartDateTime(&start)
	exp := models.NewExpirationPattern()
	exp.SetEndDateTime(&until)
	exp.SetTypeEscaped(ptr(models.AFTERDATETIME_EXPIRATIONPATTERNTYPE))
	sch.SetExpiration(exp)
	req.SetSchedule(sch)

	inspect := khttp.NewHeadersInspectionOptions()
	inspect.InspectResponseHeaders = true
	created, err := nonEmpty(em.AssignmentRequests().Post(ctx, req, &igov.EntitlementManagementAssignmentRequestsRequestBuilderPostRequestConfiguration{
		Options: []abs.RequestOption{inspect},
	}))
	if err != nil {
		return Extension{}, extendError(assignmentID, "extend assignment", err)
	}
	out := Extension{RequestID: deref(created.GetId()), PreviousEnd: a.ExpiresAt, ExpiresAt: until}
	if h := inspect.GetResponseHeaders(); h != nil {
		if v := h.Get("request-id"); len(v) > 0 {
			out.GraphRequestID = v[0]
		}
	}
	s.log.InfoContext(ctx, "assignment extended", "assignment_id", assignmentID, "until", until,
		"request_id", out.RequestID, "graph_request_id", out.GraphRequestID)
	return out, nil
}

// extendError maps a Graph failure of ExtendAssignment to the package's error kinds, keeping the
// *graph.Error (and its request id) in the chain.
func extendError(assignmentID, what string, err error) error {
	switch {
	case graph.IsForbidden(err):
		return fmt.Errorf("extend assignment %s: %w: %w", assignmentID, ErrForbidden, graph.Wrap(what, err))
	case graph.IsNotFound(err):
		return fmt.Errorf("extend assignment %s: %w: %w", assignmentID, ErrNotFound, graph.Wrap(what, err))
	}
	return graph.Wrap(what, err)
}

// PackageRequests lists an access package's add requests (userAdd, adminAdd) created at or after
// since, newest first, read app-only with the requestor expanded. One call (plus pages) covers
// every guest of the package, so a follower that polls many guests makes O(packages) calls rather
// than one per guest, and sees a request that was submitted and decided between two polls. A zero
// since lists all of the package's requests.
func (s *Service) PackageRequests(ctx context.Context, accessPackageID string, since time.Time) ([]Request, error) {
	ctx = op(ctx, "PackageRequests")
	if !ValidEntityID(accessPackageID) {
		return nil, &ValidationError{Field: "accessPackageId", Message: "is not an access package id"}
	}
	clauses := []string{graph.EqFilter("accessPackage/id", accessPackageID)}
	if !since.IsZero() {
		// A DateTimeOffset literal is unquoted in OData; it comes from a time.Time, never from input.
		clauses = append(clauses, "createdDateTime ge "+since.UTC().Format(time.RFC3339))
	}
	var out []Request
	err := s.eachRequest(ctx, graph.And(clauses...), func(r models.AccessPackageAssignmentRequestable) error {
		req := toRequest(r, nil)
		if strings.EqualFold(req.RequestType, "userAdd") || strings.EqualFold(req.RequestType, "adminAdd") {
			out = append(out, req)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Newest first: a guest who withdrew and asked again is judged by the latest request.
	slices.SortStableFunc(out, func(a, b Request) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}
