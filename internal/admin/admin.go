// Package admin answers guestpass's admin commands: lists of requests, catalogs, access packages,
// connected organizations and expiring access, the audit log, statistics, `doctor`, and adding
// and removing connected organizations.
//
// Typed commands register with a commands.Dispatcher, which has already applied the
// authorization table: every action here is admin-only and answered only in a personal chat,
// because the answers show guest and tenant data. Card clicks (list paging, the orgs
// confirmations) register with the router and are authorized through the same dispatcher
// (Dispatcher.Run, Dispatcher.Authorize), with the identity of the authenticated activity.
// Lists are read app-only with the bot's Graph client; connected organizations are created and
// deleted with the admin's delegated token (SSO + on-behalf-of), so Entra checks the admin's own
// rights and records them as the actor.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// MaxRows is the most rows one page of a list card shows; Teams renders long tables poorly, so
// longer lists get Next and Previous buttons.
const MaxRows = 50

// Options configure New.
type Options struct {
	// Graph is the bot's app-only Graph client.
	Graph *msgraphsdk.GraphServiceClient
	// Service is the entitlement service: requests, catalogs, access packages and assignments,
	// which it scopes to the configured catalog in restricted mode.
	Service *entitlement.Service
	// Store holds scenarios, onboardings, the outbox and the audit log.
	Store store.Store
	// TenantID is the home tenant, to scope stored scenarios.
	TenantID string
	// Doctor is what `doctor` checks.
	Doctor DoctorDeps
	// Auth turns the SSO token of a confirming click into the admin's delegated Graph
	// credential (connected organizations are created and deleted as the admin).
	Auth *sso.Authenticator
	// Logger is used when a turn carries no logger (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Admin holds the admin command handlers.
type Admin struct {
	o Options
	// listers are the paged lists, by action: typed commands and paging clicks share them.
	listers map[authz.Action]lister
	// cmds is the dispatcher given to Register: card actions are authorized, and paging clicks
	// run their command again, through it.
	cmds *commands.Dispatcher
}

// New returns the admin handlers for o.
func New(o Options) (*Admin, error) {
	if o.Graph == nil || o.Service == nil || o.Store == nil || o.Auth == nil {
		return nil, errors.New("admin: New: Graph, Service, Store and Auth are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	a := &Admin{o: o}
	a.listers = map[authz.Action]lister{
		authz.ActionRequests: a.requests,
		authz.ActionCatalogs: a.catalogs,
		authz.ActionPackages: a.packages,
		authz.ActionOrgs:     a.orgs,
		authz.ActionExpiring: a.expiring,
		authz.ActionAudit:    a.audit,
	}
	return a, nil
}

// Register registers every admin command this package answers with d.
// Call RegisterVerbs too, for the buttons of the cards these commands send.
func (a *Admin) Register(d *commands.Dispatcher) {
	a.cmds = d
	for action, l := range a.listers {
		d.Handle(action, a.listCommand(l))
	}
	d.Handle(authz.ActionOrgsAdd, a.orgsAdd)
	d.Handle(authz.ActionOrgsRemove, a.orgsRemove)
	d.Handle(authz.ActionStats, a.stats)
	d.Handle(authz.ActionDoctor, a.doctor)
}

// RegisterVerbs routes the card actions of the admin cards: list paging and the connected
// organization confirmations.
func (a *Admin) RegisterVerbs(mux *router.Mux) {
	mux.HandleVerb(cards.VerbAdminPage, a.onPage)
	mux.HandleVerb(cards.VerbOrgAdd, a.onAdd)
	mux.HandleVerb(cards.VerbOrgAddConfirm, a.onAddConfirm)
	mux.HandleVerb(cards.VerbOrgRemove, a.onRemove)
	mux.HandleVerb(cards.VerbOrgRemoveConfirm, a.onRemoveConfirm)
	mux.HandleVerb(cards.VerbOrgCancel, a.onCancel)
}

// table sends a list that always fits one card (stats), without paging.
func table(ctx context.Context, t *router.Turn, title string, columns []string, rows [][]string, empty string) error {
	_, err := t.SendCard(ctx, cards.Table(cards.TableInput{Title: title, Columns: columns, Rows: rows, Empty: empty}))
	return err
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

// requests lists access requests, newest first. The entitlement service scopes the listing to
// what the bot may read (in restricted mode, the configured catalog's access packages).
func (a *Admin) requests(ctx context.Context, cmd commands.Command, page int) (cards.TableInput, error) {
	// The pager stops at the first row after this page, so no listing needs more rows than that.
	f := entitlement.RequestFilter{Limit: page*MaxRows + 1}
	if cmd.Arg("state") == "pending" {
		f.State = entitlement.RequestPendingApproval
	}
	title := "Access requests"
	if name := cmd.Flag("scenario"); name != "" {
		sc, ok, err := a.scenarioByName(ctx, name)
		if err != nil {
			return cards.TableInput{}, err
		}
		if !ok || sc.AccessPackageID == "" {
			return cards.TableInput{}, notice(fmt.Sprintf("There is no provisioned scenario named %q.", name))
		}
		f.AccessPackageID = sc.AccessPackageID
		title += " for " + sc.Name
	}
	p := newPager(page)
	err := a.o.Service.Requests(ctx, f, func(r entitlement.Request) error {
		if p.skip() {
			return nil
		}
		return p.add(first(r.Requestor.DisplayName, r.Requestor.Email), r.AccessPackage, string(r.State), date(&r.CreatedAt))
	})
	if err != nil {
		return cards.TableInput{}, err
	}
	empty := "No access requests."
	if cmd.Arg("state") == "pending" {
		empty = "No requests are waiting for approval."
	}
	return p.table(title, []string{"Requestor", "Access package", "State", "Requested"}, empty), nil
}

// catalogs lists the catalogs the bot may read (in restricted mode, the configured one).
func (a *Admin) catalogs(ctx context.Context, _ commands.Command, page int) (cards.TableInput, error) {
	p := newPager(page)
	err := a.o.Service.Catalogs(ctx, func(cat entitlement.Catalog) error {
		if p.skip() {
			return nil
		}
		return p.add(cat.DisplayName, cat.Type, cat.State, yesNo(&cat.External))
	})
	if err != nil {
		return cards.TableInput{}, err
	}
	return p.table("Catalogs", []string{"Catalog", "Type", "State", "External"}, "No catalogs."), nil
}

// packages lists the access packages the bot may read (in restricted mode, the configured
// catalog's), of the catalog named by --catalog when given.
func (a *Admin) packages(ctx context.Context, cmd commands.Command, page int) (cards.TableInput, error) {
	only := cmd.Flag("catalog")
	p := newPager(page)
	err := a.o.Service.AccessPackages(ctx, func(pkg entitlement.AccessPackage) error {
		if only != "" && !strings.EqualFold(pkg.Catalog, only) {
			return nil
		}
		if p.skip() {
			return nil
		}
		return p.add(pkg.DisplayName, pkg.Catalog, yesNo(&pkg.Hidden), date(&pkg.CreatedAt))
	})
	if err != nil {
		return cards.TableInput{}, err
	}
	title := "Access packages"
	if only != "" {
		title += " in " + only
	}
	return p.table(title, []string{"Access package", "Catalog", "Hidden", "Created"}, "No access packages."), nil
}

func (a *Admin) orgs(ctx context.Context, _ commands.Command, page int) (cards.TableInput, error) {
	res, err := a.em().ConnectedOrganizations().Get(ctx, nil)
	if err != nil {
		return cards.TableInput{}, graph.Wrap("list connected organizations", err)
	}
	p := newPager(page)
	err = graph.Each(ctx, a.o.Graph, "list connected organizations", res, models.CreateConnectedOrganizationCollectionResponseFromDiscriminatorValue,
		func(o models.ConnectedOrganizationable) error {
			if p.skip() {
				return nil
			}
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
			return p.add(deref(o.GetDisplayName()), strings.Join(sources, ", "), state, deref(o.GetId()))
		})
	if err != nil {
		return cards.TableInput{}, graph.Wrap("list connected organizations", err)
	}
	return p.table("Connected organizations", []string{"Organization", "Identity sources", "State", "Id"}, "No connected organizations."), nil
}

func (a *Admin) expiring(ctx context.Context, cmd commands.Command, page int) (cards.TableInput, error) {
	days := cmd.Int("days")
	list, err := a.o.Service.Assignments(ctx, entitlement.AssignmentFilter{ExpiringWithin: time.Duration(days) * 24 * time.Hour})
	if err != nil {
		return cards.TableInput{}, fmt.Errorf("list expiring assignments: %w", err)
	}
	p := newPager(page)
	for _, as := range list {
		if p.skip() {
			continue
		}
		if p.add(first(as.Target.DisplayName, as.Target.Email), as.Target.Organisation, as.AccessPackageID, as.ExpiresAt.UTC().Format("2006-01-02")) != nil {
			break
		}
	}
	return p.table(fmt.Sprintf("Access expiring within %d days", days), []string{"Guest", "Organisation", "Access package", "Expires"},
		fmt.Sprintf("No access expires within %d days.", days)), nil
}

// audit lists the newest --last entries (of --user), a page at a time.
func (a *Admin) audit(ctx context.Context, cmd commands.Command, page int) (cards.TableInput, error) {
	last := cmd.Int("last")
	q := store.AuditQuery{Limit: last, Action: cmd.Flag("action")}
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
		return cards.TableInput{}, fmt.Errorf("list audit: %w", err)
	}
	p := newPager(page)
	n := 0
	for _, e := range entries {
		if user != "" && !strings.Contains(strings.ToLower(e.ActorName), strings.ToLower(user)) {
			continue
		}
		if n == last {
			break
		}
		n++
		if p.skip() {
			continue
		}
		if p.add(e.At.UTC().Format("2006-01-02 15:04"), first(e.ActorName, e.ActorOID), e.Action, e.Target, e.Outcome) != nil {
			// Another entry within --last follows: the next page shows it.
			break
		}
	}
	return p.table("Audit log", []string{"When (UTC)", "Who", "Action", "Target", "Outcome"}, "No audit entries."), nil
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

	// Approvers Teams would not let the bot message (the approvals worker audits each one and
	// tells the sponsor); admins act on these: install the app for them, or fix the permission.
	unreachable, err := a.o.Store.ListAudit(ctx, store.AuditQuery{Action: auditUnreachable, Limit: countLimit})
	if err != nil {
		return fmt.Errorf("stats: audit: %w", err)
	}
	recent, since := 0, a.o.Now().Add(-7*24*time.Hour)
	for _, e := range unreachable {
		if e.At.After(since) {
			recent++
		}
	}
	rows = append(rows, []string{"Approvers not reachable in Teams, last 7 days (audit --action " + auditUnreachable + ")", count(recent)})
	return table(ctx, t, "guestpass statistics", []string{"What", "Count"}, rows, "")
}

// auditUnreachable is the audit action the approvals worker records for a recipient it cannot
// message in Teams.
const auditUnreachable = "approval.unreachable"

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
