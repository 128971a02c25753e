package commands

import (
	"slices"
	"testing"
	"unicode/utf8"

	"guestpass/internal/authz"
)

func TestUsageLines(t *testing.T) {
	want := []string{
		"help [<command>]",
		"approvals",
		"scenarios [--retired]",
		"scenario show <name>",
		"scenario new [<name>] [--template <template>]",
		"scenario edit <name>",
		"scenario retire <name>",
		"invite <email>... [--scenario <name>]",
		"guests [--scenario <name>]",
		"guests remove <email> [--scenario <name>]",
		"requests [pending|all] [--scenario <name>]",
		"catalogs",
		"packages [--catalog <name>]",
		"orgs",
		"orgs add <domain>",
		"orgs remove <organization>",
		"expiring [--days <1-365>]",
		"audit [--user <user>] [--action <action>] [--last <1-500>]",
		"stats",
		"doctor",
	}
	var got []string
	for _, s := range Specs() {
		got = append(got, s.Usage())
	}
	if !slices.Equal(got, want) {
		t.Errorf("usage lines:\n got %q\nwant %q", got, want)
	}
}

// withSampleArgs appends values for a spec's required arguments to a way of typing it.
func withSampleArgs(line string, s Spec) string {
	for _, a := range s.Args {
		if !a.Required {
			continue
		}
		switch a.Kind {
		case KindEmail:
			line += " a@contoso.com"
		case KindDomain:
			line += " contoso.com"
		default:
			line += " x"
		}
	}
	return line
}

func TestRegistry(t *testing.T) {
	for _, s := range Specs() {
		t.Run(s.Path(), func(t *testing.T) {
			if s.Summary == "" || utf8.RuneCountInString(s.Summary) > 128 {
				t.Errorf("summary %q must be 1–128 characters", s.Summary)
			}
			if utf8.RuneCountInString(s.Path()) > 32 {
				t.Errorf("path %q is longer than a manifest title may be", s.Path())
			}
			if !slices.Contains(authz.Actions(), s.Action) {
				t.Errorf("action %q is not in the authorization table", s.Action)
			}
			if got, ok := ForAction(s.Action); !ok || got.Path() != s.Path() {
				t.Errorf("ForAction(%q) = %q, %v", s.Action, got.Path(), ok)
			}
			for _, f := range s.Flags {
				switch f.Kind {
				case KindInt:
					if f.Min > f.Max {
						t.Errorf("--%s: min %d > max %d", f.Name, f.Min, f.Max)
					}
					if v, msg := canonical(KindInt, f.Default, f.Min, f.Max); msg != "" || v != f.Default {
						t.Errorf("--%s: default %q is not valid: %s", f.Name, f.Default, msg)
					}
				case KindBool:
				default:
					if f.Placeholder == "" {
						t.Errorf("--%s has no placeholder", f.Name)
					}
				}
			}
			for _, phrase := range append([]string{s.Path()}, s.Aliases...) {
				in := withSampleArgs(phrase, s)
				c, err := Parse(in)
				if err != nil {
					t.Errorf("Parse(%q): %v", in, err)
					continue
				}
				if c.Path() != s.Path() || c.Action() != s.Action {
					t.Errorf("Parse(%q) = %q (%s), want %q", in, c.Path(), c.Action(), s.Path())
				}
			}
		})
	}
	// Every action that is not a card button is a command.
	for _, a := range authz.Actions() {
		if a == authz.ActionApprove || a == authz.ActionDeny {
			continue
		}
		if _, ok := ForAction(a); !ok {
			t.Errorf("action %q has no command", a)
		}
	}
}

func TestVisible(t *testing.T) {
	paths := func(specs []Spec) []string {
		var out []string
		for _, s := range specs {
			out = append(out, s.Path())
		}
		return out
	}
	everyone := []string{"help", "approvals"}
	sponsor := append(slices.Clone(everyone), "scenarios", "scenario show", "scenario new", "scenario edit",
		"scenario retire", "invite", "guests", "guests remove")
	var all []string
	for _, s := range Specs() {
		all = append(all, s.Path())
	}
	tests := []struct {
		name  string
		roles authz.Roles
		want  []string
	}{
		{"everyone", authz.Roles{}, everyone},
		{"guest", authz.Roles{Guest: true}, everyone},
		{"guest in admin group", authz.Roles{Guest: true, Admin: true, Sponsor: true}, everyone},
		{"sponsor", authz.Roles{Sponsor: true}, sponsor},
		{"admin", authz.Roles{Admin: true}, all},
	}
	for _, tt := range tests {
		if got := paths(Visible(tt.roles)); !slices.Equal(got, tt.want) {
			t.Errorf("Visible(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestManifestCommands(t *testing.T) {
	personal := ManifestCommands(true)
	wantPersonal := []string{"help", "approvals", "scenarios", "scenario new", "scenario show", "invite", "guests",
		"requests", "doctor", "expiring"}
	shared := ManifestCommands(false)
	wantShared := []string{"help", "scenarios", "scenario new", "scenario show", "scenario edit", "scenario retire"}
	for _, tc := range []struct {
		list []ManifestCommand
		want []string
	}{{personal, wantPersonal}, {shared, wantShared}} {
		var titles []string
		for _, c := range tc.list {
			titles = append(titles, c.Title)
			if utf8.RuneCountInString(c.Title) > 32 || c.Description == "" || utf8.RuneCountInString(c.Description) > 128 {
				t.Errorf("manifest entry %+v breaks the schema's limits", c)
			}
			// Teams puts the title in the compose box; it must run as typed (given arguments).
			if _, err := Parse(c.Title); err != nil {
				if ue, ok := err.(*UsageError); !ok || ue.Command != c.Title {
					t.Errorf("manifest title %q does not parse as its command: %v", c.Title, err)
				}
			}
		}
		if !slices.Equal(titles, tc.want) {
			t.Errorf("manifest titles = %q, want %q", titles, tc.want)
		}
		if len(tc.list) > MaxManifestCommands {
			t.Errorf("%d commands, more than the schema allows", len(tc.list))
		}
	}
	for _, c := range shared {
		s, _ := parsePath(c.Title)
		if authz.RequiresPersonalChat(s.Action) {
			t.Errorf("shared command list offers %q, which answers only in personal chats", c.Title)
		}
	}
}

func parsePath(path string) (Spec, bool) {
	s, ok := phrases[path]
	if !ok {
		return Spec{}, false
	}
	return *s, true
}
