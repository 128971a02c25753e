package graph

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Error is a failed Graph response with what the audit log and error handling need. Branch on
// Status and Code, never on Message.
type Error struct {
	// Op is the guestpass operation that failed, e.g. "create catalog".
	Op              string
	Status          int
	Code            string
	Message         string
	RequestID       string
	ClientRequestID string
	Date            string
	// RetryAfter is the server's Retry-After on a throttled response, 0 if none.
	RetryAfter time.Duration
	err        error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph")
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	fmt.Fprintf(&b, ": %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request-id " + e.RequestID + ")")
	}
	return b.String()
}

// Unwrap returns the SDK error the Error was built from.
func (e *Error) Unwrap() error { return e.err }

// Wrap returns err as an *Error labelled op when it is a Graph response error (OData or not),
// and otherwise wraps it with op for context. nil stays nil.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if ge, ok := AsError(err); ok {
		cp := *ge
		if cp.Op == "" {
			cp.Op = op
		}
		return &cp
	}
	return fmt.Errorf("graph: %s: %w", op, err)
}

// AsError extracts Graph's error from err: an *Error in its chain, or the SDK's ODataError or
// ApiError, converted.
func AsError(err error) (*Error, bool) {
	if err == nil {
		return nil, false
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge, true
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		return fromOData(oe), true
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		e := &Error{Status: ae.ResponseStatusCode, Message: ae.Message, err: err}
		fillFromHeaders(e, ae.ResponseHeaders)
		return e, true
	}
	return nil, false
}

func fromOData(oe *odataerrors.ODataError) *Error {
	e := &Error{Status: oe.ResponseStatusCode, err: oe}
	if me := oe.GetErrorEscaped(); me != nil {
		e.Code = deref(me.GetCode())
		e.Message = deref(me.GetMessage())
		if ie := me.GetInnerError(); ie != nil {
			e.RequestID = deref(ie.GetRequestId())
			e.ClientRequestID = deref(ie.GetClientRequestId())
			if d := ie.GetDate(); d != nil {
				e.Date = d.UTC().Format(time.RFC3339)
			}
		}
	}
	fillFromHeaders(e, oe.ResponseHeaders)
	return e
}

// fillFromHeaders completes an Error from response headers where the body said nothing.
func fillFromHeaders(e *Error, h *abs.ResponseHeaders) {
	if h == nil {
		return
	}
	get := func(k string) string { // kiota normalises header keys to lower case
		if v := h.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if e.RequestID == "" {
		e.RequestID = get("request-id")
	}
	if e.ClientRequestID == "" {
		e.ClientRequestID = get("client-request-id")
	}
	if e.Date == "" {
		e.Date = get("Date")
	}
	if v := get("Retry-After"); v != "" {
		hh := http.Header{}
		hh.Set("Retry-After", v)
		if d, ok := retryAfter(hh); ok {
			e.RetryAfter = d
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func hasStatus(err error, statuses ...int) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	for _, s := range statuses {
		if e.Status == s {
			return true
		}
	}
	return false
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports a 409.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsForbidden reports a 403.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsThrottled reports a 429, or a 503 carrying Retry-After (Graph's other throttling signal).
func IsThrottled(err error) bool {
	e, ok := AsError(err)
	return ok && (e.Status == http.StatusTooManyRequests || (e.Status == http.StatusServiceUnavailable && e.RetryAfter > 0))
}
