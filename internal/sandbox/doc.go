// Package sandbox is guestpass's built-in sandbox tenant: an HTTPS server that speaks the Microsoft
// Graph v1.0 wire protocol for exactly the endpoints guestpass uses, plus an Entra-like identity
// endpoint, so local mode runs the same msgraph-sdk-go and azidentity code as production. Only the
// Graph base URL ({BaseURL}/v1.0), the authority host ({BaseURL}/) and the credentials differ.
//
// # Identity
//
// Under the sandbox's base URL, for tenant TenantID (the Agents Playground's tenant id, which is not
// a valid GUID) or TenantDomain:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID metadata (issuer {base}/{tenant}/v2.0)
//	GET  /{tenant}/discovery/v2.0/keys                      JWKS (RS256)
//	POST /{tenant}/oauth2/v2.0/token                        client_credentials (client_secret or a
//	                                                        certificate client_assertion) and the
//	                                                        on-behalf-of jwt-bearer grant
//	GET  /common/discovery/instance                         instance discovery (MSAL only calls it on
//	                                                        public clouds; credentials must set
//	                                                        DisableInstanceDiscovery)
//
// App-only tokens carry roles (the app permissions; SetAppRoles), idtyp "app", the bot service
// principal's oid, appid/azp and tid. On-behalf-of exchanges a Teams SSO token (MintSSOToken, or
// POST /sandbox/sso-token, because the Playground has no SSO) whose audience is
// "api://botid-{ClientID}" for a Graph token with scp (the consented delegated permissions;
// SetDelegatedScopes) and the user's oid/name/preferred_username. Errors use Entra's shape
// ({"error","error_description":"AADSTS…","error_codes",…}). Token lifetimes use the wall clock.
//
// # Graph
//
// Every /v1.0 route requires a bearer token issued by the sandbox (401 InvalidAuthenticationToken
// otherwise) and the permission Graph documents (403 Authorization_RequestDenied). Approvals are
// delegated-only, as in Graph. Delegated callers of entitlement-management administration also
// need an entitlement-management role assignment (seeded for Patti Fernandez). An app without
// the EntitlementManagement permissions whose service principal holds a catalog-scoped role
// (AssignEntitlementRole) reads that catalog's objects only, and must narrow cross-catalog
// listings to it with $filter (catalogroles.go). Collections page
// with Options.PageSize (default 2; $top can only lower it, which Graph's server-driven paging
// allows) and an absolute @odata.nextLink carrying $skiptoken. $filter supports a safe subset
// (see filter.go; anything else is 400 "Invalid filter clause"); $search needs
// ConsistencyLevel: eventual; unknown $-options and properties are rejected like Graph does, which
// also catches beta-only property names. Users without $select return Graph's default properties.
// Request bodies may be gzip-compressed (msgraph-sdk-go compresses them).
//
// Error codes the sandbox uses beyond Graph's generic ones (branch on the status, not the code,
// where Graph does not document one):
//
//	400 ResourceAlreadyOnboarded      resourceRequests adminAdd of a resource already in the catalog
//	400 ResourceInUse                 adminRemove of a resource an access package uses
//	400 ResourceNotInCatalog          resourceRoleScopes for a resource outside the package's catalog
//	409 Conflict                      duplicate resource role scope or connected-organization identity
//	                                  source; an approval stage or request already decided
//	403 RequestorNotInPolicyScope     the target is outside the policy's allowedTargetScope
//	403 PolicyDoesNotAllowSelfAdd     userAdd on a policy with enableTargetsToSelfAddAccess false
//	400 JustificationRequired         missing requestor (or approver) justification
//	400 QuestionNotAnswered           a required question has no answer
//	400 ExistingOpenRequest           an open request exists for the target and package
//	400 ActiveAssignmentExists        the target already has the access package
//	400 ConnectedOrganizationInUse    deleting a connected organization a policy references
//	400 ExtensionBeyondPolicy         adminUpdate ending after the policy's fixed end date
//	429 TooManyRequests               ThrottleNext; Retry-After: 1
//
// Semantics worth knowing:
//   - A domainIdentitySource whose domain belongs to a known Entra tenant (contoso.com) is stored
//     and returned as an azureActiveDirectoryTenant source, as the Graph docs warn.
//   - assignmentRequests POST answers 201 with state "submitted" / status "Accepted"; the request is
//     processed at once (pendingApproval, or delivered for admin adds and approval-free policies),
//     visible on the next read. A pending request already has its assignment (state "delivering",
//     status "PendingApproval"), so the policy is reachable app-only via
//     $expand=assignment($expand=assignmentPolicy).
//   - Approval stages appear as they start. assignedToMe is true for every approver of a stage
//     (primary, fallback when no primary resolves, escalation once durationBeforeEscalation has
//     passed), whatever its status; a non-approver may read the stages (assignedToMe false) but
//     gets 403 on PATCH; a decided stage or a request no longer pending answers 409. The requestor
//     never approves their own request. Deny ends the request (denied); approving the last stage
//     delivers it, with schedule.expiration from the policy, and adds the user to the package's
//     groups. A stage past durationBeforeAutomaticDenial makes the request denied with status
//     "Expired"; assignments past their end become expired. Time comes from Options.Now plus
//     AdvanceClock.
//   - adminUpdate (assignment.id plus the request's schedule, expiration type afterDateTime)
//     moves an active assignment's end and records a delivered adminUpdate request; like
//     adminAdd/adminRemove, a delegated caller needs an entitlement-management role.
//
// # Control endpoints (sandbox only)
//
// Unauthenticated, for the local demo and tests; the sandbox holds only fake data, but anyone who
// can reach it can mint tokens its relying parties trust, so bind it to loopback.
//
//	POST /sandbox/sso-token                      {"userOid"} → {"token"}: a Teams SSO token
//	POST /sandbox/guest-requests                 GuestRequest → 201 request: the guest's side (My Access)
//	POST /sandbox/approvals/{requestId}/decide   {"approverOid","reviewResult","justification"}: decide elsewhere
//	POST /sandbox/assignment-requests/{id}/cancel  the requestor cancels
//	GET  /sandbox/mail                           messages sent with sendMail / invitations
//	POST /sandbox/throttle                       {"route","count"}: the next count calls answer 429
//	PUT  /sandbox/app-roles                      {"roles"}: the app permissions of new tokens
//	POST /sandbox/clock                          {"advance":"48h"}: move the clock
//	GET  /sandbox/calls                          call counts per route and the route keys
//	GET  /sandbox/redeem?invitation=…            B2B redemption: marks the guest Accepted, redirects
//
// # Use
//
//	sb, err := sandbox.New(sandbox.Options{StatePath: "data/sandbox.json"})
//	err = sb.Start("127.0.0.1:0")           // or serve sb.Handler() with sb.TLSConfig() and SetBaseURL
//	creds := sb.AppCredentials()            // ClientID + ClientSecret for azidentity
//	// azidentity: Cloud.ActiveDirectoryAuthorityHost = sb.AuthorityHost(), DisableInstanceDiscovery,
//	// Transport = sb.HTTPClient(); Graph: base URL sb.GraphURL(), allowed host 127.0.0.1.
//
// State persists to Options.StatePath (atomically, 0600: it includes the sandbox's keys and the app
// secret) so restarts keep the demo's objects; Run serves a sandbox standalone ("bot sandbox").
package sandbox
