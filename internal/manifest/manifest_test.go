package manifest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appfiles "guestpass/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	botID = "11111111-2222-3333-4444-555555555555"
	ssoID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
)

func TestBuildGolden(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"app-registration", Options{BotAppID: botID, ValidDomains: []string{"guestpass.example.com"}}},
		{"managed-identity", Options{
			BotAppID:      botID,
			TeamsAppID:    "99999999-8888-7777-6666-555555555555",
			SSOAppID:      ssoID,
			SSOResource:   "api://guestpass.example.com/botid-" + ssoID,
			Version:       "2.3.4",
			ValidDomains:  []string{"guestpass.example.com", "*.contoso.com"},
			DeveloperName: "Contoso IT",
			WebsiteURL:    "https://it.contoso.com/guestpass",
			PrivacyURL:    "https://contoso.com/privacy?app=guestpass&lang=en",
			TermsURL:      "https://contoso.com/terms",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(tt.opts)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			golden := filepath.Join("testdata", tt.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/manifest -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Build output differs from %s (run with -update after checking the diff):\n%s", golden, got)
			}
		})
	}
}

// manifestDoc is the part of the manifest the tests inspect.
type manifestDoc struct {
	Version   string `json:"version"`
	ID        string `json:"id"`
	Developer struct {
		Name       string `json:"name"`
		WebsiteURL string `json:"websiteUrl"`
		PrivacyURL string `json:"privacyUrl"`
		TermsURL   string `json:"termsOfUseUrl"`
	} `json:"developer"`
	Bots []struct {
		BotID                    string   `json:"botId"`
		Scopes                   []string `json:"scopes"`
		SupportsTargetedMessages bool     `json:"supportsTargetedMessages"`
		CommandLists             []struct {
			Scopes   []string `json:"scopes"`
			Triggers []string `json:"triggers"`
			Commands []struct {
				Title string `json:"title"`
			} `json:"commands"`
		} `json:"commandLists"`
	} `json:"bots"`
	ValidDomains       []string `json:"validDomains"`
	WebApplicationInfo struct {
		ID       string `json:"id"`
		Resource string `json:"resource"`
	} `json:"webApplicationInfo"`
}

func build(t *testing.T, opts Options) manifestDoc {
	t.Helper()
	data, err := Build(opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var m manifestDoc
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("Build output is not JSON: %v", err)
	}
	return m
}

func TestBuildDefaultsAndNormalisation(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		check func(t *testing.T, m manifestDoc)
	}{
		{
			name: "ids default to the bot app id",
			opts: Options{BotAppID: botID},
			check: func(t *testing.T, m manifestDoc) {
				if m.ID != botID || m.Bots[0].BotID != botID || m.WebApplicationInfo.ID != botID {
					t.Errorf("ids = %s / %s / %s, want all %s", m.ID, m.Bots[0].BotID, m.WebApplicationInfo.ID, botID)
				}
				if want := "api://botid-" + botID; m.WebApplicationInfo.Resource != want {
					t.Errorf("resource = %q, want %q", m.WebApplicationInfo.Resource, want)
				}
				if m.Version != DefaultVersion {
					t.Errorf("version = %q, want %q", m.Version, DefaultVersion)
				}
				if m.ValidDomains == nil || len(m.ValidDomains) != 0 {
					t.Errorf("validDomains = %#v, want an empty array", m.ValidDomains)
				}
			},
		},
		{
			name: "managed identity: resource follows the SSO app",
			opts: Options{BotAppID: botID, SSOAppID: ssoID},
			check: func(t *testing.T, m manifestDoc) {
				if m.Bots[0].BotID != botID || m.ID != botID {
					t.Errorf("bot/app id = %s/%s, want %s", m.Bots[0].BotID, m.ID, botID)
				}
				if m.WebApplicationInfo.ID != ssoID || m.WebApplicationInfo.Resource != "api://botid-"+ssoID {
					t.Errorf("webApplicationInfo = %+v, want the SSO app %s", m.WebApplicationInfo, ssoID)
				}
			},
		},
		{
			name: "GUIDs are lower-cased",
			opts: Options{BotAppID: strings.ToUpper("abcdef12-2222-3333-4444-55555555ABCD")},
			check: func(t *testing.T, m manifestDoc) {
				if want := "abcdef12-2222-3333-4444-55555555abcd"; m.Bots[0].BotID != want {
					t.Errorf("botId = %s, want %s", m.Bots[0].BotID, want)
				}
			},
		},
		{
			name: "domains are lower-cased and de-duplicated in order",
			opts: Options{BotAppID: botID, ValidDomains: []string{"Bot.Example.com", "*.contoso.com", "bot.example.com"}},
			check: func(t *testing.T, m manifestDoc) {
				if got := strings.Join(m.ValidDomains, ","); got != "bot.example.com,*.contoso.com" {
					t.Errorf("validDomains = %s", got)
				}
			},
		},
		{
			name: "privacy and terms default to anchors on the website",
			opts: Options{BotAppID: botID, WebsiteURL: "https://contoso.com/guestpass#top"},
			check: func(t *testing.T, m manifestDoc) {
				if m.Developer.PrivacyURL != "https://contoso.com/guestpass#privacy" ||
					m.Developer.TermsURL != "https://contoso.com/guestpass#terms-of-use" {
					t.Errorf("developer = %+v", m.Developer)
				}
				if m.Developer.Name != DefaultDeveloperName {
					t.Errorf("developer name = %q", m.Developer.Name)
				}
			},
		},
		{
			name: "bot scopes, targeted messages and command lists",
			opts: Options{BotAppID: botID},
			check: func(t *testing.T, m manifestDoc) {
				bot := m.Bots[0]
				if strings.Join(bot.Scopes, ",") != "personal,team,groupChat" || !bot.SupportsTargetedMessages {
					t.Errorf("bot scopes = %v, supportsTargetedMessages = %v", bot.Scopes, bot.SupportsTargetedMessages)
				}
				scopes := map[string][]string{}
				for _, l := range bot.CommandLists {
					if strings.Join(l.Triggers, ",") != "mention,slash" {
						t.Errorf("list %v triggers = %v", l.Scopes, l.Triggers)
					}
					if len(l.Commands) > 10 {
						t.Errorf("list %v has %d commands, at most 10 allowed", l.Scopes, len(l.Commands))
					}
					for _, c := range l.Commands {
						for _, s := range l.Scopes {
							scopes[s] = append(scopes[s], c.Title)
						}
					}
				}
				// Which commands and in what order is the registry's business; the commands
				// package checks this template against it (TestManifestTemplateListsTheRegistry).
				for _, scope := range []string{"personal", "team", "groupChat"} {
					if len(scopes[scope]) == 0 || scopes[scope][0] != "help" {
						t.Errorf("%s commands = %v, want a list that starts with help", scope, scopes[scope])
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, build(t, tt.opts))
		})
	}
}

func TestBuildRejectsInvalidOptions(t *testing.T) {
	valid := func(mod func(*Options)) Options {
		o := Options{BotAppID: botID}
		mod(&o)
		return o
	}
	tests := []struct {
		name   string
		opts   Options
		option string
	}{
		{"missing app id", Options{}, "app-id"},
		{"app id not a GUID", valid(func(o *Options) { o.BotAppID = "my-bot" }), "app-id"},
		{"app id with braces", valid(func(o *Options) { o.BotAppID = "{" + botID + "}" }), "app-id"},
		{"app id nil GUID", valid(func(o *Options) { o.BotAppID = nilGUID }), "app-id"},
		{"teams app id not a GUID", valid(func(o *Options) { o.TeamsAppID = "guestpass" }), "teams-app-id"},
		{"sso app id too short", valid(func(o *Options) { o.SSOAppID = botID[:35] }), "sso-app-id"},
		{"resource without scheme", valid(func(o *Options) { o.SSOResource = "botid-" + botID }), "sso-resource"},
		{"resource http", valid(func(o *Options) { o.SSOResource = "http://example.com/" + botID }), "sso-resource"},
		{"resource with space", valid(func(o *Options) { o.SSOResource = "api://botid- x" }), "sso-resource"},
		{"resource too long", valid(func(o *Options) { o.SSOResource = "api://x/" + strings.Repeat("a", 2048) }), "sso-resource"},
		{"version two parts", valid(func(o *Options) { o.Version = "1.0" }), "version"},
		{"version prerelease", valid(func(o *Options) { o.Version = "1.0.0-rc.1" }), "version"},
		{"version leading zero", valid(func(o *Options) { o.Version = "1.02.0" }), "version"},
		{"version v prefix", valid(func(o *Options) { o.Version = "v1.0.0" }), "version"},
		{"domain with scheme", valid(func(o *Options) { o.ValidDomains = []string{"https://bot.example.com"} }), "domain"},
		{"domain with port", valid(func(o *Options) { o.ValidDomains = []string{"bot.example.com:443"} }), "domain"},
		{"domain with path", valid(func(o *Options) { o.ValidDomains = []string{"bot.example.com/api"} }), "domain"},
		{"domain single label", valid(func(o *Options) { o.ValidDomains = []string{"localhost"} }), "domain"},
		{"domain IPv4", valid(func(o *Options) { o.ValidDomains = []string{"10.0.0.1"} }), "domain"},
		{"domain empty", valid(func(o *Options) { o.ValidDomains = []string{""} }), "domain"},
		{"domain underscore", valid(func(o *Options) { o.ValidDomains = []string{"bot_1.example.com"} }), "domain"},
		{"domain inner wildcard", valid(func(o *Options) { o.ValidDomains = []string{"bot.*.example.com"} }), "domain"},
		{"domain hyphen edge", valid(func(o *Options) { o.ValidDomains = []string{"-bot.example.com"} }), "domain"},
		{"domain label too long", valid(func(o *Options) { o.ValidDomains = []string{strings.Repeat("a", 64) + ".com"} }), "domain"},
		{"domain JSON injection", valid(func(o *Options) { o.ValidDomains = []string{`a.com","evil.com`} }), "domain"},
		{"too many domains", valid(func(o *Options) {
			for i := range 101 {
				o.ValidDomains = append(o.ValidDomains, strings.Repeat("a", i%60+1)+".example"+string(rune('a'+i/60))+".com")
			}
		}), "domain"},
		{"developer name too long", valid(func(o *Options) { o.DeveloperName = strings.Repeat("x", 33) }), "developer-name"},
		{"developer name blank", valid(func(o *Options) { o.DeveloperName = "   " }), "developer-name"},
		{"developer name control", valid(func(o *Options) { o.DeveloperName = "a\nb" }), "developer-name"},
		{"developer name bad UTF-8", valid(func(o *Options) { o.DeveloperName = "a\xffb" }), "developer-name"},
		{"website http", valid(func(o *Options) { o.WebsiteURL = "http://example.com" }), "website-url"},
		{"website no host", valid(func(o *Options) { o.WebsiteURL = "https:///path" }), "website-url"},
		{"website credentials", valid(func(o *Options) { o.WebsiteURL = "https://user:pw@example.com" }), "website-url"},
		{"privacy relative", valid(func(o *Options) { o.PrivacyURL = "/privacy" }), "privacy-url"},
		{"terms with space", valid(func(o *Options) { o.TermsURL = "https://example.com/terms of use" }), "terms-url"},
		{"terms too long", valid(func(o *Options) { o.TermsURL = "https://example.com/" + strings.Repeat("t", 2048) }), "terms-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Build(tt.opts)
			if err == nil {
				t.Fatalf("Build succeeded, want an error for --%s:\n%s", tt.option, data)
			}
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *OptionError", err)
			}
			if oe.Option != tt.option {
				t.Errorf("error names --%s, want --%s (%v)", oe.Option, tt.option, err)
			}
			if oe.Reason == "" || !strings.Contains(err.Error(), "--"+tt.option) {
				t.Errorf("error %q should name the flag and a reason", err)
			}
			var buf bytes.Buffer
			if err := WriteZip(&buf, tt.opts); err == nil || buf.Len() != 0 {
				t.Errorf("WriteZip wrote %d bytes, err %v; want nothing written and an error", buf.Len(), err)
			}
		})
	}
}

func TestBuildReportsEveryInvalidOption(t *testing.T) {
	_, err := Build(Options{BotAppID: "x", Version: "1", ValidDomains: []string{"a"}, WebsiteURL: "ftp://a"})
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("err = %v, want all problems joined", err)
	}
	got := map[string]bool{}
	for _, e := range joined.Unwrap() {
		var oe *OptionError
		if errors.As(e, &oe) {
			got[oe.Option] = true
		}
	}
	for _, want := range []string{"app-id", "version", "domain", "website-url"} {
		if !got[want] {
			t.Errorf("error %q does not report --%s", err, want)
		}
	}
}

// TestTemplatePlaceholders keeps the template and Options in step: every value Build computes has
// exactly one placeholder, and the template has no placeholder Build does not fill.
func TestTemplatePlaceholders(t *testing.T) {
	tmpl, err := fs.ReadFile(appfiles.Files, templateFile)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(tmpl) {
		t.Fatal("the template must itself be well-formed JSON")
	}
	values, err := Options{BotAppID: botID}.values()
	if err != nil {
		t.Fatal(err)
	}
	for name := range values {
		if n := strings.Count(string(tmpl), `"{{`+name+`}}"`); n != 1 {
			t.Errorf("placeholder %s appears %d times, want 1", name, n)
		}
	}
	for _, p := range placeholderPattern.FindAllString(string(tmpl), -1) {
		if _, ok := values[strings.Trim(p, "{}")]; !ok {
			t.Errorf("template placeholder %s has no value", p)
		}
	}
}

func TestFillRejectsUnfilledPlaceholder(t *testing.T) {
	_, err := fill([]byte(`{"a": "{{A}}", "b": "{{B}}"}`), map[string]any{"A": "x"})
	if err == nil || !strings.Contains(err.Error(), "{{B}}") {
		t.Fatalf("err = %v, want one naming {{B}}", err)
	}
}

func TestWriteZip(t *testing.T) {
	opts := Options{BotAppID: botID, ValidDomains: []string{"guestpass.example.com"}}
	var first, second bytes.Buffer
	if err := WriteZip(&first, opts); err != nil {
		t.Fatalf("WriteZip: %v", err)
	}
	if err := WriteZip(&second, opts); err != nil {
		t.Fatalf("WriteZip: %v", err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("two packages from the same options differ; the zip must be reproducible")
	}

	manifestJSON, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"manifest.json": manifestJSON}
	for _, name := range []string{"color.png", "outline.png"} {
		if want[name], err = fs.ReadFile(appfiles.Files, name); err != nil {
			t.Fatal(err)
		}
	}

	zr, err := zip.NewReader(bytes.NewReader(first.Bytes()), int64(first.Len()))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	if len(zr.File) != len(want) {
		t.Errorf("zip has %d entries, want %d", len(zr.File), len(want))
	}
	for _, f := range zr.File {
		wantData, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected zip entry %q (entries must be exactly the manifest and icons at the root)", f.Name)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		if !bytes.Equal(got, wantData) {
			t.Errorf("zip entry %s differs from the source", f.Name)
		}
		delete(want, f.Name)
	}
	for name := range want {
		t.Errorf("zip lacks %s", name)
	}
}

// errWriter fails every write, standing in for a full disk or closed pipe.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteZipReportsWriteErrors(t *testing.T) {
	err := WriteZip(errWriter{}, Options{BotAppID: botID})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the writer's error wrapped", err)
	}
}

func decodeIcon(t *testing.T, name string) image.Image {
	t.Helper()
	f, err := appfiles.Files.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", name, err)
	}
	return img
}

func TestColorIcon(t *testing.T) {
	img := decodeIcon(t, "color.png")
	if b := img.Bounds(); b.Dx() != 192 || b.Dy() != 192 {
		t.Fatalf("color.png is %dx%d, the schema wants 192x192", b.Dx(), b.Dy())
	}
	coloured := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c.A != 0xFF {
				t.Fatalf("color.png pixel (%d,%d) has alpha %d; the full-colour icon must be opaque", x, y, c.A)
			}
			if c.R != c.G || c.G != c.B {
				coloured++
			}
		}
	}
	if coloured < b.Dx()*b.Dy()/2 {
		t.Errorf("only %d coloured pixels; the colour icon should be mostly colour, not greyscale", coloured)
	}
}

func TestOutlineIcon(t *testing.T) {
	img := decodeIcon(t, "outline.png")
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 32 {
		t.Fatalf("outline.png is %dx%d, the schema wants 32x32", b.Dx(), b.Dy())
	}
	var transparent, opaque int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			switch {
			case c.A == 0:
				transparent++
			case c.R != 0xFF || c.G != 0xFF || c.B != 0xFF:
				t.Fatalf("outline.png pixel (%d,%d) = %v; only white or transparent pixels are allowed", x, y, c)
			case c.A == 0xFF:
				opaque++
			}
		}
	}
	if transparent < b.Dx()*b.Dy()/2 || opaque == 0 {
		t.Errorf("outline.png has %d transparent and %d opaque pixels; want a transparent background and a visible glyph", transparent, opaque)
	}
	if c := color.NRGBAModel.Convert(img.At(0, 0)).(color.NRGBA); c.A != 0 {
		t.Errorf("outline.png corner is %v, want a transparent background", c)
	}
}

// FuzzBuild feeds arbitrary option values through Build: it must never panic, and whatever it
// accepts must come out as valid JSON holding the values verbatim.
func FuzzBuild(f *testing.F) {
	f.Add(botID, ssoID, "api://botid-"+ssoID, "1.0.0", "bot.example.com", "Contoso", "https://contoso.com")
	f.Add("", "", "", "", "", "", "")
	f.Add(botID, "", "api://x\"y", "01.0.0", `a.com","b`, "\x00", "https://a\\b")
	f.Fuzz(func(t *testing.T, bot, sso, resource, version, domain, devName, website string) {
		opts := Options{
			BotAppID: bot, SSOAppID: sso, SSOResource: resource, Version: version,
			ValidDomains: []string{domain}, DeveloperName: devName, WebsiteURL: website,
		}
		data, err := Build(opts)
		if err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *OptionError", err)
			}
			return
		}
		var m manifestDoc
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted options produced invalid JSON: %v\n%s", err, data)
		}
		if m.Bots[0].BotID != strings.ToLower(bot) || len(m.ValidDomains) != 1 || m.ValidDomains[0] != strings.ToLower(domain) {
			t.Fatalf("values not carried verbatim: bot %q domain %q -> %+v", bot, domain, m)
		}
		if resource != "" && m.WebApplicationInfo.Resource != resource {
			t.Fatalf("resource %q came out as %q", resource, m.WebApplicationInfo.Resource)
		}
	})
}
