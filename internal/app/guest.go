package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"

	"guestpass/internal/config"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
)

// GuestOptions is one access request made from the guest's side in a local sandbox
// (`bot guest`): what a guest would do in My Access after following a sponsor's link.
type GuestOptions struct {
	// Email is the guest's address; a guest not yet in the sandbox directory is created.
	Email string
	// Package is an access package id or the name of a guestpass scenario (looked up in the
	// store at DatabaseURL).
	Package       string
	Justification string
	// StatePath locates the running sandbox's advertised address and certificate; SandboxURL
	// overrides the address.
	StatePath  string
	SandboxURL string
	// DatabaseURL is the bot's store, for scenario names.
	DatabaseURL string
}

// GuestResult is the submitted request as the sandbox answered it.
type GuestResult struct {
	RequestID       string `json:"id"`
	State           string `json:"state"`
	Status          string `json:"status"`
	AccessPackageID string `json:"-"`
}

// SubmitGuestRequest submits o through the sandbox's guest-request control endpoint.
func SubmitGuestRequest(ctx context.Context, o GuestOptions) (GuestResult, error) {
	addr, err := mail.ParseAddress(o.Email)
	if err != nil || addr.Address != strings.TrimSpace(o.Email) {
		return GuestResult{}, fmt.Errorf("--email %q is not an email address", o.Email)
	}
	if strings.TrimSpace(o.Package) == "" {
		return GuestResult{}, errors.New("--package is required: an access package id or a scenario name")
	}
	ep, err := FindSandbox(o.StatePath, o.SandboxURL)
	if err != nil {
		return GuestResult{}, err
	}
	pkgID, err := resolvePackage(ctx, o.DatabaseURL, strings.TrimSpace(o.Package))
	if err != nil {
		return GuestResult{}, err
	}
	body, err := json.Marshal(sandbox.GuestRequest{GuestEmail: addr.Address, AccessPackageID: pkgID, Justification: o.Justification})
	if err != nil {
		return GuestResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL+"/sandbox/guest-requests", bytes.NewReader(body))
	if err != nil {
		return GuestResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ep.Client.Do(req)
	if err != nil {
		return GuestResult{}, fmt.Errorf("sandbox at %s: %w", ep.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return GuestResult{}, fmt.Errorf("sandbox at %s: %w", ep.URL, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
			return GuestResult{}, fmt.Errorf("the sandbox refused the request (%d %s): %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return GuestResult{}, fmt.Errorf("the sandbox answered %d", resp.StatusCode)
	}
	var res GuestResult
	if err := json.Unmarshal(raw, &res); err != nil || res.RequestID == "" {
		return GuestResult{}, fmt.Errorf("the sandbox answered an unexpected body")
	}
	res.AccessPackageID = pkgID
	return res, nil
}

// resolvePackage returns pkg when it is an access package id, else the access package of the
// active scenario named pkg in the sandbox tenant.
func resolvePackage(ctx context.Context, databaseURL, pkg string) (string, error) {
	if config.IsGUID(pkg) {
		return pkg, nil
	}
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return "", fmt.Errorf("open the store to look up scenario %q: %w", pkg, err)
	}
	defer st.Close()
	rec, err := st.ScenarioByName(ctx, sandbox.TenantID, pkg)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no scenario named %q in %s (pass an access package id instead)", pkg, config.RedactURL(databaseURL))
	}
	if err != nil {
		return "", fmt.Errorf("look up scenario %q: %w", pkg, err)
	}
	if rec.AccessPackageID == "" {
		return "", fmt.Errorf("scenario %q has no access package yet (state %s)", pkg, rec.State)
	}
	return rec.AccessPackageID, nil
}
