// Package teamsapp installs guestpass's Teams app in a user's personal scope through Microsoft
// Graph, so the bot can open a 1:1 chat with someone who never added it: Teams creates a
// conversation with a user (by Entra object id) only when the user has the bot's app.
//
// The installation is app-only (POST /users/{id}/teamwork/installedApps) and needs the Graph
// application permission TeamsAppInstallation.ReadWriteSelfForUser.All, which lets the app install
// itself and nothing else (the manifest's webApplicationInfo must name the bot's app registration,
// as guestpass's package does). Graph answers 201 on a new installation and 409 when the app is
// installed already; both mean the app is there.
package teamsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/graph"
)

// Permission is the least-privileged Graph application permission InstallForUser needs.
const Permission = "TeamsAppInstallation.ReadWriteSelfForUser.All"

// opInstall names the Graph operation in errors, logs and call counts.
const opInstall = "install the Teams app for a user"

// Options configure New.
type Options struct {
	// Graph is an app-only Graph client.
	Graph *msgraphsdk.GraphServiceClient
	// CatalogID is the app's id in the tenant's Teams app catalog (TEAMS_APP_CATALOG_ID): the
	// teamsApp id Graph generated when the package was published to the organisation, not the
	// manifest id.
	CatalogID string
	// Logger receives one line per installation (user oid, never tokens). Default slog.Default.
	Logger *slog.Logger
}

// Installer installs the bot's Teams app for users. Build it with New; safe for concurrent use.
type Installer struct {
	graph     *msgraphsdk.GraphServiceClient
	catalogID string
	log       *slog.Logger
}

// New validates o and returns an Installer.
func New(o Options) (*Installer, error) {
	switch {
	case o.Graph == nil:
		return nil, errors.New("teamsapp: Graph is required")
	case strings.TrimSpace(o.CatalogID) == "":
		return nil, errors.New("teamsapp: CatalogID is required")
	case strings.ContainsAny(o.CatalogID, "/?#% \t\r\n"):
		return nil, fmt.Errorf("teamsapp: CatalogID %q is not a Teams app catalog id", o.CatalogID)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Installer{graph: o.Graph, catalogID: o.CatalogID, log: o.Logger.With("component", "teamsapp")}, nil
}

// Error is a failed installation. It keeps Graph's error and says what an admin can do about it.
type Error struct {
	// UserOID is the user the app was to be installed for.
	UserOID string
	// Status is Graph's HTTP status (0 when Graph was not reached).
	Status int
	// Permanent is true when repeating the call cannot help until an admin changes something
	// (permission, catalog id, the user): a 4xx other than 408 and 429. Throttling, outages and
	// network errors are not permanent.
	Permanent bool
	// Hint tells an admin what to check; empty when there is nothing specific to say.
	Hint string
	// Err is the underlying error (a *graph.Error when Graph answered).
	Err error
}

// Error implements error: "the app could not be installed for the user: 403 Forbidden: … — hint".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("the app could not be installed for the user")
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(" — " + e.Hint)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// InstallForUser installs the app in the personal scope of the user with Entra object id userOID.
// It reports whether this call installed it (false: it was installed already, Graph's 409); a
// failure is an *Error. Installing is idempotent, so callers may simply call it again.
func (i *Installer) InstallForUser(ctx context.Context, userOID string) (bool, error) {
	if strings.TrimSpace(userOID) == "" {
		return false, &Error{Permanent: true, Err: errors.New("no user object id")}
	}
	body := models.NewUserScopeTeamsAppInstallation()
	body.SetAdditionalData(map[string]any{"teamsApp@odata.bind": i.bindURL()})
	ctx = graph.WithOperation(ctx, opInstall)
	// The SDK escapes the user id into the path; Graph answers 201 without a body.
	_, err := i.graph.Users().ByUserId(userOID).Teamwork().InstalledApps().Post(ctx, body, nil)
	switch {
	case err == nil:
		i.log.Info("installed the Teams app for a user", "user_oid", userOID)
		return true, nil
	case graph.IsConflict(err):
		i.log.Debug("the Teams app is installed for the user already", "user_oid", userOID)
		return false, nil
	}
	e := &Error{UserOID: userOID, Err: graph.Wrap(opInstall, err)}
	if ge, ok := graph.AsError(err); ok {
		e.Status = ge.Status
		e.Permanent = ge.Status >= 400 && ge.Status < 500 && ge.Status != http.StatusTooManyRequests && ge.Status != http.StatusRequestTimeout
	}
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Hint = "grant the bot's app the Microsoft Graph application permission " + Permission + " (with admin consent)"
	case http.StatusNotFound:
		e.Hint = fmt.Sprintf("check that TEAMS_APP_CATALOG_ID (%s) is the app's id in the organisation's Teams app catalog and that the user exists", i.catalogID)
	case http.StatusBadRequest:
		e.Hint = "check TEAMS_APP_CATALOG_ID and that the app package's webApplicationInfo names the bot's app"
	}
	i.log.Warn("installing the Teams app for a user failed", "user_oid", userOID, "status", e.Status, "permanent", e.Permanent, "error", e.Err)
	return false, e
}

// bindURL is the catalog app's Graph URL, on the client's own Graph root so national clouds and
// the sandbox bind to themselves.
func (i *Installer) bindURL() string {
	base := strings.TrimSuffix(i.graph.GetAdapter().GetBaseUrl(), "/")
	if base == "" {
		base = "https://graph.microsoft.com/v1.0"
	}
	return base + "/appCatalogs/teamsApps/" + url.PathEscape(i.catalogID)
}
