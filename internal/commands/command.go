package commands

import (
	"strconv"
	"strings"
	"unicode"

	"guestpass/internal/authz"
)

// Command is a parsed, validated command. Values are canonical: enum values in their listed
// spelling, numbers without leading zeros, domains lower-case.
type Command struct {
	// Name and Sub are the canonical command and sub-command words ("scenario", "show"); an alias
	// such as "new scenario" parses to its command's words.
	Name string
	Sub  string
	// Args are the positional values in spec order; a List argument contributes one value per
	// item, a Rest argument one value.
	Args []string
	// Flags are the flags given, by name without dashes; booleans are "true" or "false". Defaults
	// are not filled in: use the accessors, which apply them.
	Flags map[string]string

	spec *Spec
	args map[string][]string
}

// Spec returns the command's spec.
func (c Command) Spec() Spec {
	if c.spec == nil {
		return Spec{}
	}
	return *c.spec
}

// Path is the command path, e.g. "scenario show".
func (c Command) Path() string { return c.Spec().Path() }

// Action is the authorization action of the command.
func (c Command) Action() authz.Action { return c.Spec().Action }

// Arg returns the first value of the named argument, or its default.
func (c Command) Arg(name string) string {
	if v := c.args[name]; len(v) > 0 {
		return v[0]
	}
	if c.spec != nil {
		for _, a := range c.spec.Args {
			if a.Name == name {
				return a.Default
			}
		}
	}
	return ""
}

// ArgList returns every value of the named argument (a List argument's items).
func (c Command) ArgList(name string) []string {
	return append([]string(nil), c.args[name]...)
}

// Has reports whether the flag was given.
func (c Command) Has(flag string) bool {
	_, ok := c.Flags[flag]
	return ok
}

// Flag returns the flag's value, or its default when it was not given.
func (c Command) Flag(name string) string {
	if v, ok := c.Flags[name]; ok {
		return v
	}
	if c.spec != nil {
		if f := c.spec.flag(name); f != nil {
			return f.Default
		}
	}
	return ""
}

// Int returns an integer flag's value or default; Parse has already checked its range.
func (c Command) Int(name string) int {
	n, _ := strconv.Atoi(c.Flag(name))
	return n
}

// Bool returns a boolean flag's value; an absent flag is false unless its default says otherwise.
func (c Command) Bool(name string) bool { return c.Flag(name) == "true" }

// String renders the command in canonical form, quoting values where needed, so that parsing the
// result yields the same command: `scenario show "Project X"`, `expiring --days 14`.
func (c Command) String() string {
	var parts []string
	parts = append(parts, c.Path())
	if c.spec == nil {
		return strings.Join(parts, " ")
	}
	for _, a := range c.spec.Args {
		for _, v := range c.args[a.Name] {
			parts = append(parts, quote(v))
		}
	}
	for _, f := range c.spec.Flags {
		v, ok := c.Flags[f.Name]
		switch {
		case !ok:
		case f.Kind == KindBool && v == "true":
			parts = append(parts, "--"+f.Name)
		case f.Kind == KindBool:
			parts = append(parts, "--"+f.Name+"="+v)
		default:
			parts = append(parts, "--"+f.Name, quote(v))
		}
	}
	return strings.Join(parts, " ")
}

// quote returns v as one token: unchanged when it is plain, else double-quoted with backslashes
// before backslashes and quote characters.
func quote(v string) string {
	plain := v != ""
	for i, r := range v {
		if r == '\\' || r == ',' || r == ';' || r == '=' || isDoubleQuote(r) || isSingleQuote(r) || unicode.IsSpace(r) ||
			(i == 0 && (r == '-' || r == '—' || r == '–' || r == '/')) {
			plain = false
			break
		}
	}
	if plain {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if r == '\\' || isDoubleQuote(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
