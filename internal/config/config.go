// Package config loads guestpass's configuration from environment variables, fills in defaults and
// rejects invalid combinations at start-up with a one-line explanation.
//
// The Bot Framework's own variable names (MicrosoftAppId, MicrosoftAppPassword, MicrosoftAppType,
// MicrosoftAppTenantId) are used so that the settings an Azure Bot resource already has work
// unchanged. Without an app id the bot runs in local mode: unauthenticated, loopback only, against
// the built-in sandbox tenant; every rule below exists so that a misconfigured deployment fails to
// start instead of serving unauthenticated traffic or talking to the wrong tenant.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AppType is the Bot Framework app type (MicrosoftAppType).
type AppType string

// Bot app types, spelled as the Azure Bot resource spells them.
const (
	SingleTenant    AppType = "SingleTenant"
	MultiTenant     AppType = "MultiTenant"
	UserAssignedMSI AppType = "UserAssignedMSI"
)

// GraphMode selects the Microsoft Graph behind the bot.
type GraphMode string

// Graph modes.
const (
	// GraphSandbox runs the built-in sandbox tenant in-process and talks to it over HTTP.
	GraphSandbox GraphMode = "sandbox"
	// GraphTenant talks to a real Microsoft Graph (GRAPH_BASE_URL).
	GraphTenant GraphMode = "tenant"
)

// Defaults that other packages and the documentation refer to.
const (
	DefaultPort                 = 3978
	DefaultDatabaseURL          = "data/guestpass.db"
	DefaultOpenIDMetadataURL    = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	DefaultTokenIssuer          = "https://api.botframework.com"
	DefaultGraphBaseURL         = "https://graph.microsoft.com/v1.0"
	DefaultSSOConnectionName    = "guestpass-sso"
	DefaultApprovalPollInterval = 30 * time.Second
	DefaultApprovalRemindAfter  = 24 * time.Hour
	DefaultApprovalEscalate     = 48 * time.Hour
	DefaultInviteDailyLimit     = 100
	// DefaultExpiryNotice is how long before a guest's access ends their sponsor gets the expiry card.
	DefaultExpiryNotice = 7 * 24 * time.Hour
	// DefaultSSORedirectURL is the Bot Framework token service's reply URL, which Teams bot SSO
	// app registrations already list, so the consent fallback needs no extra registration step.
	DefaultSSORedirectURL  = "https://token.botframework.com/.auth/web/redirect"
	DefaultDialogTTL       = 24 * time.Hour
	DefaultSandboxAddr     = "127.0.0.1:0"
	DefaultSandboxState    = "data/sandbox.json"
	DefaultShutdownTimeout = 25 * time.Second

	// maxInviteDailyLimit bounds INVITE_DAILY_LIMIT: the limit exists to stop a compromised or
	// careless sponsor account from mass-mailing, which a huge value would defeat.
	maxInviteDailyLimit = 10000

	// maxExpiryNotice bounds EXPIRY_NOTICE at the longest access a scenario grants (365 days).
	maxExpiryNotice = 365 * 24 * time.Hour

	// minApprovalPollInterval keeps a typo ("30ms") from hammering Graph with pending-request polls.
	minApprovalPollInterval = time.Second
)

// Config is guestpass's complete configuration. Load returns it validated and with defaults
// applied; code that builds a Config by hand (tests) should call Validate.
type Config struct {
	// AppID is the bot's Entra application (client) id, or the managed identity's client id for
	// UserAssignedMSI. Empty selects local mode.
	AppID string
	// AppPassword is the client secret for SingleTenant/MultiTenant bots. Secret.
	AppPassword string
	// AppCertificatePath is a PEM or PKCS#12 file with the certificate and private key the bot
	// authenticates with instead of a secret.
	AppCertificatePath string
	// AppCertificatePassword decrypts AppCertificatePath when it is protected. Secret.
	AppCertificatePassword string
	// AppType is SingleTenant, MultiTenant or UserAssignedMSI (empty in local mode).
	AppType AppType
	// AppTenantID is the bot's home tenant: the authority for outbound tokens of single-tenant
	// bots and the tenant whose Graph the bot manages.
	AppTenantID string

	// Port and BindAddress form the HTTP listen address.
	Port        int
	BindAddress string
	// DatabaseURL selects the store: a file path or sqlite:// URL (SQLite) or postgres:// URL. It
	// may contain a password, so it is redacted when logged.
	DatabaseURL string
	// AllowedTenantIDs restricts the tenants whose activities are processed; empty allows all.
	AllowedTenantIDs []string

	// OpenIDMetadataURL and TokenIssuer describe the channel's token issuer (sovereign clouds
	// change both).
	OpenIDMetadataURL string
	TokenIssuer       string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level

	// GraphMode selects the sandbox tenant or a real Graph.
	GraphMode GraphMode
	// GraphBaseURL is Microsoft Graph's v1.0 root (national clouds differ).
	GraphBaseURL string
	// AuthorityHost overrides the Entra authority (AZURE_AUTHORITY_HOST); empty means the public
	// cloud's.
	AuthorityHost string

	// SSOAppID is the app registration that exposes the SSO API (api://botid-…) and performs
	// on-behalf-of. It defaults to AppID; a managed-identity bot needs a separate one.
	SSOAppID string
	// SSOAppPassword is SSOAppID's client secret (defaults to AppPassword when SSOAppID is the bot's
	// app id). Secret.
	SSOAppPassword string
	// SSOCertificatePath and SSOCertificatePassword are the SSO app's certificate credential.
	SSOCertificatePath     string
	SSOCertificatePassword string
	// SSOConnectionName is the connectionName sent in sign-in requests (Teams requires it to be
	// non-empty).
	SSOConnectionName string
	// SSOResource is the token exchange resource, api://botid-{SSOAppID} by default.
	SSOResource string
	// SSORedirectURL is the reply URL of the SSO app that the consent fallback (the sign-in button
	// shown when silent SSO fails) returns to.
	SSORedirectURL string

	// AdminGroupID and SponsorGroupID are the Entra groups whose members are admins and sponsors.
	AdminGroupID   string
	SponsorGroupID string
	// CatalogID selects restricted mode: scenarios go into this administrator-created catalog,
	// on which the bot's service principal holds a catalog-scoped role (Catalog owner), instead
	// of the shared catalog guestpass creates with tenant-wide permissions. Empty: full mode.
	CatalogID string

	// TeamsAppCatalogID turns on installing the bot's Teams app for approvers the bot cannot reach
	// (Graph, app-only, TeamsAppInstallation.ReadWriteSelfForUser.All): the app's id in the
	// tenant's Teams app catalog, i.e. the teamsApp id of
	// GET /appCatalogs/teamsApps?$filter=externalId eq '{manifest id}'. Empty turns it off.
	//
	// It is configured rather than looked up from the manifest id at start-up because that lookup
	// (the app catalog listing) is documented for delegated callers only and, app-only, would need
	// another permission (AppCatalog.Read.All) that tenants report as refused; an operator reads the
	// id once, when publishing the app to the organisation, and the id never changes afterwards.
	TeamsAppCatalogID string

	// ApprovalPollInterval is how often pending access-package requests are polled.
	ApprovalPollInterval time.Duration
	// ApprovalRemindAfter is how long a request waits before its approvers get one reminder;
	// ApprovalEscalateAfter how long before the sponsor and the admins are told.
	ApprovalRemindAfter   time.Duration
	ApprovalEscalateAfter time.Duration
	// InviteDailyLimit is how many guests one sponsor may invite in 24 hours.
	InviteDailyLimit int
	// ExpiryNotice is how long before a guest's assignment ends the sponsor gets the expiry card.
	ExpiryNotice time.Duration
	// OrganizationName names the inviting organisation in invitation mails and link cards
	// (empty: "your organisation"; the sandbox's demo name in sandbox mode).
	OrganizationName string
	// DialogTTL is how long an idle multi-turn dialog stays resumable.
	DialogTTL time.Duration

	// SandboxAddr is the loopback address the in-process sandbox tenant listens on (port 0 picks a
	// free one); SandboxState is the file its objects persist in.
	SandboxAddr  string
	SandboxState string

	// ShutdownTimeout bounds the drain of in-flight turns on SIGTERM.
	ShutdownTimeout time.Duration
}

// Error is a configuration error: the variable at fault and a one-line explanation.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string {
	if e.Var == "" {
		return "configuration: " + e.Reason
	}
	return "configuration: " + e.Var + ": " + e.Reason
}

// LocalMode reports whether no app id is configured: the bot accepts unauthenticated requests and
// only listens on loopback.
func (c Config) LocalMode() bool { return c.AppID == "" }

// ListenAddr is the address the HTTP server listens on.
func (c Config) ListenAddr() string {
	return net.JoinHostPort(c.BindAddress, strconv.Itoa(c.Port))
}

// Load reads the configuration through getenv (os.Getenv in production, a map in tests), applies
// defaults and validates it.
func Load(getenv func(string) string) (Config, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		AppID:                  env("MicrosoftAppId"),
		AppPassword:            getenv("MicrosoftAppPassword"), // secrets are taken verbatim
		AppCertificatePath:     env("MicrosoftAppCertificatePath"),
		AppCertificatePassword: getenv("MicrosoftAppCertificatePassword"),
		AppTenantID:            env("MicrosoftAppTenantId"),
		BindAddress:            env("BIND_ADDRESS"),
		DatabaseURL:            env("DATABASE_URL"),
		OpenIDMetadataURL:      env("BOT_OPENID_METADATA_URL"),
		TokenIssuer:            env("BOT_TOKEN_ISSUER"),
		GraphBaseURL:           env("GRAPH_BASE_URL"),
		AuthorityHost:          env("AZURE_AUTHORITY_HOST"),
		SSOAppID:               env("SSO_APP_ID"),
		SSOAppPassword:         getenv("SSO_APP_PASSWORD"),
		SSOCertificatePath:     env("SSO_APP_CERTIFICATE_PATH"),
		SSOCertificatePassword: getenv("SSO_APP_CERTIFICATE_PASSWORD"),
		SSOConnectionName:      env("SSO_CONNECTION_NAME"),
		SSOResource:            env("SSO_RESOURCE"),
		SSORedirectURL:         env("SSO_REDIRECT_URL"),
		OrganizationName:       env("ORGANIZATION_NAME"),
		AdminGroupID:           env("ADMIN_GROUP_ID"),
		SponsorGroupID:         env("SPONSOR_GROUP_ID"),
		TeamsAppCatalogID:      env("TEAMS_APP_CATALOG_ID"),
		CatalogID:              env("CATALOG_ID"),
		SandboxAddr:            env("SANDBOX_ADDR"),
		SandboxState:           env("SANDBOX_STATE"),
	}

	if v := env("MicrosoftAppType"); v != "" {
		t, err := parseAppType(v)
		if err != nil {
			return Config{}, err
		}
		c.AppType = t
	}
	if v := env("GRAPH_MODE"); v != "" {
		switch GraphMode(strings.ToLower(v)) {
		case GraphSandbox, GraphTenant:
			c.GraphMode = GraphMode(strings.ToLower(v))
		default:
			return Config{}, &Error{"GRAPH_MODE", fmt.Sprintf("%q is not sandbox or tenant", v)}
		}
	}
	if v := env("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return Config{}, &Error{"PORT", fmt.Sprintf("%q is not a port number (0-65535)", v)}
		}
		c.Port = p
	} else {
		c.Port = DefaultPort
	}
	if v := env("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, &Error{"LOG_LEVEL", fmt.Sprintf("%q is not debug, info, warn or error", v)}
		}
	}
	if v := env("INVITE_DAILY_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxInviteDailyLimit {
			return Config{}, &Error{"INVITE_DAILY_LIMIT", fmt.Sprintf("%q is not a number from 1 to %d", v, maxInviteDailyLimit)}
		}
		c.InviteDailyLimit = n
	}
	if v := env("ALLOWED_TENANT_IDS"); v != "" {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				c.AllowedTenantIDs = append(c.AllowedTenantIDs, id)
			}
		}
	}
	durations := []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"APPROVAL_POLL_INTERVAL", &c.ApprovalPollInterval, DefaultApprovalPollInterval},
		{"APPROVAL_REMIND_AFTER", &c.ApprovalRemindAfter, DefaultApprovalRemindAfter},
		{"APPROVAL_ESCALATE_AFTER", &c.ApprovalEscalateAfter, DefaultApprovalEscalate},
		{"DIALOG_TTL", &c.DialogTTL, DefaultDialogTTL},
		{"EXPIRY_NOTICE", &c.ExpiryNotice, DefaultExpiryNotice},
		{"SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, DefaultShutdownTimeout},
	}
	for _, d := range durations {
		v := env(d.name)
		if v == "" {
			*d.dst = d.def
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil {
			return Config{}, &Error{d.name, fmt.Sprintf("%q is not a Go duration such as 30s or 24h", v)}
		}
		*d.dst = dur
	}

	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func parseAppType(v string) (AppType, error) {
	for _, t := range []AppType{SingleTenant, MultiTenant, UserAssignedMSI} {
		if strings.EqualFold(v, string(t)) {
			return t, nil
		}
	}
	return "", &Error{"MicrosoftAppType", fmt.Sprintf("%q is not SingleTenant, MultiTenant or UserAssignedMSI", v)}
}

// applyDefaults fills every empty field whose default depends on other fields.
func (c *Config) applyDefaults() {
	local := c.LocalMode()
	if c.AppType == "" && !local {
		c.AppType = SingleTenant
	}
	if c.BindAddress == "" {
		if local {
			c.BindAddress = "127.0.0.1"
		} else {
			c.BindAddress = "0.0.0.0"
		}
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = DefaultDatabaseURL
	}
	if c.OpenIDMetadataURL == "" {
		c.OpenIDMetadataURL = DefaultOpenIDMetadataURL
	}
	if c.TokenIssuer == "" {
		c.TokenIssuer = DefaultTokenIssuer
	}
	if c.GraphMode == "" {
		if local {
			c.GraphMode = GraphSandbox
		} else {
			c.GraphMode = GraphTenant
		}
	}
	if c.GraphBaseURL == "" {
		c.GraphBaseURL = DefaultGraphBaseURL
	}
	// A managed identity cannot expose an API, so the SSO app only defaults to the bot's own
	// registration for secret/certificate bots.
	if c.SSOAppID == "" && c.AppType != UserAssignedMSI {
		c.SSOAppID = c.AppID
	}
	if c.SSOAppID != "" && c.SSOAppID == c.AppID && c.SSOAppPassword == "" && c.SSOCertificatePath == "" {
		c.SSOAppPassword = c.AppPassword
		c.SSOCertificatePath = c.AppCertificatePath
		c.SSOCertificatePassword = c.AppCertificatePassword
	}
	if c.SSOConnectionName == "" {
		c.SSOConnectionName = DefaultSSOConnectionName
	}
	if c.SSOResource == "" && c.SSOAppID != "" {
		c.SSOResource = "api://botid-" + c.SSOAppID
	}
	if c.SSORedirectURL == "" {
		c.SSORedirectURL = DefaultSSORedirectURL
	}
	// A single-tenant bot serves its own tenant only; restrict activities to it unless the
	// operator chose a list.
	if len(c.AllowedTenantIDs) == 0 && c.AppType == SingleTenant && c.AppTenantID != "" {
		c.AllowedTenantIDs = []string{c.AppTenantID}
	}
	if c.SandboxAddr == "" {
		c.SandboxAddr = DefaultSandboxAddr
	}
	if c.SandboxState == "" {
		c.SandboxState = DefaultSandboxState
	}
	if c.ApprovalPollInterval == 0 {
		c.ApprovalPollInterval = DefaultApprovalPollInterval
	}
	if c.ApprovalRemindAfter == 0 {
		c.ApprovalRemindAfter = DefaultApprovalRemindAfter
	}
	if c.ApprovalEscalateAfter == 0 {
		c.ApprovalEscalateAfter = DefaultApprovalEscalate
	}
	if c.InviteDailyLimit == 0 {
		c.InviteDailyLimit = DefaultInviteDailyLimit
	}
	if c.DialogTTL == 0 {
		c.DialogTTL = DefaultDialogTTL
	}
	if c.ExpiryNotice == 0 {
		c.ExpiryNotice = DefaultExpiryNotice
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
}

// Validate checks the rules that keep a deployment from starting in an unsafe or unworkable
// state. It returns an *Error naming the first variable at fault.
func (c Config) Validate() error {
	if c.LocalMode() {
		if err := c.validateLocal(); err != nil {
			return err
		}
	} else if err := c.validateApp(); err != nil {
		return err
	}
	return c.validateCommon()
}

func (c Config) validateLocal() error {
	if !isLoopback(c.BindAddress) {
		return &Error{"BIND_ADDRESS", fmt.Sprintf("%q is not a loopback address and MicrosoftAppId is not set: refusing to serve unauthenticated on a non-loopback address", c.BindAddress)}
	}
	if c.GraphMode == GraphTenant {
		return &Error{"GRAPH_MODE", "tenant needs MicrosoftAppId: local mode only runs against the sandbox tenant"}
	}
	if c.AppType != "" {
		return &Error{"MicrosoftAppType", "is set but MicrosoftAppId is not"}
	}
	if c.AppPassword != "" || c.AppCertificatePath != "" {
		return &Error{"MicrosoftAppId", "is empty but a MicrosoftAppPassword or certificate is set; set the app id or remove the credential"}
	}
	// The Agents Playground's mock tenant ids are not GUIDs; accept any plain identifier.
	for _, id := range c.AllowedTenantIDs {
		if !isPlainID(id) {
			return &Error{"ALLOWED_TENANT_IDS", fmt.Sprintf("%q is not a tenant id", id)}
		}
	}
	if c.AppTenantID != "" && !isPlainID(c.AppTenantID) {
		return &Error{"MicrosoftAppTenantId", fmt.Sprintf("%q is not a tenant id", c.AppTenantID)}
	}
	return nil
}

func (c Config) validateApp() error {
	if !IsGUID(c.AppID) {
		return &Error{"MicrosoftAppId", "must be the Entra application (client) id, a GUID"}
	}
	hasCert := c.AppCertificatePath != ""
	switch c.AppType {
	case SingleTenant, UserAssignedMSI:
		if c.AppTenantID == "" {
			return &Error{"MicrosoftAppTenantId", fmt.Sprintf("is required for MicrosoftAppType=%s", c.AppType)}
		}
	case MultiTenant:
		if c.GraphMode == GraphTenant && c.AppTenantID == "" {
			return &Error{"MicrosoftAppTenantId", "is required with GRAPH_MODE=tenant: it names the tenant whose Graph the bot manages"}
		}
	default:
		return &Error{"MicrosoftAppType", fmt.Sprintf("%q is not SingleTenant, MultiTenant or UserAssignedMSI", c.AppType)}
	}
	if c.AppTenantID != "" && !IsGUID(c.AppTenantID) {
		return &Error{"MicrosoftAppTenantId", fmt.Sprintf("%q is not a GUID", c.AppTenantID)}
	}
	switch c.AppType {
	case SingleTenant, MultiTenant:
		if c.AppPassword == "" && !hasCert {
			return &Error{"MicrosoftAppPassword", fmt.Sprintf("is required for MicrosoftAppType=%s (or set MicrosoftAppCertificatePath)", c.AppType)}
		}
		if c.AppPassword != "" && hasCert {
			return &Error{"MicrosoftAppPassword", "and MicrosoftAppCertificatePath are both set; choose one credential"}
		}
	case UserAssignedMSI:
		if c.AppPassword != "" || hasCert {
			return &Error{"MicrosoftAppPassword", "must be empty for MicrosoftAppType=UserAssignedMSI: the managed identity is the credential"}
		}
		if c.SSOAppID == "" {
			return &Error{"SSO_APP_ID", "is required for MicrosoftAppType=UserAssignedMSI: a managed identity cannot expose the API Teams SSO needs, so approvals use a separate app registration"}
		}
	}
	for _, id := range c.AllowedTenantIDs {
		if !IsGUID(id) {
			return &Error{"ALLOWED_TENANT_IDS", fmt.Sprintf("%q is not a GUID", id)}
		}
	}
	if c.SSOAppID != "" && !IsGUID(c.SSOAppID) {
		return &Error{"SSO_APP_ID", fmt.Sprintf("%q is not a GUID", c.SSOAppID)}
	}
	if c.SSOAppID != "" && c.SSOAppID != c.AppID && c.AppType != UserAssignedMSI &&
		c.SSOAppPassword == "" && c.SSOCertificatePath == "" {
		return &Error{"SSO_APP_PASSWORD", "is required when SSO_APP_ID names another app (or set SSO_APP_CERTIFICATE_PATH)"}
	}
	return nil
}

func (c Config) validateCommon() error {
	if c.Port < 0 || c.Port > 65535 {
		return &Error{"PORT", fmt.Sprintf("%d is not a port number (0-65535)", c.Port)}
	}
	if c.BindAddress != "localhost" && net.ParseIP(c.BindAddress) == nil {
		return &Error{"BIND_ADDRESS", fmt.Sprintf("%q is not an IP address", c.BindAddress)}
	}
	if c.DatabaseURL == "" {
		return &Error{"DATABASE_URL", "is empty"}
	}
	if err := checkURL("BOT_OPENID_METADATA_URL", c.OpenIDMetadataURL, false, true); err != nil {
		return err
	}
	if c.TokenIssuer == "" {
		return &Error{"BOT_TOKEN_ISSUER", "is empty"}
	}
	if err := checkURL("GRAPH_BASE_URL", c.GraphBaseURL, false, true); err != nil {
		return err
	}
	// azidentity only talks to an https authority, even on loopback.
	if err := checkURL("AZURE_AUTHORITY_HOST", c.AuthorityHost, true, false); err != nil {
		return err
	}
	if c.GraphMode != GraphSandbox && c.GraphMode != GraphTenant {
		return &Error{"GRAPH_MODE", fmt.Sprintf("%q is not sandbox or tenant", c.GraphMode)}
	}
	groupID := isPlainID
	if c.GraphMode == GraphTenant {
		groupID = IsGUID
	}
	if c.AdminGroupID != "" && !groupID(c.AdminGroupID) {
		return &Error{"ADMIN_GROUP_ID", fmt.Sprintf("%q is not a group object id", c.AdminGroupID)}
	}
	if c.SponsorGroupID != "" && !groupID(c.SponsorGroupID) {
		return &Error{"SPONSOR_GROUP_ID", fmt.Sprintf("%q is not a group object id", c.SponsorGroupID)}
	}
	// Catalog ids are Entra GUIDs in a tenant and plain ids in the sandbox, like group ids.
	if c.CatalogID != "" && !groupID(c.CatalogID) {
		return &Error{"CATALOG_ID", fmt.Sprintf("%q is not a catalog id", c.CatalogID)}
	}
	if err := c.validateTeamsAppCatalogID(groupID); err != nil {
		return err
	}
	if c.SSOConnectionName == "" {
		return &Error{"SSO_CONNECTION_NAME", "is empty"}
	}
	if c.ApprovalPollInterval < minApprovalPollInterval {
		return &Error{"APPROVAL_POLL_INTERVAL", fmt.Sprintf("%s is shorter than %s", c.ApprovalPollInterval, minApprovalPollInterval)}
	}
	if c.ApprovalRemindAfter <= 0 {
		return &Error{"APPROVAL_REMIND_AFTER", fmt.Sprintf("%s is not positive", c.ApprovalRemindAfter)}
	}
	// Escalation tells admins that approvers did not act even after the reminder, so it must come
	// after it.
	if c.ApprovalEscalateAfter <= c.ApprovalRemindAfter {
		return &Error{"APPROVAL_ESCALATE_AFTER", fmt.Sprintf("%s is not longer than APPROVAL_REMIND_AFTER (%s)", c.ApprovalEscalateAfter, c.ApprovalRemindAfter)}
	}
	if c.InviteDailyLimit < 1 || c.InviteDailyLimit > maxInviteDailyLimit {
		return &Error{"INVITE_DAILY_LIMIT", fmt.Sprintf("%d is not from 1 to %d", c.InviteDailyLimit, maxInviteDailyLimit)}
	}
	if c.ExpiryNotice <= 0 || c.ExpiryNotice > maxExpiryNotice {
		return &Error{"EXPIRY_NOTICE", fmt.Sprintf("%s is not positive and at most %s", c.ExpiryNotice, maxExpiryNotice)}
	}
	if err := checkURL("SSO_REDIRECT_URL", c.SSORedirectURL, false, true); err != nil {
		return err
	}
	if c.DialogTTL <= 0 {
		return &Error{"DIALOG_TTL", fmt.Sprintf("%s is not positive", c.DialogTTL)}
	}
	if c.ShutdownTimeout <= 0 {
		return &Error{"SHUTDOWN_TIMEOUT", fmt.Sprintf("%s is not positive", c.ShutdownTimeout)}
	}
	if c.GraphMode == GraphSandbox {
		host, port, err := net.SplitHostPort(c.SandboxAddr)
		if err != nil {
			return &Error{"SANDBOX_ADDR", fmt.Sprintf("%q is not host:port", c.SandboxAddr)}
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return &Error{"SANDBOX_ADDR", fmt.Sprintf("%q has no valid port", c.SandboxAddr)}
		}
		// The sandbox issues tokens to whoever asks; it must never be reachable from outside.
		if !isLoopback(host) {
			return &Error{"SANDBOX_ADDR", fmt.Sprintf("%q is not a loopback address: the sandbox tenant issues tokens to anyone who can reach it", c.SandboxAddr)}
		}
		if c.SandboxState == "" {
			return &Error{"SANDBOX_STATE", "is empty"}
		}
	}
	return nil
}

// validateTeamsAppCatalogID checks TEAMS_APP_CATALOG_ID with id, the id rule of the Graph mode
// (GUIDs in a tenant, plain ids in the sandbox).
func (c Config) validateTeamsAppCatalogID(id func(string) bool) error {
	if c.TeamsAppCatalogID == "" {
		return nil
	}
	if !id(c.TeamsAppCatalogID) {
		return &Error{"TEAMS_APP_CATALOG_ID", fmt.Sprintf("%q is not a Teams app catalog id", c.TeamsAppCatalogID)}
	}
	// The catalog generates its own id for an organisation's app; the manifest id (by default the
	// bot's app id) is only the app's externalId, and installing with it fails for every user.
	if c.AppID != "" && strings.EqualFold(c.TeamsAppCatalogID, c.AppID) {
		return &Error{"TEAMS_APP_CATALOG_ID", "is the bot's app id (the manifest id); set the id the Teams app catalog gave the app: " +
			"GET https://graph.microsoft.com/v1.0/appCatalogs/teamsApps?$filter=externalId eq '<manifest id>' (signed in as an admin)"}
	}
	return nil
}

// checkURL requires an absolute https URL; with loopbackHTTP, plain http is allowed for loopback
// hosts (local fakes and tests).
func checkURL(name, raw string, optional, loopbackHTTP bool) error {
	if raw == "" {
		if optional {
			return nil
		}
		return &Error{name, "is empty"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return &Error{name, fmt.Sprintf("%q is not an absolute http(s) URL", raw)}
	}
	if u.User != nil {
		return &Error{name, "must not contain credentials"}
	}
	if u.Scheme == "http" && !(loopbackHTTP && isLoopback(u.Hostname())) {
		if loopbackHTTP {
			return &Error{name, fmt.Sprintf("%q must use https (plain http is only allowed for loopback hosts)", raw)}
		}
		return &Error{name, fmt.Sprintf("%q must use https", raw)}
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsGUID reports whether s is a GUID in the 8-4-4-4-12 hexadecimal form Entra uses for ids.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// isPlainID accepts the loose ids local mode sees (the Playground's over-long GUIDs, sandbox ids):
// 1-128 characters of letters, digits, '-', '_', '.', ':'.
func isPlainID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			r == '-' || r == '_' || r == '.' || r == ':') {
			return false
		}
	}
	return true
}

// LogValue renders the configuration for logs with every secret redacted; it implements
// slog.LogValuer so that logging a Config can never leak a credential.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("local_mode", c.LocalMode()),
		slog.String("app_id", c.AppID),
		slog.String("app_password", redact(c.AppPassword)),
		slog.String("app_certificate_path", c.AppCertificatePath),
		slog.String("app_certificate_password", redact(c.AppCertificatePassword)),
		slog.String("app_type", string(c.AppType)),
		slog.String("app_tenant_id", c.AppTenantID),
		slog.String("listen_addr", c.ListenAddr()),
		slog.String("database_url", RedactURL(c.DatabaseURL)),
		slog.Any("allowed_tenant_ids", c.AllowedTenantIDs),
		slog.String("openid_metadata_url", c.OpenIDMetadataURL),
		slog.String("token_issuer", c.TokenIssuer),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("graph_mode", string(c.GraphMode)),
		slog.String("graph_base_url", c.GraphBaseURL),
		slog.String("authority_host", c.AuthorityHost),
		slog.String("sso_app_id", c.SSOAppID),
		slog.String("sso_app_password", redact(c.SSOAppPassword)),
		slog.String("sso_certificate_path", c.SSOCertificatePath),
		slog.String("sso_certificate_password", redact(c.SSOCertificatePassword)),
		slog.String("sso_connection_name", c.SSOConnectionName),
		slog.String("sso_resource", c.SSOResource),
		slog.String("sso_redirect_url", c.SSORedirectURL),
		slog.String("organization_name", c.OrganizationName),
		slog.String("admin_group_id", c.AdminGroupID),
		slog.String("sponsor_group_id", c.SponsorGroupID),
		slog.String("teams_app_catalog_id", c.TeamsAppCatalogID),
		slog.String("catalog_id", c.CatalogID),
		slog.Duration("approval_poll_interval", c.ApprovalPollInterval),
		slog.Duration("approval_remind_after", c.ApprovalRemindAfter),
		slog.Duration("approval_escalate_after", c.ApprovalEscalateAfter),
		slog.Int("invite_daily_limit", c.InviteDailyLimit),
		slog.Duration("expiry_notice", c.ExpiryNotice),
		slog.Duration("dialog_ttl", c.DialogTTL),
		slog.String("sandbox_addr", c.SandboxAddr),
		slog.String("sandbox_state", c.SandboxState),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	)
}

// String renders the configuration with secrets redacted, so fmt.Print and %v are safe too.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("config{")
	for i, a := range c.LogValue().Group() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(a.Value.String())
	}
	b.WriteByte('}')
	return b.String()
}

// GoString keeps %#v from printing the raw struct, secrets included.
func (c Config) GoString() string { return c.String() }

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}

// RedactURL hides the password of a URL (a PostgreSQL DATABASE_URL may carry one); strings that
// are not URLs with user info are returned unchanged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// An unparsable value may still embed a password; show only that it was set.
		if strings.Contains(raw, "@") {
			return "[redacted]"
		}
		return raw
	}
	if u.User == nil {
		if u.Scheme == "" && strings.Contains(strings.ToLower(raw), "password") {
			// A postgres key=value DSN is not a URL but may carry password=….
			return "[redacted]"
		}
		if redactQueryPassword(u) {
			return u.String()
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	redactQueryPassword(u)
	return u.String()
}

// redactQueryPassword replaces a password query parameter (libpq accepts ?password=…) and reports
// whether it did.
func redactQueryPassword(u *url.URL) bool {
	q := u.Query()
	found := false
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "redacted")
			found = true
		}
	}
	if found {
		u.RawQuery = q.Encode()
	}
	return found
}
