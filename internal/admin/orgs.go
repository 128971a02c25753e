package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"guestpass/internal/authz"
	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/commands"
	"guestpass/internal/entitlement"
	"guestpass/internal/graph"
	"guestpass/internal/router"
	"guestpass/internal/sso"
	"guestpass/internal/store"
)

// `orgs add <domain>` and `orgs remove <organization>`: the typed command shows a confirmation
// card (reads are app-only); the Confirm click creates or deletes the connected organization
// with the admin's delegated token, so Entra checks the admin's own rights and records them as
// the actor. Every outcome of a click is audited.

// clickBudget bounds the SSO validation and on-behalf-of exchange of a click, so the invoke is
// answered in time.
const clickBudget = 12 * time.Second

// maxSuggestions is how many organizations "no such organization" suggests.
const maxSuggestions = 5

func (a *Admin) logger(t *router.Turn) *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return a.o.Logger
}

// orgsAdd answers `orgs add <domain>` with the confirmation (or the organization that already
// covers the domain).
func (a *Admin) orgsAdd(ctx context.Context, t *router.Turn, cmd commands.Command, _ authz.Roles) error {
	return a.previewAdd(ctx, t, cmd.Arg("domain"))
}

// onAdd is the Retry of a failed look-up.
func (a *Admin) onAdd(ctx context.Context, t *router.Turn) error {
	if _, ok, err := a.authorize(ctx, t, authz.ActionOrgsAdd); !ok || err != nil {
		return err
	}
	return a.previewAdd(ctx, t, clickData(t)[cards.KeyDomain])
}

func (a *Admin) previewAdd(ctx context.Context, t *router.Turn, domain string) error {
	p, err := a.o.Service.PreviewConnectedOrg(ctx, domain)
	switch {
	case errors.Is(err, entitlement.ErrInvalid):
		return answerText(ctx, t, "Not a domain", fmt.Sprintf("%q is not a domain name such as fabrikam.com.", domain))
	case errors.Is(err, entitlement.ErrOwnTenant):
		return answerText(ctx, t, "That is this tenant", domain+" belongs to this tenant; connected organizations are for partners.")
	case err != nil:
		a.logger(t).ErrorContext(ctx, "looking up a domain failed", "error", err, "graph_request_id", graphRequestID(err))
		return answer(ctx, t, cards.Error("I couldn't look up "+domain, "Reading the domain's tenant and the connected organizations failed just now. Nothing was changed.",
			cards.Data{cards.KeyVerb: cards.VerbOrgAdd, cards.KeyDomain: domain}))
	case p.Existing != nil:
		return answer(ctx, t, cards.OrgExists(p.Domain, *p.Existing))
	}
	return answer(ctx, t, cards.OrgAddConfirm(cards.OrgAddInput{Domain: p.Domain, DisplayName: p.DisplayName, TenantID: p.TenantID}))
}

// onAddConfirm creates the connected organization as the clicking admin.
func (a *Admin) onAddConfirm(ctx context.Context, t *router.Turn) error {
	if _, ok, err := a.authorize(ctx, t, authz.ActionOrgsAdd); !ok || err != nil {
		return err
	}
	domain := clickData(t)[cards.KeyDomain]
	if !entitlement.ValidDomain(domain) {
		return answerText(ctx, t, "This card is out of date", "Type orgs add with the domain again.")
	}
	retry := cards.Data{cards.KeyVerb: cards.VerbOrgAddConfirm, cards.KeyDomain: domain}
	id, cred, ok, err := a.delegated(ctx, t, "Sign in to add the connected organization",
		cards.Error("Sign-in is temporarily unavailable", "Nothing was changed. Try again in a moment.", retry))
	if !ok {
		return err
	}
	res, err := a.o.Service.AddConnectedOrg(ctx, cred, domain)
	entry := a.entry(t, id, authz.ActionOrgsAdd, domain, first(res.GraphRequestID, graphRequestID(err)))
	var exists *entitlement.OrgExistsError
	switch {
	case errors.As(err, &exists):
		entry.Outcome, entry.Detail = "exists", "connected organization "+exists.Org.ID
		a.record(ctx, t, entry)
		return answer(ctx, t, cards.OrgExists(domain, exists.Org))
	case errors.Is(err, entitlement.ErrForbidden):
		entry.Outcome = "forbidden"
		a.record(ctx, t, entry)
		return answer(ctx, t, cards.Error("Entra refused", "Your account may not add connected organizations. In Entra that takes a role such as Identity Governance Administrator. Nothing was changed.", nil))
	case errors.Is(err, entitlement.ErrRefused), errors.Is(err, entitlement.ErrOwnTenant), errors.Is(err, entitlement.ErrInvalid):
		entry.Outcome, entry.Detail = "refused", err.Error()
		a.record(ctx, t, entry)
		return answer(ctx, t, cards.Error("Entra refused", reason(err)+" Nothing was changed.", nil))
	case err != nil:
		entry.Outcome, entry.Detail = "failed", err.Error()
		a.record(ctx, t, entry)
		a.logger(t).ErrorContext(ctx, "adding a connected organization failed", "error", err, "graph_request_id", entry.GraphRequestID)
		return answer(ctx, t, cards.Error("Adding the organization failed", "Nothing was changed. Try again in a moment.", retry))
	}
	entry.Outcome, entry.Detail = "created", "connected organization "+res.Org.ID
	a.record(ctx, t, entry)
	return answer(ctx, t, cards.OrgAdded(res.Org))
}

// orgsRemove answers `orgs remove <organization>`: the confirmation for one match, a list to
// pick from for several, suggestions for none.
func (a *Admin) orgsRemove(ctx context.Context, t *router.Turn, cmd commands.Command, _ authz.Roles) error {
	q := cmd.Arg("organization")
	matches, err := a.o.Service.ResolveConnectedOrg(ctx, q)
	if err != nil {
		return fmt.Errorf("resolve connected organization: %w", err)
	}
	switch len(matches) {
	case 1:
		return a.removeConfirm(ctx, t, matches[0])
	case 0:
		all, err := a.o.Service.ConnectedOrgs(ctx, 0)
		if err != nil {
			return fmt.Errorf("list connected organizations: %w", err)
		}
		return answer(ctx, t, cards.OrgPick(cards.OrgPickInput{Query: q, NoMatch: true, Orgs: suggestOrgs(q, all)}))
	}
	return answer(ctx, t, cards.OrgPick(cards.OrgPickInput{Query: q, Orgs: matches}))
}

// onRemove opens the confirmation for an organization picked from a list.
func (a *Admin) onRemove(ctx context.Context, t *router.Turn) error {
	if _, ok, err := a.authorize(ctx, t, authz.ActionOrgsRemove); !ok || err != nil {
		return err
	}
	org, err := a.o.Service.GetConnectedOrg(ctx, clickData(t)[cards.KeyOrgID])
	switch {
	case errors.Is(err, entitlement.ErrNotFound):
		return answerText(ctx, t, "No such organization", "That connected organization no longer exists.")
	case err != nil:
		a.logger(t).ErrorContext(ctx, "reading a connected organization failed", "error", err, "graph_request_id", graphRequestID(err))
		return answer(ctx, t, cards.Error("Couldn't read the organization", "Try again in a moment.",
			cards.Data{cards.KeyVerb: cards.VerbOrgRemove, cards.KeyOrgID: clickData(t)[cards.KeyOrgID]}))
	}
	return a.removeConfirm(ctx, t, org)
}

// removeConfirm shows what removing org means: the policies that target it and the scenarios
// that list it as a partner.
func (a *Admin) removeConfirm(ctx context.Context, t *router.Turn, org entitlement.ConnectedOrg) error {
	in := cards.OrgRemoveInput{Org: org}
	var perr, serr error
	in.Policies, perr = a.o.Service.PoliciesTargetingOrg(ctx, org.ID)
	in.Scenarios, serr = a.o.Service.ScenariosWithOrg(ctx, org)
	if err := errors.Join(perr, serr); err != nil {
		a.logger(t).WarnContext(ctx, "checking what uses a connected organization failed", "error", err)
		in.Unchecked = true
	}
	return answer(ctx, t, cards.OrgRemoveConfirm(in))
}

// onRemoveConfirm deletes the connected organization as the clicking admin.
func (a *Admin) onRemoveConfirm(ctx context.Context, t *router.Turn) error {
	if _, ok, err := a.authorize(ctx, t, authz.ActionOrgsRemove); !ok || err != nil {
		return err
	}
	orgID := clickData(t)[cards.KeyOrgID]
	if !entitlement.ValidEntityID(orgID) {
		return answerText(ctx, t, "This card is out of date", "Type orgs remove with the organization again.")
	}
	retry := cards.Data{cards.KeyVerb: cards.VerbOrgRemoveConfirm, cards.KeyOrgID: orgID}
	id, cred, ok, err := a.delegated(ctx, t, "Sign in to remove the connected organization",
		cards.Error("Sign-in is temporarily unavailable", "Nothing was changed. Try again in a moment.", retry))
	if !ok {
		return err
	}
	name := orgID
	if org, err := a.o.Service.GetConnectedOrg(ctx, orgID); err == nil && org.DisplayName != "" {
		name = org.DisplayName
	}
	res, err := a.o.Service.RemoveConnectedOrg(ctx, cred, orgID)
	entry := a.entry(t, id, authz.ActionOrgsRemove, orgID, first(res.GraphRequestID, graphRequestID(err)))
	entry.Detail = name
	switch {
	case errors.Is(err, entitlement.ErrNotFound):
		entry.Outcome = "not_found"
		a.record(ctx, t, entry)
		return answerText(ctx, t, "Already removed", name+" is not a connected organization any more.")
	case errors.Is(err, entitlement.ErrForbidden):
		entry.Outcome = "forbidden"
		a.record(ctx, t, entry)
		return answer(ctx, t, cards.Error("Entra refused", "Your account may not remove connected organizations. In Entra that takes a role such as Identity Governance Administrator. Nothing was changed.", nil))
	case errors.Is(err, entitlement.ErrRefused):
		entry.Outcome, entry.Detail = "refused", name+": "+err.Error()
		a.record(ctx, t, entry)
		return answer(ctx, t, cards.Error("Entra refused the removal", reason(err)+" Nothing was changed.", nil))
	case err != nil:
		entry.Outcome, entry.Detail = "failed", name+": "+err.Error()
		a.record(ctx, t, entry)
		a.logger(t).ErrorContext(ctx, "removing a connected organization failed", "error", err, "graph_request_id", entry.GraphRequestID)
		return answer(ctx, t, cards.Error("Removing the organization failed", "Nothing was changed. Try again in a moment.", retry))
	}
	entry.Outcome = "removed"
	a.record(ctx, t, entry)
	return answer(ctx, t, cards.Message("Connected organization removed",
		name+" is no longer a connected organization. Entra records you as the one who removed it."))
}

// onCancel drops a confirmation; the audit log keeps that the admin decided against it.
func (a *Admin) onCancel(ctx context.Context, t *router.Turn) error {
	data := clickData(t)
	action, target := authz.ActionOrgsRemove, data[cards.KeyOrgID]
	if d := data[cards.KeyDomain]; d != "" {
		action, target = authz.ActionOrgsAdd, d
	}
	if _, ok, err := a.authorize(ctx, t, action); !ok || err != nil {
		return err
	}
	e := a.entry(t, nil, action, target, "")
	e.Outcome = "cancelled"
	a.record(ctx, t, e)
	return answerText(ctx, t, "Cancelled", "Nothing was changed.")
}

// delegated obtains the clicking admin's Graph credential from the click's SSO token. When it
// cannot (no token yet, expired, wrong user, consent missing), it answers the turn as Teams
// expects and ok is false; failure is the card shown when sign-in is unavailable. err reports
// only a failure to answer.
func (a *Admin) delegated(ctx context.Context, t *router.Turn, why string, failure cards.Card) (id *sso.Identity, cred azcore.TokenCredential, ok bool, err error) {
	respond := func(resp botframework.InvokeResponse) (*sso.Identity, azcore.TokenCredential, bool, error) {
		return nil, nil, false, t.Respond(resp)
	}
	if string(t.Activity.Type) != botframework.TypeInvoke {
		// Action.Submit (an old client's fallback) carries no SSO token and cannot get one.
		return respond(botframework.MessageResponse("This needs a newer Teams client that supports single sign-on on cards."))
	}
	av, err := t.Activity.ActionValue()
	if err != nil {
		return respond(botframework.ErrorResponse(http.StatusBadRequest, "BadRequest", "This card action is malformed."))
	}
	cctx, cancel := context.WithTimeout(ctx, clickBudget)
	defer cancel()
	id, cred, resp, err := a.o.Auth.Click(cctx, a.logger(t), av, t.Identity.TenantID, t.Identity.AADObjectID, why)
	switch {
	case resp != nil:
		return respond(*resp)
	case err != nil:
		return respond(botframework.CardResponse(failure))
	}
	return id, cred, true, nil
}

// entry starts the audit entry of a click; id, when set, is the validated SSO identity (the same
// user as the activity's sender).
func (a *Admin) entry(t *router.Turn, id *sso.Identity, action authz.Action, target, graphRequestID string) store.AuditEntry {
	e := store.AuditEntry{ActorOID: t.Identity.AADObjectID, ActorName: t.Identity.Name, TenantID: t.Identity.TenantID,
		Action: string(action), Target: target, ActivityID: t.Activity.ID, ConversationID: t.Activity.Conversation.ID,
		GraphRequestID: graphRequestID}
	if id != nil {
		e.ActorOID, e.TenantID = id.OID, id.TenantID
		e.ActorName = first(id.Name, e.ActorName)
	}
	return e
}

// record appends an audit entry, logging (not failing) when the store refuses it: the change in Entra
// has happened either way.
func (a *Admin) record(ctx context.Context, t *router.Turn, e store.AuditEntry) {
	if err := a.o.Store.AppendAudit(ctx, e); err != nil {
		a.logger(t).ErrorContext(ctx, "recording an audit entry failed", "action", e.Action, "error", err)
	}
}

// reason is Entra's own words for a refusal, else the error.
func reason(err error) string {
	if ge, ok := graph.AsError(err); ok && ge != nil && ge.Message != "" {
		msg := strings.TrimSpace(ge.Message)
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
		return "Entra says: " + msg
	}
	if errors.Is(err, entitlement.ErrOwnTenant) {
		return "The domain belongs to this tenant; connected organizations are for partners."
	}
	return "The request was refused."
}

// suggestOrgs returns up to maxSuggestions organizations whose name or domain is close to q:
// containing it, contained in it, or a few typos away.
func suggestOrgs(q string, all []entitlement.ConnectedOrg) []entitlement.ConnectedOrg {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return nil
	}
	type scored struct {
		org  entitlement.ConnectedOrg
		dist int
	}
	var hits []scored
	for _, o := range all {
		best := -1
		for _, cand := range append([]string{strings.ToLower(o.DisplayName)}, o.Domains...) {
			if cand == "" {
				continue
			}
			d := commands.Distance(q, cand)
			if strings.Contains(cand, q) || strings.Contains(q, cand) {
				d = 0
			}
			if d <= max(1, len([]rune(cand))/4) && (best < 0 || d < best) {
				best = d
			}
		}
		if best >= 0 {
			hits = append(hits, scored{o, best})
		}
	}
	slices.SortStableFunc(hits, func(x, y scored) int { return x.dist - y.dist })
	out := make([]entitlement.ConnectedOrg, 0, min(len(hits), maxSuggestions))
	for _, h := range hits[:min(len(hits), maxSuggestions)] {
		out = append(out, h.org)
	}
	return out
}
