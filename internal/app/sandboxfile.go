package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"guestpass/internal/sandbox"
)

// A running sandbox tenant advertises itself next to its state file, so that `bot guest` (and
// anything else on the machine) can find it without parsing logs: SANDBOX_STATE with the
// extension replaced by ".addr" holds its base URL (data/sandbox.addr for the default
// data/sandbox.json), and ".pem" its self-signed TLS certificate, which clients must trust
// instead of skipping verification.
const (
	endpointAddrExt = ".addr"
	endpointCertExt = ".pem"
)

// SandboxEndpointPaths returns the files a sandbox persisting to statePath advertises its URL
// and certificate in.
func SandboxEndpointPaths(statePath string) (addrFile, certFile string) {
	base := strings.TrimSuffix(statePath, filepath.Ext(statePath))
	return base + endpointAddrExt, base + endpointCertExt
}

// WriteSandboxEndpoint advertises sb (started) next to statePath and returns the address file.
func WriteSandboxEndpoint(statePath string, sb *sandbox.Sandbox) (string, error) {
	addrFile, certFile := SandboxEndpointPaths(statePath)
	if err := os.MkdirAll(filepath.Dir(addrFile), 0o755); err != nil {
		return "", fmt.Errorf("sandbox endpoint: %w", err)
	}
	// Certificate first: a reader that sees the new address must also find its certificate.
	if err := writeFileAtomic(certFile, sb.CertificatePEM()); err != nil {
		return "", fmt.Errorf("sandbox endpoint: %w", err)
	}
	if err := writeFileAtomic(addrFile, []byte(sb.BaseURL()+"\n")); err != nil {
		return "", fmt.Errorf("sandbox endpoint: %w", err)
	}
	return addrFile, nil
}

// RemoveSandboxEndpoint removes the address file if it still names baseURL (another sandbox may
// have started with the same state path since).
func RemoveSandboxEndpoint(statePath, baseURL string) error {
	addrFile, _ := SandboxEndpointPaths(statePath)
	b, err := os.ReadFile(addrFile)
	if err != nil || strings.TrimSpace(string(b)) != baseURL {
		return nil
	}
	if err := os.Remove(addrFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove sandbox endpoint: %w", err)
	}
	return nil
}

// SandboxEndpoint is how to reach a running sandbox tenant.
type SandboxEndpoint struct {
	// URL is the sandbox's https base URL.
	URL string
	// Client trusts only the sandbox's certificate.
	Client *http.Client
}

// FindSandbox locates the sandbox advertised next to statePath. baseURL, when set, overrides the
// advertised address (the certificate still comes from next to statePath).
func FindSandbox(statePath, baseURL string) (SandboxEndpoint, error) {
	addrFile, certFile := SandboxEndpointPaths(statePath)
	if baseURL == "" {
		b, err := os.ReadFile(addrFile)
		if errors.Is(err, os.ErrNotExist) {
			return SandboxEndpoint{}, fmt.Errorf("no running sandbox found: %s does not exist (start `bot` in local mode or `bot sandbox` with the same state file, or pass --sandbox)", addrFile)
		}
		if err != nil {
			return SandboxEndpoint{}, fmt.Errorf("read sandbox address: %w", err)
		}
		baseURL = strings.TrimSpace(string(b))
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return SandboxEndpoint{}, fmt.Errorf("sandbox URL %q is not an https URL", baseURL)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return SandboxEndpoint{}, fmt.Errorf("read the sandbox certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return SandboxEndpoint{}, fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	return SandboxEndpoint{
		URL: strings.TrimRight(u.String(), "/"),
		Client: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}},
		},
	}, nil
}

// RunSandbox serves a standalone sandbox tenant on addr, persisting to statePath and advertising
// itself next to it, until ctx ends (`bot sandbox`). ready, if set, receives its base URL.
func RunSandbox(ctx context.Context, addr, statePath string, log *slog.Logger, ready func(baseURL string)) error {
	sb, err := sandbox.New(sandbox.Options{StatePath: statePath, Logger: log})
	if err != nil {
		return fmt.Errorf("sandbox tenant: %w", err)
	}
	if err := sb.Start(addr); err != nil {
		return fmt.Errorf("sandbox tenant: %w", err)
	}
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return errors.Join(RemoveSandboxEndpoint(statePath, sb.BaseURL()), sb.Close(sctx))
	}
	endpoint, err := WriteSandboxEndpoint(statePath, sb)
	if err != nil {
		return errors.Join(err, shutdown())
	}
	log.Info("sandbox tenant listening", "sandbox_url", sb.BaseURL(), "graph_url", sb.GraphURL(),
		"tenant_id", sb.TenantID(), "state", statePath, "endpoint_file", endpoint)
	if ready != nil {
		ready(sb.BaseURL())
	}
	<-ctx.Done()
	return shutdown()
}

// writeFileAtomic replaces path with data so readers never see a partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
