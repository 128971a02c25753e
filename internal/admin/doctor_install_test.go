package admin_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"guestpass/internal/admin"
	"guestpass/internal/sandbox"
)

// The app installation permission is checked only when installing for approvers is turned on.
func TestDoctorChecksTheInstallPermissionOnlyWhenConfigured(t *testing.T) {
	without := slices.DeleteFunc(slices.Clone(sandbox.DefaultAppRoles), func(r string) bool {
		return r == "TeamsAppInstallation.ReadWriteSelfForUser.All"
	})
	feature := admin.InstallForApprovers.Feature
	tests := []struct {
		name     string
		roles    []string
		optional []admin.Requirement
		missing  []string
		onCard   bool
	}{
		{"off, not granted", without, nil, nil, false},
		{"on, granted", sandbox.DefaultAppRoles, []admin.Requirement{admin.InstallForApprovers}, nil, true},
		{"on, not granted", without, []admin.Requirement{admin.InstallForApprovers}, []string{"TeamsAppInstallation.ReadWriteSelfForUser.All"}, true},
		{"on, a broader permission", append(slices.Clone(without), "TeamsAppInstallation.ReadWriteForUser.All"), []admin.Requirement{admin.InstallForApprovers}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.tn.Sandbox.SetAppRoles(tt.roles)
			deps := e.doctorDeps()
			deps.Optional = tt.optional
			a, err := admin.New(e.options(deps))
			if err != nil {
				t.Fatal(err)
			}
			r := a.Diagnose(context.Background())
			if got := r.MissingByFeature[feature]; !slices.Equal(got, tt.missing) {
				t.Errorf("missing for %q = %v, want %v (all: %v)", feature, got, tt.missing, r.MissingByFeature)
			}
			card, err := json.Marshal(admin.DoctorCard(r))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(card), "Install the app for approvers") != tt.onCard {
				t.Errorf("card shows the feature: %v, want %v: %s", !tt.onCard, tt.onCard, card)
			}
			if tt.missing != nil && !strings.Contains(string(card), "Grant admin consent") {
				t.Errorf("card lacks the fix: %s", card)
			}
		})
	}
}
