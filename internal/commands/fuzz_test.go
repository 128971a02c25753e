package commands

import (
	"errors"
	"html"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that no input panics, that every error is a *UsageError with a message or
// ErrEmpty, and that a parsed command survives a round trip through its canonical String form
// (HTML-escaped, as Teams would deliver it).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"help", "/help scenario show", `scenario show "Project X"`, "scenario show \u201cProject X\u201d",
		`scenario show 'Bob's project'`, `invite a@x.com, b@y.com; c@z.com --scenario "Project X"`,
		"requests pending --scenario 'Project X'", "expiring --days 14", "expiring —days=14",
		"audit --user alex@contoso.com --last 50", "orgs add contoso.com", "scenarios --retired=false",
		"<p><at>guestpass</at>&nbsp;scenario show Project &amp; Co</p>", "audit --user <at>Alex Wilber</at>",
		`scenario show "a\"b\\c"`, "scenario show -- --x", "new scenario X", "\u200b/HELP\u00a0",
		`invite <a href="mailto:a@x.com">a@x.com</a>`, "scenario show \"unterminated", "hlep", "scenario",
		"orgs ad x.com", "expiring --days 0", "scenario show '\"'", "help \\", "guests remove A@B.CO",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(in)
		if err != nil {
			var ue *UsageError
			if !errors.Is(err, ErrEmpty) && !(errors.As(err, &ue) && ue.Message != "") {
				t.Fatalf("Parse(%q) error %T %v is neither ErrEmpty nor a *UsageError with a message", in, err, err)
			}
			return
		}
		if c.spec == nil || c.Name == "" {
			t.Fatalf("Parse(%q) returned a command without a spec", in)
		}
		for _, v := range c.Args {
			if v == "" || v != strings.TrimSpace(v) || !utf8.ValidString(v) {
				t.Fatalf("Parse(%q) arg %q is empty, untrimmed or invalid UTF-8", in, v)
			}
		}
		s := c.String()
		again, err := Parse(html.EscapeString(s))
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse again: %v", in, s, err)
		}
		if again.Name != c.Name || again.Sub != c.Sub || !slices.Equal(again.Args, c.Args) || !mapsEqual(again.Flags, c.Flags) {
			t.Fatalf("round trip of %q via %q:\n got %q %q %q %q\nwant %q %q %q %q", in, s,
				again.Name, again.Sub, again.Args, again.Flags, c.Name, c.Sub, c.Args, c.Flags)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
