package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

func (s *Sandbox) createAccessPackage(c *reqCtx) (int, any, *graphError) {
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "accessPackage", "displayName", "description", "isHidden", "catalog"); err != nil {
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
	hidden, err := optBool(m, "isHidden", false)
	if err != nil {
		return 0, nil, err
	}
	cat := s.st.catalog(refID(m, "catalog"))
	if cat == nil {
		return 0, nil, badRequest("catalog.id must reference an existing catalog.")
	}
	p := &accessPackageRec{ID: newID(), CatalogID: cat.ID, DisplayName: name, Description: desc, IsHidden: hidden,
		Created: c.now, Modified: c.now}
	s.st.AccessPackages = append(s.st.AccessPackages, p)
	return http.StatusCreated, s.entity(c, emCtx+"accessPackages", accessPackageView(p)), nil
}

func (s *Sandbox) packageFilterView(p *accessPackageRec) map[string]any {
	v := accessPackageView(p)
	if cat := s.st.catalog(p.CatalogID); cat != nil {
		v["catalog"] = catalogView(cat)
	}
	return v
}

// packageOut renders an access package with the navigations requested in ex.
func (s *Sandbox) packageOut(p *accessPackageRec, ex map[string]*expandNode) map[string]any {
	v := accessPackageView(p)
	if _, ok := expanded(ex, "catalog"); ok {
		if cat := s.st.catalog(p.CatalogID); cat != nil {
			v["catalog"] = catalogView(cat)
		}
	}
	if _, ok := expanded(ex, "assignmentPolicies"); ok {
		pols := []any{}
		for _, pol := range s.st.Policies {
			if pol.AccessPackageID == p.ID {
				pols = append(pols, policyView(pol))
			}
		}
		v["assignmentPolicies"] = pols
	}
	if n, ok := expanded(ex, "resourceRoleScopes"); ok {
		rss := []any{}
		for _, rs := range p.RoleScopes {
			rss = append(rss, s.roleScopeOut(rs, n.expand))
		}
		v["resourceRoleScopes"] = rss
	}
	return v
}

func (s *Sandbox) roleScopeOut(rs roleScopeRec, ex map[string]*expandNode) map[string]any {
	v := map[string]any{"id": rs.ID, "createdDateTime": fmtTime(rs.Created)}
	r := s.st.resource(rs.ResourceID)
	if r == nil {
		return v
	}
	if n, ok := expanded(ex, "role"); ok {
		for _, ro := range r.Roles {
			if ro.ID == rs.RoleID {
				rv := roleView(ro)
				if _, ok := expanded(n.expand, "resource"); ok {
					rv["resource"] = resourceView(r)
				}
				v["role"] = rv
			}
		}
	}
	if n, ok := expanded(ex, "scope"); ok {
		for _, sc := range r.Scopes {
			if sc.ID == rs.ScopeID {
				sv := scopeView(sc)
				if _, ok := expanded(n.expand, "resource"); ok {
					sv["resource"] = resourceView(r)
				}
				v["scope"] = sv
			}
		}
	}
	return v
}

func (s *Sandbox) listAccessPackages(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "catalog", "assignmentPolicies", "resourceRoleScopes"); err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, emCtx+"accessPackages", collect(s.st.AccessPackages, s.packageFilterView), func(v map[string]any) map[string]any {
		return s.packageOut(s.st.accessPackage(v["id"].(string)), c.q.expand)
	}), nil
}

func (s *Sandbox) getAccessPackage(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "catalog", "assignmentPolicies", "resourceRoleScopes"); err != nil {
		return 0, nil, err
	}
	p := s.st.accessPackage(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackage", c.params["id"])
	}
	return 200, s.entity(c, emCtx+"accessPackages", s.packageOut(p, c.q.expand)), nil
}

func (s *Sandbox) updateAccessPackage(c *reqCtx) (int, any, *graphError) {
	p := s.st.accessPackage(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackage", c.params["id"])
	}
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "accessPackage", "displayName", "description", "isHidden"); err != nil {
		return 0, nil, err
	}
	name, desc, hidden := p.DisplayName, p.Description, p.IsHidden
	if _, ok := m["displayName"]; ok {
		if name, err = requiredName(m, "displayName", 256); err != nil {
			return 0, nil, err
		}
	}
	if _, ok := m["description"]; ok {
		if desc, err = optString(m, "description"); err != nil {
			return 0, nil, err
		}
	}
	if hidden, err = optBool(m, "isHidden", hidden); err != nil {
		return 0, nil, err
	}
	p.DisplayName, p.Description, p.IsHidden, p.Modified = name, desc, hidden, c.now
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) deleteAccessPackage(c *reqCtx) (int, any, *graphError) {
	p := s.st.accessPackage(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackage", c.params["id"])
	}
	for _, a := range s.st.Assignments {
		if a.AccessPackageID == p.ID && (a.State == "delivered" || a.State == "delivering") {
			return 0, nil, gerr(http.StatusBadRequest, "AccessPackageHasActiveAssignments", "The access package has assignments or pending requests; remove them before deleting it.")
		}
	}
	s.st.Policies = slices.DeleteFunc(s.st.Policies, func(pol *policyRec) bool { return pol.AccessPackageID == p.ID })
	s.st.AccessPackages = slices.DeleteFunc(s.st.AccessPackages, func(x *accessPackageRec) bool { return x == p })
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) listRoleScopes(c *reqCtx) (int, any, *graphError) {
	p := s.st.accessPackage(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackage", c.params["id"])
	}
	if err := checkExpand(c.q.expand, "role", "scope"); err != nil {
		return 0, nil, err
	}
	var views []map[string]any
	for _, rs := range p.RoleScopes {
		views = append(views, s.roleScopeOut(rs, map[string]*expandNode{"role": {name: "role"}, "scope": {name: "scope"}}))
	}
	return 200, s.collection(c, emCtx+"accessPackages('"+p.ID+"')/resourceRoleScopes", views, func(v map[string]any) map[string]any {
		for _, rs := range p.RoleScopes {
			if rs.ID == v["id"] {
				return s.roleScopeOut(rs, c.q.expand)
			}
		}
		return v
	}), nil
}

func (s *Sandbox) createRoleScope(c *reqCtx) (int, any, *graphError) {
	p := s.st.accessPackage(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackage", c.params["id"])
	}
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "accessPackageResourceRoleScope", "role", "scope"); err != nil {
		return 0, nil, err
	}
	role, scope := obj(m, "role"), obj(m, "scope")
	if role == nil || scope == nil {
		return 0, nil, badRequest("Properties 'role' and 'scope' are required.")
	}
	var res *resourceRec
	for _, r := range s.st.Resources {
		if r.CatalogID != p.CatalogID {
			continue
		}
		if rid := refID(role, "resource"); rid != "" {
			if r.ID == rid {
				res = r
			}
		} else if strings.EqualFold(r.OriginID, str(scope, "originId")) && strings.EqualFold(r.OriginSystem, str(scope, "originSystem")) {
			res = r
		}
	}
	if res == nil {
		return 0, nil, gerr(http.StatusBadRequest, "ResourceNotInCatalog", "The resource of the role is not part of the access package's catalog; add it with a resourceRequest first.")
	}
	var roleID, scopeID string
	for _, ro := range res.Roles {
		if (str(role, "id") != "" && ro.ID == str(role, "id")) || (str(role, "id") == "" && strings.EqualFold(ro.OriginID, str(role, "originId"))) {
			roleID = ro.ID
		}
	}
	isRoot, _ := scope["isRootScope"].(bool)
	for _, sc := range res.Scopes {
		if (str(scope, "id") != "" && sc.ID == str(scope, "id")) ||
			(str(scope, "id") == "" && (strings.EqualFold(sc.OriginID, str(scope, "originId")) || (isRoot && sc.IsRootScope))) {
			scopeID = sc.ID
		}
	}
	if roleID == "" {
		return 0, nil, badRequest("role does not match a role of the resource (by id or originId).")
	}
	if scopeID == "" {
		return 0, nil, badRequest("scope does not match a scope of the resource (by id, originId or isRootScope).")
	}
	id := roleID + "_" + scopeID
	for _, rs := range p.RoleScopes {
		if rs.ID == id {
			return 0, nil, conflict("The access package already contains this resource role scope.")
		}
	}
	rs := roleScopeRec{ID: id, ResourceID: res.ID, RoleID: roleID, ScopeID: scopeID, Created: c.now}
	p.RoleScopes = append(p.RoleScopes, rs)
	p.Modified = c.now
	return http.StatusCreated, s.entity(c, emCtx+"accessPackages('"+p.ID+"')/resourceRoleScopes",
		map[string]any{"id": rs.ID, "createdDateTime": fmtTime(rs.Created)}), nil
}

func (s *Sandbox) deleteRoleScope(c *reqCtx) (int, any, *graphError) {
	p := s.st.accessPackage(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackage", c.params["id"])
	}
	n := len(p.RoleScopes)
	p.RoleScopes = slices.DeleteFunc(p.RoleScopes, func(rs roleScopeRec) bool { return rs.ID == c.params["rsid"] })
	if len(p.RoleScopes) == n {
		return 0, nil, notFound("accessPackageResourceRoleScope", c.params["rsid"])
	}
	p.Modified = c.now
	return http.StatusNoContent, nil, nil
}

// ---- assignment policies ----

var targetScopes = []string{"notSpecified", "specificDirectoryUsers", "specificConnectedOrganizationUsers",
	"specificDirectoryServicePrincipals", "allMemberUsers", "allDirectoryUsers", "allDirectoryServicePrincipals",
	"allConfiguredConnectedOrganizationUsers", "allExternalUsers"}

var externalScopes = []string{"specificConnectedOrganizationUsers", "allConfiguredConnectedOrganizationUsers", "allExternalUsers"}

var directoryScopes = []string{"specificDirectoryUsers", "allMemberUsers", "allDirectoryUsers"}

var subjectSetTypes = []string{"singleUser", "groupMembers", "requestorManager", "internalSponsors", "externalSponsors",
	"connectedOrganizationMembers", "targetUserSponsors", "attributeRuleMembers", "singleServicePrincipal",
	"targetApplicationOwners", "targetManager"}

// subjectSetType returns the short type name of a subjectSet ("singleUser", …).
func subjectSetType(m map[string]any) string {
	return strings.TrimPrefix(str(m, "@odata.type"), "#microsoft.graph.")
}

func (s *Sandbox) validateSubjectSets(list any, where string) ([]any, *graphError) {
	if list == nil {
		return []any{}, nil
	}
	items, ok := list.([]any)
	if !ok {
		return nil, badRequest(where + " must be an array of subjectSet objects.")
	}
	if len(items) > 25 {
		return nil, badRequest(where + " has too many entries.")
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, badRequest(where + " must contain subjectSet objects.")
		}
		t := subjectSetType(m)
		if !slices.Contains(subjectSetTypes, t) {
			return nil, badRequest(fmt.Sprintf("%s: '@odata.type' must name a subjectSet type such as #microsoft.graph.singleUser, got %q.", where, str(m, "@odata.type")))
		}
		switch t {
		case "singleUser":
			if s.st.user(str(m, "userId")) == nil {
				return nil, badRequest(fmt.Sprintf("%s: singleUser userId '%s' is not a user of the tenant.", where, str(m, "userId")))
			}
		case "groupMembers":
			if s.st.group(str(m, "groupId")) == nil {
				return nil, badRequest(fmt.Sprintf("%s: groupMembers groupId '%s' is not a group of the tenant.", where, str(m, "groupId")))
			}
		case "connectedOrganizationMembers":
			if s.st.connectedOrg(str(m, "connectedOrganizationId")) == nil {
				return nil, badRequest(fmt.Sprintf("%s: connectedOrganizationId '%s' is not a connected organization.", where, str(m, "connectedOrganizationId")))
			}
		case "requestorManager":
			lvl, ok := m["managerLevel"].(float64)
			if m["managerLevel"] == nil {
				lvl, ok = 1, true
			}
			if !ok || (lvl != 1 && lvl != 2) {
				return nil, badRequest(where + ": requestorManager managerLevel must be 1 or 2.")
			}
		}
		out = append(out, deepCopy(m))
	}
	return out, nil
}

// stageDef is the part of accessPackageApprovalStage the sandbox enforces.
type stageDef struct {
	DurationBeforeAutomaticDenial   string           `json:"durationBeforeAutomaticDenial"`
	DurationBeforeEscalation        string           `json:"durationBeforeEscalation"`
	IsApproverJustificationRequired bool             `json:"isApproverJustificationRequired"`
	IsEscalationEnabled             bool             `json:"isEscalationEnabled"`
	PrimaryApprovers                []map[string]any `json:"primaryApprovers"`
	FallbackPrimaryApprovers        []map[string]any `json:"fallbackPrimaryApprovers"`
	EscalationApprovers             []map[string]any `json:"escalationApprovers"`
	FallbackEscalationApprovers     []map[string]any `json:"fallbackEscalationApprovers"`
}

// policyRules is the decoded, enforceable view of a policy.
type policyRules struct {
	AllowedTargetScope     string           `json:"allowedTargetScope"`
	SpecificAllowedTargets []map[string]any `json:"specificAllowedTargets"`
	RequestorSettings      struct {
		EnableTargetsToSelfAddAccess    bool `json:"enableTargetsToSelfAddAccess"`
		EnableTargetsToSelfRemoveAccess bool `json:"enableTargetsToSelfRemoveAccess"`
	} `json:"requestorSettings"`
	RequestApprovalSettings struct {
		IsApprovalRequiredForAdd         bool       `json:"isApprovalRequiredForAdd"`
		IsRequestorJustificationRequired bool       `json:"isRequestorJustificationRequired"`
		Stages                           []stageDef `json:"stages"`
	} `json:"requestApprovalSettings"`
	Expiration map[string]any   `json:"expiration"`
	Questions  []map[string]any `json:"questions"`
}

func rulesOf(p *policyRec) policyRules {
	var r policyRules
	b, _ := json.Marshal(p.Props)
	_ = json.Unmarshal(b, &r) // Props were validated on write, so they decode
	return r
}

// normalizePolicy validates a policy body (create or full replace) and returns its stored props
// and access package.
func (s *Sandbox) normalizePolicy(m map[string]any, existing *policyRec) (map[string]any, *accessPackageRec, *graphError) {
	if err := checkProps(m, "accessPackageAssignmentPolicy", append(slices.Clone(policyPropNames), "accessPackage", "catalog", "customExtensionStageSettings")...); err != nil {
		return nil, nil, err
	}
	props := map[string]any{}
	name, err := requiredName(m, "displayName", 256)
	if err != nil {
		return nil, nil, err
	}
	props["displayName"] = name
	desc, err := optString(m, "description")
	if err != nil {
		return nil, nil, err
	}
	props["description"] = desc
	var ap *accessPackageRec
	if existing != nil {
		ap = s.st.accessPackage(existing.AccessPackageID)
		if id := refID(m, "accessPackage"); id != "" && id != existing.AccessPackageID {
			return nil, nil, badRequest("The access package of a policy cannot be changed.")
		}
	} else if ap = s.st.accessPackage(refID(m, "accessPackage")); ap == nil {
		return nil, nil, badRequest("accessPackage.id must reference an existing access package.")
	}
	scope, err := enumValue(m, "allowedTargetScope", "notSpecified", targetScopes...)
	if err != nil {
		return nil, nil, err
	}
	props["allowedTargetScope"] = scope
	targets, err := s.validateSubjectSets(m["specificAllowedTargets"], "specificAllowedTargets")
	if err != nil {
		return nil, nil, err
	}
	props["specificAllowedTargets"] = targets
	if scope == "specificConnectedOrganizationUsers" && !slices.ContainsFunc(targets, func(t any) bool {
		return subjectSetType(t.(map[string]any)) == "connectedOrganizationMembers"
	}) {
		return nil, nil, badRequest("allowedTargetScope specificConnectedOrganizationUsers needs connectedOrganizationMembers entries in specificAllowedTargets.")
	}
	if scope == "specificDirectoryUsers" && len(targets) == 0 {
		return nil, nil, badRequest("allowedTargetScope specificDirectoryUsers needs specificAllowedTargets.")
	}

	rs := obj(m, "requestorSettings")
	if rs == nil {
		rs = map[string]any{"enableTargetsToSelfAddAccess": false, "enableTargetsToSelfUpdateAccess": false,
			"enableTargetsToSelfRemoveAccess": false, "allowCustomAssignmentSchedule": false,
			"enableOnBehalfRequestorsToAddAccess": false, "enableOnBehalfRequestorsToUpdateAccess": false,
			"enableOnBehalfRequestorsToRemoveAccess": false, "onBehalfRequestors": []any{}}
	}
	if err := checkProps(rs, "accessPackageAssignmentRequestorSettings", "enableTargetsToSelfAddAccess", "enableTargetsToSelfUpdateAccess",
		"enableTargetsToSelfRemoveAccess", "allowCustomAssignmentSchedule", "enableOnBehalfRequestorsToAddAccess",
		"enableOnBehalfRequestorsToUpdateAccess", "enableOnBehalfRequestorsToRemoveAccess", "onBehalfRequestors"); err != nil {
		return nil, nil, err
	}
	for k, v := range rs {
		if _, isBool := v.(bool); k != "onBehalfRequestors" && !strings.HasPrefix(k, "@odata") && !isBool && v != nil {
			return nil, nil, badRequest("requestorSettings." + k + " must be a boolean.")
		}
	}
	props["requestorSettings"] = deepCopy(rs)

	approval, err := s.normalizeApproval(obj(m, "requestApprovalSettings"), scope)
	if err != nil {
		return nil, nil, err
	}
	props["requestApprovalSettings"] = approval

	exp := obj(m, "expiration")
	if exp == nil {
		exp = map[string]any{"type": "noExpiration"}
	}
	et, err := enumValue(exp, "type", "notSpecified", "notSpecified", "noExpiration", "afterDateTime", "afterDuration")
	if err != nil {
		return nil, nil, err
	}
	normExp := map[string]any{"type": et, "duration": nil, "endDateTime": nil}
	switch et {
	case "afterDuration":
		d := str(exp, "duration")
		if _, derr := addISODuration(time.Time{}, d); derr != nil {
			return nil, nil, badRequest("expiration.duration must be an ISO 8601 duration such as P90D when type is afterDuration.")
		}
		normExp["duration"] = d
	case "afterDateTime":
		end, perr := time.Parse(time.RFC3339Nano, str(exp, "endDateTime"))
		if perr != nil {
			return nil, nil, badRequest("expiration.endDateTime must be an ISO 8601 date-time when type is afterDateTime.")
		}
		normExp["endDateTime"] = fmtTime(end)
	}
	props["expiration"] = normExp

	qs, err := normalizeQuestions(m["questions"])
	if err != nil {
		return nil, nil, err
	}
	props["questions"] = qs
	for _, k := range []string{"reviewSettings", "automaticRequestSettings", "notificationSettings"} {
		if v, ok := m[k]; ok && v != nil {
			if _, isObj := v.(map[string]any); !isObj {
				return nil, nil, badRequest("Property '" + k + "' must be an object.")
			}
			props[k] = deepCopy(v)
		}
	}
	return props, ap, nil
}

func (s *Sandbox) normalizeApproval(a map[string]any, scope string) (map[string]any, *graphError) {
	if a == nil {
		return map[string]any{"isApprovalRequiredForAdd": false, "isApprovalRequiredForUpdate": false,
			"isRequestorJustificationRequired": false, "stages": []any{}}, nil
	}
	if err := checkProps(a, "accessPackageAssignmentApprovalSettings", "isApprovalRequiredForAdd", "isApprovalRequiredForUpdate",
		"isRequestorJustificationRequired", "stages"); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, k := range []string{"isApprovalRequiredForAdd", "isApprovalRequiredForUpdate", "isRequestorJustificationRequired"} {
		b, err := optBool(a, k, false)
		if err != nil {
			return nil, err
		}
		out[k] = b
	}
	rawStages, ok := a["stages"].([]any)
	if a["stages"] != nil && !ok {
		return nil, badRequest("requestApprovalSettings.stages must be an array.")
	}
	if len(rawStages) > 3 {
		return nil, badRequest("requestApprovalSettings.stages can have one, two or three stages.")
	}
	if out["isApprovalRequiredForAdd"] == true && len(rawStages) == 0 {
		return nil, badRequest("requestApprovalSettings.stages needs at least one stage when isApprovalRequiredForAdd is true.")
	}
	stages := make([]any, 0, len(rawStages))
	for i, rs := range rawStages {
		st, ok := rs.(map[string]any)
		where := fmt.Sprintf("requestApprovalSettings.stages[%d]", i)
		if !ok {
			return nil, badRequest(where + " must be an object.")
		}
		if err := checkProps(st, "accessPackageApprovalStage", "durationBeforeAutomaticDenial", "durationBeforeEscalation",
			"isApproverJustificationRequired", "isEscalationEnabled", "primaryApprovers", "fallbackPrimaryApprovers",
			"escalationApprovers", "fallbackEscalationApprovers"); err != nil {
			return nil, err
		}
		ns := map[string]any{}
		for _, k := range []string{"durationBeforeAutomaticDenial", "durationBeforeEscalation"} {
			if err := validDuration(st, k); err != nil {
				return nil, err
			}
			ns[k] = st[k]
		}
		if ns["durationBeforeAutomaticDenial"] == nil {
			ns["durationBeforeAutomaticDenial"] = "P14D"
		}
		for _, k := range []string{"isApproverJustificationRequired", "isEscalationEnabled"} {
			b, err := optBool(st, k, false)
			if err != nil {
				return nil, err
			}
			ns[k] = b
		}
		for _, k := range []string{"primaryApprovers", "fallbackPrimaryApprovers", "escalationApprovers", "fallbackEscalationApprovers"} {
			sets, err := s.validateSubjectSets(st[k], where+"."+k)
			if err != nil {
				return nil, err
			}
			for _, set := range sets {
				switch subjectSetType(set.(map[string]any)) {
				case "requestorManager":
					if !slices.Contains(directoryScopes, scope) {
						return nil, badRequest(where + ": the requestor's manager can approve only when the policy's allowedTargetScope covers users in the directory.")
					}
				case "internalSponsors", "externalSponsors":
					if !slices.Contains(externalScopes, scope) {
						return nil, badRequest(where + ": connected organization sponsors can approve only when the policy's allowedTargetScope covers external users.")
					}
				case "connectedOrganizationMembers", "attributeRuleMembers", "singleServicePrincipal":
					return nil, badRequest(where + "." + k + " cannot contain " + subjectSetType(set.(map[string]any)) + ".")
				}
			}
			ns[k] = sets
		}
		if len(ns["primaryApprovers"].([]any)) == 0 {
			return nil, badRequest(where + ".primaryApprovers needs at least one approver.")
		}
		if ns["isEscalationEnabled"] == true {
			if len(ns["escalationApprovers"].([]any)) == 0 || ns["durationBeforeEscalation"] == nil {
				return nil, badRequest(where + ": escalation needs escalationApprovers and durationBeforeEscalation.")
			}
			base := time.Unix(0, 0).UTC()
			esc, _ := addISODuration(base, ns["durationBeforeEscalation"].(string))
			deny, _ := addISODuration(base, ns["durationBeforeAutomaticDenial"].(string))
			if !esc.Before(deny) {
				return nil, badRequest(where + ": durationBeforeEscalation must be shorter than durationBeforeAutomaticDenial.")
			}
		}
		stages = append(stages, ns)
	}
	out["stages"] = stages
	return out, nil
}

func normalizeQuestions(v any) ([]any, *graphError) {
	if v == nil {
		return []any{}, nil
	}
	items, ok := v.([]any)
	if !ok || len(items) > 20 {
		return nil, badRequest("questions must be an array of at most 20 questions.")
	}
	out := make([]any, 0, len(items))
	for i, it := range items {
		q, ok := it.(map[string]any)
		if !ok {
			return nil, badRequest("questions must contain objects.")
		}
		q = deepCopy(q).(map[string]any)
		t := str(q, "@odata.type")
		if t != "#microsoft.graph.accessPackageTextInputQuestion" && t != "#microsoft.graph.accessPackageMultipleChoiceQuestion" {
			return nil, badRequest("questions[" + fmt.Sprint(i) + "] needs '@odata.type' #microsoft.graph.accessPackageTextInputQuestion or #microsoft.graph.accessPackageMultipleChoiceQuestion.")
		}
		if strings.TrimSpace(str(q, "text")) == "" {
			return nil, badRequest("questions[" + fmt.Sprint(i) + "].text is required.")
		}
		if str(q, "id") == "" {
			q["id"] = newID()
		}
		if _, ok := q["sequence"]; !ok {
			q["sequence"] = i
		}
		if _, ok := q["isRequired"]; !ok {
			q["isRequired"] = false
		}
		out = append(out, q)
	}
	return out, nil
}

func (s *Sandbox) createPolicy(c *reqCtx) (int, any, *graphError) {
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	props, ap, err := s.normalizePolicy(m, nil)
	if err != nil {
		return 0, nil, err
	}
	p := &policyRec{ID: newID(), AccessPackageID: ap.ID, CatalogID: ap.CatalogID, Props: props, Created: c.now, Modified: c.now}
	s.st.Policies = append(s.st.Policies, p)
	return http.StatusCreated, s.entity(c, emCtx+"assignmentPolicies", policyView(p)), nil
}

func (s *Sandbox) policyOut(p *policyRec, ex map[string]*expandNode) map[string]any {
	v := policyView(p)
	if _, ok := expanded(ex, "accessPackage"); ok {
		if ap := s.st.accessPackage(p.AccessPackageID); ap != nil {
			v["accessPackage"] = accessPackageView(ap)
		}
	}
	if _, ok := expanded(ex, "catalog"); ok {
		if cat := s.st.catalog(p.CatalogID); cat != nil {
			v["catalog"] = catalogView(cat)
		}
	}
	if _, ok := expanded(ex, "customExtensionStageSettings"); ok {
		v["customExtensionStageSettings"] = []any{}
	}
	return v
}

func (s *Sandbox) policyFilterView(p *policyRec) map[string]any {
	v := policyView(p)
	v["accessPackage"] = map[string]any{"id": p.AccessPackageID}
	v["catalog"] = map[string]any{"id": p.CatalogID}
	return v
}

func (s *Sandbox) listPolicies(c *reqCtx) (int, any, *graphError) {
	return s.listPoliciesOf(c, "")
}

func (s *Sandbox) listPackagePolicies(c *reqCtx) (int, any, *graphError) {
	if s.st.accessPackage(c.params["id"]) == nil {
		return 0, nil, notFound("accessPackage", c.params["id"])
	}
	return s.listPoliciesOf(c, c.params["id"])
}

func (s *Sandbox) listPoliciesOf(c *reqCtx, packageID string) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "accessPackage", "catalog", "customExtensionStageSettings"); err != nil {
		return 0, nil, err
	}
	var views []map[string]any
	for _, p := range s.st.Policies {
		if packageID == "" || p.AccessPackageID == packageID {
			views = append(views, s.policyFilterView(p))
		}
	}
	return 200, s.collection(c, emCtx+"assignmentPolicies", views, func(v map[string]any) map[string]any {
		return s.policyOut(s.st.policy(v["id"].(string)), c.q.expand)
	}), nil
}

func (s *Sandbox) getPolicy(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "accessPackage", "catalog", "customExtensionStageSettings"); err != nil {
		return 0, nil, err
	}
	p := s.st.policy(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackageAssignmentPolicy", c.params["id"])
	}
	return 200, s.entity(c, emCtx+"assignmentPolicies", s.policyOut(p, c.q.expand)), nil
}

func (s *Sandbox) replacePolicy(c *reqCtx) (int, any, *graphError) {
	p := s.st.policy(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackageAssignmentPolicy", c.params["id"])
	}
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	props, _, err := s.normalizePolicy(m, p)
	if err != nil {
		return 0, nil, err
	}
	p.Props, p.Modified = props, c.now
	return http.StatusOK, s.entity(c, emCtx+"assignmentPolicies", policyView(p)), nil
}

func (s *Sandbox) deletePolicy(c *reqCtx) (int, any, *graphError) {
	p := s.st.policy(c.params["id"])
	if p == nil {
		return 0, nil, notFound("accessPackageAssignmentPolicy", c.params["id"])
	}
	for _, a := range s.st.Assignments {
		if a.PolicyID == p.ID && (a.State == "delivered" || a.State == "delivering") {
			return 0, nil, gerr(http.StatusBadRequest, "PolicyHasActiveAssignments", "The policy has assignments or pending requests; remove them before deleting it.")
		}
	}
	s.st.Policies = slices.DeleteFunc(s.st.Policies, func(x *policyRec) bool { return x == p })
	return http.StatusNoContent, nil, nil
}
