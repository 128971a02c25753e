package manifest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	appfiles "guestpass/manifest"
)

// Defaults applied by Build for options left empty.
const (
	// DefaultVersion is the app package version when none is given.
	DefaultVersion = "1.0.0"
	// DefaultDeveloperName is the publisher name shown in the Teams store listing.
	DefaultDeveloperName = "guestpass"
	// DefaultWebsiteURL is the developer website; privacy and terms URLs default to anchors on it.
	DefaultWebsiteURL = "https://github.com/guestpass/guestpass"
)

// Schema limits (Teams manifest v1.30) enforced here so errors name the flag instead of a JSON path.
const (
	maxDeveloperName = 32
	maxURL           = 2048
	maxValidDomains  = 100
	maxDomain        = 253
)

// templateFile is the manifest template inside guestpass/manifest's embedded files.
const templateFile = "manifest.json"

// iconFiles are copied verbatim from guestpass/manifest into the zip, next to manifest.json.
var iconFiles = []string{"color.png", "outline.png"}

// zipModified is the timestamp of every zip entry. A fixed time keeps the package reproducible:
// identical inputs give an identical zip.
var zipModified = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Options are the deployment-specific values of the app package. Only BotAppID is required.
type Options struct {
	// BotAppID is the bot's Microsoft App ID: the client id of its single-tenant app registration or
	// of its user-assigned managed identity (flag --app-id).
	BotAppID string
	// TeamsAppID is the manifest's own "id", which identifies the app in the Teams catalog. Empty
	// means BotAppID, so re-uploads of the package update the same app (flag --teams-app-id).
	TeamsAppID string
	// SSOAppID is the app registration Teams requests SSO tokens for (webApplicationInfo.id). Empty
	// means BotAppID. A managed identity cannot expose an API, so a managed-identity bot names its
	// separate SSO app registration here (flag --sso-app-id).
	SSOAppID string
	// SSOResource is the SSO app's Application ID URI (webApplicationInfo.resource). Empty means
	// "api://botid-" + the SSO app id, the form Teams documents for bots (flag --sso-resource).
	SSOResource string
	// Version is the package version, MAJOR.MINOR.PATCH; Teams wants it raised for every update of an
	// uploaded app. Empty means DefaultVersion (flag --version).
	Version string
	// ValidDomains are host names the app trusts, usually the bot's public host; "*.example.com"
	// wildcards are allowed, schemes, ports and paths are not (flag --domain, repeatable).
	ValidDomains []string
	// DeveloperName is the publisher name, at most 32 characters. Empty means DefaultDeveloperName.
	DeveloperName string
	// WebsiteURL is the developer's https website. Empty means DefaultWebsiteURL.
	WebsiteURL string
	// PrivacyURL is the https privacy statement. Empty means WebsiteURL with the fragment "#privacy".
	PrivacyURL string
	// TermsURL is the https terms of use. Empty means WebsiteURL with the fragment "#terms-of-use".
	TermsURL string
}

// OptionError reports an option value that cannot go into the manifest. Option is the command-line
// flag name (without dashes) of the offending Options field.
type OptionError struct {
	Option string
	Value  string
	Reason string
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("manifest: invalid --%s %q: %s", e.Option, e.Value, e.Reason)
}

var (
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$`)
	semverPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	labelPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// placeholderPattern finds template placeholders left without a value.
	placeholderPattern = regexp.MustCompile(`\{\{[A-Z0-9_]+\}\}`)
)

const nilGUID = "00000000-0000-0000-0000-000000000000"

// values resolves the defaults and validates every option, returning the template values keyed by
// placeholder name. All problems are reported at once (errors.Join of *OptionError).
func (o Options) values() (map[string]any, error) {
	var errs []error
	bad := func(option, value, reason string) {
		errs = append(errs, &OptionError{Option: option, Value: value, Reason: reason})
	}
	guid := func(option, value string) string {
		switch {
		case value == "":
			bad(option, value, "required")
		case !guidPattern.MatchString(value):
			bad(option, value, "must be a GUID like 11111111-2222-3333-4444-555555555555")
		case value == nilGUID:
			bad(option, value, "must not be the nil GUID")
		}
		return strings.ToLower(value)
	}

	botID := guid("app-id", o.BotAppID)
	teamsID, ssoID := botID, botID
	if o.TeamsAppID != "" {
		teamsID = guid("teams-app-id", o.TeamsAppID)
	}
	if o.SSOAppID != "" {
		ssoID = guid("sso-app-id", o.SSOAppID)
	}

	resource := o.SSOResource
	if resource == "" {
		resource = "api://botid-" + ssoID
	} else if reason := checkResource(resource); reason != "" {
		bad("sso-resource", resource, reason)
	}

	version := o.Version
	if version == "" {
		version = DefaultVersion
	} else if !semverPattern.MatchString(version) || len(version) > 256 {
		bad("version", version, "must be MAJOR.MINOR.PATCH such as 1.4.0 (Teams accepts no pre-release or build suffix)")
	}

	domains := make([]string, 0, len(o.ValidDomains))
	seen := make(map[string]bool, len(o.ValidDomains))
	for _, d := range o.ValidDomains {
		norm, reason := checkDomain(d)
		if reason != "" {
			bad("domain", d, reason)
			continue
		}
		if !seen[norm] {
			seen[norm] = true
			domains = append(domains, norm)
		}
	}
	if len(domains) > maxValidDomains {
		bad("domain", fmt.Sprintf("%d domains", len(domains)), fmt.Sprintf("at most %d are allowed", maxValidDomains))
	}

	devName := o.DeveloperName
	if devName == "" {
		devName = DefaultDeveloperName
	} else if reason := checkDeveloperName(devName); reason != "" {
		bad("developer-name", devName, reason)
	}

	website := o.WebsiteURL
	if website == "" {
		website = DefaultWebsiteURL
	}
	websiteURL, reason := checkHTTPS(website)
	if reason != "" {
		bad("website-url", website, reason)
	}
	urlOrAnchor := func(option, value, fragment string) string {
		if value != "" {
			if _, reason := checkHTTPS(value); reason != "" {
				bad(option, value, reason)
			}
			return value
		}
		if websiteURL == nil {
			return "" // the website error is already reported
		}
		u := *websiteURL
		u.Fragment, u.RawFragment = fragment, ""
		return u.String()
	}
	privacy := urlOrAnchor("privacy-url", o.PrivacyURL, "privacy")
	terms := urlOrAnchor("terms-url", o.TermsURL, "terms-of-use")

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return map[string]any{
		"TEAMS_APP_ID":   teamsID,
		"BOT_APP_ID":     botID,
		"SSO_APP_ID":     ssoID,
		"SSO_RESOURCE":   resource,
		"VERSION":        version,
		"VALID_DOMAINS":  domains,
		"DEVELOPER_NAME": devName,
		"WEBSITE_URL":    website,
		"PRIVACY_URL":    privacy,
		"TERMS_URL":      terms,
	}, nil
}

// checkDomain returns the lower-cased host name, or why it is not a valid validDomains entry.
func checkDomain(d string) (string, string) {
	switch {
	case d == "":
		return "", "must not be empty"
	case strings.Contains(d, "://"):
		return "", "give the host name without a scheme, e.g. bot.example.com"
	case strings.ContainsAny(d, "/:?#@"):
		return "", "give only the host name, without port, path or credentials"
	case len(d) > maxDomain:
		return "", fmt.Sprintf("must be at most %d characters", maxDomain)
	}
	host := strings.ToLower(d)
	labels := strings.Split(strings.TrimPrefix(host, "*."), ".")
	if len(labels) < 2 {
		return "", "must be a fully qualified host name such as bot.example.com"
	}
	for _, l := range labels {
		if !labelPattern.MatchString(l) {
			return "", fmt.Sprintf("label %q must be 1-63 letters, digits or inner hyphens (only a leading \"*.\" wildcard is allowed)", l)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", "must be a host name, not an IP address"
	}
	return host, ""
}

// checkHTTPS parses an https URL, or says why it is not acceptable in the developer block.
func checkHTTPS(raw string) (*url.URL, string) {
	if len(raw) > maxURL {
		return nil, fmt.Sprintf("must be at most %d characters", maxURL)
	}
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
		return nil, "must not contain spaces"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "not a URL: " + err.Error()
	}
	switch {
	case u.Scheme != "https":
		return nil, "must be an https:// URL"
	case u.Host == "":
		return nil, "must include a host"
	case u.User != nil:
		return nil, "must not contain credentials"
	}
	return u, ""
}

// checkResource says why raw is not an Application ID URI Teams can request SSO tokens for.
func checkResource(raw string) string {
	if len(raw) > maxURL {
		return fmt.Sprintf("must be at most %d characters", maxURL)
	}
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
		return "must not contain spaces"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URI: " + err.Error()
	}
	if (u.Scheme != "api" && u.Scheme != "https") || u.Host == "" {
		return "must be an Application ID URI such as api://botid-<app id> or api://<host>/botid-<app id>"
	}
	return ""
}

func checkDeveloperName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(name) > maxDeveloperName:
		return fmt.Sprintf("must be at most %d characters", maxDeveloperName)
	case strings.TrimSpace(name) == "":
		return "must not be blank"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// Build returns the filled-in manifest.json for opts. Every input is validated first; a returned
// error wraps one *OptionError per bad option.
func Build(opts Options) ([]byte, error) {
	values, err := opts.values()
	if err != nil {
		return nil, err
	}
	tmpl, err := fs.ReadFile(appfiles.Files, templateFile)
	if err != nil {
		return nil, fmt.Errorf("manifest: read template: %w", err)
	}
	return fill(tmpl, values)
}

// fill replaces each quoted placeholder "{{NAME}}" in tmpl with the JSON encoding of values[NAME].
// Replacing the whole JSON string (quotes included) lets a placeholder stand for any JSON value, such
// as the validDomains array, while the template itself stays well-formed JSON.
func fill(tmpl []byte, values map[string]any) ([]byte, error) {
	pairs := make([]string, 0, 2*len(values))
	for name, v := range values {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // URLs keep their '&' readable; the output is JSON, not HTML
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("manifest: encode %s: %w", name, err)
		}
		pairs = append(pairs, `"{{`+name+`}}"`, strings.TrimSuffix(buf.String(), "\n"))
	}
	out := strings.NewReplacer(pairs...).Replace(string(tmpl))
	if left := placeholderPattern.FindString(out); left != "" {
		return nil, fmt.Errorf("manifest: template placeholder %s has no value", left)
	}
	// Re-indent so the output is canonical whatever the template's layout and the values' encoding.
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, []byte(out)); err != nil {
		return nil, fmt.Errorf("manifest: filled template is not valid JSON: %w", err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("manifest: indent: %w", err)
	}
	indented.WriteByte('\n')
	return indented.Bytes(), nil
}

// WriteZip writes the Teams app package for opts to w: manifest.json, color.png and outline.png at
// the zip root, with fixed timestamps so equal options give an identical zip.
func WriteZip(w io.Writer, opts Options) error {
	manifestJSON, err := Build(opts)
	if err != nil {
		return err
	}
	type entry struct {
		name string
		data []byte
	}
	entries := []entry{{templateFile, manifestJSON}}
	for _, name := range iconFiles {
		data, err := fs.ReadFile(appfiles.Files, name)
		if err != nil {
			return fmt.Errorf("manifest: read %s: %w", name, err)
		}
		entries = append(entries, entry{name, data})
	}

	zw := zip.NewWriter(w)
	for _, e := range entries {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: zipModified})
		if err != nil {
			return fmt.Errorf("manifest: zip %s: %w", e.name, err)
		}
		if _, err := f.Write(e.data); err != nil {
			return fmt.Errorf("manifest: zip %s: %w", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("manifest: finish zip: %w", err)
	}
	return nil
}
