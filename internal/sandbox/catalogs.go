package sandbox

import (
	"net/http"
	"slices"
	"strings"
)

const emCtx = "identityGovernance/entitlementManagement/"

func (s *Sandbox) createCatalog(c *reqCtx) (int, any, *graphError) {
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "accessPackageCatalog", "displayName", "description", "state", "isExternallyVisible", "catalogType"); err != nil {
		return 0, nil, err
	}
	name, err := requiredName(m, "displayName", 256)
	if err != nil {
		return 0, nil, err
	}
	desc, err := optString(m, "description")
	if err != nil {
		return 0, nil, err
	}
	state, err := enumValue(m, "state", "published", "unpublished", "published")
	if err != nil {
		return 0, nil, err
	}
	if _, err := enumValue(m, "catalogType", "userManaged", "userManaged"); err != nil {
		return 0, nil, err
	}
	ext, err := optBool(m, "isExternallyVisible", false)
	if err != nil {
		return 0, nil, err
	}
	cat := &catalogRec{ID: newID(), DisplayName: name, Description: desc, CatalogType: "userManaged", State: state,
		IsExternallyVisible: ext, Created: c.now, Modified: c.now}
	s.st.Catalogs = append(s.st.Catalogs, cat)
	return http.StatusCreated, s.entity(c, emCtx+"catalogs", catalogView(cat)), nil
}

func (s *Sandbox) listCatalogs(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand); err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, emCtx+"catalogs", collect(s.st.Catalogs, catalogView), nil), nil
}

func (s *Sandbox) getCatalog(c *reqCtx) (int, any, *graphError) {
	cat := s.st.catalog(c.params["id"])
	if cat == nil {
		return 0, nil, notFound("accessPackageCatalog", c.params["id"])
	}
	return 200, s.entity(c, emCtx+"catalogs", catalogView(cat)), nil
}

func (s *Sandbox) listCatalogResources(c *reqCtx) (int, any, *graphError) {
	cat := s.st.catalog(c.params["id"])
	if cat == nil {
		return 0, nil, notFound("accessPackageCatalog", c.params["id"])
	}
	if err := checkExpand(c.q.expand, "roles", "scopes"); err != nil {
		return 0, nil, err
	}
	var views []map[string]any
	byID := map[string]*resourceRec{}
	for _, r := range s.st.Resources {
		if r.CatalogID == cat.ID {
			views = append(views, resourceView(r))
			byID[r.ID] = r
		}
	}
	return 200, s.collection(c, emCtx+"catalogs('"+cat.ID+"')/resources", views, func(v map[string]any) map[string]any {
		return resourceOut(byID[v["id"].(string)], c.q.expand)
	}), nil
}

func (s *Sandbox) listCatalogResourceRoles(c *reqCtx) (int, any, *graphError) {
	cat := s.st.catalog(c.params["id"])
	if cat == nil {
		return 0, nil, notFound("accessPackageCatalog", c.params["id"])
	}
	if err := checkExpand(c.q.expand, "resource"); err != nil {
		return 0, nil, err
	}
	var views []map[string]any
	for _, r := range s.st.Resources {
		if r.CatalogID != cat.ID {
			continue
		}
		for _, ro := range r.Roles {
			v := roleView(ro)
			v["resource"] = resourceView(r)
			views = append(views, v)
		}
	}
	return 200, s.collection(c, emCtx+"catalogs('"+cat.ID+"')/resourceRoles", views, func(v map[string]any) map[string]any {
		if _, ok := expanded(c.q.expand, "resource"); ok {
			return v
		}
		out := map[string]any{}
		for k, val := range v {
			if k != "resource" {
				out[k] = val
			}
		}
		return out
	}), nil
}

// originResource builds the catalog resource (roles and root scope) for an object of the
// directory, SharePoint or the application gallery, as entitlement management onboards it.
func (s *Sandbox) originResource(c *reqCtx, originSystem, originID string) (*resourceRec, *graphError) {
	needRole := func(role string) *graphError {
		if c.caller != nil && c.caller.appOnly && !c.caller.roles[strings.ToLower(role)] {
			return forbidden("Insufficient privileges to complete the operation: adding this resource needs the " + role + " application permission.")
		}
		return nil
	}
	r := &resourceRec{ID: newID(), OriginSystem: originSystem, Created: c.now}
	root := func() resourceScopeRec {
		return resourceScopeRec{ID: newID(), DisplayName: "Root", Description: "Root Scope", OriginID: r.OriginID,
			OriginSystem: originSystem, IsRootScope: true}
	}
	switch originSystem {
	case "AadGroup":
		if err := needRole("Group.ReadWrite.All"); err != nil {
			return nil, err
		}
		g := s.st.group(originID)
		if g == nil {
			return nil, badRequest("The group '" + originID + "' was not found in the directory (originId of an AadGroup resource is the group object id).")
		}
		r.OriginID, r.DisplayName, r.Description = g.ID, g.DisplayName, g.Description
		r.Roles = []resourceRoleRec{
			{ID: newID(), DisplayName: "Owner", Description: "Owner", OriginID: "Owner_" + g.ID, OriginSystem: originSystem},
			{ID: newID(), DisplayName: "Member", Description: "Member", OriginID: "Member_" + g.ID, OriginSystem: originSystem},
		}
	case "AadApplication":
		if err := needRole("Application.ReadWrite.All"); err != nil {
			return nil, err
		}
		sp := s.st.servicePrincipal(originID)
		if sp == nil {
			return nil, badRequest("The service principal '" + originID + "' was not found (originId of an AadApplication resource is the servicePrincipal id).")
		}
		r.OriginID, r.DisplayName, r.Description = sp.ID, sp.DisplayName, sp.Description
		for _, ar := range sp.AppRoles {
			if slices.Contains(ar.AllowedMemberTypes, "User") {
				r.Roles = append(r.Roles, resourceRoleRec{ID: newID(), DisplayName: ar.DisplayName, Description: ar.Description,
					OriginID: ar.ID, OriginSystem: originSystem})
			}
		}
		if len(r.Roles) == 0 {
			r.Roles = []resourceRoleRec{{ID: newID(), DisplayName: "Default Access", OriginID: "00000000-0000-0000-0000-000000000000", OriginSystem: originSystem}}
		}
	case "SharePointOnline":
		if err := needRole("Sites.FullControl.All"); err != nil {
			return nil, err
		}
		var site *siteRec
		for _, st := range s.st.Sites {
			if strings.EqualFold(strings.TrimSuffix(st.WebURL, "/"), strings.TrimSuffix(originID, "/")) {
				site = st
			}
		}
		if site == nil {
			return nil, badRequest("The SharePoint site '" + originID + "' was not found (originId of a SharePointOnline resource is the site URL).")
		}
		r.OriginID, r.DisplayName, r.Description = site.WebURL, site.DisplayName, site.Description
		r.Roles = []resourceRoleRec{
			{ID: newID(), DisplayName: site.DisplayName + " Owners", OriginID: "3", OriginSystem: originSystem},
			{ID: newID(), DisplayName: site.DisplayName + " Members", OriginID: "4", OriginSystem: originSystem},
			{ID: newID(), DisplayName: site.DisplayName + " Visitors", OriginID: "5", OriginSystem: originSystem},
		}
	default:
		return nil, badRequest("Unsupported originSystem '" + originSystem + "'; the sandbox supports AadGroup, AadApplication and SharePointOnline.")
	}
	r.Scopes = []resourceScopeRec{root()}
	return r, nil
}

func (s *Sandbox) createResourceRequest(c *reqCtx) (int, any, *graphError) {
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "accessPackageResourceRequest", "requestType", "resource", "catalog", "justification"); err != nil {
		return 0, nil, err
	}
	rt, err := enumValue(m, "requestType", "", "adminAdd", "adminRemove", "adminUpdate")
	if err != nil {
		return 0, nil, err
	}
	cat := s.st.catalog(refID(m, "catalog"))
	if cat == nil {
		return 0, nil, badRequest("catalog.id must reference an existing catalog.")
	}
	res := obj(m, "resource")
	if res == nil {
		return 0, nil, badRequest("Property 'resource' is required.")
	}
	originSystem, originID := str(res, "originSystem"), str(res, "originId")
	var existing *resourceRec
	for _, r := range s.st.Resources {
		if r.CatalogID == cat.ID && ((str(res, "id") != "" && r.ID == str(res, "id")) ||
			(originID != "" && strings.EqualFold(r.OriginID, originID) && strings.EqualFold(r.OriginSystem, originSystem))) {
			existing = r
		}
	}
	req := &resourceRequestRec{ID: newID(), RequestType: rt, State: "delivered", CatalogID: cat.ID, Created: c.now}
	switch rt {
	case "adminAdd":
		if existing != nil {
			return 0, nil, gerr(http.StatusBadRequest, "ResourceAlreadyOnboarded", "The resource is already part of the catalog.")
		}
		r, oerr := s.originResource(c, originSystem, originID)
		if oerr != nil {
			return 0, nil, oerr
		}
		r.CatalogID = cat.ID
		s.st.Resources = append(s.st.Resources, r)
		req.ResourceID = r.ID
	case "adminRemove":
		if existing == nil {
			return 0, nil, notFound("accessPackageResource", str(res, "id")+originID)
		}
		for _, p := range s.st.AccessPackages {
			for _, rs := range p.RoleScopes {
				if rs.ResourceID == existing.ID {
					return 0, nil, gerr(http.StatusBadRequest, "ResourceInUse", "The resource is used by access package '"+p.DisplayName+"'; remove it from the access package first.")
				}
			}
		}
		s.st.Resources = slices.DeleteFunc(s.st.Resources, func(r *resourceRec) bool { return r == existing })
		req.ResourceID = existing.ID
	default:
		if existing == nil {
			return 0, nil, notFound("accessPackageResource", str(res, "id")+originID)
		}
		req.ResourceID = existing.ID
	}
	s.st.ResourceRequests = append(s.st.ResourceRequests, req)
	return http.StatusCreated, s.entity(c, emCtx+"resourceRequests", map[string]any{
		"id": req.ID, "requestType": req.RequestType, "state": req.State, "createdDateTime": fmtTime(req.Created),
	}), nil
}
