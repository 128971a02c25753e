package config

import (
	"errors"
	"strings"
	"testing"
)

// catalogID is a Teams app catalog id as Graph generates it for an organisation's app.
const catalogID = "b1c5353a-7aca-41b3-830f-27d5218fe0e5"

func TestTeamsAppCatalogID(t *testing.T) {
	accepts := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"off by default", prod(nil), ""},
		{"a tenant's catalog id", prod(map[string]string{"TEAMS_APP_CATALOG_ID": " " + catalogID + " "}), catalogID},
		{"the sandbox's catalog id in local mode", map[string]string{"TEAMS_APP_CATALOG_ID": "5c1e7a2d-9b4f-4e3a-8d6c-2f1a0b9c8e71"}, "5c1e7a2d-9b4f-4e3a-8d6c-2f1a0b9c8e71"},
		{"a plain id in sandbox mode", map[string]string{"TEAMS_APP_CATALOG_ID": "sandbox-app"}, "sandbox-app"},
	}
	for _, tt := range accepts {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(envOf(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.TeamsAppCatalogID != tt.want {
				t.Errorf("TeamsAppCatalogID = %q, want %q", c.TeamsAppCatalogID, tt.want)
			}
			if got := c.String(); tt.want != "" && !strings.Contains(got, "teams_app_catalog_id="+tt.want) {
				t.Errorf("String() lacks the catalog id: %s", got)
			}
		})
	}

	rejects := []struct {
		name    string
		env     map[string]string
		wantMsg string
	}{
		{"not a GUID in a tenant", prod(map[string]string{"TEAMS_APP_CATALOG_ID": "guestpass"}), "not a Teams app catalog id"},
		{"a path in local mode", map[string]string{"TEAMS_APP_CATALOG_ID": "../users/x"}, "not a Teams app catalog id"},
		{"a quote", map[string]string{"TEAMS_APP_CATALOG_ID": "a'b"}, "not a Teams app catalog id"},
		{"the manifest id instead of the catalog id", prod(map[string]string{"TEAMS_APP_CATALOG_ID": strings.ToUpper(appID)}), "externalId eq"},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env))
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != "TEAMS_APP_CATALOG_ID" {
				t.Fatalf("Load error = %v, want a TEAMS_APP_CATALOG_ID *config.Error", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q does not say %q on one line", err, tt.wantMsg)
			}
		})
	}
}
