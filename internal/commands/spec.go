package commands

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"guestpass/internal/authz"
)

// Kind is the type of an argument or flag value; Parse validates and canonicalises values by kind.
type Kind int

// Value kinds.
const (
	// KindString is free text (trimmed, at most MaxValueLen characters).
	KindString Kind = iota
	// KindInt is a decimal integer within [Min, Max].
	KindInt
	// KindBool is a switch: present means true; --flag=false is accepted too.
	KindBool
	// KindEmail is an email address; a mailto: prefix or enclosing <…> is removed and the domain
	// lower-cased.
	KindEmail
	// KindDomain is a DNS domain name such as contoso.com, lower-cased.
	KindDomain
)

// Arg describes a positional argument.
type Arg struct {
	// Name appears in usage as <name>.
	Name string
	Kind Kind
	// Required arguments must be given.
	Required bool
	// Rest takes every remaining word, joined by single spaces, so names need no quotes:
	// `scenario show Project X`.
	Rest bool
	// List takes every remaining word and splits each on commas and semicolons, so pasted
	// address lists work: `invite a@x.com, b@y.com; c@z.com`.
	List bool
	// Max bounds the number of List values.
	Max int
	// Choices, when set, are the only accepted values (case-insensitive); the value becomes the
	// listed spelling.
	Choices []string
	// Default is the value when the argument is absent.
	Default string
}

// Flag describes a --flag.
type Flag struct {
	// Name is the flag without dashes, lower-case.
	Name string
	Kind Kind
	// Placeholder appears in usage: --scenario <name>.
	Placeholder string
	// Default is the value when the flag is absent.
	Default string
	// Min and Max bound KindInt values.
	Min, Max int
	// Required flags must be given.
	Required bool
	// Help is a short description for help output.
	Help string
}

// Spec describes one command or sub-command. The registry of specs is the single source of the
// parser's grammar, of help output and of the manifest's command lists.
type Spec struct {
	// Name is the command word ("scenario"); Sub the sub-command word ("show"), empty for a
	// command without one.
	Name string
	Sub  string
	// Aliases are other phrases for the same command, e.g. "new scenario".
	Aliases []string
	// Action is what authz decides on.
	Action authz.Action
	Args   []Arg
	Flags  []Flag
	// Summary is a one-line description (at most 128 characters, the manifest's limit).
	Summary string
	// Manifest orders the command in the Teams manifest's command lists (1 first); 0 leaves it
	// out. Teams shows at most 10 commands per list.
	Manifest int
}

// Path is the command as typed without arguments: "scenario show", "audit".
func (s Spec) Path() string {
	if s.Sub == "" {
		return s.Name
	}
	return s.Name + " " + s.Sub
}

// Usage is the usage line, generated from the spec so it cannot drift from the grammar, e.g.
// `expiring [--days <1-365>]`.
func (s Spec) Usage() string {
	var b strings.Builder
	b.WriteString(s.Path())
	for _, a := range s.Args {
		var v string
		switch {
		case len(a.Choices) > 0:
			v = strings.Join(a.Choices, "|")
		case a.List:
			v = "<" + a.Name + ">..."
		default:
			v = "<" + a.Name + ">"
		}
		if !a.Required {
			v = "[" + v + "]"
		}
		b.WriteString(" " + v)
	}
	for _, f := range s.Flags {
		v := "--" + f.Name
		switch f.Kind {
		case KindBool:
		case KindInt:
			v += fmt.Sprintf(" <%d-%d>", f.Min, f.Max)
		default:
			v += " <" + f.Placeholder + ">"
		}
		if !f.Required {
			v = "[" + v + "]"
		}
		b.WriteString(" " + v)
	}
	return b.String()
}

// flag returns the flag named name, or nil.
func (s *Spec) flag(name string) *Flag {
	for i := range s.Flags {
		if s.Flags[i].Name == name {
			return &s.Flags[i]
		}
	}
	return nil
}

// MaxInvite is the most addresses one invite command takes, matching the invite card form.
const MaxInvite = 50

var scenarioFlag = Flag{Name: "scenario", Kind: KindString, Placeholder: "name", Help: "only this scenario"}

// registry lists every command in help order. Keep Summary lines short: they are shown in Teams'
// command menu.
var registry = []*Spec{
	{
		Name: "help", Aliases: []string{"?"}, Action: authz.ActionHelp, Manifest: 1,
		Args:    []Arg{{Name: "command", Rest: true}},
		Summary: "Show what you can ask me, or how to use one command.",
	},
	{
		Name: "approvals", Action: authz.ActionApprovals, Manifest: 2,
		Summary: "Your pending approvals, with Approve and Deny.",
	},
	{
		Name: "scenarios", Aliases: []string{"scenario list"}, Action: authz.ActionScenarios, Manifest: 3,
		Flags:   []Flag{{Name: "retired", Kind: KindBool, Help: "include retired scenarios"}},
		Summary: "List the guest scenarios you sponsor.",
	},
	{
		Name: "scenario", Sub: "show", Action: authz.ActionScenarioShow, Manifest: 5,
		Args:    []Arg{{Name: "name", Required: true, Rest: true}},
		Summary: "Show a scenario: resources, approval, link and guest counts.",
	},
	{
		Name: "scenario", Sub: "new", Aliases: []string{"new scenario", "scenario create", "create scenario"},
		Action:   authz.ActionScenarioNew,
		Manifest: 4,
		Args:     []Arg{{Name: "name", Rest: true}},
		Flags:    []Flag{{Name: "template", Kind: KindString, Placeholder: "template", Help: "start from a template"}},
		Summary:  "Define a new guest scenario step by step.",
	},
	{
		Name: "scenario", Sub: "edit", Action: authz.ActionScenarioEdit, Manifest: 12,
		Args:    []Arg{{Name: "name", Required: true, Rest: true}},
		Summary: "Change a scenario's resources, approvers or duration.",
	},
	{
		Name: "scenario", Sub: "retire", Action: authz.ActionScenarioRetire, Manifest: 13,
		Args:    []Arg{{Name: "name", Required: true, Rest: true}},
		Summary: "Stop new requests for a scenario; existing access stays.",
	},
	{
		Name: "invite", Action: authz.ActionInvite, Manifest: 6,
		Args:    []Arg{{Name: "email", Kind: KindEmail, Required: true, List: true, Max: MaxInvite}},
		Flags:   []Flag{{Name: "scenario", Kind: KindString, Placeholder: "name", Help: "the scenario to invite to"}},
		Summary: "Send guests the link to request access to a scenario.",
	},
	{
		Name: "guests", Aliases: []string{"guests list"}, Action: authz.ActionGuests, Manifest: 7,
		Flags:   []Flag{scenarioFlag},
		Summary: "Your guests: status, scenario, since and until.",
	},
	{
		Name: "guests", Sub: "remove", Action: authz.ActionGuestsRemove,
		Args:    []Arg{{Name: "email", Kind: KindEmail, Required: true}},
		Flags:   []Flag{scenarioFlag},
		Summary: "Remove a guest's access (asks for confirmation).",
	},
	{
		Name: "requests", Action: authz.ActionRequests, Manifest: 8,
		Args:    []Arg{{Name: "state", Choices: []string{"pending", "all"}, Default: "pending"}},
		Flags:   []Flag{scenarioFlag},
		Summary: "Access requests across all scenarios (admins).",
	},
	{
		Name: "catalogs", Action: authz.ActionCatalogs,
		Summary: "Entitlement management catalogs (admins).",
	},
	{
		Name: "packages", Action: authz.ActionPackages,
		Flags:   []Flag{{Name: "catalog", Kind: KindString, Placeholder: "name", Help: "only this catalog"}},
		Summary: "Access packages (admins).",
	},
	{
		Name: "orgs", Aliases: []string{"orgs list", "organizations"}, Action: authz.ActionOrgs,
		Summary: "Connected organizations (admins).",
	},
	{
		Name: "orgs", Sub: "add", Action: authz.ActionOrgsAdd,
		Args:    []Arg{{Name: "domain", Kind: KindDomain, Required: true}},
		Summary: "Add a connected organization by domain (admins).",
	},
	{
		Name: "orgs", Sub: "remove", Action: authz.ActionOrgsRemove,
		Args:    []Arg{{Name: "organization", Required: true, Rest: true}},
		Summary: "Remove a connected organization (admins).",
	},
	{
		Name: "expiring", Action: authz.ActionExpiring, Manifest: 10,
		Flags:   []Flag{{Name: "days", Kind: KindInt, Default: "30", Min: 1, Max: 365, Help: "look this many days ahead"}},
		Summary: "Guest access that expires soon (admins).",
	},
	{
		Name: "audit", Action: authz.ActionAudit, Manifest: 11,
		Flags: []Flag{
			{Name: "user", Kind: KindString, Placeholder: "user", Help: "only this user's actions"},
			{Name: "action", Kind: KindString, Placeholder: "action", Help: "only this action, e.g. approval.unreachable"},
			{Name: "last", Kind: KindInt, Default: "50", Min: 1, Max: 500, Help: "how many entries"},
		},
		Summary: "The audit log, newest first (admins).",
	},
	{
		Name: "stats", Action: authz.ActionStats,
		Summary: "Scenario, guest and approval numbers (admins).",
	},
	{
		Name: "doctor", Action: authz.ActionDoctor, Manifest: 9,
		Summary: "Check configuration, tokens, store and Graph permissions (admins).",
	},
}

// Specs returns the registry in help order. The returned specs are copies.
func Specs() []Spec {
	out := make([]Spec, len(registry))
	for i, s := range registry {
		out[i] = *s
	}
	return out
}

// ForAction returns the spec whose action is a, if a is a text command.
func ForAction(a authz.Action) (Spec, bool) {
	for _, s := range registry {
		if s.Action == a {
			return *s, true
		}
	}
	return Spec{}, false
}

// Visible returns the commands a user with roles may run, in help order: `help` shows only these.
func Visible(roles authz.Roles) []Spec {
	var out []Spec
	for _, s := range registry {
		if authz.Allowed(roles, s.Action) {
			out = append(out, *s)
		}
	}
	return out
}

// ManifestCommand is one entry of a Teams manifest command list.
type ManifestCommand struct {
	// Title is what Teams puts in the compose box, so it parses as the command (at most 32
	// characters).
	Title string `json:"title"`
	// Description is shown in the command menu (at most 128 characters).
	Description string `json:"description"`
}

// MaxManifestCommands is the Teams manifest schema's limit per command list.
const MaxManifestCommands = 10

// ManifestCommands returns the command list for a manifest scope, best first. Personal chats list
// everything ranked; team and group-chat lists leave out commands that answer only in a personal
// chat, since selecting them there would only earn a refusal.
func ManifestCommands(personal bool) []ManifestCommand {
	ranked := make([]*Spec, 0, len(registry))
	for _, s := range registry {
		if s.Manifest == 0 || (!personal && authz.RequiresPersonalChat(s.Action)) {
			continue
		}
		ranked = append(ranked, s)
	}
	slices.SortStableFunc(ranked, func(a, b *Spec) int { return cmp.Compare(a.Manifest, b.Manifest) })
	if len(ranked) > MaxManifestCommands {
		ranked = ranked[:MaxManifestCommands]
	}
	out := make([]ManifestCommand, len(ranked))
	for i, s := range ranked {
		out[i] = ManifestCommand{Title: s.Path(), Description: s.Summary}
	}
	return out
}
