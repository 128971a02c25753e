package manifest

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DefaultOut is where Command writes the app package unless --out says otherwise.
const DefaultOut = "dist/guestpass.zip"

// Command runs the "manifest" subcommand: it parses args (the arguments after "manifest"), builds the
// app package and writes it to --out, or prints the manifest JSON with --print. Flag errors and
// -h/--help print usage to stderr; -h returns flag.ErrHelp, which callers treat as success.
//
//	bot manifest --app-id <guid> [--sso-app-id <guid>] [--domain bot.example.com] [--out dist/guestpass.zip]
func Command(args []string, stdout, stderr io.Writer) error {
	var opts Options
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.BotAppID, "app-id", "", "bot Microsoft App ID: client id of the app registration or user-assigned managed identity (required)")
	fs.StringVar(&opts.TeamsAppID, "teams-app-id", "", "Teams app id in the catalog (default: --app-id)")
	fs.StringVar(&opts.SSOAppID, "sso-app-id", "", "app registration used for SSO; set it when the bot is a managed identity (default: --app-id)")
	fs.StringVar(&opts.SSOResource, "sso-resource", "", "Application ID URI of the SSO app (default: api://botid-<sso app id>)")
	fs.StringVar(&opts.Version, "version", DefaultVersion, "app package version MAJOR.MINOR.PATCH; raise it for every update")
	fs.Func("domain", "valid domain, usually the bot's public host such as bot.example.com (repeatable)", func(v string) error {
		opts.ValidDomains = append(opts.ValidDomains, v)
		return nil
	})
	fs.StringVar(&opts.DeveloperName, "developer-name", DefaultDeveloperName, "publisher name shown in Teams (at most 32 characters)")
	fs.StringVar(&opts.WebsiteURL, "website-url", DefaultWebsiteURL, "developer website (https)")
	fs.StringVar(&opts.PrivacyURL, "privacy-url", "", "privacy statement URL (default: <website-url>#privacy)")
	fs.StringVar(&opts.TermsURL, "terms-url", "", "terms of use URL (default: <website-url>#terms-of-use)")
	out := fs.String("out", DefaultOut, "path of the app package zip to write")
	printJSON := fs.Bool("print", false, "print the manifest JSON to stdout instead of writing the zip")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: bot manifest --app-id <guid> [flags]\n\nWrites the Teams app package (manifest.json, color.png, outline.png).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("manifest: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("manifest: unexpected argument %q (all options are flags)", fs.Arg(0))
	}

	if *printJSON {
		data, err := Build(opts)
		if err != nil {
			return err
		}
		if _, err := stdout.Write(data); err != nil {
			return fmt.Errorf("manifest: write stdout: %w", err)
		}
		return nil
	}
	if err := writeFile(*out, opts); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "wrote %s\n", *out)
	return err
}

// writeFile writes the package through a temporary file in the target directory and renames it into
// place, so a failed run never leaves a truncated zip where Teams admins would pick it up.
func writeFile(path string, opts Options) (err error) {
	// Validate before touching the file system so bad flags create no directories.
	if _, err := Build(opts); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("manifest: create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".guestpass-*.zip")
	if err != nil {
		return fmt.Errorf("manifest: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := WriteZip(tmp, opts); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("manifest: chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("manifest: write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("manifest: write %s: %w", path, err)
	}
	return nil
}
