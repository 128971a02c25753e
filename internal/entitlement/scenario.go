package entitlement

import "time"

// Scenario is the sponsor's view of guest access: who (partner organisations or any external user)
// gets what (resources with roles), with which approval, for how long.
type Scenario struct {
	// ID is guestpass's scenario id; empty before creation.
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Partners are the partner organisations whose users may request access. Empty when
	// AnyExternalUser is set.
	Partners []Partner `json:"partners,omitempty"`
	// AnyExternalUser admits every external user (allowedTargetScope allExternalUsers). Wider than
	// most organisations want; the wizard warns before choosing it.
	AnyExternalUser bool       `json:"anyExternalUser,omitempty"`
	Resources       []Resource `json:"resources"`
	Approval        Approval   `json:"approval"`
	// DurationDays is how long an assignment lasts (1–365).
	DurationDays int `json:"durationDays"`
	// AllowExtension lets guests request an extension before their access expires.
	AllowExtension bool       `json:"allowExtension,omitempty"`
	Questions      []Question `json:"questions,omitempty"`
	// OwnerOID is the sponsor who defined the scenario; CoOwnerOIDs may manage it too.
	OwnerOID    string   `json:"ownerOid"`
	CoOwnerOIDs []string `json:"coOwnerOids,omitempty"`
	// AllowB2BInvitation opts the scenario into B2B invitations (guests invited that way are outside
	// entitlement management's automatic removal).
	AllowB2BInvitation bool `json:"allowB2BInvitation,omitempty"`
	// Template names the template the scenario started from, if any.
	Template string `json:"template,omitempty"`

	// The fields below are set by the service, never by the sponsor.

	// State is the provisioning state: provisioning, active, failed or retired.
	State ScenarioState `json:"state,omitempty"`
	// CatalogID, AccessPackageID and PolicyID are the Entra objects the scenario maps to.
	CatalogID       string `json:"catalogId,omitempty"`
	AccessPackageID string `json:"accessPackageId,omitempty"`
	PolicyID        string `json:"policyId,omitempty"`
	// MyAccessLink is where guests request the access package.
	MyAccessLink string `json:"myAccessLink,omitempty"`
	// LastError is the error of the last failed provisioning attempt.
	LastError string    `json:"lastError,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// ScenarioState is a scenario's lifecycle state (the store's scenario states).
type ScenarioState string

// Scenario states.
const (
	StateProvisioning ScenarioState = "provisioning"
	StateActive       ScenarioState = "active"
	StateFailed       ScenarioState = "failed"
	StateRetired      ScenarioState = "retired"
)

// ScenarioDetails is a scenario with live counts from Graph.
type ScenarioDetails struct {
	Scenario
	PendingRequests   int `json:"pendingRequests"`
	ActiveAssignments int `json:"activeAssignments"`
}

// Partner is a partner organisation, identified by a DNS domain and/or an Entra tenant id.
type Partner struct {
	Domain      string `json:"domain,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	// ConnectedOrganizationID is set once the connected organization exists in Entra.
	ConnectedOrganizationID string `json:"connectedOrganizationId,omitempty"`
	// InternalSponsors and ExternalSponsors are user object ids made sponsors of the connected
	// organization when guestpass creates it (default internal sponsor: the scenario owner).
	InternalSponsors []string `json:"internalSponsors,omitempty"`
	ExternalSponsors []string `json:"externalSponsors,omitempty"`
}

// ResourceKind is the kind of a catalog resource.
type ResourceKind string

// Resource kinds and the Graph originSystem each maps to.
const (
	// ResourceGroup is a Microsoft 365 / security group, including the group behind a Team (AadGroup).
	ResourceGroup ResourceKind = "group"
	// ResourceSite is a SharePoint Online site (SharePointOnline; origin id = site URL).
	ResourceSite ResourceKind = "site"
	// ResourceApplication is an enterprise application (AadApplication; origin id = service principal id).
	ResourceApplication ResourceKind = "application"
)

// Resource is something a scenario grants, with the role granted in it.
type Resource struct {
	Kind ResourceKind `json:"kind"`
	// OriginID is the group object id, the site URL or the service principal id.
	OriginID    string `json:"originId"`
	DisplayName string `json:"displayName,omitempty"`
	// IsTeam marks a group that backs a Microsoft Teams team.
	IsTeam bool `json:"isTeam,omitempty"`
	Role   Role `json:"role"`
}

// Role is a resource role: "Member_<groupId>" for group membership, a SharePoint role's number, or
// an application role id.
type Role struct {
	OriginID    string `json:"originId"`
	DisplayName string `json:"displayName,omitempty"`
}

// ApproverKind says how an approver is designated.
type ApproverKind string

// Approver kinds. They map to Graph subjectSet types.
const (
	// ApproverSponsor is the scenario's sponsor (owner), a singleUser.
	ApproverSponsor ApproverKind = "sponsor"
	// ApproverUser is a specific user (singleUser).
	ApproverUser ApproverKind = "user"
	// ApproverGroup is every member of a group (groupMembers).
	ApproverGroup ApproverKind = "group"
	// ApproverInternalSponsors are the connected organization's internal sponsors.
	ApproverInternalSponsors ApproverKind = "internalSponsors"
	// ApproverExternalSponsors are the connected organization's external sponsors.
	ApproverExternalSponsors ApproverKind = "externalSponsors"
	// ApproverRequestorManager is the requestor's manager; Entra allows it only where the policy
	// covers users already in the directory, so guest scenarios rarely can use it.
	ApproverRequestorManager ApproverKind = "requestorManager"
)

// Approver designates who may decide a stage.
type Approver struct {
	Kind ApproverKind `json:"kind"`
	// ID is the user or group object id (for ApproverUser / ApproverGroup; the sponsor's oid once
	// resolved for ApproverSponsor).
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// Approval is a scenario's approval settings.
type Approval struct {
	// Required is false for automatic approval.
	Required bool `json:"required"`
	// RequestorJustificationRequired asks the guest for a justification when requesting.
	RequestorJustificationRequired bool `json:"requestorJustificationRequired,omitempty"`
	// Stages are the approval stages in order (1–3 when Required).
	Stages []Stage `json:"stages,omitempty"`
}

// Stage is one approval stage.
type Stage struct {
	Approvers []Approver `json:"approvers"`
	// ApproverJustificationRequired makes approvers give a reason for their decision.
	ApproverJustificationRequired bool `json:"approverJustificationRequired,omitempty"`
	// AutoDenyAfterDays denies the request automatically when no one decides in time (1–14).
	AutoDenyAfterDays int `json:"autoDenyAfterDays"`
	// EscalationApprovers take over after EscalationAfterDays when set.
	EscalationApprovers []Approver `json:"escalationApprovers,omitempty"`
	EscalationAfterDays int        `json:"escalationAfterDays,omitempty"`
}

// Question is a question asked of the requestor.
type Question struct {
	Text     string `json:"text"`
	Required bool   `json:"required,omitempty"`
	// Choices makes it a multiple-choice question; empty means free text.
	Choices []string `json:"choices,omitempty"`
}

// Person is a directory user as guestpass shows them.
type Person struct {
	OID          string `json:"oid"`
	DisplayName  string `json:"displayName,omitempty"`
	Email        string `json:"email,omitempty"`
	Organisation string `json:"organisation,omitempty"`
	// External is true for guests and users of connected organizations.
	External bool `json:"external,omitempty"`
	// ConnectedOrganizationID is the connected organization a requestor belongs to, if any.
	ConnectedOrganizationID string `json:"connectedOrganizationId,omitempty"`
}

// Answer is a requestor's answer to a Question.
type Answer struct {
	Question string `json:"question"`
	Value    string `json:"value"`
}

// RequestState is an assignment request's state as Graph reports it (accessPackageAssignmentRequest
// state: submitted, pendingApproval, delivering, delivered, deliveryFailed, denied, scheduled,
// canceled, partiallyDelivered).
type RequestState string

// Request states guestpass acts on.
const (
	RequestPendingApproval RequestState = "pendingApproval"
	RequestDelivering      RequestState = "delivering"
	RequestDelivered       RequestState = "delivered"
	RequestDenied          RequestState = "denied"
	RequestCanceled        RequestState = "canceled"
	RequestDeliveryFailed  RequestState = "deliveryFailed"
	RequestSubmitted       RequestState = "submitted"
	RequestScheduled       RequestState = "scheduled"
	RequestPartially       RequestState = "partiallyDelivered"
)

// Final reports whether the state can no longer change (the request was decided or dropped).
func (s RequestState) Final() bool {
	switch s {
	case RequestDelivered, RequestDenied, RequestCanceled, RequestDeliveryFailed, RequestPartially:
		return true
	}
	return false
}

// Request is an access package assignment request with what an approval card needs.
type Request struct {
	ID              string       `json:"id"`
	State           RequestState `json:"state"`
	Status          string       `json:"status,omitempty"`
	CreatedAt       time.Time    `json:"createdAt"`
	Requestor       Person       `json:"requestor"`
	AccessPackageID string       `json:"accessPackageId"`
	AccessPackage   string       `json:"accessPackage"`
	PolicyID        string       `json:"policyId,omitempty"`
	ScenarioID      string       `json:"scenarioId,omitempty"`
	Justification   string       `json:"justification,omitempty"`
	Answers         []Answer     `json:"answers,omitempty"`
	// DurationDays is the access duration the request would grant.
	DurationDays int `json:"durationDays,omitempty"`
	// AutoDenyAt is when the current stage denies automatically if no one decides.
	AutoDenyAt time.Time `json:"autoDenyAt,omitempty"`
	// StageCount is the number of approval stages in the request's policy.
	StageCount int `json:"stageCount,omitempty"`
	// RequestType is Graph's requestType (userAdd, userUpdate, adminAdd, …).
	RequestType string `json:"requestType,omitempty"`
	// CompletedAt is when the request reached a final state.
	CompletedAt time.Time `json:"completedAt,omitzero"`
}

// Decision is a recorded approval decision, for the audit log.
type Decision struct {
	RequestID string `json:"requestId"`
	StageID   string `json:"stageId"`
	// Stage is the 1-based number of the decided stage.
	Stage    int  `json:"stage"`
	Approved bool `json:"approved"`
	// GraphRequestID and ClientRequestID identify the PATCH in Graph's logs.
	GraphRequestID  string `json:"graphRequestId,omitempty"`
	ClientRequestID string `json:"clientRequestId,omitempty"`
}

// ApprovalStageInfo is an approval stage as the approver sees it (delegated read).
type ApprovalStageInfo struct {
	ID            string    `json:"id"`
	Number        int       `json:"number"`
	Status        string    `json:"status"`
	AssignedToMe  bool      `json:"assignedToMe"`
	ReviewResult  string    `json:"reviewResult,omitempty"`
	ReviewedBy    string    `json:"reviewedBy,omitempty"`
	ReviewedAt    time.Time `json:"reviewedAt,omitzero"`
	Justification string    `json:"justification,omitempty"`
}

// Assignment is an access package assignment.
type Assignment struct {
	ID              string    `json:"id"`
	State           string    `json:"state"`
	Status          string    `json:"status,omitempty"`
	AccessPackageID string    `json:"accessPackageId"`
	PolicyID        string    `json:"policyId,omitempty"`
	Target          Person    `json:"target"`
	StartsAt        time.Time `json:"startsAt,omitzero"`
	ExpiresAt       time.Time `json:"expiresAt,omitzero"`
}

// AssignmentFilter selects assignments. Without AccessPackageID, restricted mode reads the
// configured catalog's access packages one by one.
type AssignmentFilter struct {
	AccessPackageID string
	TargetOID       string
	// ExpiringWithin keeps delivered assignments ending within this duration from now.
	ExpiringWithin time.Duration
}

// DirectoryResource is a picker result: a group/Team, a SharePoint site or an enterprise app, with
// the roles entitlement management can grant in it.
type DirectoryResource struct {
	Kind ResourceKind `json:"kind"`
	// ID is the group object id, the site id or the service principal id.
	ID string `json:"id"`
	// OriginID is what the catalog resource is keyed by (the site URL for sites).
	OriginID    string `json:"originId"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
	Mail        string `json:"mail,omitempty"`
	WebURL      string `json:"webUrl,omitempty"`
	IsTeam      bool   `json:"isTeam,omitempty"`
	Roles       []Role `json:"roles,omitempty"`
}

// Invitation is the outcome of a B2B invitation.
type Invitation struct {
	ID             string `json:"id"`
	InvitedUserOID string `json:"invitedUserOid"`
	RedeemURL      string `json:"redeemUrl,omitempty"`
	Status         string `json:"status,omitempty"`
}

// InviteInput is a B2B invitation to send as the sponsor.
type InviteInput struct {
	Email       string
	DisplayName string
	// RedirectURL is where the guest lands after redeeming: the scenario's My Access link.
	RedirectURL string
	// SponsorOID becomes the guest user's sponsor in Entra.
	SponsorOID string
	// SendInvitationMessage lets Entra mail the invitation; otherwise the caller delivers RedeemURL.
	SendInvitationMessage bool
	// Message is an optional personal note in Entra's invitation mail.
	Message string
}

// Mail is a message sent from the signed-in user's mailbox.
type Mail struct {
	To      []string
	Subject string
	// HTML selects an HTML body; otherwise Body is plain text.
	HTML bool
	Body string
}

// AdminAddInput is a direct assignment made with the sponsor's delegated right.
type AdminAddInput struct {
	AccessPackageID string
	PolicyID        string
	// TargetOID names a user already in the directory; else TargetEmail someone not yet there.
	TargetOID     string
	TargetEmail   string
	Justification string
}
