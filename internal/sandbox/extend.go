package sandbox

import (
	"net/http"
	"time"
)

// adminUpdateLocked handles an adminUpdate accessPackageAssignmentRequest that changes an active
// assignment's schedule (an extension). Like Graph, the new schedule travels in the request's
// top-level schedule and the assignment is named by assignment.id; the sandbox supports the
// expiration type an extension needs (afterDateTime). The authorization (EntitlementManagement
// .ReadWrite.All, and for a delegated caller an entitlement-management role that may manage
// assignments) is checked by createRequest before this runs, as for adminRemove.
func (s *Sandbox) adminUpdateLocked(m, a map[string]any, justification, createdBy string, now time.Time) (*assignmentRequestRec, *graphError) {
	id := str(a, "id")
	if id == "" {
		return nil, badRequest("adminUpdate needs assignment.id, the assignment to update.")
	}
	asg := s.st.assignment(id)
	if asg == nil {
		return nil, notFound("accessPackageAssignment", id)
	}
	if asg.State != "delivered" {
		return nil, badRequest("The assignment is not active.")
	}
	if _, ok := m["answers"]; ok {
		return nil, badRequest("The sandbox tenant supports adminUpdate of the schedule only, not of answers.")
	}
	sch := obj(m, "schedule")
	exp := obj(sch, "expiration")
	if sch == nil || exp == nil {
		return nil, badRequest("adminUpdate needs schedule.expiration, the assignment's new end.")
	}
	if v, ok := sch["startDateTime"]; ok && v != nil {
		if _, err := time.Parse(time.RFC3339Nano, str(sch, "startDateTime")); err != nil {
			return nil, badRequest("schedule.startDateTime is not an ISO 8601 date and time.")
		}
	}
	if t := str(exp, "type"); t != "afterDateTime" {
		return nil, badRequest("schedule.expiration.type '" + t + "' is not supported by the sandbox tenant for adminUpdate; use afterDateTime.")
	}
	end, err := time.Parse(time.RFC3339Nano, str(exp, "endDateTime"))
	if err != nil {
		return nil, badRequest("schedule.expiration.endDateTime is not an ISO 8601 date and time.")
	}
	if !end.After(now) {
		return nil, badRequest("schedule.expiration.endDateTime must be in the future.")
	}
	// A policy with a fixed end date caps every assignment, extensions included.
	if p := s.st.policy(asg.PolicyID); p != nil {
		pe := rulesOf(p).Expiration
		if str(pe, "type") == "afterDateTime" {
			if limit, err := time.Parse(time.RFC3339Nano, str(pe, "endDateTime")); err == nil && end.After(limit) {
				return nil, gerr(http.StatusBadRequest, "ExtensionBeyondPolicy",
					"The new end is after the end date the assignment policy allows.")
			}
		}
	}
	end = end.UTC()
	asg.Expiration = map[string]any{"type": "afterDateTime", "endDateTime": fmtTime(end)}
	asg.End = end
	req := &assignmentRequestRec{ID: newID(), RequestType: "adminUpdate", AccessPackageID: asg.AccessPackageID, PolicyID: asg.PolicyID,
		SubjectID: asg.SubjectID, AssignmentID: asg.ID, CreatedByID: createdBy, Justification: justification,
		Schedule: deepCopy(sch).(map[string]any), State: "delivered", Status: "Delivered", Created: now, Completed: now}
	s.st.Requests = append(s.st.Requests, req)
	return req, nil
}
