// Package credentials builds every azidentity credential guestpass uses — the outbound Bot Connector
// token, app-only Microsoft Graph, and on-behalf-of Graph for a signed-in user — in one place, so
// that all of them honour the same authority host, HTTP transport and instance-discovery rule.
//
// The rule that motivates the package: MSAL asks the public cloud's instance-discovery endpoint
// about any authority it does not recognise. Against a sovereign or private authority (the sandbox's
// fake Entra, Azure Stack) that request fails or leaks the authority to the public cloud, so
// discovery is switched off whenever the authority host is not one of the three public clouds'.
package credentials

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// AppType is the Bot Framework app type (MicrosoftAppType).
type AppType string

// Bot Framework app types.
const (
	// SingleTenant apps get connector tokens from their own tenant.
	SingleTenant AppType = "SingleTenant"
	// MultiTenant apps get connector tokens from the Bot Framework tenant.
	MultiTenant AppType = "MultiTenant"
	// UserAssignedMSI bots authenticate as a user-assigned managed identity whose client id is
	// the app id.
	UserAssignedMSI AppType = "UserAssignedMSI"
)

// Bot Framework channel-auth tenants, used by MultiTenant apps for connector tokens.
const (
	botFrameworkTenant    = "botframework.com"
	botFrameworkGovTenant = "MicrosoftServices.onmicrosoft.us"
)

// envAuthorityHost is the variable azidentity itself reads; Config falls back to it so that a
// Config built without the config package still disables discovery for a private authority.
const envAuthorityHost = "AZURE_AUTHORITY_HOST"

// Config describes one app registration's credentials. Wiring builds one per registration (the
// bot's, and the SSO app's when it differs).
type Config struct {
	// AppID is the app registration's client id (or the managed identity's client id for
	// UserAssignedMSI).
	AppID   string
	AppType AppType
	// TenantID is the directory the app authenticates in. For OnBehalfOf it must be the signed-in
	// user's tenant (the validated SSO token's tid).
	TenantID string
	// ClientSecret is the app password. Never logged.
	ClientSecret string
	// CertificatePath is a PEM or PKCS#12 file holding the certificate and its private key.
	CertificatePath     string
	CertificatePassword string
	// FederatedManagedIdentityClientID is the client id of a user-assigned managed identity that
	// the app registration trusts through a federated identity credential. When set (and there is
	// neither secret nor certificate), the identity's token is the app's client assertion — how a
	// managed-identity bot's separate SSO app does on-behalf-of without a stored secret.
	FederatedManagedIdentityClientID string
	// AuthorityHost is the Entra authority, e.g. https://login.microsoftonline.us/. Empty means
	// AZURE_AUTHORITY_HOST, else the public cloud.
	AuthorityHost string
	// HTTPClient carries token requests; nil uses azcore's default transport. The sandbox passes
	// a client that trusts its self-signed certificate.
	HTTPClient *http.Client
}

// ErrNoCredential reports a Config that names no way to authenticate.
var ErrNoCredential = errors.New("credentials: no client secret, certificate or federated managed identity configured")

// publicAuthorityHosts are the authorities MSAL can discover; every other authority gets
// DisableInstanceDiscovery.
var publicAuthorityHosts = []string{
	cloud.AzurePublic.ActiveDirectoryAuthorityHost,
	cloud.AzureGovernment.ActiveDirectoryAuthorityHost,
	cloud.AzureChina.ActiveDirectoryAuthorityHost,
}

// authorityHost is the effective authority host: the configured one, else AZURE_AUTHORITY_HOST,
// else the public cloud's.
func (c Config) authorityHost() string {
	if h := strings.TrimSpace(c.AuthorityHost); h != "" {
		return h
	}
	if h := strings.TrimSpace(os.Getenv(envAuthorityHost)); h != "" {
		return h
	}
	return cloud.AzurePublic.ActiveDirectoryAuthorityHost
}

// IsPublicAuthority reports whether host is the authority host of the public, US Government or
// China cloud (compared by scheme and host, ignoring case and a trailing slash).
func IsPublicAuthority(host string) bool {
	u, err := url.Parse(strings.TrimSpace(host))
	if err != nil || u.Host == "" {
		return false
	}
	for _, p := range publicAuthorityHosts {
		pu, _ := url.Parse(p)
		if strings.EqualFold(u.Scheme, pu.Scheme) && strings.EqualFold(u.Host, pu.Host) &&
			strings.Trim(u.Path, "/") == "" {
			return true
		}
	}
	return false
}

// clientOptions is the azcore configuration shared by every credential: the cloud's authority
// and the HTTP client.
func (c Config) clientOptions() (azcore.ClientOptions, bool, error) {
	host := c.authorityHost()
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return azcore.ClientOptions{}, false, fmt.Errorf("credentials: authority host %q must be an https URL", host)
	}
	if !strings.HasSuffix(host, "/") {
		host += "/"
	}
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: host}}
	if c.HTTPClient != nil {
		opts.Transport = c.HTTPClient
	}
	return opts, !IsPublicAuthority(host), nil
}

// tokenExchangeScope is the scope of a managed identity token used as a federated client
// assertion; the audience differs per cloud.
func (c Config) tokenExchangeScope() string {
	u, _ := url.Parse(c.authorityHost())
	host := ""
	if u != nil {
		host = strings.ToLower(u.Host)
	}
	switch host {
	case "login.microsoftonline.us":
		return "api://AzureADTokenExchangeUSGov/.default"
	case "login.chinacloudapi.cn":
		return "api://AzureADTokenExchangeChina/.default"
	default:
		return "api://AzureADTokenExchange/.default"
	}
}

// BotConnector returns the credential for outbound Bot Connector calls. SingleTenant apps
// authenticate in their own tenant, MultiTenant apps in the Bot Framework tenant (the US
// Government one when the authority is Azure Government), and UserAssignedMSI bots as their
// managed identity.
func BotConnector(cfg Config) (azcore.TokenCredential, error) {
	if strings.TrimSpace(cfg.AppID) == "" {
		return nil, errors.New("credentials: bot connector: app id is required")
	}
	switch cfg.AppType {
	case UserAssignedMSI:
		return managedIdentity(cfg, cfg.AppID)
	case SingleTenant:
		if strings.TrimSpace(cfg.TenantID) == "" {
			return nil, errors.New("credentials: bot connector: a SingleTenant app needs a tenant id")
		}
		return confidential(cfg, cfg.TenantID)
	case MultiTenant, "":
		tenant := botFrameworkTenant
		if u, err := url.Parse(cfg.authorityHost()); err == nil && strings.EqualFold(u.Host, "login.microsoftonline.us") {
			tenant = botFrameworkGovTenant
		}
		return confidential(cfg, tenant)
	default:
		return nil, fmt.Errorf("credentials: bot connector: unknown app type %q (want SingleTenant, MultiTenant or UserAssignedMSI)", cfg.AppType)
	}
}

// GraphAppOnly returns the app-only credential for Microsoft Graph: the client secret or
// certificate when configured, the bot's managed identity for UserAssignedMSI bots, and otherwise
// azidentity's DefaultAzureCredential chain (AZURE_CLIENT_ID/AZURE_CLIENT_SECRET or certificate,
// workload identity, managed identity) so platform-provided identities work without a secret.
func GraphAppOnly(cfg Config) (azcore.TokenCredential, error) {
	if cfg.ClientSecret != "" || cfg.CertificatePath != "" || cfg.FederatedManagedIdentityClientID != "" {
		if strings.TrimSpace(cfg.TenantID) == "" {
			return nil, errors.New("credentials: graph: a tenant id is required")
		}
		if strings.TrimSpace(cfg.AppID) == "" {
			return nil, errors.New("credentials: graph: an app id is required")
		}
		return confidential(cfg, cfg.TenantID)
	}
	if cfg.AppType == UserAssignedMSI && cfg.AppID != "" {
		return managedIdentity(cfg, cfg.AppID)
	}
	co, disable, err := cfg.clientOptions()
	if err != nil {
		return nil, err
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions:            co,
		DisableInstanceDiscovery: disable,
		TenantID:                 cfg.TenantID,
	})
	if err != nil {
		return nil, fmt.Errorf("credentials: graph: default credential chain: %w", err)
	}
	return cred, nil
}

// confidential builds a client-credentials credential from the secret, the certificate or the
// federated managed identity, in that order of preference.
func confidential(cfg Config, tenant string) (azcore.TokenCredential, error) {
	co, disable, err := cfg.clientOptions()
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientSecret != "":
		c, err := azidentity.NewClientSecretCredential(tenant, cfg.AppID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disable})
		if err != nil {
			return nil, fmt.Errorf("credentials: client secret credential: %w", err)
		}
		return c, nil
	case cfg.CertificatePath != "":
		certs, key, err := loadCertificate(cfg)
		if err != nil {
			return nil, err
		}
		c, err := azidentity.NewClientCertificateCredential(tenant, cfg.AppID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disable})
		if err != nil {
			return nil, fmt.Errorf("credentials: client certificate credential: %w", err)
		}
		return c, nil
	case cfg.FederatedManagedIdentityClientID != "":
		assert, err := federatedAssertion(cfg)
		if err != nil {
			return nil, err
		}
		c, err := azidentity.NewClientAssertionCredential(tenant, cfg.AppID, assert,
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disable})
		if err != nil {
			return nil, fmt.Errorf("credentials: client assertion credential: %w", err)
		}
		return c, nil
	default:
		return nil, ErrNoCredential
	}
}

func managedIdentity(cfg Config, clientID string) (azcore.TokenCredential, error) {
	opts := &azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(clientID)}
	if cfg.HTTPClient != nil {
		opts.Transport = cfg.HTTPClient
	}
	c, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return nil, fmt.Errorf("credentials: managed identity %s: %w", clientID, err)
	}
	return c, nil
}

// federatedAssertion returns a callback producing the managed identity's token for the token
// exchange audience, which Entra accepts as the app's client assertion.
func federatedAssertion(cfg Config) (func(context.Context) (string, error), error) {
	mi, err := managedIdentity(cfg, cfg.FederatedManagedIdentityClientID)
	if err != nil {
		return nil, err
	}
	scope := cfg.tokenExchangeScope()
	return func(ctx context.Context) (string, error) {
		tok, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", fmt.Errorf("credentials: federated managed identity assertion: %w", err)
		}
		return tok.Token, nil
	}, nil
}

func loadCertificate(cfg Config) ([]*x509.Certificate, crypto.PrivateKey, error) {
	data, err := os.ReadFile(cfg.CertificatePath)
	if err != nil {
		return nil, nil, fmt.Errorf("credentials: read certificate: %w", err)
	}
	var pw []byte
	if cfg.CertificatePassword != "" {
		pw = []byte(cfg.CertificatePassword)
	}
	certs, key, err := azidentity.ParseCertificates(data, pw)
	if err != nil {
		return nil, nil, fmt.Errorf("credentials: parse certificate %s: %w", cfg.CertificatePath, err)
	}
	return certs, key, nil
}

// OnBehalfOfFactory makes on-behalf-of credentials for one app registration. Build it once: it
// parses the certificate (or prepares the federated assertion) a single time rather than on
// every approval click.
type OnBehalfOfFactory struct {
	cfg     Config
	opts    azcore.ClientOptions
	disable bool
	certs   []*x509.Certificate
	key     crypto.PrivateKey
	assert  func(context.Context) (string, error)
}

// NewOnBehalfOfFactory validates cfg and prepares its client credential. On-behalf-of needs a
// confidential client: a secret, a certificate, or a federated managed identity.
func NewOnBehalfOfFactory(cfg Config) (*OnBehalfOfFactory, error) {
	if strings.TrimSpace(cfg.AppID) == "" {
		return nil, errors.New("credentials: on-behalf-of: app id is required")
	}
	co, disable, err := cfg.clientOptions()
	if err != nil {
		return nil, err
	}
	f := &OnBehalfOfFactory{cfg: cfg, opts: co, disable: disable}
	switch {
	case cfg.ClientSecret != "":
	case cfg.CertificatePath != "":
		if f.certs, f.key, err = loadCertificate(cfg); err != nil {
			return nil, err
		}
	case cfg.FederatedManagedIdentityClientID != "":
		if f.assert, err = federatedAssertion(cfg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("credentials: on-behalf-of: %w", ErrNoCredential)
	}
	return f, nil
}

// Credential returns a credential that exchanges userAssertion (the user's validated SSO token)
// for tokens in tenantID, the user's tenant. It is meant for one operation and then dropped.
func (f *OnBehalfOfFactory) Credential(tenantID, userAssertion string) (azcore.TokenCredential, error) {
	if strings.TrimSpace(tenantID) == "" {
		return nil, errors.New("credentials: on-behalf-of: tenant id is required")
	}
	if userAssertion == "" {
		return nil, errors.New("credentials: on-behalf-of: user assertion is required")
	}
	opts := &azidentity.OnBehalfOfCredentialOptions{ClientOptions: f.opts, DisableInstanceDiscovery: f.disable}
	var (
		c   *azidentity.OnBehalfOfCredential
		err error
	)
	switch {
	case f.cfg.ClientSecret != "":
		c, err = azidentity.NewOnBehalfOfCredentialWithSecret(tenantID, f.cfg.AppID, userAssertion, f.cfg.ClientSecret, opts)
	case f.certs != nil:
		c, err = azidentity.NewOnBehalfOfCredentialWithCertificate(tenantID, f.cfg.AppID, userAssertion, f.certs, f.key, opts)
	default:
		c, err = azidentity.NewOnBehalfOfCredentialWithClientAssertions(tenantID, f.cfg.AppID, userAssertion, f.assert, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials: on-behalf-of credential: %w", err)
	}
	return c, nil
}

// OnBehalfOf is NewOnBehalfOfFactory(cfg).Credential(cfg.TenantID, userAssertion) for one-off use;
// cfg.TenantID must be the user's tenant.
func OnBehalfOf(cfg Config, userAssertion string) (azcore.TokenCredential, error) {
	f, err := NewOnBehalfOfFactory(cfg)
	if err != nil {
		return nil, err
	}
	return f.Credential(cfg.TenantID, userAssertion)
}
