package entitlement

import (
	"context"
	"errors"
	"fmt"
	"time"

	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/graph"
	"guestpass/internal/store"
)

func isStoreNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// requestExpand is what an approval card needs with each request.
var requestExpand = []string{"requestor($expand=connectedOrganization)", "accessPackage"}

// PendingRequests calls fn for every request awaiting approval on an access package guestpass
// manages (app-only; Graph pages are followed). Requests of other packages are skipped. In
// restricted mode the query is made per scenario of the configured catalog, as catalog-scoped
// roles require.
func (s *Service) PendingRequests(ctx context.Context, fn func(Request) error) error {
	ctx = op(ctx, "PendingRequests")
	scenarios := map[string]*Scenario{} // access package id -> scenario (nil: not ours)
	handle := func(r models.AccessPackageAssignmentRequestable) error {
		pkgID := ""
		if ap := r.GetAccessPackage(); ap != nil {
			pkgID = deref(ap.GetId())
		}
		sc, seen := scenarios[pkgID]
		if !seen {
			found, ok, err := s.scenarioForPackage(ctx, pkgID)
			if err != nil {
				return err
			}
			if ok {
				sc = &found
			}
			scenarios[pkgID] = sc
		}
		if sc == nil {
			return nil
		}
		return fn(toRequest(r, sc))
	}
	if !s.Restricted() {
		return s.eachRequest(ctx, graph.EqFilter("state", string(RequestPendingApproval)), handle)
	}
	list, err := s.ListScenarios(ctx, "")
	if err != nil {
		return err
	}
	for _, sc := range list {
		if sc.AccessPackageID == "" || !s.inCatalog(sc) {
			continue
		}
		scenarios[sc.AccessPackageID] = &sc
		f := graph.And(graph.EqFilter("accessPackage/id", sc.AccessPackageID), graph.EqFilter("state", string(RequestPendingApproval)))
		if err := s.eachRequest(ctx, f, handle); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) eachRequest(ctx context.Context, filter string, fn func(models.AccessPackageAssignmentRequestable) error) error {
	page, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().AssignmentRequests().Get(ctx,
		&igov.EntitlementManagementAssignmentRequestsRequestBuilderGetRequestConfiguration{
			QueryParameters: &igov.EntitlementManagementAssignmentRequestsRequestBuilderGetQueryParameters{
				Filter: &filter, Expand: requestExpand,
			},
		}))
	if err != nil {
		return graph.Wrap("list assignment requests", err)
	}
	return graph.Each(ctx, s.g, "list assignment requests", page,
		models.CreateAccessPackageAssignmentRequestCollectionResponseFromDiscriminatorValue, fn)
}

// RequestState reads one request app-only, to notice decisions made elsewhere (My Access, mail),
// automatic denial, cancellation or expiry.
func (s *Service) RequestState(ctx context.Context, requestID string) (Request, error) {
	ctx = op(ctx, "RequestState")
	if !ValidEntityID(requestID) {
		return Request{}, &ValidationError{Field: "requestId", Message: "is not a request id"}
	}
	r, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().AssignmentRequests().ByAccessPackageAssignmentRequestId(requestID).Get(ctx,
		&igov.EntitlementManagementAssignmentRequestsAccessPackageAssignmentRequestItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &igov.EntitlementManagementAssignmentRequestsAccessPackageAssignmentRequestItemRequestBuilderGetQueryParameters{
				Expand: requestExpand,
			},
		}))
	if err != nil {
		if graph.IsNotFound(err) {
			return Request{}, fmt.Errorf("request %s: %w", requestID, ErrNotFound)
		}
		return Request{}, graph.Wrap("get assignment request", err)
	}
	var sc *Scenario
	if ap := r.GetAccessPackage(); ap != nil {
		found, ok, err := s.scenarioForPackage(ctx, deref(ap.GetId()))
		if err != nil {
			return Request{}, err
		}
		if ok {
			sc = &found
		}
	}
	return toRequest(r, sc), nil
}

// toRequest maps a Graph request; sc (when guestpass manages the package) supplies the policy,
// duration, stage count and first-stage automatic denial.
func toRequest(r models.AccessPackageAssignmentRequestable, sc *Scenario) Request {
	out := Request{
		ID:            deref(r.GetId()),
		Status:        deref(r.GetStatus()),
		Justification: deref(r.GetJustification()),
	}
	if st := r.GetState(); st != nil {
		out.State = RequestState(st.String())
	}
	if rt := r.GetRequestType(); rt != nil {
		out.RequestType = rt.String()
	}
	if t := r.GetCreatedDateTime(); t != nil {
		out.CreatedAt = t.UTC()
	}
	if t := r.GetCompletedDateTime(); t != nil {
		out.CompletedAt = t.UTC()
	}
	if ap := r.GetAccessPackage(); ap != nil {
		out.AccessPackageID = deref(ap.GetId())
		out.AccessPackage = deref(ap.GetDisplayName())
	}
	if sub := r.GetRequestor(); sub != nil {
		out.Requestor = subjectPerson(sub)
	}
	for _, a := range r.GetAnswers() {
		ans := Answer{Value: deref(a.GetDisplayValue())}
		if s, ok := a.(*models.AccessPackageAnswerString); ok && ans.Value == "" {
			ans.Value = deref(s.GetValue())
		}
		if q := a.GetAnsweredQuestion(); q != nil {
			ans.Question = deref(q.GetText())
		}
		out.Answers = append(out.Answers, ans)
	}
	if sc != nil {
		out.ScenarioID, out.PolicyID = sc.ID, sc.PolicyID
		out.DurationDays = sc.DurationDays
		if sc.Approval.Required {
			out.StageCount = len(sc.Approval.Stages)
			if len(sc.Approval.Stages) > 0 && !out.CreatedAt.IsZero() {
				out.AutoDenyAt = out.CreatedAt.Add(time.Duration(sc.Approval.Stages[0].AutoDenyAfterDays) * 24 * time.Hour)
			}
		}
	}
	return out
}

// subjectPerson maps an accessPackageSubject (requestor or assignment target).
func subjectPerson(sub models.AccessPackageSubjectable) Person {
	p := Person{
		OID:         deref(sub.GetObjectId()),
		DisplayName: deref(sub.GetDisplayName()),
		Email:       deref(sub.GetEmail()),
	}
	if p.Email == "" {
		p.Email = deref(sub.GetPrincipalName())
	}
	if co := sub.GetConnectedOrganization(); co != nil {
		p.Organisation = deref(co.GetDisplayName())
		p.ConnectedOrganizationID = deref(co.GetId())
		p.External = true
	}
	return p
}

// Assignments lists assignments matching f (app-only), with their target. ExpiringWithin keeps
// delivered assignments whose schedule ends within that window from now. In restricted mode
// without f.AccessPackageID it lists the assignments of each of the configured catalog's access
// packages, since a catalog-scoped role cannot list assignments across packages.
func (s *Service) Assignments(ctx context.Context, f AssignmentFilter) ([]Assignment, error) {
	ctx = op(ctx, "Assignments")
	var v validator
	if f.AccessPackageID != "" && !ValidEntityID(f.AccessPackageID) {
		v.add("accessPackageId", "is not an access package id")
	}
	if f.TargetOID != "" && !ValidObjectID(f.TargetOID) {
		v.add("targetOid", "is not a directory object id")
	}
	if f.ExpiringWithin < 0 {
		v.add("expiringWithin", "must not be negative")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	packages := []string{f.AccessPackageID}
	if s.Restricted() && f.AccessPackageID == "" {
		// A catalog-scoped role reads assignments per access package only: list the configured
		// catalog's packages, then each one's assignments.
		ids, err := s.catalogPackageIDs(ctx)
		if err != nil {
			return nil, err
		}
		packages = ids
	}
	deadline := s.now().Add(f.ExpiringWithin)
	var out []Assignment
	for _, pkg := range packages {
		if err := s.listAssignments(ctx, pkg, f, deadline, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// listAssignments appends the assignments matching f, of access package pkg ("": all), to out.
func (s *Service) listAssignments(ctx context.Context, pkg string, f AssignmentFilter, deadline time.Time, out *[]Assignment) error {
	var clauses []string
	if pkg != "" {
		clauses = append(clauses, graph.EqFilter("accessPackage/id", pkg))
	}
	if f.TargetOID != "" {
		clauses = append(clauses, graph.EqFilter("target/objectId", f.TargetOID))
	}
	if f.ExpiringWithin > 0 {
		clauses = append(clauses, graph.EqFilter("state", "delivered"))
	}
	cfg := &igov.EntitlementManagementAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAssignmentsRequestBuilderGetQueryParameters{
			Expand: []string{"target($expand=connectedOrganization)", "accessPackage", "assignmentPolicy"},
		},
	}
	if filter := graph.And(clauses...); filter != "" {
		cfg.QueryParameters.Filter = &filter
	}
	page, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().Assignments().Get(ctx, cfg))
	if err != nil {
		return graph.Wrap("list assignments", err)
	}
	return graph.Each(ctx, s.g, "list assignments", page, models.CreateAccessPackageAssignmentCollectionResponseFromDiscriminatorValue,
		func(a models.AccessPackageAssignmentable) error {
			as := toAssignment(a)
			if f.ExpiringWithin > 0 && (as.ExpiresAt.IsZero() || as.ExpiresAt.After(deadline)) {
				return nil
			}
			*out = append(*out, as)
			return nil
		})
}

func toAssignment(a models.AccessPackageAssignmentable) Assignment {
	out := Assignment{ID: deref(a.GetId()), Status: deref(a.GetStatus())}
	if st := a.GetState(); st != nil {
		out.State = st.String()
	}
	if ap := a.GetAccessPackage(); ap != nil {
		out.AccessPackageID = deref(ap.GetId())
	}
	if p := a.GetAssignmentPolicy(); p != nil {
		out.PolicyID = deref(p.GetId())
	}
	if t := a.GetTarget(); t != nil {
		out.Target = subjectPerson(t)
	}
	if sch := a.GetSchedule(); sch != nil {
		if t := sch.GetStartDateTime(); t != nil {
			out.StartsAt = t.UTC()
		}
		if e := sch.GetExpiration(); e != nil {
			if t := e.GetEndDateTime(); t != nil {
				out.ExpiresAt = t.UTC()
			}
		}
	}
	if out.ExpiresAt.IsZero() {
		if t := a.GetExpiredDateTime(); t != nil {
			out.ExpiresAt = t.UTC()
		}
	}
	return out
}
