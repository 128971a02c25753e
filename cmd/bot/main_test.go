package main

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"guestpass/internal/testkit"
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
		{"help lists sandbox", []string{"help"}, nil, exitOK, "", "\n  sandbox "},
		{"help lists guest", []string{"--help"}, nil, exitOK, "", "\n  guest "},
		{"help lists manifest", []string{"-h"}, nil, exitOK, "", "\n  manifest "},
		{"sandbox beyond loopback", []string{"sandbox", "--addr", "0.0.0.0:8443"}, nil, exitUsage, "not a loopback", ""},
		{"sandbox without port", []string{"sandbox", "--addr", "127.0.0.1"}, nil, exitUsage, "not a loopback host:port", ""},
		{"sandbox rejects arguments", []string{"sandbox", "now"}, nil, exitUsage, "unexpected arguments", ""},
		{"guest without email", []string{"guest", "--package", "Project X"}, nil, exitUsage, "--email and --package are required", ""},
		{"guest with a bad email", []string{"guest", "--email", "not an address", "--package", "Project X"}, nil, exitError, "not an email address", ""},
		{"guest without a sandbox", []string{"guest", "--email", "a@contoso.com", "--package", "x", "--state", "/nonexistent/sandbox.json"}, nil, exitError, "no running sandbox found", ""},
		{"manifest without app id", []string{"manifest", "--out", "/nonexistent/x.zip"}, nil, exitUsage, "app-id", ""},
		{"manifest help", []string{"manifest", "-h"}, nil, exitOK, "Usage: bot manifest", ""},
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
			code := run(context.Background(), tt.args, envOf(tt.env), &stdout, &stderr)
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
			if code := run(context.Background(), tt.args, envOf(tt.env), &bytes.Buffer{}, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d (%s)", code, tt.code, stderr.String())
			}
		})
	}
}

func TestManifestWritesZip(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist", "guestpass.zip")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"manifest", "--app-id", "11111111-2222-3333-4444-555555555555", "--out", out}, envOf(nil), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "manifest.json") || !strings.Contains(got, "color.png") || !strings.Contains(got, "outline.png") {
		t.Fatalf("zip holds %s", got)
	}
}

// TestSandboxAndGuest runs `bot sandbox` and plays the guest against it through the advertised
// address file: the request reaches the sandbox's control endpoint and its refusal (no such
// access package) comes back as a clear error.
func TestSandboxAndGuest(t *testing.T) {
	state := filepath.Join(t.TempDir(), "sandbox.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var sbOut testkit.SyncBuffer
	go func() {
		done <- run(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--state", state}, envOf(nil), &sbOut, &sbOut)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("bot sandbox exited %d: %s", code, sbOut.String())
		}
	})
	addrFile := strings.TrimSuffix(state, ".json") + ".addr"
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil && strings.HasPrefix(string(b), "https://127.0.0.1:") {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("bot sandbox exited %d before advertising itself: %s", code, sbOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared: %s", addrFile, sbOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"guest", "--email", "guest@contoso.com", "--package", "0badc0de-0000-4000-8000-000000000000", "--state", state},
		envOf(nil), &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "the sandbox refused the request (400 BadRequest): accessPackageId must reference an existing access package") {
		t.Fatalf("guest for an unknown package: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	code = run(context.Background(), []string{"guest", "--email", "guest@contoso.com", "--package", "Project X", "--state", state},
		envOf(map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "guestpass.db")}), &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), `no scenario named "Project X"`) {
		t.Fatalf("guest for an unknown scenario: exit %d, stderr %q", code, stderr.String())
	}
}
