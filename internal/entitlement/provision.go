package entitlement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/graph"
	"guestpass/internal/store"
)

// originSystem maps a resource kind to Graph's originSystem.
func originSystem(k ResourceKind) string {
	switch k {
	case ResourceSite:
		return "SharePointOnline"
	case ResourceApplication:
		return "AadApplication"
	default:
		return "AadGroup"
	}
}

// lockName serialises provisioning of one scenario name within this process (the store's unique
// name is the guard across replicas).
func (s *Service) lockName(ctx context.Context, name string) (func(), error) {
	return s.provisioning.Lock(ctx, strings.ToLower(name))
}

// CreateScenario provisions sc in Entra and records it. It is idempotent: calling it again with
// the same name (after a failure, or twice) completes what is missing and creates nothing twice.
// A name already used by another owner's scenario is a validation error.
func (s *Service) CreateScenario(ctx context.Context, sc Scenario) (Scenario, error) {
	ctx = op(ctx, "CreateScenario")
	if err := ValidateScenario(sc); err != nil {
		return Scenario{}, err
	}
	unlock, err := s.lockName(ctx, sc.Name)
	if err != nil {
		return Scenario{}, err
	}
	defer unlock()

	existing, err := s.store.ScenarioByName(ctx, s.tenantID, sc.Name)
	switch {
	case err == nil:
		if existing.OwnerOID != sc.OwnerOID && !slices.Contains(existing.CoOwnerOIDs, sc.OwnerOID) {
			return Scenario{}, ValidationErrors{{Field: "name", Message: "another sponsor's scenario already uses this name"}}
		}
		if existing.State == store.ScenarioRetired {
			return Scenario{}, ValidationErrors{{Field: "name", Message: "a retired scenario uses this name; choose another"}}
		}
		prev, derr := s.fromRecord(existing)
		if derr != nil {
			return Scenario{}, derr
		}
		sc.ID, sc.CreatedAt = existing.ID, existing.CreatedAt
		sc.CatalogID, sc.AccessPackageID, sc.PolicyID = prev.CatalogID, prev.AccessPackageID, prev.PolicyID
		// Keep partner ids learned by the earlier run (a domain's tenant id in particular).
		for i := range sc.Partners {
			for _, pp := range prev.Partners {
				if samePartner(sc.Partners[i], pp) {
					if sc.Partners[i].TenantID == "" {
						sc.Partners[i].TenantID = pp.TenantID
					}
					sc.Partners[i].ConnectedOrganizationID = pp.ConnectedOrganizationID
				}
			}
		}
	case errors.Is(err, store.ErrNotFound):
		sc.ID = newScenarioID()
	default:
		return Scenario{}, fmt.Errorf("entitlement: look up scenario %q: %w", sc.Name, err)
	}
	sc.State, sc.LastError = StateProvisioning, ""
	if err := s.save(ctx, sc); err != nil {
		return Scenario{}, err
	}
	out, perr := s.provision(ctx, sc)
	if perr != nil {
		out.State, out.LastError = StateFailed, perr.Error()
		if serr := s.save(context.WithoutCancel(ctx), out); serr != nil {
			s.log.ErrorContext(ctx, "recording failed provisioning", "scenario_id", sc.ID, "error", serr)
		}
		return out, fmt.Errorf("entitlement: create scenario %q: %w", sc.Name, perr)
	}
	out.State = StateActive
	if err := s.save(ctx, out); err != nil {
		return out, err
	}
	return s.loadScenario(ctx, out.ID)
}

func samePartner(a, b Partner) bool {
	return (a.Domain != "" && a.Domain == b.Domain) || (a.TenantID != "" && strings.EqualFold(a.TenantID, b.TenantID))
}

// provision creates or completes every Entra object of sc, returning sc with the ids filled in
// (also on failure, so progress can be recorded).
func (s *Service) provision(ctx context.Context, sc Scenario) (Scenario, error) {
	catID, err := s.catalog(ctx)
	if err != nil {
		return sc, err
	}
	sc.CatalogID = catID
	resources, err := s.ensureResources(ctx, catID, sc.Resources)
	if err != nil {
		return sc, err
	}
	for i := range sc.Partners {
		if err := s.ensureConnectedOrg(ctx, &sc.Partners[i], sc.OwnerOID); err != nil {
			return sc, err
		}
	}
	pkg, err := s.ensureAccessPackage(ctx, catID, sc)
	if err != nil {
		return sc, err
	}
	sc.AccessPackageID = deref(pkg.GetId())
	// Record the package before the rest so a crash leaves a findable trail.
	if err := s.save(ctx, sc); err != nil {
		return sc, err
	}
	if err := s.ensureRoleScopes(ctx, pkg, sc.Resources, resources); err != nil {
		return sc, err
	}
	polID, err := s.ensurePolicy(ctx, pkg, sc)
	if err != nil {
		return sc, err
	}
	sc.PolicyID = polID
	return sc, nil
}

// catalog returns the scenarios' catalog id: the configured one (checked once for external
// visibility), else the shared catalog found by name or created.
func (s *Service) catalog(ctx context.Context) (string, error) {
	s.mu.Lock()
	cached := s.cachedCatalog
	s.mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	em := s.g.IdentityGovernance().EntitlementManagement()
	var id string
	if s.catalogID != "" {
		cat, err := nonEmpty(em.Catalogs().ByAccessPackageCatalogId(s.catalogID).Get(ctx, nil))
		if err != nil {
			return "", graph.Wrap("get catalog "+s.catalogID, err)
		}
		if !deref(cat.GetIsExternallyVisible()) {
			return "", fmt.Errorf("entitlement: catalog %q is not enabled for external users; enable it in Entra (Catalog settings → Enabled for external users)", deref(cat.GetDisplayName()))
		}
		id = s.catalogID
	} else {
		f := graph.EqFilter("displayName", s.catName)
		page, err := nonEmpty(em.Catalogs().Get(ctx, &igov.EntitlementManagementCatalogsRequestBuilderGetRequestConfiguration{
			QueryParameters: &igov.EntitlementManagementCatalogsRequestBuilderGetQueryParameters{Filter: &f},
		}))
		if err != nil {
			return "", graph.Wrap("find catalog", err)
		}
		for _, c := range page.GetValue() {
			if strings.EqualFold(deref(c.GetDisplayName()), s.catName) {
				id = deref(c.GetId())
				break
			}
		}
		if id == "" {
			cat := models.NewAccessPackageCatalog()
			cat.SetDisplayName(ptr(s.catName))
			cat.SetDescription(ptr("Access packages guests request through guestpass. Managed by guestpass."))
			cat.SetState(ptr(models.PUBLISHED_ACCESSPACKAGECATALOGSTATE))
			cat.SetIsExternallyVisible(ptr(true))
			created, err := nonEmpty(em.Catalogs().Post(ctx, cat, nil))
			if err != nil {
				return "", graph.Wrap("create catalog", err)
			}
			id = deref(created.GetId())
			s.log.InfoContext(ctx, "created catalog", "catalog_id", id)
		}
	}
	s.mu.Lock()
	s.cachedCatalog = id
	s.mu.Unlock()
	return id, nil
}

// findResource looks a resource up in the catalog by origin id, with roles and scopes.
func (s *Service) findResource(ctx context.Context, catID string, r Resource) (models.AccessPackageResourceable, error) {
	em := s.g.IdentityGovernance().EntitlementManagement()
	f := graph.EqFilter("originId", r.OriginID)
	page, err := nonEmpty(em.Catalogs().ByAccessPackageCatalogId(catID).Resources().Get(ctx, &igov.EntitlementManagementCatalogsItemResourcesRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementCatalogsItemResourcesRequestBuilderGetQueryParameters{Filter: &f, Expand: []string{"roles", "scopes"}},
	}))
	if err != nil {
		return nil, graph.Wrap("find catalog resource", err)
	}
	for _, res := range page.GetValue() {
		if strings.EqualFold(deref(res.GetOriginId()), r.OriginID) && strings.EqualFold(deref(res.GetOriginSystem()), originSystem(r.Kind)) {
			return res, nil
		}
	}
	return nil, nil
}

// ensureResources adds missing resources to the catalog and returns each scenario resource's
// catalog resource, keyed by origin id.
func (s *Service) ensureResources(ctx context.Context, catID string, rs []Resource) (map[string]models.AccessPackageResourceable, error) {
	em := s.g.IdentityGovernance().EntitlementManagement()
	out := map[string]models.AccessPackageResourceable{}
	for _, r := range rs {
		key := strings.ToLower(r.OriginID)
		if _, done := out[key]; done {
			continue
		}
		res, err := s.findResource(ctx, catID, r)
		if err != nil {
			return nil, err
		}
		if res == nil {
			req := models.NewAccessPackageResourceRequest()
			req.SetRequestType(ptr(models.ADMINADD_ACCESSPACKAGEREQUESTTYPE))
			ar := models.NewAccessPackageResource()
			ar.SetOriginId(ptr(r.OriginID))
			ar.SetOriginSystem(ptr(originSystem(r.Kind)))
			req.SetResource(ar)
			cat := models.NewAccessPackageCatalog()
			cat.SetId(ptr(catID))
			req.SetCatalog(cat)
			if _, err := em.ResourceRequests().Post(ctx, req, nil); err != nil {
				return nil, graph.Wrap("add resource "+r.OriginID+" to catalog", err)
			}
			// The resource request's response does not carry the resource's roles and scopes.
			if res, err = s.findResource(ctx, catID, r); err != nil {
				return nil, err
			}
			if res == nil {
				return nil, fmt.Errorf("entitlement: resource %s was added to the catalog but is not listed yet; retry shortly", r.OriginID)
			}
		}
		out[key] = res
	}
	return out, nil
}

// ensureConnectedOrg finds or creates the connected organization of p and sets its id (and the
// tenant id Entra resolved a domain to).
func (s *Service) ensureConnectedOrg(ctx context.Context, p *Partner, ownerOID string) error {
	org, err := s.findConnectedOrg(ctx, *p)
	if err != nil {
		return err
	}
	if org == nil {
		org, err = s.createConnectedOrg(ctx, *p, ownerOID)
		if graph.IsConflict(err) && p.TenantID == "" {
			// The domain belongs to an Entra tenant that already has a connected organization,
			// which lists the tenant, not the domain. Resolve the domain to its tenant and look
			// again.
			tid, rerr := s.tenantOfDomain(ctx, p.Domain)
			if rerr != nil {
				return fmt.Errorf("entitlement: %s already has a connected organization but its tenant could not be resolved (%v); give the partner's tenant id instead: %w", p.Domain, rerr, err)
			}
			p.TenantID = tid
			if org, err = s.findConnectedOrg(ctx, *p); err == nil && org == nil {
				err = fmt.Errorf("entitlement: connected organization for %s (tenant %s) reported as existing but not found", p.Domain, tid)
			}
		}
		if err != nil {
			return err
		}
	}
	p.ConnectedOrganizationID = deref(org.GetId())
	for _, src := range org.GetIdentitySources() {
		if t, ok := src.(*models.AzureActiveDirectoryTenant); ok && p.TenantID == "" {
			p.TenantID = deref(t.GetTenantId())
		}
	}
	if p.DisplayName == "" {
		p.DisplayName = deref(org.GetDisplayName())
	}
	return nil
}

// findConnectedOrg looks a partner's connected organization up by tenant id and by domain: a
// domain of an Entra tenant is stored as an azureActiveDirectoryTenant source, a plain domain as
// a domainIdentitySource.
func (s *Service) findConnectedOrg(ctx context.Context, p Partner) (models.ConnectedOrganizationable, error) {
	var clauses []string
	if p.TenantID != "" {
		clauses = append(clauses, "identitySources/any(is:is/microsoft.graph.azureActiveDirectoryTenant/tenantId eq "+graph.Literal(strings.ToLower(p.TenantID))+")")
	}
	if p.Domain != "" {
		clauses = append(clauses, "identitySources/any(is:is/microsoft.graph.domainIdentitySource/domainName eq "+graph.Literal(p.Domain)+")")
	}
	em := s.g.IdentityGovernance().EntitlementManagement()
	for _, f := range clauses {
		page, err := nonEmpty(em.ConnectedOrganizations().Get(ctx, &igov.EntitlementManagementConnectedOrganizationsRequestBuilderGetRequestConfiguration{
			QueryParameters: &igov.EntitlementManagementConnectedOrganizationsRequestBuilderGetQueryParameters{Filter: &f},
		}))
		if err != nil {
			return nil, graph.Wrap("find connected organization", err)
		}
		for _, o := range page.GetValue() {
			if orgMatches(o, p) {
				return o, nil
			}
		}
	}
	return nil, nil
}

// orgMatches re-checks a filter hit client-side, so a server that ignores part of a filter cannot
// make guestpass attach the wrong organization.
func orgMatches(o models.ConnectedOrganizationable, p Partner) bool {
	for _, src := range o.GetIdentitySources() {
		switch t := src.(type) {
		case *models.AzureActiveDirectoryTenant:
			if p.TenantID != "" && strings.EqualFold(deref(t.GetTenantId()), p.TenantID) {
				return true
			}
		case *models.DomainIdentitySource:
			if p.Domain != "" && strings.EqualFold(deref(t.GetDomainName()), p.Domain) {
				return true
			}
		}
	}
	return false
}

func (s *Service) createConnectedOrg(ctx context.Context, p Partner, ownerOID string) (models.ConnectedOrganizationable, error) {
	em := s.g.IdentityGovernance().EntitlementManagement()
	name := first(p.DisplayName, p.Domain, p.TenantID)
	org := connectedOrgBody(name, "Partner organisation added by guestpass", p.TenantID, p.Domain)
	created, err := nonEmpty(em.ConnectedOrganizations().Post(ctx, org, nil))
	if err != nil {
		return nil, graph.Wrap("create connected organization "+name, err)
	}
	id := deref(created.GetId())
	internal := p.InternalSponsors
	if len(internal) == 0 && ownerOID != "" {
		internal = []string{ownerOID}
	}
	base := s.g.GetAdapter().GetBaseUrl()
	for _, oid := range internal {
		ref := models.NewReferenceCreate()
		ref.SetOdataId(ptr(base + "/users/" + oid))
		if err := em.ConnectedOrganizations().ByConnectedOrganizationId(id).InternalSponsors().Ref().Post(ctx, ref, nil); err != nil && !graph.IsConflict(err) {
			return nil, graph.Wrap("add internal sponsor to "+name, err)
		}
	}
	for _, oid := range p.ExternalSponsors {
		ref := models.NewReferenceCreate()
		ref.SetOdataId(ptr(base + "/users/" + oid))
		if err := em.ConnectedOrganizations().ByConnectedOrganizationId(id).ExternalSponsors().Ref().Post(ctx, ref, nil); err != nil && !graph.IsConflict(err) {
			return nil, graph.Wrap("add external sponsor to "+name, err)
		}
	}
	s.log.InfoContext(ctx, "created connected organization", "connected_org_id", id)
	return created, nil
}

// tenantOfDomain resolves a domain to its Entra tenant id (needs CrossTenantInformation.ReadBasic.All).
func (s *Service) tenantOfDomain(ctx context.Context, domain string) (string, error) {
	info, err := nonEmpty(s.g.TenantRelationships().FindTenantInformationByDomainNameWithDomainName(ptr(domain)).Get(ctx, nil))
	if err != nil {
		return "", graph.Wrap("find tenant of "+domain, err)
	}
	tid := deref(info.GetTenantId())
	if !ValidObjectID(tid) {
		return "", fmt.Errorf("entitlement: no tenant id for %s", domain)
	}
	return tid, nil
}

// ensureAccessPackage finds the scenario's package by name within the catalog or creates it.
// The package comes back with its role scopes and policies expanded.
func (s *Service) ensureAccessPackage(ctx context.Context, catID string, sc Scenario) (models.AccessPackageable, error) {
	if pkg, err := s.findAccessPackage(ctx, catID, sc.Name); err != nil || pkg != nil {
		return pkg, err
	}
	em := s.g.IdentityGovernance().EntitlementManagement()
	pkg := models.NewAccessPackage()
	pkg.SetDisplayName(ptr(sc.Name))
	pkg.SetDescription(ptr(packageDescription(sc)))
	pkg.SetIsHidden(ptr(false))
	cat := models.NewAccessPackageCatalog()
	cat.SetId(ptr(catID))
	pkg.SetCatalog(cat)
	created, err := nonEmpty(em.AccessPackages().Post(ctx, pkg, nil))
	if err != nil {
		return nil, graph.Wrap("create access package", err)
	}
	s.log.InfoContext(ctx, "created access package", "access_package_id", deref(created.GetId()), "scenario_id", sc.ID)
	return created, nil
}

// packageDescription is the access package description guests see in My Access.
func packageDescription(sc Scenario) string {
	if sc.Description != "" {
		return sc.Description
	}
	return "Guest access: " + sc.Name
}

func (s *Service) findAccessPackage(ctx context.Context, catID, name string) (models.AccessPackageable, error) {
	em := s.g.IdentityGovernance().EntitlementManagement()
	f := graph.And(graph.EqFilter("catalog/id", catID), graph.EqFilter("displayName", name))
	page, err := nonEmpty(em.AccessPackages().Get(ctx, &igov.EntitlementManagementAccessPackagesRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAccessPackagesRequestBuilderGetQueryParameters{
			Filter: &f, Expand: []string{"assignmentPolicies", "resourceRoleScopes($expand=role,scope)"},
		},
	}))
	if err != nil {
		return nil, graph.Wrap("find access package", err)
	}
	for _, p := range page.GetValue() {
		if strings.EqualFold(deref(p.GetDisplayName()), name) {
			return p, nil
		}
	}
	return nil, nil
}

// pickRole returns the catalog resource role matching the scenario resource's role.
func pickRole(res models.AccessPackageResourceable, r Resource) models.AccessPackageResourceRoleable {
	for _, ro := range res.GetRoles() {
		if strings.EqualFold(deref(ro.GetOriginId()), r.Role.OriginID) {
			return ro
		}
	}
	return nil
}

// rootScope returns the resource's root scope.
func rootScope(res models.AccessPackageResourceable) models.AccessPackageResourceScopeable {
	for _, sc := range res.GetScopes() {
		if deref(sc.GetIsRootScope()) {
			return sc
		}
	}
	if scs := res.GetScopes(); len(scs) == 1 {
		return scs[0]
	}
	return nil
}

// ensureRoleScopes adds the resource role scopes pkg lacks.
func (s *Service) ensureRoleScopes(ctx context.Context, pkg models.AccessPackageable, rs []Resource, catalog map[string]models.AccessPackageResourceable) error {
	em := s.g.IdentityGovernance().EntitlementManagement()
	have := map[string]bool{}
	for _, rrs := range pkg.GetResourceRoleScopes() {
		if ro := rrs.GetRole(); ro != nil {
			have[strings.ToLower(deref(ro.GetOriginId()))] = true
		}
	}
	for _, r := range rs {
		res := catalog[strings.ToLower(r.OriginID)]
		role := pickRole(res, r)
		if role == nil {
			var names []string
			for _, ro := range res.GetRoles() {
				names = append(names, deref(ro.GetDisplayName())+" ("+deref(ro.GetOriginId())+")")
			}
			return &ValidationError{Field: "resources", Message: fmt.Sprintf("%s has no role %q; its roles are: %s", r.OriginID, r.Role.OriginID, strings.Join(names, ", "))}
		}
		if have[strings.ToLower(deref(role.GetOriginId()))] {
			continue
		}
		scope := rootScope(res)
		if scope == nil {
			return fmt.Errorf("entitlement: resource %s has no root scope in the catalog", r.OriginID)
		}
		body := models.NewAccessPackageResourceRoleScope()
		nr := models.NewAccessPackageResourceRole()
		nr.SetId(role.GetId())
		nr.SetOriginId(role.GetOriginId())
		nr.SetOriginSystem(role.GetOriginSystem())
		resRef := models.NewAccessPackageResource()
		resRef.SetId(res.GetId())
		nr.SetResource(resRef)
		body.SetRole(nr)
		ns := models.NewAccessPackageResourceScope()
		ns.SetId(scope.GetId())
		ns.SetOriginId(scope.GetOriginId())
		ns.SetOriginSystem(scope.GetOriginSystem())
		ns.SetIsRootScope(ptr(true))
		body.SetScope(ns)
		if _, err := em.AccessPackages().ByAccessPackageId(deref(pkg.GetId())).ResourceRoleScopes().Post(ctx, body, nil); err != nil && !graph.IsConflict(err) {
			return graph.Wrap("add role "+r.Role.OriginID+" of "+r.OriginID, err)
		}
		have[strings.ToLower(deref(role.GetOriginId()))] = true
	}
	return nil
}

// policyName is the display name of a scenario's assignment policy.
func policyName(sc Scenario) string {
	n := "guestpass: " + sc.Name
	if r := []rune(n); len(r) > MaxNameLen {
		n = string(r[:MaxNameLen])
	}
	return n
}

// ensurePolicy finds the scenario's policy on pkg by name or creates it.
func (s *Service) ensurePolicy(ctx context.Context, pkg models.AccessPackageable, sc Scenario) (string, error) {
	name := policyName(sc)
	for _, p := range pkg.GetAssignmentPolicies() {
		if deref(p.GetDisplayName()) == name {
			return deref(p.GetId()), nil
		}
	}
	body, err := buildPolicy(sc, deref(pkg.GetId()), false)
	if err != nil {
		return "", err
	}
	created, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().AssignmentPolicies().Post(ctx, body, nil))
	if err != nil {
		return "", graph.Wrap("create assignment policy", err)
	}
	return deref(created.GetId()), nil
}

// setDays sets an ISO 8601 duration property to "P{n}D", the form the Graph docs use. It goes in
// as additional data because kiota's ISODuration renders 7 days as "P1W" and 90 as "P12W6D"
// (weeks combined with days, which ISO 8601 does not allow and the docs never show).
func setDays(m interface {
	GetAdditionalData() map[string]any
	SetAdditionalData(map[string]any)
}, prop string, n int) {
	data := m.GetAdditionalData()
	if data == nil {
		data = map[string]any{}
	}
	data[prop] = ptr(fmt.Sprintf("P%dD", n))
	m.SetAdditionalData(data)
}

// subjectSets maps approvers to Graph subjectSets; the sponsor kind resolves to the owner.
func subjectSets(as []Approver, ownerOID string) []models.SubjectSetable {
	var out []models.SubjectSetable
	seen := map[string]bool{}
	add := func(key string, set models.SubjectSetable) {
		if !seen[key] {
			seen[key] = true
			out = append(out, set)
		}
	}
	for _, a := range as {
		switch a.Kind {
		case ApproverSponsor, ApproverUser:
			id := a.ID
			if a.Kind == ApproverSponsor && id == "" {
				id = ownerOID
			}
			u := models.NewSingleUser()
			u.SetUserId(ptr(id))
			add("user:"+strings.ToLower(id), u)
		case ApproverGroup:
			g := models.NewGroupMembers()
			g.SetGroupId(ptr(a.ID))
			add("group:"+strings.ToLower(a.ID), g)
		case ApproverInternalSponsors:
			add("internal", models.NewInternalSponsors())
		case ApproverExternalSponsors:
			add("external", models.NewExternalSponsors())
		case ApproverRequestorManager:
			m := models.NewRequestorManager()
			m.SetManagerLevel(ptr(int32(1)))
			add("manager", m)
		}
	}
	return out
}

// needsFallback reports approver kinds that can resolve to nobody (a connected organization
// without sponsors), for which the docs advise a fallback approver.
func needsFallback(as []Approver) bool {
	return slices.ContainsFunc(as, func(a Approver) bool {
		return a.Kind == ApproverInternalSponsors || a.Kind == ApproverExternalSponsors || a.Kind == ApproverRequestorManager
	})
}

// buildPolicy maps a scenario to its assignment policy. retired turns off new requests (the
// policy and existing assignments stay).
func buildPolicy(sc Scenario, accessPackageID string, retired bool) (models.AccessPackageAssignmentPolicyable, error) {
	p := models.NewAccessPackageAssignmentPolicy()
	p.SetDisplayName(ptr(policyName(sc)))
	p.SetDescription(ptr("Requests from guests of " + partnerSummary(sc) + "; managed by guestpass"))
	ap := models.NewAccessPackage()
	ap.SetId(ptr(accessPackageID))
	p.SetAccessPackage(ap)

	if sc.AnyExternalUser {
		p.SetAllowedTargetScope(ptr(models.ALLEXTERNALUSERS_ALLOWEDTARGETSCOPE))
		p.SetSpecificAllowedTargets([]models.SubjectSetable{})
	} else {
		p.SetAllowedTargetScope(ptr(models.SPECIFICCONNECTEDORGANIZATIONUSERS_ALLOWEDTARGETSCOPE))
		var targets []models.SubjectSetable
		for _, pt := range sc.Partners {
			if pt.ConnectedOrganizationID == "" {
				return nil, fmt.Errorf("entitlement: partner %s has no connected organization", pt.Domain+pt.TenantID)
			}
			m := models.NewConnectedOrganizationMembers()
			m.SetConnectedOrganizationId(ptr(pt.ConnectedOrganizationID))
			m.SetDescription(ptr(pt.DisplayName))
			targets = append(targets, m)
		}
		p.SetSpecificAllowedTargets(targets)
	}

	rs := models.NewAccessPackageAssignmentRequestorSettings()
	rs.SetEnableTargetsToSelfAddAccess(ptr(!retired))
	rs.SetEnableTargetsToSelfUpdateAccess(ptr(!retired && sc.AllowExtension))
	rs.SetEnableTargetsToSelfRemoveAccess(ptr(true))
	rs.SetAllowCustomAssignmentSchedule(ptr(false))
	rs.SetEnableOnBehalfRequestorsToAddAccess(ptr(false))
	rs.SetEnableOnBehalfRequestorsToUpdateAccess(ptr(false))
	rs.SetEnableOnBehalfRequestorsToRemoveAccess(ptr(false))
	rs.SetOnBehalfRequestors([]models.SubjectSetable{})
	p.SetRequestorSettings(rs)

	as := models.NewAccessPackageAssignmentApprovalSettings()
	as.SetIsApprovalRequiredForAdd(ptr(sc.Approval.Required))
	as.SetIsApprovalRequiredForUpdate(ptr(sc.Approval.Required && sc.AllowExtension))
	as.SetIsRequestorJustificationRequired(ptr(sc.Approval.RequestorJustificationRequired))
	stages := []models.AccessPackageApprovalStageable{}
	if sc.Approval.Required {
		for _, st := range sc.Approval.Stages {
			gs := models.NewAccessPackageApprovalStage()
			setDays(gs, "durationBeforeAutomaticDenial", st.AutoDenyAfterDays)
			gs.SetIsApproverJustificationRequired(ptr(st.ApproverJustificationRequired))
			gs.SetPrimaryApprovers(subjectSets(st.Approvers, sc.OwnerOID))
			fallback := []models.SubjectSetable{}
			if needsFallback(st.Approvers) {
				fallback = subjectSets([]Approver{{Kind: ApproverSponsor}}, sc.OwnerOID)
			}
			gs.SetFallbackPrimaryApprovers(fallback)
			esc := len(st.EscalationApprovers) > 0
			gs.SetIsEscalationEnabled(ptr(esc))
			if esc {
				setDays(gs, "durationBeforeEscalation", st.EscalationAfterDays)
				gs.SetEscalationApprovers(subjectSets(st.EscalationApprovers, sc.OwnerOID))
			} else {
				gs.SetEscalationApprovers([]models.SubjectSetable{})
			}
			gs.SetFallbackEscalationApprovers([]models.SubjectSetable{})
			stages = append(stages, gs)
		}
	}
	as.SetStages(stages)
	p.SetRequestApprovalSettings(as)

	exp := models.NewExpirationPattern()
	exp.SetTypeEscaped(ptr(models.AFTERDURATION_EXPIRATIONPATTERNTYPE))
	setDays(exp, "duration", sc.DurationDays)
	p.SetExpiration(exp)

	qs := []models.AccessPackageQuestionable{}
	for i, q := range sc.Questions {
		if len(q.Choices) > 0 {
			mq := models.NewAccessPackageMultipleChoiceQuestion()
			var choices []models.AccessPackageAnswerChoiceable
			for _, c := range q.Choices {
				ch := models.NewAccessPackageAnswerChoice()
				ch.SetActualValue(ptr(c))
				ch.SetText(ptr(c))
				choices = append(choices, ch)
			}
			mq.SetChoices(choices)
			mq.SetIsMultipleSelectionAllowed(ptr(false))
			mq.SetText(ptr(q.Text))
			mq.SetIsRequired(ptr(q.Required))
			mq.SetIsAnswerEditable(ptr(true))
			mq.SetSequence(ptr(int32(i)))
			qs = append(qs, mq)
		} else {
			tq := models.NewAccessPackageTextInputQuestion()
			tq.SetIsSingleLineQuestion(ptr(false))
			tq.SetText(ptr(q.Text))
			tq.SetIsRequired(ptr(q.Required))
			tq.SetIsAnswerEditable(ptr(true))
			tq.SetSequence(ptr(int32(i)))
			qs = append(qs, tq)
		}
	}
	p.SetQuestions(qs)
	return p, nil
}

func partnerSummary(sc Scenario) string {
	if sc.AnyExternalUser {
		return "any external organisation"
	}
	var names []string
	for _, p := range sc.Partners {
		switch {
		case p.DisplayName != "":
			names = append(names, p.DisplayName)
		case p.Domain != "":
			names = append(names, p.Domain)
		default:
			names = append(names, p.TenantID)
		}
	}
	return strings.Join(names, ", ")
}
