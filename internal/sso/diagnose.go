package sso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Why sign-in was unavailable, finer than the error kinds: an operator must tell an Entra outage
// from a refused SSO app credential (an expired client secret looks the same to the user). These
// are wrapped next to ErrUnavailable and read by ErrorClass.
var (
	errUnreachable       = errors.New("Entra could not be reached")
	errCredentialRefused = errors.New("the SSO app's credential was refused")
	errKeysUnavailable   = errors.New("the tenant's signing keys could not be loaded")
)

// EntraError is what Entra answered to a refused token request: the HTTP status, the OAuth
// error, the AADSTS codes, and the correlation and trace ids Microsoft support asks for. It never
// holds the assertion, a token or a secret; Entra's error_description is left out because it
// is long and meant for people reading Entra's own logs.
type EntraError struct {
	Status        int
	Code          string
	AADSTS        []int
	CorrelationID string
	TraceID       string
}

// Error implements error.
func (e *EntraError) Error() string {
	s := fmt.Sprintf("Entra answered HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if len(e.AADSTS) > 0 {
		s += " " + e.aadsts()
	}
	return s
}

// aadsts renders the codes as Entra prints them: "AADSTS7000215,AADSTS7000222".
func (e *EntraError) aadsts() string {
	codes := make([]string, len(e.AADSTS))
	for i, c := range e.AADSTS {
		codes[i] = "AADSTS" + strconv.Itoa(c)
	}
	return strings.Join(codes, ",")
}

// ErrorClass labels the cause of a sign-in failure for logs and alerts:
//
//   - "credential_refused": Entra refused the SSO app's own credential (invalid_client,
//     unauthorized_client) — a wrong or expired SSO_APP_PASSWORD or certificate;
//   - "entra_error": Entra answered with a server error or throttling — an outage on its side;
//   - "entra_unreachable": no answer from Entra (DNS, TLS, connection);
//   - "timeout": the click's time budget ran out before Entra answered;
//   - "keys_unavailable": the tenant's signing keys could not be downloaded;
//   - "user": the user's token or consent (expired, invalid, wrong user, consent required);
//   - "other": anything else, such as a set-up failure.
func ErrorClass(err error) string {
	var ee *EntraError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errCredentialRefused):
		return "credential_refused"
	case errors.Is(err, errKeysUnavailable):
		return "keys_unavailable"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout"
	case errors.Is(err, errUnreachable):
		return "entra_unreachable"
	case errors.Is(err, ErrUnavailable) && errors.As(err, &ee):
		return "entra_error"
	case errors.Is(err, ErrExpired), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrWrongUser), errors.Is(err, ErrConsentRequired):
		return "user"
	}
	return "other"
}

// LogAttrs are the log attributes of a sign-in failure: reason (Reason), error_class
// (ErrorClass) and, when Entra answered, its status, OAuth error, AADSTS codes, correlation id
// and trace id; when it did not, the network error without the request. Never a token, an
// assertion or a secret.
func LogAttrs(err error) []any {
	attrs := []any{slog.String("reason", Reason(err)), slog.String("error_class", ErrorClass(err))}
	var ee *EntraError
	if errors.As(err, &ee) {
		attrs = append(attrs, slog.Int("entra_status", ee.Status), slog.String("entra_error", ee.Code),
			slog.String("aadsts", ee.aadsts()), slog.String("correlation_id", ee.CorrelationID), slog.String("trace_id", ee.TraceID))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL is Entra's token endpoint; the cause (DNS, TLS, refused connection) is what helps.
		attrs = append(attrs, slog.String("network_error", ue.Err.Error()))
	}
	return attrs
}
