package teamsapp_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"guestpass/internal/sandbox"
	"guestpass/internal/teamsapp"
	"guestpass/internal/testenv"
)

const installRoute = "POST /v1.0/users/{id}/teamwork/installedApps"

func newInstaller(t *testing.T, tn *testenv.Tenant, catalogID string) *teamsapp.Installer {
	t.Helper()
	in, err := teamsapp.New(teamsapp.Options{Graph: tn.Graph, CatalogID: catalogID, Logger: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestInstallForUserIsIdempotent(t *testing.T) {
	tn := testenv.New(t, testenv.Options{})
	in := newInstaller(t, tn, sandbox.TeamsAppCatalogID)
	installed, err := in.InstallForUser(ctx(t), sandbox.UserMegan)
	if err != nil || !installed {
		t.Fatalf("first install = %v, %v; want installed", installed, err)
	}
	if !tn.Sandbox.AppInstalled(sandbox.UserMegan) {
		t.Fatal("the sandbox has no installation for Megan")
	}
	// Graph's 409 for an installed app is success, reported as "already there".
	installed, err = in.InstallForUser(ctx(t), sandbox.UserMegan)
	if err != nil || installed {
		t.Fatalf("second install = %v, %v; want already installed", installed, err)
	}
	if n := tn.Sandbox.Calls()[installRoute]; n != 2 {
		t.Errorf("install calls = %d, want 2", n)
	}
	if tn.Sandbox.AppInstalled(sandbox.UserIsaiah) {
		t.Error("installing for Megan installed for Isaiah too")
	}
}

func TestInstallForUserErrors(t *testing.T) {
	withoutPermission := slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool { return r == teamsapp.Permission })
	tests := []struct {
		name      string
		roles     []string
		catalogID string
		userOID   string
		throttle  int
		status    int
		permanent bool
		hint      string
	}{
		{"without the permission", withoutPermission, sandbox.TeamsAppCatalogID, sandbox.UserMegan, 0, http.StatusForbidden, true, teamsapp.Permission},
		{"unknown catalog id", nil, "11111111-2222-3333-4444-555555555555", sandbox.UserMegan, 0, http.StatusNotFound, true, "TEAMS_APP_CATALOG_ID (11111111-2222-3333-4444-555555555555)"},
		{"unknown user", nil, sandbox.TeamsAppCatalogID, "99999999-8888-7777-6666-555555555555", 0, http.StatusNotFound, true, "the user exists"},
		{"a user id with a quote and a slash", nil, sandbox.TeamsAppCatalogID, "x'/../users", 0, http.StatusNotFound, true, ""},
		{"throttled", nil, sandbox.TeamsAppCatalogID, sandbox.UserMegan, 5, http.StatusTooManyRequests, false, ""},
		{"no user", nil, sandbox.TeamsAppCatalogID, " ", 0, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := testenv.New(t, testenv.Options{})
			if tt.roles != nil {
				tn.Sandbox.SetAppRoles(tt.roles)
			}
			if tt.throttle > 0 {
				tn.Sandbox.ThrottleNext(installRoute, tt.throttle)
			}
			installed, err := newInstaller(t, tn, tt.catalogID).InstallForUser(ctx(t), tt.userOID)
			var e *teamsapp.Error
			if installed || !errors.As(err, &e) {
				t.Fatalf("InstallForUser = %v, %v; want a *teamsapp.Error", installed, err)
			}
			if e.Status != tt.status || e.Permanent != tt.permanent {
				t.Errorf("status %d permanent %v, want %d %v (%v)", e.Status, e.Permanent, tt.status, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.hint) || !strings.HasPrefix(err.Error(), "the app could not be installed for the user") {
				t.Errorf("error %q does not start with the reason or lacks %q", err, tt.hint)
			}
			if tn.Sandbox.AppInstalled(sandbox.UserMegan) {
				t.Error("a failed install left the app installed")
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tn := testenv.New(t, testenv.Options{})
	for _, o := range []teamsapp.Options{
		{CatalogID: sandbox.TeamsAppCatalogID},
		{Graph: tn.Graph},
		{Graph: tn.Graph, CatalogID: "../users/x"},
		{Graph: tn.Graph, CatalogID: "a b"},
	} {
		if _, err := teamsapp.New(o); err == nil {
			t.Errorf("New(%+v) accepted bad options", o.CatalogID)
		}
	}
}
