package sandbox

import (
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// ---- views ----

func (s *Sandbox) subjectView(sub *subjectRec, ex map[string]*expandNode, forFilter bool) map[string]any {
	v := map[string]any{"id": sub.ID, "objectId": sub.ObjectID, "subjectType": "user", "onPremisesSecurityIdentifier": nil,
		"displayName": nil, "email": nil, "principalName": nil}
	u := s.st.user(sub.ObjectID)
	if u != nil {
		v["displayName"], v["email"], v["principalName"] = u.DisplayName, strOrNil(u.Mail), u.UPN
	}
	if _, ok := expanded(ex, "connectedOrganization"); ok || forFilter {
		if org := s.connectedOrgOfLocked(u); org != nil {
			v["connectedOrganization"] = connectedOrgView(org)
		} else {
			v["connectedOrganization"] = nil
		}
	}
	return v
}

func answersView(answers []map[string]any) []any {
	out := make([]any, 0, len(answers))
	for _, a := range answers {
		out = append(out, deepCopy(a))
	}
	return out
}

func requestView(r *assignmentRequestRec) map[string]any {
	return map[string]any{
		"id":                              r.ID,
		"requestType":                     r.RequestType,
		"state":                           r.State,
		"status":                          r.Status,
		"createdDateTime":                 fmtTime(r.Created),
		"completedDateTime":               fmtTime(r.Completed),
		"justification":                   strOrNil(r.Justification),
		"answers":                         answersView(r.Answers),
		"schedule":                        deepCopy(r.Schedule),
		"customExtensionCalloutInstances": []any{},
	}
}

func (s *Sandbox) requestFilterView(r *assignmentRequestRec) map[string]any {
	v := requestView(r)
	if ap := s.st.accessPackage(r.AccessPackageID); ap != nil {
		v["accessPackage"] = accessPackageView(ap)
	}
	if sub := s.st.subject(r.SubjectID); sub != nil {
		v["requestor"] = s.subjectView(sub, nil, true)
	}
	v["assignment"] = map[string]any{"id": strOrNil(r.AssignmentID), "assignmentPolicy": map[string]any{"id": r.PolicyID}}
	return v
}

func (s *Sandbox) requestOut(r *assignmentRequestRec, ex map[string]*expandNode) map[string]any {
	v := requestView(r)
	if _, ok := expanded(ex, "accessPackage"); ok {
		if ap := s.st.accessPackage(r.AccessPackageID); ap != nil {
			v["accessPackage"] = accessPackageView(ap)
		} else {
			v["accessPackage"] = nil
		}
	}
	if n, ok := expanded(ex, "requestor"); ok {
		if sub := s.st.subject(r.SubjectID); sub != nil {
			v["requestor"] = s.subjectView(sub, n.expand, false)
		}
	}
	if n, ok := expanded(ex, "assignment"); ok {
		if a := s.st.assignment(r.AssignmentID); a != nil {
			v["assignment"] = s.assignmentOut(a, n.expand)
		} else {
			v["assignment"] = nil
		}
	}
	return v
}

func assignmentView(a *assignmentRec) map[string]any {
	return map[string]any{
		"id":                              a.ID,
		"state":                           a.State,
		"status":                          a.Status,
		"expiredDateTime":                 fmtTime(a.Expired),
		"schedule":                        scheduleView(a.Start, a.Expiration, a.End),
		"customExtensionCalloutInstances": []any{},
	}
}

func (s *Sandbox) assignmentFilterView(a *assignmentRec) map[string]any {
	v := assignmentView(a)
	v["accessPackage"] = map[string]any{"id": a.AccessPackageID}
	v["assignmentPolicy"] = map[string]any{"id": a.PolicyID}
	if sub := s.st.subject(a.SubjectID); sub != nil {
		v["target"] = s.subjectView(sub, nil, true)
	}
	return v
}

func (s *Sandbox) assignmentOut(a *assignmentRec, ex map[string]*expandNode) map[string]any {
	v := assignmentView(a)
	if n, ok := expanded(ex, "target"); ok {
		if sub := s.st.subject(a.SubjectID); sub != nil {
			v["target"] = s.subjectView(sub, n.expand, false)
		}
	}
	if _, ok := expanded(ex, "accessPackage"); ok {
		if ap := s.st.accessPackage(a.AccessPackageID); ap != nil {
			v["accessPackage"] = accessPackageView(ap)
		}
	}
	if _, ok := expanded(ex, "assignmentPolicy"); ok {
		if p := s.st.policy(a.PolicyID); p != nil {
			v["assignmentPolicy"] = policyView(p)
		}
	}
	if _, ok := expanded(ex, "catalog"); ok {
		if ap := s.st.accessPackage(a.AccessPackageID); ap != nil {
			if cat := s.st.catalog(ap.CatalogID); cat != nil {
				v["catalog"] = catalogView(cat)
			}
		}
	}
	return v
}

// ---- approvers ----

// resolveSubjectSetsLocked turns approver subjectSets into user ids for a requestor.
func (s *Sandbox) resolveSubjectSetsLocked(sets []map[string]any, requestor *userRec) map[string]bool {
	out := map[string]bool{}
	addAll := func(ids []string) {
		for _, id := range ids {
			if s.st.group(id) != nil {
				for _, u := range s.groupUsersLocked(id) {
					out[u] = true
				}
			} else if s.st.user(id) != nil {
				out[id] = true
			}
		}
	}
	for _, set := range sets {
		switch subjectSetType(set) {
		case "singleUser":
			addAll([]string{str(set, "userId")})
		case "groupMembers":
			addAll([]string{str(set, "groupId")})
		case "requestorManager":
			level := 1
			if l, ok := set["managerLevel"].(float64); ok && l == 2 {
				level = 2
			}
			cur := requestor
			for i := 0; i < level && cur != nil; i++ {
				cur = s.st.user(cur.ManagerID)
			}
			if cur != nil {
				out[cur.ID] = true
			}
		case "internalSponsors", "externalSponsors":
			if org := s.connectedOrgOfLocked(requestor); org != nil {
				addAll(*s.orgSponsors(org, subjectSetType(set) == "internalSponsors"))
			}
		case "targetUserSponsors":
			if requestor != nil {
				addAll(requestor.SponsorIDs)
			}
		}
	}
	return out
}

// approversLocked returns who may decide stage idx of req at now: the primary approvers (or the
// fallbacks when none resolve), plus the escalation approvers once escalation time has passed.
// The requestor never approves their own request.
func (s *Sandbox) approversLocked(req *assignmentRequestRec, idx int, now time.Time) map[string]bool {
	p := s.st.policy(req.PolicyID)
	if p == nil {
		return map[string]bool{}
	}
	stages := rulesOf(p).RequestApprovalSettings.Stages
	if idx >= len(stages) {
		return map[string]bool{}
	}
	def := stages[idx]
	var requestor *userRec
	if sub := s.st.subject(req.SubjectID); sub != nil {
		requestor = s.st.user(sub.ObjectID)
	}
	set := s.resolveSubjectSetsLocked(def.PrimaryApprovers, requestor)
	if len(set) == 0 {
		set = s.resolveSubjectSetsLocked(def.FallbackPrimaryApprovers, requestor)
	}
	if def.IsEscalationEnabled && def.DurationBeforeEscalation != "" && idx < len(req.Stages) {
		escAt, err := addISODuration(req.Stages[idx].Started, def.DurationBeforeEscalation)
		if err == nil && !now.Before(escAt) {
			esc := s.resolveSubjectSetsLocked(def.EscalationApprovers, requestor)
			if len(esc) == 0 {
				esc = s.resolveSubjectSetsLocked(def.FallbackEscalationApprovers, requestor)
			}
			for id := range esc {
				set[id] = true
			}
		}
	}
	if requestor != nil {
		delete(set, requestor.ID)
	}
	return set
}

// ---- lifecycle ----

// advanceLocked applies time-driven transitions: stages past durationBeforeAutomaticDenial deny
// their request, and delivered assignments past their end expire.
func (s *Sandbox) advanceLocked(now time.Time) bool {
	changed := false
	stagesOf := map[string][]stageDef{} // decoded once per policy per pass
	for _, r := range s.st.Requests {
		if r.State != "pendingApproval" || len(r.Stages) == 0 {
			continue
		}
		stages, ok := stagesOf[r.PolicyID]
		if !ok {
			if p := s.st.policy(r.PolicyID); p != nil {
				stages = rulesOf(p).RequestApprovalSettings.Stages
			}
			stagesOf[r.PolicyID] = stages
		}
		idx := len(r.Stages) - 1
		if idx >= len(stages) {
			continue
		}
		deadline, err := addISODuration(r.Stages[idx].Started, stages[idx].DurationBeforeAutomaticDenial)
		if err != nil || now.Before(deadline) {
			continue
		}
		r.Stages[idx].Status = "Expired"
		r.State, r.Status, r.Completed = "denied", "Expired", deadline
		s.dropPendingAssignmentLocked(r)
		changed = true
	}
	for _, a := range s.st.Assignments {
		if a.State == "delivered" && !a.End.IsZero() && !now.Before(a.End) {
			s.expireAssignmentLocked(a, a.End)
			changed = true
		}
	}
	return changed
}

func (s *Sandbox) dropPendingAssignmentLocked(r *assignmentRequestRec) {
	s.st.Assignments = slices.DeleteFunc(s.st.Assignments, func(a *assignmentRec) bool {
		return a.ID == r.AssignmentID && a.State == "delivering"
	})
	r.AssignmentID = ""
}

// groupResourcesLocked returns the groups an access package grants membership of.
func (s *Sandbox) groupResourcesLocked(packageID string) []*groupRec {
	ap := s.st.accessPackage(packageID)
	if ap == nil {
		return nil
	}
	var out []*groupRec
	for _, rs := range ap.RoleScopes {
		if r := s.st.resource(rs.ResourceID); r != nil && r.OriginSystem == "AadGroup" {
			if g := s.st.group(r.OriginID); g != nil {
				out = append(out, g)
			}
		}
	}
	return out
}

func (s *Sandbox) deliverLocked(r *assignmentRequestRec, a *assignmentRec, rules policyRules, now time.Time) {
	a.State, a.Status, a.Start = "delivered", "Delivered", now
	a.Expiration = rules.Expiration
	switch str(rules.Expiration, "type") {
	case "afterDuration":
		if end, err := addISODuration(now, str(rules.Expiration, "duration")); err == nil {
			a.End = end
		}
	case "afterDateTime":
		if end, err := time.Parse(time.RFC3339Nano, str(rules.Expiration, "endDateTime")); err == nil {
			a.End = end
		}
	}
	r.State, r.Status, r.Completed = "delivered", "Delivered", now
	if sub := s.st.subject(a.SubjectID); sub != nil {
		for _, g := range s.groupResourcesLocked(a.AccessPackageID) {
			if !slices.Contains(g.MemberIDs, sub.ObjectID) {
				g.MemberIDs = append(g.MemberIDs, sub.ObjectID)
			}
		}
	}
}

func (s *Sandbox) expireAssignmentLocked(a *assignmentRec, at time.Time) {
	a.State, a.Status, a.Expired = "expired", "Expired", at
	if sub := s.st.subject(a.SubjectID); sub != nil {
		for _, g := range s.groupResourcesLocked(a.AccessPackageID) {
			g.MemberIDs = slices.DeleteFunc(g.MemberIDs, func(id string) bool { return id == sub.ObjectID })
		}
	}
}

// ---- policy enforcement ----

func (s *Sandbox) matchesTargetsLocked(targets []map[string]any, u *userRec) bool {
	for _, t := range targets {
		switch subjectSetType(t) {
		case "singleUser":
			if strings.EqualFold(str(t, "userId"), u.ID) {
				return true
			}
		case "groupMembers":
			if slices.Contains(s.groupUsersLocked(str(t, "groupId")), u.ID) {
				return true
			}
		case "connectedOrganizationMembers":
			if org := s.connectedOrgOfLocked(u); org != nil && strings.EqualFold(org.ID, str(t, "connectedOrganizationId")) {
				return true
			}
		}
	}
	return false
}

// inScopeLocked applies the policy's allowedTargetScope to a (possibly not yet stored) user.
func (s *Sandbox) inScopeLocked(rules policyRules, u *userRec, admin bool) (bool, string) {
	inDirectory := s.st.user(u.ID) != nil
	switch rules.AllowedTargetScope {
	case "notSpecified", "":
		if admin && inDirectory {
			return true, ""
		}
		return false, "the policy only allows direct assignment of users already in the directory by an administrator"
	case "specificDirectoryUsers":
		if inDirectory && s.matchesTargetsLocked(rules.SpecificAllowedTargets, u) {
			return true, ""
		}
		return false, "the policy is limited to specific users in the directory"
	case "allMemberUsers":
		if inDirectory && u.UserType == "Member" {
			return true, ""
		}
		return false, "the policy is limited to member users of the tenant"
	case "allDirectoryUsers":
		if inDirectory {
			return true, ""
		}
		return false, "the policy is limited to users already in the directory"
	case "specificConnectedOrganizationUsers":
		if s.matchesTargetsLocked(rules.SpecificAllowedTargets, u) && s.connectedOrgOfLocked(u) != nil {
			return true, ""
		}
		return false, "the policy is limited to users of specific connected organizations"
	case "allConfiguredConnectedOrganizationUsers":
		if org := s.connectedOrgOfLocked(u); org != nil && org.State == "configured" {
			return true, ""
		}
		return false, "the policy is limited to users of configured connected organizations"
	case "allExternalUsers":
		if isExternal(u) {
			return true, ""
		}
		return false, "the policy is limited to external users"
	}
	return false, "the policy's allowedTargetScope does not cover users"
}

// submission is a request for an access package assignment, from the API or the guest's side.
type submission struct {
	requestType   string
	packageID     string
	policyID      string
	user          *userRec // an existing user; else email (+ displayName) of a new external user
	email         string
	displayName   string
	justification string
	answers       []any
	schedule      map[string]any
	createdBy     string
}

func (s *Sandbox) validateAnswersLocked(rules policyRules, answers []any, required bool) ([]map[string]any, *graphError) {
	var out []map[string]any
	answered := map[string]bool{}
	for _, a := range answers {
		m, ok := a.(map[string]any)
		if !ok {
			return nil, badRequest("answers must contain accessPackageAnswer objects.")
		}
		qid := str(obj(m, "answeredQuestion"), "id")
		if !slices.ContainsFunc(rules.Questions, func(q map[string]any) bool { return str(q, "id") == qid }) {
			return nil, badRequest("answers: answeredQuestion.id '" + qid + "' is not a question of the policy.")
		}
		if t := str(m, "@odata.type"); t != "#microsoft.graph.accessPackageAnswerString" {
			return nil, badRequest("answers: '@odata.type' must be #microsoft.graph.accessPackageAnswerString.")
		}
		v, _ := m["value"].(string)
		if len(v) > 4000 {
			return nil, badRequest("answers: value too long.")
		}
		c := deepCopy(m).(map[string]any)
		if _, ok := c["displayValue"]; !ok {
			c["displayValue"] = v
		}
		answered[qid] = strings.TrimSpace(v) != ""
		out = append(out, c)
	}
	if required {
		for _, q := range rules.Questions {
			if r, _ := q["isRequired"].(bool); r && !answered[str(q, "id")] {
				return nil, gerr(http.StatusBadRequest, "QuestionNotAnswered", "The required question '"+str(q, "text")+"' was not answered.")
			}
		}
	}
	return out, nil
}

// submitLocked runs the policy checks of a new assignment request and records it: admin adds are
// delivered at once; user adds wait for approval when the policy requires it.
func (s *Sandbox) submitLocked(sub submission, now time.Time) (*assignmentRequestRec, *graphError) {
	ap := s.st.accessPackage(sub.packageID)
	if ap == nil {
		return nil, badRequest("assignment.accessPackageId must reference an existing access package.")
	}
	pol := s.st.policy(sub.policyID)
	if pol == nil || pol.AccessPackageID != ap.ID {
		return nil, badRequest("assignment.assignmentPolicyId must reference a policy of the access package.")
	}
	rules := rulesOf(pol)
	admin := sub.requestType == "adminAdd"
	target := sub.user
	if target == nil {
		addr, err := mail.ParseAddress(sub.email)
		if err != nil || addr.Address != sub.email || emailDomain(sub.email) == "" {
			return nil, badRequest("The target email address '" + sub.email + "' is not valid.")
		}
		target = s.st.userByMail(sub.email)
		if target == nil {
			name := sub.displayName
			if name == "" {
				name = sub.email
			}
			target = &userRec{ID: newID(), DisplayName: name, Mail: strings.ToLower(sub.email), UPN: guestUPN(strings.ToLower(sub.email)),
				UserType: "Guest", CreationType: "Invitation", Created: now}
			if kt := s.knownTenantByDomain(emailDomain(sub.email)); kt != nil {
				target.HomeTenantID = kt.TenantID
			}
		}
	}
	if ok, why := s.inScopeLocked(rules, target, admin); !ok {
		return nil, gerr(http.StatusForbidden, "RequestorNotInPolicyScope", "The target is not allowed by the policy: "+why+".")
	}
	if !admin && !rules.RequestorSettings.EnableTargetsToSelfAddAccess {
		return nil, gerr(http.StatusForbidden, "PolicyDoesNotAllowSelfAdd", "The policy does not allow users to request this access package (requestorSettings.enableTargetsToSelfAddAccess is false).")
	}
	if !admin && rules.RequestApprovalSettings.IsRequestorJustificationRequired && strings.TrimSpace(sub.justification) == "" {
		return nil, gerr(http.StatusBadRequest, "JustificationRequired", "The policy requires a justification.")
	}
	answers, err := s.validateAnswersLocked(rules, sub.answers, !admin)
	if err != nil {
		return nil, err
	}
	if existing := s.st.user(target.ID); existing != nil {
		if sj := find(s.st.Subjects, existing.ID, func(x *subjectRec) string { return x.ObjectID }); sj != nil {
			for _, r := range s.st.Requests {
				if r.SubjectID == sj.ID && r.AccessPackageID == ap.ID && (r.State == "pendingApproval" || r.State == "submitted") {
					return nil, gerr(http.StatusBadRequest, "ExistingOpenRequest", "There is already an open request for this access package and target.")
				}
			}
			for _, a := range s.st.Assignments {
				if a.SubjectID == sj.ID && a.AccessPackageID == ap.ID && a.State == "delivered" {
					return nil, gerr(http.StatusBadRequest, "ActiveAssignmentExists", "The target already has an assignment to this access package.")
				}
			}
		}
	}
	if s.st.user(target.ID) == nil {
		target.ExternalUserState = "Accepted"
		if admin {
			target.ExternalUserState = "PendingAcceptance"
		}
		s.st.Users = append(s.st.Users, target)
	}
	subject := s.st.subjectFor(target.ID)
	req := &assignmentRequestRec{ID: newID(), RequestType: sub.requestType, AccessPackageID: ap.ID, PolicyID: pol.ID,
		SubjectID: subject.ID, CreatedByID: sub.createdBy, Justification: sub.justification, Answers: answers,
		Schedule: sub.schedule, Created: now}
	a := &assignmentRec{ID: newID(), AccessPackageID: ap.ID, PolicyID: pol.ID, SubjectID: subject.ID,
		State: "delivering", Status: "PendingApproval"}
	req.AssignmentID = a.ID
	if !admin && rules.RequestApprovalSettings.IsApprovalRequiredForAdd && len(rules.RequestApprovalSettings.Stages) > 0 {
		req.State, req.Status = "pendingApproval", "PendingApproval"
		req.Stages = []stageRec{{ID: newID(), Status: "InProgress", ReviewResult: "NotReviewed", Started: now}}
	} else {
		s.deliverLocked(req, a, rules, now)
	}
	s.st.Assignments = append(s.st.Assignments, a)
	s.st.Requests = append(s.st.Requests, req)
	return req, nil
}

// removeLocked handles adminRemove / userRemove of an existing assignment.
func (s *Sandbox) removeLocked(requestType string, a *assignmentRec, createdBy string, now time.Time) *assignmentRequestRec {
	req := &assignmentRequestRec{ID: newID(), RequestType: requestType, AccessPackageID: a.AccessPackageID, PolicyID: a.PolicyID,
		SubjectID: a.SubjectID, AssignmentID: a.ID, CreatedByID: createdBy, State: "delivered", Status: "Delivered",
		Created: now, Completed: now}
	s.expireAssignmentLocked(a, now)
	s.st.Requests = append(s.st.Requests, req)
	return req
}

// ---- handlers ----

func (s *Sandbox) createRequest(c *reqCtx) (int, any, *graphError) {
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "accessPackageAssignmentRequest", "requestType", "assignment", "justification", "answers", "schedule"); err != nil {
		return 0, nil, err
	}
	rt, err := enumValue(m, "requestType", "", "userAdd", "userRemove", "adminAdd", "adminRemove",
		"userUpdate", "adminUpdate", "systemAdd", "systemUpdate", "systemRemove", "onBehalfAdd")
	if err != nil {
		return 0, nil, err
	}
	a := obj(m, "assignment")
	if a == nil {
		return 0, nil, badRequest("Property 'assignment' is required.")
	}
	if err := checkProps(a, "accessPackageAssignment", "targetId", "assignmentPolicyId", "accessPackageId", "target", "schedule"); err != nil {
		return 0, nil, err
	}
	justification, err := optString(m, "justification")
	if err != nil {
		return 0, nil, err
	}
	if c.caller.appOnly && (rt == "userAdd" || rt == "userRemove") {
		return 0, nil, forbidden("requestType " + rt + " needs a delegated token of the requesting user.")
	}
	if (rt == "adminAdd" || rt == "adminRemove" || rt == "adminUpdate") && !c.caller.appOnly &&
		(!c.caller.scopes[strings.ToLower(pEMWrite)] || !s.hasEMRoleLocked(c.caller.oid, true)) {
		return 0, nil, forbidden("requestType " + rt + " needs EntitlementManagement.ReadWrite.All and an entitlement management role.")
	}
	createdBy := c.caller.oid
	var req *assignmentRequestRec
	switch rt {
	case "adminAdd", "userAdd":
		sub := submission{requestType: rt, packageID: str(a, "accessPackageId"), policyID: str(a, "assignmentPolicyId"),
			justification: justification, answers: arr(m, "answers"), schedule: obj(m, "schedule"), createdBy: createdBy}
		target := obj(a, "target")
		switch {
		case rt == "userAdd":
			if tid := str(a, "targetId"); tid != "" && !strings.EqualFold(tid, c.caller.oid) {
				return 0, nil, forbidden("userAdd requests access for the signed-in user only.")
			}
			sub.user = s.st.user(c.caller.oid)
		case str(a, "targetId") != "":
			if sub.user = s.st.user(str(a, "targetId")); sub.user == nil {
				return 0, nil, badRequest("assignment.targetId '" + str(a, "targetId") + "' is not a user of the directory.")
			}
		case str(target, "objectId") != "":
			if sub.user = s.st.user(str(target, "objectId")); sub.user == nil {
				return 0, nil, badRequest("assignment.target.objectId '" + str(target, "objectId") + "' is not a user of the directory.")
			}
		case str(target, "email") != "":
			sub.email, sub.displayName = str(target, "email"), str(target, "displayName")
		default:
			return 0, nil, badRequest("adminAdd needs assignment.targetId or assignment.target.email.")
		}
		var gerr *graphError
		if req, gerr = s.submitLocked(sub, c.now); gerr != nil {
			return 0, nil, gerr
		}
	case "adminRemove", "userRemove":
		asg := s.st.assignment(str(a, "id"))
		if asg == nil {
			return 0, nil, notFound("accessPackageAssignment", str(a, "id"))
		}
		if asg.State != "delivered" {
			return 0, nil, badRequest("The assignment is not active.")
		}
		if rt == "userRemove" {
			sub := s.st.subject(asg.SubjectID)
			if sub == nil || sub.ObjectID != c.caller.oid {
				return 0, nil, forbidden("userRemove removes the signed-in user's own assignment only.")
			}
			if p := s.st.policy(asg.PolicyID); p == nil || !rulesOf(p).RequestorSettings.EnableTargetsToSelfRemoveAccess {
				return 0, nil, gerr(http.StatusForbidden, "PolicyDoesNotAllowSelfRemove", "The policy does not allow users to remove their own access.")
			}
		}
		req = s.removeLocked(rt, asg, createdBy, c.now)
	case "adminUpdate":
		var gerr *graphError
		if req, gerr = s.adminUpdateLocked(m, a, justification, createdBy, c.now); gerr != nil {
			return 0, nil, gerr
		}
	default:
		return 0, nil, badRequest("requestType '" + rt + "' is not supported by the sandbox tenant.")
	}
	// Like the service, the response reports the request as accepted; processing (approval
	// routing or delivery) is visible on the next read.
	out := requestView(req)
	out["state"], out["status"], out["completedDateTime"] = "submitted", "Accepted", nil
	return http.StatusCreated, s.entity(c, emCtx+"assignmentRequests", out), nil
}

func (s *Sandbox) listRequests(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "accessPackage", "requestor", "assignment"); err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, emCtx+"assignmentRequests", collect(s.st.Requests, s.requestFilterView), func(v map[string]any) map[string]any {
		return s.requestOut(s.st.request(v["id"].(string)), c.q.expand)
	}), nil
}

func (s *Sandbox) getRequest(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "accessPackage", "requestor", "assignment"); err != nil {
		return 0, nil, err
	}
	r := s.st.request(c.params["id"])
	if r == nil {
		return 0, nil, notFound("accessPackageAssignmentRequest", c.params["id"])
	}
	return 200, s.entity(c, emCtx+"assignmentRequests", s.requestOut(r, c.q.expand)), nil
}

// cancelLocked cancels a request that is still open.
func (s *Sandbox) cancelLocked(r *assignmentRequestRec, now time.Time) *graphError {
	if r.State != "pendingApproval" && r.State != "submitted" && r.State != "scheduled" {
		return gerr(http.StatusBadRequest, "RequestNotCancelable", "The request is in state '"+r.State+"' and cannot be canceled.")
	}
	for i := range r.Stages {
		if r.Stages[i].Status == "InProgress" {
			r.Stages[i].Status = "Completed"
		}
	}
	r.State, r.Status, r.Completed = "canceled", "Canceled", now
	s.dropPendingAssignmentLocked(r)
	return nil
}

func (s *Sandbox) cancelRequest(c *reqCtx) (int, any, *graphError) {
	r := s.st.request(c.params["id"])
	if r == nil {
		return 0, nil, notFound("accessPackageAssignmentRequest", c.params["id"])
	}
	sub := s.st.subject(r.SubjectID)
	if (sub == nil || sub.ObjectID != c.caller.oid) && !s.hasEMRoleLocked(c.caller.oid, true) {
		return 0, nil, forbidden("Only the requestor or an entitlement management administrator can cancel the request.")
	}
	if err := s.cancelLocked(r, c.now); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) listAssignments(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "target", "accessPackage", "assignmentPolicy", "catalog"); err != nil {
		return 0, nil, err
	}
	return 200, s.collection(c, emCtx+"assignments", collect(s.st.Assignments, s.assignmentFilterView), func(v map[string]any) map[string]any {
		return s.assignmentOut(s.st.assignment(v["id"].(string)), c.q.expand)
	}), nil
}

func (s *Sandbox) getAssignment(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "target", "accessPackage", "assignmentPolicy", "catalog"); err != nil {
		return 0, nil, err
	}
	a := s.st.assignment(c.params["id"])
	if a == nil {
		return 0, nil, notFound("accessPackageAssignment", c.params["id"])
	}
	return 200, s.entity(c, emCtx+"assignments", s.assignmentOut(a, c.q.expand)), nil
}

// ---- approvals (delegated only) ----

func (s *Sandbox) stageView(r *assignmentRequestRec, idx int, callerOID string, now time.Time) map[string]any {
	st := r.Stages[idx]
	var by any
	if st.ReviewedByID != "" {
		by = map[string]any{"id": st.ReviewedByID, "displayName": st.ReviewedByName}
	}
	return map[string]any{
		"id":               st.ID,
		"displayName":      nil,
		"reviewedDateTime": fmtTime(st.ReviewedAt),
		"reviewedBy":       by,
		"justification":    strOrNil(st.Justification),
		"assignedToMe":     s.approversLocked(r, idx, now)[callerOID],
		"status":           st.Status,
		"reviewResult":     st.ReviewResult,
	}
}

func (s *Sandbox) approvalView(r *assignmentRequestRec, callerOID string, now time.Time) map[string]any {
	stages := make([]any, 0, len(r.Stages))
	for i := range r.Stages {
		stages = append(stages, s.stageView(r, i, callerOID, now))
	}
	return map[string]any{"id": r.ID, "stages": stages}
}

func (s *Sandbox) approvalRequest(c *reqCtx) (*assignmentRequestRec, *graphError) {
	r := s.st.request(c.params["id"])
	if r == nil || len(r.Stages) == 0 {
		return nil, notFound("approval", c.params["id"])
	}
	return r, nil
}

func (s *Sandbox) getApproval(c *reqCtx) (int, any, *graphError) {
	r, err := s.approvalRequest(c)
	if err != nil {
		return 0, nil, err
	}
	return 200, s.entity(c, emCtx+"accessPackageAssignmentApprovals", s.approvalView(r, c.caller.oid, c.now)), nil
}

func (s *Sandbox) listStages(c *reqCtx) (int, any, *graphError) {
	r, err := s.approvalRequest(c)
	if err != nil {
		return 0, nil, err
	}
	var views []map[string]any
	for i := range r.Stages {
		views = append(views, s.stageView(r, i, c.caller.oid, c.now))
	}
	return 200, s.collection(c, emCtx+"accessPackageAssignmentApprovals('"+r.ID+"')/stages", views, nil), nil
}

func (s *Sandbox) getStage(c *reqCtx) (int, any, *graphError) {
	r, err := s.approvalRequest(c)
	if err != nil {
		return 0, nil, err
	}
	for i, st := range r.Stages {
		if st.ID == c.params["sid"] {
			return 200, s.entity(c, emCtx+"accessPackageAssignmentApprovals('"+r.ID+"')/stages", s.stageView(r, i, c.caller.oid, c.now)), nil
		}
	}
	return 0, nil, notFound("approvalStage", c.params["sid"])
}

func (s *Sandbox) updateStage(c *reqCtx) (int, any, *graphError) {
	r, err := s.approvalRequest(c)
	if err != nil {
		return 0, nil, err
	}
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "approvalStage", "reviewResult", "justification"); err != nil {
		return 0, nil, err
	}
	just, err := optString(m, "justification")
	if err != nil {
		return 0, nil, err
	}
	if err := s.decideLocked(r, c.params["sid"], c.caller.oid, str(m, "reviewResult"), just, c.now); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// decideLocked records an approver's decision on a stage: 403 when the user is not an approver
// of that stage, 409 when the stage (or the request) is already decided.
func (s *Sandbox) decideLocked(r *assignmentRequestRec, stageID, approverOID, result, justification string, now time.Time) *graphError {
	idx := slices.IndexFunc(r.Stages, func(st stageRec) bool { return st.ID == stageID })
	if idx < 0 {
		return notFound("approvalStage", stageID)
	}
	if result != "Approve" && result != "Deny" {
		return badRequest("reviewResult must be 'Approve' or 'Deny'.")
	}
	if !s.approversLocked(r, idx, now)[approverOID] {
		return forbidden("The signed-in user is not an approver of this approval stage.")
	}
	st := &r.Stages[idx]
	if st.Status != "InProgress" || r.State != "pendingApproval" {
		return conflict("The request has already been decided in this approval stage.")
	}
	p := s.st.policy(r.PolicyID)
	rules := rulesOf(p)
	if idx < len(rules.RequestApprovalSettings.Stages) && rules.RequestApprovalSettings.Stages[idx].IsApproverJustificationRequired &&
		strings.TrimSpace(justification) == "" {
		return gerr(http.StatusBadRequest, "JustificationRequired", "The approval stage requires a justification from the approver.")
	}
	u := s.st.user(approverOID)
	st.Status, st.ReviewedByID, st.ReviewedByName, st.ReviewedAt, st.Justification = "Completed", u.ID, u.DisplayName, now, justification
	if result == "Deny" {
		st.ReviewResult = "Denied"
		r.State, r.Status, r.Completed = "denied", "Denied", now
		s.dropPendingAssignmentLocked(r)
		return nil
	}
	st.ReviewResult = "Approved"
	if idx+1 < len(rules.RequestApprovalSettings.Stages) {
		r.Stages = append(r.Stages, stageRec{ID: newID(), Status: "InProgress", ReviewResult: "NotReviewed", Started: now})
		return nil
	}
	if a := s.st.assignment(r.AssignmentID); a != nil {
		s.deliverLocked(r, a, rules, now)
	}
	return nil
}

func (s *Sandbox) approvalsForCurrentUser(c *reqCtx) (int, any, *graphError) {
	if c.params["on"] != "approver" {
		return 0, nil, badRequest("filterByCurrentUser: the value of 'on' must be 'approver'.")
	}
	var views []map[string]any
	for _, r := range s.st.Requests {
		if r.State != "pendingApproval" || len(r.Stages) == 0 {
			continue
		}
		idx := len(r.Stages) - 1
		if r.Stages[idx].Status == "InProgress" && s.approversLocked(r, idx, c.now)[c.caller.oid] {
			views = append(views, s.approvalView(r, c.caller.oid, c.now))
		}
	}
	return 200, s.collection(c, "Collection(microsoft.graph.approval)", views, nil), nil
}
