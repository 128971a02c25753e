package botframework_test

import (
	"encoding/json"
	"testing"

	"guestpass/internal/botframework"
)

func TestInvokeResponses(t *testing.T) {
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5"}
	login, err := botframework.NewLoginRequest(botframework.LoginRequestParams{
		Text: "Please sign in", ConnectionName: "graph", TokenExchangeID: "tx-1",
		TokenExchangeURI: "api://botid-aaaa", SignInURL: "https://login.example/start",
	})
	if err != nil {
		t.Fatalf("NewLoginRequest: %v", err)
	}
	plainLogin, err := botframework.NewLoginRequest(botframework.LoginRequestParams{ConnectionName: "graph", SignInURL: "https://login.example/start", ButtonTitle: "Go"})
	if err != nil {
		t.Fatalf("NewLoginRequest without SSO: %v", err)
	}
	tests := []struct {
		name   string
		r      botframework.InvokeResponse
		status int
		body   string
	}{
		{"card", botframework.CardResponse(card), 200,
			`{"statusCode":200,"type":"application/vnd.microsoft.card.adaptive","value":{"type":"AdaptiveCard","version":"1.5"}}`},
		{"message", botframework.MessageResponse("Thanks"), 200,
			`{"statusCode":200,"type":"application/vnd.microsoft.activity.message","value":"Thanks"}`},
		{"error", botframework.ErrorResponse(400, "BadRequest", "nope"), 400,
			`{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"BadRequest","message":"nope"}}`},
		{"error with a success status becomes 500", botframework.ErrorResponse(200, "X", "y"), 500,
			`{"statusCode":500,"type":"application/vnd.microsoft.error","value":{"code":"X","message":"y"}}`},
		{"precondition failed", botframework.PreconditionFailed("consent needed"), 412,
			`{"statusCode":412,"type":"application/vnd.microsoft.error.preconditionFailed","value":{"code":"412","message":"consent needed"}}`},
		{"invalid auth code", botframework.InvalidAuthCode(), 401,
			`{"statusCode":401,"type":"application/vnd.microsoft.error.invalidAuthCode"}`},
		{"login request with SSO", login, 401,
			`{"statusCode":401,"type":"application/vnd.microsoft.activity.loginRequest","value":{"text":"Please sign in","connectionName":"graph","tokenExchangeResource":{"id":"tx-1","uri":"api://botid-aaaa"},"buttons":[{"type":"signin","title":"Sign in","text":"Sign in","value":"https://login.example/start"}]}}`},
		{"login request without SSO", plainLogin, 401,
			`{"statusCode":401,"type":"application/vnd.microsoft.activity.loginRequest","value":{"connectionName":"graph","buttons":[{"type":"signin","title":"Go","text":"Go","value":"https://login.example/start"}]}}`},
		{"token exchange ok", botframework.TokenExchangeOK("tx-1", "graph"), 200,
			`{"id":"tx-1","connectionName":"graph"}`},
		{"token exchange failed", botframework.TokenExchangeFailed("tx-1", "graph", "consent required"), 412,
			`{"id":"tx-1","connectionName":"graph","failureDetail":"consent required"}`},
		{"status only", botframework.StatusResponse(200), 200, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.r.Status() != tt.status || tt.r.StatusCode != tt.status {
				t.Errorf("Status() = %d, StatusCode = %d, want %d", tt.r.Status(), tt.r.StatusCode, tt.status)
			}
			for _, v := range []any{tt.r, &tt.r} {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.body {
					t.Errorf("body %s\nwant %s", b, tt.body)
				}
			}
		})
	}
}

func TestNewLoginRequestValidates(t *testing.T) {
	for name, p := range map[string]botframework.LoginRequestParams{
		"no connection name": {TokenExchangeID: "x", TokenExchangeURI: "api://botid-a"},
		"SSO without id":     {ConnectionName: "c", TokenExchangeURI: "api://botid-a"},
	} {
		if _, err := botframework.NewLoginRequest(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
