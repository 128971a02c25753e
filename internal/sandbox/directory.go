package sandbox

import (
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
)

// collect renders records into full views for filtering.
func collect[T any](xs []*T, view func(*T) map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(xs))
	for _, x := range xs {
		out = append(out, view(x))
	}
	return out
}

// searchFilter applies $search (directory syntax) to views.
func searchFilter(c *reqCtx, views []map[string]any) ([]map[string]any, *graphError) {
	if c.q.search == "" {
		return views, nil
	}
	terms, all, err := parseSearch(c.r, c.q.search)
	if err != nil {
		return nil, err
	}
	out := views[:0:0]
	for _, v := range views {
		if searchMatch(v, terms, all) {
			out = append(out, v)
		}
	}
	return out, nil
}

func (s *Sandbox) listUsers(c *reqCtx) (int, any, *graphError) {
	views, err := searchFilter(c, collect(s.st.Users, userView))
	if err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, "users", views, func(v map[string]any) map[string]any { return userOut(v, c.q) }), nil
}

func (s *Sandbox) getUser(c *reqCtx) (int, any, *graphError) {
	u := s.st.userByIDOrUPN(c.params["id"])
	if u == nil {
		return 0, nil, dirNotFound(c.params["id"])
	}
	return 200, s.entity(c, "users", userOut(userView(u), c.q)), nil
}

func (s *Sandbox) getMe(c *reqCtx) (int, any, *graphError) {
	u := s.st.user(c.caller.oid)
	if u == nil {
		return 0, nil, dirNotFound(c.caller.oid)
	}
	return 200, s.entity(c, "users", userOut(userView(u), c.q)), nil
}

func (s *Sandbox) getManager(c *reqCtx) (int, any, *graphError) {
	u := s.st.userByIDOrUPN(c.params["id"])
	if u == nil {
		return 0, nil, dirNotFound(c.params["id"])
	}
	m := s.st.user(u.ManagerID)
	if m == nil {
		return 0, nil, dirNotFound("manager")
	}
	return 200, s.entity(c, "directoryObjects", dirObject(userOut(userView(m), c.q), "user")), nil
}

func (s *Sandbox) listSponsors(c *reqCtx) (int, any, *graphError) {
	u := s.st.userByIDOrUPN(c.params["id"])
	if u == nil {
		return 0, nil, dirNotFound(c.params["id"])
	}
	return 200, s.collection(c, "directoryObjects", s.directoryObjects(u.SponsorIDs), nil), nil
}

// directoryObjects renders users and groups by id, tagged with their types.
func (s *Sandbox) directoryObjects(ids []string) []map[string]any {
	var out []map[string]any
	for _, id := range ids {
		if u := s.st.user(id); u != nil {
			out = append(out, dirObject(userView(u), "user"))
		} else if g := s.st.group(id); g != nil {
			out = append(out, dirObject(groupView(g), "group"))
		}
	}
	return out
}

// refTarget resolves an "@odata.id" reference body to a user or group id.
func (s *Sandbox) refTarget(c *reqCtx) (string, *graphError) {
	var body map[string]any
	if err := decodeBody(c.r, &body); err != nil {
		return "", err
	}
	ref, _ := body["@odata.id"].(string)
	u, perr := url.Parse(ref)
	if ref == "" || perr != nil {
		return "", badRequest("The request body must be a reference: {\"@odata.id\": \"https://graph.microsoft.com/v1.0/users/{id}\"}.")
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 {
		return "", badRequest("Invalid @odata.id reference '" + ref + "'.")
	}
	kind, id := segs[len(segs)-2], segs[len(segs)-1]
	switch strings.ToLower(kind) {
	case "users", "directoryobjects":
		if u := s.st.userByIDOrUPN(id); u != nil {
			return u.ID, nil
		}
		if kind != "users" && s.st.group(id) != nil {
			return id, nil
		}
	case "groups":
		if s.st.group(id) != nil {
			return id, nil
		}
	default:
		return "", badRequest("Invalid @odata.id reference '" + ref + "'.")
	}
	return "", dirNotFound(id)
}

func (s *Sandbox) addSponsor(c *reqCtx) (int, any, *graphError) {
	u := s.st.userByIDOrUPN(c.params["id"])
	if u == nil {
		return 0, nil, dirNotFound(c.params["id"])
	}
	id, err := s.refTarget(c)
	if err != nil {
		return 0, nil, err
	}
	if slices.Contains(u.SponsorIDs, id) {
		return 0, nil, gerr(http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'sponsors'.")
	}
	u.SponsorIDs = append(u.SponsorIDs, id)
	return http.StatusNoContent, nil, nil
}

// memberGroupsLocked returns the ids of groups id is a member of (transitively when asked).
func (s *Sandbox) memberGroupsLocked(id string, transitive bool) []string {
	seen := map[string]bool{}
	var out []string
	frontier := []string{id}
	for len(frontier) > 0 {
		cur := frontier[0]
		frontier = frontier[1:]
		for _, g := range s.st.Groups {
			if slices.Contains(g.MemberIDs, cur) && !seen[g.ID] {
				seen[g.ID] = true
				out = append(out, g.ID)
				if transitive {
					frontier = append(frontier, g.ID)
				}
			}
		}
	}
	return out
}

// groupUsersLocked returns the user ids in a group, expanding nested groups.
func (s *Sandbox) groupUsersLocked(groupID string) []string {
	seen := map[string]bool{groupID: true}
	var out []string
	frontier := []string{groupID}
	for len(frontier) > 0 {
		g := s.st.group(frontier[0])
		frontier = frontier[1:]
		if g == nil {
			continue
		}
		for _, m := range g.MemberIDs {
			if seen[m] {
				continue
			}
			seen[m] = true
			if s.st.group(m) != nil {
				frontier = append(frontier, m)
			} else if s.st.user(m) != nil {
				out = append(out, m)
			}
		}
	}
	return out
}

func (s *Sandbox) listMemberOf(transitive bool) handlerFunc {
	return func(c *reqCtx) (int, any, *graphError) {
		u := s.st.userByIDOrUPN(c.params["id"])
		if u == nil {
			return 0, nil, dirNotFound(c.params["id"])
		}
		return 200, s.collection(c, "directoryObjects", s.directoryObjects(s.memberGroupsLocked(u.ID, transitive)), nil), nil
	}
}

func (s *Sandbox) checkMemberGroups(c *reqCtx) (int, any, *graphError) {
	u := s.st.userByIDOrUPN(c.params["id"])
	if u == nil {
		return 0, nil, dirNotFound(c.params["id"])
	}
	var body struct {
		GroupIDs []string `json:"groupIds"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	if len(body.GroupIDs) == 0 || len(body.GroupIDs) > 20 {
		return 0, nil, badRequest("groupIds must contain between 1 and 20 group ids.")
	}
	member := s.memberGroupsLocked(u.ID, true)
	out := []any{}
	for _, g := range body.GroupIDs {
		if slices.Contains(member, g) {
			out = append(out, g)
		}
	}
	return 200, map[string]any{"@odata.context": s.GraphURL() + "/$metadata#Collection(Edm.String)", "value": out}, nil
}

func (s *Sandbox) listGroups(c *reqCtx) (int, any, *graphError) {
	views, err := searchFilter(c, collect(s.st.Groups, groupView))
	if err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, "groups", views, nil), nil
}

func (s *Sandbox) getGroup(c *reqCtx) (int, any, *graphError) {
	g := s.st.group(c.params["id"])
	if g == nil {
		return 0, nil, dirNotFound(c.params["id"])
	}
	return 200, s.entity(c, "groups", groupView(g)), nil
}

func (s *Sandbox) listMembers(transitive, usersOnly bool) handlerFunc {
	return func(c *reqCtx) (int, any, *graphError) {
		g := s.st.group(c.params["id"])
		if g == nil {
			return 0, nil, dirNotFound(c.params["id"])
		}
		ids := g.MemberIDs
		if transitive {
			ids = nil
			seen := map[string]bool{g.ID: true}
			frontier := []string{g.ID}
			for len(frontier) > 0 {
				cur := s.st.group(frontier[0])
				frontier = frontier[1:]
				for _, m := range cur.MemberIDs {
					if seen[m] {
						continue
					}
					seen[m] = true
					ids = append(ids, m)
					if s.st.group(m) != nil {
						frontier = append(frontier, m)
					}
				}
			}
		}
		var views []map[string]any
		for _, v := range s.directoryObjects(ids) {
			if usersOnly && v["@odata.type"] != "#microsoft.graph.user" {
				continue
			}
			views = append(views, v)
		}
		views, err := searchFilter(c, views)
		if err != nil {
			return 0, nil, err
		}
		ctxPath := "directoryObjects"
		if usersOnly {
			ctxPath = "users"
		}
		return 200, s.collection(c, ctxPath, views, nil), nil
	}
}

func (s *Sandbox) listSites(c *reqCtx) (int, any, *graphError) {
	term := strings.ToLower(strings.Trim(c.r.URL.Query().Get("search"), "\" "))
	var views []map[string]any
	for _, st := range s.st.Sites {
		if term == "" || term == "*" ||
			strings.Contains(strings.ToLower(st.DisplayName), term) || strings.Contains(strings.ToLower(st.Name), term) ||
			strings.Contains(strings.ToLower(st.WebURL), term) || strings.Contains(strings.ToLower(st.Description), term) {
			views = append(views, siteView(st))
		}
	}
	return 200, s.collection(c, "sites", views, nil), nil
}

func (s *Sandbox) getSite(c *reqCtx) (int, any, *graphError) {
	for _, st := range s.st.Sites {
		if strings.EqualFold(st.ID, c.params["id"]) {
			return 200, s.entity(c, "sites", siteView(st)), nil
		}
	}
	return 0, nil, gerr(http.StatusNotFound, "itemNotFound", "Requested site could not be found")
}

func (s *Sandbox) listServicePrincipals(c *reqCtx) (int, any, *graphError) {
	views, err := searchFilter(c, collect(s.st.ServicePrincipals, servicePrincipalView))
	if err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, "servicePrincipals", views, nil), nil
}

func (s *Sandbox) getServicePrincipal(c *reqCtx) (int, any, *graphError) {
	var sp *servicePrincipalRec
	if appID, ok := c.params["appId"]; ok {
		sp = s.st.servicePrincipalByAppID(appID)
	} else {
		sp = s.st.servicePrincipal(c.params["id"])
	}
	if sp == nil {
		return 0, nil, dirNotFound(c.params["id"] + c.params["appId"])
	}
	return 200, s.entity(c, "servicePrincipals", servicePrincipalView(sp)), nil
}

// appRoleAssignmentsLocked includes the bot's Graph permissions, derived from the roles its
// tokens carry, so SetAppRoles is reflected where the admin "doctor" looks.
func (s *Sandbox) appRoleAssignmentsLocked(principalID string) []map[string]any {
	var out []map[string]any
	principal := s.st.servicePrincipal(principalID)
	if principal == nil {
		return nil
	}
	graph := s.st.servicePrincipalByAppID(GraphAppID)
	if principalID == BotServicePrincipalID && graph != nil {
		for _, role := range s.st.AppRoles {
			for _, r := range graph.AppRoles {
				if strings.EqualFold(r.Value, role) {
					out = append(out, map[string]any{
						"id": "sbx-" + r.ID[:8] + "-" + principalID[:8], "appRoleId": r.ID,
						"principalId": principalID, "principalType": "ServicePrincipal", "principalDisplayName": principal.DisplayName,
						"resourceId": graph.ID, "resourceDisplayName": graph.DisplayName, "createdDateTime": nil, "deletedDateTime": nil,
					})
				}
			}
		}
	}
	for _, a := range s.st.AppRoleAssignments {
		if a.PrincipalID == principalID {
			res := s.st.servicePrincipal(a.ResourceID)
			name := ""
			if res != nil {
				name = res.DisplayName
			}
			out = append(out, map[string]any{
				"id": a.ID, "appRoleId": a.AppRoleID, "principalId": a.PrincipalID, "principalType": "ServicePrincipal",
				"principalDisplayName": principal.DisplayName, "resourceId": a.ResourceID, "resourceDisplayName": name,
				"createdDateTime": fmtTime(a.Created), "deletedDateTime": nil,
			})
		}
	}
	return out
}

func (s *Sandbox) listAppRoleAssignments(c *reqCtx) (int, any, *graphError) {
	if s.st.servicePrincipal(c.params["id"]) == nil {
		return 0, nil, dirNotFound(c.params["id"])
	}
	return 200, s.collection(c, "servicePrincipals('"+c.params["id"]+"')/appRoleAssignments", s.appRoleAssignmentsLocked(c.params["id"]), nil), nil
}

func (s *Sandbox) listEMRoleAssignments(c *reqCtx) (int, any, *graphError) {
	views := make([]map[string]any, 0, len(s.st.EMRoleAssignments))
	for _, a := range s.st.EMRoleAssignments {
		views = append(views, map[string]any{
			"id": a.ID, "principalId": a.PrincipalID, "roleDefinitionId": a.RoleDefinitionID,
			"directoryScopeId": a.DirectoryScopeID, "appScopeId": a.AppScopeID,
		})
	}
	return 200, s.collection(c, "roleManagement/entitlementManagement/roleAssignments", views, nil), nil
}

func (s *Sandbox) sendMail(c *reqCtx) (int, any, *graphError) {
	if id, ok := c.params["id"]; ok {
		u := s.st.userByIDOrUPN(id)
		if u == nil {
			return 0, nil, dirNotFound(id)
		}
		if u.ID != c.caller.oid {
			return 0, nil, gerr(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		}
	}
	var body struct {
		Message         map[string]any `json:"message"`
		SaveToSentItems *bool          `json:"saveToSentItems"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	if body.Message == nil {
		return 0, nil, gerr(http.StatusBadRequest, "ErrorInvalidRequest", "The message is missing.")
	}
	to, _ := body.Message["toRecipients"].([]any)
	if len(to) == 0 {
		return 0, nil, gerr(http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
	}
	for _, r := range to {
		addr, _ := walkPath(r, []string{"emailAddress", "address"}).(string)
		if _, err := mail.ParseAddress(addr); err != nil {
			return 0, nil, gerr(http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
		}
	}
	save := body.SaveToSentItems == nil || *body.SaveToSentItems
	s.st.Mail = append(s.st.Mail, SentMail{FromUserID: c.caller.oid, Message: body.Message, SaveToSentItems: save, Sent: c.now})
	return http.StatusAccepted, nil, nil
}
