package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	rm "github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"guestpass/internal/authz"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/router"
)

// ConfigLine is one line of the configuration summary `doctor` shows. The wiring must never put a
// secret here; say "set" instead.
type ConfigLine struct {
	Name, Value string
}

// DoctorDeps is what `doctor` checks, passed by the app wiring as the real objects.
type DoctorDeps struct {
	// Config is the configuration summary (no secrets).
	Config []ConfigLine
	// Connector is the Bot Connector credential; nil in local mode, where the check is skipped.
	Connector azcore.TokenCredential
	// ConnectorScope is the scope of connector tokens (https://api.botframework.com/.default).
	ConnectorScope string
	// GraphCredential is the app-only Graph credential and GraphScope its scope
	// (https://graph.microsoft.com/.default or the sandbox's).
	GraphCredential azcore.TokenCredential
	GraphScope      string
	// CatalogID is the administrator-created catalog of restricted mode (CATALOG_ID); empty in
	// full mode.
	CatalogID string
	// Optional are the requirements of optional features that are turned on (e.g.
	// InstallForApprovers with TEAMS_APP_CATALOG_ID), checked after Requirements.
	Optional []Requirement
}

// Requirement is one feature's need for Microsoft Graph application permissions: the feature
// works when the bot holds at least one permission of each AnyOf set.
type Requirement struct {
	Feature string
	AllOf   [][]string
}

// Requirements is what each feature needs. A permission that includes another (ReadWrite
// includes Read) is listed as an alternative, so a tenant granting the broader one is not told
// to add the narrower one. Only application permissions are listed: what the bot does for a
// person (approve, invite, send mail, remove) uses that person's delegated token, so the bot needs
// no application permission for it (see docs/permissions.md).
var Requirements = []Requirement{
	{featureCreateScenarios, [][]string{{"EntitlementManagement.ReadWrite.All"}}},
	{"Scenarios with groups and Teams", [][]string{{"Group.ReadWrite.All"}}},
	{"Scenarios with SharePoint sites", [][]string{{"Sites.FullControl.All"}}},
	{"Scenarios with applications", [][]string{{"Application.ReadWrite.All"}}},
	{"Pending requests and approvals", [][]string{{"EntitlementManagement.Read.All", "EntitlementManagement.ReadWrite.All"}}},
	{"Directory search", [][]string{
		{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		{"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}},
	{"Role checks (admin and sponsor groups)", [][]string{{"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}}},
	{"Partner tenant lookup", [][]string{{"CrossTenantInformation.ReadBasic.All"}}},
}

// InstallForApprovers is the requirement of installing the bot's Teams app for approvers Teams
// refuses a chat with (TEAMS_APP_CATALOG_ID); only checked when that is configured. The Self
// permission lets the app install only itself; the broader ones are alternatives.
var InstallForApprovers = Requirement{"Install the app for approvers (TEAMS_APP_CATALOG_ID)", [][]string{{
	"TeamsAppInstallation.ReadWriteSelfForUser.All", "TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All",
	"TeamsAppInstallation.ReadWriteForUser.All", "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
}}}

// featureCreateScenarios is the feature a catalog-scoped role stands in for in restricted mode.
const featureCreateScenarios = "Create and edit scenarios"

// Role ids Entra accepts in place of application permissions for an app (Microsoft Graph's
// entitlement-management API pages: "In app-only scenarios, the calling app can be assigned one
// of the preceding supported roles instead of the EntitlementManagement.ReadWrite.All
// application permission").
const (
	// roleIdentityGovernanceAdmin is the template id of the Identity Governance Administrator
	// directory role: tenant-wide, it covers both EntitlementManagement permissions.
	roleIdentityGovernanceAdmin = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e"
	// roleCatalogOwner is the entitlement-management Catalog owner role: on the restricted-mode
	// catalog it covers creating and editing scenarios there.
	roleCatalogOwner = "ae79f266-94d4-4dab-b730-feca7e132178"
)

// Missing returns, for each feature whose needs granted does not meet, the permission to grant
// (the first alternative of each unmet set), in Requirements order.
func Missing(granted []string) map[string][]string {
	return missingIn(Requirements, granted)
}

// missingIn is Missing over the requirements reqs.
func missingIn(reqs []Requirement, granted []string) map[string][]string {
	out := map[string][]string{}
	for _, r := range reqs {
		for _, anyOf := range r.AllOf {
			if !slices.ContainsFunc(anyOf, func(p string) bool {
				return slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, p) })
			}) {
				out[r.Feature] = append(out[r.Feature], anyOf[0])
			}
		}
	}
	return out
}

// Check is one line of the doctor's report.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Report is the doctor's findings.
type Report struct {
	Config []ConfigLine
	Checks []Check
	// Granted are the application permissions in the app-only token's roles claim; nil when no
	// token was acquired.
	Granted []string
	// MissingByFeature maps each feature lacking a permission to what to grant.
	MissingByFeature map[string][]string
	// Optional are the requirements of the optional features that are turned on (DoctorDeps).
	Optional []Requirement
}

// Diagnose runs the checks. It never returns a token or secret, only whether acquisition worked.
func (a *Admin) Diagnose(ctx context.Context) Report {
	d := a.o.Doctor
	r := Report{Config: d.Config, Optional: d.Optional}
	add := func(name string, err error, okDetail string) {
		if err != nil {
			r.Checks = append(r.Checks, Check{Name: name, Detail: err.Error()})
			return
		}
		r.Checks = append(r.Checks, Check{Name: name, OK: true, Detail: okDetail})
	}

	if d.Connector == nil {
		r.Checks = append(r.Checks, Check{Name: "Bot Connector token", OK: true, Detail: "skipped: local mode sends no connector tokens"})
	} else {
		_, err := d.Connector.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.ConnectorScope}})
		add("Bot Connector token", err, "acquired")
	}

	var claims tokenClaims
	if d.GraphCredential == nil {
		add("Graph app-only token", errors.New("no Graph credential is configured"), "")
	} else {
		tok, err := d.GraphCredential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.GraphScope}})
		if err == nil {
			claims, err = decodeClaims(tok.Token)
		}
		add("Graph app-only token", err, "acquired")
		if err == nil {
			r.Granted = claims.Roles
			if r.Granted == nil {
				r.Granted = []string{}
			}
		}
	}

	add("Store", a.o.Store.Ping(ctx), "answers")
	r.Checks = append(r.Checks, a.catalogMode(ctx))

	if r.Granted != nil {
		emCheck, catalogOwner := a.emRoles(ctx, claims.OID)
		dirCheck, implied := a.directoryRoles(ctx, claims.OID)
		r.MissingByFeature = Missing(append(slices.Clone(r.Granted), implied...))
		if catalogOwner {
			delete(r.MissingByFeature, featureCreateScenarios)
		}
		maps.Copy(r.MissingByFeature, missingIn(d.Optional, append(slices.Clone(r.Granted), implied...)))
		r.Checks = append(r.Checks, emCheck, dirCheck)
	} else {
		r.Checks = append(r.Checks, Check{Name: "Graph permissions", Detail: "not checked: no app-only token"})
	}
	return r
}

// catalogMode reports full or restricted mode and, in restricted mode, whether the configured
// catalog exists and admits external users, read app-only as provisioning reads it.
func (a *Admin) catalogMode(ctx context.Context) Check {
	const name = "Catalog mode"
	id := a.o.Doctor.CatalogID
	if id == "" {
		return Check{Name: name, OK: true, Detail: fmt.Sprintf("full: guestpass creates and uses the catalog %q", entitlement.DefaultCatalogName)}
	}
	cat, err := a.em().Catalogs().ByAccessPackageCatalogId(id).Get(ctx, nil)
	switch {
	case graph.IsNotFound(err):
		return Check{Name: name, Detail: "restricted: catalog " + id + " (CATALOG_ID) does not exist; create it or correct CATALOG_ID"}
	case graph.IsForbidden(err):
		return Check{Name: name, Detail: "restricted: the bot may not read catalog " + id + "; give its service principal Catalog owner on it"}
	case err != nil:
		return Check{Name: name, Detail: "restricted: reading catalog " + id + " failed: " + graph.Wrap("get catalog", err).Error()}
	case cat == nil:
		return Check{Name: name, Detail: "restricted: Graph returned no catalog " + id}
	}
	label := fmt.Sprintf("%q (%s)", deref(cat.GetDisplayName()), id)
	if v := cat.GetIsExternallyVisible(); v == nil || !*v {
		return Check{Name: name, Detail: "restricted: catalog " + label + " is not enabled for external users (Catalog settings → Enabled for external users)"}
	}
	return Check{Name: name, OK: true, Detail: "restricted: catalog " + label + ", enabled for external users"}
}

// emRoles reports the service principal's entitlement-management role assignments (catalog-scoped
// roles are an alternative to tenant-wide permissions); catalogOwner reports Catalog owner on the
// restricted-mode catalog.
func (a *Admin) emRoles(ctx context.Context, spID string) (_ Check, catalogOwner bool) {
	const name = "Entitlement-management roles"
	if spID == "" {
		return Check{Name: name, OK: true, Detail: "not checked: the token names no service principal"}, false
	}
	filter := graph.EqFilter("principalId", spID)
	page, err := a.o.Graph.RoleManagement().EntitlementManagement().RoleAssignments().Get(ctx,
		&rm.EntitlementManagementRoleAssignmentsRequestBuilderGetRequestConfiguration{
			QueryParameters: &rm.EntitlementManagementRoleAssignmentsRequestBuilderGetQueryParameters{Filter: &filter},
		})
	if err != nil {
		return Check{Name: name, OK: true, Detail: "not checked: " + graph.Wrap("list role assignments", err).Error()}, false
	}
	n := 0
	scope := "/AccessPackageCatalog/" + a.o.Doctor.CatalogID
	err = graph.Each(ctx, a.o.Graph, "list role assignments", page, models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue,
		func(ra models.UnifiedRoleAssignmentable) error {
			n++
			if a.o.Doctor.CatalogID != "" && strings.EqualFold(deref(ra.GetRoleDefinitionId()), roleCatalogOwner) &&
				strings.EqualFold(deref(ra.GetAppScopeId()), scope) {
				catalogOwner = true
			}
			return nil
		})
	if err != nil {
		return Check{Name: name, OK: true, Detail: "not checked: " + err.Error()}, false
	}
	switch {
	case catalogOwner:
		return Check{Name: name, OK: true, Detail: fmt.Sprintf("%d role assignment(s), including Catalog owner on the restricted-mode catalog", n)}, true
	case n == 0:
		return Check{Name: name, OK: true, Detail: "none (tenant-wide application permissions are used)"}, false
	}
	return Check{Name: name, OK: true, Detail: fmt.Sprintf("%d role assignment(s)", n)}, false
}

// directoryRoles reports the service principal's Entra directory roles that Entra accepts in
// place of application permissions, and the permissions they stand in for. Reading them needs
// RoleManagement.Read.Directory (or Directory.Read.All); without it the check says so and the
// permissions are judged from the token alone.
func (a *Admin) directoryRoles(ctx context.Context, spID string) (_ Check, implied []string) {
	const name = "Directory roles"
	if spID == "" {
		return Check{Name: name, OK: true, Detail: "not checked: the token names no service principal"}, nil
	}
	filter := graph.EqFilter("principalId", spID)
	page, err := a.o.Graph.RoleManagement().Directory().RoleAssignments().Get(ctx,
		&rm.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
			QueryParameters: &rm.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{Filter: &filter},
		})
	if graph.IsForbidden(err) {
		return Check{Name: name, OK: true, Detail: "not checked: reading them needs RoleManagement.Read.Directory; a role such as Identity Governance Administrator is then not counted"}, nil
	}
	if err != nil {
		return Check{Name: name, OK: true, Detail: "not checked: " + graph.Wrap("list directory role assignments", err).Error()}, nil
	}
	iga := false
	err = graph.Each(ctx, a.o.Graph, "list directory role assignments", page, models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue,
		func(ra models.UnifiedRoleAssignmentable) error {
			// Only a tenant-wide assignment covers the whole entitlement-management API.
			if strings.EqualFold(deref(ra.GetRoleDefinitionId()), roleIdentityGovernanceAdmin) && deref(ra.GetDirectoryScopeId()) == "/" {
				iga = true
			}
			return nil
		})
	if err != nil {
		return Check{Name: name, OK: true, Detail: "not checked: " + err.Error()}, nil
	}
	if !iga {
		return Check{Name: name, OK: true, Detail: "none that stands in for an application permission"}, nil
	}
	return Check{Name: name, OK: true, Detail: "Identity Governance Administrator (stands in for the EntitlementManagement application permissions)"},
		[]string{"EntitlementManagement.ReadWrite.All", "EntitlementManagement.Read.All"}
}

type tokenClaims struct {
	Roles []string `json:"roles"`
	OID   string   `json:"oid"`
}

// decodeClaims reads a JWT's payload without verifying it: the token comes straight from our own
// token endpoint and is used only to report what it grants.
func decodeClaims(tok string) (tokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tokenClaims{}, errors.New("the Graph token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}, fmt.Errorf("decode the Graph token's payload: %w", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return tokenClaims{}, fmt.Errorf("decode the Graph token's claims: %w", err)
	}
	return c, nil
}

func (a *Admin) doctor(ctx context.Context, t *router.Turn, _ commands.Command, _ authz.Roles) error {
	_, err := t.SendCard(ctx, DoctorCard(a.Diagnose(ctx)))
	return err
}

// DoctorCard renders a report: configuration, checks, and per feature ✓ or ✗ with what to grant.
func DoctorCard(r Report) cards.Card {
	var body []cards.Element
	body = append(body, cards.TextBlock{Text: "guestpass doctor", Wrap: true, Size: "Large", Weight: "Bolder", Style: "heading"})
	if len(r.Config) > 0 {
		fs := cards.FactSet{}
		for _, c := range r.Config {
			fs.Facts = append(fs.Facts, cards.Fact{Title: esc(c.Name), Value: esc(c.Value)})
		}
		body = append(body, cards.TextBlock{Text: "Configuration", Wrap: true, Weight: "Bolder"}, fs)
	}
	fs := cards.FactSet{}
	for _, c := range r.Checks {
		fs.Facts = append(fs.Facts, cards.Fact{Title: mark(c.OK) + " " + esc(c.Name), Value: esc(c.Detail)})
	}
	body = append(body, cards.TextBlock{Text: "Checks", Wrap: true, Weight: "Bolder"}, fs)
	if r.Granted != nil {
		fs := cards.FactSet{}
		var missing []string
		for _, req := range append(slices.Clone(Requirements), r.Optional...) {
			m := r.MissingByFeature[req.Feature]
			v := "ready"
			if len(m) > 0 {
				v = "missing " + strings.Join(m, ", ")
				for _, p := range m {
					if !slices.Contains(missing, p) {
						missing = append(missing, p)
					}
				}
			}
			fs.Facts = append(fs.Facts, cards.Fact{Title: mark(len(m) == 0) + " " + esc(req.Feature), Value: esc(v)})
		}
		body = append(body, cards.TextBlock{Text: "Graph permissions", Wrap: true, Weight: "Bolder"}, fs)
		if len(missing) > 0 {
			body = append(body, cards.TextBlock{Wrap: true, Color: "Attention", Text: esc("To fix: in Entra ID → App registrations → the bot's app → API permissions, add the Microsoft Graph application permissions " +
				strings.Join(missing, ", ") + ", then select Grant admin consent.")})
		}
	}
	return cards.Card{Body: body}
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func esc(s string) string { return cards.EscapeMarkdown(s) }
