package sandbox

import (
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ---- B2B invitations ----

func (s *Sandbox) createInvitation(c *reqCtx) (int, any, *graphError) {
	m, err := readObject(c)
	if err != nil {
		return 0, nil, err
	}
	if err := checkProps(m, "invitation", "invitedUserEmailAddress", "inviteRedirectUrl", "invitedUserDisplayName",
		"sendInvitationMessage", "invitedUserMessageInfo", "invitedUserType", "resetRedemption", "invitedUserSponsors", "invitedUser"); err != nil {
		return 0, nil, err
	}
	email := str(m, "invitedUserEmailAddress")
	if addr, perr := mail.ParseAddress(email); perr != nil || addr.Address != email {
		return 0, nil, badRequest("The invited user email address '" + email + "' is not valid.")
	}
	redirect := str(m, "inviteRedirectUrl")
	if u, perr := url.Parse(redirect); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return 0, nil, badRequest("inviteRedirectUrl is required and must be an absolute URL.")
	}
	if strings.EqualFold(emailDomain(email), TenantDomain) {
		return 0, nil, badRequest("The invited user is in a domain of the tenant and cannot be invited as a guest.")
	}
	name, err := optString(m, "invitedUserDisplayName")
	if err != nil {
		return 0, nil, err
	}
	send, err := optBool(m, "sendInvitationMessage", false)
	if err != nil {
		return 0, nil, err
	}
	userType, err := enumValue(m, "invitedUserType", "Guest", "Guest", "Member")
	if err != nil {
		return 0, nil, err
	}
	u := s.st.userByMail(email)
	if u != nil && u.UserType == "Member" && !isExternal(u) {
		return 0, nil, badRequest("The invited user already exists in the directory as a member.")
	}
	if u == nil {
		if name == "" {
			name = email
		}
		u = &userRec{ID: newID(), DisplayName: name, Mail: strings.ToLower(email), UPN: guestUPN(strings.ToLower(email)),
			UserType: userType, ExternalUserState: "PendingAcceptance", CreationType: "Invitation", Created: c.now}
		if kt := s.knownTenantByDomain(emailDomain(email)); kt != nil {
			u.HomeTenantID = kt.TenantID
		}
		s.st.Users = append(s.st.Users, u)
	}
	for _, sp := range arr(m, "invitedUserSponsors") {
		spm, _ := sp.(map[string]any)
		if id := str(spm, "id"); s.st.user(id) != nil && !slices.Contains(u.SponsorIDs, id) {
			u.SponsorIDs = append(u.SponsorIDs, id)
		}
	}
	inv := &invitationRec{ID: newID(), Email: email, DisplayName: u.DisplayName, RedirectURL: redirect, UserID: u.ID,
		SendMessage: send, MessageInfo: obj(m, "invitedUserMessageInfo"), InvitedUserTy: userType, Created: c.now}
	s.st.Invitations = append(s.st.Invitations, inv)
	redeem := s.BaseURL() + "/sandbox/redeem?invitation=" + url.QueryEscape(inv.ID)
	if send {
		s.st.Mail = append(s.st.Mail, SentMail{Message: map[string]any{
			"subject":      "You're invited to " + TenantDisplayName,
			"body":         map[string]any{"contentType": "text", "content": "Accept the invitation: " + redeem},
			"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": email}}},
		}, Sent: c.now})
	}
	status := "PendingAcceptance"
	if u.ExternalUserState == "Accepted" {
		status = "Completed"
	}
	return http.StatusCreated, s.entity(c, "invitations", map[string]any{
		"id":                      inv.ID,
		"inviteRedeemUrl":         redeem,
		"inviteRedirectUrl":       redirect,
		"invitedUserDisplayName":  u.DisplayName,
		"invitedUserEmailAddress": email,
		"invitedUserType":         userType,
		"sendInvitationMessage":   send,
		"resetRedemption":         false,
		"invitedUserMessageInfo":  deepCopy(inv.MessageInfo),
		"status":                  status,
		"invitedUser":             map[string]any{"id": u.ID},
	}), nil
}

// ---- sandbox control endpoints ----

// Error is a failure of a sandbox control operation, in Graph's terms.
type Error struct {
	// Status is the HTTP status the operation would answer.
	Status int
	// Code is the Graph-style error code (e.g. RequestorNotInPolicyScope).
	Code string
	// Message explains the failure.
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("sandbox: %d %s: %s", e.Status, e.Code, e.Message) }

func toError(g *graphError) error {
	if g == nil {
		return nil
	}
	return &Error{Status: g.status, Code: g.code, Message: g.msg}
}

// GuestRequest is a request for an access package made from the guest's side (as in My Access).
type GuestRequest struct {
	// GuestEmail identifies the guest; a guest not yet in the directory is created on submission.
	GuestEmail string `json:"guestEmail"`
	// GuestDisplayName names a new guest (default: the email).
	GuestDisplayName string `json:"guestDisplayName,omitempty"`
	// AccessPackageID is the requested access package.
	AccessPackageID string `json:"accessPackageId"`
	// PolicyID selects the policy; default: the first policy of the package whose scope admits the guest.
	PolicyID string `json:"policyId,omitempty"`
	// Justification is the requestor's justification.
	Justification string `json:"justification,omitempty"`
	// Answers are accessPackageAnswerString objects answering the policy's questions.
	Answers []any `json:"answers,omitempty"`
}

// SubmitGuestRequest submits a userAdd request as the guest would from My Access, with the same
// policy checks as POST assignmentRequests. It returns the request id.
func (s *Sandbox) SubmitGuestRequest(g GuestRequest) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.advanceLocked(now)
	r, err := s.guestRequestLocked(g, now)
	if err != nil {
		return "", toError(err)
	}
	s.persistLocked()
	return r.ID, nil
}

func (s *Sandbox) guestRequestLocked(g GuestRequest, now time.Time) (*assignmentRequestRec, *graphError) {
	email := strings.TrimSpace(g.GuestEmail)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return nil, badRequest("guestEmail '" + g.GuestEmail + "' is not a valid email address.")
	}
	if strings.EqualFold(emailDomain(email), TenantDomain) {
		return nil, badRequest("guestEmail must be an external address, not one of " + TenantDomain + ".")
	}
	sub := submission{requestType: "userAdd", packageID: g.AccessPackageID, policyID: g.PolicyID, email: email,
		displayName: g.GuestDisplayName, justification: g.Justification, answers: g.Answers, user: s.st.userByMail(email)}
	if sub.policyID == "" {
		probe := sub.user
		if probe == nil {
			probe = &userRec{Mail: strings.ToLower(email), UserType: "Guest"}
			if kt := s.knownTenantByDomain(emailDomain(email)); kt != nil {
				probe.HomeTenantID = kt.TenantID
			}
		}
		for _, p := range s.st.Policies {
			if p.AccessPackageID == g.AccessPackageID {
				if ok, _ := s.inScopeLocked(rulesOf(p), probe, false); ok {
					sub.policyID = p.ID
					break
				}
			}
		}
		if sub.policyID == "" {
			if s.st.accessPackage(g.AccessPackageID) == nil {
				return nil, badRequest("accessPackageId must reference an existing access package.")
			}
			return nil, gerr(http.StatusForbidden, "RequestorNotInPolicyScope", "No policy of the access package allows requests from "+email+".")
		}
	}
	r, err := s.submitLocked(sub, now)
	if err != nil {
		return nil, err
	}
	if sj := s.st.subject(r.SubjectID); sj != nil {
		r.CreatedByID = sj.ObjectID
	}
	return r, nil
}

// DecideAs records an approval decision as the given user, as if they had used My Access or the
// approval email: the same approver (403) and already-decided (409) rules apply. result is
// "Approve" or "Deny". It approves or denies the request's current stage.
func (s *Sandbox) DecideAs(approverOID, requestID, result, justification string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.advanceLocked(now)
	r := s.st.request(requestID)
	if r == nil || len(r.Stages) == 0 {
		return toError(notFound("approval", requestID))
	}
	if s.st.user(approverOID) == nil {
		return toError(forbidden("unknown approver " + approverOID))
	}
	if err := s.decideLocked(r, r.Stages[len(r.Stages)-1].ID, approverOID, result, justification, now); err != nil {
		return toError(err)
	}
	s.persistLocked()
	return nil
}

// CancelRequest cancels an open request as its requestor would.
func (s *Sandbox) CancelRequest(requestID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.request(requestID)
	if r == nil {
		return toError(notFound("accessPackageAssignmentRequest", requestID))
	}
	if err := s.cancelLocked(r, s.nowLocked()); err != nil {
		return toError(err)
	}
	s.persistLocked()
	return nil
}

func (s *Sandbox) ctlSSOToken(c *reqCtx) (int, any, *graphError) {
	var body struct {
		UserOID string `json:"userOid"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	if s.st.user(body.UserOID) == nil {
		return 0, nil, dirNotFound(body.UserOID)
	}
	tok, err := s.mintSSOLocked(s.st.user(body.UserOID))
	if err != nil {
		return 0, nil, gerr(http.StatusInternalServerError, "InternalServerError", "token signing failed")
	}
	return 200, map[string]any{"token": tok, "expiresIn": 3600, "audience": "api://botid-" + s.opts.ClientID}, nil
}

func (s *Sandbox) ctlGuestRequest(c *reqCtx) (int, any, *graphError) {
	var g GuestRequest
	if err := decodeBody(c.r, &g); err != nil {
		return 0, nil, err
	}
	r, err := s.guestRequestLocked(g, c.now)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.requestOut(r, map[string]*expandNode{"accesspackage": {name: "accessPackage"}, "requestor": {name: "requestor"}}), nil
}

func (s *Sandbox) ctlDecide(c *reqCtx) (int, any, *graphError) {
	var body struct {
		ApproverOID   string `json:"approverOid"`
		ReviewResult  string `json:"reviewResult"`
		Justification string `json:"justification"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	r := s.st.request(c.params["id"])
	if r == nil || len(r.Stages) == 0 {
		return 0, nil, notFound("approval", c.params["id"])
	}
	if s.st.user(body.ApproverOID) == nil {
		return 0, nil, dirNotFound(body.ApproverOID)
	}
	if err := s.decideLocked(r, r.Stages[len(r.Stages)-1].ID, body.ApproverOID, body.ReviewResult, body.Justification, c.now); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) ctlCancel(c *reqCtx) (int, any, *graphError) {
	r := s.st.request(c.params["id"])
	if r == nil {
		return 0, nil, notFound("accessPackageAssignmentRequest", c.params["id"])
	}
	if err := s.cancelLocked(r, c.now); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) ctlMail(c *reqCtx) (int, any, *graphError) {
	return 200, map[string]any{"value": slices.Clone(s.st.Mail)}, nil
}

func (s *Sandbox) ctlThrottle(c *reqCtx) (int, any, *graphError) {
	var body struct {
		Route string `json:"route"`
		Count int    `json:"count"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	if !slices.Contains(s.Routes(), body.Route) || body.Count < 0 || body.Count > 1000 {
		return 0, nil, badRequest("route must be one of the sandbox's route keys (GET /sandbox/calls lists them) and count 0–1000.")
	}
	s.ThrottleNext(body.Route, body.Count)
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) ctlAppRoles(c *reqCtx) (int, any, *graphError) {
	var body struct {
		Roles []string `json:"roles"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	s.st.AppRoles = slices.Clone(body.Roles)
	return http.StatusNoContent, nil, nil
}

func (s *Sandbox) ctlClock(c *reqCtx) (int, any, *graphError) {
	var body struct {
		Advance string `json:"advance"`
	}
	if err := decodeBody(c.r, &body); err != nil {
		return 0, nil, err
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil || d < 0 {
		return 0, nil, badRequest("advance must be a positive Go duration such as \"48h\".")
	}
	s.st.ClockOffset += d
	now := s.nowLocked()
	s.advanceLocked(now)
	return 200, map[string]any{"now": fmtTime(now)}, nil
}

func (s *Sandbox) ctlCalls(c *reqCtx) (int, any, *graphError) {
	return 200, map[string]any{"calls": s.Calls(), "routes": s.Routes()}, nil
}

// ctlRedeem stands in for the B2B redemption page: it marks the guest as having accepted and
// redirects to the invitation's redirect URL (e.g. the My Access link).
func (s *Sandbox) ctlRedeem(c *reqCtx) (int, any, *graphError) {
	id := c.r.URL.Query().Get("invitation")
	inv := find(s.st.Invitations, id, func(i *invitationRec) string { return i.ID })
	if inv == nil {
		return 0, nil, notFound("invitation", id)
	}
	if u := s.st.user(inv.UserID); u != nil && u.ExternalUserState != "Accepted" {
		u.ExternalUserState = "Accepted"
		s.persistLocked()
	}
	return http.StatusFound, redirectTo(inv.RedirectURL), nil
}

// redirectTo is a handler result that answers with a redirect.
type redirectTo string
