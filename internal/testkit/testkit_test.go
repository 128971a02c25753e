package testkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"guestpass/internal/testkit"
)

func post(t *testing.T, c *http.Client, url, body string) *http.Response {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestFakeConnectorRecordsAndWaits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fake := testkit.NewConnector(t)
	post(t, fake.Client(), fake.ServiceURL+"v3/conversations/c1/activities", `{"type":"message","text":"one"}`)
	call, err := fake.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if call.Activity == nil || call.Activity.Text != "one" || call.Status != http.StatusCreated || call.ResultID == "" {
		t.Errorf("call = %+v", call)
	}
	resp := post(t, fake.Client(), fake.ServiceURL+"v3/conversations/c1/activities", `{"type":"message","text":"two","attachments":[{"contentType":"x"}]}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("text + attachments: status %d, want 202", resp.StatusCode)
	}
	if b, _ := io.ReadAll(resp.Body); len(bytes.TrimSpace(b)) != 0 {
		t.Errorf("202 body = %q, want none", b)
	}
	got, err := fake.WaitFor(ctx, func(c testkit.Call) bool { return c.Activity != nil && c.Activity.Text == "two" })
	if err != nil || got.Status != http.StatusAccepted {
		t.Errorf("WaitFor = %+v, %v", got, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	if _, err := fake.WaitFor(short, func(c testkit.Call) bool { return false }); err == nil {
		t.Error("WaitFor without a match returned no error")
	}
	req, _ := http.NewRequest(http.MethodPut, fake.ServiceURL+"v3/conversations/c1/activities/5",
		strings.NewReader(`{"type":"message","text":"t","attachments":[{"contentType":"x"}]}`))
	resp, err = fake.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusBadRequest || e.Error.Code != "BadSyntax" {
		t.Errorf("mixed PUT: %d %q, want 400 BadSyntax", resp.StatusCode, e.Error.Code)
	}
}

func TestFakeConnectorRateLimit(t *testing.T) {
	clock := testkit.NewClock(time.Unix(0, 0))
	fake := testkit.NewConnector(t, testkit.WithClock(clock.Now))
	for i := range 8 {
		resp := post(t, fake.Client(), fake.ServiceURL+"v3/conversations/c1/activities", `{"type":"message","text":"x"}`)
		want := http.StatusCreated
		if i == 7 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Fatalf("send %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", resp.Header.Get("Retry-After"))
		}
	}
	if fake.Throttled() != 1 {
		t.Errorf("Throttled = %d, want 1", fake.Throttled())
	}
	clock.Advance(time.Second)
	if resp := post(t, fake.Client(), fake.ServiceURL+"v3/conversations/c1/activities", `{"type":"message","text":"x"}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("after 1s: status %d", resp.StatusCode)
	}
	// The 2 s window allows only 8: the 9th within 2 s is throttled even after the 1 s window passed.
	if resp := post(t, fake.Client(), fake.ServiceURL+"v3/conversations/c1/activities", `{"type":"message","text":"x"}`); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("9th within 2s: status %d, want 429", resp.StatusCode)
	}
}

func TestChannelIssuerServesEndorsedKeys(t *testing.T) {
	iss := testkit.NewChannelIssuer(t)
	resp, err := iss.Client().Get(iss.MetadataURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md struct {
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil || md.JWKSURI == "" || len(md.Algs) != 1 {
		t.Fatalf("metadata = %+v, %v", md, err)
	}
	kr, err := iss.Client().Get(md.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Body.Close()
	var set struct {
		Keys []struct {
			Kid          string   `json:"kid"`
			Kty          string   `json:"kty"`
			X5c          []string `json:"x5c"`
			Endorsements []string `json:"endorsements"`
			D            string   `json:"d"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(kr.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("keys = %+v", set.Keys)
	}
	k := set.Keys[0]
	if k.Kid != iss.ActiveKeyID() || k.Kty != "RSA" || len(k.X5c) != 1 || len(k.Endorsements) != 1 || k.Endorsements[0] != "msteams" || k.D != "" {
		t.Errorf("key = %+v", k)
	}
	iss.AddUnpublishedKey()
	iss.Rotate()
	if iss.JWKSFetches() != 1 {
		t.Errorf("JWKSFetches = %d, want 1", iss.JWKSFetches())
	}
}
