// Package admin answers guestpass's admin commands: lists of requests, catalogs, access packages,
// connected organizations and expiring access, the audit log, statistics, and `doctor`.
//
// Handlers register with a commands.Dispatcher, which has already applied the authorization
// table: every action here is admin-only and answered only in a personal chat, because the
// answers show guest and tenant data. Lists are read app-only with the bot's Graph client.
package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/authz"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/router"
	"guestpass/internal/store"
)

// MaxRows is the most rows a list card shows; Teams renders long tables poorly, and an admin who
// needs more narrows the list with its flags.
const MaxRows = 50

// Options configure New.
type Options struct {
	// Graph is the bot's app-only Graph client.
	Graph *msgraphsdk.GraphServiceClient
	// Service is the entitlement service (assignments).
	Service *entitlement.Service
	// Store holds scenarios, onboardings, the outbox and the audit log.
	Store store.Store
	// TenantID is the home tenant, to scope stored scenarios.
	TenantID string
	// Doctor is what `doctor` checks.
	Doctor DoctorDeps
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Admin holds the admin command handlers.
type Admin struct {
	o Options
}

// New returns the admin handlers for o.
func New(o Options) (*Admin, error) {
	if o.Graph == nil || o.Service == nil || o.Store == nil {
		return nil, errors.New("admin: New: Graph, Service and Store are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Admin{o: o}, nil
}

// Register registers every admin command this package answers with d.
func (a *Admin) Register(d *commands.Dispatcher) {
	d.Handle(authz.ActionRequests, a.requests)
	d.Handle(authz.ActionCatalogs, a.catalogs)
	d.Handle(authz.ActionPackages, a.packages)
	d.Handle(authz.ActionOrgs, a.orgs)
	d.Handle(authz.ActionExpiring, a.expiring)
	d.Handle(authz.ActionAudit, a.audit)
	d.Handle(authz.ActionStats, a.stats)
	d.Handle(authz.ActionDoctor, a.doctor)
}

// table sends a list card, cut to MaxRows with the cut said in the title.
func table(ctx context.Context, t *router.Turn, title string, columns []string, rows [][]string, empty string, more bool) error {
	if more {
		title += fmt.Sprintf(" (first %d)", MaxRows)
	}
	_, err := t.SendCard(ctx, cards.Table(cards.TableInput{Title: title, Columns: columns, Rows: rows, Empty: empty}))
	return err
}

// collect gathers at most MaxRows rows from a Graph listing; more reports that rows were left out.
type collect struct {
	rows [][]string
	more bool
}

func (c *collect) add(row ...string) error {
	if len(c.rows) == MaxRows {
		c.more = true
		return graph.Stop
	}
	c.rows = append(c.rows, row)
	return nil
}

func (a *Admin) em() *igov.EntitlementManagementRequestBuilder {
	return a.o.Graph.IdentityGovernance().EntitlementManagement()
}

// scenarioByName finds a stored scenario by name, case-insensitively.
func (a *Admin) scenarioByName(ctx context.Context, name string) (store.ScenarioRecord, bool, error) {
	list, err := a.o.Store.ListScenarios(ctx, store.ScenarioQuery{TenantID: a.o.TenantID, IncludeRetired: true})
	if err != nil {
		return store.ScenarioRecord{}, false, fmt.Errorf("list scenarios: %w", err)
	}
	for _, s := range list {
		if strings.EqualFold(s.Name, name) {
			return s, true, nil
		}
	}
	return store.ScenarioRecord{}, false, nil
}

func (a *Admin) requests(ctx context.Context, t *router.Turn, cmd commands.Command, _ authz.Roles) error {
	var clauses []string
	if cmd.Arg("state") == "pending" {
		clauses = append(clauses, graph.EqFilter("state", string(entitlement.RequestPendingApproval)))
	}
	title := "Access requests"
	if name := cmd.Flag("scenario"); name != "" {
		sc, ok, err := a.scenarioByName(ctx, name)
		if err != nil {
			return err
		}
		if !ok || sc.AccessPackageID == "" {
			return say(ctx, t, fmt.Sprintf("There is no provisioned scenario named %q.", name))
		}
		clauses = append(clauses, graph.EqFilter("accessPackage/id", sc.AccessPackageID))
		title += " for " + sc.Name
	}
	cfg := &igov.EntitlementManagementAssignmentRequestsRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAssignmentRequestsRequestBuilderGetQueryParameters{
			Expand: []string{"requestor", "accessPackage"}, Orderby: []string{"createdDateTime desc"},
		},
	}
	if f := graph.And(clauses...); f != "" {
		cfg.QueryParameters.Filter = &f
	}
	page, err := a.em().AssignmentRequests().Get(ctx, cfg)
	if err != nil {
		return graph.Wrap("list assignment requests", err)
	}
	var c collect
	err = graph.Each(ctx, a.o.Graph, "list assignment requests", page, models.CreateAccessPackageAssignmentRequestCollectionResponseFromDiscriminatorValue,
		func(r models.AccessPackageAssignmentRequestable) error {
			who, pkg := "", ""
			if s := r.GetRequestor(); s != nil {
				who = first(deref(s.GetDisplayName()), deref(s.GetEmail()), deref(s.GetPrincipalName()))
			}
			if p := r.GetAccessPackage(); p != nil {
				pkg = deref(p.GetDisplayName())
			}
			state := ""
			if s := r.GetState(); s != nil {
				state = s.String()
			}
			return c.add(who, pkg, state, date(r.GetCreatedDateTime()))
		})
	if err != nil {
		return graph.Wrap("list assignment requests", err)
	}
	empty := "No access requests."
	if cmd.Arg("state") == "pending" {
		empty = "No requests are waiting for approval."
	}
	return table(ctx, t, title, []string{"Requestor", "Access package", "State", "Requested"}, c.rows, empty, c.more)
}

func (a *Admin) catalogs(ctx context.Context, t *router.Turn, _ commands.Command, _ authz.Roles) error {
	page, err := a.em().Catalogs().Get(ctx, nil)
	if err != nil {
		return graph.Wrap("list catalogs", err)
	}
	var c collect
	err = graph.Each(ctx, a.o.Graph, "list catalogs", page, models.CreateAccessPackageCatalogCollectionResponseFromDiscriminatorValue,
		func(cat models.AccessPackageCatalogable) error {
			state, typ := "", ""
			if s := cat.GetState(); s != nil {
				state = s.String()
			}
			if s := cat.GetCatalogType(); s != nil {
				typ = s.String()
			}
			return c.add(deref(cat.GetDisplayName()), typ, state, yesNo(cat.GetIsExternallyVisible()))
		})
	if err != nil {
		return graph.Wrap("list catalogs", err)
	}
	return table(ctx, t, "Catalogs", []string{"Catalog", "Type", "State", "External"}, c.rows, "No catalogs.", c.more)
}

func (a *Admin) packages(ctx context.Context, t *router.Turn, cmd commands.Command, _ authz.Roles) error {
	page, err := a.em().AccessPackages().Get(ctx, &igov.EntitlementManagementAccessPackagesRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAccessPackagesRequestBuilderGetQueryParameters{Expand: []string{"catalog"}},
	})
	if err != nil {
		return graph.Wrap("list access packages", err)
	}
	only := cmd.Flag("catalog")
	var c collect
	err = graph.Each(ctx, a.o.Graph, "list access packages", page, models.CreateAccessPackageCollectionResponseFromDiscriminatorValue,
		func(p models.AccessPackageable) error {
			cat := ""
			if cp := p.GetCatalog(); cp != nil {
				cat = deref(cp.GetDisplayName())
			}
			if only != "" && !strings.EqualFold(cat, only) {
				return nil
			}
			return c.add(deref(p.GetDisplayName()), cat, yesNo(p.GetIsHidden()), date(p.GetCreatedDateTime()))
		})
	if err != nil {
		return graph.Wrap("list access packages", err)
	}
	title := "Access packages"
	if only != "" {
		title += " in " + only
	}
	return table(ctx, t, title, []string{"Access package", "Catalog", "Hidden", "Created"}, c.rows, "No access packages.", c.more)
}

func (a *Admin) orgs(ctx context.Context, t *router.Turn, _ commands.Command, _ authz.Roles) error {
	page, err := a.em().ConnectedOrganizations().Get(ctx, nil)
	if err != nil {
		return graph.Wrap("list connected organizations", err)
	}
	var c collect
	err = graph.Each(ctx, a.o.Graph, "list connected organizations", page, models.CreateConnectedOrganizationCollectionResponseFromDiscriminatorValue,
		func(o models.ConnectedOrganizationable) error {
			var sources []string
			for _, src := range o.GetIdentitySources() {
				switch s := src.(type) {
				case *models.DomainIdentitySource:
					sources = append(sources, deref(s.GetDomainName()))
				case *models.AzureActiveDirectoryTenant:
					sources = append(sources, "tenant "+deref(s.GetTenantId()))
				}
			}
			state := ""
			if s := o.GetState(); s != nil {
				state = s.String()
			}
			return c.add(deref(o.GetDisplayName()), strings.Join(sources, ", "), state, deref(o.GetId()))
		})
	if err != nil {
		return graph.Wrap("list connected organizations", err)
	}
	return table(ctx, t, "Connected organizations", []string{"Organization", "Identity sources", "State", "Id"}, c.rows, "No connected organizations.", c.more)
}

func (a *Admin) expiring(ctx context.Context, t *router.Turn, cmd commands.Command, _ authz.Roles) error {
	days := cmd.Int("days")
	list, err := a.o.Service.Assignments(ctx, entitlement.AssignmentFilter{ExpiringWithin: time.Duration(days) * 24 * time.Hour})
	if err != nil {
		return fmt.Errorf("list expiring assignments: %w", err)
	}
	var c collect
	for _, as := range list {
		if c.add(first(as.Target.DisplayName, as.Target.Email), as.Target.Organisation, as.AccessPackageID, as.ExpiresAt.UTC().Format("2006-01-02")) != nil {
			break
		}
	}
	return table(ctx, t, fmt.Sprintf("Access expiring within %d days", days), []string{"Guest", "Organisation", "Access package", "Expires"},
		c.rows, fmt.Sprintf("No access expires within %d days.", days), c.more)
}

func (a *Admin) audit(ctx context.Context, t *router.Turn, cmd commands.Command, _ authz.Roles) error {
	last := cmd.Int("last")
	q := store.AuditQuery{Limit: last}
	user := cmd.Flag("user")
	if user != "" && entitlement.ValidObjectID(user) {
		q.ActorOID = user
		user = ""
	} else if user != "" {
		// A name or address: filter the newest entries by actor name, since the store keys
		// actors by object id.
		q.Limit = 1000
	}
	entries, err := a.o.Store.ListAudit(ctx, q)
	if err != nil {
		return fmt.Errorf("list audit: %w", err)
	}
	var rows [][]string
	for _, e := range entries {
		if user != "" && !strings.Contains(strings.ToLower(e.ActorName), strings.ToLower(user)) {
			continue
		}
		if len(rows) == last {
			break
		}
		rows = append(rows, []string{e.At.UTC().Format("2006-01-02 15:04"), first(e.ActorName, e.ActorOID), e.Action, e.Target, e.Outcome})
	}
	return table(ctx, t, "Audit log", []string{"When (UTC)", "Who", "Action", "Target", "Outcome"}, rows, "No audit entries.", false)
}

// countLimit is the most items stats counts per list; it says "1000+" beyond.
const countLimit = 1000

func count(n int) string {
	if n >= countLimit {
		return strconv.Itoa(countLimit) + "+"
	}
	return strconv.Itoa(n)
}

func (a *Admin) stats(ctx context.Context, t *router.Turn, _ commands.Command, _ authz.Roles) error {
	var rows [][]string
	scs, err := a.o.Store.ListScenarios(ctx, store.ScenarioQuery{TenantID: a.o.TenantID, IncludeRetired: true})
	if err != nil {
		return fmt.Errorf("stats: list scenarios: %w", err)
	}
	byState := map[string]int{}
	for _, s := range scs {
		byState[s.State]++
	}
	rows = append(rows, []string{"Scenarios", strconv.Itoa(len(scs)) + states(byState)})

	pending := 0
	if err := a.o.Service.PendingRequests(ctx, func(entitlement.Request) error {
		pending++
		if pending >= countLimit {
			return graph.Stop
		}
		return nil
	}); err != nil {
		return fmt.Errorf("stats: pending requests: %w", err)
	}
	rows = append(rows, []string{"Requests awaiting approval", count(pending)})

	active, err := a.o.Service.Assignments(ctx, entitlement.AssignmentFilter{})
	if err != nil {
		return fmt.Errorf("stats: assignments: %w", err)
	}
	delivered := 0
	for _, as := range active {
		if strings.EqualFold(as.State, "delivered") {
			delivered++
		}
	}
	rows = append(rows, []string{"Active assignments", strconv.Itoa(delivered)})

	obs, err := a.o.Store.ListOnboardings(ctx, store.OnboardingQuery{TenantID: a.o.TenantID, Limit: countLimit})
	if err != nil {
		return fmt.Errorf("stats: onboardings: %w", err)
	}
	byState = map[string]int{}
	for _, o := range obs {
		byState[o.State]++
	}
	rows = append(rows, []string{"Onboardings", count(len(obs)) + states(byState)})

	out, err := a.o.Store.ListOutbox(ctx, store.OutboxQuery{Limit: countLimit})
	if err != nil {
		return fmt.Errorf("stats: outbox: %w", err)
	}
	byState = map[string]int{}
	for _, o := range out {
		byState[o.State]++
	}
	rows = append(rows, []string{"Outbox", count(len(out)) + states(byState)})
	return table(ctx, t, "guestpass statistics", []string{"What", "Count"}, rows, "", false)
}

// states renders counts by state in a stable order: " (delivered 3, pending 1)".
func states(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
