package sso_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"guestpass/internal/botframework"
	"guestpass/internal/sso"
)

func TestClickMapsFailuresOntoInvokeResponses(t *testing.T) {
	const otherUser = "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	settings := sso.Settings{ConnectionName: sso.DefaultConnectionName, Resource: "api://botid-bot-app", SignInURL: "https://login.example/consent"}
	tests := []struct {
		name       string
		token      func(f *fakeEntra) string
		localToken func(ctx context.Context, tenantID, userOID string) (string, error)
		entra      func(f *fakeEntra)
		wantStatus int    // invoke response status; 0 = none
		wantType   string // invoke response type, when wantStatus is set
		wantErr    error  // error when no response
	}{
		{name: "authenticated", token: func(f *fakeEntra) string { return f.sign(t, f.claims(tenant, user)) }},
		{name: "no token asks Teams for one", wantStatus: http.StatusUnauthorized, wantType: botframework.InvokeTypeLoginRequest},
		{name: "local token issuer with nothing to issue asks Teams", localToken: func(context.Context, string, string) (string, error) {
			return "", nil
		}, wantStatus: http.StatusUnauthorized, wantType: botframework.InvokeTypeLoginRequest},
		{name: "local token issuer failure", localToken: func(context.Context, string, string) (string, error) {
			return "", errors.New("issuer down")
		}, wantErr: sso.ErrLocalToken},
		{name: "expired token asks for a new one", token: func(f *fakeEntra) string {
			c := f.claims(tenant, user)
			c["exp"], c["iat"], c["nbf"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix()
			return f.sign(t, c)
		}, wantStatus: http.StatusUnauthorized, wantType: botframework.InvokeTypeLoginRequest},
		{name: "another user's token is refused", token: func(f *fakeEntra) string { return f.sign(t, f.claims(tenant, otherUser)) },
			wantStatus: http.StatusForbidden},
		{name: "invalid token falls back to the sign-in button", token: func(f *fakeEntra) string {
			return tamper(t, f.sign(t, f.claims(tenant, user)), func(c jwt.MapClaims) { c["name"] = "Mallory" })
		}, wantStatus: http.StatusPreconditionFailed},
		{name: "consent missing falls back to the sign-in button", token: func(f *fakeEntra) string { return f.sign(t, f.claims(tenant, user)) },
			entra: func(f *fakeEntra) {
				f.setTokenResponse(http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_codes": []int{65001}})
			}, wantStatus: http.StatusPreconditionFailed},
		{name: "bot credential refused is unavailable", token: func(f *fakeEntra) string { return f.sign(t, f.claims(tenant, user)) },
			entra: func(f *fakeEntra) {
				f.setTokenResponse(http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_codes": []int{7000215}})
			}, wantErr: sso.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t)
			if tt.entra != nil {
				tt.entra(f)
			}
			a := &sso.Authenticator{Validator: newValidator(t, f, nil), Exchanger: newExchanger(t, f), Settings: settings, LocalToken: tt.localToken}
			av := &botframework.ActionInvokeValue{}
			if tt.token != nil {
				av.Authentication = &botframework.TokenExchangeRequest{ID: "x1", ConnectionName: settings.ConnectionName, Token: tt.token(f)}
			}
			id, cred, resp, err := a.Click(context.Background(), slog.New(slog.DiscardHandler), av, tenant, user, "Sign in to continue")
			switch {
			case tt.wantStatus != 0:
				if resp == nil || resp.StatusCode != tt.wantStatus || err != nil || id != nil {
					t.Fatalf("Click = %v, %+v, %v; want a %d response", id, resp, err, tt.wantStatus)
				}
				if tt.wantType != "" && resp.Type != tt.wantType {
					t.Fatalf("response type = %q, want %q", resp.Type, tt.wantType)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || resp != nil || id != nil {
					t.Fatalf("Click = %v, %+v, %v; want error %v", id, resp, err, tt.wantErr)
				}
			default:
				if err != nil || resp != nil || id == nil || cred == nil || id.OID != user {
					t.Fatalf("Click = %v, %+v, %v; want the identity of %s", id, resp, err, user)
				}
			}
		})
	}
}

func TestLoginRequest(t *testing.T) {
	tests := []struct {
		name       string
		settings   sso.Settings
		wantStatus int
	}{
		{"sso with fallback button", sso.Settings{ConnectionName: "c", Resource: "api://botid-x", SignInURL: "https://login.example/"}, http.StatusUnauthorized},
		{"no connection name is a configuration error", sso.Settings{Resource: "api://botid-x"}, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sso.LoginRequest(tt.settings, "Sign in")
			if r.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", r.StatusCode, tt.wantStatus)
			}
			if lr, ok := r.Value.(botframework.LoginRequest); tt.wantStatus == http.StatusUnauthorized &&
				(!ok || lr.TokenExchangeResource == nil || lr.TokenExchangeResource.ID == "" || lr.TokenExchangeResource.URI != tt.settings.Resource) {
				t.Fatalf("value = %+v, want a loginRequest for %s with an exchange id", r.Value, tt.settings.Resource)
			}
		})
	}
}

func TestReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{sso.ErrExpired, "expired"}, {sso.ErrWrongUser, "wrong_user"}, {sso.ErrConsentRequired, "consent_required"},
		{sso.ErrInvalidToken, "invalid_token"}, {sso.ErrUnavailable, "unavailable"}, {sso.ErrLocalToken, "local_token"},
		{errors.New("x"), "other"},
	} {
		if got := sso.Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestNewAuthenticator(t *testing.T) {
	f := newFakeEntra(t)
	v, x := newValidator(t, f, nil), newExchanger(t, f)
	local := func(context.Context, string, string) (string, error) { return "", nil }
	full := sso.Settings{Resource: "api://botid-bot-app", SignInURL: "https://login.example/consent"}

	a, err := sso.NewAuthenticator(v, x, full, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Settings.ConnectionName != sso.DefaultConnectionName {
		t.Errorf("connection name = %q, want the default", a.Settings.ConnectionName)
	}
	if _, err := sso.NewAuthenticator(v, x, sso.Settings{Resource: full.Resource}, local); err != nil {
		t.Errorf("local mode without a sign-in URL: %v", err)
	}
	for name, tt := range map[string]struct {
		v *sso.Validator
		x *sso.Exchanger
		s sso.Settings
	}{
		"no validator":   {nil, x, full},
		"no exchanger":   {v, nil, full},
		"no resource":    {v, x, sso.Settings{SignInURL: full.SignInURL}},
		"no sign-in URL": {v, x, sso.Settings{Resource: full.Resource}},
	} {
		if _, err := sso.NewAuthenticator(tt.v, tt.x, tt.s, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
