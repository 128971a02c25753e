package commands

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestManifestTemplateListsTheRegistry keeps manifest/manifest.json's command menus in step with
// the command registry (ManifestCommands), the one place that ranks commands and knows which
// answer only in a personal chat. The manifest package cannot compute them itself: it builds
// without the bot's packages (tools/manifest-check), so this test is the link.
func TestManifestTemplateListsTheRegistry(t *testing.T) {
	data, err := os.ReadFile("../../manifest/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Bots []struct {
			CommandLists []struct {
				Scopes   []string          `json:"scopes"`
				Commands []ManifestCommand `json:"commands"`
			} `json:"commandLists"`
		} `json:"bots"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Bots) != 1 {
		t.Fatalf("manifest has %d bots, want 1", len(m.Bots))
	}
	scopes := map[string]bool{}
	for _, l := range m.Bots[0].CommandLists {
		for _, scope := range l.Scopes {
			scopes[scope] = true
			want := ManifestCommands(scope == "personal")
			if !slices.Equal(l.Commands, want) {
				got, _ := json.MarshalIndent(l.Commands, "", "  ")
				exp, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("the %s command list in manifest/manifest.json is\n%s\nthe registry says\n%s", scope, got, exp)
			}
		}
	}
	for _, scope := range []string{"personal", "team", "groupChat"} {
		if !scopes[scope] {
			t.Errorf("manifest/manifest.json has no command list for %s", scope)
		}
	}
}
