package entitlement

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/graph"
	"guestpass/internal/keylock"
	"guestpass/internal/store"
)

// ScenarioStore is the part of the store the service needs; store.Store satisfies it.
type ScenarioStore interface {
	PutScenario(ctx context.Context, rec store.ScenarioRecord) error
	GetScenario(ctx context.Context, id string) (store.ScenarioRecord, error)
	ScenarioByName(ctx context.Context, tenantID, name string) (store.ScenarioRecord, error)
	ScenarioByAccessPackage(ctx context.Context, accessPackageID string) (store.ScenarioRecord, error)
	ListScenarios(ctx context.Context, q store.ScenarioQuery) ([]store.ScenarioRecord, error)
}

// Cloud selects the national cloud for My Access links.
type Cloud string

// Clouds.
const (
	CloudPublic Cloud = "public"
	CloudUSGov  Cloud = "usgov"
)

// DefaultCatalogName is the shared catalog's display name when the service creates it.
const DefaultCatalogName = "guestpass guest access"

// ServiceOptions configures NewService.
type ServiceOptions struct {
	// Graph is the app-only client.
	Graph *msgraphsdk.GraphServiceClient
	Store ScenarioStore
	Cloud Cloud
	// TenantID is the home tenant (the My Access directory hint and the store's tenant key).
	TenantID string
	// CatalogID selects restricted mode: an administrator-created catalog the bot's service
	// principal owns through a catalog-scoped role. Empty: guestpass finds or creates
	// CatalogName.
	CatalogID   string
	CatalogName string
	// DelegatedClient builds a Graph client for one delegated operation from the user's
	// on-behalf-of credential (same base URL, transport and hooks as the app-only client).
	DelegatedClient func(ctx context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error)
	Logger          *slog.Logger
	Now             func() time.Time
}

// Service is the entitlement-management domain service. Safe for concurrent use.
type Service struct {
	g         *msgraphsdk.GraphServiceClient
	store     ScenarioStore
	cloud     Cloud
	tenantID  string
	catalogID string // restricted mode when set at construction
	catName   string
	delegated func(ctx context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error)
	log       *slog.Logger
	now       func() time.Time

	mu            sync.Mutex
	cachedCatalog string
	// provisioning serialises CreateScenario/UpdateScenario per scenario name so two concurrent
	// runs cannot both miss the lookup and create twice.
	provisioning keylock.Map
}

// ErrNotFound reports a scenario, request or object that does not exist.
var ErrNotFound = errors.New("not found")

// ErrNoDelegation reports a delegated operation attempted without ServiceOptions.DelegatedClient.
var ErrNoDelegation = errors.New("entitlement: delegated operations are not configured")

// NewService validates opts and returns the service.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.Graph == nil {
		return nil, errors.New("entitlement: a Graph client is required")
	}
	if opts.Store == nil {
		return nil, errors.New("entitlement: a scenario store is required")
	}
	if strings.TrimSpace(opts.TenantID) == "" {
		return nil, errors.New("entitlement: the tenant id is required")
	}
	switch opts.Cloud {
	case "":
		opts.Cloud = CloudPublic
	case CloudPublic, CloudUSGov:
	default:
		return nil, fmt.Errorf("entitlement: unknown cloud %q (want public or usgov)", opts.Cloud)
	}
	if opts.CatalogID != "" && !ValidEntityID(opts.CatalogID) {
		return nil, fmt.Errorf("entitlement: catalog id %q is not valid", opts.CatalogID)
	}
	if opts.CatalogName == "" {
		opts.CatalogName = DefaultCatalogName
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{
		g: opts.Graph, store: opts.Store, cloud: opts.Cloud, tenantID: opts.TenantID,
		catalogID: opts.CatalogID, catName: opts.CatalogName, delegated: opts.DelegatedClient,
		log: opts.Logger, now: opts.Now,
	}, nil
}

// Restricted reports whether the service runs with an administrator-created catalog.
func (s *Service) Restricted() bool { return s.catalogID != "" }

// delegatedClient builds the per-call client for a user's credential.
func (s *Service) delegatedClient(ctx context.Context, cred azcore.TokenCredential) (*msgraphsdk.GraphServiceClient, error) {
	if s.delegated == nil {
		return nil, ErrNoDelegation
	}
	if cred == nil {
		return nil, errors.New("entitlement: a delegated credential is required")
	}
	c, err := s.delegated(ctx, cred)
	if err != nil {
		return nil, fmt.Errorf("entitlement: delegated client: %w", err)
	}
	return c, nil
}

// MyAccessLink is the My Access portal link for an access package: the onboarding link guests
// open to request access. The directory hint is the tenant id (or a verified domain).
func MyAccessLink(cloud Cloud, tenantID, accessPackageID string) string {
	host := "myaccess.microsoft.com"
	if cloud == CloudUSGov {
		host = "myaccess.microsoft.us"
	}
	return "https://" + host + "/@" + url.PathEscape(tenantID) + "#/access-packages/" + url.PathEscape(accessPackageID)
}

// MyAccessLink is MyAccessLink for the service's cloud and tenant.
func (s *Service) MyAccessLink(accessPackageID string) string {
	return MyAccessLink(s.cloud, s.tenantID, accessPackageID)
}

// newScenarioID returns a random scenario id (UUID v4 format).
func newScenarioID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// record converts a scenario to its store record.
func (s *Service) record(sc Scenario) (store.ScenarioRecord, error) {
	spec, err := json.Marshal(sc)
	if err != nil {
		return store.ScenarioRecord{}, fmt.Errorf("entitlement: encode scenario: %w", err)
	}
	var orgs []string
	for _, p := range sc.Partners {
		if p.ConnectedOrganizationID != "" {
			orgs = append(orgs, p.ConnectedOrganizationID)
		}
	}
	return store.ScenarioRecord{
		ID: sc.ID, TenantID: s.tenantID, Name: sc.Name, OwnerOID: sc.OwnerOID, CoOwnerOIDs: sc.CoOwnerOIDs,
		CatalogID: sc.CatalogID, AccessPackageID: sc.AccessPackageID, PolicyID: sc.PolicyID,
		ConnectedOrgIDs: orgs, State: string(sc.State), Spec: spec, LastError: sc.LastError,
	}, nil
}

// fromRecord decodes a store record into a scenario; the record's columns win over the spec.
func (s *Service) fromRecord(rec store.ScenarioRecord) (Scenario, error) {
	var sc Scenario
	if len(rec.Spec) > 0 {
		if err := json.Unmarshal(rec.Spec, &sc); err != nil {
			return Scenario{}, fmt.Errorf("entitlement: decode scenario %s: %w", rec.ID, err)
		}
	}
	sc.ID, sc.Name, sc.OwnerOID, sc.CoOwnerOIDs = rec.ID, rec.Name, rec.OwnerOID, rec.CoOwnerOIDs
	sc.CatalogID, sc.AccessPackageID, sc.PolicyID = rec.CatalogID, rec.AccessPackageID, rec.PolicyID
	sc.State, sc.LastError = ScenarioState(rec.State), rec.LastError
	sc.CreatedAt, sc.UpdatedAt = rec.CreatedAt, rec.UpdatedAt
	if sc.AccessPackageID != "" {
		sc.MyAccessLink = s.MyAccessLink(sc.AccessPackageID)
	}
	return sc, nil
}

func (s *Service) save(ctx context.Context, sc Scenario) error {
	rec, err := s.record(sc)
	if err != nil {
		return err
	}
	if err := s.store.PutScenario(ctx, rec); err != nil {
		return fmt.Errorf("entitlement: save scenario %s: %w", sc.ID, err)
	}
	return nil
}

// loadScenario reads a scenario from the store, mapping the store's not-found.
func (s *Service) loadScenario(ctx context.Context, id string) (Scenario, error) {
	rec, err := s.store.GetScenario(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Scenario{}, fmt.Errorf("scenario %s: %w", id, ErrNotFound)
		}
		return Scenario{}, fmt.Errorf("entitlement: load scenario %s: %w", id, err)
	}
	return s.fromRecord(rec)
}

// LoadScenario returns a stored scenario without calling Graph.
func (s *Service) LoadScenario(ctx context.Context, id string) (Scenario, error) {
	return s.loadScenario(ctx, id)
}

// ListScenarios returns the scenarios ownerOID owns or co-owns (all when ownerOID is empty),
// without retired ones. It reads the store only.
func (s *Service) ListScenarios(ctx context.Context, ownerOID string) ([]Scenario, error) {
	recs, err := s.store.ListScenarios(ctx, store.ScenarioQuery{TenantID: s.tenantID, OwnerOID: ownerOID})
	if err != nil {
		return nil, fmt.Errorf("entitlement: list scenarios: %w", err)
	}
	out := make([]Scenario, 0, len(recs))
	for _, r := range recs {
		sc, err := s.fromRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// op labels ctx for Graph call counting and returns it.
func op(ctx context.Context, name string) context.Context {
	if graph.Operation(ctx) != "" {
		return ctx
	}
	return graph.WithOperation(ctx, name)
}

func ptr[T any](v T) *T { return &v }

// errNoBody reports a successful Graph response that lacked the object it should carry.
var errNoBody = errors.New("Graph answered without a body")

// nonEmpty turns a nil result with a nil error — what the SDK returns for an empty 2xx body —
// into errNoBody, so callers never dereference a nil model.
func nonEmpty[T any](v T, err error) (T, error) {
	if err == nil && isNil(v) {
		err = errNoBody
	}
	return v, err
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
