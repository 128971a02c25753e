package manifest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandWritesZip(t *testing.T) {
	out := filepath.Join(t.TempDir(), "nested", "dir", "app.zip")
	var stdout, stderr bytes.Buffer
	err := Command([]string{
		"--app-id", botID, "--sso-app-id", ssoID,
		"--domain", "bot.example.com", "--domain", "*.contoso.com",
		"--version", "1.2.3", "--out", out,
	}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Command: %v (stderr %q)", err, stderr.String())
	}
	if got := stdout.String(); got != "wrote "+out+"\n" {
		t.Errorf("stdout = %q", got)
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("zip mode = %v, want 0644", info.Mode().Perm())
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatalf("written file is not a zip: %v", err)
	}
	defer zr.Close()
	f, err := zr.Open("manifest.json")
	if err != nil {
		t.Fatalf("zip lacks manifest.json: %v", err)
	}
	defer f.Close()
	var m manifestDoc
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Bots[0].BotID != botID || m.WebApplicationInfo.ID != ssoID || m.Version != "1.2.3" ||
		strings.Join(m.ValidDomains, ",") != "bot.example.com,*.contoso.com" {
		t.Errorf("flags not applied: %+v", m)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".guestpass-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestCommandDefaultOut(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout bytes.Buffer
	if err := Command([]string{"-app-id", botID}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("Command: %v", err)
	}
	if _, err := zip.OpenReader(DefaultOut); err != nil {
		t.Fatalf("%s: %v", DefaultOut, err)
	}
}

func TestCommandPrint(t *testing.T) {
	var stdout bytes.Buffer
	out := filepath.Join(t.TempDir(), "app.zip")
	if err := Command([]string{"--app-id", botID, "--print", "--out", out}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("Command: %v", err)
	}
	want, err := Build(Options{BotAppID: botID})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Errorf("--print output differs from Build:\n%s", stdout.String())
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--print must not write the zip (stat err %v)", err)
	}
}

func TestCommandErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantErr    string
		wantStderr string
		option     string
	}{
		{name: "missing app id", args: nil, wantErr: "--app-id", option: "app-id"},
		{name: "bad domain", args: []string{"--app-id", botID, "--domain", "https://bot.example.com"}, wantErr: "without a scheme", option: "domain"},
		{name: "bad version", args: []string{"--app-id", botID, "--version", "1"}, wantErr: "MAJOR.MINOR.PATCH", option: "version"},
		{name: "unknown flag", args: []string{"--app-id", botID, "--colour", "red"}, wantErr: "flag provided but not defined", wantStderr: "Usage: bot manifest"},
		{name: "positional argument", args: []string{"--app-id", botID, "extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dist")
			var stdout, stderr bytes.Buffer
			err := Command(append(tt.args, "--out", filepath.Join(dir, "app.zip")), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.option != "" {
				var oe *OptionError
				if !errors.As(err, &oe) || oe.Option != tt.option {
					t.Errorf("err = %v, want an *OptionError for --%s", err, tt.option)
				}
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing on error", stdout.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed run created %s (stat err %v)", dir, err)
			}
		})
	}
}

func TestCommandHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := Command([]string{"-h"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: bot manifest", "-sso-app-id", "-domain", "-print", DefaultOut} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestCommandUnwritableOut(t *testing.T) {
	// A regular file where the output directory should be makes MkdirAll fail.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := Command([]string{"--app-id", botID, "--out", filepath.Join(blocker, "app.zip")}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "manifest: create") {
		t.Fatalf("err = %v, want a create error", err)
	}
}
