package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandlerExposesCollectors(t *testing.T) {
	m := New()
	m.Activity("message", OutcomeOK, 3*time.Millisecond)
	m.Activity("message", OutcomeOK, 4*time.Millisecond)
	m.ConnectorRequest("send", 201)
	m.AuthFailure("bad_signature")

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`guestpass_activities_total{outcome="ok",type="message"} 2`,
		`guestpass_activity_duration_seconds_count{type="message"} 2`,
		`guestpass_connector_requests_total{op="send",status="201"} 1`,
		`guestpass_auth_failures_total{reason="bad_signature"} 1`,
		"go_goroutines",
		"process_start_time_seconds",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(), New() // would panic on duplicate registration with the global registry
	a.AuthFailure("x")
	got, err := b.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range got {
		if mf.GetName() == "guestpass_auth_failures_total" && len(mf.GetMetric()) > 0 {
			t.Fatal("a failure recorded on one Metrics shows up on another")
		}
	}
}
