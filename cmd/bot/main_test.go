package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		wantStderr string
		wantStdout string
	}{
		{"help", []string{"help"}, nil, exitOK, "", "healthcheck"},
		{"unknown command", []string{"fly"}, nil, exitUsage, `unknown command "fly"`, ""},
		{"serve with bad config", []string{"serve"}, map[string]string{"BIND_ADDRESS": "0.0.0.0"}, exitUsage,
			"refusing to serve unauthenticated on a non-loopback address", ""},
		{"default command is serve", nil, map[string]string{"MicrosoftAppId": "not-a-guid"}, exitUsage, "MicrosoftAppId", ""},
		{"serve rejects arguments", []string{"serve", "extra"}, nil, exitUsage, "unexpected arguments", ""},
		{"healthcheck bad flag", []string{"healthcheck", "--nope"}, nil, exitUsage, "flag provided but not defined", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, envOf(tt.env), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) || !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Fatalf("stdout %q stderr %q; want %q / %q", stdout.String(), stderr.String(), tt.wantStdout, tt.wantStderr)
			}
			if tt.code == exitUsage && tt.name == "serve with bad config" && strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Fatalf("configuration error is not one line: %q", stderr.String())
			}
		})
	}
}

func TestHealthcheck(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]

	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		status int
		code   int
	}{
		{"healthy via PORT default", []string{"healthcheck"}, map[string]string{"PORT": port}, http.StatusOK, exitOK},
		{"healthy via --url", []string{"healthcheck", "--url", srv.URL + "/healthz"}, nil, http.StatusOK, exitOK},
		{"unhealthy", []string{"healthcheck", "--url", srv.URL + "/healthz"}, nil, http.StatusServiceUnavailable, exitError},
		{"wrong path", []string{"healthcheck", "--url", srv.URL + "/other"}, nil, http.StatusOK, exitError},
		{"nothing listening", []string{"healthcheck", "--url", "http://127.0.0.1:1/healthz"}, nil, http.StatusOK, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status.Store(int32(tt.status))
			var stderr bytes.Buffer
			if code := run(tt.args, envOf(tt.env), &bytes.Buffer{}, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d (%s)", code, tt.code, stderr.String())
			}
		})
	}
}
