package sandbox

import (
	"net/http"
	"strings"
)

// Catalog-scoped entitlement-management roles held by the calling app (restricted mode).
//
// Graph accepts, for app-only calls, an entitlement-management role assigned to the calling app's
// service principal in place of the EntitlementManagement application permission ("In app-only
// scenarios, the calling app can be assigned one of the preceding supported roles instead of the
// EntitlementManagement.Read.All application permission"). A role scoped to a catalog
// (appScopeId "/AccessPackageCatalog/{id}", see AssignEntitlementRole) reaches that catalog's
// objects only, and listings that span catalogs must be narrowed to them: Graph documents that
// a caller "assigned only to catalog-specific administrative roles" must list assignments and
// assignment requests with $filter=accessPackage/id eq '…'. The sandbox applies the same rule to
// the other cross-catalog listings (access packages by catalog/id, policies by catalog/id or
// accessPackage/id) and refuses catalog and connected-organization listings outright. Where
// Graph documents nothing it is stricter than Entra may be — an unfiltered listing answers 403
// rather than being narrowed silently — so a client that works here does not rely on
// undocumented narrowing.
//
// Only reads are modelled: any catalog-scoped role (Catalog reader, Catalog owner, Access package
// manager, Access package assignment manager) reads its catalog's objects. Writes still need
// EntitlementManagement.ReadWrite.All.

// catalogScopePrefix starts the appScopeId of a catalog-scoped role assignment.
const catalogScopePrefix = "/AccessPackageCatalog/"

// scopeRule reports whether a request reads only objects of catalogs for which in is true.
type scopeRule func(s *Sandbox, c *reqCtx, in func(catalogID string) bool) bool

// catalogScopedRoutes are the read routes a catalog-scoped role may call, by route key.
var catalogScopedRoutes = map[string]scopeRule{
	"GET " + emPath + "/catalogs/{id}":                          catalogParam,
	"GET " + emPath + "/catalogs/{id}/resources":                catalogParam,
	"GET " + emPath + "/catalogs/{id}/resourceRoles":            catalogParam,
	"GET " + emPath + "/accessPackages":                         filterPins(pinCatalog),
	"GET " + emPath + "/accessPackages/{id}":                    packageParam,
	"GET " + emPath + "/accessPackages/{id}/resourceRoleScopes": packageParam,
	"GET " + emPath + "/accessPackages/{id}/assignmentPolicies": packageParam,
	"GET " + emPath + "/assignmentPolicies":                     filterPins(pinCatalog, pinPackage),
	"GET " + emPath + "/assignmentPolicies/{id}":                policyParam,
	"GET " + emPath + "/assignmentRequests":                     filterPins(pinPackage),
	"GET " + emPath + "/assignmentRequests/{id}":                requestParam,
	"GET " + emPath + "/assignments":                            filterPins(pinPackage),
	"GET " + emPath + "/assignments/{id}":                       assignmentParam,
}

// catalogRolesLocked returns the catalogs (lower-case ids) on which principalID holds an
// entitlement-management role.
func (s *Sandbox) catalogRolesLocked(principalID string) map[string]bool {
	out := map[string]bool{}
	for _, a := range s.st.EMRoleAssignments {
		if !strings.EqualFold(a.PrincipalID, principalID) || len(a.AppScopeID) <= len(catalogScopePrefix) ||
			!strings.EqualFold(a.AppScopeID[:len(catalogScopePrefix)], catalogScopePrefix) {
			continue
		}
		out[strings.ToLower(a.AppScopeID[len(catalogScopePrefix):])] = true
	}
	return out
}

// catalogRoleCheckLocked runs after an app-only caller failed the route's application
// permission check (denied): it returns nil when a catalog-scoped role of the caller's service
// principal covers the request, else the refusal to answer: denied itself, or, when the caller
// holds catalog roles and the route admits them but the request is not narrowed to their
// catalogs, a refusal saying so.
func (s *Sandbox) catalogRoleCheckLocked(rt *route, c *reqCtx, denied *graphError) *graphError {
	if c.caller == nil || !c.caller.appOnly || rt.perm == nil || rt.perm.app == nil {
		return denied
	}
	catalogs := s.catalogRolesLocked(c.caller.oid)
	if len(catalogs) == 0 {
		return denied
	}
	rule, ok := catalogScopedRoutes[rt.key()]
	if !ok {
		return denied
	}
	if rule(s, c, func(id string) bool { return catalogs[strings.ToLower(id)] }) {
		return nil
	}
	return gerr(http.StatusForbidden, "Authorization_RequestDenied",
		"The application holds only catalog-scoped entitlement management roles: read objects of those catalogs, and narrow "+
			"listings to them with $filter (accessPackage/id eq '…' for assignments and requests, catalog/id eq '…' for access packages).")
}

func catalogParam(_ *Sandbox, c *reqCtx, in func(string) bool) bool { return in(c.params["id"]) }

func packageParam(s *Sandbox, c *reqCtx, in func(string) bool) bool {
	// A missing object is let through (here and below), so the handler answers 404 as Graph does.
	p := s.st.accessPackage(c.params["id"])
	return p == nil || in(p.CatalogID)
}

func policyParam(s *Sandbox, c *reqCtx, in func(string) bool) bool {
	p := s.st.policy(c.params["id"])
	return p == nil || in(p.CatalogID)
}

func requestParam(s *Sandbox, c *reqCtx, in func(string) bool) bool {
	r := s.st.request(c.params["id"])
	return r == nil || packageIn(s, r.AccessPackageID, in)
}

func assignmentParam(s *Sandbox, c *reqCtx, in func(string) bool) bool {
	a := s.st.assignment(c.params["id"])
	return a == nil || packageIn(s, a.AccessPackageID, in)
}

// packageIn reports whether access package id exists in a catalog for which in is true.
func packageIn(s *Sandbox, id string, in func(string) bool) bool {
	p := s.st.accessPackage(id)
	return p != nil && in(p.CatalogID)
}

// pin is a property path of a listing's $filter that, compared with eq, narrows the listing to
// one catalog: ok reports whether value names an object of a catalog for which in is true.
type pin struct {
	path []string
	ok   func(s *Sandbox, value string, in func(string) bool) bool
}

var (
	pinCatalog = pin{path: []string{"catalog", "id"}, ok: func(_ *Sandbox, v string, in func(string) bool) bool { return in(v) }}
	pinPackage = pin{path: []string{"accessPackage", "id"}, ok: packageIn}
)

// filterPins is the rule of a cross-catalog listing: its $filter must narrow it to the caller's
// catalogs through one of pins.
func filterPins(pins ...pin) scopeRule {
	return func(s *Sandbox, c *reqCtx, in func(string) bool) bool {
		if c.q == nil || c.q.filter == nil {
			return false
		}
		return pinned(s, c.q.filter.root, pins, in)
	}
}

// pinned reports whether every entity n can match is narrowed by pins: one conjunct of an "and"
// suffices, both sides of an "or" must be, and an eq or in comparison of a pinned path with
// literals is when every literal is accepted.
func pinned(s *Sandbox, n node, pins []pin, in func(string) bool) bool {
	switch x := n.(type) {
	case andNode:
		return pinned(s, x.l, pins, in) || pinned(s, x.r, pins, in)
	case orNode:
		return pinned(s, x.l, pins, in) && pinned(s, x.r, pins, in)
	case cmpNode:
		if x.op != "eq" {
			return false
		}
		path, lit := x.l, x.r
		if _, ok := path.(pathNode); !ok {
			path, lit = lit, path
		}
		pn, ok1 := path.(pathNode)
		ln, ok2 := lit.(litNode)
		return ok1 && ok2 && pinnedValues(s, pn, []any{ln.v}, pins, in)
	case inNode:
		pn, ok := x.x.(pathNode)
		return ok && len(x.list) > 0 && pinnedValues(s, pn, x.list, pins, in)
	}
	return false
}

func pinnedValues(s *Sandbox, pn pathNode, values []any, pins []pin, in func(string) bool) bool {
	for _, p := range pins {
		if !samePath(pn.segs, p.path) {
			continue
		}
		for _, v := range values {
			str, ok := v.(string)
			if !ok || !p.ok(s, str, in) {
				return false
			}
		}
		return true
	}
	return false
}

func samePath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}
