package sso_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/credentials"
	"guestpass/internal/sso"
)

// ssoSecret is the SSO app's client secret in these tests: distinctive, so a leak is found.
const ssoSecret = "sso-app-secret-Qx7~never-logged"

// TestClickLogsWhySignInWasUnavailable: when sign-in is unavailable the log tells an operator
// which side failed — the SSO app's credential (with Entra's AADSTS code and correlation id to
// quote) or Entra itself — and never carries the user's token, the secret or Entra's free text.
func TestClickLogsWhySignInWasUnavailable(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   map[string]any
		budget time.Duration
		down   bool // Entra stops answering before the click
		want   map[string]any
	}{
		{name: "SSO app secret refused", status: http.StatusUnauthorized, budget: 5 * time.Second,
			body: map[string]any{"error": "invalid_client", "error_codes": []int{7000215},
				"error_description": "AADSTS7000215: Invalid client secret provided. Trace ID: 5f1e Correlation ID: 9c2d-corr",
				"trace_id":          "5f1e-trace", "correlation_id": "9c2d-corr"},
			want: map[string]any{"reason": "unavailable", "error_class": "credential_refused", "entra_status": float64(401),
				"entra_error": "invalid_client", "aadsts": "AADSTS7000215", "correlation_id": "9c2d-corr", "trace_id": "5f1e-trace"}},
		{name: "Entra failing", status: http.StatusServiceUnavailable, budget: 300 * time.Millisecond,
			body: map[string]any{"error": "temporarily_unavailable", "error_codes": []int{90033}, "correlation_id": "c-503"},
			// azidentity retries a 503 with backoff, so the click's budget runs out first.
			want: map[string]any{"reason": "unavailable", "error_class": "timeout"}},
		{name: "Entra unreachable", down: true, budget: 5 * time.Second,
			want: map[string]any{"reason": "unavailable", "error_class": "keys_unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t)
			f.setTokenResponse(tt.status, tt.body)
			fac, err := credentials.NewOnBehalfOfFactory(credentials.Config{
				AppID: "bot-app", ClientSecret: ssoSecret, AuthorityHost: f.srv.URL + "/", HTTPClient: f.srv.Client(),
			})
			if err != nil {
				t.Fatal(err)
			}
			x, err := sso.NewExchanger(fac, "https://graph.microsoft.com/.default")
			if err != nil {
				t.Fatal(err)
			}
			a, err := sso.NewAuthenticator(newValidator(t, f, nil), x, sso.Settings{Resource: "api://botid-bot-app", SignInURL: "https://login.example/"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			token := f.sign(t, f.claims(tenant, user))
			if tt.down {
				f.srv.Close()
			}
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			ctx, cancel := context.WithTimeout(context.Background(), tt.budget)
			defer cancel()
			av := &botframework.ActionInvokeValue{Authentication: &botframework.TokenExchangeRequest{ID: "x1", ConnectionName: sso.DefaultConnectionName, Token: token}}
			if _, _, resp, err := a.Click(ctx, log, av, tenant, user, "Sign in"); resp != nil || err == nil {
				t.Fatalf("Click = %+v, %v; want an unavailable error", resp, err)
			}

			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("want one JSON log record, got %q: %v", buf.String(), err)
			}
			for k, v := range tt.want {
				if rec[k] != v {
					t.Errorf("log %s = %v, want %v (record %s)", k, rec[k], v, buf.String())
				}
			}
			for _, secret := range []string{token, token[strings.LastIndexByte(token, '.')+1:], ssoSecret, "Invalid client secret provided"} {
				if strings.Contains(buf.String(), secret) {
					t.Errorf("log contains %.30q…: %s", secret, buf.String())
				}
			}
		})
	}
}

func TestErrorClass(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""}, {sso.ErrExpired, "user"}, {sso.ErrConsentRequired, "user"}, {sso.ErrUnavailable, "other"},
		{context.DeadlineExceeded, "timeout"},
		// Entra answered an error after azidentity's retries: an outage on its side.
		{fmt.Errorf("%w: %w", sso.ErrUnavailable, &sso.EntraError{Status: 503, Code: "temporarily_unavailable", AADSTS: []int{90033}}), "entra_error"},
		// A user's assertion refused by Entra is the user's problem, whatever Entra's details.
		{fmt.Errorf("%w: %w", sso.ErrInvalidToken, &sso.EntraError{Status: 400, Code: "invalid_grant"}), "user"},
	} {
		if got := sso.ErrorClass(tt.err); got != tt.want {
			t.Errorf("ErrorClass(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
