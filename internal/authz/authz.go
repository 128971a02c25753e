// Package authz decides who may do what in guestpass: the roles a Teams user holds (resolved through
// Microsoft Graph and cached briefly), one authorization table of role × action, and the rule that
// admin actions, and anything else that shows guest or tenant data, are answered only in a personal
// (1:1) chat.
//
// Approvers are deliberately absent: whether someone may approve a request is decided per request by
// Entra when the approver's delegated token records the decision, so approve and deny are allowed to
// everyone here and refused, if at all, by Graph.
package authz

import (
	"fmt"
	"strings"

	"guestpass/internal/store"
)

// Roles are the guestpass roles of one user. The zero value is an ordinary user who may run only
// what everyone may run; it is also what a failed resolution yields (fail closed).
type Roles struct {
	// Admin: transitive member of ADMIN_GROUP_ID.
	Admin bool
	// Sponsor: member of SPONSOR_GROUP_ID when it is set, else any member (non-guest) user of the
	// tenant.
	Sponsor bool
	// Guest: an external user (userType Guest, an #EXT# UPN, an invited external account, or a
	// user from another tenant). Guest overrides Admin and Sponsor everywhere in this package, so a
	// guest who was added to the admin group by mistake still gets nothing more than everyone.
	Guest bool
}

// effective returns the roles that count for authorization: a guest keeps none of the elevated
// ones.
func (r Roles) effective() Roles {
	if r.Guest {
		return Roles{Guest: true}
	}
	return r
}

// String names the roles for logs and audit details, e.g. "admin,sponsor" or "guest".
func (r Roles) String() string {
	var parts []string
	if r.Guest {
		parts = append(parts, "guest")
	}
	if r.Admin {
		parts = append(parts, "admin")
	}
	if r.Sponsor {
		parts = append(parts, "sponsor")
	}
	if len(parts) == 0 {
		return "everyone"
	}
	return strings.Join(parts, ",")
}

// Action is something a user asks guestpass to do: a text command or a card action. Its value is
// the command path with dots ("scenario.new"), which is also what the audit log records.
type Action string

// Actions, one per command, sub-command and card action.
const (
	ActionHelp           Action = "help"
	ActionApprovals      Action = "approvals"
	ActionScenarios      Action = "scenarios"
	ActionScenarioShow   Action = "scenario.show"
	ActionScenarioNew    Action = "scenario.new"
	ActionScenarioEdit   Action = "scenario.edit"
	ActionScenarioRetire Action = "scenario.retire"
	ActionInvite         Action = "invite"
	ActionGuests         Action = "guests"
	ActionGuestsRemove   Action = "guests.remove"
	ActionRequests       Action = "requests"
	ActionCatalogs       Action = "catalogs"
	ActionPackages       Action = "packages"
	ActionOrgs           Action = "orgs"
	ActionOrgsAdd        Action = "orgs.add"
	ActionOrgsRemove     Action = "orgs.remove"
	ActionExpiring       Action = "expiring"
	ActionAudit          Action = "audit"
	ActionStats          Action = "stats"
	ActionDoctor         Action = "doctor"
	// ActionApprove and ActionDeny are the approval card's buttons.
	ActionApprove Action = "approve"
	ActionDeny    Action = "deny"
)

// Command returns how a user types the action, e.g. "scenario new" for ActionScenarioNew.
func (a Action) Command() string { return strings.ReplaceAll(string(a), ".", " ") }

// rule is one row of the authorization table.
type rule struct {
	everyone, sponsor, admin bool
	// personal: answered only in a personal chat, because the answer shows guest or tenant data
	// that must not reach a channel or group chat, which may include guests.
	personal bool
}

// Table columns, named so each row reads as a sentence.
const (
	yes = true
	no  = false
)

// table is the authorization table: the only place that says which role may run which action.
// Admins may do everything a sponsor may (they manage every scenario); a Guest holds neither role
// (see Roles.effective). An action missing here is refused to everyone.
var table = map[Action]rule{
	//                      everyone sponsor admin  personal chat only
	ActionHelp:           {yes, yes, yes, no},
	ActionApprovals:      {yes, yes, yes, yes}, // lists requestors and their justifications
	ActionApprove:        {yes, yes, yes, no},  // Entra checks the approver's delegated token
	ActionDeny:           {yes, yes, yes, no},  // likewise
	ActionScenarios:      {no, yes, yes, no},
	ActionScenarioShow:   {no, yes, yes, no},
	ActionScenarioNew:    {no, yes, yes, no},
	ActionScenarioEdit:   {no, yes, yes, no},
	ActionScenarioRetire: {no, yes, yes, no},
	ActionInvite:         {no, yes, yes, yes}, // results say which addresses already have access
	ActionGuests:         {no, yes, yes, yes}, // guests' names, addresses and status
	ActionGuestsRemove:   {no, yes, yes, yes},
	ActionRequests:       {no, no, yes, yes},
	ActionCatalogs:       {no, no, yes, yes},
	ActionPackages:       {no, no, yes, yes},
	ActionOrgs:           {no, no, yes, yes},
	ActionOrgsAdd:        {no, no, yes, yes},
	ActionOrgsRemove:     {no, no, yes, yes},
	ActionExpiring:       {no, no, yes, yes},
	ActionAudit:          {no, no, yes, yes},
	ActionStats:          {no, no, yes, yes},
	ActionDoctor:         {no, no, yes, yes},
}

// Actions returns every action in the table, for tests and for building help.
func Actions() []Action {
	out := make([]Action, 0, len(table))
	for a := range table {
		out = append(out, a)
	}
	return out
}

// Allowed reports whether a user with roles may perform action, wherever they ask. Unknown actions
// are refused.
func Allowed(roles Roles, action Action) bool {
	r, ok := table[action]
	if !ok {
		return false
	}
	e := roles.effective()
	return r.everyone || (r.sponsor && e.Sponsor) || (r.admin && e.Admin)
}

// RequiresPersonalChat reports whether action is answered only in a personal (1:1) chat. Unknown
// actions require one, failing closed.
func RequiresPersonalChat(action Action) bool {
	r, ok := table[action]
	return !ok || r.personal
}

// ConversationPersonal is the Teams conversationType of a 1:1 chat with the bot; "groupChat" and
// "channel" are shared conversations.
const ConversationPersonal = "personal"

// Refusal codes: stable values for Decision.Code and the audit log's outcome.
const (
	CodeUnknown      = "unknown_action"
	CodeGuest        = "guest"
	CodeNotSponsor   = "not_sponsor"
	CodeNotAdmin     = "not_admin"
	CodePersonalChat = "personal_chat_required"
)

// AuditActionRefused is the audit-log action of a refusal; the refused action is its target.
const AuditActionRefused = "authz.refused"

// Decision is the outcome of Decide: whether the action may run here and, when not, why, in words
// the bot can say to the user.
type Decision struct {
	Allowed bool
	// Code is one of the Code constants; empty when allowed.
	Code string
	// Reason is the refusal message for the user; empty when allowed.
	Reason string
}

// Decide applies the table to a user asking for action in a conversation of conversationType
// (Teams' "personal", "groupChat" or "channel"; anything but "personal" counts as shared). The role
// check comes first so that nobody is sent to a 1:1 chat only to be refused there.
func Decide(roles Roles, action Action, conversationType string) Decision {
	r, ok := table[action]
	if !ok {
		return Decision{Code: CodeUnknown, Reason: fmt.Sprintf("`%s` is not something I can do.", action.Command())}
	}
	if !Allowed(roles, action) {
		e := roles.effective()
		switch {
		case e.Guest:
			return Decision{Code: CodeGuest, Reason: fmt.Sprintf("Guest accounts can't run `%s`. Ask the person who sponsors your access.", action.Command())}
		case r.sponsor:
			return Decision{Code: CodeNotSponsor, Reason: fmt.Sprintf("Only sponsors can run `%s`. Ask a guestpass admin if you need to sponsor guests.", action.Command())}
		default:
			return Decision{Code: CodeNotAdmin, Reason: fmt.Sprintf("Only guestpass admins can run `%s`.", action.Command())}
		}
	}
	if r.personal && conversationType != ConversationPersonal {
		return Decision{Code: CodePersonalChat, Reason: fmt.Sprintf("`%s` shows guest and tenant details, so I answer it only in a 1:1 chat. Message me directly and ask there.", action.Command())}
	}
	return Decision{Allowed: true}
}

// Actor identifies who was refused, from the authenticated activity.
type Actor struct {
	TenantID       string
	UserOID        string
	UserName       string
	ActivityID     string
	ConversationID string
}

// RefusalAudit returns the audit-log entry recording that actor was refused action; the caller
// appends it with store.AppendAudit. It returns false when d allowed the action, so there is
// nothing to record.
func RefusalAudit(actor Actor, roles Roles, action Action, d Decision) (store.AuditEntry, bool) {
	if d.Allowed {
		return store.AuditEntry{}, false
	}
	return store.AuditEntry{
		ActorOID:       actor.UserOID,
		ActorName:      actor.UserName,
		TenantID:       actor.TenantID,
		Action:         AuditActionRefused,
		Target:         string(action),
		Outcome:        d.Code,
		Detail:         "roles=" + roles.String(),
		ActivityID:     actor.ActivityID,
		ConversationID: actor.ConversationID,
	}, true
}
