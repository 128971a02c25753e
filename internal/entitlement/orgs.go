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

// Connected organizations managed one at a time by an admin (`orgs add`, `orgs remove`). Reads
// are app-only; creating and deleting use the admin's delegated credential, so Entra checks the
// admin's own rights and records them as the actor.

// ConnectedOrg is a connected organization as admins see it.
type ConnectedOrg struct {
	ID          string
	DisplayName string
	Description string
	// State is Graph's connectedOrganizationState: "configured" or "proposed".
	State string
	// Domains are the domains of its domain identity sources; TenantIDs the tenant ids of its
	// Entra tenant sources (a domain of an Entra tenant is stored as the tenant).
	Domains   []string
	TenantIDs []string
	CreatedAt time.Time
}

// TenantInfo is what Entra says about the tenant a domain belongs to.
type TenantInfo struct {
	TenantID      string
	DisplayName   string
	DefaultDomain string
}

// OrgPreview is what adding a connected organization for a domain would create, or the one that
// already exists for it.
type OrgPreview struct {
	Domain string
	// DisplayName is the tenant's name, else the domain.
	DisplayName string
	// TenantID is the Entra tenant the domain belongs to; empty when it is none, and the
	// organization's identity source is then the domain itself.
	TenantID string
	// Existing is the connected organization that already covers the domain or its tenant.
	Existing *ConnectedOrg
}

// OrgChange is the outcome of a delegated create or delete.
type OrgChange struct {
	Org ConnectedOrg
	// GraphRequestID is the request-id of the write, for the audit log.
	GraphRequestID string
}

// ErrOrgExists reports that a connected organization already covers the domain; errors.As to
// *OrgExistsError for which one.
var ErrOrgExists = errors.New("a connected organization already exists for this domain")

// OrgExistsError carries the existing organization.
type OrgExistsError struct {
	Org ConnectedOrg
}

// Error implements error.
func (e *OrgExistsError) Error() string {
	return "connected organization " + e.Org.DisplayName + " (" + e.Org.ID + ") already exists"
}

// Is matches ErrOrgExists.
func (e *OrgExistsError) Is(target error) bool { return target == ErrOrgExists }

// ErrRefused reports that Entra refused a change for a reason about the object itself (Graph
// 400 or 409), such as a connected organization that assignment policies still use. The wrapped
// *graph.Error carries Entra's message, which is worth showing to the admin.
var ErrRefused = errors.New("Entra refused the change")

// ErrOwnTenant reports a domain of the home tenant, which cannot be a connected organization.
var ErrOwnTenant = errors.New("the domain belongs to this tenant")

// maxOrgs bounds how many connected organizations resolving a name reads.
const maxOrgs = 5000

// toConnectedOrg converts Graph's model.
func toConnectedOrg(o models.ConnectedOrganizationable) ConnectedOrg {
	c := ConnectedOrg{ID: deref(o.GetId()), DisplayName: deref(o.GetDisplayName()), Description: deref(o.GetDescription())}
	if s := o.GetState(); s != nil {
		c.State = s.String()
	}
	if t := o.GetCreatedDateTime(); t != nil {
		c.CreatedAt = t.UTC()
	}
	for _, src := range o.GetIdentitySources() {
		switch s := src.(type) {
		case *models.AzureActiveDirectoryTenant:
			if tid := deref(s.GetTenantId()); tid != "" {
				c.TenantIDs = append(c.TenantIDs, strings.ToLower(tid))
			}
		case *models.DomainIdentitySource:
			if d := deref(s.GetDomainName()); d != "" {
				c.Domains = append(c.Domains, strings.ToLower(d))
			}
		case *models.ExternalDomainFederation:
			if d := deref(s.GetDomainName()); d != "" {
				c.Domains = append(c.Domains, strings.ToLower(d))
			}
		}
	}
	return c
}

// LookupTenant returns the Entra tenant domain belongs to; found is false when the domain is no
// Entra tenant's (Graph 404). Needs CrossTenantInformation.ReadBasic.All.
func (s *Service) LookupTenant(ctx context.Context, domain string) (info TenantInfo, found bool, err error) {
	ctx = op(ctx, "LookupTenant")
	if !ValidDomain(domain) {
		return TenantInfo{}, false, &ValidationError{Field: "domain", Message: "is not a domain name"}
	}
	res, err := nonEmpty(s.g.TenantRelationships().FindTenantInformationByDomainNameWithDomainName(ptr(domain)).Get(ctx, nil))
	if graph.IsNotFound(err) {
		return TenantInfo{}, false, nil
	}
	if err != nil {
		return TenantInfo{}, false, graph.Wrap("find tenant of "+domain, err)
	}
	info = TenantInfo{TenantID: strings.ToLower(deref(res.GetTenantId())), DisplayName: deref(res.GetDisplayName()),
		DefaultDomain: deref(res.GetDefaultDomainName())}
	if !ValidObjectID(info.TenantID) {
		return TenantInfo{}, false, fmt.Errorf("entitlement: Entra returned no tenant id for %s", domain)
	}
	return info, true, nil
}

// PreviewConnectedOrg says what `orgs add <domain>` would create: the tenant the domain belongs
// to (if any) and whether a connected organization already covers the domain or that tenant.
// It only reads, app-only.
func (s *Service) PreviewConnectedOrg(ctx context.Context, domain string) (OrgPreview, error) {
	ctx = op(ctx, "PreviewConnectedOrg")
	domain = strings.ToLower(strings.TrimSpace(domain))
	if !ValidDomain(domain) {
		return OrgPreview{}, &ValidationError{Field: "domain", Message: fmt.Sprintf("%q is not a domain name", domain)}
	}
	p := OrgPreview{Domain: domain, DisplayName: domain}
	if org, err := s.findConnectedOrg(ctx, Partner{Domain: domain}); err != nil {
		return OrgPreview{}, err
	} else if org != nil {
		c := toConnectedOrg(org)
		p.Existing = &c
	}
	info, found, err := s.LookupTenant(ctx, domain)
	if err != nil {
		return OrgPreview{}, err
	}
	if found {
		if strings.EqualFold(info.TenantID, s.tenantID) {
			return OrgPreview{}, fmt.Errorf("%s: %w", domain, ErrOwnTenant)
		}
		p.TenantID = info.TenantID
		if info.DisplayName != "" {
			p.DisplayName = info.DisplayName
		}
		if p.Existing == nil {
			org, err := s.findConnectedOrg(ctx, Partner{TenantID: info.TenantID})
			if err != nil {
				return OrgPreview{}, err
			}
			if org != nil {
				c := toConnectedOrg(org)
				p.Existing = &c
			}
		}
	}
	return p, nil
}

// AddConnectedOrg creates the connected organization for domain (configured, with the domain's
// Entra tenant as identity source, else the domain) with the admin's delegated credential. It
// looks again first, so a click on an old confirmation never creates a duplicate: when one
// exists, it returns an *OrgExistsError. Entra refusing the admin yields ErrForbidden.
func (s *Service) AddConnectedOrg(ctx context.Context, cred azcore.TokenCredential, domain string) (OrgChange, error) {
	ctx = op(ctx, "AddConnectedOrg")
	p, err := s.PreviewConnectedOrg(ctx, domain)
	if err != nil {
		return OrgChange{}, err
	}
	if p.Existing != nil {
		return OrgChange{Org: *p.Existing}, &OrgExistsError{Org: *p.Existing}
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return OrgChange{}, err
	}
	inspect := khttp.NewHeadersInspectionOptions()
	inspect.InspectResponseHeaders = true
	created, err := nonEmpty(c.IdentityGovernance().EntitlementManagement().ConnectedOrganizations().Post(ctx, newOrgModel(p),
		&igov.EntitlementManagementConnectedOrganizationsRequestBuilderPostRequestConfiguration{Options: []abs.RequestOption{inspect}}))
	switch {
	case graph.IsConflict(err):
		// Created by someone else between our look and our write: show theirs.
		if again, perr := s.PreviewConnectedOrg(ctx, domain); perr == nil && again.Existing != nil {
			return OrgChange{Org: *again.Existing}, &OrgExistsError{Org: *again.Existing}
		}
		return OrgChange{}, fmt.Errorf("add connected organization %s: %w: %w", domain, ErrRefused, graph.Wrap("create connected organization", err))
	case graph.IsForbidden(err):
		return OrgChange{}, fmt.Errorf("add connected organization %s: %w: %w", domain, ErrForbidden, graph.Wrap("create connected organization", err))
	case hasStatus(err, 400):
		return OrgChange{}, fmt.Errorf("add connected organization %s: %w: %w", domain, ErrRefused, graph.Wrap("create connected organization", err))
	case err != nil:
		return OrgChange{}, graph.Wrap("create connected organization", err)
	}
	out := OrgChange{Org: toConnectedOrg(created), GraphRequestID: responseRequestID(inspect)}
	s.log.InfoContext(ctx, "connected organization created as the signed-in admin", "connected_org_id", out.Org.ID,
		"graph_request_id", out.GraphRequestID)
	return out, nil
}

// newOrgModel is the create body of an admin's `orgs add`.
func newOrgModel(p OrgPreview) models.ConnectedOrganizationable {
	return connectedOrgBody(p.DisplayName, "Partner organisation added by a guestpass admin", p.TenantID, p.Domain)
}

// connectedOrgBody is the documented create body of a connected organization, shared by
// provisioning (app-only) and `orgs add` (delegated): one identity source — the Entra tenant
// when tenantID is known (Entra stores a tenant's domains as the tenant), else the domain — and
// state configured, so policies for "all configured connected organizations" admit its users.
func connectedOrgBody(name, description, tenantID, domain string) models.ConnectedOrganizationable {
	org := models.NewConnectedOrganization()
	org.SetDisplayName(ptr(name))
	org.SetDescription(ptr(description))
	org.SetState(ptr(models.CONFIGURED_CONNECTEDORGANIZATIONSTATE))
	if tenantID != "" {
		src := models.NewAzureActiveDirectoryTenant()
		src.SetTenantId(ptr(strings.ToLower(tenantID)))
		src.SetDisplayName(ptr(name))
		org.SetIdentitySources([]models.IdentitySourceable{src})
	} else {
		src := models.NewDomainIdentitySource()
		src.SetDomainName(ptr(domain))
		src.SetDisplayName(ptr(name))
		org.SetIdentitySources([]models.IdentitySourceable{src})
	}
	return org
}

// GetConnectedOrg reads one connected organization app-only; a missing one is ErrNotFound.
func (s *Service) GetConnectedOrg(ctx context.Context, id string) (ConnectedOrg, error) {
	ctx = op(ctx, "GetConnectedOrg")
	if !ValidEntityID(id) {
		return ConnectedOrg{}, fmt.Errorf("connected organization %q: %w", id, ErrNotFound)
	}
	o, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().ConnectedOrganizations().ByConnectedOrganizationId(id).Get(ctx, nil))
	if graph.IsNotFound(err) {
		return ConnectedOrg{}, fmt.Errorf("connected organization %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return ConnectedOrg{}, graph.Wrap("get connected organization", err)
	}
	return toConnectedOrg(o), nil
}

// ConnectedOrgs lists connected organizations app-only, at most limit of them (maxOrgs when
// limit is 0 or larger).
func (s *Service) ConnectedOrgs(ctx context.Context, limit int) ([]ConnectedOrg, error) {
	ctx = op(ctx, "ConnectedOrgs")
	if limit <= 0 || limit > maxOrgs {
		limit = maxOrgs
	}
	em := s.g.IdentityGovernance().EntitlementManagement()
	page, err := em.ConnectedOrganizations().Get(ctx, nil)
	if err != nil {
		return nil, graph.Wrap("list connected organizations", err)
	}
	var out []ConnectedOrg
	err = graph.Each(ctx, s.g, "list connected organizations", page, models.CreateConnectedOrganizationCollectionResponseFromDiscriminatorValue,
		func(o models.ConnectedOrganizationable) error {
			out = append(out, toConnectedOrg(o))
			if len(out) >= limit {
				return graph.Stop
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ResolveConnectedOrg returns the connected organizations query names: by id, by a domain of
// theirs (a domain of an Entra tenant names that tenant's organization), or by display name,
// case-insensitively. Several organizations may share a display name.
func (s *Service) ResolveConnectedOrg(ctx context.Context, query string) ([]ConnectedOrg, error) {
	ctx = op(ctx, "ResolveConnectedOrg")
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	if ValidEntityID(query) {
		o, err := s.GetConnectedOrg(ctx, query)
		if err == nil {
			return []ConnectedOrg{o}, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	all, err := s.ConnectedOrgs(ctx, 0)
	if err != nil {
		return nil, err
	}
	domain := strings.ToLower(query)
	tenant := ""
	if ValidDomain(domain) {
		info, found, err := s.LookupTenant(ctx, domain)
		if err != nil {
			// A missing lookup permission must not hide a match by name or domain source.
			s.log.WarnContext(ctx, "tenant lookup failed while resolving a connected organization", "error", err)
		} else if found {
			tenant = info.TenantID
		}
	}
	var out []ConnectedOrg
	for _, o := range all {
		if strings.EqualFold(o.ID, query) || strings.EqualFold(o.DisplayName, query) ||
			slices.Contains(o.Domains, domain) || (tenant != "" && slices.Contains(o.TenantIDs, tenant)) {
			out = append(out, o)
		}
	}
	return out, nil
}

// PoliciesTargetingOrg returns the display names of the assignment policies whose requestors
// include org's users specifically: what stops admitting them when the organization goes.
func (s *Service) PoliciesTargetingOrg(ctx context.Context, orgID string) ([]string, error) {
	ctx = op(ctx, "PoliciesTargetingOrg")
	em := s.g.IdentityGovernance().EntitlementManagement()
	page, err := em.AssignmentPolicies().Get(ctx, nil)
	if err != nil {
		return nil, graph.Wrap("list assignment policies", err)
	}
	var out []string
	err = graph.Each(ctx, s.g, "list assignment policies", page, models.CreateAccessPackageAssignmentPolicyCollectionResponseFromDiscriminatorValue,
		func(p models.AccessPackageAssignmentPolicyable) error {
			for _, t := range p.GetSpecificAllowedTargets() {
				if m, ok := t.(*models.ConnectedOrganizationMembers); ok && strings.EqualFold(deref(m.GetConnectedOrganizationId()), orgID) {
					out = append(out, first(deref(p.GetDisplayName()), deref(p.GetId())))
					break
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ScenariosWithOrg returns the names of the stored, not retired scenarios that list org as a
// partner: by its id, one of its domains or one of its tenants.
func (s *Service) ScenariosWithOrg(ctx context.Context, org ConnectedOrg) ([]string, error) {
	scs, err := s.ListScenarios(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sc := range scs {
		for _, p := range sc.Partners {
			if (p.ConnectedOrganizationID != "" && strings.EqualFold(p.ConnectedOrganizationID, org.ID)) ||
				(p.Domain != "" && slices.Contains(org.Domains, strings.ToLower(p.Domain))) ||
				(p.TenantID != "" && slices.Contains(org.TenantIDs, strings.ToLower(p.TenantID))) {
				out = append(out, sc.Name)
				break
			}
		}
	}
	return out, nil
}

// RemoveConnectedOrg deletes a connected organization with the admin's delegated credential.
// Entra refusing the admin yields ErrForbidden; a missing organization ErrNotFound; Entra
// refusing the deletion itself (for example while policies use the organization) ErrRefused,
// wrapping Graph's error with its message.
func (s *Service) RemoveConnectedOrg(ctx context.Context, cred azcore.TokenCredential, id string) (OrgChange, error) {
	ctx = op(ctx, "RemoveConnectedOrg")
	if !ValidEntityID(id) {
		return OrgChange{}, &ValidationError{Field: "connectedOrganizationId", Message: "is not a connected organization id"}
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return OrgChange{}, err
	}
	inspect := khttp.NewHeadersInspectionOptions()
	inspect.InspectResponseHeaders = true
	err = c.IdentityGovernance().EntitlementManagement().ConnectedOrganizations().ByConnectedOrganizationId(id).Delete(ctx,
		&igov.EntitlementManagementConnectedOrganizationsConnectedOrganizationItemRequestBuilderDeleteRequestConfiguration{Options: []abs.RequestOption{inspect}})
	switch {
	case graph.IsNotFound(err):
		return OrgChange{}, fmt.Errorf("connected organization %s: %w: %w", id, ErrNotFound, graph.Wrap("delete connected organization", err))
	case graph.IsForbidden(err):
		return OrgChange{}, fmt.Errorf("remove connected organization %s: %w: %w", id, ErrForbidden, graph.Wrap("delete connected organization", err))
	case graph.IsConflict(err), hasStatus(err, 400):
		return OrgChange{}, fmt.Errorf("remove connected organization %s: %w: %w", id, ErrRefused, graph.Wrap("delete connected organization", err))
	case err != nil:
		return OrgChange{}, graph.Wrap("delete connected organization", err)
	}
	out := OrgChange{Org: ConnectedOrg{ID: id}, GraphRequestID: responseRequestID(inspect)}
	s.log.InfoContext(ctx, "connected organization deleted as the signed-in admin", "connected_org_id", id,
		"graph_request_id", out.GraphRequestID)
	return out, nil
}

// hasStatus reports a Graph error with HTTP status code.
func hasStatus(err error, code int) bool {
	ge, ok := graph.AsError(err)
	return ok && ge != nil && ge.Status == code
}

// responseRequestID reads Graph's request-id from an inspected response.
func responseRequestID(inspect *khttp.HeadersInspectionOptions) string {
	if h := inspect.GetResponseHeaders(); h != nil {
		if v := h.Get("request-id"); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
