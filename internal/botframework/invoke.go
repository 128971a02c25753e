package botframework

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// Invoke response types (teams-bot-protocol.md §3.1, §3.4).
const (
	InvokeTypeAdaptiveCard       = ContentTypeAdaptiveCard
	InvokeTypeMessage            = "application/vnd.microsoft.activity.message"
	InvokeTypeError              = "application/vnd.microsoft.error"
	InvokeTypeLoginRequest       = "application/vnd.microsoft.activity.loginRequest"
	InvokeTypeInvalidAuthCode    = "application/vnd.microsoft.error.invalidAuthCode"
	InvokeTypePreconditionFailed = "application/vnd.microsoft.error.preconditionFailed"
)

// InvokeResponse is the answer to an invoke activity, written as the HTTP response to the
// channel's POST: the HTTP status must be Status() and the body the response's JSON encoding.
//
// For adaptiveCard/action the body is {statusCode, type, value}. signin/tokenExchange has its own
// body shape; its constructors set it and MarshalJSON emits it instead.
type InvokeResponse struct {
	// StatusCode is both the HTTP status and the body's statusCode.
	StatusCode int `json:"statusCode"`
	// Type is the content type of Value (InvokeType…).
	Type string `json:"type,omitempty"`
	// Value is the card, message text, error or login request.
	Value any `json:"value,omitempty"`

	// body replaces the {statusCode,type,value} envelope for invokes with their own shape.
	body any
}

// Status returns the HTTP status to answer with.
func (r InvokeResponse) Status() int { return r.StatusCode }

// MarshalJSON encodes the response body.
func (r InvokeResponse) MarshalJSON() ([]byte, error) {
	if r.body != nil {
		return json.Marshal(r.body)
	}
	type envelope InvokeResponse // drops the method, so this does not recurse
	return json.Marshal(envelope(r))
}

// CardResponse replaces the clicked card with card (200), for the clicking user.
func CardResponse(card any) InvokeResponse {
	return InvokeResponse{StatusCode: http.StatusOK, Type: InvokeTypeAdaptiveCard, Value: card}
}

// MessageResponse shows text to the clicking user (200).
func MessageResponse(text string) InvokeResponse {
	return InvokeResponse{StatusCode: http.StatusOK, Type: InvokeTypeMessage, Value: text}
}

// InvokeError is the value of an error invoke response.
type InvokeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorResponse reports an error to the clicking user with a 4xx/5xx status. A status outside
// 400–599 becomes 500, so a coding slip cannot turn an error into a success.
func ErrorResponse(status int, code, message string) InvokeResponse {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	return InvokeResponse{StatusCode: status, Type: InvokeTypeError, Value: InvokeError{Code: code, Message: message}}
}

// PreconditionFailed (412) tells Teams the SSO token exchange failed; the client falls back to the
// sign-in button.
func PreconditionFailed(message string) InvokeResponse {
	return InvokeResponse{StatusCode: http.StatusPreconditionFailed, Type: InvokeTypePreconditionFailed,
		Value: InvokeError{Code: strconv.Itoa(http.StatusPreconditionFailed), Message: message}}
}

// InvalidAuthCode (401) tells the client the magic code of a nominal sign-in was wrong.
func InvalidAuthCode() InvokeResponse {
	return InvokeResponse{StatusCode: http.StatusUnauthorized, Type: InvokeTypeInvalidAuthCode}
}

// LoginRequestParams describes a sign-in request for an Action.Execute invoke.
type LoginRequestParams struct {
	// Text is shown with the sign-in prompt.
	Text string
	// ConnectionName names the OAuth connection; Teams requires it to be non-empty.
	ConnectionName string
	// TokenExchangeID, TokenExchangeURI (api://botid-<appId>) and ProviderID form the
	// tokenExchangeResource that asks Teams for SSO. Leave TokenExchangeURI empty for a plain
	// sign-in without SSO (the fallback after a failed exchange).
	TokenExchangeID  string
	TokenExchangeURI string
	ProviderID       string
	// SignInURL is the fallback sign-in button's target; ButtonTitle defaults to "Sign in".
	SignInURL   string
	ButtonTitle string
}

// LoginRequest is the value of a loginRequest invoke response (an OAuthCard).
type LoginRequest struct {
	Text                  string                 `json:"text,omitempty"`
	ConnectionName        string                 `json:"connectionName"`
	TokenExchangeResource *TokenExchangeResource `json:"tokenExchangeResource,omitempty"`
	Buttons               []SigninButton         `json:"buttons,omitempty"`
}

// TokenExchangeResource asks the Teams client for an SSO token for URI.
type TokenExchangeResource struct {
	ID         string `json:"id"`
	URI        string `json:"uri"`
	ProviderID string `json:"providerId,omitempty"`
}

// SigninButton is an OAuthCard button.
type SigninButton struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	Text  string `json:"text,omitempty"`
	Value string `json:"value"`
}

// NewLoginRequest answers an Action.Execute invoke with 401 loginRequest: Teams obtains a token
// for the bot (SSO, when TokenExchangeURI is set) and re-sends the invoke with
// value.authentication.
func NewLoginRequest(p LoginRequestParams) (InvokeResponse, error) {
	if p.ConnectionName == "" {
		return InvokeResponse{}, errors.New("botframework: login request needs a connection name")
	}
	if p.TokenExchangeURI != "" && p.TokenExchangeID == "" {
		return InvokeResponse{}, errors.New("botframework: login request with SSO needs a token exchange id")
	}
	lr := LoginRequest{Text: p.Text, ConnectionName: p.ConnectionName}
	if p.TokenExchangeURI != "" {
		lr.TokenExchangeResource = &TokenExchangeResource{ID: p.TokenExchangeID, URI: p.TokenExchangeURI, ProviderID: p.ProviderID}
	}
	if p.SignInURL != "" {
		title := p.ButtonTitle
		if title == "" {
			title = "Sign in"
		}
		lr.Buttons = []SigninButton{{Type: "signin", Title: title, Text: title, Value: p.SignInURL}}
	}
	return InvokeResponse{StatusCode: http.StatusUnauthorized, Type: InvokeTypeLoginRequest, Value: lr}, nil
}

// tokenExchangeBody is the body of a signin/tokenExchange answer (TokenExchangeInvokeResponse).
type tokenExchangeBody struct {
	ID             string `json:"id"`
	ConnectionName string `json:"connectionName"`
	FailureDetail  string `json:"failureDetail,omitempty"`
}

// TokenExchangeOK answers a signin/tokenExchange invoke whose token was exchanged (200).
func TokenExchangeOK(id, connectionName string) InvokeResponse {
	return InvokeResponse{StatusCode: http.StatusOK, body: tokenExchangeBody{ID: id, ConnectionName: connectionName}}
}

// TokenExchangeFailed answers a signin/tokenExchange invoke whose exchange failed (412); the
// client then shows the sign-in button.
func TokenExchangeFailed(id, connectionName, failureDetail string) InvokeResponse {
	return InvokeResponse{StatusCode: http.StatusPreconditionFailed,
		body: tokenExchangeBody{ID: id, ConnectionName: connectionName, FailureDetail: failureDetail}}
}

// StatusResponse answers an invoke with a status and an empty JSON object (e.g. 200 for
// signin/verifyState).
func StatusResponse(status int) InvokeResponse {
	return InvokeResponse{StatusCode: status, body: struct{}{}}
}

// ActionInvokeValue is the value of an adaptiveCard/action invoke (Action.Execute).
type ActionInvokeValue struct {
	Action ExecuteAction `json:"action"`
	// Authentication carries the SSO token when Teams re-sends the invoke after a loginRequest.
	Authentication *TokenExchangeRequest `json:"authentication,omitempty"`
	// State is the magic code of a nominal sign-in.
	State string `json:"state,omitempty"`
	// Trigger is "manual" or "automatic" when present (a UI click sends none).
	Trigger string `json:"trigger,omitempty"`
}

// ExecuteAction is the clicked Action.Execute. Data comes from the card, so it is untrusted input:
// identities come from the activity, never from Data.
type ExecuteAction struct {
	Type  string          `json:"type"`
	ID    string          `json:"id,omitempty"`
	Verb  string          `json:"verb"`
	Title string          `json:"title,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// TokenExchangeRequest is {id, connectionName, token}: the value of signin/tokenExchange and
// value.authentication of a re-sent adaptiveCard/action. Its String and LogValue redact the token.
type TokenExchangeRequest struct {
	ID             string `json:"id"`
	ConnectionName string `json:"connectionName"`
	Token          string `json:"token"`
}

// String implements fmt.Stringer without the token.
func (r TokenExchangeRequest) String() string {
	return fmt.Sprintf("TokenExchangeRequest{id=%q connectionName=%q token=%s}", r.ID, r.ConnectionName, redacted(r.Token))
}

// LogValue implements slog.LogValuer without the token.
func (r TokenExchangeRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID), slog.String("connection_name", r.ConnectionName),
		slog.String("token", redacted(r.Token)))
}

func redacted(s string) string {
	if s == "" {
		return "<empty>"
	}
	return "<redacted>"
}

// ErrNotInvoke reports an attempt to read an invoke value from another kind of activity.
var ErrNotInvoke = errors.New("botframework: not the expected invoke activity")

// ActionValue decodes the value of an adaptiveCard/action invoke. It fails (never panics) on any
// other activity, a missing value or a value without an action verb.
func (a *Activity) ActionValue() (*ActionInvokeValue, error) {
	if string(a.Type) != TypeInvoke || a.Name != InvokeAdaptiveCardAction {
		return nil, ErrNotInvoke
	}
	var v ActionInvokeValue
	if err := json.Unmarshal(a.Value, &v); err != nil {
		return nil, fmt.Errorf("%w: adaptiveCard/action value: %v", ErrMalformedActivity, err)
	}
	if v.Action.Verb == "" {
		return nil, fmt.Errorf("%w: adaptiveCard/action without a verb", ErrMalformedActivity)
	}
	return &v, nil
}

// TokenExchangeValue decodes the value of a signin/tokenExchange invoke.
func (a *Activity) TokenExchangeValue() (*TokenExchangeRequest, error) {
	if string(a.Type) != TypeInvoke || a.Name != InvokeSigninTokenExchange {
		return nil, ErrNotInvoke
	}
	var v TokenExchangeRequest
	if err := json.Unmarshal(a.Value, &v); err != nil {
		return nil, fmt.Errorf("%w: signin/tokenExchange value: %v", ErrMalformedActivity, err)
	}
	if v.ID == "" || v.Token == "" {
		return nil, fmt.Errorf("%w: signin/tokenExchange without id or token", ErrMalformedActivity)
	}
	return &v, nil
}
