package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

type routeKind int

const (
	kindGraph routeKind = iota
	kindIdentity
	kindControl
)

// handlerFunc serves a Graph or control request. It returns the status and body to write (a nil
// body writes no content) or a Graph error.
type handlerFunc func(c *reqCtx) (int, any, *graphError)

type route struct {
	method  string
	pattern string
	segs    []string
	kind    routeKind
	perm    *perm
	mutates bool
	h       handlerFunc
}

func (r route) key() string { return r.method + " " + r.pattern }

// perm is the authorization rule of a Graph route: application permissions (roles) accepted for
// app-only tokens, delegated permissions (scp) accepted for user tokens. A nil list means that
// kind of token is not supported by the operation, as Graph documents for approvals.
type perm struct {
	app       []string
	delegated []string
	// admin requires a delegated caller to hold an entitlement-management role
	// ("read": any role, "write": any role but Catalog reader).
	admin string
	// appOnlyError replaces the 403 for app-only tokens (e.g. /me answers 400).
	appOnlyError *graphError
}

const (
	pEMRead  = "EntitlementManagement.Read.All"
	pEMWrite = "EntitlementManagement.ReadWrite.All"
	pSubject = "EntitlementMgmt-SubjectAccess.ReadWrite"
)

var (
	permEMRead       = &perm{app: []string{pEMRead, pEMWrite}, delegated: []string{pEMRead, pEMWrite}, admin: "read"}
	permEMWrite      = &perm{app: []string{pEMWrite}, delegated: []string{pEMWrite}, admin: "write"}
	permApprovalRead = &perm{delegated: []string{pEMRead, pEMWrite}}
	permApprovalEdit = &perm{delegated: []string{pEMWrite}}
	permRequestPost  = &perm{app: []string{pEMWrite}, delegated: []string{pEMWrite, pSubject}}
	permRequestSelf  = &perm{delegated: []string{pEMWrite, pSubject}}
	permUsersRead    = &perm{
		app:       []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		delegated: []string{"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	permMe = &perm{
		delegated:    []string{"User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All"},
		appOnlyError: badRequest("/me request is only valid with delegated authentication flow."),
	}
	permUsersWrite = &perm{
		app:       []string{"User.ReadWrite.All", "Directory.ReadWrite.All"},
		delegated: []string{"User.ReadWrite.All", "Directory.ReadWrite.All"},
	}
	permGroupsRead = &perm{
		app:       []string{"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		delegated: []string{"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	permMembership = &perm{
		app:       append(append([]string{}, permGroupsRead.app...), permUsersRead.app...),
		delegated: append(append([]string{"User.Read"}, permGroupsRead.delegated...), permUsersRead.delegated...),
	}
	permSitesRead = &perm{
		app:       []string{"Sites.Read.All", "Sites.ReadWrite.All", "Sites.FullControl.All"},
		delegated: []string{"Sites.Read.All", "Sites.ReadWrite.All", "Sites.FullControl.All"},
	}
	permAppsRead = &perm{
		app:       []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		delegated: []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	permRoleAssignmentsRead = &perm{
		app:       []string{pEMRead, pEMWrite, "RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All"},
		delegated: []string{pEMRead, pEMWrite, "RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All"},
	}
	permTenantInfo = &perm{
		app:       []string{"CrossTenantInformation.ReadBasic.All"},
		delegated: []string{"CrossTenantInformation.ReadBasic.All"},
	}
	permInvite = &perm{
		app:       []string{"User.Invite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"},
		delegated: []string{"User.Invite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"},
	}
	permSendMail = &perm{delegated: []string{"Mail.Send"}}
)

// check authorizes the caller; it runs with s.mu held (delegated admin checks read role
// assignments).
func (p *perm) check(s *Sandbox, c *caller) *graphError {
	if c.appOnly {
		if p.app == nil {
			if p.appOnlyError != nil {
				return p.appOnlyError
			}
			return forbidden("This operation supports delegated (user) tokens only; application permissions are not supported.")
		}
		for _, a := range p.app {
			if c.roles[strings.ToLower(a)] {
				return nil
			}
		}
		return forbidden("Insufficient privileges to complete the operation. The application needs one of these permissions: " + strings.Join(p.app, ", ") + ".")
	}
	if p.delegated == nil {
		return forbidden("This operation supports application permissions only.")
	}
	ok := false
	for _, d := range p.delegated {
		if c.scopes[strings.ToLower(d)] {
			ok = true
		}
	}
	if !ok {
		return forbidden("Insufficient privileges to complete the operation. The token needs one of these delegated permissions: " + strings.Join(p.delegated, ", ") + ".")
	}
	if s.st.user(c.oid) == nil {
		return gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "The signed-in user does not exist in the tenant.")
	}
	if p.admin != "" && !s.hasEMRoleLocked(c.oid, p.admin == "write") {
		return forbidden("The signed-in user needs an entitlement management role (for example Catalog owner) for this operation.")
	}
	return nil
}

func (s *Sandbox) hasEMRoleLocked(oid string, write bool) bool {
	for _, a := range s.st.EMRoleAssignments {
		if a.PrincipalID == oid && (!write || a.RoleDefinitionID != EMRoleCatalogReader) {
			return true
		}
	}
	return false
}

func compileRoutes(rs []route) []route {
	for i := range rs {
		rs[i].segs = strings.Split(strings.Trim(rs[i].pattern, "/"), "/")
		rs[i].mutates = rs[i].method != http.MethodGet
	}
	return rs
}

// matchSeg matches one path segment against a pattern segment: a literal (case-insensitive), a
// whole placeholder "{x}", or a literal with one embedded placeholder such as
// "servicePrincipals(appId='{appId}')", whose value is OData-unescaped (” → ').
func matchSeg(pat, seg string, params map[string]string) (bool, int) {
	open := strings.IndexByte(pat, '{')
	if open < 0 {
		return strings.EqualFold(pat, seg), 2
	}
	end := strings.IndexByte(pat, '}')
	name := pat[open+1 : end]
	prefix, suffix := pat[:open], pat[end+1:]
	if len(seg) < len(prefix)+len(suffix) ||
		!strings.EqualFold(seg[:len(prefix)], prefix) || !strings.EqualFold(seg[len(seg)-len(suffix):], suffix) {
		return false, 0
	}
	v := seg[len(prefix) : len(seg)-len(suffix)]
	if v == "" {
		return false, 0
	}
	if prefix != "" {
		v = strings.ReplaceAll(v, "''", "'")
	}
	params[name] = v
	if prefix != "" {
		return true, 1
	}
	return true, 0
}

// match finds the most specific route for the path; wrongMethod reports a path match under
// another method.
func (s *Sandbox) match(method string, segs []string) (best *route, params map[string]string, wrongMethod bool) {
	bestScore := -1
	for i := range s.routes {
		rt := &s.routes[i]
		if len(rt.segs) != len(segs) {
			continue
		}
		p := map[string]string{}
		score, ok := 0, true
		for j, ps := range rt.segs {
			m, sc := matchSeg(ps, segs[j], p)
			if !m {
				ok = false
				break
			}
			score += sc
		}
		if !ok {
			continue
		}
		if rt.method != method {
			wrongMethod = true
			continue
		}
		if score > bestScore {
			best, params, bestScore = rt, p, score
		}
	}
	return best, params, wrongMethod && best == nil
}

func (s *Sandbox) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newID()
	clientReqID := r.Header.Get("client-request-id")
	if clientReqID == "" || len(clientReqID) > 100 {
		clientReqID = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", clientReqID)
	c := &reqCtx{w: w, r: r, requestID: reqID, clientID: clientReqID}

	var segs []string
	for _, raw := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			c.writeError(badRequest("Malformed request URL."))
			return
		}
		segs = append(segs, seg)
	}
	rt, params, wrongMethod := s.match(r.Method, segs)
	key := "UNMATCHED"
	if rt != nil {
		key = rt.key()
	}
	s.cmu.Lock()
	s.calls[key]++
	throttled := false
	if rt != nil && s.throttle[key] > 0 {
		s.throttle[key]--
		throttled = true
	}
	s.cmu.Unlock()

	status := 0
	defer func() {
		s.log.Debug("sandbox request", "method", r.Method, "route", key, "status", status,
			"request_id", reqID, "duration_ms", time.Since(start).Milliseconds())
	}()
	fail := func(e *graphError) {
		status = e.status
		c.writeError(e)
	}
	switch {
	case rt == nil && wrongMethod:
		fail(gerr(http.StatusMethodNotAllowed, "BadRequest", "The requested resource does not support http method '"+r.Method+"'."))
		return
	case rt == nil:
		last := ""
		if len(segs) > 0 {
			last = segs[len(segs)-1]
		}
		fail(badRequest("Resource not found for the segment '" + last + "'."))
		return
	case throttled:
		e := gerr(http.StatusTooManyRequests, "TooManyRequests", "Too many requests. Please retry after the time in Retry-After.")
		e.header = http.Header{"Retry-After": []string{"1"}}
		fail(e)
		return
	}
	c.params = params

	switch rt.kind {
	case kindIdentity:
		status = http.StatusOK
		s.serveIdentity(rt, w, r, params)
		return
	case kindGraph:
		cl, err := s.authenticate(r)
		if err != nil {
			fail(err)
			return
		}
		c.caller = cl
	}
	q, qerr := parseQuery(r)
	if qerr != nil {
		fail(qerr)
		return
	}
	c.q = q

	s.mu.Lock()
	c.now = s.nowLocked()
	changed := s.advanceLocked(c.now)
	var (
		code int
		body any
		herr *graphError
	)
	if rt.perm != nil {
		herr = rt.perm.check(s, c.caller)
		if herr != nil {
			herr = s.catalogRoleCheckLocked(rt, c, herr)
		}
	}
	if herr == nil {
		code, body, herr = rt.h(c)
	}
	if changed || (herr == nil && rt.mutates) {
		s.persistLocked()
	}
	s.mu.Unlock()

	if herr != nil {
		fail(herr)
		return
	}
	status = code
	if loc, ok := body.(redirectTo); ok {
		http.Redirect(w, r, string(loc), code)
		return
	}
	if body == nil {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, body)
}

func (s *Sandbox) serveIdentity(rt *route, w http.ResponseWriter, r *http.Request, p map[string]string) {
	switch rt.pattern {
	case "/{tenant}/v2.0/.well-known/openid-configuration":
		s.handleOpenIDConfig(w, p["tenant"])
	case "/{tenant}/discovery/v2.0/keys":
		s.handleJWKS(w, p["tenant"])
	case "/{tenant}/oauth2/v2.0/token":
		s.handleToken(w, r, p["tenant"])
	case "/{tenant}/oauth2/v2.0/authorize":
		s.handleAuthorize(w)
	case "/common/discovery/instance":
		s.handleInstanceDiscovery(w)
	}
}
