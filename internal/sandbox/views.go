package sandbox

import (
	"encoding/json"
	"strings"
	"time"
)

// Views render storage records into Graph v1.0 JSON. Each *View function returns the full set of
// properties (used for $filter and $select); navigation properties are added only when expanded,
// except in the filter views, which carry the navigations Graph lets clients filter on
// (accessPackage/id, target/objectId, …).

func fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func strs(xs []string) []any {
	out := make([]any, 0, len(xs))
	for _, x := range xs {
		out = append(out, x)
	}
	return out
}

// userDefaultProps are the properties Graph returns for a user without $select.
var userDefaultProps = []string{"id", "businessPhones", "displayName", "givenName", "jobTitle", "mail",
	"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}

func userView(u *userRec) map[string]any {
	return map[string]any{
		"id":                u.ID,
		"businessPhones":    []any{},
		"displayName":       u.DisplayName,
		"givenName":         strOrNil(u.GivenName),
		"surname":           strOrNil(u.Surname),
		"jobTitle":          strOrNil(u.JobTitle),
		"department":        strOrNil(u.Department),
		"mail":              strOrNil(u.Mail),
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"userPrincipalName": u.UPN,
		"userType":          u.UserType,
		"externalUserState": strOrNil(u.ExternalUserState),
		"creationType":      strOrNil(u.CreationType),
		"accountEnabled":    true,
		"createdDateTime":   fmtTime(u.Created),
		"otherMails":        []any{},
		"identities":        []any{},
	}
}

// userOut trims a full user view to Graph's default properties when no $select was given.
func userOut(v map[string]any, q *queryOptions) map[string]any {
	if len(q.selct) > 0 {
		return v
	}
	out := map[string]any{}
	for _, k := range userDefaultProps {
		out[k] = v[k]
	}
	for k, val := range v {
		if strings.HasPrefix(k, "@odata.") {
			out[k] = val
		}
	}
	return out
}

// dirObject tags a view with its derived type, as Graph does in directoryObject collections.
func dirObject(v map[string]any, typ string) map[string]any {
	v["@odata.type"] = "#microsoft.graph." + typ
	return v
}

func groupView(g *groupRec) map[string]any {
	return map[string]any{
		"id":                          g.ID,
		"displayName":                 g.DisplayName,
		"description":                 strOrNil(g.Description),
		"mail":                        strOrNil(g.Mail),
		"mailNickname":                g.MailNickname,
		"mailEnabled":                 g.MailEnabled,
		"securityEnabled":             g.SecurityEnabled,
		"groupTypes":                  strs(g.GroupTypes),
		"resourceProvisioningOptions": strs(g.ResourceProvisioningOptions),
		"visibility":                  strOrNil(g.Visibility),
		"createdDateTime":             fmtTime(g.Created),
	}
}

func siteView(st *siteRec) map[string]any {
	return map[string]any{
		"id":                   st.ID,
		"name":                 st.Name,
		"displayName":          st.DisplayName,
		"description":          strOrNil(st.Description),
		"webUrl":               st.WebURL,
		"createdDateTime":      fmtTime(st.Created),
		"lastModifiedDateTime": fmtTime(st.Created),
		"siteCollection":       map[string]any{"hostname": "example.sharepoint.com"},
	}
}

func appRoleView(r appRoleRec) map[string]any {
	return map[string]any{
		"id":                 r.ID,
		"displayName":        r.DisplayName,
		"description":        r.Description,
		"value":              r.Value,
		"isEnabled":          true,
		"origin":             "Application",
		"allowedMemberTypes": strs(r.AllowedMemberTypes),
	}
}

func servicePrincipalView(sp *servicePrincipalRec) map[string]any {
	roles := make([]any, 0, len(sp.AppRoles))
	for _, r := range sp.AppRoles {
		roles = append(roles, appRoleView(r))
	}
	return map[string]any{
		"id":                     sp.ID,
		"appId":                  sp.AppID,
		"displayName":            sp.DisplayName,
		"description":            strOrNil(sp.Description),
		"servicePrincipalType":   "Application",
		"accountEnabled":         true,
		"appOwnerOrganizationId": strOrNil(sp.OwnerTenant),
		"tags":                   strs(sp.Tags),
		"appRoles":               roles,
	}
}

func catalogView(c *catalogRec) map[string]any {
	return map[string]any{
		"id":                  c.ID,
		"displayName":         c.DisplayName,
		"description":         c.Description,
		"catalogType":         c.CatalogType,
		"state":               c.State,
		"isExternallyVisible": c.IsExternallyVisible,
		"createdDateTime":     fmtTime(c.Created),
		"modifiedDateTime":    fmtTime(c.Modified),
	}
}

func resourceView(r *resourceRec) map[string]any {
	return map[string]any{
		"id":               r.ID,
		"displayName":      r.DisplayName,
		"description":      strOrNil(r.Description),
		"originId":         r.OriginID,
		"originSystem":     r.OriginSystem,
		"createdDateTime":  fmtTime(r.Created),
		"modifiedDateTime": fmtTime(r.Created),
		"attributes":       []any{},
	}
}

func roleView(r resourceRoleRec) map[string]any {
	return map[string]any{
		"id":           r.ID,
		"displayName":  r.DisplayName,
		"description":  strOrNil(r.Description),
		"originId":     r.OriginID,
		"originSystem": r.OriginSystem,
	}
}

func scopeView(sc resourceScopeRec) map[string]any {
	return map[string]any{
		"id":           sc.ID,
		"displayName":  sc.DisplayName,
		"description":  strOrNil(sc.Description),
		"originId":     sc.OriginID,
		"originSystem": sc.OriginSystem,
		"isRootScope":  sc.IsRootScope,
	}
}

// resourceOut renders a catalog resource with roles/scopes when expanded.
func resourceOut(r *resourceRec, ex map[string]*expandNode) map[string]any {
	v := resourceView(r)
	if _, ok := expanded(ex, "roles"); ok {
		roles := make([]any, 0, len(r.Roles))
		for _, ro := range r.Roles {
			roles = append(roles, roleView(ro))
		}
		v["roles"] = roles
	}
	if _, ok := expanded(ex, "scopes"); ok {
		scopes := make([]any, 0, len(r.Scopes))
		for _, sc := range r.Scopes {
			scopes = append(scopes, scopeView(sc))
		}
		v["scopes"] = scopes
	}
	return v
}

func accessPackageView(p *accessPackageRec) map[string]any {
	return map[string]any{
		"id":               p.ID,
		"displayName":      p.DisplayName,
		"description":      p.Description,
		"isHidden":         p.IsHidden,
		"createdDateTime":  fmtTime(p.Created),
		"modifiedDateTime": fmtTime(p.Modified),
	}
}

// policyPropNames are the writable properties of accessPackageAssignmentPolicy (v1.0).
var policyPropNames = []string{"displayName", "description", "allowedTargetScope", "specificAllowedTargets",
	"expiration", "requestorSettings", "requestApprovalSettings", "reviewSettings", "automaticRequestSettings",
	"questions", "notificationSettings"}

func policyView(p *policyRec) map[string]any {
	v := map[string]any{
		"id":               p.ID,
		"createdDateTime":  fmtTime(p.Created),
		"modifiedDateTime": fmtTime(p.Modified),
	}
	for _, k := range policyPropNames {
		v[k] = deepCopy(p.Props[k])
	}
	return v
}

func deepCopy(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

func connectedOrgView(o *connectedOrgRec) map[string]any {
	srcs := make([]any, 0, len(o.IdentitySources))
	for _, src := range o.IdentitySources {
		srcs = append(srcs, deepCopy(src))
	}
	return map[string]any{
		"id":               o.ID,
		"displayName":      o.DisplayName,
		"description":      o.Description,
		"identitySources":  srcs,
		"state":            o.State,
		"createdDateTime":  fmtTime(o.Created),
		"modifiedDateTime": fmtTime(o.Modified),
	}
}

func scheduleView(start time.Time, exp map[string]any, end time.Time) map[string]any {
	e := map[string]any{"type": "notSpecified", "duration": nil, "endDateTime": fmtTime(end)}
	if exp != nil {
		if t, ok := exp["type"].(string); ok {
			e["type"] = t
		}
		if d, ok := exp["duration"].(string); ok {
			e["duration"] = d
		}
	}
	return map[string]any{"startDateTime": fmtTime(start), "expiration": e, "recurrence": nil}
}
