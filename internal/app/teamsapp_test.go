package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"guestpass/internal/sandbox"
	"guestpass/internal/testkit"
)

// TEAMS_APP_CATALOG_ID turns on installing the app for approvers; doctor then checks its Graph
// permission, and only then.
func TestDoctorListsAppInstallationWhenConfigured(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"off", nil, false},
		{"on", map[string]string{"TEAMS_APP_CATALOG_ID": sandbox.TeamsAppCatalogID}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, url := localApp(t, t.TempDir(), tt.env)
			fake := testkit.NewConnector(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if got := post(t, url, testkit.PersonalMessage(fake.ServiceURL, "doctor"), ""); got != http.StatusOK {
				t.Fatalf("doctor = %d", got)
			}
			call, err := fake.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			card := cardJSON(t, call)
			if got := strings.Contains(card, "✓ Install the app for approvers"); got != tt.want {
				t.Fatalf("doctor lists a ready app installation: %v, want %v: %s", got, tt.want, card)
			}
		})
	}
}
