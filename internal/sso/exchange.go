package sso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"guestpass/internal/credentials"
)

// Entra error codes (AADSTS…) the exchange distinguishes.
const (
	aadstsConsentRequired  = 65001  // the user or admin has not consented
	aadstsAssertionExpired = 500133 // the assertion is not within its valid time range
	aadstsMFARequired      = 50076
	aadstsCARequired       = 50079
)

// Exchanger swaps a validated SSO token on-behalf-of for a Microsoft Graph token. It is safe for
// concurrent use.
type Exchanger struct {
	factory *credentials.OnBehalfOfFactory
	scope   string
}

// NewExchanger returns an Exchanger that uses the SSO app's factory and requests scope (the Graph
// client's scope: "https://graph.microsoft.com/.default", or the sandbox Graph's
// "https://127.0.0.1:port/.default").
func NewExchanger(factory *credentials.OnBehalfOfFactory, scope string) (*Exchanger, error) {
	if factory == nil {
		return nil, errors.New("sso: exchanger needs an on-behalf-of factory")
	}
	if !strings.HasSuffix(scope, "/.default") {
		return nil, fmt.Errorf("sso: Graph scope %q must end in /.default", scope)
	}
	return &Exchanger{factory: factory, scope: scope}, nil
}

// GraphScope returns the /.default scope of a Graph base URL (https://host/v1.0 →
// https://host/.default), the scope graph.NewClient requests.
func GraphScope(graphBaseURL string) string {
	s := strings.TrimSpace(graphBaseURL)
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.IndexByte(s[i+3:], '/'); j >= 0 {
			s = s[:i+3+j]
		}
	}
	return strings.TrimRight(s, "/") + "/.default"
}

// Exchange performs the on-behalf-of exchange for id (a result of Validate on assertion) now, so
// that a consent or Conditional Access failure surfaces before any Graph call, and returns a
// credential that hands out exactly that token. The credential is for one operation: drop it
// afterwards.
func (x *Exchanger) Exchange(ctx context.Context, id *Identity, assertion string) (azcore.TokenCredential, error) {
	if id == nil {
		return nil, errors.New("sso: exchange needs a validated identity")
	}
	cred, err := x.factory.Credential(id.TenantID, assertion)
	if err != nil {
		return nil, fmt.Errorf("sso: on-behalf-of: %w", err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{x.scope}})
	if err != nil {
		return nil, classifyExchange(err)
	}
	return &tokenCredential{token: tok, scope: x.scope}, nil
}

// tokenCredential returns the one token obtained on-behalf-of. It refuses other scopes, so it
// cannot be used against a resource it was not issued for.
type tokenCredential struct {
	token azcore.AccessToken
	scope string
}

// GetToken implements azcore.TokenCredential.
func (c *tokenCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	for _, s := range opts.Scopes {
		if s != c.scope {
			return azcore.AccessToken{}, fmt.Errorf("sso: the on-behalf-of token is for %s, not %s", c.scope, s)
		}
	}
	return c.token, nil
}

// String keeps the token out of any %v formatting.
func (c *tokenCredential) String() string { return "sso.tokenCredential{<redacted>}" }

// entraError is the body of a failed token request.
type entraError struct {
	Error      string `json:"error"`
	ErrorCodes []int  `json:"error_codes"`
	SubError   string `json:"suberror"`
	Claims     string `json:"claims"`
}

// classifyExchange maps an azidentity failure onto the package's error kinds, keeping only the
// Entra error code in the message (the raw error text can be long and is not needed).
func classifyExchange(err error) error {
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: on-behalf-of exchange: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: on-behalf-of exchange failed before Entra answered", ErrUnavailable)
	}
	status := afe.RawResponse.StatusCode
	var body entraError
	if b, rerr := runtime.Payload(afe.RawResponse); rerr == nil {
		_ = json.Unmarshal(b, &body)
	}
	detail := fmt.Sprintf("HTTP %d %s %v", status, body.Error, body.ErrorCodes)
	switch {
	case body.Error == "interaction_required" || body.Error == "consent_required" || body.Claims != "" ||
		slices.Contains(body.ErrorCodes, aadstsConsentRequired) || slices.Contains(body.ErrorCodes, aadstsMFARequired) ||
		slices.Contains(body.ErrorCodes, aadstsCARequired):
		return fmt.Errorf("%w: %s", ErrConsentRequired, detail)
	case slices.Contains(body.ErrorCodes, aadstsAssertionExpired):
		return fmt.Errorf("%w: %s", ErrExpired, detail)
	case status >= http.StatusInternalServerError || status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s", ErrUnavailable, detail)
	case body.Error == "invalid_client" || body.Error == "unauthorized_client":
		// The bot's own credential is wrong: an operator problem, not the user's.
		return fmt.Errorf("%w: the SSO app's credential was refused: %s", ErrUnavailable, detail)
	default:
		return fmt.Errorf("%w: %s", ErrInvalidToken, detail)
	}
}

// ConsentURL is the fallback sign-in target of a loginRequest when SSO cannot be used (consent
// missing, a claims challenge): the authority's authorize endpoint for the SSO app with a consent
// prompt for the delegated Graph permission the decision needs. After the user consents there,
// Teams' silent SSO succeeds and the same click goes through. redirectURL must be a reply URL of
// the SSO app registration.
func ConsentURL(authorityHost, tenantID, ssoAppID, redirectURL string) string {
	authority := strings.TrimRight(strings.TrimSpace(authorityHost), "/")
	if authority == "" {
		authority = publicAuthority
	}
	q := url.Values{}
	q.Set("client_id", ssoAppID)
	q.Set("response_type", "code")
	q.Set("redirect_uri", redirectURL)
	q.Set("response_mode", "query")
	q.Set("scope", "openid profile https://graph.microsoft.com/EntitlementManagement.ReadWrite.All")
	q.Set("prompt", "consent")
	return authority + "/" + url.PathEscape(tenantID) + "/oauth2/v2.0/authorize?" + q.Encode()
}
