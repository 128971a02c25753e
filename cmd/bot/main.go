// Command bot is guestpass: a Microsoft Teams bot that rolls out Microsoft Entra ID Governance
// access packages for guests.
//
//	bot [serve]                  serve the bot (configuration from the environment; see .env.example)
//	bot healthcheck [--url URL]  exit 0 iff URL (default http://127.0.0.1:$PORT/healthz) answers 200
//	                             within 3 s — the container health check, no shell needed
//
// The entry point stays thin: configuration → wiring (internal/app) → serve.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"guestpass/internal/app"
	"guestpass/internal/config"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed (start-up error, unhealthy)
	exitUsage = 2 // bad command line or configuration
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usage = `usage: bot [command] [flags]

commands:
  serve         serve the bot (default); configured through environment variables
  healthcheck   check a running bot: exit 0 iff /healthz answers 200 within 3s
                  --url URL   health URL (default http://127.0.0.1:$PORT/healthz)
  help          show this text
`

// run dispatches the subcommand and returns the process exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(args, getenv, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "bot: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

func serve(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
