package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

const (
	appID    = "11111111-2222-3333-4444-555555555555"
	tenantID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	otherID  = "99999999-8888-7777-6666-555555555555"
	// playgroundTenant is the Agents Playground's mock tenant id: 13 digits in the last group.
	playgroundTenant = "00000000-0000-0000-0000-0000000000001"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// prod returns a valid single-tenant environment with overrides applied; an empty override value
// removes the variable.
func prod(over map[string]string) map[string]string {
	m := map[string]string{
		"MicrosoftAppId":       appID,
		"MicrosoftAppPassword": "s3cr3t-value",
		"MicrosoftAppTenantId": tenantID,
	}
	for k, v := range over {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestLoadDefaults(t *testing.T) {
	t.Run("local mode", func(t *testing.T) {
		c, err := Load(envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"LocalMode", c.LocalMode(), true},
			{"AppType", c.AppType, AppType("")},
			{"Port", c.Port, 3978},
			{"BindAddress", c.BindAddress, "127.0.0.1"},
			{"ListenAddr", c.ListenAddr(), "127.0.0.1:3978"},
			{"DatabaseURL", c.DatabaseURL, "data/guestpass.db"},
			{"OpenIDMetadataURL", c.OpenIDMetadataURL, "https://login.botframework.com/v1/.well-known/openidconfiguration"},
			{"TokenIssuer", c.TokenIssuer, "https://api.botframework.com"},
			{"LogLevel", c.LogLevel, slog.LevelInfo},
			{"GraphMode", c.GraphMode, GraphSandbox},
			{"GraphBaseURL", c.GraphBaseURL, "https://graph.microsoft.com/v1.0"},
			{"SSOConnectionName", c.SSOConnectionName, DefaultSSOConnectionName},
			{"SSOResource", c.SSOResource, ""},
			{"ApprovalPollInterval", c.ApprovalPollInterval, 30 * time.Second},
			{"ApprovalRemindAfter", c.ApprovalRemindAfter, 24 * time.Hour},
			{"ApprovalEscalateAfter", c.ApprovalEscalateAfter, 48 * time.Hour},
			{"InviteDailyLimit", c.InviteDailyLimit, 100},
			{"SSORedirectURL", c.SSORedirectURL, "https://token.botframework.com/.auth/web/redirect"},
			{"OrganizationName", c.OrganizationName, ""},
			{"DialogTTL", c.DialogTTL, 24 * time.Hour},
			{"SandboxAddr", c.SandboxAddr, "127.0.0.1:0"},
			{"SandboxState", c.SandboxState, "data/sandbox.json"},
			{"ShutdownTimeout", c.ShutdownTimeout, 25 * time.Second},
			{"AllowedTenantIDs", len(c.AllowedTenantIDs), 0},
		}
		for _, ch := range checks {
			if ch.got != ch.want {
				t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
			}
		}
	})
	t.Run("single tenant", func(t *testing.T) {
		c, err := Load(envOf(prod(nil)))
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"LocalMode", c.LocalMode(), false},
			{"AppType", c.AppType, SingleTenant},
			{"BindAddress", c.BindAddress, "0.0.0.0"},
			{"GraphMode", c.GraphMode, GraphTenant},
			{"SSOAppID", c.SSOAppID, appID},
			{"SSOAppPassword", c.SSOAppPassword, "s3cr3t-value"},
			{"SSOResource", c.SSOResource, "api://botid-" + appID},
			{"AllowedTenantIDs", fmt.Sprint(c.AllowedTenantIDs), "[" + tenantID + "]"},
		}
		for _, ch := range checks {
			if ch.got != ch.want {
				t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
			}
		}
	})
}

func TestLoadValues(t *testing.T) {
	c, err := Load(envOf(prod(map[string]string{
		"MicrosoftAppType":        "multitenant",
		"MicrosoftAppTenantId":    tenantID,
		"PORT":                    "8080",
		"BIND_ADDRESS":            "::",
		"DATABASE_URL":            "postgres://bot:pw@db:5432/guestpass",
		"ALLOWED_TENANT_IDS":      " " + tenantID + " , ," + otherID,
		"LOG_LEVEL":               "DEBUG",
		"GRAPH_MODE":              "Sandbox",
		"SANDBOX_ADDR":            "127.0.0.1:4000",
		"SSO_APP_ID":              otherID,
		"SSO_APP_PASSWORD":        "sso-secret",
		"SSO_CONNECTION_NAME":     "conn",
		"SSO_RESOURCE":            "api://example.com/botid-x",
		"APPROVAL_POLL_INTERVAL":  "1m",
		"APPROVAL_REMIND_AFTER":   "4h",
		"APPROVAL_ESCALATE_AFTER": "12h",
		"INVITE_DAILY_LIMIT":      "25",
		"SSO_REDIRECT_URL":        "https://token.botframework.azure.us/.auth/web/redirect",
		"ORGANIZATION_NAME":       " Woodgrove Bank ",
		"DIALOG_TTL":              "2h",
		"EXPIRY_NOTICE":           "72h",
		"SHUTDOWN_TIMEOUT":        "5s",
		"AZURE_AUTHORITY_HOST":    "https://login.microsoftonline.us/",
		"GRAPH_BASE_URL":          "https://graph.microsoft.us/v1.0",
		"ADMIN_GROUP_ID":          "admins",
		"CATALOG_ID":              " catalog-guestpass ",
	})))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"AppType", c.AppType, MultiTenant},
		{"ListenAddr", c.ListenAddr(), "[::]:8080"},
		{"AllowedTenantIDs", fmt.Sprint(c.AllowedTenantIDs), "[" + tenantID + " " + otherID + "]"},
		{"LogLevel", c.LogLevel, slog.LevelDebug},
		{"GraphMode", c.GraphMode, GraphSandbox},
		{"SSOAppID", c.SSOAppID, otherID},
		{"SSOAppPassword", c.SSOAppPassword, "sso-secret"},
		{"SSOResource", c.SSOResource, "api://example.com/botid-x"},
		{"SSOConnectionName", c.SSOConnectionName, "conn"},
		{"ApprovalPollInterval", c.ApprovalPollInterval, time.Minute},
		{"ApprovalRemindAfter", c.ApprovalRemindAfter, 4 * time.Hour},
		{"ApprovalEscalateAfter", c.ApprovalEscalateAfter, 12 * time.Hour},
		{"InviteDailyLimit", c.InviteDailyLimit, 25},
		{"SSORedirectURL", c.SSORedirectURL, "https://token.botframework.azure.us/.auth/web/redirect"},
		{"OrganizationName", c.OrganizationName, "Woodgrove Bank"},
		{"DialogTTL", c.DialogTTL, 2 * time.Hour},
		{"ExpiryNotice", c.ExpiryNotice, 72 * time.Hour},
		{"ShutdownTimeout", c.ShutdownTimeout, 5 * time.Second},
		{"AdminGroupID", c.AdminGroupID, "admins"},
		{"CatalogID", c.CatalogID, "catalog-guestpass"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadAccepts(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"local with playground tenant ids", map[string]string{"ALLOWED_TENANT_IDS": playgroundTenant}},
		{"local on ::1", map[string]string{"BIND_ADDRESS": "::1"}},
		{"local on localhost", map[string]string{"BIND_ADDRESS": "localhost"}},
		{"local port 0", map[string]string{"PORT": "0"}},
		{"local sandbox fixed port", map[string]string{"SANDBOX_ADDR": "localhost:4100"}},
		{"local with sandbox group ids", map[string]string{"ADMIN_GROUP_ID": "group-admins", "SPONSOR_GROUP_ID": "group-sponsors"}},
		{"local http metadata on loopback", map[string]string{"BOT_OPENID_METADATA_URL": "http://127.0.0.1:9999/openid"}},
		{"single tenant with certificate", prod(map[string]string{"MicrosoftAppPassword": "", "MicrosoftAppCertificatePath": "/run/secrets/bot.pem"})},
		{"multi tenant without tenant in sandbox mode", prod(map[string]string{"MicrosoftAppType": "MultiTenant", "MicrosoftAppTenantId": "", "GRAPH_MODE": "sandbox"})},
		{"managed identity with separate sso app", prod(map[string]string{"MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppPassword": "", "SSO_APP_ID": otherID})},
		{"tenant group ids are GUIDs", prod(map[string]string{"ADMIN_GROUP_ID": otherID, "SPONSOR_GROUP_ID": tenantID})},
		{"restricted mode with a tenant catalog", prod(map[string]string{"CATALOG_ID": otherID})},
		{"sqlite url", map[string]string{"DATABASE_URL": "sqlite:///var/lib/guestpass/db.sqlite"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load(envOf(tt.env)); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
		wantMsg string
	}{
		// local mode
		{"local on all interfaces", map[string]string{"BIND_ADDRESS": "0.0.0.0"}, "BIND_ADDRESS", "refusing to serve unauthenticated on a non-loopback address"},
		{"local on a LAN address", map[string]string{"BIND_ADDRESS": "192.168.1.10"}, "BIND_ADDRESS", "refusing to serve unauthenticated"},
		{"local with tenant graph", map[string]string{"GRAPH_MODE": "tenant"}, "GRAPH_MODE", "needs MicrosoftAppId"},
		{"local with app type", map[string]string{"MicrosoftAppType": "SingleTenant"}, "MicrosoftAppType", "MicrosoftAppId is not"},
		{"local with password", map[string]string{"MicrosoftAppPassword": "x"}, "MicrosoftAppId", "is empty"},
		{"local odd tenant id", map[string]string{"ALLOWED_TENANT_IDS": "bad id"}, "ALLOWED_TENANT_IDS", "not a tenant id"},
		{"sandbox exposed", map[string]string{"SANDBOX_ADDR": "0.0.0.0:4000"}, "SANDBOX_ADDR", "not a loopback"},
		{"sandbox without port", map[string]string{"SANDBOX_ADDR": "127.0.0.1"}, "SANDBOX_ADDR", "host:port"},
		{"sandbox bad port", map[string]string{"SANDBOX_ADDR": "127.0.0.1:99999"}, "SANDBOX_ADDR", "no valid port"},
		// app identity
		{"app id not a guid", prod(map[string]string{"MicrosoftAppId": "my-bot"}), "MicrosoftAppId", "GUID"},
		{"unknown app type", prod(map[string]string{"MicrosoftAppType": "Personal"}), "MicrosoftAppType", "not SingleTenant"},
		{"single tenant without tenant", prod(map[string]string{"MicrosoftAppTenantId": ""}), "MicrosoftAppTenantId", "required for MicrosoftAppType=SingleTenant"},
		{"single tenant without password", prod(map[string]string{"MicrosoftAppPassword": ""}), "MicrosoftAppPassword", "required"},
		{"multi tenant without password", prod(map[string]string{"MicrosoftAppType": "MultiTenant", "MicrosoftAppPassword": ""}), "MicrosoftAppPassword", "required"},
		{"password and certificate", prod(map[string]string{"MicrosoftAppCertificatePath": "/x.pem"}), "MicrosoftAppPassword", "choose one"},
		{"multi tenant graph without tenant", prod(map[string]string{"MicrosoftAppType": "MultiTenant", "MicrosoftAppTenantId": ""}), "MicrosoftAppTenantId", "GRAPH_MODE=tenant"},
		{"tenant not a guid", prod(map[string]string{"MicrosoftAppTenantId": playgroundTenant}), "MicrosoftAppTenantId", "not a GUID"},
		{"managed identity with password", prod(map[string]string{"MicrosoftAppType": "UserAssignedMSI", "SSO_APP_ID": otherID}), "MicrosoftAppPassword", "must be empty"},
		{"managed identity without tenant", prod(map[string]string{"MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppPassword": "", "MicrosoftAppTenantId": "", "SSO_APP_ID": otherID}), "MicrosoftAppTenantId", "UserAssignedMSI"},
		{"managed identity without sso app", prod(map[string]string{"MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppPassword": ""}), "SSO_APP_ID", "managed identity cannot expose"},
		{"separate sso app without secret", prod(map[string]string{"SSO_APP_ID": otherID}), "SSO_APP_PASSWORD", "required"},
		{"sso app not a guid", prod(map[string]string{"SSO_APP_ID": "sso"}), "SSO_APP_ID", "not a GUID"},
		{"allowed tenant not a guid", prod(map[string]string{"ALLOWED_TENANT_IDS": tenantID + "," + playgroundTenant}), "ALLOWED_TENANT_IDS", "not a GUID"},
		{"admin group not a guid", prod(map[string]string{"ADMIN_GROUP_ID": "admins"}), "ADMIN_GROUP_ID", "group object id"},
		{"sponsor group not a guid", prod(map[string]string{"SPONSOR_GROUP_ID": "x"}), "SPONSOR_GROUP_ID", "group object id"},
		{"catalog not a guid", prod(map[string]string{"CATALOG_ID": "guestpass guest access"}), "CATALOG_ID", "not a catalog id"},
		{"sandbox catalog with a path", map[string]string{"CATALOG_ID": "../catalogs"}, "CATALOG_ID", "not a catalog id"},
		// parsing
		{"port not a number", map[string]string{"PORT": "http"}, "PORT", "not a port"},
		{"port too big", map[string]string{"PORT": "70000"}, "PORT", "not a port"},
		{"bind address a hostname", prod(map[string]string{"BIND_ADDRESS": "example.com"}), "BIND_ADDRESS", "not an IP"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL", "not debug"},
		{"bad graph mode", map[string]string{"GRAPH_MODE": "prod"}, "GRAPH_MODE", "not sandbox or tenant"},
		{"bad poll interval", map[string]string{"APPROVAL_POLL_INTERVAL": "30"}, "APPROVAL_POLL_INTERVAL", "Go duration"},
		{"too short poll interval", map[string]string{"APPROVAL_POLL_INTERVAL": "30ms"}, "APPROVAL_POLL_INTERVAL", "shorter than"},
		{"bad remind after", map[string]string{"APPROVAL_REMIND_AFTER": "daily"}, "APPROVAL_REMIND_AFTER", "Go duration"},
		{"negative remind after", map[string]string{"APPROVAL_REMIND_AFTER": "-1h"}, "APPROVAL_REMIND_AFTER", "not positive"},
		{"escalation before reminder", map[string]string{"APPROVAL_REMIND_AFTER": "24h", "APPROVAL_ESCALATE_AFTER": "12h"}, "APPROVAL_ESCALATE_AFTER", "not longer than APPROVAL_REMIND_AFTER"},
		{"escalation with reminder", map[string]string{"APPROVAL_ESCALATE_AFTER": "24h"}, "APPROVAL_ESCALATE_AFTER", "not longer"},
		{"bad escalate after", map[string]string{"APPROVAL_ESCALATE_AFTER": "2d"}, "APPROVAL_ESCALATE_AFTER", "Go duration"},
		{"invite limit not a number", map[string]string{"INVITE_DAILY_LIMIT": "many"}, "INVITE_DAILY_LIMIT", "not a number"},
		{"invite limit zero", map[string]string{"INVITE_DAILY_LIMIT": "0"}, "INVITE_DAILY_LIMIT", "from 1 to 10000"},
		{"invite limit huge", map[string]string{"INVITE_DAILY_LIMIT": "1000000"}, "INVITE_DAILY_LIMIT", "from 1 to 10000"},
		{"sso redirect over http", map[string]string{"SSO_REDIRECT_URL": "http://example.com/cb"}, "SSO_REDIRECT_URL", "must use https"},
		{"sso redirect relative", map[string]string{"SSO_REDIRECT_URL": "/cb"}, "SSO_REDIRECT_URL", "absolute"},
		{"bad dialog ttl", map[string]string{"DIALOG_TTL": "one day"}, "DIALOG_TTL", "Go duration"},
		{"negative dialog ttl", map[string]string{"DIALOG_TTL": "-1h"}, "DIALOG_TTL", "not positive"},
		{"negative expiry notice", map[string]string{"EXPIRY_NOTICE": "-1h"}, "EXPIRY_NOTICE", "not positive"},
		{"expiry notice over a year", map[string]string{"EXPIRY_NOTICE": "9000h"}, "EXPIRY_NOTICE", "at most"},
		{"bad shutdown timeout", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT", "Go duration"},
		{"negative shutdown timeout", map[string]string{"SHUTDOWN_TIMEOUT": "-5s"}, "SHUTDOWN_TIMEOUT", "not positive"},
		// URLs
		{"metadata over http", map[string]string{"BOT_OPENID_METADATA_URL": "http://login.example.com/openid"}, "BOT_OPENID_METADATA_URL", "must use https"},
		{"metadata relative", map[string]string{"BOT_OPENID_METADATA_URL": "/openid"}, "BOT_OPENID_METADATA_URL", "absolute"},
		{"graph url with credentials", map[string]string{"GRAPH_BASE_URL": "https://u:p@graph.example.com/v1.0"}, "GRAPH_BASE_URL", "credentials"},
		{"authority over http", map[string]string{"AZURE_AUTHORITY_HOST": "http://127.0.0.1:9000/"}, "AZURE_AUTHORITY_HOST", "must use https"},
		{"authority not a url", map[string]string{"AZURE_AUTHORITY_HOST": "login.microsoftonline.com"}, "AZURE_AUTHORITY_HOST", "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error = %v, want *config.Error", err)
			}
			if ce.Var != tt.wantVar {
				t.Errorf("Var = %q, want %q (error %q)", ce.Var, tt.wantVar, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans more than one line", err)
			}
		})
	}
}

func TestValidateHandBuilt(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.BindAddress = "0.0.0.0"
	if err := c.Validate(); err == nil {
		t.Fatal("Validate accepted a local-mode config on 0.0.0.0")
	}
}

func TestSecretsNeverRendered(t *testing.T) {
	c, err := Load(envOf(prod(map[string]string{
		"MicrosoftAppPassword": "bot-secret-1",
		"SSO_APP_ID":           otherID,
		"SSO_APP_PASSWORD":     "sso-secret-2",
		"DATABASE_URL":         "postgres://bot:db-secret-3@db:5432/guestpass?sslmode=require",
	})))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
	renderings := map[string]string{
		"String":   c.String(),
		"%v":       fmt.Sprintf("%v", c),
		"%+v":      fmt.Sprintf("%+v", c),
		"%#v":      fmt.Sprintf("%#v", c),
		"slog":     logged.String(),
		"pointer%": fmt.Sprintf("%v", &c),
	}
	for name, out := range renderings {
		for _, secret := range []string{"bot-secret-1", "sso-secret-2", "db-secret-3"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s rendering leaks %q: %s", name, secret, out)
			}
		}
		if !strings.Contains(out, appID) {
			t.Errorf("%s rendering lacks the app id (non-secret fields must stay visible): %s", name, out)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"data/guestpass.db", "data/guestpass.db"},
		{"sqlite:///var/db.sqlite", "sqlite:///var/db.sqlite"},
		{"postgres://bot:pw@db/guestpass", "postgres://bot:redacted@db/guestpass"},
		{"postgres://bot@db/guestpass", "postgres://bot@db/guestpass"},
		{"postgres://db/guestpass?password=pw&sslmode=disable", "postgres://db/guestpass?password=redacted&sslmode=disable"},
		{"host=db user=bot password=pw", "[redacted]"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsGUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{appID, true},
		{strings.ToUpper(tenantID), true},
		{playgroundTenant, false},
		{"00000000-0000-0000-0000-00000000000", false},
		{"0000000000000000000000000000000000000", false},
		{"g0000000-0000-0000-0000-000000000000", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsGUID(tt.in); got != tt.want {
			t.Errorf("IsGUID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestEnvExampleMatchesLoad keeps .env.example complete and loadable: every variable Load reads is
// documented there, and the file as shipped is a valid (local-mode) configuration.
func TestEnvExampleMatchesLoad(t *testing.T) {
	data, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	example := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env.example line %q is not NAME=value", line)
		}
		example[k] = v
	}
	read := map[string]bool{}
	if _, err := Load(func(k string) string { read[k] = true; return example[k] }); err != nil {
		t.Fatalf(".env.example does not load: %v", err)
	}
	for k := range read {
		if _, ok := example[k]; !ok {
			t.Errorf("Load reads %s but .env.example does not document it", k)
		}
	}
	for k := range example {
		if !read[k] {
			t.Errorf(".env.example documents %s but Load does not read it", k)
		}
	}
}
