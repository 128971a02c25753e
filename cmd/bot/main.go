// Command bot is guestpass: a Microsoft Teams bot that rolls out Microsoft Entra ID Governance
// access packages for guests. `bot help` lists the subcommands (serve, sandbox, guest, manifest,
// healthcheck).
//
// The entry point stays thin: flags and configuration → wiring (internal/app) → run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"guestpass/internal/app"
	"guestpass/internal/config"
	"guestpass/internal/manifest"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed (start-up error, unhealthy)
	exitUsage = 2 // bad command line or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: bot [command] [flags]

commands:
  serve         serve the bot (default); configured through environment variables (.env.example).
                Without MicrosoftAppId it runs in local mode for the Agents Playground, with the
                sandbox tenant in-process; the sandbox's URL is logged and written to
                $SANDBOX_STATE with .addr for .json (default data/sandbox.addr), its TLS
                certificate beside it (data/sandbox.pem).
  sandbox       run the sandbox tenant on its own
                  --addr HOST:PORT   loopback address (default 127.0.0.1:8443)
                  --state FILE       state file (default $SANDBOX_STATE or data/sandbox.json)
  guest         play the guest's side in a running local sandbox: request an access package as
                the guest would in My Access, so the bot's approval flow starts
                  --email ADDRESS    the guest, e.g. guest@contoso.com (required)
                  --package ID|NAME  access package id, or a scenario name (required)
                  --justification TEXT
                  --sandbox URL      sandbox base URL (default: read from the .addr file)
                  --state FILE       the sandbox's state file, to find .addr and .pem
                                     (default $SANDBOX_STATE or data/sandbox.json)
                Scenario names are looked up in $DATABASE_URL (default data/guestpass.db).
  manifest      write the Teams app package zip
                  --app-id GUID      the bot's Microsoft App ID (required)
                  --out FILE         default dist/guestpass.zip; bot manifest -h lists every flag
  healthcheck   check a running bot: exit 0 iff /healthz answers 200 within 3s
                  --url URL          health URL (default http://127.0.0.1:$PORT/healthz)
  help          show this text
`

// run dispatches the subcommand and returns the process exit code. ctx ends on SIGINT/SIGTERM.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "-h" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "sandbox":
		return runSandbox(ctx, args, getenv, stdout, stderr)
	case "guest":
		return guest(ctx, args, getenv, stdout, stderr)
	case "manifest":
		return manifestCmd(args, stdout, stderr)
	case "healthcheck":
		return healthcheck(args, getenv, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "bot: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bot serve: unexpected arguments %q (configuration comes from environment variables)\n", fs.Args())
		return exitUsage
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "bot: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(log)

	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("start-up failed", "error", err)
		return exitError
	}
	if err := a.Run(ctx); err != nil {
		log.Error("stopped with an error", "error", err)
		return exitError
	}
	return exitOK
}

// healthcheckTimeout is the whole budget of `bot healthcheck`, below the container check's 5 s.
const healthcheckTimeout = 3 * time.Second

func healthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	port := getenv("PORT")
	if port == "" {
		port = fmt.Sprint(config.DefaultPort)
	}
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:"+port+"/healthz", "health endpoint to check")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "bot healthcheck: %v\n", err)
		return exitUsage
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(stderr, "bot healthcheck: no answer from %s within %s\n", *url, healthcheckTimeout)
		} else {
			fmt.Fprintf(stderr, "bot healthcheck: %v\n", err)
		}
		return exitError
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "bot healthcheck: %s answered %d\n", *url, resp.StatusCode)
		return exitError
	}
	return exitOK
}

// sandboxState is the state file the sandbox and guest commands default to: the one `bot serve`
// uses, so they find each other without flags.
func sandboxState(getenv func(string) string) string {
	if v := strings.TrimSpace(getenv("SANDBOX_STATE")); v != "" {
		return v
	}
	return config.DefaultSandboxState
}

// defaultStandaloneSandboxAddr is a fixed port, unlike serve's in-process sandbox, so other
// processes can be configured with the sandbox's URL once.
const defaultStandaloneSandboxAddr = "127.0.0.1:8443"

func runSandbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultStandaloneSandboxAddr, "loopback address to listen on")
	state := fs.String("state", sandboxState(getenv), "state file the sandbox's objects persist in")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	// The sandbox issues tokens to whoever asks; the same rule as SANDBOX_ADDR applies.
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		fmt.Fprintf(stderr, "bot sandbox: --addr %q is not a loopback host:port: the sandbox tenant issues tokens to anyone who can reach it\n", *addr)
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	if err := app.RunSandbox(ctx, *addr, *state, log, nil); err != nil {
		log.Error("sandbox stopped with an error", "error", err)
		return exitError
	}
	return exitOK
}

// guestTimeout bounds `bot guest`: one local request.
const guestTimeout = 30 * time.Second

func guest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("guest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o app.GuestOptions
	fs.StringVar(&o.Email, "email", "", "the guest's email address (required)")
	fs.StringVar(&o.Package, "package", "", "access package id or scenario name (required)")
	fs.StringVar(&o.Justification, "justification", "", "the guest's justification")
	fs.StringVar(&o.SandboxURL, "sandbox", "", "sandbox base URL (default: read from the state file's .addr)")
	fs.StringVar(&o.StatePath, "state", sandboxState(getenv), "the sandbox's state file")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if o.Email == "" || o.Package == "" {
		fmt.Fprintln(stderr, "bot guest: --email and --package are required")
		return exitUsage
	}
	o.DatabaseURL = strings.TrimSpace(getenv("DATABASE_URL"))
	if o.DatabaseURL == "" {
		o.DatabaseURL = config.DefaultDatabaseURL
	}
	ctx, cancel := context.WithTimeout(ctx, guestTimeout)
	defer cancel()
	res, err := app.SubmitGuestRequest(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "bot guest: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "request %s for access package %s: %s (%s)\n", res.RequestID, res.AccessPackageID, res.State, res.Status)
	return exitOK
}

func manifestCmd(args []string, stdout, stderr io.Writer) int {
	err := manifest.Command(args, stdout, stderr)
	var oe *manifest.OptionError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &oe):
		fmt.Fprintf(stderr, "bot %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "bot %v\n", err)
		return exitError
	}
}

// parseFlags parses args into fs, refusing positional arguments. ok is false when the command
// must stop with code (0 for -h).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bot %s: unexpected arguments %q (all options are flags)\n", fs.Name(), fs.Args())
		return exitUsage, false
	}
	return 0, true
}
