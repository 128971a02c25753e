package entitlement

import (
	"context"
	"net/url"
	"slices"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"guestpass/internal/graph"
)

// Picker limits.
const (
	MaxSearchLen   = 100
	DefaultResults = 10
	MaxResults     = 25
)

// searchTerm validates a picker search term.
func searchTerm(term string, limit int) (string, int32, error) {
	term = strings.TrimSpace(term)
	var v validator
	v.text("term", term, true, MaxSearchLen)
	if err := v.err(); err != nil {
		return "", 0, err
	}
	if limit <= 0 {
		limit = DefaultResults
	}
	return term, int32(min(limit, MaxResults)), nil
}

// eventual is the header directory $search needs (advanced queries).
func eventual() *abs.RequestHeaders {
	h := abs.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

// SearchUsers finds people by name or mail for approver pickers (members and guests).
func (s *Service) SearchUsers(ctx context.Context, term string, limit int) ([]Person, error) {
	ctx = op(ctx, "SearchUsers")
	term, top, err := searchTerm(term, limit)
	if err != nil {
		return nil, err
	}
	q := graph.SearchAny(term, "displayName", "mail", "userPrincipalName")
	if q == "" {
		return nil, nil
	}
	page, err := nonEmpty(s.g.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Search: &q, Top: &top, Select: personSelect,
		},
	}))
	if err != nil {
		return nil, graph.Wrap("search users", err)
	}
	var out []Person
	for _, u := range page.GetValue() {
		if en := u.GetAccountEnabled(); en != nil && !*en {
			continue
		}
		out = append(out, userPerson(u))
	}
	return out, nil
}

// FindUserByEmail looks a user (member or guest) up by mail or user principal name, app-only.
// ok is false when nobody has the address.
func (s *Service) FindUserByEmail(ctx context.Context, email string) (Person, bool, error) {
	ctx = op(ctx, "FindUserByEmail")
	e, err := NormalizeEmail(email)
	if err != nil {
		return Person{}, false, &ValidationError{Field: "email", Message: err.Error()}
	}
	f := graph.Or(graph.EqFilter("mail", e), graph.EqFilter("userPrincipalName", e))
	page, err := nonEmpty(s.g.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &f, Select: personSelect, Top: ptr(int32(2))},
	}))
	if err != nil {
		return Person{}, false, graph.Wrap("find user by email", err)
	}
	for _, u := range page.GetValue() {
		if strings.EqualFold(deref(u.GetMail()), e) || strings.EqualFold(deref(u.GetUserPrincipalName()), e) {
			return userPerson(u), true, nil
		}
	}
	return Person{}, false, nil
}

// SearchGroups finds groups by name for resource and approver pickers; groups behind a Team are
// marked IsTeam and offered with the Member role.
func (s *Service) SearchGroups(ctx context.Context, term string, limit int) ([]DirectoryResource, error) {
	ctx = op(ctx, "SearchGroups")
	term, top, err := searchTerm(term, limit)
	if err != nil {
		return nil, err
	}
	q := graph.SearchAny(term, "displayName", "mail")
	if q == "" {
		return nil, nil
	}
	page, err := nonEmpty(s.g.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{
			Search: &q, Top: &top,
			Select: []string{"id", "displayName", "description", "mail", "resourceProvisioningOptions"},
		},
	}))
	if err != nil {
		return nil, graph.Wrap("search groups", err)
	}
	var out []DirectoryResource
	for _, g := range page.GetValue() {
		id := deref(g.GetId())
		r := DirectoryResource{
			Kind: ResourceGroup, ID: id, OriginID: id, DisplayName: deref(g.GetDisplayName()),
			Description: deref(g.GetDescription()), Mail: deref(g.GetMail()),
			IsTeam: slices.Contains(stringList(g.GetAdditionalData()["resourceProvisioningOptions"]), "Team"),
			Roles:  []Role{{OriginID: "Member_" + id, DisplayName: "Member"}, {OriginID: "Owner_" + id, DisplayName: "Owner"}},
		}
		out = append(out, r)
	}
	return out, nil
}

// stringList reads a string collection from a model's additional data.
func stringList(v any) []string {
	var out []string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			switch s := e.(type) {
			case *string:
				out = append(out, deref(s))
			case string:
				out = append(out, s)
			}
		}
	case []*string:
		for _, s := range t {
			out = append(out, deref(s))
		}
	case []string:
		out = t
	}
	return out
}

// SearchSites finds SharePoint sites (GET /sites?search=, Graph's site search). Entitlement
// management grants a site's groups by role number; the standard Members (Contribute) and
// Visitors (Read) roles are offered.
func (s *Service) SearchSites(ctx context.Context, term string, limit int) ([]DirectoryResource, error) {
	ctx = op(ctx, "SearchSites")
	term, top, err := searchTerm(term, limit)
	if err != nil {
		return nil, err
	}
	// The site search takes "search", not the typed "$search" the SDK builder offers.
	raw := s.g.GetAdapter().GetBaseUrl() + "/sites?search=" + url.QueryEscape(term)
	page, err := nonEmpty(s.g.Sites().WithUrl(raw).Get(ctx, nil))
	if err != nil {
		return nil, graph.Wrap("search sites", err)
	}
	var out []DirectoryResource
	for _, st := range page.GetValue() {
		if len(out) >= int(top) {
			break
		}
		web := deref(st.GetWebUrl())
		if web == "" {
			continue
		}
		name := deref(st.GetDisplayName())
		if name == "" {
			name = deref(st.GetName())
		}
		out = append(out, DirectoryResource{
			Kind: ResourceSite, ID: deref(st.GetId()), OriginID: web, WebURL: web, DisplayName: name,
			Description: deref(st.GetDescription()),
			Roles:       []Role{{OriginID: "4", DisplayName: "Members (Contribute)"}, {OriginID: "5", DisplayName: "Visitors (Read)"}},
		})
	}
	return out, nil
}

// defaultAccessRole is the role entitlement management offers for applications without app roles.
const defaultAccessRole = "00000000-0000-0000-0000-000000000000"

// SearchApplications finds enterprise applications (service principals) with their assignable
// app roles ("Default Access" when the app defines none).
func (s *Service) SearchApplications(ctx context.Context, term string, limit int) ([]DirectoryResource, error) {
	ctx = op(ctx, "SearchApplications")
	term, top, err := searchTerm(term, limit)
	if err != nil {
		return nil, err
	}
	q := graph.SearchClause("displayName", term)
	if q == "" {
		return nil, nil
	}
	page, err := nonEmpty(s.g.ServicePrincipals().Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{
			Search: &q, Top: &top,
			Select: []string{"id", "appId", "displayName", "description", "appRoles", "tags"},
		},
	}))
	if err != nil {
		return nil, graph.Wrap("search applications", err)
	}
	var out []DirectoryResource
	for _, sp := range page.GetValue() {
		r := DirectoryResource{Kind: ResourceApplication, ID: deref(sp.GetId()), OriginID: deref(sp.GetId()),
			DisplayName: deref(sp.GetDisplayName()), Description: deref(sp.GetDescription())}
		for _, ar := range sp.GetAppRoles() {
			if !deref(ar.GetIsEnabled()) || !slices.Contains(ar.GetAllowedMemberTypes(), "User") || ar.GetId() == nil {
				continue
			}
			r.Roles = append(r.Roles, Role{OriginID: ar.GetId().String(), DisplayName: deref(ar.GetDisplayName())})
		}
		if len(r.Roles) == 0 {
			r.Roles = []Role{{OriginID: defaultAccessRole, DisplayName: "Default Access"}}
		}
		out = append(out, r)
	}
	return out, nil
}
