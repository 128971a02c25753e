package commands

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type want struct {
	name, sub string
	args      []string
	flags     map[string]string
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want want
	}{
		// Command words: slash optional, any case, aliases.
		{"help", want{name: "help"}},
		{"/help", want{name: "help"}},
		{"HELP", want{name: "help"}},
		{"?", want{name: "help"}},
		{"/Help scenario show", want{name: "help", args: []string{"scenario show"}}},
		{"approvals", want{name: "approvals"}},
		{"scenarios", want{name: "scenarios"}},
		{"scenarios --retired", want{name: "scenarios", flags: map[string]string{"retired": "true"}}},
		{"scenarios --retired=no", want{name: "scenarios", flags: map[string]string{"retired": "false"}}},
		{"scenario list", want{name: "scenarios"}},
		{"/ scenarios", want{name: "scenarios"}},

		// Quoting.
		{`scenario show "Project X"`, want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{`scenario show Project X`, want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{"/Scenario SHOW \u201cProject X\u201d", want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{"scenario show \u201eProject X\u201c", want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{"scenario show \u2018Project X\u2019", want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{`scenario show 'Project X'`, want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{`scenario show 'Bob's project'`, want{name: "scenario", sub: "show", args: []string{"Bob's project"}}},
		{`scenario show O'Brien`, want{name: "scenario", sub: "show", args: []string{"O'Brien"}}},
		{"scenario show don\u2019t panic", want{name: "scenario", sub: "show", args: []string{"don\u2019t panic"}}},
		{`scenario show "Say \"hi\""`, want{name: "scenario", sub: "show", args: []string{`Say "hi"`}}},
		{`scenario show back\\slash`, want{name: "scenario", sub: "show", args: []string{`back\slash`}}},
		{`scenario show C:\temp`, want{name: "scenario", sub: "show", args: []string{`C:\temp`}}},
		{`scenario show "  padded  "`, want{name: "scenario", sub: "show", args: []string{"padded"}}},
		{`scenario show "Project" X`, want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{"scenario show Project \u2013 Phase 2", want{name: "scenario", sub: "show", args: []string{"Project \u2013 Phase 2"}}},
		{`scenario show -- --odd name`, want{name: "scenario", sub: "show", args: []string{"--odd name"}}},
		{`scenario show "scenario new"`, want{name: "scenario", sub: "show", args: []string{"scenario new"}}},

		// Multi-word commands and aliases.
		{"scenario new", want{name: "scenario", sub: "new"}},
		{"new scenario", want{name: "scenario", sub: "new"}},
		{"New Scenario Project X", want{name: "scenario", sub: "new", args: []string{"Project X"}}},
		{"create scenario", want{name: "scenario", sub: "new"}},
		{"scenario new --template event-guest", want{name: "scenario", sub: "new", flags: map[string]string{"template": "event-guest"}}},
		{"scenario edit Project X", want{name: "scenario", sub: "edit", args: []string{"Project X"}}},
		{"scenario retire 'Project X'", want{name: "scenario", sub: "retire", args: []string{"Project X"}}},

		// Lists of addresses in any common separator format.
		{`invite a@x.com, b@y.com; c@z.com --scenario "Project X"`, want{name: "invite",
			args: []string{"a@x.com", "b@y.com", "c@z.com"}, flags: map[string]string{"scenario": "Project X"}}},
		{"invite a@x.com,b@y.com;;c@z.com", want{name: "invite", args: []string{"a@x.com", "b@y.com", "c@z.com"}}},
		{`invite "a@x.com b@y.com"`, want{name: "invite", args: []string{"a@x.com", "b@y.com"}}},
		{"invite a@x.com\nb@y.com", want{name: "invite", args: []string{"a@x.com", "b@y.com"}}},
		{"invite --scenario=X a@x.com", want{name: "invite", args: []string{"a@x.com"}, flags: map[string]string{"scenario": "X"}}},
		{"invite --scenario='Project X' a@x.com", want{name: "invite", args: []string{"a@x.com"}, flags: map[string]string{"scenario": "Project X"}}},
		{"invite --scenario=\u201cProject X\u201d a@x.com", want{name: "invite", args: []string{"a@x.com"}, flags: map[string]string{"scenario": "Project X"}}},
		{"invite Alex.Smith@Contoso.COM", want{name: "invite", args: []string{"Alex.Smith@contoso.com"}}},
		{"invite mailto:a@x.com", want{name: "invite", args: []string{"a@x.com"}}},
		{"invite <a@x.com>", want{name: "invite", args: []string{"a@x.com"}}},
		{"invite &lt;a@x.com&gt;", want{name: "invite", args: []string{"a@x.com"}}},
		{`<p>invite <a href="mailto:a@x.com">a@x.com</a>, <a href="mailto:b@y.com">b@y.com</a></p>`,
			want{name: "invite", args: []string{"a@x.com", "b@y.com"}}},

		// Guests.
		{"guests", want{name: "guests"}},
		{"guests list", want{name: "guests"}},
		{"guests --scenario X", want{name: "guests", flags: map[string]string{"scenario": "X"}}},
		{"guests remove a@x.com --scenario X", want{name: "guests", sub: "remove", args: []string{"a@x.com"}, flags: map[string]string{"scenario": "X"}}},

		// Admin commands.
		{"requests", want{name: "requests"}},
		{`requests pending --scenario "Project X"`, want{name: "requests", args: []string{"pending"}, flags: map[string]string{"scenario": "Project X"}}},
		{"requests ALL", want{name: "requests", args: []string{"all"}}},
		{"catalogs", want{name: "catalogs"}},
		{"packages --catalog General", want{name: "packages", flags: map[string]string{"catalog": "General"}}},
		{"orgs", want{name: "orgs"}},
		{"orgs list", want{name: "orgs"}},
		{"organizations", want{name: "orgs"}},
		{"orgs add Contoso.COM", want{name: "orgs", sub: "add", args: []string{"contoso.com"}}},
		{"orgs add xn--bcher-kva.example.", want{name: "orgs", sub: "add", args: []string{"xn--bcher-kva.example"}}},
		{"orgs remove Fabrikam Ltd", want{name: "orgs", sub: "remove", args: []string{"Fabrikam Ltd"}}},
		{"expiring", want{name: "expiring"}},
		{"expiring --days 14", want{name: "expiring", flags: map[string]string{"days": "14"}}},
		{"expiring --days=14", want{name: "expiring", flags: map[string]string{"days": "14"}}},
		{"expiring \u2014days 14", want{name: "expiring", flags: map[string]string{"days": "14"}}},
		{"expiring \u2013days 14", want{name: "expiring", flags: map[string]string{"days": "14"}}},
		{"expiring -days 14", want{name: "expiring", flags: map[string]string{"days": "14"}}},
		{"expiring --DAYS 014", want{name: "expiring", flags: map[string]string{"days": "14"}}},
		{"expiring --days 365", want{name: "expiring", flags: map[string]string{"days": "365"}}},
		{"audit", want{name: "audit"}},
		{"audit --user alex@contoso.com --last 50", want{name: "audit", flags: map[string]string{"user": "alex@contoso.com", "last": "50"}}},
		{"audit --last 1 --user 'Alex Wilber'", want{name: "audit", flags: map[string]string{"user": "Alex Wilber", "last": "1"}}},
		{"stats", want{name: "stats"}},
		{"doctor", want{name: "doctor"}},

		// Teams message text.
		{"<p>help</p>", want{name: "help"}},
		{"<at>guestpass</at> help", want{name: "help"}},
		{"<p><at>guestpass</at>&nbsp;scenario show Project &amp; Co</p>", want{name: "scenario", sub: "show", args: []string{"Project & Co"}}},
		{"<div><div><at id=\"0\">guestpass</at> <at id=\"1\">bot</at> stats</div></div>", want{name: "stats"}},
		{"audit --user <at>Alex Wilber</at>", want{name: "audit", flags: map[string]string{"user": "Alex Wilber"}}},
		{`audit --user "<at>Alex Wilber</at>"`, want{name: "audit", flags: map[string]string{"user": "Alex Wilber"}}},
		{"audit --user=<at>Alex  Wilber</at> --last 5", want{name: "audit", flags: map[string]string{"user": "Alex Wilber", "last": "5"}}},
		{`audit --user <at>Alex "AJ" Wilber</at>`, want{name: "audit", flags: map[string]string{"user": `Alex "AJ" Wilber`}}},
		{"scenario show <at>Tom &amp; Jerry</at>", want{name: "scenario", sub: "show", args: []string{"Tom & Jerry"}}},
		{"scenario show <at>a &amp;lt; b</at>", want{name: "scenario", sub: "show", args: []string{"a &lt; b"}}},
		{"scenario show &quot;Project X&quot;", want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{"scenario show &#39;Project X&#39;", want{name: "scenario", sub: "show", args: []string{"Project X"}}},
		{"\u200bhelp\u00a0", want{name: "help"}},
		{"\ufeff/help<br>", want{name: "help"}},
		{"expiring\u00a0--days\u00a014", want{name: "expiring", flags: map[string]string{"days": "14"}}},
		{"scenario show a<br/>b", want{name: "scenario", sub: "show", args: []string{"a b"}}},
		{"scenario show 1 < 2", want{name: "scenario", sub: "show", args: []string{"1 < 2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			assertCommand(t, got, tt.want)
		})
	}
}

func assertCommand(t *testing.T, got Command, w want) {
	t.Helper()
	if got.Name != w.name || got.Sub != w.sub {
		t.Errorf("command = %q %q, want %q %q", got.Name, got.Sub, w.name, w.sub)
	}
	if !reflect.DeepEqual(got.Args, w.args) {
		t.Errorf("args = %q, want %q", got.Args, w.args)
	}
	if !reflect.DeepEqual(got.Flags, w.flags) {
		t.Errorf("flags = %q, want %q", got.Flags, w.flags)
	}
}

func TestParseUsageErrors(t *testing.T) {
	tooMany := "invite " + strings.Repeat("a@x.com ", MaxInvite+1)
	tests := []struct {
		in         string
		command    string // UsageError.Command
		suggestion string
		message    string // substring of Message
		usage      string // substring of Usage
	}{
		{in: "hlep", suggestion: "help", message: "`hlep` is not a command"},
		{in: "aprovals", suggestion: "approvals"},
		{in: "scenaro show X", suggestion: "scenario show"},
		{in: "scenarois", suggestion: "scenarios"},
		{in: "exp", suggestion: "expiring"},
		{in: "xyzzy", message: "Type `help`"},
		{in: `"help"`, message: "`help` is not a command"},
		{in: "--days 3", message: "`--days` is not a command"},
		{in: "scenario", command: "scenario", message: "needs one of: `show`, `new`, `edit` or `retire`", usage: "scenario show <name>\nscenario new"},
		{in: "scenario shw X", command: "scenario", suggestion: "scenario show", message: "`scenario shw` is not a command"},
		{in: "scenario Project X", command: "scenario"},
		{in: "orgs ad contoso.com", command: "orgs", suggestion: "orgs add"},
		{in: "guests remvoe a@x.com", command: "guests", suggestion: "guests remove"},
		{in: "scenario show", command: "scenario show", message: "<name> is missing", usage: "scenario show <name>"},
		{in: "scenario show --days 3", command: "scenario show", message: "takes no options"},
		{in: "expiring --dys 3", command: "expiring", suggestion: "--days", message: "no option `--dys`", usage: "expiring [--days <1-365>]"},
		{in: "expiring --days", command: "expiring", message: "`--days` needs a value"},
		{in: "expiring --days --days", command: "expiring", message: "`--days` needs a value"},
		{in: "expiring --days 0", command: "expiring", message: "0 is not between 1 and 365"},
		{in: "expiring --days 366", command: "expiring", message: "366 is not between 1 and 365"},
		{in: "expiring --days -5", command: "expiring", message: "-5 is not between 1 and 365"},
		{in: "expiring --days two", command: "expiring", message: "`two` is not a whole number"},
		{in: "expiring --days 99999999999999999999", command: "expiring", message: "is not a whole number"},
		{in: "expiring --days 3 --days 4", command: "expiring", message: "given twice"},
		{in: "expiring 14", command: "expiring", message: "remove `14`"},
		{in: "audit --last 501", command: "audit", message: "501 is not between 1 and 500"},
		{in: "audit --last 0", command: "audit", message: "not between 1 and 500"},
		{in: "audit --user", command: "audit", message: "needs a value"},
		{in: `audit --user ""`, command: "audit", message: "the value is empty"},
		{in: "audit --user=", command: "audit", message: "the value is empty"},
		{in: "audit --lsat 5", command: "audit", suggestion: "--last"},
		{in: "stats --foo", command: "stats", message: "`stats` takes no options"},
		{in: "stats now", command: "stats", message: "takes no arguments"},
		{in: "doctor -v", command: "doctor", message: "takes no options"},
		{in: "scenarios --retired=maybe", command: "scenarios", message: "not true or false"},
		{in: "invite", command: "invite", message: "<email> is missing", usage: "invite <email>..."},
		{in: "invite --scenario X", command: "invite", message: "<email> is missing"},
		{in: "invite not-an-email", command: "invite", message: "`not-an-email` is not an email address"},
		{in: "invite a@x.com Alex", command: "invite", message: "`Alex` is not an email address"},
		{in: `invite "Alex <a@x.com>"`, command: "invite", message: "is not an email address"},
		{in: "invite a@localhost", command: "invite", message: "not an email address"},
		{in: `invite "a b"@x.com`, command: "invite", message: "not an email address"},
		{in: tooMany, command: "invite", message: "at most 50 values of <email> at once; you gave 51"},
		{in: "guests remove a@x.com b@y.com", command: "guests remove", message: "unexpected `b@y.com`"},
		{in: "orgs add not_a_domain.com", command: "orgs add", message: "is not a domain name"},
		{in: "orgs add localhost", command: "orgs add", message: "is not a domain name"},
		{in: "orgs add 10.0.0.1", command: "orgs add", message: "is not a domain name"},
		{in: "orgs add -contoso.com", command: "orgs add", message: "no option"},
		{in: "orgs add bücher.example", command: "orgs add", message: "is not a domain name"},
		{in: "orgs add contoso.com fabrikam.com", command: "orgs add", message: "unexpected `fabrikam.com`"},
		{in: "orgs remove", command: "orgs remove", message: "<organization> is missing"},
		{in: "requests pendng", command: "requests", suggestion: "pending", message: "`pendng` is not one of pending, all"},
		{in: "requests pending all", command: "requests", message: "unexpected `all`"},
		{in: `scenario show "Project X`, message: "A quote is not closed: \"Project X."},
		{in: `scenario show 'Project X`, message: "A quote is not closed"},
		{in: "scenario show " + strings.Repeat("x", MaxValueLen+1), command: "scenario show", message: "longer than 256 characters"},
		{in: strings.Repeat("a", MaxInputBytes+1), message: "too long"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tt.in)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) error = %v, want *UsageError", tt.in, err)
			}
			if ue.Command != tt.command {
				t.Errorf("Command = %q, want %q", ue.Command, tt.command)
			}
			if ue.Suggestion != tt.suggestion {
				t.Errorf("Suggestion = %q, want %q (message %q)", ue.Suggestion, tt.suggestion, ue.Message)
			}
			if !strings.Contains(ue.Message, tt.message) {
				t.Errorf("Message = %q, want it to contain %q", ue.Message, tt.message)
			}
			if !strings.Contains(ue.Usage, tt.usage) {
				t.Errorf("Usage = %q, want it to contain %q", ue.Usage, tt.usage)
			}
			if ue.Command != "" && ue.Usage == "" {
				t.Errorf("a recognised command's error has no usage")
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "   ", "/", "<at>guestpass</at>", "<p>&nbsp;</p>", "\u200b", "<at>guestpass</at>&nbsp;<br>"} {
		if _, err := Parse(in); !errors.Is(err, ErrEmpty) {
			t.Errorf("Parse(%q) error = %v, want ErrEmpty", in, err)
		}
	}
}

func TestUsageErrorMessage(t *testing.T) {
	_, err := Parse("hlep")
	if got, want := err.Error(), "`hlep` is not a command. Type `help` to see what I can do. Did you mean `help`?"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAccessors(t *testing.T) {
	c, err := Parse("requests --scenario X")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Arg("state"); got != "pending" {
		t.Errorf("Arg(state) default = %q, want pending", got)
	}
	if c.Has("scenario") != true || c.Flag("scenario") != "X" {
		t.Errorf("Has/Flag(scenario) = %v %q", c.Has("scenario"), c.Flag("scenario"))
	}
	if c.Action() != "requests" || c.Path() != "requests" {
		t.Errorf("Action/Path = %q %q", c.Action(), c.Path())
	}

	c, err = Parse("expiring")
	if err != nil {
		t.Fatal(err)
	}
	if c.Has("days") || c.Int("days") != 30 {
		t.Errorf("expiring default days: Has=%v Int=%d, want false 30", c.Has("days"), c.Int("days"))
	}
	c, _ = Parse("expiring --days 7")
	if c.Int("days") != 7 {
		t.Errorf("Int(days) = %d, want 7", c.Int("days"))
	}

	c, _ = Parse("audit")
	if c.Int("last") != 50 || c.Flag("user") != "" {
		t.Errorf("audit defaults: last=%d user=%q", c.Int("last"), c.Flag("user"))
	}

	c, _ = Parse("scenarios")
	if c.Bool("retired") {
		t.Error("Bool(retired) = true without the flag")
	}
	c, _ = Parse("scenarios --retired")
	if !c.Bool("retired") {
		t.Error("Bool(retired) = false with the flag")
	}

	c, _ = Parse("invite a@x.com b@y.com")
	list := c.ArgList("email")
	if !reflect.DeepEqual(list, []string{"a@x.com", "b@y.com"}) {
		t.Fatalf("ArgList = %q", list)
	}
	list[0] = "changed"
	if c.ArgList("email")[0] != "a@x.com" {
		t.Error("ArgList exposes the command's internal slice")
	}
	if c.Arg("email") != "a@x.com" || c.Arg("nope") != "" || c.Flag("nope") != "" {
		t.Errorf("Arg/Flag of unknown names: %q %q %q", c.Arg("email"), c.Arg("nope"), c.Flag("nope"))
	}

	var zero Command
	if zero.Path() != "" || zero.Action() != "" || zero.Arg("x") != "" || zero.Flag("x") != "" || zero.String() != "" {
		t.Error("zero Command accessors are not empty")
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HELP", "help"},
		{"new scenario", "scenario new"},
		{"scenario show Project X", `scenario show "Project X"`},
		{`scenario show 'Say "hi"'`, `scenario show "Say \"hi\""`},
		{`scenario show back\\slash`, `scenario show "back\\slash"`},
		{"scenario show -- -x", `scenario show "-x"`},
		{"invite a@x.com;b@y.com --scenario=X", "invite a@x.com b@y.com --scenario X"},
		{"expiring —days 014", "expiring --days 14"},
		{"scenarios --retired=off", "scenarios --retired=false"},
		{"scenarios --retired", "scenarios --retired"},
		{"requests ALL --scenario 'a,b'", `requests all --scenario "a,b"`},
		{"audit --last 5 --user x", "audit --user x --last 5"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := c.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := Parse(c.String())
		if err != nil {
			t.Fatalf("Parse(%q) (round trip): %v", c.String(), err)
		}
		assertCommand(t, again, want{c.Name, c.Sub, c.Args, c.Flags})
	}
}

func TestHelpTopic(t *testing.T) {
	tests := []struct {
		topic string
		paths []string
	}{
		{"scenario show", []string{"scenario show"}},
		{"/Scenario  Show", []string{"scenario show"}},
		{"new scenario", []string{"scenario new"}},
		{"scenario", []string{"scenario show", "scenario new", "scenario edit", "scenario retire"}},
		{"orgs", []string{"orgs", "orgs add", "orgs remove"}},
		{"audit", []string{"audit"}},
	}
	for _, tt := range tests {
		specs, err := HelpTopic(tt.topic)
		if err != nil {
			t.Fatalf("HelpTopic(%q): %v", tt.topic, err)
		}
		var got []string
		for _, s := range specs {
			got = append(got, s.Path())
		}
		if !reflect.DeepEqual(got, tt.paths) {
			t.Errorf("HelpTopic(%q) = %q, want %q", tt.topic, got, tt.paths)
		}
	}
	_, err := HelpTopic("expirng")
	var ue *UsageError
	if !errors.As(err, &ue) || ue.Suggestion != "expiring" || ue.Command != "help" {
		t.Errorf("HelpTopic(expirng) = %v, want a usage error suggesting expiring", err)
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"help", "help", 0}, {"hlep", "help", 1}, {"hel", "help", 1},
		{"helpp", "help", 1}, {"halp", "help", 1}, {"kitten", "sitting", 3}, {"", "abc", 3},
		{"ca", "abc", 3}, {"épée", "epee", 2},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.d {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
		if got := distance(tt.b, tt.a); got != tt.d {
			t.Errorf("distance(%q, %q) = %d, want %d (symmetry)", tt.b, tt.a, got, tt.d)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>help</p>", "help"},
		{"<at>guestpass</at> help", "help"},
		{"<p><at>guestpass</at></p><p>help</p>", "help"},
		{"help <at>Alex</at>", `help "Alex"`},
		{"Tom &amp; Jerry", "Tom & Jerry"},
		{"&amp;amp;", "&amp;"},
		{"a&nbsp;b", "a b"},
		{"a\u200bb\u200ec", "abc"},
		{"a\x00b\x1bc", "abc"},
		{"line1<br>line2", "line1 line2"},
		{"x \xff y", "x \uFFFD y"},
		{"<alex@contoso.com>", "<alex@contoso.com>"},
		{"a < b > c", "a < b > c"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func ExampleParse() {
	c, err := Parse(`/invite a@contoso.com, b@fabrikam.com --scenario “Project X”`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Path(), c.ArgList("email"), c.Flag("scenario"))
	fmt.Println(c)

	_, err = Parse("expiring --dyas 14")
	fmt.Println(err)
	// Output:
	// invite [a@contoso.com b@fabrikam.com] Project X
	// invite a@contoso.com b@fabrikam.com --scenario "Project X"
	// `expiring` has no option `--dyas`. Did you mean `--days`?
}
