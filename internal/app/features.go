package app

import (
	"context"
	"fmt"
	"guestpass/internal/admin"
	"guestpass/internal/botframework"
	"guestpass/internal/commands"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/approvals"
	"guestpass/internal/authz"
	"guestpass/internal/config"
	"guestpass/internal/credentials"
	"guestpass/internal/dialogs"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/onboarding"
	"guestpass/internal/proactive"
	"guestpass/internal/sandbox"
	"guestpass/internal/sso"
)

// playgroundServiceURL is the Agents Playground's mock connector: where local mode reaches users
// it has no stored conversation with.
const playgroundServiceURL = "http://localhost:56150/_connector"

// ssoFetchTimeout bounds one download of a tenant's OpenID metadata or signing keys.
const ssoFetchTimeout = 10 * time.Second

// identity is everything that differs between talking to a real tenant and to the sandbox:
// which app registrations authenticate where, and who the bot is on the channel.
type identity struct {
	// graphApp is the app registration that reads and writes Graph app-only.
	graphApp credentials.Config
	// ssoApp performs on-behalf-of exchanges; ssoAppID/ssoResource are what SSO tokens are
	// issued for.
	ssoApp      credentials.Config
	ssoAppID    string
	ssoResource string
	// authorityHost is where SSO tokens are validated.
	authorityHost string
	// botID is the bot's channel account id; serviceURL the connector for users with no stored
	// conversation.
	botID      string
	serviceURL string
	// adminGroupID and sponsorGroupID name the role groups.
	adminGroupID, sponsorGroupID string
	organization                 string
}

// identityFor decides the identities from the configuration and the Graph backend. With the
// sandbox, every Graph and SSO identity is the sandbox's app, because only the sandbox's
// authority issues tokens its Graph accepts.
func (a *App) identityFor(g GraphBackend) identity {
	cfg := a.cfg
	id := identity{
		adminGroupID:   cfg.AdminGroupID,
		sponsorGroupID: cfg.SponsorGroupID,
		organization:   cfg.OrganizationName,
		botID:          "28:" + cfg.AppID,
		serviceURL:     proactive.DefaultServiceURL,
	}
	if cfg.LocalMode() {
		// The Playground addresses the bot by its bare id, not Teams' "28:" form.
		id.botID, id.serviceURL = sandbox.BotAppID, playgroundServiceURL
	}
	if g.Sandbox != nil {
		app := g.Sandbox.AppCredentials()
		id.graphApp = credentials.Config{
			AppID:         app.ClientID,
			AppType:       credentials.SingleTenant,
			TenantID:      g.TenantID,
			ClientSecret:  app.ClientSecret,
			AuthorityHost: g.AuthorityHost,
			HTTPClient:    g.HTTPClient,
		}
		id.ssoApp = id.graphApp
		id.ssoAppID = app.ClientID
		id.ssoResource = "api://botid-" + app.ClientID
		id.authorityHost = g.AuthorityHost
		if id.adminGroupID == "" {
			id.adminGroupID = sandbox.GroupAdmins
		}
		if id.sponsorGroupID == "" {
			id.sponsorGroupID = sandbox.GroupSponsors
		}
		if id.organization == "" {
			id.organization = sandbox.TenantDisplayName
		}
		return id
	}
	id.graphApp = a.credentialConfig()
	id.ssoAppID, id.ssoResource, id.authorityHost = cfg.SSOAppID, cfg.SSOResource, cfg.AuthorityHost
	id.ssoApp = credentials.Config{
		AppID:               cfg.SSOAppID,
		AppType:             credentials.SingleTenant,
		TenantID:            cfg.AppTenantID,
		ClientSecret:        cfg.SSOAppPassword,
		CertificatePath:     cfg.SSOCertificatePath,
		CertificatePassword: cfg.SSOCertificatePassword,
		AuthorityHost:       cfg.AuthorityHost,
		HTTPClient:          a.opts.HTTPClient,
	}
	if cfg.AppType == config.UserAssignedMSI && cfg.SSOAppPassword == "" && cfg.SSOCertificatePath == "" {
		// The SSO app trusts the bot's managed identity through a federated credential, so no
		// secret has to be stored anywhere.
		id.ssoApp.FederatedManagedIdentityClientID = cfg.AppID
	}
	return id
}

// features are the domain services and conversation features built on the Graph backend.
type features struct {
	entitlement *entitlement.Service
	roles       *authz.Resolver
	dialogs     *dialogs.Dialogs
	approvals   *approvals.Approvals
	onboarding  *onboarding.Onboarding
	dispatcher  *commands.Dispatcher
	admin       *admin.Admin
}

// buildFeatures builds Graph clients, the entitlement service, role resolution, SSO and the
// dialogs, approvals and onboarding features, and registers their routes on the mux.
func (a *App) buildFeatures(g GraphBackend) (features, error) {
	var f features
	id := a.identityFor(g)
	glog := a.log.With("component", "graph")
	newClient := func(cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
		return graph.NewClient(graph.Options{BaseURL: g.BaseURL, Credential: cred, HTTPClient: g.HTTPClient, Logger: glog})
	}

	appCred, err := credentials.GraphAppOnly(id.graphApp)
	if err != nil {
		return f, fmt.Errorf("graph app-only credential: %w", err)
	}
	appOnly, err := newClient(appCred)
	if err != nil {
		return f, fmt.Errorf("graph client: %w", err)
	}
	f.entitlement, err = entitlement.NewService(entitlement.ServiceOptions{
		Graph:    appOnly,
		Store:    a.store,
		Cloud:    cloudOf(g.BaseURL),
		TenantID: g.TenantID,
		// Restricted mode (CATALOG_ID): scenarios go into the administrator-created catalog.
		CatalogID: a.cfg.CatalogID,
		DelegatedClient: func(_ context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
			return newClient(cred)
		},
		Logger: a.log.With("component", "entitlement"),
	})
	if err != nil {
		return f, fmt.Errorf("entitlement service: %w", err)
	}
	f.roles, err = authz.NewResolver(authz.ResolverOptions{
		Graph:          appOnly,
		AdminGroupID:   id.adminGroupID,
		SponsorGroupID: id.sponsorGroupID,
		HomeTenantID:   g.TenantID,
		Cache:          a.store,
		Logger:         a.log.With("component", "authz"),
	})
	if err != nil {
		return f, fmt.Errorf("role resolver: %w", err)
	}

	// Key downloads happen inside a click's budget; a hung authority must not hold it.
	ssoHTTP := *a.opts.HTTPClient
	if g.Sandbox != nil {
		ssoHTTP = *g.HTTPClient
	}
	if ssoHTTP.Timeout == 0 {
		ssoHTTP.Timeout = ssoFetchTimeout
	}
	validator, err := sso.NewValidator(sso.Config{
		AuthorityHost: id.authorityHost,
		Audiences:     nonEmpty(id.ssoResource, id.ssoAppID),
		HTTPClient:    &ssoHTTP,
		Logger:        a.log.With("component", "sso"),
	})
	if err != nil {
		return f, fmt.Errorf("sso validator: %w", err)
	}
	obo, err := credentials.NewOnBehalfOfFactory(id.ssoApp)
	if err != nil {
		return f, fmt.Errorf("sso on-behalf-of credential: %w", err)
	}
	exchanger, err := sso.NewExchanger(obo, sso.GraphScope(g.BaseURL))
	if err != nil {
		return f, fmt.Errorf("sso exchanger: %w", err)
	}
	// Each feature's consent fallback asks for that feature's delegated permissions (see
	// sso.Permissions for why not their union).
	signIn := func(f sso.Feature) sso.Settings {
		return sso.Settings{
			ConnectionName: a.cfg.SSOConnectionName,
			Resource:       id.ssoResource,
			SignInURL:      sso.ConsentURLFor(id.authorityHost, g.TenantID, id.ssoAppID, a.cfg.SSORedirectURL, g.BaseURL, f),
		}
	}
	var localToken func(ctx context.Context, tenantID, userOID string) (string, error)
	if a.cfg.LocalMode() && g.Sandbox != nil {
		// The Playground has no SSO: the sandbox issues the token Teams would have, which is
		// then validated and exchanged exactly as in production.
		sb := g.Sandbox
		localToken = func(_ context.Context, _, userOID string) (string, error) { return sb.MintSSOToken(userOID) }
	}
	holder := holderID()

	f.dialogs, err = dialogs.New(dialogs.Deps{
		Store:   a.store,
		Service: f.entitlement,
		Roles:   f.roles,
		TTL:     a.cfg.DialogTTL,
		Logger:  a.log.With("component", "dialogs"),
	})
	if err != nil {
		return f, fmt.Errorf("dialogs: %w", err)
	}
	a.closers = append(a.closers, f.dialogs.Shutdown)

	installer, installRequirements, err := a.appInstaller(appOnly)
	if err != nil {
		return f, err
	}
	f.approvals, err = approvals.New(approvals.Deps{
		Store:         a.store,
		Entitlement:   f.entitlement,
		Connector:     a.connector,
		Validator:     validator,
		Exchanger:     exchanger,
		LocalToken:    localToken,
		SSO:           signIn(sso.FeatureApprovals),
		TenantID:      g.TenantID,
		BotID:         id.botID,
		ServiceURL:    id.serviceURL,
		Admins:        groupUsers(appOnly, id.adminGroupID),
		Installer:     installer,
		PollInterval:  a.cfg.ApprovalPollInterval,
		RemindAfter:   a.cfg.ApprovalRemindAfter,
		EscalateAfter: a.cfg.ApprovalEscalateAfter,
		Holder:        holder,
		Logger:        a.log,
	})
	if err != nil {
		return f, fmt.Errorf("approvals: %w", err)
	}

	f.onboarding, err = onboarding.New(onboarding.Deps{
		Store:        a.store,
		Service:      f.entitlement,
		Roles:        f.roles,
		Connector:    a.connector,
		Validator:    validator,
		Exchanger:    exchanger,
		LocalToken:   localToken,
		SSO:          signIn(sso.FeatureOnboarding),
		TenantID:     g.TenantID,
		BotID:        id.botID,
		ServiceURL:   id.serviceURL,
		Installer:    installer,
		Organisation: id.organization,
		DailyLimit:   a.cfg.InviteDailyLimit,
		ExpiryNotice: a.cfg.ExpiryNotice,
		Holder:       holder,
		Logger:       a.log,
	})
	if err != nil {
		return f, fmt.Errorf("onboarding: %w", err)
	}
	a.closers = append(a.closers, f.onboarding.Shutdown)

	f.dispatcher, err = commands.NewDispatcher(commands.DispatcherOptions{
		Resolver: f.roles,
		Audit:    a.store,
		Logger:   a.log.With("component", "commands"),
	})
	if err != nil {
		return f, fmt.Errorf("commands: %w", err)
	}
	// Admins add and remove connected organizations with their own delegated token, signed in
	// like approvers and sponsors.
	adminAuth, err := sso.NewAuthenticator(validator, exchanger, signIn(sso.FeatureAdmin), localToken)
	if err != nil {
		return f, fmt.Errorf("admin commands: %w", err)
	}
	adm, err := admin.New(admin.Options{
		Graph:    appOnly,
		Service:  f.entitlement,
		Store:    a.store,
		TenantID: g.TenantID,
		Auth:     adminAuth,
		Logger:   a.log.With("component", "admin"),
		Doctor: admin.DoctorDeps{
			Config:          a.doctorConfig(g),
			Connector:       a.connectorCred,
			ConnectorScope:  botframework.DefaultConnectorScope,
			GraphCredential: appCred,
			GraphScope:      sso.GraphScope(g.BaseURL),
			CatalogID:       a.cfg.CatalogID,
			Optional:        installRequirements,
		},
	})
	if err != nil {
		return f, fmt.Errorf("admin commands: %w", err)
	}
	adm.Register(f.dispatcher)
	f.admin = adm
	return f, nil
}

// doctorConfig is the configuration summary doctor shows: modes and ids, never secrets.
func (a *App) doctorConfig(g GraphBackend) []admin.ConfigLine {
	set := func(v string) string {
		if v == "" {
			return "not set"
		}
		return "set"
	}
	mode := "tenant"
	if g.Sandbox != nil {
		mode = "sandbox (built-in demo tenant)"
	}
	appID := a.cfg.AppID
	if appID == "" {
		appID = "not set (local mode: requests are not authenticated)"
	}
	return []admin.ConfigLine{
		{Name: "Bot app id", Value: appID},
		{Name: "App type", Value: string(a.cfg.AppType)},
		{Name: "Client secret", Value: set(a.cfg.AppPassword)},
		{Name: "Graph", Value: mode + " — " + g.BaseURL},
		{Name: "Tenant", Value: g.TenantID},
		{Name: "Store", Value: a.store.Dialect()},
		{Name: "Admin group", Value: set(a.cfg.AdminGroupID)},
		{Name: "Sponsor group", Value: set(a.cfg.SponsorGroupID)},
	}
}

// cloudOf picks the national cloud My Access links point into from Graph's host.
func cloudOf(graphBaseURL string) entitlement.Cloud {
	if u, err := url.Parse(graphBaseURL); err == nil && strings.EqualFold(u.Hostname(), "graph.microsoft.us") {
		return entitlement.CloudUSGov
	}
	return entitlement.CloudPublic
}

// holderID names this replica for worker leases and outbox claims. The hostname differs per
// container; the pid tells processes on one host apart.
func holderID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "guestpass"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// groupUsers returns a function listing the object ids of the member users (transitively) of
// groupID, read app-only; nil when no group is configured. Guests are left out: they never hold
// a guestpass role, even if added to the group by mistake.
func groupUsers(client *msgraphsdk.GraphServiceClient, groupID string) func(context.Context) ([]string, error) {
	if groupID == "" {
		return nil
	}
	const op = "list admin group members"
	return func(ctx context.Context) ([]string, error) {
		ctx = graph.WithOperation(ctx, op)
		page, err := client.Groups().ByGroupId(groupID).TransitiveMembers().Get(ctx, &groups.ItemTransitiveMembersRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.ItemTransitiveMembersRequestBuilderGetQueryParameters{Select: []string{"id", "userType"}},
		})
		if err != nil {
			return nil, graph.Wrap(op, err)
		}
		var oids []string
		err = graph.Each(ctx, client, op, page, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
			func(o models.DirectoryObjectable) error {
				u, ok := o.(*models.User)
				if !ok || u.GetId() == nil || (u.GetUserType() != nil && strings.EqualFold(*u.GetUserType(), "Guest")) {
					return nil
				}
				oids = append(oids, *u.GetId())
				return nil
			})
		if err != nil {
			return nil, err
		}
		return oids, nil
	}
}

// nonEmpty returns the non-empty values of vs, without duplicates.
func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v == "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
