package sso

import "errors"

// Error kinds. Every error Validate and Exchange return wraps exactly one of them, so callers pick
// the invoke response with errors.Is. Messages never contain a token.
var (
	// ErrExpired: the SSO token (or the assertion, as Entra saw it) is past its lifetime. The
	// client should get a fresh one: answer with a new sign-in request.
	ErrExpired = errors.New("sso: token expired")
	// ErrInvalidToken: the token is malformed, unsigned by the tenant's keys, or has the wrong
	// audience, issuer or token type. Treat it like a failed exchange (412) so Teams falls back to
	// the sign-in button.
	ErrInvalidToken = errors.New("sso: invalid token")
	// ErrWrongUser: a valid token of another user or tenant than the activity's sender. Refuse
	// (403); never act on it.
	ErrWrongUser = errors.New("sso: token belongs to another user")
	// ErrConsentRequired: Entra refused the on-behalf-of exchange because consent is missing
	// (AADSTS65001), or it demands interaction or more claims (Conditional Access). Answer 412 so
	// Teams shows the sign-in button, which leads to consent.
	ErrConsentRequired = errors.New("sso: consent or interaction required")
	// ErrUnavailable: the tenant's keys or token endpoint could not be reached. Not the user's
	// fault; show an error and keep the card's buttons so the click can be retried.
	ErrUnavailable = errors.New("sso: identity provider unavailable")
)
