package testenv_test

import (
	"context"
	"net/http"
	"testing"

	"guestpass/internal/botframework"
	"guestpass/internal/router"
	"guestpass/internal/sandbox"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

// TestTenant checks the shared setup end to end: app-only Graph reads the sandbox, an SSO token
// validates and exchanges for the sender, and a served click reaches its handler with the
// token attached.
func TestTenant(t *testing.T) {
	tn := testenv.New(t, testenv.Options{ConnectorOptions: []testkit.ConnectorOption{testkit.WithoutRateLimit()}})
	ctx := context.Background()

	if _, err := tn.Graph.Users().ByUserId(sandbox.UserMegan).Get(ctx, nil); err != nil {
		t.Fatalf("app-only Graph read: %v", err)
	}
	if tn.GraphCalls.Total() == 0 {
		t.Fatal("the Graph call was not observed")
	}

	validator, exchanger := tn.SSO()
	tok := tn.Token(sandbox.UserMegan)
	id, err := validator.Validate(ctx, tok, tn.Sandbox.TenantID(), sandbox.UserMegan)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if _, err := exchanger.Exchange(ctx, id, tok); err != nil {
		t.Fatalf("Exchange: %v", err)
	}

	st := tn.OpenStore(nil)
	_ = tn.Service(st, nil)
	conn := botframework.NewConnector(botframework.ConnectorConfig{HTTPClient: tn.Connector.Client(), Logger: testenv.Quiet()})
	var gotToken string
	api := tn.Serve(st, conn, func(mux *router.Mux) {
		mux.HandleVerb("probe", func(_ context.Context, turn *router.Turn) error {
			if av, err := turn.Activity.ActionValue(); err == nil && av.Authentication != nil {
				gotToken = av.Authentication.Token
			}
			return turn.Respond(botframework.MessageResponse("ok"))
		})
	})
	a := testenv.WithSSOToken(t, testkit.ActionInvoke(tn.Connector.ServiceURL, "probe", map[string]string{"verb": "probe"}), tok)
	res := testenv.Post(t, api.URL, a)
	if res.Status != http.StatusOK || res.Body.StatusCode != http.StatusOK || !testenv.Contains(res.Raw, "ok") {
		t.Fatalf("response = %d %s", res.Status, res.Raw)
	}
	if gotToken != tok {
		t.Fatal("the handler did not receive the attached SSO token")
	}
}
