package entitlement

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"guestpass/internal/graph"
)

// ErrAlreadyDecided reports that the stage (or request) was already decided, by someone else or
// by an earlier click. errors.As to *AlreadyDecidedError for who and what when Graph said.
var ErrAlreadyDecided = errors.New("the request was already decided")

// ErrNotApprover reports that the signed-in user is not an approver of the request's current
// stage (Graph 403, or no stage assigned to them).
var ErrNotApprover = errors.New("you are not an approver for this stage")

// AlreadyDecidedError carries the existing decision when it could be read.
type AlreadyDecidedError struct {
	RequestID    string
	Stage        int
	ReviewResult string // Approved, Denied, … as Graph reports it
	ReviewedBy   string // display name of the deciding approver
	// GraphRequestID is the failed PATCH's request id, when there was one.
	GraphRequestID string
}

// Error implements error.
func (e *AlreadyDecidedError) Error() string {
	msg := "request " + e.RequestID + " was already decided"
	if e.ReviewResult != "" {
		msg += ": " + e.ReviewResult
	}
	if e.ReviewedBy != "" {
		msg += " by " + e.ReviewedBy
	}
	return msg
}

// Is matches ErrAlreadyDecided.
func (e *AlreadyDecidedError) Is(target error) bool { return target == ErrAlreadyDecided }

// notApprover wraps ErrNotApprover with the Graph error, if any, for the audit log.
func notApprover(requestID string, cause error) error {
	if cause == nil {
		return fmt.Errorf("request %s: %w", requestID, ErrNotApprover)
	}
	return fmt.Errorf("request %s: %w (%w)", requestID, ErrNotApprover, cause)
}

// Stages reads a request's approval stages as the signed-in approver (delegated only).
func (s *Service) Stages(ctx context.Context, cred azcore.TokenCredential, requestID string) ([]ApprovalStageInfo, error) {
	ctx = op(ctx, "Stages")
	if !ValidEntityID(requestID) {
		return nil, &ValidationError{Field: "requestId", Message: "is not a request id"}
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return nil, err
	}
	stages, err := readStages(ctx, c, requestID)
	return stages, err
}

func readStages(ctx context.Context, c *msgraphsdk.GraphServiceClient, requestID string) ([]ApprovalStageInfo, error) {
	page, err := nonEmpty(c.IdentityGovernance().EntitlementManagement().AccessPackageAssignmentApprovals().ByApprovalId(requestID).Stages().Get(ctx, nil))
	if err == nil {
		var out []ApprovalStageInfo
		err = graph.Each(ctx, c, "read approval stages", page, models.CreateApprovalStageCollectionResponseFromDiscriminatorValue,
			func(st models.ApprovalStageable) error {
				info := ApprovalStageInfo{
					ID: deref(st.GetId()), Number: len(out) + 1, Status: deref(st.GetStatus()),
					AssignedToMe: deref(st.GetAssignedToMe()), ReviewResult: deref(st.GetReviewResult()),
					Justification: deref(st.GetJustification()),
				}
				if by := st.GetReviewedBy(); by != nil {
					info.ReviewedBy = deref(by.GetDisplayName())
				}
				if t := st.GetReviewedDateTime(); t != nil {
					info.ReviewedAt = t.UTC()
				}
				out = append(out, info)
				return nil
			})
		if err == nil {
			return out, nil
		}
	}
	switch {
	case graph.IsForbidden(err):
		return nil, notApprover(requestID, graph.Wrap("read approval stages", err))
	case graph.IsNotFound(err):
		return nil, fmt.Errorf("approval %s: %w", requestID, ErrNotFound)
	}
	return nil, graph.Wrap("read approval stages", err)
}

// Decide records an approve or deny decision as the approver whose on-behalf-of credential cred
// is (never app-only: Graph accepts decisions only from the approver). It reads the request's
// stages, picks the one in progress and assigned to the caller, and PATCHes it. Errors:
// ErrAlreadyDecided (*AlreadyDecidedError) when another approver or an earlier click decided,
// ErrNotApprover when the caller may not decide the current stage, ErrNotFound, or a
// *ValidationError (deny needs a justification).
func (s *Service) Decide(ctx context.Context, cred azcore.TokenCredential, requestID string, approve bool, justification string) (Decision, error) {
	ctx = op(ctx, "Decide")
	var v validator
	if !ValidEntityID(requestID) {
		v.add("requestId", "is not a request id")
	}
	validateJustification(&v, justification, !approve)
	if err := v.err(); err != nil {
		return Decision{}, err
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return Decision{}, err
	}
	em := c.IdentityGovernance().EntitlementManagement()
	stages, err := readStages(ctx, c, requestID)
	if err != nil {
		return Decision{}, err
	}
	var mine *ApprovalStageInfo
	inProgress := false
	for i := range stages {
		if strings.EqualFold(stages[i].Status, "InProgress") {
			inProgress = true
			if stages[i].AssignedToMe {
				mine = &stages[i]
				break
			}
		}
	}
	if mine == nil {
		if inProgress {
			return Decision{}, notApprover(requestID, nil)
		}
		return Decision{}, alreadyDecided(requestID, stages, "")
	}

	body := models.NewApprovalStage()
	result := "Deny"
	if approve {
		result = "Approve"
	}
	body.SetReviewResult(ptr(result))
	body.SetJustification(ptr(justification))
	clientReqID := newScenarioID()
	hdrs := abs.NewRequestHeaders()
	hdrs.Add("client-request-id", clientReqID)
	inspect := khttp.NewHeadersInspectionOptions()
	inspect.InspectResponseHeaders = true
	// A decision answers 204 No Content, so no body is expected here.
	_, err = em.AccessPackageAssignmentApprovals().ByApprovalId(requestID).Stages().ByApprovalStageId(mine.ID).Patch(ctx, body,
		&igov.EntitlementManagementAccessPackageAssignmentApprovalsItemStagesApprovalStageItemRequestBuilderPatchRequestConfiguration{
			Headers: hdrs, Options: []abs.RequestOption{inspect},
		})
	if err != nil {
		ge, _ := graph.AsError(err)
		switch {
		case graph.IsConflict(err):
			// Someone decided between our read and our write: read again to say who.
			after, rerr := readStages(ctx, c, requestID)
			if rerr != nil {
				after = nil
			}
			reqID := ""
			if ge != nil {
				reqID = ge.RequestID
			}
			return Decision{}, alreadyDecided(requestID, after, reqID)
		case graph.IsForbidden(err):
			return Decision{}, notApprover(requestID, graph.Wrap("decide", err))
		case graph.IsNotFound(err):
			return Decision{}, fmt.Errorf("approval %s: %w", requestID, ErrNotFound)
		}
		return Decision{}, graph.Wrap("record decision", err)
	}
	d := Decision{RequestID: requestID, StageID: mine.ID, Stage: mine.Number, Approved: approve, ClientRequestID: clientReqID}
	if h := inspect.GetResponseHeaders(); h != nil {
		if v := h.Get("request-id"); len(v) > 0 {
			d.GraphRequestID = v[0]
		}
	}
	s.log.InfoContext(ctx, "approval decision recorded", "request_id", requestID, "stage", d.Stage,
		"approved", approve, "graph_request_id", d.GraphRequestID)
	return d, nil
}

// alreadyDecided builds the conflict error from the latest decided stage, when readable.
func alreadyDecided(requestID string, stages []ApprovalStageInfo, graphRequestID string) error {
	e := &AlreadyDecidedError{RequestID: requestID, GraphRequestID: graphRequestID}
	for i := len(stages) - 1; i >= 0; i-- {
		st := stages[i]
		if st.ReviewResult != "" && !strings.EqualFold(st.ReviewResult, "NotReviewed") {
			e.Stage, e.ReviewResult, e.ReviewedBy = st.Number, st.ReviewResult, st.ReviewedBy
			break
		}
	}
	return e
}

// Invite sends a B2B invitation as the sponsor (delegated), redirecting to in.RedirectURL (the My
// Access link) and making in.SponsorOID the guest's sponsor. The caller decides whether the
// scenario allows B2B invitations.
func (s *Service) Invite(ctx context.Context, cred azcore.TokenCredential, in InviteInput) (Invitation, error) {
	ctx = op(ctx, "Invite")
	var v validator
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		v.add("email", "%v", err)
	}
	v.text("displayName", in.DisplayName, false, MaxNameLen)
	if u, err := url.Parse(in.RedirectURL); err != nil || u.Scheme != "https" || u.Host == "" {
		v.add("redirectUrl", "must be an https URL")
	}
	if !ValidObjectID(in.SponsorOID) {
		v.add("sponsorOid", "is not a directory object id")
	}
	v.text("message", in.Message, false, MaxDescriptionLen)
	if err := v.err(); err != nil {
		return Invitation{}, err
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return Invitation{}, err
	}
	inv := models.NewInvitation()
	inv.SetInvitedUserEmailAddress(ptr(email))
	if in.DisplayName != "" {
		inv.SetInvitedUserDisplayName(ptr(in.DisplayName))
	}
	inv.SetInviteRedirectUrl(ptr(in.RedirectURL))
	inv.SetSendInvitationMessage(ptr(in.SendInvitationMessage))
	if in.SendInvitationMessage && in.Message != "" {
		info := models.NewInvitedUserMessageInfo()
		info.SetCustomizedMessageBody(ptr(in.Message))
		inv.SetInvitedUserMessageInfo(info)
	}
	sponsor := models.NewUser()
	sponsor.SetId(ptr(in.SponsorOID))
	inv.SetInvitedUserSponsors([]models.DirectoryObjectable{sponsor})
	created, err := nonEmpty(c.Invitations().Post(ctx, inv, nil))
	if err != nil {
		return Invitation{}, graph.Wrap("invite guest", err)
	}
	out := Invitation{ID: deref(created.GetId()), RedeemURL: deref(created.GetInviteRedeemUrl()), Status: deref(created.GetStatus())}
	if u := created.GetInvitedUser(); u != nil {
		out.InvitedUserOID = deref(u.GetId())
	}
	return out, nil
}

// SendMail sends a message from the signed-in user's own mailbox (delegated /me/sendMail), so the
// guest sees the sponsor as the sender and the mail sits in the sponsor's Sent Items.
func (s *Service) SendMail(ctx context.Context, cred azcore.TokenCredential, m Mail) error {
	ctx = op(ctx, "SendMail")
	var v validator
	if len(m.To) == 0 || len(m.To) > 50 {
		v.add("to", "needs 1 to 50 recipients")
	}
	to := make([]string, 0, len(m.To))
	for i, addr := range m.To {
		e, err := NormalizeEmail(addr)
		if err != nil {
			v.add(fmt.Sprintf("to[%d]", i), "%v", err)
		}
		to = append(to, e)
	}
	v.text("subject", m.Subject, true, 255)
	if strings.ContainsAny(m.Subject, "\r\n") {
		v.add("subject", "must be one line")
	}
	if strings.TrimSpace(m.Body) == "" {
		v.add("body", "is required")
	}
	if len(m.Body) > 1<<20 {
		v.add("body", "is larger than 1 MiB")
	}
	if err := v.err(); err != nil {
		return err
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return err
	}
	msg := models.NewMessage()
	msg.SetSubject(ptr(m.Subject))
	body := models.NewItemBody()
	ct := models.TEXT_BODYTYPE
	if m.HTML {
		ct = models.HTML_BODYTYPE
	}
	body.SetContentType(&ct)
	body.SetContent(ptr(m.Body))
	msg.SetBody(body)
	var rcpts []models.Recipientable
	for _, addr := range to {
		r := models.NewRecipient()
		ea := models.NewEmailAddress()
		ea.SetAddress(ptr(addr))
		r.SetEmailAddress(ea)
		rcpts = append(rcpts, r)
	}
	msg.SetToRecipients(rcpts)
	req := users.NewItemSendMailPostRequestBody()
	req.SetMessage(msg)
	req.SetSaveToSentItems(ptr(true))
	if err := c.Me().SendMail().Post(ctx, req, nil); err != nil {
		return graph.Wrap("send mail", err)
	}
	return nil
}

// RemoveAssignment asks Entra to remove an assignment (adminRemove) with the caller's delegated
// right, so Entra checks the sponsor or admin may and records them as the actor. It returns the
// removal request's id.
func (s *Service) RemoveAssignment(ctx context.Context, cred azcore.TokenCredential, assignmentID string) (string, error) {
	ctx = op(ctx, "RemoveAssignment")
	if !ValidEntityID(assignmentID) {
		return "", &ValidationError{Field: "assignmentId", Message: "is not an assignment id"}
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return "", err
	}
	req := models.NewAccessPackageAssignmentRequest()
	req.SetRequestType(ptr(models.ADMINREMOVE_ACCESSPACKAGEREQUESTTYPE))
	a := models.NewAccessPackageAssignment()
	a.SetId(ptr(assignmentID))
	req.SetAssignment(a)
	created, err := nonEmpty(c.IdentityGovernance().EntitlementManagement().AssignmentRequests().Post(ctx, req, nil))
	if err != nil {
		if graph.IsForbidden(err) {
			return "", fmt.Errorf("remove assignment %s: %w: %w", assignmentID, ErrForbidden, graph.Wrap("remove assignment", err))
		}
		return "", graph.Wrap("remove assignment", err)
	}
	return deref(created.GetId()), nil
}

// ErrForbidden reports that the signed-in user lacks the right in Entra for a delegated operation.
var ErrForbidden = errors.New("not allowed by Entra for the signed-in user")

// AdminAdd assigns an access package directly with the sponsor's delegated right (adminAdd);
// never app-only, so it cannot bypass the policy's approval on the sponsor's behalf. It returns
// the request's id and state.
func (s *Service) AdminAdd(ctx context.Context, cred azcore.TokenCredential, in AdminAddInput) (Request, error) {
	ctx = op(ctx, "AdminAdd")
	var v validator
	if !ValidEntityID(in.AccessPackageID) {
		v.add("accessPackageId", "is not an access package id")
	}
	if !ValidEntityID(in.PolicyID) {
		v.add("policyId", "is not a policy id")
	}
	email := ""
	switch {
	case in.TargetOID != "" && in.TargetEmail != "":
		v.add("target", "give a user id or an email, not both")
	case in.TargetOID != "":
		if !ValidObjectID(in.TargetOID) {
			v.add("targetOid", "is not a directory object id")
		}
	case in.TargetEmail != "":
		e, err := NormalizeEmail(in.TargetEmail)
		if err != nil {
			v.add("targetEmail", "%v", err)
		}
		email = e
	default:
		v.add("target", "is required")
	}
	validateJustification(&v, in.Justification, false)
	if err := v.err(); err != nil {
		return Request{}, err
	}
	c, err := s.delegatedClient(ctx, cred)
	if err != nil {
		return Request{}, err
	}
	req := models.NewAccessPackageAssignmentRequest()
	req.SetRequestType(ptr(models.ADMINADD_ACCESSPACKAGEREQUESTTYPE))
	if in.Justification != "" {
		req.SetJustification(ptr(in.Justification))
	}
	a := models.NewAccessPackageAssignment()
	// The v1.0 model has no setters for these documented properties; the official Go sample
	// sends them as additional data too.
	data := map[string]any{"assignmentPolicyId": ptr(in.PolicyID), "accessPackageId": ptr(in.AccessPackageID)}
	if in.TargetOID != "" {
		data["targetId"] = ptr(in.TargetOID)
	} else {
		sub := models.NewAccessPackageSubject()
		sub.SetEmail(ptr(email))
		a.SetTarget(sub)
	}
	a.SetAdditionalData(data)
	req.SetAssignment(a)
	created, err := nonEmpty(c.IdentityGovernance().EntitlementManagement().AssignmentRequests().Post(ctx, req, nil))
	if err != nil {
		if graph.IsForbidden(err) {
			return Request{}, fmt.Errorf("assign %s: %w: %w", in.AccessPackageID, ErrForbidden, graph.Wrap("assign access package", err))
		}
		return Request{}, graph.Wrap("assign access package", err)
	}
	return toRequest(created, nil), nil
}
