package entitlement

import (
	"context"
	"fmt"
	"slices"
	"strings"

	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/graph"
)

// UpdateScenario applies a changed definition to an existing scenario: resources added or
// removed, partners, approval, duration, extension, questions and description. The policy is
// replaced as a whole (Graph's policy update is a PUT). The name cannot change: it is the access
// package's identity for idempotent provisioning.
func (s *Service) UpdateScenario(ctx context.Context, id string, next Scenario) (Scenario, error) {
	ctx = op(ctx, "UpdateScenario")
	cur, err := s.loadScenario(ctx, id)
	if err != nil {
		return Scenario{}, err
	}
	if next.Name == "" {
		next.Name = cur.Name
	}
	if next.OwnerOID == "" {
		next.OwnerOID = cur.OwnerOID
	}
	if err := ValidateScenario(next); err != nil {
		return Scenario{}, err
	}
	if next.Name != cur.Name {
		return Scenario{}, ValidationErrors{{Field: "name", Message: "a scenario cannot be renamed; create a new one"}}
	}
	switch {
	case cur.State == StateRetired:
		return Scenario{}, ValidationErrors{{Field: "state", Message: "the scenario is retired"}}
	case cur.AccessPackageID == "" || cur.PolicyID == "":
		return Scenario{}, ValidationErrors{{Field: "state", Message: "the scenario is not fully provisioned yet; create it again to finish"}}
	}
	unlock, err := s.lockName(ctx, cur.Name)
	if err != nil {
		return Scenario{}, err
	}
	defer unlock()

	next.ID, next.CreatedAt, next.State = cur.ID, cur.CreatedAt, cur.State
	next.CatalogID, next.AccessPackageID, next.PolicyID = cur.CatalogID, cur.AccessPackageID, cur.PolicyID
	for i := range next.Partners {
		for _, pp := range cur.Partners {
			if samePartner(next.Partners[i], pp) {
				if next.Partners[i].TenantID == "" {
					next.Partners[i].TenantID = pp.TenantID
				}
				next.Partners[i].ConnectedOrganizationID = pp.ConnectedOrganizationID
			}
		}
	}

	em := s.g.IdentityGovernance().EntitlementManagement()
	pkgID := cur.AccessPackageID
	pkg, err := nonEmpty(em.AccessPackages().ByAccessPackageId(pkgID).Get(ctx, &igov.EntitlementManagementAccessPackagesAccessPackageItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAccessPackagesAccessPackageItemRequestBuilderGetQueryParameters{
			Expand: []string{"resourceRoleScopes($expand=role,scope)"},
		},
	}))
	if err != nil {
		return Scenario{}, graph.Wrap("get access package", err)
	}
	if next.Description != cur.Description {
		patch := models.NewAccessPackage()
		patch.SetDescription(ptr(packageDescription(next)))
		if _, err := em.AccessPackages().ByAccessPackageId(pkgID).Patch(ctx, patch, nil); err != nil {
			return Scenario{}, graph.Wrap("update access package", err)
		}
	}
	// Role scopes: add new resources, remove the ones no longer wanted.
	catalog, err := s.ensureResources(ctx, cur.CatalogID, next.Resources)
	if err != nil {
		return Scenario{}, err
	}
	if err := s.ensureRoleScopes(ctx, pkg, next.Resources, catalog); err != nil {
		return Scenario{}, err
	}
	for _, rrs := range pkg.GetResourceRoleScopes() {
		roleOrigin := ""
		if ro := rrs.GetRole(); ro != nil {
			roleOrigin = deref(ro.GetOriginId())
		}
		scopeOrigin := ""
		if sc := rrs.GetScope(); sc != nil {
			scopeOrigin = deref(sc.GetOriginId())
		}
		keep := slices.ContainsFunc(next.Resources, func(r Resource) bool {
			return strings.EqualFold(r.Role.OriginID, roleOrigin) && (scopeOrigin == "" || strings.EqualFold(r.OriginID, scopeOrigin))
		})
		if !keep {
			if err := em.AccessPackages().ByAccessPackageId(pkgID).ResourceRoleScopes().ByAccessPackageResourceRoleScopeId(deref(rrs.GetId())).Delete(ctx, nil); err != nil && !graph.IsNotFound(err) {
				return Scenario{}, graph.Wrap("remove role "+roleOrigin, err)
			}
		}
	}
	for i := range next.Partners {
		if next.Partners[i].ConnectedOrganizationID == "" {
			if err := s.ensureConnectedOrg(ctx, &next.Partners[i], next.OwnerOID); err != nil {
				return Scenario{}, err
			}
		}
	}
	body, err := buildPolicy(next, pkgID, false)
	if err != nil {
		return Scenario{}, err
	}
	if _, err := em.AssignmentPolicies().ByAccessPackageAssignmentPolicyId(cur.PolicyID).Put(ctx, body, nil); err != nil {
		return Scenario{}, graph.Wrap("replace assignment policy", err)
	}
	next.State, next.LastError = StateActive, ""
	if err := s.save(ctx, next); err != nil {
		return Scenario{}, err
	}
	return s.loadScenario(ctx, next.ID)
}

// RetireScenario stops new requests for a scenario: the policy no longer lets targets request
// access (v1.0 has no acceptRequests switch on policies; enableTargetsToSelfAddAccess is it).
// Existing assignments are kept until they expire. Retiring twice is harmless.
func (s *Service) RetireScenario(ctx context.Context, id string) (Scenario, error) {
	ctx = op(ctx, "RetireScenario")
	sc, err := s.loadScenario(ctx, id)
	if err != nil {
		return Scenario{}, err
	}
	if sc.State == StateRetired {
		return sc, nil
	}
	if sc.PolicyID != "" && sc.AccessPackageID != "" {
		body, err := buildPolicy(sc, sc.AccessPackageID, true)
		if err != nil {
			return Scenario{}, err
		}
		if _, err := s.g.IdentityGovernance().EntitlementManagement().AssignmentPolicies().
			ByAccessPackageAssignmentPolicyId(sc.PolicyID).Put(ctx, body, nil); err != nil && !graph.IsNotFound(err) {
			return Scenario{}, graph.Wrap("retire assignment policy", err)
		}
	}
	sc.State = StateRetired
	if err := s.save(ctx, sc); err != nil {
		return Scenario{}, err
	}
	return s.loadScenario(ctx, sc.ID)
}

// GetScenario returns a scenario with its pending requests and active (delivered) assignments
// counted from Graph.
func (s *Service) GetScenario(ctx context.Context, id string) (ScenarioDetails, error) {
	ctx = op(ctx, "GetScenario")
	sc, err := s.loadScenario(ctx, id)
	if err != nil {
		return ScenarioDetails{}, err
	}
	d := ScenarioDetails{Scenario: sc}
	if sc.AccessPackageID == "" {
		return d, nil
	}
	em := s.g.IdentityGovernance().EntitlementManagement()
	rf := graph.And(graph.EqFilter("accessPackage/id", sc.AccessPackageID), graph.EqFilter("state", string(RequestPendingApproval)))
	reqs, err := nonEmpty(em.AssignmentRequests().Get(ctx, &igov.EntitlementManagementAssignmentRequestsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAssignmentRequestsRequestBuilderGetQueryParameters{Filter: &rf, Select: []string{"id"}},
	}))
	if err != nil {
		return d, graph.Wrap("count pending requests", err)
	}
	if err := graph.Each(ctx, s.g, "count pending requests", reqs, models.CreateAccessPackageAssignmentRequestCollectionResponseFromDiscriminatorValue,
		func(models.AccessPackageAssignmentRequestable) error { d.PendingRequests++; return nil }); err != nil {
		return d, err
	}
	af := graph.And(graph.EqFilter("accessPackage/id", sc.AccessPackageID), graph.EqFilter("state", "delivered"))
	asg, err := nonEmpty(em.Assignments().Get(ctx, &igov.EntitlementManagementAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAssignmentsRequestBuilderGetQueryParameters{Filter: &af, Select: []string{"id"}},
	}))
	if err != nil {
		return d, graph.Wrap("count assignments", err)
	}
	if err := graph.Each(ctx, s.g, "count assignments", asg, models.CreateAccessPackageAssignmentCollectionResponseFromDiscriminatorValue,
		func(models.AccessPackageAssignmentable) error { d.ActiveAssignments++; return nil }); err != nil {
		return d, err
	}
	return d, nil
}

// scenarioForPackage returns the guestpass scenario of an access package, or ok=false when
// guestpass does not manage it.
func (s *Service) scenarioForPackage(ctx context.Context, accessPackageID string) (Scenario, bool, error) {
	rec, err := s.store.ScenarioByAccessPackage(ctx, accessPackageID)
	if err != nil {
		if isStoreNotFound(err) {
			return Scenario{}, false, nil
		}
		return Scenario{}, false, fmt.Errorf("entitlement: scenario of access package %s: %w", accessPackageID, err)
	}
	sc, err := s.fromRecord(rec)
	return sc, err == nil, err
}
