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
		return nil, classifyExchange(ctx, err)
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
	Error         string `json:"error"`
	ErrorCodes    []int  `json:"error_codes"`
	SubError      string `json:"suberror"`
	Claims        string `json:"claims"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// classifyExchange maps an azidentity failure onto the package's error kinds. Entra's answer is
// kept as an *EntraError (status, error, AADSTS codes, correlation and trace ids: what an
// operator needs, without the raw error text, which is long); a failure before Entra answered
// keeps the network error, whose text names only the token endpoint.
func classifyExchange(ctx context.Context, err error) error {
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		// azidentity does not always wrap the context's error when the click's budget runs out
		// (retrying a throttled or failing Entra, say), so ask the context.
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%w: on-behalf-of exchange: %w", ErrUnavailable, cerr)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: on-behalf-of exchange: %w", ErrUnavailable, err)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%w: %w: on-behalf-of exchange: %w", ErrUnavailable, errUnreachable, ue)
		}
		return fmt.Errorf("%w: %w: on-behalf-of exchange failed before Entra answered", ErrUnavailable, errUnreachable)
	}
	var body entraError
	if b, rerr := runtime.Payload(afe.RawResponse); rerr == nil {
		_ = json.Unmarshal(b, &body)
	}
	ee := &EntraError{Status: afe.RawResponse.StatusCode, Code: body.Error, AADSTS: body.ErrorCodes,
		CorrelationID: body.CorrelationID, TraceID: body.TraceID}
	switch {
	case body.Error == "interaction_required" || body.Error == "consent_required" || body.Claims != "" ||
		slices.Contains(body.ErrorCodes, aadstsConsentRequired) || slices.Contains(body.ErrorCodes, aadstsMFARequired) ||
		slices.Contains(body.ErrorCodes, aadstsCARequired):
		return fmt.Errorf("%w: %w", ErrConsentRequired, ee)
	case slices.Contains(body.ErrorCodes, aadstsAssertionExpired):
		return fmt.Errorf("%w: %w", ErrExpired, ee)
	case ee.Status >= http.StatusInternalServerError || ee.Status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %w", ErrUnavailable, ee)
	case body.Error == "invalid_client" || body.Error == "unauthorized_client":
		// The bot's own credential is wrong: an operator problem, not the user's.
		return fmt.Errorf("%w: %w: %w", ErrUnavailable, errCredentialRefused, ee)
	default:
		return fmt.Errorf("%w: %w", ErrInvalidToken, ee)
	}
}

// ConsentURL is ConsentURLFor the approvals feature against the public cloud's Graph.
func ConsentURL(authorityHost, tenantID, ssoAppID, redirectURL string) string {
	return ConsentURLFor(authorityHost, tenantID, ssoAppID, redirectURL, "", FeatureApprovals)
}
