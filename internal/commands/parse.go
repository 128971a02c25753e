package commands

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input limits. Teams allows messages of about 28 KB; a command, even an invite with 50 auto-linked
// addresses, is far smaller, and bounding it bounds the parser's work.
const (
	// MaxInputBytes is the longest message text Parse accepts.
	MaxInputBytes = 32 << 10
	// MaxValueLen is the longest argument or flag value, in characters.
	MaxValueLen = 256
)

// ErrEmpty reports text that holds no command at all (for example only the bot's mention).
var ErrEmpty = errors.New("commands: empty command")

// UsageError reports text that is not a valid command, in words meant for the user.
type UsageError struct {
	// Command is the recognised command path ("scenario show"), or the command word when only
	// that was recognised ("scenario"); empty when no command was recognised.
	Command string
	// Message says what is wrong.
	Message string
	// Suggestion is the closest valid command, sub-command, flag or value ("scenario show",
	// "--days", "pending"); empty when nothing is close.
	Suggestion string
	// Usage is the command's usage line (one per sub-command when the sub-command is missing).
	Usage string
}

func (e *UsageError) Error() string {
	msg := e.Message
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" Did you mean `%s`?", e.Suggestion)
	}
	return msg
}

// phrases maps every way to type a command (path and aliases, lower-case) to its spec; groups maps
// a command word with sub-commands to its specs.
var (
	phrases     = map[string]*Spec{}
	phraseOrder []string
	groups      = map[string][]*Spec{}
)

// maxPhraseWords is the longest command phrase, in words.
const maxPhraseWords = 2

func init() {
	for _, s := range registry {
		for _, p := range append([]string{s.Path()}, s.Aliases...) {
			p = strings.ToLower(p)
			if _, dup := phrases[p]; dup {
				panic("commands: duplicate command phrase " + p)
			}
			if len(strings.Fields(p)) > maxPhraseWords {
				panic("commands: command phrase too long: " + p)
			}
			phrases[p] = s
			phraseOrder = append(phraseOrder, p)
		}
		groups[s.Name] = append(groups[s.Name], s)
	}
}

// Parse parses the text of a message as a command: `/command …` or `command …`, command words in
// any case, values in straight or typographic quotes, `--flag value`, `--flag=value` and boolean
// `--flag`. The text may be Teams' HTML-ish message text (see Normalize). Values are validated
// against the command's spec and canonicalised. Errors are *UsageError, or ErrEmpty.
func Parse(text string) (Command, error) {
	if len(text) > MaxInputBytes {
		return Command{}, &UsageError{Message: "That message is too long to be a command."}
	}
	toks, uerr := tokenize(Normalize(text))
	if uerr != nil {
		return Command{}, uerr
	}
	if len(toks) > 0 && !toks[0].quoted && strings.HasPrefix(toks[0].text, "/") {
		toks[0].text = strings.TrimPrefix(toks[0].text, "/")
		if toks[0].text == "" {
			toks = toks[1:]
		}
	}
	if len(toks) == 0 {
		return Command{}, ErrEmpty
	}
	spec, rest, err := matchCommand(toks)
	if err != nil {
		return Command{}, err
	}
	return bind(spec, rest)
}

// words returns the leading tokens that can be command words, lower-cased.
func words(toks []token) []string {
	var out []string
	for _, t := range toks {
		if t.quoted || isFlag(t) || len(out) == maxPhraseWords {
			break
		}
		out = append(out, strings.ToLower(t.text))
	}
	return out
}

// matchCommand finds the longest command phrase at the start of toks.
func matchCommand(toks []token) (*Spec, []token, error) {
	w := words(toks)
	for n := len(w); n > 0; n-- {
		if s, ok := phrases[strings.Join(w[:n], " ")]; ok {
			return s, toks[n:], nil
		}
	}
	if len(w) == 0 {
		return nil, nil, &UsageError{Message: fmt.Sprintf("`%s` is not a command. Type `help` to see what I can do.", abbreviate(toks[0].text))}
	}
	if subs, ok := groups[w[0]]; ok {
		// A command word whose every form has a sub-command, e.g. "scenario" alone.
		if len(w) > 1 {
			return nil, nil, unknownSub(w[0], w[1], subs)
		}
		return nil, nil, &UsageError{
			Command: w[0],
			Message: fmt.Sprintf("`%s` needs one of: %s.", w[0], subNames(subs)),
			Usage:   usages(subs),
		}
	}
	// Compare the typed words with every phrase of the same length.
	var candidates, typed []string
	for _, p := range phraseOrder {
		n := len(strings.Fields(p))
		if n <= len(w) {
			candidates = append(candidates, p)
			typed = append(typed, strings.Join(w[:n], " "))
		}
	}
	return nil, nil, &UsageError{
		Message:    fmt.Sprintf("`%s` is not a command. Type `help` to see what I can do.", abbreviate(w[0])),
		Suggestion: suggestEach(typed, candidates),
	}
}

func unknownSub(name, sub string, subs []*Spec) *UsageError {
	var names []string
	for _, s := range subs {
		if s.Sub != "" {
			names = append(names, s.Sub)
		}
	}
	e := &UsageError{
		Command: name,
		Message: fmt.Sprintf("`%s %s` is not a command; `%s` takes %s.", name, abbreviate(sub), name, subNames(subs)),
		Usage:   usages(subs),
	}
	if s := suggest(sub, names); s != "" {
		e.Suggestion = name + " " + s
	}
	return e
}

// subNames lists the sub-commands of a group for messages: "show, new, edit or retire".
func subNames(subs []*Spec) string {
	var names []string
	for _, s := range subs {
		if s.Sub != "" {
			names = append(names, "`"+s.Sub+"`")
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func usages(subs []*Spec) string {
	lines := make([]string, len(subs))
	for i, s := range subs {
		lines[i] = s.Usage()
	}
	return strings.Join(lines, "\n")
}

// isFlag reports whether t is a flag: unquoted and starting with "--", a single dash and a letter,
// or an en or em dash (phones turn a typed "--" into "—").
func isFlag(t token) bool {
	if t.quoted {
		return false
	}
	name, ok := flagName(t.text)
	return ok && name != ""
}

// flagName strips a flag's dashes; ok is false when s is not flag-shaped. "--" alone gives ("",
// true).
func flagName(s string) (string, bool) {
	for _, p := range []string{"--", "—", "–"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest, true
		}
	}
	if len(s) >= 2 && s[0] == '-' && (s[1] >= 'a' && s[1] <= 'z' || s[1] >= 'A' && s[1] <= 'Z') {
		return s[1:], true
	}
	return "", false
}

// bind assigns the tokens after the command phrase to the spec's flags and arguments.
func bind(spec *Spec, toks []token) (Command, error) {
	usageErr := func(format string, args ...any) *UsageError {
		return &UsageError{Command: spec.Path(), Message: fmt.Sprintf(format, args...), Usage: spec.Usage()}
	}
	cmd := Command{Name: spec.Name, Sub: spec.Sub, spec: spec}
	var positional []token
	endOfFlags := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		name, ok := flagName(t.text)
		if endOfFlags || t.quoted || !ok {
			positional = append(positional, t)
			continue
		}
		if name == "" {
			// Only a typed "--" ends the options; a lone dash is punctuation in a name
			// ("Project – Phase 2").
			if t.text == "--" {
				endOfFlags = true
			} else {
				positional = append(positional, t)
			}
			continue
		}
		value, hasValue := "", false
		if t.eq >= 0 {
			// t.eq is the '=' offset in the whole token; the name lost its dashes.
			dashes := len(t.text) - len(name)
			name, value, hasValue = t.text[dashes:t.eq], t.text[t.eq+1:], true
		}
		name = strings.ToLower(name)
		f := spec.flag(name)
		if f == nil {
			if len(spec.Flags) == 0 {
				return Command{}, usageErr("`%s` takes no options.", spec.Path())
			}
			e := usageErr("`%s` has no option `--%s`.", spec.Path(), abbreviate(name))
			e.Suggestion = suggest("--"+name, flagList(spec))
			return Command{}, e
		}
		if _, dup := cmd.Flags[f.Name]; dup {
			return Command{}, usageErr("`--%s` is given twice.", f.Name)
		}
		if f.Kind == KindBool {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 >= len(toks) || isFlag(toks[i+1]) {
				return Command{}, usageErr("`--%s` needs a value.", f.Name)
			}
			i++
			value = toks[i].text
		}
		v, msg := canonical(f.Kind, value, f.Min, f.Max)
		if msg != "" {
			return Command{}, usageErr("`--%s`: %s", f.Name, msg)
		}
		if cmd.Flags == nil {
			cmd.Flags = map[string]string{}
		}
		cmd.Flags[f.Name] = v
	}
	for _, f := range spec.Flags {
		if _, ok := cmd.Flags[f.Name]; f.Required && !ok {
			return Command{}, usageErr("`--%s` is required.", f.Name)
		}
	}

	// A command with sub-commands whose bare form takes no arguments ("orgs") reads a stray word
	// as a mistyped sub-command ("orgs ad contoso.com").
	if len(spec.Args) == 0 && len(positional) > 0 {
		if subs := groups[spec.Name]; len(subs) > 1 && spec.Sub == "" && !positional[0].quoted {
			return Command{}, unknownSub(spec.Name, strings.ToLower(positional[0].text), subs)
		}
		return Command{}, usageErr("`%s` takes no %s: remove `%s`.", spec.Path(), argumentsWord(spec), abbreviate(positional[0].text))
	}
	for _, a := range spec.Args {
		var raw []string
		switch {
		case a.List:
			for _, t := range positional {
				raw = append(raw, strings.FieldsFunc(t.text, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })...)
			}
			positional = nil
		case a.Rest:
			var parts []string
			for _, t := range positional {
				parts = append(parts, t.text)
			}
			if v := strings.TrimSpace(strings.Join(parts, " ")); v != "" {
				raw = []string{v}
			}
			positional = nil
		case len(positional) > 0:
			raw = []string{positional[0].text}
			positional = positional[1:]
		}
		var values []string
		for _, r := range raw {
			if strings.TrimSpace(r) == "" {
				continue
			}
			v, msg := canonicalArg(a, r)
			if msg != "" {
				e := usageErr("<%s>: %s", a.Name, msg)
				if len(a.Choices) > 0 {
					e.Suggestion = suggest(strings.ToLower(r), a.Choices)
				}
				return Command{}, e
			}
			values = append(values, v)
		}
		if len(values) == 0 && a.Required {
			return Command{}, usageErr("<%s> is missing.", a.Name)
		}
		if a.Max > 0 && len(values) > a.Max {
			return Command{}, usageErr("at most %d values of <%s> at once; you gave %d.", a.Max, a.Name, len(values))
		}
		if len(values) > 0 {
			if cmd.args == nil {
				cmd.args = map[string][]string{}
			}
			cmd.args[a.Name] = values
			cmd.Args = append(cmd.Args, values...)
		}
	}
	if len(positional) > 0 {
		return Command{}, usageErr("unexpected `%s`.", abbreviate(positional[0].text))
	}
	return cmd, nil
}

func argumentsWord(s *Spec) string {
	if len(s.Flags) > 0 {
		return "arguments other than options"
	}
	return "arguments"
}

func flagList(s *Spec) []string {
	out := make([]string, len(s.Flags))
	for i, f := range s.Flags {
		out[i] = "--" + f.Name
	}
	return out
}

// canonicalArg validates a positional value against its spec.
func canonicalArg(a Arg, v string) (string, string) {
	if len(a.Choices) > 0 {
		v = strings.TrimSpace(v)
		for _, c := range a.Choices {
			if strings.EqualFold(v, c) {
				return c, ""
			}
		}
		return "", fmt.Sprintf("`%s` is not one of %s.", abbreviate(v), strings.Join(a.Choices, ", "))
	}
	return canonical(a.Kind, v, 0, 0)
}

// canonical validates v as a value of kind and returns its canonical form, or a message saying
// what is wrong.
func canonical(kind Kind, v string, lo, hi int) (string, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", "the value is empty."
	}
	if utf8.RuneCountInString(v) > MaxValueLen {
		return "", fmt.Sprintf("the value is longer than %d characters.", MaxValueLen)
	}
	switch kind {
	case KindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", fmt.Sprintf("`%s` is not a whole number.", abbreviate(v))
		}
		if n < lo || n > hi {
			return "", fmt.Sprintf("%d is not between %d and %d.", n, lo, hi)
		}
		return strconv.Itoa(n), ""
	case KindBool:
		switch strings.ToLower(v) {
		case "true", "yes", "on", "1":
			return "true", ""
		case "false", "no", "off", "0":
			return "false", ""
		}
		return "", fmt.Sprintf("`%s` is not true or false.", abbreviate(v))
	case KindEmail:
		e, ok := canonicalEmail(v)
		if !ok {
			return "", fmt.Sprintf("`%s` is not an email address.", abbreviate(v))
		}
		return e, ""
	case KindDomain:
		d := strings.ToLower(strings.TrimSuffix(v, "."))
		if !validDomain(d) {
			return "", fmt.Sprintf("`%s` is not a domain name such as contoso.com.", abbreviate(v))
		}
		return d, ""
	}
	return v, ""
}

// canonicalEmail accepts a bare address, optionally as mailto: or in angle brackets, and returns
// it with the domain lower-cased.
func canonicalEmail(v string) (string, bool) {
	v = strings.TrimPrefix(v, "mailto:")
	if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
		v = v[1 : len(v)-1]
	}
	if len(v) > 254 {
		return "", false
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Name != "" || addr.Address != v {
		return "", false
	}
	at := strings.LastIndexByte(v, '@')
	local, domain := v[:at], strings.ToLower(v[at+1:])
	if len(local) > 64 || strings.ContainsAny(local, "\"\\ ") || !validDomain(domain) {
		return "", false
	}
	return local + "@" + domain, true
}

// validDomain checks a lower-case DNS name: at least two labels of letters, digits and inner
// hyphens, each at most 63 characters, at most 253 in all, and a top-level label that is not all
// digits. Internationalised names must be given in their xn-- form.
func validDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != ""
}
