package sandbox

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The storage model. It is deliberately separate from the wire model: views (view*.go functions)
// render these records into Graph's JSON shapes, so persistence can keep internal links
// (memberships, managers, sponsors) that Graph exposes only as navigation properties.

type userRec struct {
	ID                string    `json:"id"`
	DisplayName       string    `json:"displayName"`
	GivenName         string    `json:"givenName,omitempty"`
	Surname           string    `json:"surname,omitempty"`
	Mail              string    `json:"mail,omitempty"`
	UPN               string    `json:"userPrincipalName"`
	JobTitle          string    `json:"jobTitle,omitempty"`
	Department        string    `json:"department,omitempty"`
	UserType          string    `json:"userType"`
	ExternalUserState string    `json:"externalUserState,omitempty"`
	CreationType      string    `json:"creationType,omitempty"`
	HomeTenantID      string    `json:"homeTenantId,omitempty"`
	ManagerID         string    `json:"managerId,omitempty"`
	SponsorIDs        []string  `json:"sponsorIds,omitempty"`
	Created           time.Time `json:"created"`
}

type groupRec struct {
	ID                          string    `json:"id"`
	DisplayName                 string    `json:"displayName"`
	Description                 string    `json:"description,omitempty"`
	Mail                        string    `json:"mail,omitempty"`
	MailNickname                string    `json:"mailNickname"`
	GroupTypes                  []string  `json:"groupTypes"`
	MailEnabled                 bool      `json:"mailEnabled"`
	SecurityEnabled             bool      `json:"securityEnabled"`
	ResourceProvisioningOptions []string  `json:"resourceProvisioningOptions"`
	Visibility                  string    `json:"visibility,omitempty"`
	MemberIDs                   []string  `json:"memberIds,omitempty"`
	OwnerIDs                    []string  `json:"ownerIds,omitempty"`
	Created                     time.Time `json:"created"`
}

type siteRec struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"displayName"`
	Description string    `json:"description,omitempty"`
	WebURL      string    `json:"webUrl"`
	Created     time.Time `json:"created"`
}

type appRoleRec struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	Description        string   `json:"description"`
	Value              string   `json:"value"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
}

type servicePrincipalRec struct {
	ID          string       `json:"id"`
	AppID       string       `json:"appId"`
	DisplayName string       `json:"displayName"`
	Description string       `json:"description,omitempty"`
	Tags        []string     `json:"tags,omitempty"`
	AppRoles    []appRoleRec `json:"appRoles,omitempty"`
	OwnerTenant string       `json:"appOwnerOrganizationId,omitempty"`
}

type appRoleAssignmentRec struct {
	ID          string    `json:"id"`
	PrincipalID string    `json:"principalId"`
	ResourceID  string    `json:"resourceId"`
	AppRoleID   string    `json:"appRoleId"`
	Created     time.Time `json:"created"`
}

type emRoleAssignmentRec struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
	AppScopeID       string `json:"appScopeId"`
}

type catalogRec struct {
	ID                  string    `json:"id"`
	DisplayName         string    `json:"displayName"`
	Description         string    `json:"description"`
	CatalogType         string    `json:"catalogType"`
	State               string    `json:"state"`
	IsExternallyVisible bool      `json:"isExternallyVisible"`
	Created             time.Time `json:"created"`
	Modified            time.Time `json:"modified"`
}

type resourceRoleRec struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	Description  string `json:"description,omitempty"`
	OriginID     string `json:"originId"`
	OriginSystem string `json:"originSystem"`
}

type resourceScopeRec struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	Description  string `json:"description,omitempty"`
	OriginID     string `json:"originId"`
	OriginSystem string `json:"originSystem"`
	IsRootScope  bool   `json:"isRootScope"`
}

type resourceRec struct {
	ID           string             `json:"id"`
	CatalogID    string             `json:"catalogId"`
	DisplayName  string             `json:"displayName"`
	Description  string             `json:"description,omitempty"`
	OriginID     string             `json:"originId"`
	OriginSystem string             `json:"originSystem"`
	Roles        []resourceRoleRec  `json:"roles"`
	Scopes       []resourceScopeRec `json:"scopes"`
	Created      time.Time          `json:"created"`
}

type resourceRequestRec struct {
	ID          string    `json:"id"`
	RequestType string    `json:"requestType"`
	State       string    `json:"state"`
	CatalogID   string    `json:"catalogId"`
	ResourceID  string    `json:"resourceId"`
	Created     time.Time `json:"created"`
}

type roleScopeRec struct {
	ID         string    `json:"id"`
	ResourceID string    `json:"resourceId"`
	RoleID     string    `json:"roleId"`
	ScopeID    string    `json:"scopeId"`
	Created    time.Time `json:"created"`
}

type accessPackageRec struct {
	ID          string         `json:"id"`
	CatalogID   string         `json:"catalogId"`
	DisplayName string         `json:"displayName"`
	Description string         `json:"description"`
	IsHidden    bool           `json:"isHidden"`
	RoleScopes  []roleScopeRec `json:"roleScopes,omitempty"`
	Created     time.Time      `json:"created"`
	Modified    time.Time      `json:"modified"`
}

// policyRec keeps the policy's complex properties as the JSON the client sent (normalised), so
// reads return exactly what was written; the sandbox decodes the parts it enforces on use.
type policyRec struct {
	ID              string         `json:"id"`
	AccessPackageID string         `json:"accessPackageId"`
	CatalogID       string         `json:"catalogId"`
	Props           map[string]any `json:"props"`
	Created         time.Time      `json:"created"`
	Modified        time.Time      `json:"modified"`
}

type connectedOrgRec struct {
	ID                 string           `json:"id"`
	DisplayName        string           `json:"displayName"`
	Description        string           `json:"description"`
	IdentitySources    []map[string]any `json:"identitySources"`
	State              string           `json:"state"`
	InternalSponsorIDs []string         `json:"internalSponsorIds,omitempty"`
	ExternalSponsorIDs []string         `json:"externalSponsorIds,omitempty"`
	Created            time.Time        `json:"created"`
	Modified           time.Time        `json:"modified"`
}

// subjectRec is an accessPackageSubject: the entitlement-management view of a user.
type subjectRec struct {
	ID       string `json:"id"`
	ObjectID string `json:"objectId"`
}

type stageRec struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	ReviewResult   string    `json:"reviewResult"`
	ReviewedByID   string    `json:"reviewedById,omitempty"`
	ReviewedByName string    `json:"reviewedByName,omitempty"`
	ReviewedAt     time.Time `json:"reviewedAt"`
	Justification  string    `json:"justification,omitempty"`
	Started        time.Time `json:"started"`
}

type assignmentRequestRec struct {
	ID              string           `json:"id"`
	RequestType     string           `json:"requestType"`
	State           string           `json:"state"`
	Status          string           `json:"status"`
	AccessPackageID string           `json:"accessPackageId"`
	PolicyID        string           `json:"policyId"`
	SubjectID       string           `json:"subjectId"`
	CreatedByID     string           `json:"createdById,omitempty"`
	AssignmentID    string           `json:"assignmentId,omitempty"`
	Justification   string           `json:"justification,omitempty"`
	Answers         []map[string]any `json:"answers,omitempty"`
	Schedule        map[string]any   `json:"schedule,omitempty"`
	Stages          []stageRec       `json:"stages,omitempty"`
	Created         time.Time        `json:"created"`
	Completed       time.Time        `json:"completed"`
}

type assignmentRec struct {
	ID              string         `json:"id"`
	AccessPackageID string         `json:"accessPackageId"`
	PolicyID        string         `json:"policyId"`
	SubjectID       string         `json:"subjectId"`
	State           string         `json:"state"`
	Status          string         `json:"status"`
	Start           time.Time      `json:"start"`
	Expiration      map[string]any `json:"expiration,omitempty"`
	End             time.Time      `json:"end"`
	Expired         time.Time      `json:"expired"`
}

type invitationRec struct {
	ID            string         `json:"id"`
	Email         string         `json:"email"`
	DisplayName   string         `json:"displayName,omitempty"`
	RedirectURL   string         `json:"redirectUrl"`
	UserID        string         `json:"userId"`
	SendMessage   bool           `json:"sendMessage"`
	MessageInfo   map[string]any `json:"messageInfo,omitempty"`
	InvitedUserTy string         `json:"invitedUserType"`
	Created       time.Time      `json:"created"`
}

// SentMail is a message the bot sent through Graph's sendMail, recorded so tests and the local
// demo can read it (the sandbox delivers nothing).
type SentMail struct {
	// FromUserID is the object id of the signed-in sender.
	FromUserID string `json:"fromUserId"`
	// Message is the Graph message resource as posted (subject, body, toRecipients, …).
	Message map[string]any `json:"message"`
	// SaveToSentItems echoes the request flag.
	SaveToSentItems bool `json:"saveToSentItems"`
	// Sent is when the sandbox accepted the message.
	Sent time.Time `json:"sent"`
}

// knownTenant is an Entra tenant outside the sandbox, keyed by a verified domain: connected
// organizations created for such a domain become azureActiveDirectoryTenant sources.
type knownTenant struct {
	TenantID    string `json:"tenantId"`
	DisplayName string `json:"displayName"`
	Domain      string `json:"domain"`
}

// secrets are the sandbox's own key material, persisted so a restart keeps tokens, the TLS
// certificate and the app secret valid. They protect only fake data.
type secrets struct {
	SigningKeyPEM string `json:"signingKeyPem"`
	TLSCertPEM    string `json:"tlsCertPem"`
	TLSKeyPEM     string `json:"tlsKeyPem"`
	ClientSecret  string `json:"clientSecret"`
}

type state struct {
	Version            int                     `json:"version"`
	Secrets            secrets                 `json:"secrets"`
	AppRoles           []string                `json:"appRoles"`
	DelegatedScopes    []string                `json:"delegatedScopes"`
	ClockOffset        time.Duration           `json:"clockOffset"`
	KnownTenants       []knownTenant           `json:"knownTenants"`
	Users              []*userRec              `json:"users"`
	Groups             []*groupRec             `json:"groups"`
	Sites              []*siteRec              `json:"sites"`
	ServicePrincipals  []*servicePrincipalRec  `json:"servicePrincipals"`
	AppRoleAssignments []*appRoleAssignmentRec `json:"appRoleAssignments"`
	EMRoleAssignments  []*emRoleAssignmentRec  `json:"emRoleAssignments"`
	Catalogs           []*catalogRec           `json:"catalogs"`
	Resources          []*resourceRec          `json:"resources"`
	ResourceRequests   []*resourceRequestRec   `json:"resourceRequests"`
	AccessPackages     []*accessPackageRec     `json:"accessPackages"`
	Policies           []*policyRec            `json:"policies"`
	ConnectedOrgs      []*connectedOrgRec      `json:"connectedOrganizations"`
	Subjects           []*subjectRec           `json:"subjects"`
	Requests           []*assignmentRequestRec `json:"assignmentRequests"`
	Assignments        []*assignmentRec        `json:"assignments"`
	Invitations        []*invitationRec        `json:"invitations"`
	Mail               []SentMail              `json:"mail"`
	// TeamsAppInstallations are Teams apps installed in users' personal scope (teamsapps.go).
	TeamsAppInstallations []*teamsInstallRec `json:"teamsAppInstallations,omitempty"`
	// DirectoryRoleAssignments are Entra directory roles held by principals (directoryroles.go).
	DirectoryRoleAssignments []*dirRoleAssignmentRec `json:"directoryRoleAssignments,omitempty"`
}

const stateVersion = 1

// find returns the first element of xs whose id (by idOf) equals id, case-insensitively.
func find[T any](xs []*T, id string, idOf func(*T) string) *T {
	for _, x := range xs {
		if strings.EqualFold(idOf(x), id) {
			return x
		}
	}
	return nil
}

func (st *state) user(id string) *userRec {
	return find(st.Users, id, func(u *userRec) string { return u.ID })
}

func (st *state) userByIDOrUPN(key string) *userRec {
	if u := st.user(key); u != nil {
		return u
	}
	return find(st.Users, key, func(u *userRec) string { return u.UPN })
}

func (st *state) userByMail(mail string) *userRec {
	for _, u := range st.Users {
		if strings.EqualFold(u.Mail, mail) || strings.EqualFold(u.UPN, mail) {
			return u
		}
	}
	return nil
}

func (st *state) group(id string) *groupRec {
	return find(st.Groups, id, func(g *groupRec) string { return g.ID })
}

func (st *state) servicePrincipal(id string) *servicePrincipalRec {
	return find(st.ServicePrincipals, id, func(s *servicePrincipalRec) string { return s.ID })
}

func (st *state) servicePrincipalByAppID(appID string) *servicePrincipalRec {
	return find(st.ServicePrincipals, appID, func(s *servicePrincipalRec) string { return s.AppID })
}

func (st *state) catalog(id string) *catalogRec {
	return find(st.Catalogs, id, func(c *catalogRec) string { return c.ID })
}

func (st *state) resource(id string) *resourceRec {
	return find(st.Resources, id, func(r *resourceRec) string { return r.ID })
}

func (st *state) accessPackage(id string) *accessPackageRec {
	return find(st.AccessPackages, id, func(p *accessPackageRec) string { return p.ID })
}

func (st *state) policy(id string) *policyRec {
	return find(st.Policies, id, func(p *policyRec) string { return p.ID })
}

func (st *state) connectedOrg(id string) *connectedOrgRec {
	return find(st.ConnectedOrgs, id, func(o *connectedOrgRec) string { return o.ID })
}

func (st *state) subject(id string) *subjectRec {
	return find(st.Subjects, id, func(s *subjectRec) string { return s.ID })
}

func (st *state) request(id string) *assignmentRequestRec {
	return find(st.Requests, id, func(r *assignmentRequestRec) string { return r.ID })
}

func (st *state) assignment(id string) *assignmentRec {
	return find(st.Assignments, id, func(a *assignmentRec) string { return a.ID })
}

// subjectFor returns the accessPackageSubject of a user, creating it on first use.
func (st *state) subjectFor(userID string) *subjectRec {
	if s := find(st.Subjects, userID, func(s *subjectRec) string { return s.ObjectID }); s != nil {
		return s
	}
	s := &subjectRec{ID: newID(), ObjectID: userID}
	st.Subjects = append(st.Subjects, s)
	return s
}

// newID returns a random RFC 4122 version 4 UUID, the shape of Graph object ids.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// loadState reads a persisted state; a missing file is not an error (nil, nil).
func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read sandbox state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode sandbox state %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("sandbox state %s has version %d, want %d (delete it to reseed)", path, st.Version, stateVersion)
	}
	return &st, nil
}

// saveState writes the state atomically. The file holds the sandbox's private keys, so it is 0600.
func saveState(path string, st *state) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("encode sandbox state: %w", err)
	}
	return writeFileAtomic(path, b, 0o600)
}

// writeFileAtomic writes a temporary file in the target directory, syncs it and renames it over
// path, so readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("create temp file for %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(step string, err error) error {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("%s %s: %w", step, path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail("chmod", err)
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}
