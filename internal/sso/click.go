package sso

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"guestpass/internal/botframework"
)

// DefaultConnectionName is the loginRequest connection name used when Settings leave it empty.
const DefaultConnectionName = "guestpass-sso"

// ErrLocalToken wraps a failure of Authenticator.LocalToken (local mode only). It is not the
// user's fault, like ErrUnavailable, but callers may word it differently.
var ErrLocalToken = errors.New("sso: the local token issuer failed")

// Settings describe the sign-in request (loginRequest) sent to a click that needs the user's
// delegated token but carries none.
type Settings struct {
	// ConnectionName is the loginRequest's connectionName (Teams requires it non-empty).
	ConnectionName string
	// Resource is the token exchange resource, api://botid-{SSO app id}.
	Resource string
	// ProviderID is the optional tokenExchangeResource.providerId.
	ProviderID string
	// SignInURL is the fallback sign-in button's target, used when SSO cannot be (consent
	// missing, a claims challenge, a client without SSO): a consent page for the SSO app after
	// which Teams' silent SSO succeeds and the same click goes through.
	SignInURL string
}

// LoginRequest asks Teams for the user's SSO token (401), with the sign-in button as the
// fallback when SSO cannot be used; text is shown with the button.
func LoginRequest(s Settings, text string) botframework.InvokeResponse {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	resp, err := botframework.NewLoginRequest(botframework.LoginRequestParams{
		Text:             text,
		ConnectionName:   s.ConnectionName,
		TokenExchangeID:  hex.EncodeToString(id),
		TokenExchangeURI: s.Resource,
		ProviderID:       s.ProviderID,
		SignInURL:        s.SignInURL,
	})
	if err != nil {
		// Only a configuration slip (no connection name) gets here; the features' New default it.
		return botframework.ErrorResponse(http.StatusInternalServerError, "InternalError", "Sign-in is not configured.")
	}
	return resp
}

// Reason is the stable log label of an error of Validate, Exchange or Authenticator.Click.
func Reason(err error) string {
	for _, k := range []struct {
		err    error
		reason string
	}{{ErrExpired, "expired"}, {ErrWrongUser, "wrong_user"}, {ErrConsentRequired, "consent_required"},
		{ErrInvalidToken, "invalid_token"}, {ErrUnavailable, "unavailable"}, {ErrLocalToken, "local_token"}} {
		if errors.Is(err, k.err) {
			return k.reason
		}
	}
	return "other"
}

// Authenticator turns the SSO token of an Action.Execute click into the clicking user's delegated
// Graph credential. It is safe for concurrent use.
type Authenticator struct {
	Validator *Validator
	Exchanger *Exchanger
	// Settings build the sign-in request for a click without a usable token.
	Settings Settings
	// LocalToken, set only in local mode with the sandbox tenant, issues the clicking user's SSO
	// token (the Agents Playground has no SSO); the token is then validated and exchanged exactly
	// as in production.
	LocalToken func(ctx context.Context, tenantID, userOID string) (string, error)
}

// NewAuthenticator checks what a feature needs to sign clicking users in and returns the
// Authenticator, with the default connection name filled in. Without a fallback sign-in URL (or
// the local-mode token issuer) a user whose silent SSO fails would have no way forward, so that is
// refused here rather than discovered by a stuck approver.
func NewAuthenticator(v *Validator, x *Exchanger, s Settings, localToken func(ctx context.Context, tenantID, userOID string) (string, error)) (*Authenticator, error) {
	switch {
	case v == nil || x == nil:
		return nil, errors.New("the SSO Validator and Exchanger are required")
	case s.Resource == "":
		return nil, errors.New("the SSO resource (api://botid-…) is required")
	case s.SignInURL == "" && localToken == nil:
		return nil, errors.New("the fallback sign-in URL is required")
	}
	if s.ConnectionName == "" {
		s.ConnectionName = DefaultConnectionName
	}
	return &Authenticator{Validator: v, Exchanger: x, Settings: s, LocalToken: localToken}, nil
}

// Authenticate validates token for the activity's sender (userOID in tenantID) and exchanges it
// on-behalf-of.
func (a *Authenticator) Authenticate(ctx context.Context, token, tenantID, userOID string) (*Identity, azcore.TokenCredential, error) {
	id, err := a.Validator.Validate(ctx, token, tenantID, userOID)
	if err != nil {
		return nil, nil, err
	}
	cred, err := a.Exchanger.Exchange(ctx, id, token)
	if err != nil {
		return nil, nil, err
	}
	return id, cred, nil
}

// Click authenticates the sender (userOID in tenantID, from the authenticated activity) of an
// adaptiveCard/action invoke whose value is av. It returns exactly one of:
//
//   - the identity and the credential for this one operation;
//   - the invoke response Teams expects instead: a sign-in request with loginText (no token yet,
//     or an expired one), 403 (another account's token) or 412 (consent missing, a claims
//     challenge, an invalid token), after which the client shows the sign-in button;
//   - an error (wrapping ErrUnavailable, ErrLocalToken or an exchange set-up failure): sign-in is
//     not possible right now and the caller answers with a card that lets the user retry.
//
// ctx bounds the validation and exchange. Failures are logged to log with LogAttrs (kind, class,
// Entra's codes and correlation id), never with the token.
func (a *Authenticator) Click(ctx context.Context, log *slog.Logger, av *botframework.ActionInvokeValue, tenantID, userOID, loginText string) (*Identity, azcore.TokenCredential, *botframework.InvokeResponse, error) {
	respond := func(r botframework.InvokeResponse) (*Identity, azcore.TokenCredential, *botframework.InvokeResponse, error) {
		return nil, nil, &r, nil
	}
	token := ""
	if av != nil && av.Authentication != nil {
		token = av.Authentication.Token
	}
	if token == "" && a.LocalToken != nil {
		var err error
		if token, err = a.LocalToken(ctx, tenantID, userOID); err != nil {
			log.Warn("local token issuer failed", "error", err)
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrLocalToken, err)
		}
	}
	if token == "" {
		return respond(LoginRequest(a.Settings, loginText))
	}
	id, cred, err := a.Authenticate(ctx, token, tenantID, userOID)
	if err == nil {
		return id, cred, nil, nil
	}
	log.Warn("click not authenticated", LogAttrs(err)...)
	switch {
	case errors.Is(err, ErrExpired):
		return respond(LoginRequest(a.Settings, loginText))
	case errors.Is(err, ErrWrongUser):
		return respond(botframework.ErrorResponse(http.StatusForbidden, "Forbidden", "This sign-in belongs to another account than the one using Teams."))
	case errors.Is(err, ErrConsentRequired), errors.Is(err, ErrInvalidToken):
		return respond(botframework.PreconditionFailed("Single sign-on could not be completed; please sign in."))
	}
	return nil, nil, nil, err
}
