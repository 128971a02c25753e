package entitlement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/graph"
)

// Listings for the admin commands, scoped to what the bot may read.
//
// In full mode the bot holds a tenant-wide EntitlementManagement permission and each listing is
// one Graph query (followed through its pages). In restricted mode (ServiceOptions.CatalogID)
// the bot may hold nothing but a catalog-scoped role, such as Catalog owner, on the configured
// catalog. Graph then requires listings that span catalogs to be narrowed to it: assignments and
// assignment requests per access package ($filter=accessPackage/id eq '…', as Graph documents
// for callers "assigned only to catalog-specific administrative roles"), access packages by
// catalog/id, and the catalog itself read by id rather than by listing catalogs. The methods
// here do that, so callers need not know the mode.

// Catalog is an access package catalog.
type Catalog struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Type is Graph's catalogType: userManaged, serviceDefault or serviceManaged.
	Type string `json:"type,omitempty"`
	// State is published or unpublished.
	State string `json:"state,omitempty"`
	// External reports isExternallyVisible: users outside the tenant may request its packages.
	External bool `json:"external"`
}

// AccessPackage is an access package with the catalog it belongs to.
type AccessPackage struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName"`
	CatalogID   string    `json:"catalogId,omitempty"`
	Catalog     string    `json:"catalog,omitempty"`
	Hidden      bool      `json:"hidden"`
	CreatedAt   time.Time `json:"createdAt,omitzero"`
}

// RequestFilter selects assignment requests for Requests.
type RequestFilter struct {
	// AccessPackageID keeps the requests of one access package.
	AccessPackageID string
	// State keeps requests in this state ("": every state).
	State RequestState
	// Limit, when positive, is the most requests the caller will take. Restricted mode merges
	// one listing per access package, newest first, and reads at most Limit from each.
	Limit int
}

// Catalogs calls fn for every catalog the bot may read: all of them in full mode, the
// configured one in restricted mode (a catalog-scoped role cannot list catalogs). fn may return
// graph.Stop to end early.
func (s *Service) Catalogs(ctx context.Context, fn func(Catalog) error) error {
	ctx = op(ctx, "Catalogs")
	em := s.g.IdentityGovernance().EntitlementManagement()
	if s.Restricted() {
		cat, err := nonEmpty(em.Catalogs().ByAccessPackageCatalogId(s.catalogID).Get(ctx, nil))
		if err != nil {
			if graph.IsNotFound(err) {
				return fmt.Errorf("catalog %s: %w", s.catalogID, ErrNotFound)
			}
			return graph.Wrap("get catalog "+s.catalogID, err)
		}
		return stopped(fn(toCatalog(cat)))
	}
	page, err := nonEmpty(em.Catalogs().Get(ctx, nil))
	if err != nil {
		return graph.Wrap("list catalogs", err)
	}
	return graph.Each(ctx, s.g, "list catalogs", page, models.CreateAccessPackageCatalogCollectionResponseFromDiscriminatorValue,
		func(c models.AccessPackageCatalogable) error { return fn(toCatalog(c)) })
}

// AccessPackages calls fn for every access package the bot may read, with its catalog: all of
// them in full mode, the configured catalog's in restricted mode. fn may return graph.Stop.
func (s *Service) AccessPackages(ctx context.Context, fn func(AccessPackage) error) error {
	ctx = op(ctx, "AccessPackages")
	return s.eachPackage(ctx, []string{"catalog"}, nil, func(p models.AccessPackageable) error { return fn(toAccessPackage(p)) })
}

// eachPackage lists access packages (restricted mode: the configured catalog's only) with
// expand and sel.
func (s *Service) eachPackage(ctx context.Context, expand, sel []string, fn func(models.AccessPackageable) error) error {
	q := &igov.EntitlementManagementAccessPackagesRequestBuilderGetQueryParameters{Expand: expand, Select: sel}
	if s.Restricted() {
		f := graph.EqFilter("catalog/id", s.catalogID)
		q.Filter = &f
	}
	page, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().AccessPackages().Get(ctx,
		&igov.EntitlementManagementAccessPackagesRequestBuilderGetRequestConfiguration{QueryParameters: q}))
	if err != nil {
		return graph.Wrap("list access packages", err)
	}
	return graph.Each(ctx, s.g, "list access packages", page, models.CreateAccessPackageCollectionResponseFromDiscriminatorValue, fn)
}

// catalogPackageIDs returns the ids of the configured catalog's access packages (restricted
// mode), for the listings Graph accepts per access package only.
func (s *Service) catalogPackageIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.eachPackage(ctx, nil, []string{"id"}, func(p models.AccessPackageable) error {
		if id := deref(p.GetId()); id != "" {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// inCatalog reports whether sc lives in the configured catalog (restricted mode), so its
// objects are readable with the catalog-scoped role; scenarios provisioned before the switch to
// restricted mode may live in another one.
func (s *Service) inCatalog(sc Scenario) bool {
	return !s.Restricted() || sc.CatalogID == "" || strings.EqualFold(sc.CatalogID, s.catalogID)
}

// requestListExpand is what the admin request list shows with each request.
var requestListExpand = []string{"requestor", "accessPackage"}

// Requests calls fn for the assignment requests matching f, newest first, with their requestor
// and access package (app-only). In restricted mode without f.AccessPackageID it lists the
// requests of each of the configured catalog's access packages and merges them. fn may return
// graph.Stop.
func (s *Service) Requests(ctx context.Context, f RequestFilter, fn func(Request) error) error {
	ctx = op(ctx, "Requests")
	var v validator
	if f.AccessPackageID != "" && !ValidEntityID(f.AccessPackageID) {
		v.add("accessPackageId", "is not an access package id")
	}
	if f.Limit < 0 {
		v.add("limit", "must not be negative")
	}
	if err := v.err(); err != nil {
		return err
	}
	if !s.Restricted() || f.AccessPackageID != "" {
		n := 0
		return s.listRequests(ctx, f, func(r Request) error {
			if f.Limit > 0 && n == f.Limit {
				return graph.Stop
			}
			n++
			return fn(r)
		})
	}
	ids, err := s.catalogPackageIDs(ctx)
	if err != nil {
		return err
	}
	var all []Request
	for _, id := range ids {
		per := f
		per.AccessPackageID = id
		n := 0
		if err := s.listRequests(ctx, per, func(r Request) error {
			if f.Limit > 0 && n == f.Limit {
				return graph.Stop
			}
			n++
			all = append(all, r)
			return nil
		}); err != nil {
			return err
		}
	}
	slices.SortStableFunc(all, func(a, b Request) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[:f.Limit]
	}
	for _, r := range all {
		if err := fn(r); err != nil {
			return stopped(err)
		}
	}
	return nil
}

// listRequests is one request listing, newest first (Graph pages followed).
func (s *Service) listRequests(ctx context.Context, f RequestFilter, fn func(Request) error) error {
	var clauses []string
	if f.State != "" {
		clauses = append(clauses, graph.EqFilter("state", string(f.State)))
	}
	if f.AccessPackageID != "" {
		clauses = append(clauses, graph.EqFilter("accessPackage/id", f.AccessPackageID))
	}
	cfg := &igov.EntitlementManagementAssignmentRequestsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAssignmentRequestsRequestBuilderGetQueryParameters{
			Expand: requestListExpand, Orderby: []string{"createdDateTime desc"},
		},
	}
	if filter := graph.And(clauses...); filter != "" {
		cfg.QueryParameters.Filter = &filter
	}
	page, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().AssignmentRequests().Get(ctx, cfg))
	if err != nil {
		return graph.Wrap("list assignment requests", err)
	}
	return graph.Each(ctx, s.g, "list assignment requests", page,
		models.CreateAccessPackageAssignmentRequestCollectionResponseFromDiscriminatorValue,
		func(r models.AccessPackageAssignmentRequestable) error { return fn(toRequest(r, nil)) })
}

// stopped maps graph.Stop from a callback to a normal end, as graph.Each does.
func stopped(err error) error {
	if errors.Is(err, graph.Stop) {
		return nil
	}
	return err
}

func toCatalog(c models.AccessPackageCatalogable) Catalog {
	out := Catalog{ID: deref(c.GetId()), DisplayName: deref(c.GetDisplayName()), External: deref(c.GetIsExternallyVisible())}
	if t := c.GetCatalogType(); t != nil {
		out.Type = t.String()
	}
	if st := c.GetState(); st != nil {
		out.State = st.String()
	}
	return out
}

func toAccessPackage(p models.AccessPackageable) AccessPackage {
	out := AccessPackage{ID: deref(p.GetId()), DisplayName: deref(p.GetDisplayName()), Hidden: deref(p.GetIsHidden())}
	if c := p.GetCatalog(); c != nil {
		out.CatalogID, out.Catalog = deref(c.GetId()), deref(c.GetDisplayName())
	}
	if t := p.GetCreatedDateTime(); t != nil {
		out.CreatedAt = t.UTC()
	}
	return out
}
