package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// graphAudiences are the audiences the sandbox's Graph accepts in bearer tokens, besides its own
// URLs: clients ask for "https://graph.microsoft.com/.default" exactly as in production.
var graphAudiences = []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", GraphAppID}

// keyMaterial is the sandbox's signing key and TLS certificate.
type keyMaterial struct {
	signKey  *rsa.PrivateKey
	kid      string
	signCert []byte // DER of a self-signed certificate for the signing key (the JWKS x5c)
	tlsCert  tls.Certificate
	tlsLeaf  *x509.Certificate
	certPEM  []byte
}

// loadOrCreateKeys restores persisted key material or generates it (and records it in sec).
func loadOrCreateKeys(sec *secrets, hostnames []string, now time.Time) (*keyMaterial, error) {
	km := &keyMaterial{}
	if sec.SigningKeyPEM != "" {
		blk, _ := pem.Decode([]byte(sec.SigningKeyPEM))
		if blk == nil {
			return nil, errors.New("sandbox state: signing key is not PEM")
		}
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sandbox state: parse signing key: %w", err)
		}
		km.signKey = k
	} else {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		km.signKey = k
		sec.SigningKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	}
	pub, err := x509.MarshalPKIXPublicKey(&km.signKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal signing key: %w", err)
	}
	sum := sha256.Sum256(pub)
	km.kid = base64.RawURLEncoding.EncodeToString(sum[:20])
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "guestpass sandbox token signing"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if km.signCert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &km.signKey.PublicKey, km.signKey); err != nil {
		return nil, fmt.Errorf("create signing certificate: %w", err)
	}

	if sec.TLSCertPEM != "" {
		cert, err := tls.X509KeyPair([]byte(sec.TLSCertPEM), []byte(sec.TLSKeyPEM))
		if err == nil && cert.Leaf != nil && now.Add(24*time.Hour).Before(cert.Leaf.NotAfter) && coversHosts(cert.Leaf, hostnames) {
			km.tlsCert, km.tlsLeaf, km.certPEM = cert, cert.Leaf, []byte(sec.TLSCertPEM)
			return km, nil
		}
	}
	certPEM, keyPEM, err := newTLSCert(hostnames, now)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load generated TLS certificate: %w", err)
	}
	sec.TLSCertPEM, sec.TLSKeyPEM = string(certPEM), string(keyPEM)
	km.tlsCert, km.tlsLeaf, km.certPEM = cert, cert.Leaf, certPEM
	return km, nil
}

func coversHosts(leaf *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// newTLSCert makes a self-signed CA certificate for the loopback names, so clients can trust
// exactly this certificate (CertPool) and azidentity gets the https authority it insists on.
func newTLSCert(hostnames []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "guestpass sandbox tenant", Organization: []string{"guestpass sandbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hostnames {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create TLS certificate: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal TLS key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// issuer is the token issuer of the sandbox tenant (Entra v2.0 shape).
func (s *Sandbox) issuer() string { return s.BaseURL() + "/" + TenantID + "/v2.0" }

func (s *Sandbox) tokenEndpoint() string { return s.BaseURL() + "/" + TenantID + "/oauth2/v2.0/token" }

// ssoAudiences are the audiences an on-behalf-of assertion (a Teams SSO token) may carry.
func (s *Sandbox) ssoAudiences() []string {
	auds := []string{"api://botid-" + s.opts.ClientID, s.opts.ClientID}
	return append(auds, s.opts.SSOAudiences...)
}

func (s *Sandbox) sign(claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = s.keys.kid
	signed, err := tok.SignedString(s.keys.signKey)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}

func (s *Sandbox) baseClaims(aud string, now time.Time, lifetime time.Duration) jwt.MapClaims {
	return jwt.MapClaims{
		"aud": aud,
		"iss": s.issuer(),
		"iat": now.Unix(),
		"nbf": now.Unix() - 300,
		"exp": now.Add(lifetime).Unix(),
		"tid": TenantID,
		"ver": "2.0",
		"uti": strings.ReplaceAll(newID(), "-", "")[:22],
	}
}

// MintSSOToken returns the token Teams would give the bot for the user with object id userOID
// (audience the bot's SSO resource, scp access_as_user). The Agents Playground has no SSO, so in
// local mode the bot obtains it from here; it is then exchanged on-behalf-of exactly as in
// production. The user must exist in the sandbox.
func (s *Sandbox) MintSSOToken(userOID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.user(userOID)
	if u == nil {
		return "", fmt.Errorf("mint SSO token: %w: %q", ErrUnknownUser, userOID)
	}
	return s.mintSSOLocked(u)
}

func (s *Sandbox) mintSSOLocked(u *userRec) (string, error) {
	now := time.Now()
	c := s.baseClaims("api://botid-"+s.opts.ClientID, now, time.Hour)
	c["azp"] = TeamsClientAppID
	c["azpacr"] = "0"
	c["scp"] = "access_as_user"
	c["oid"] = u.ID
	c["sub"] = u.ID
	c["name"] = u.DisplayName
	c["preferred_username"] = u.UPN
	return s.sign(c)
}

// ErrUnknownUser means an object id does not belong to a user of the sandbox tenant.
var ErrUnknownUser = errors.New("no such user in the sandbox tenant")

// verify checks a token issued by this sandbox: signature, algorithm, issuer, lifetime and
// audience (one of auds).
func (s *Sandbox) verify(raw string, auds []string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.keys.kid {
			return nil, errors.New("unknown signing key")
		}
		return &s.keys.signKey.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(s.issuer()), jwt.WithExpirationRequired(),
		jwt.WithAudience(auds...))
	if err != nil {
		return nil, err
	}
	if tid, _ := claims["tid"].(string); tid != TenantID {
		return nil, errors.New("token is for another tenant")
	}
	return claims, nil
}

// entraError writes an Entra token-endpoint error.
func (s *Sandbox) entraError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	traceID, corrID := newID(), newID()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, map[string]any{
		"error": code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			aadsts, desc, traceID, corrID, ts),
		"error_codes":    []int{aadsts},
		"timestamp":      ts,
		"trace_id":       traceID,
		"correlation_id": corrID,
		"error_uri":      s.BaseURL() + "/error?code=" + fmt.Sprint(aadsts),
	})
}

func (s *Sandbox) isOwnTenant(t string) bool {
	return strings.EqualFold(t, TenantID) || strings.EqualFold(t, TenantDomain)
}

func (s *Sandbox) handleOpenIDConfig(w http.ResponseWriter, tenant string) {
	if !s.isOwnTenant(tenant) {
		s.entraError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
		return
	}
	base := s.BaseURL() + "/" + TenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer(),
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
			"preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		"request_uri_parameter_supported": false,
		"tenant_region_scope":             nil,
		"cloud_instance_name":             "sandbox",
		"cloud_graph_host_name":           "graph.microsoft.com",
		"msgraph_host":                    strings.TrimPrefix(strings.TrimPrefix(s.GraphURL(), "https://"), "http://"),
	})
}

func (s *Sandbox) handleJWKS(w http.ResponseWriter, tenant string) {
	if !s.isOwnTenant(tenant) {
		s.entraError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
		return
	}
	pub := s.keys.signKey.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]any{
		"kty":    "RSA",
		"use":    "sig",
		"kid":    s.keys.kid,
		"n":      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"x5c":    []string{base64.StdEncoding.EncodeToString(s.keys.signCert)},
		"issuer": s.issuer(),
	}}})
}

func (s *Sandbox) handleInstanceDiscovery(w http.ResponseWriter) {
	host := strings.TrimPrefix(s.BaseURL(), "https://")
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.BaseURL() + "/" + TenantID + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []any{map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
	})
}

func (s *Sandbox) handleAuthorize(w http.ResponseWriter) {
	s.entraError(w, http.StatusBadRequest, "unsupported_response_type", 900144,
		"The sandbox tenant has no interactive sign-in; obtain a user's Teams SSO token from POST /sandbox/sso-token.")
}

// handleToken implements the token endpoint: client credentials (secret or certificate
// assertion) and the on-behalf-of grant.
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if !s.isOwnTenant(tenant) {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
		return
	}
	f := r.PostForm
	clientID := f.Get("client_id")
	if clientID == "" {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if !strings.EqualFold(clientID, s.opts.ClientID) {
		s.entraError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, TenantDisplayName))
		return
	}
	if status, code, aadsts, desc := s.authenticateClient(f); status != 0 {
		s.entraError(w, status, code, aadsts, desc)
		return
	}
	now := time.Now()
	switch f.Get("grant_type") {
	case "client_credentials":
		resource, ok := s.resourceOf(strings.Fields(f.Get("scope")), true)
		if !ok {
			s.entraError(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f.Get("scope")))
			return
		}
		s.mu.Lock()
		roles := slices.Clone(s.st.AppRoles)
		s.mu.Unlock()
		c := s.baseClaims(resource, now, s.opts.TokenLifetime)
		c["appid"], c["azp"] = s.opts.ClientID, s.opts.ClientID
		c["appidacr"], c["azpacr"] = "1", "1"
		c["idtyp"] = "app"
		c["oid"], c["sub"] = BotServicePrincipalID, BotServicePrincipalID
		c["roles"] = roles
		s.writeTokenResponse(w, c, "")
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if f.Get("requested_token_use") != "on_behalf_of" {
			s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'requested_token_use' with value 'on_behalf_of'.")
			return
		}
		s.handleOBO(w, f, now)
	case "":
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		s.entraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
	}
}

func (s *Sandbox) handleOBO(w http.ResponseWriter, f url.Values, now time.Time) {
	assertion := f.Get("assertion")
	if assertion == "" {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'assertion'.")
		return
	}
	claims, err := s.verify(assertion, s.ssoAudiences())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		s.entraError(w, http.StatusBadRequest, "invalid_grant", 500133, "Assertion is not within its valid time range.")
		return
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		s.entraError(w, http.StatusBadRequest, "invalid_grant", 50013, "Assertion audience does not match the Client app presenting the assertion.")
		return
	case errors.Is(err, jwt.ErrTokenMalformed):
		s.entraError(w, http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
		return
	case err != nil:
		s.entraError(w, http.StatusBadRequest, "invalid_grant", 50013, "Assertion failed signature validation.")
		return
	}
	if idtyp, _ := claims["idtyp"].(string); idtyp == "app" {
		s.entraError(w, http.StatusBadRequest, "invalid_grant", 50013, "The assertion is not a user token.")
		return
	}
	oid, _ := claims["oid"].(string)
	s.mu.Lock()
	u := s.st.user(oid)
	consented := slices.Clone(s.st.DelegatedScopes)
	var userCopy userRec
	if u != nil {
		userCopy = *u
	}
	s.mu.Unlock()
	if u == nil {
		s.entraError(w, http.StatusBadRequest, "invalid_grant", 50034, "The user account does not exist in the directory.")
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	resource, ok := s.resourceOf(scopes, false)
	if !ok {
		s.entraError(w, http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.")
		return
	}
	var granted, echoed []string
	for _, sc := range scopes {
		if isOIDCScope(sc) {
			continue
		}
		echoed = append(echoed, sc)
		perm := sc[strings.LastIndexByte(sc, '/')+1:]
		if perm == ".default" {
			granted = consented
			for _, p := range consented {
				echoed = append(echoed, resource+"/"+p)
			}
			break
		}
		if !slices.ContainsFunc(consented, func(c string) bool { return strings.EqualFold(c, perm) }) {
			s.entraError(w, http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource.", s.opts.ClientID))
			return
		}
		granted = append(granted, perm)
	}
	c := s.baseClaims(resource, now, s.opts.TokenLifetime)
	c["appid"], c["azp"] = s.opts.ClientID, s.opts.ClientID
	c["appidacr"], c["azpacr"] = "1", "1"
	c["idtyp"] = "user"
	c["oid"], c["sub"] = userCopy.ID, userCopy.ID
	c["name"] = userCopy.DisplayName
	c["preferred_username"] = userCopy.UPN
	c["upn"] = userCopy.UPN
	c["scp"] = strings.Join(granted, " ")
	// Like Entra, the response lists the granted scopes resource-qualified, including the
	// requested ones (MSAL treats a requested scope missing from the list as declined).
	s.writeTokenResponse(w, c, strings.Join(echoed, " "))
}

func isOIDCScope(s string) bool {
	return s == "openid" || s == "profile" || s == "offline_access" || s == "email"
}

// resourceOf finds the single resource the scopes address; only Microsoft Graph (by its public
// identifiers or the sandbox's own Graph URL) is a resource of the sandbox tenant.
func (s *Sandbox) resourceOf(scopes []string, requireDefault bool) (string, bool) {
	resource := ""
	for _, sc := range scopes {
		if isOIDCScope(sc) {
			continue
		}
		i := strings.LastIndexByte(sc, '/')
		if i <= 0 {
			return "", false
		}
		res, perm := sc[:i], sc[i+1:]
		if requireDefault && perm != ".default" {
			return "", false
		}
		if !s.isGraphAudience(res) {
			return "", false
		}
		if resource != "" && resource != res {
			return "", false
		}
		resource = res
	}
	return resource, resource != ""
}

func (s *Sandbox) isGraphAudience(a string) bool {
	return slices.Contains(s.acceptedGraphAudiences(), a)
}

func (s *Sandbox) acceptedGraphAudiences() []string {
	return append(slices.Clone(graphAudiences), s.BaseURL(), s.BaseURL()+"/", s.GraphURL())
}

func (s *Sandbox) writeTokenResponse(w http.ResponseWriter, c jwt.MapClaims, scope string) {
	tok, err := s.sign(c)
	if err != nil {
		s.entraError(w, http.StatusInternalServerError, "server_error", 90000, "Token signing failed.")
		return
	}
	lifetime := int(s.opts.TokenLifetime.Seconds())
	body := map[string]any{
		"token_type":     "Bearer",
		"expires_in":     lifetime,
		"ext_expires_in": lifetime,
		"access_token":   tok,
	}
	if scope != "" {
		body["scope"] = scope
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, body)
}

// authenticateClient checks the client's secret or certificate assertion. It returns a zero
// status when the client is authenticated.
func (s *Sandbox) authenticateClient(f url.Values) (status int, code string, aadsts int, desc string) {
	if secret := f.Get("client_secret"); secret != "" {
		s.mu.Lock()
		want := s.st.Secrets.ClientSecret
		s.mu.Unlock()
		if subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
			return http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
		}
		return 0, "", 0, ""
	}
	if assertion := f.Get("client_assertion"); assertion != "" {
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return http.StatusBadRequest, "invalid_request", 900144, "The request body must contain 'client_assertion_type' with value 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."
		}
		if len(s.opts.ClientCertificates) == 0 {
			return http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: no certificate is registered for the application."
		}
		for _, cert := range s.opts.ClientCertificates {
			claims := jwt.MapClaims{}
			_, err := jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return cert.PublicKey, nil },
				jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithExpirationRequired(),
				jwt.WithAudience(s.tokenEndpoint(), s.BaseURL()+"/"+strings.ToLower(TenantID)+"/oauth2/v2.0/token"),
				jwt.WithIssuer(s.opts.ClientID), jwt.WithSubject(s.opts.ClientID))
			if err == nil {
				return 0, "", 0, ""
			}
		}
		return http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation."
	}
	return http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
}

// caller is the authenticated principal of a Graph request.
type caller struct {
	appOnly bool
	oid     string
	roles   map[string]bool
	scopes  map[string]bool
}

// authenticate validates the bearer token of a Graph request.
func (s *Sandbox) authenticate(r *http.Request) (*caller, *graphError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" {
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: the Authorization header must be 'Bearer <token>'.")
	}
	claims, err := s.verify(raw, s.acceptedGraphAudiences())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	case err != nil:
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
	}
	c := &caller{roles: map[string]bool{}, scopes: map[string]bool{}}
	c.oid, _ = claims["oid"].(string)
	if idtyp, _ := claims["idtyp"].(string); idtyp == "app" {
		c.appOnly = true
		if rs, ok := claims["roles"].([]any); ok {
			for _, r := range rs {
				if v, ok := r.(string); ok {
					c.roles[strings.ToLower(v)] = true
				}
			}
		}
	} else {
		scp, _ := claims["scp"].(string)
		for _, sc := range strings.Fields(scp) {
			c.scopes[strings.ToLower(sc)] = true
		}
	}
	return c, nil
}

// CertPool returns a pool holding the sandbox's TLS certificate, for HTTP clients that talk to it.
func (s *Sandbox) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.keys.tlsLeaf)
	return p
}

// CertificatePEM returns the sandbox's TLS certificate in PEM form (for a bot in another process).
func (s *Sandbox) CertificatePEM() []byte { return slices.Clone(s.keys.certPEM) }

// TLSConfig returns the server TLS configuration (the sandbox's certificate), e.g. for
// httptest.Server.TLS before StartTLS.
func (s *Sandbox) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.keys.tlsCert}, MinVersion: tls.VersionTLS12}
}

// HTTPClient returns an HTTP client that trusts only the sandbox's certificate, with timeouts.
func (s *Sandbox) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
