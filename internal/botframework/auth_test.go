package botframework_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"guestpass/internal/botframework"
	"guestpass/internal/testkit"
)

const testAppID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

// authFixture is a validator wired to a fake issuer, both on one virtual clock.
type authFixture struct {
	issuer     *testkit.ChannelIssuer
	clock      *testkit.Clock
	v          *botframework.ChannelValidator
	serviceURL string
}

func newAuthFixture(t testing.TB) *authFixture {
	t.Helper()
	f := &authFixture{
		issuer:     testkit.NewChannelIssuer(t),
		clock:      testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)),
		serviceURL: "https://smba.trafficmanager.net/emea/",
	}
	f.issuer.Now = f.clock.Now
	v, err := botframework.NewChannelValidator(botframework.ChannelValidatorConfig{
		AppID:       testAppID,
		MetadataURL: f.issuer.MetadataURL,
		HTTPClient:  f.issuer.Client(),
		Now:         f.clock.Now,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("NewChannelValidator: %v", err)
	}
	f.v = v
	return f
}

func (f *authFixture) activity() *botframework.Activity {
	return testkit.PersonalMessage(f.serviceURL, "hi")
}

// wantAuthError checks err is an *AuthError with status and reason.
func wantAuthError(t *testing.T, err error, status int, reason string) {
	t.Helper()
	var ae *botframework.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *AuthError %d %s", err, status, reason)
	}
	if ae.Status != status || ae.Reason != reason {
		t.Fatalf("AuthError = %d %s (%v), want %d %s", ae.Status, ae.Reason, err, status, reason)
	}
	if !slices.Contains(botframework.AuthReasons, ae.Reason) {
		t.Errorf("reason %q is not in AuthReasons", ae.Reason)
	}
}

func TestValidateTable(t *testing.T) {
	f := newAuthFixture(t)
	now := f.clock.Now()
	claims := func(mod func(jwt.MapClaims)) string {
		c := f.issuer.Claims(testAppID, f.serviceURL)
		mod(c)
		return "Bearer " + f.issuer.Sign(c)
	}
	hs256 := func(key []byte, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	valid := f.issuer.Token(testAppID, f.serviceURL)
	// The payload of one valid token with the signature of another.
	other := strings.Split(f.issuer.Token(testAppID, "https://smba.trafficmanager.net/amer/"), ".")
	parts := strings.Split(valid, ".")
	tampered := other[0] + "." + other[1] + "." + parts[2]

	tests := []struct {
		name     string
		header   string
		activity func(*botframework.Activity)
		status   int // 0: accepted
		reason   string
	}{
		{name: "valid", header: "Bearer " + valid},
		{name: "scheme is case-insensitive", header: "bearer " + valid},
		{name: "wrong issuer", header: claims(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/" }), status: 401, reason: botframework.ReasonBadIssuer},
		{name: "numeric issuer", header: claims(func(c jwt.MapClaims) { c["iss"] = 42 }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "missing issuer", header: claims(func(c jwt.MapClaims) { delete(c, "iss") }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "wrong audience", header: claims(func(c jwt.MapClaims) { c["aud"] = "11111111-2222-3333-4444-555555555555" }), status: 401, reason: botframework.ReasonBadAudience},
		{name: "audience array containing app id", header: claims(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAppID} })},
		{name: "audience array without app id", header: claims(func(c jwt.MapClaims) { c["aud"] = []string{"other"} }), status: 401, reason: botframework.ReasonBadAudience},
		{name: "audience array of numbers", header: claims(func(c jwt.MapClaims) { c["aud"] = []int{1, 2} }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "missing audience", header: claims(func(c jwt.MapClaims) { delete(c, "aud") }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "expired beyond skew", header: claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-6 * time.Minute).Unix() }), status: 401, reason: botframework.ReasonExpired},
		{name: "expired within skew", header: claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-4 * time.Minute).Unix() })},
		{name: "missing exp", header: claims(func(c jwt.MapClaims) { delete(c, "exp") }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "string exp", header: claims(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "nbf beyond skew", header: claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(6 * time.Minute).Unix() }), status: 401, reason: botframework.ReasonNotYetValid},
		{name: "nbf within skew", header: claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(4 * time.Minute).Unix() })},
		{name: "alg none", header: func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodNone, f.issuer.Claims(testAppID, f.serviceURL)).SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + s
		}(), status: 401, reason: botframework.ReasonBadAlgorithm},
		{name: "HS256 signed with the public key", header: hs256(f.issuer.ActivePublicKeyPEM(), f.issuer.Claims(testAppID, f.serviceURL)), status: 401, reason: botframework.ReasonBadAlgorithm},
		{name: "Playground dummy token", header: hs256([]byte("dummy-secret-key"), jwt.MapClaims{
			"serviceurl": f.serviceURL, "iss": botframework.DefaultChannelIssuer, "aud": testAppID, "exp": now.Add(time.Hour).Unix(),
		}), status: 401, reason: botframework.ReasonBadAlgorithm},
		{name: "RS384 when the metadata lists only RS256", header: "Bearer " + f.issuer.SignWith(jwt.SigningMethodRS384, f.issuer.Claims(testAppID, f.serviceURL)), status: 401, reason: botframework.ReasonBadAlgorithm},
		{name: "tampered payload", header: "Bearer " + tampered, status: 401, reason: botframework.ReasonBadSignature},
		{name: "serviceurl mismatch", header: "Bearer " + valid, activity: func(a *botframework.Activity) { a.ServiceURL = "https://evil.example.com/" }, status: 401, reason: botframework.ReasonServiceURLMismatch},
		{name: "serviceurl missing", header: claims(func(c jwt.MapClaims) { delete(c, "serviceurl") }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "serviceurl not a string", header: claims(func(c jwt.MapClaims) { c["serviceurl"] = []string{f.serviceURL} }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "serviceurl a number", header: claims(func(c jwt.MapClaims) { c["serviceurl"] = 3.14 }), status: 401, reason: botframework.ReasonMissingClaim},
		{name: "endorsement mismatch", header: "Bearer " + valid, activity: func(a *botframework.Activity) { a.ChannelID = "webchat" }, status: 403, reason: botframework.ReasonEndorsementMissing},
		{name: "no channel id with endorsed key", header: "Bearer " + valid, activity: func(a *botframework.Activity) { a.ChannelID = "" }, status: 403, reason: botframework.ReasonEndorsementMissing},
		{name: "empty header", header: "", status: 401, reason: botframework.ReasonMissingHeader},
		{name: "blank header", header: "   ", status: 401, reason: botframework.ReasonMissingHeader},
		{name: "Bearer without token", header: "Bearer", status: 401, reason: botframework.ReasonBadScheme},
		{name: "three parts", header: "bearer x y", status: 401, reason: botframework.ReasonBadScheme},
		{name: "Basic", header: "Basic dXNlcjpwYXNz", status: 401, reason: botframework.ReasonBadScheme},
		{name: "token without scheme", header: valid, status: 401, reason: botframework.ReasonBadScheme},
		{name: "not a JWT", header: "Bearer not-a-jwt", status: 401, reason: botframework.ReasonMalformedToken},
		{name: "garbage segments", header: "Bearer a.b.c", status: 401, reason: botframework.ReasonMalformedToken},
		{name: "header not an object", header: "Bearer WzEsMl0.e30.sig", status: 401, reason: botframework.ReasonMalformedToken},
		{name: "alg not a string", header: "Bearer eyJhbGciOjF9.e30.sig", status: 401, reason: botframework.ReasonBadAlgorithm},
		{name: "huge token", header: "Bearer " + strings.Repeat("a", 20000) + ".b.c", status: 401, reason: botframework.ReasonMalformedToken},
		{name: "no kid", header: func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, f.issuer.Claims(testAppID, f.serviceURL))
			// Signed with a throwaway RSA key: the kid check comes first anyway.
			s, err := tok.SigningString()
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + s + ".c2ln"
		}(), status: 401, reason: botframework.ReasonUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.activity()
			if tt.activity != nil {
				tt.activity(a)
			}
			claims, err := f.v.Validate(context.Background(), tt.header, a)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if claims.ServiceURL != f.serviceURL || !slices.Contains(claims.Audience, testAppID) ||
					claims.Issuer != botframework.DefaultChannelIssuer || claims.KeyID != f.issuer.ActiveKeyID() || claims.ExpiresAt.IsZero() {
					t.Errorf("claims = %+v", claims)
				}
				return
			}
			if claims != nil {
				t.Errorf("claims returned with an error: %+v", claims)
			}
			wantAuthError(t, err, tt.status, tt.reason)
			if strings.Contains(err.Error(), valid) {
				t.Error("error message contains the token")
			}
		})
	}
	if n := f.issuer.JWKSFetches(); n != 1 {
		t.Errorf("JWKS fetched %d times for the whole table, want 1", n)
	}
}

func TestValidateKeyWithoutEndorsementsAcceptsAnyChannel(t *testing.T) {
	f := newAuthFixture(t)
	f.issuer.SetEndorsements(nil)
	a := f.activity()
	a.ChannelID = "webchat"
	if _, err := f.v.Validate(context.Background(), f.issuer.Header(testAppID, f.serviceURL), a); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestValidateUnknownKidRefreshesOnceThenRejects(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	if _, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity()); err != nil {
		t.Fatalf("initial Validate: %v", err)
	}
	f.issuer.AddUnpublishedKey()
	f.clock.Advance(10 * time.Minute)
	for range 3 {
		_, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity())
		wantAuthError(t, err, 401, botframework.ReasonUnknownKey)
	}
	if n := f.issuer.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (initial + one refresh for the unknown kid)", n)
	}
}

func TestValidateAcceptsRotatedKeyAfterRefresh(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	if _, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity()); err != nil {
		t.Fatalf("initial Validate: %v", err)
	}
	oldToken := f.issuer.Header(testAppID, f.serviceURL)
	f.issuer.Rotate()
	// Right after the initial load the unknown-kid refresh is rate-limited.
	_, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity())
	wantAuthError(t, err, 401, botframework.ReasonUnknownKey)
	if n := f.issuer.JWKSFetches(); n != 1 {
		t.Fatalf("JWKS fetched %d times within the rate limit, want 1", n)
	}
	f.clock.Advance(6 * time.Minute)
	claims, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity())
	if err != nil {
		t.Fatalf("Validate with the rotated key: %v", err)
	}
	if claims.KeyID != f.issuer.ActiveKeyID() {
		t.Errorf("KeyID = %q, want %q", claims.KeyID, f.issuer.ActiveKeyID())
	}
	if n := f.issuer.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
	// The old key is still published, so tokens signed before the rotation stay valid.
	if _, err := f.v.Validate(ctx, oldToken, f.activity()); err != nil {
		t.Errorf("token of the previous key: %v", err)
	}
}

func TestValidateUnknownKidRefreshIsRateLimitedUnderLoad(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	if err := f.v.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	f.clock.Advance(time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		c := f.issuer.Claims(testAppID, f.serviceURL)
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = fmt.Sprintf("forged-%d", i)
		s, err := tok.SigningString()
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			_, err := f.v.Validate(ctx, "Bearer "+s+".c2ln", f.activity())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantAuthError(t, err, 401, botframework.ReasonUnknownKey)
	}
	if n := f.issuer.JWKSFetches(); n != 2 {
		t.Errorf("200 forged kids caused %d JWKS fetches, want 2 (initial + one shared refresh)", n)
	}
}

func TestValidateConcurrent(t *testing.T) {
	f := newAuthFixture(t)
	header := f.issuer.Header(testAppID, f.serviceURL)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for range 16 {
		wg.Go(func() {
			for range 25 {
				if _, err := f.v.Validate(context.Background(), header, f.activity()); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d concurrent validations failed, first: %v", len(failures), failures[0])
	}
	if n := f.issuer.JWKSFetches(); n != 1 {
		t.Errorf("cold start under concurrency fetched the JWKS %d times, want 1", n)
	}
}

func TestValidateRefreshesStaleKeys(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	if _, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(25 * time.Hour)
	if _, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity()); err != nil {
		t.Fatalf("Validate after 25h: %v", err)
	}
	if n := f.issuer.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (keys older than 24h are refreshed)", n)
	}

	// When the refresh fails, the previous keys stay in use.
	f.issuer.FailJWKS(true)
	f.clock.Advance(25 * time.Hour)
	if _, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity()); err != nil {
		t.Fatalf("Validate with the key endpoint down: %v", err)
	}
	if !f.v.Ready() {
		t.Error("not ready after a failed refresh with keys loaded")
	}
}

func TestValidateKeysUnavailable(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	f.issuer.FailJWKS(true)
	if f.v.Ready() {
		t.Fatal("ready before any keys were loaded")
	}
	_, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity())
	wantAuthError(t, err, http.StatusServiceUnavailable, botframework.ReasonKeysUnavailable)
	_, err = f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity())
	wantAuthError(t, err, http.StatusServiceUnavailable, botframework.ReasonKeysUnavailable)
	if n := f.issuer.JWKSFetches(); n != 1 {
		t.Errorf("JWKS fetched %d times within the cold retry interval, want 1", n)
	}
	if err := f.v.Refresh(ctx); err == nil {
		t.Error("Refresh succeeded against a failing JWKS")
	}
	f.issuer.FailJWKS(false)
	f.clock.Advance(15 * time.Second)
	if _, err := f.v.Validate(ctx, f.issuer.Header(testAppID, f.serviceURL), f.activity()); err != nil {
		t.Fatalf("Validate once the JWKS is back: %v", err)
	}
	if !f.v.Ready() {
		t.Error("not ready after keys loaded")
	}
}

func TestValidatorRun(t *testing.T) {
	f := newAuthFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.v.Run(ctx)
		close(done)
	}()
	deadline := time.After(5 * time.Second)
	for !f.v.Ready() {
		select {
		case <-deadline:
			t.Fatal("Run did not load the keys")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestNewChannelValidatorRejectsBadConfig(t *testing.T) {
	for _, cfg := range []botframework.ChannelValidatorConfig{
		{},
		{AppID: "  "},
		{AppID: testAppID, MetadataURL: "not a url"},
		{AppID: testAppID, MetadataURL: "file:///etc/passwd"},
	} {
		if _, err := botframework.NewChannelValidator(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestValidateNilActivity(t *testing.T) {
	f := newAuthFixture(t)
	_, err := f.v.Validate(context.Background(), f.issuer.Header(testAppID, f.serviceURL), nil)
	var ae *botframework.AuthError
	if !errors.As(err, &ae) || ae.Status < 400 {
		t.Fatalf("nil activity: err = %v, want an AuthError", err)
	}
}

func FuzzAuthorizationHeader(f *testing.F) {
	fx := newAuthFixture(f)
	valid := fx.issuer.Header(testAppID, fx.serviceURL)
	for _, s := range []string{
		valid, "", "Bearer", "Bearer ", "bearer x y", "Basic abc", "Bearer a.b.c", "Bearer ...",
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.e30.c2ln",
		valid[:len(valid)-5], valid + "x", strings.ToUpper(valid),
	} {
		f.Add(s)
	}
	if err := fx.v.Refresh(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		claims, err := fx.v.Validate(context.Background(), header, fx.activity())
		if err == nil {
			if header != valid && !strings.EqualFold(strings.Join(strings.Fields(header), " "), valid) {
				t.Fatalf("accepted a header other than the valid one: %q", header)
			}
			if claims == nil {
				t.Fatal("nil claims without error")
			}
			return
		}
		var ae *botframework.AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("error is not an *AuthError: %v", err)
		}
		if !slices.Contains(botframework.AuthReasons, ae.Reason) || (ae.Status != 401 && ae.Status != 403 && ae.Status != 503) {
			t.Fatalf("AuthError %d %q outside the documented set", ae.Status, ae.Reason)
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	f := newAuthFixture(b)
	header := f.issuer.Header(testAppID, f.serviceURL)
	a := f.activity()
	ctx := context.Background()
	if _, err := f.v.Validate(ctx, header, a); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.Validate(ctx, header, a); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidateCachedTokenStillChecked proves that a token served from the verified-token cache
// still goes through the lifetime and per-activity checks.
func TestValidateCachedTokenStillChecked(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	header := f.issuer.Header(testAppID, f.serviceURL)
	for i := 0; i < 2; i++ { // the second call is answered from the cache
		if _, err := f.v.Validate(ctx, header, f.activity()); err != nil {
			t.Fatalf("Validate #%d: %v", i+1, err)
		}
	}

	other := testkit.PersonalMessage("https://smba.trafficmanager.net/amer/", "hi")
	_, err := f.v.Validate(ctx, header, other)
	wantAuthError(t, err, http.StatusUnauthorized, botframework.ReasonServiceURLMismatch)

	wrongChannel := f.activity()
	wrongChannel.ChannelID = "webchat"
	_, err = f.v.Validate(ctx, header, wrongChannel)
	wantAuthError(t, err, http.StatusForbidden, botframework.ReasonEndorsementMissing)

	// Past exp plus the 5-minute skew the cached entry must not be used.
	f.clock.Advance(2 * time.Hour)
	_, err = f.v.Validate(ctx, header, f.activity())
	wantAuthError(t, err, http.StatusUnauthorized, botframework.ReasonExpired)
}
