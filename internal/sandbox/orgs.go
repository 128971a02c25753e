package sandbox

import (
	"net/http"
	"slices"
	"strings"
)

func (s *Sandbox) knownTenantByDomain(domain string) *knownTenant {
	for i := range s.st.KnownTenants {
		if strings.EqualFold(s.st.KnownTenants[i].Domain, domain) {
			return &s.st.KnownTenants[i]
		}
	}
	return nil
}

func (s *Sandbox) knownTenantByID(id string) *knownTenant {
	for i := range s.st.KnownTenants {
		if strings.EqualFold(s.st.KnownTenants[i].TenantID, id) {
			return &s.st.KnownTenants[i]
		}
	}
	return nil
}

// findTenantByDomain serves tenantRelationships/findTenantInformationByDomainName: the Entra tenant a
// domain belongs to, which clients need when a domain-only connected organization turns out to be
// an Entra tenant.
func (s *Sandbox) findTenantByDomain(c *reqCtx) (int, any, *graphError) {
	kt := s.knownTenantByDomain(c.params["domain"])
	if kt == nil {
		return 0, nil, gerr(http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '"+c.params["domain"]+"' does not exist or one of its queried reference-property objects are not present.")
	}
	return 200, map[string]any{
		"@odata.context":      s.GraphURL() + "/$metadata#microsoft.graph.tenantInformation",
		"tenantId":            kt.TenantID,
		"displayName":         kt.DisplayName,
		"defaultDomainName":   kt.Domain,
		"federationBrandName": nil,
	}, nil
}

// normalizeIdentitySource validates one identity source. A domainIdentitySource whose domain
// belongs to a known Entra tenant is stored as that tenant's azureActiveDirectoryTenant source,
// which is what Entra does (the docs warn clients about it).
func (s *Sandbox) normalizeIdentitySource(src map[string]any) (map[string]any, *graphError) {
	switch t := str(src, "@odata.type"); t {
	case "#microsoft.graph.domainIdentitySource", "#microsoft.graph.externalDomainFederation":
		domain := strings.ToLower(str(src, "domainName"))
		if !validDomain(domain) {
			return nil, badRequest("identitySources: domainName '" + str(src, "domainName") + "' is not a valid domain name.")
		}
		if strings.EqualFold(domain, TenantDomain) {
			return nil, badRequest("identitySources: '" + domain + "' is a domain of this tenant.")
		}
		if kt := s.knownTenantByDomain(domain); kt != nil {
			return map[string]any{"@odata.type": "#microsoft.graph.azureActiveDirectoryTenant", "tenantId": kt.TenantID, "displayName": kt.DisplayName}, nil
		}
		name := str(src, "displayName")
		if name == "" {
			name = domain
		}
		out := map[string]any{"@odata.type": t, "domainName": domain, "displayName": name}
		if t == "#microsoft.graph.externalDomainFederation" {
			out["issuerUri"] = str(src, "issuerUri")
		}
		return out, nil
	case "#microsoft.graph.azureActiveDirectoryTenant":
		tid := strings.ToLower(str(src, "tenantId"))
		if tid == "" || len(tid) > 64 || strings.ContainsAny(tid, " '\"/") {
			return nil, badRequest("identitySources: azureActiveDirectoryTenant needs a tenantId.")
		}
		if strings.EqualFold(tid, TenantID) {
			return nil, badRequest("identitySources: the tenant itself cannot be a connected organization.")
		}
		name := str(src, "displayName")
		if kt := s.knownTenantByID(tid); kt != nil {
			name = kt.DisplayName
		}
		return map[string]any{"@odata.type": t, "tenantId": tid, "displayName": name}, nil
	default:
		return nil, badRequest("identitySources: unsupported '@odata.type' " + t + "; use domainIdentitySource, azureActiveDirectoryTenant or externalDomainFederation.")
	}
}

// sourceKey identifies an identity source for duplicate detection and membership.
func sourceKey(src map[string]any) string {
	if tid := str(src, "tenantId"); tid != "" {
		return "tenant:" + strings.ToLower(tid)
	}
	return "domain:" + strings.ToLower(str(src, "domainName"))
}

func (s *Sandbox) createConnectedOrg(c *reqCtx) (int, any, *graphError) {
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "connectedOrganization", "displayName", "description", "identitySources", "state"); err != nil {
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
	state, err := enumValue(m, "state", "configured", "configured", "proposed")
	if err != nil {
		return 0, nil, err
	}
	srcs := arr(m, "identitySources")
	if len(srcs) != 1 {
		return 0, nil, badRequest("identitySources must contain exactly one identity source.")
	}
	raw, ok := srcs[0].(map[string]any)
	if !ok {
		return 0, nil, badRequest("identitySources must contain an object.")
	}
	src, err := s.normalizeIdentitySource(raw)
	if err != nil {
		return 0, nil, err
	}
	for _, o := range s.st.ConnectedOrgs {
		for _, other := range o.IdentitySources {
			if sourceKey(other) == sourceKey(src) {
				return 0, nil, conflict("Connected organization '" + o.DisplayName + "' (" + o.ID + ") already has this identity source.")
			}
		}
	}
	org := &connectedOrgRec{ID: newID(), DisplayName: name, Description: desc, IdentitySources: []map[string]any{src},
		State: state, Created: c.now, Modified: c.now}
	s.st.ConnectedOrgs = append(s.st.ConnectedOrgs, org)
	return http.StatusCreated, s.entity(c, emCtx+"connectedOrganizations", connectedOrgView(org)), nil
}

func (s *Sandbox) listConnectedOrgs(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "internalSponsors", "externalSponsors"); err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, emCtx+"connectedOrganizations", collect(s.st.ConnectedOrgs, connectedOrgView), func(v map[string]any) map[string]any {
		return s.orgOut(s.st.connectedOrg(v["id"].(string)), c.q.expand)
	}), nil
}

func (s *Sandbox) orgOut(o *connectedOrgRec, ex map[string]*expandNode) map[string]any {
	v := connectedOrgView(o)
	if _, ok := expanded(ex, "internalSponsors"); ok {
		v["internalSponsors"] = s.directoryObjects(o.InternalSponsorIDs)
	}
	if _, ok := expanded(ex, "externalSponsors"); ok {
		v["externalSponsors"] = s.directoryObjects(o.ExternalSponsorIDs)
	}
	return v
}

func (s *Sandbox) getConnectedOrg(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "internalSponsors", "externalSponsors"); err != nil {
		return 0, nil, err
	}
	o := s.st.connectedOrg(c.params["id"])
	if o == nil {
		return 0, nil, notFound("connectedOrganization", c.params["id"])
	}
	return 200, s.entity(c, emCtx+"connectedOrganizations", s.orgOut(o, c.q.expand)), nil
}

func (s *Sandbox) updateConnectedOrg(c *reqCtx) (int, any, *graphError) {
	o := s.st.connectedOrg(c.params["id"])
	if o == nil {
		return 0, nil, notFound("connectedOrganization", c.params["id"])
	}
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "connectedOrganization", "displayName", "description", "state"); err != nil {
		return 0, nil, err
	}
	if _, ok := m["displayName"]; ok {
		if o.DisplayName, err = requiredName(m, "displayName", 256); err != nil {
			return 0, nil, err
		}
	}
	if _, ok := m["description"]; ok {
		if o.Description, err = optString(m, "description"); err != nil {
			return 0, nil, err
		}
	}
	if o.State, err = enumValue(m, "state", o.State, "configured", "proposed"); err != nil {
		return 0, nil, err
	}
	o.Modified = c.now
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) deleteConnectedOrg(c *reqCtx) (int, any, *graphError) {
	o := s.st.connectedOrg(c.params["id"])
	if o == nil {
		return 0, nil, notFound("connectedOrganization", c.params["id"])
	}
	for _, p := range s.st.Policies {
		for _, t := range rulesOf(p).SpecificAllowedTargets {
			if strings.EqualFold(str(t, "connectedOrganizationId"), o.ID) {
				return 0, nil, gerr(http.StatusBadRequest, "ConnectedOrganizationInUse", "The connected organization is used by assignment policy '"+str(p.Props, "displayName")+"'.")
			}
		}
	}
	s.st.ConnectedOrgs = slices.DeleteFunc(s.st.ConnectedOrgs, func(x *connectedOrgRec) bool { return x == o })
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) orgSponsors(o *connectedOrgRec, internal bool) *[]string {
	if internal {
		return &o.InternalSponsorIDs
	}
	return &o.ExternalSponsorIDs
}

func (s *Sandbox) listOrgSponsors(internal bool) handlerFunc {
	return func(c *reqCtx) (int, any, *graphError) {
		o := s.st.connectedOrg(c.params["id"])
		if o == nil {
			return 0, nil, notFound("connectedOrganization", c.params["id"])
		}
		return 200, s.collection(c, "directoryObjects", s.directoryObjects(*s.orgSponsors(o, internal)), nil), nil
	}
}

func (s *Sandbox) addOrgSponsor(internal bool) handlerFunc {
	return func(c *reqCtx) (int, any, *graphError) {
		o := s.st.connectedOrg(c.params["id"])
		if o == nil {
			return 0, nil, notFound("connectedOrganization", c.params["id"])
		}
		id, err := s.refTarget(c)
		if err != nil {
			return 0, nil, err
		}
		if u := s.st.user(id); internal && u != nil && u.UserType != "Member" {
			return 0, nil, badRequest("Internal sponsors must be members of the tenant; add external users as external sponsors.")
		}
		list := s.orgSponsors(o, internal)
		if slices.Contains(*list, id) {
			prop := "externalSponsors"
			if internal {
				prop = "internalSponsors"
			}
			return 0, nil, gerr(http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: '"+prop+"'.")
		}
		*list = append(*list, id)
		o.Modified = c.now
		return http.StatusNoContent, nil, nil
	}
}

func (s *Sandbox) removeOrgSponsor(internal bool) handlerFunc {
	return func(c *reqCtx) (int, any, *graphError) {
		o := s.st.connectedOrg(c.params["id"])
		if o == nil {
			return 0, nil, notFound("connectedOrganization", c.params["id"])
		}
		list := s.orgSponsors(o, internal)
		if !slices.Contains(*list, c.params["oid"]) {
			return 0, nil, dirNotFound(c.params["oid"])
		}
		*list = slices.DeleteFunc(*list, func(x string) bool { return x == c.params["oid"] })
		o.Modified = c.now
		return http.StatusNoContent, nil, nil
	}
}

// connectedOrgOfLocked returns the connected organization an external user belongs to (by home
// tenant or email domain), or nil.
func (s *Sandbox) connectedOrgOfLocked(u *userRec) *connectedOrgRec {
	if u == nil || !isExternal(u) {
		return nil
	}
	domain := emailDomain(u.Mail)
	tenant := u.HomeTenantID
	if tenant == "" {
		if kt := s.knownTenantByDomain(domain); kt != nil {
			tenant = kt.TenantID
		}
	}
	for _, o := range s.st.ConnectedOrgs {
		for _, src := range o.IdentitySources {
			k := sourceKey(src)
			if (tenant != "" && k == "tenant:"+strings.ToLower(tenant)) || (domain != "" && k == "domain:"+domain) {
				return o
			}
		}
	}
	return nil
}

// isExternal reports whether a user comes from outside the tenant.
func isExternal(u *userRec) bool {
	return u.UserType == "Guest" || (emailDomain(u.Mail) != "" && !strings.EqualFold(emailDomain(u.Mail), TenantDomain))
}
