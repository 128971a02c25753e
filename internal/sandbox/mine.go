package sandbox

import "strings"

// permMyRequests is the rule of assignmentRequests/filterByCurrentUser: Graph v1.0 documents
// EntitlementManagement.Read.All (or ReadWrite.All) delegated and application permissions as not
// supported, so an app-only token gets 403. The signed-in user needs no entitlement-management
// role: approvers and requestors are ordinary users.
var permMyRequests = &perm{delegated: []string{pEMRead, pEMWrite}}

// requestsForCurrentUser serves
// GET assignmentRequests/filterByCurrentUser(on='target'|'createdBy'|'approver'): the requests
// where the signed-in user is the target, the creator, or an approver whose decision the request
// waits for (pending, current stage in progress, the user among that stage's approvers now —
// escalation included, the requestor never). $filter, $expand, $select, $top and paging work as
// on the assignmentRequests collection.
func (s *Sandbox) requestsForCurrentUser(c *reqCtx) (int, any, *graphError) {
	if err := checkExpand(c.q.expand, "accessPackage", "requestor", "assignment"); err != nil {
		return 0, nil, err
	}
	me := c.caller.oid
	var keep func(r *assignmentRequestRec) bool
	switch c.params["on"] {
	case "target":
		keep = func(r *assignmentRequestRec) bool {
			sub := s.st.subject(r.SubjectID)
			return sub != nil && strings.EqualFold(sub.ObjectID, me)
		}
	case "createdBy":
		keep = func(r *assignmentRequestRec) bool { return strings.EqualFold(r.CreatedByID, me) }
	case "approver":
		keep = func(r *assignmentRequestRec) bool {
			if r.State != "pendingApproval" || len(r.Stages) == 0 {
				return false
			}
			idx := len(r.Stages) - 1
			return r.Stages[idx].Status == "InProgress" && s.approversLocked(r, idx, c.now)[me]
		}
	default:
		return 0, nil, badRequest("The value '" + c.params["on"] + "' of parameter 'on' is not a valid accessPackageAssignmentRequestFilterByCurrentUserOptions; use 'target', 'createdBy' or 'approver'.")
	}
	var views []map[string]any
	for _, r := range s.st.Requests {
		if keep(r) {
			views = append(views, s.requestFilterView(r))
		}
	}
	return 200, s.collection(c, "Collection(microsoft.graph.accessPackageAssignmentRequest)", views, func(v map[string]any) map[string]any {
		return s.requestOut(s.st.request(v["id"].(string)), c.q.expand)
	}), nil
}
