package entitlement

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"guestpass/internal/graph"
)

var personSelect = []string{"id", "displayName", "mail", "userPrincipalName", "userType", "accountEnabled"}

// ApproversFor derives who can decide stage (1-based) of a request under policyID, app-only:
// approval stages themselves are readable only with an approver's delegated token. It reads the
// policy's primary approvers for the stage — users; groups expanded transitively; the internal or
// external sponsors of the requestor's connected organization (groups among them expanded too);
// the requestor's manager (level 1 or 2) or sponsors — and falls back to the stage's fallback
// approvers when the primaries resolve to nobody, as Entra does. The result is deduplicated and
// excludes disabled accounts.
func (s *Service) ApproversFor(ctx context.Context, policyID string, stage int, requestor Person) ([]Person, error) {
	ctx = op(ctx, "ApproversFor")
	var v validator
	if !ValidEntityID(policyID) {
		v.add("policyId", "is not a policy id")
	}
	if stage < 1 || stage > MaxStages {
		v.add("stage", "must be between 1 and %d", MaxStages)
	}
	if requestor.OID != "" && !ValidObjectID(requestor.OID) {
		v.add("requestor.oid", "is not a directory object id")
	}
	if requestor.ConnectedOrganizationID != "" && !ValidEntityID(requestor.ConnectedOrganizationID) {
		v.add("requestor.connectedOrganizationId", "is not a connected organization id")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	pol, err := nonEmpty(s.g.IdentityGovernance().EntitlementManagement().AssignmentPolicies().ByAccessPackageAssignmentPolicyId(policyID).Get(ctx, nil))
	if err != nil {
		if graph.IsNotFound(err) {
			return nil, fmt.Errorf("policy %s: %w", policyID, ErrNotFound)
		}
		return nil, graph.Wrap("get assignment policy", err)
	}
	settings := pol.GetRequestApprovalSettings()
	if settings == nil || len(settings.GetStages()) < stage {
		return nil, fmt.Errorf("entitlement: policy %s has no approval stage %d", policyID, stage)
	}
	st := settings.GetStages()[stage-1]
	r := &resolver{s: s, ctx: ctx, requestor: requestor, seen: map[string]bool{}}
	if err := r.sets(st.GetPrimaryApprovers()); err != nil {
		return nil, err
	}
	if len(r.out) == 0 {
		if err := r.sets(st.GetFallbackPrimaryApprovers()); err != nil {
			return nil, err
		}
	}
	return r.out, nil
}

// resolver expands subject sets to people, deduplicating by object id.
type resolver struct {
	s         *Service
	ctx       context.Context
	requestor Person
	seen      map[string]bool
	groups    map[string]bool
	out       []Person
}

func (r *resolver) add(u models.Userable) {
	id := strings.ToLower(deref(u.GetId()))
	if id == "" || r.seen[id] {
		return
	}
	r.seen[id] = true
	if enabled := u.GetAccountEnabled(); enabled != nil && !*enabled {
		return
	}
	r.out = append(r.out, userPerson(u))
}

func userPerson(u models.Userable) Person {
	p := Person{OID: deref(u.GetId()), DisplayName: deref(u.GetDisplayName()), Email: deref(u.GetMail())}
	if p.Email == "" {
		p.Email = deref(u.GetUserPrincipalName())
	}
	p.External = strings.EqualFold(deref(u.GetUserType()), "Guest")
	return p
}

func (r *resolver) sets(sets []models.SubjectSetable) error {
	for _, set := range sets {
		var err error
		// Switch on concrete types: InternalSponsorsable, ExternalSponsorsable and
		// TargetUserSponsorsable add no methods to SubjectSetable, so every subject set would
		// satisfy them.
		switch t := set.(type) {
		case *models.SingleUser:
			err = r.user(deref(t.GetUserId()))
		case *models.GroupMembers:
			err = r.group(deref(t.GetGroupId()))
		case *models.InternalSponsors:
			err = r.orgSponsors(true)
		case *models.ExternalSponsors:
			err = r.orgSponsors(false)
		case *models.RequestorManager:
			err = r.manager(int(deref(t.GetManagerLevel())))
		case *models.TargetUserSponsors:
			err = r.userSponsors()
		default:
			r.s.log.WarnContext(r.ctx, "approver kind not resolvable app-only; skipped", "odata_type", deref(set.GetOdataType()))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *resolver) user(id string) error {
	if id == "" || r.seen[strings.ToLower(id)] {
		return nil
	}
	u, err := nonEmpty(r.s.g.Users().ByUserId(id).Get(r.ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: personSelect},
	}))
	if err != nil {
		if graph.IsNotFound(err) {
			r.s.log.WarnContext(r.ctx, "approver not found in the directory; skipped", "user_oid", id)
			return nil
		}
		return graph.Wrap("get approver", err)
	}
	r.add(u)
	return nil
}

// group adds every user member of a group, nested groups included.
func (r *resolver) group(id string) error {
	if r.groups == nil {
		r.groups = map[string]bool{}
	}
	if id == "" || r.groups[strings.ToLower(id)] {
		return nil
	}
	r.groups[strings.ToLower(id)] = true
	// transitiveMembers returns nested groups' members too; nested groups themselves come back
	// as group objects and are skipped.
	page, err := nonEmpty(r.s.g.Groups().ByGroupId(id).TransitiveMembers().Get(r.ctx, &groups.ItemTransitiveMembersRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemTransitiveMembersRequestBuilderGetQueryParameters{Select: personSelect},
	}))
	if err != nil {
		if graph.IsNotFound(err) {
			r.s.log.WarnContext(r.ctx, "approver group not found; skipped", "group_id", id)
			return nil
		}
		return graph.Wrap("list approver group members", err)
	}
	return graph.Each(r.ctx, r.s.g, "list approver group members", page, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(o models.DirectoryObjectable) error {
			if u, ok := o.(*models.User); ok {
				r.add(u)
			}
			return nil
		})
}

// orgSponsors adds the sponsors of the requestor's connected organization.
func (r *resolver) orgSponsors(internal bool) error {
	orgID := r.requestor.ConnectedOrganizationID
	if orgID == "" {
		return nil
	}
	org := r.s.g.IdentityGovernance().EntitlementManagement().ConnectedOrganizations().ByConnectedOrganizationId(orgID)
	var (
		page models.DirectoryObjectCollectionResponseable
		err  error
	)
	if internal {
		page, err = org.InternalSponsors().Get(r.ctx, nil)
	} else {
		page, err = org.ExternalSponsors().Get(r.ctx, nil)
	}
	if err != nil {
		if graph.IsNotFound(err) {
			return nil
		}
		return graph.Wrap("list connected organization sponsors", err)
	}
	var groupIDs []string
	err = graph.Each(r.ctx, r.s.g, "list connected organization sponsors", page, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(o models.DirectoryObjectable) error {
			switch t := o.(type) {
			case *models.User:
				if t.GetDisplayName() == nil {
					// Directory-object references may come without properties; read the user.
					return r.user(deref(t.GetId()))
				}
				r.add(t)
			case *models.Group:
				groupIDs = append(groupIDs, deref(t.GetId()))
			}
			return nil
		})
	if err != nil {
		return err
	}
	for _, g := range groupIDs {
		if err := r.group(g); err != nil {
			return err
		}
	}
	return nil
}

// manager adds the requestor's manager (level 1) or the manager's manager (level 2).
func (r *resolver) manager(level int) error {
	id := r.requestor.OID
	if id == "" {
		return nil
	}
	if level < 1 {
		level = 1
	}
	for i := 0; i < level; i++ {
		m, err := nonEmpty(r.s.g.Users().ByUserId(id).Manager().Get(r.ctx, nil))
		if err != nil {
			if graph.IsNotFound(err) {
				return nil
			}
			return graph.Wrap("get requestor manager", err)
		}
		id = deref(m.GetId())
		if id == "" {
			return nil
		}
	}
	return r.user(id)
}

// userSponsors adds the requestor's own sponsors (targetUserSponsors).
func (r *resolver) userSponsors() error {
	if r.requestor.OID == "" {
		return nil
	}
	page, err := nonEmpty(r.s.g.Users().ByUserId(r.requestor.OID).Sponsors().Get(r.ctx, nil))
	if err != nil {
		if graph.IsNotFound(err) {
			return nil
		}
		return graph.Wrap("list requestor sponsors", err)
	}
	return graph.Each(r.ctx, r.s.g, "list requestor sponsors", page, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(o models.DirectoryObjectable) error {
			if u, ok := o.(*models.User); ok {
				return r.user(deref(u.GetId()))
			}
			if g, ok := o.(*models.Group); ok {
				return r.group(deref(g.GetId()))
			}
			return nil
		})
}
