package commands

import (
	"fmt"
	"strings"
)

// HelpTopic returns the specs `help <topic>` describes: one command ("scenario show", an alias
// such as "new scenario"), or every sub-command of a command word ("scenario"). An unknown topic
// gives a *UsageError with a suggestion.
func HelpTopic(topic string) ([]Spec, error) {
	t := strings.ToLower(strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(Normalize(topic)), "/")), " "))
	// A command word with sub-commands shows them all, even when it also runs on its own ("orgs").
	if subs, ok := groups[t]; ok && (len(subs) > 1 || subs[0].Sub != "") {
		out := make([]Spec, len(subs))
		for i, s := range subs {
			out[i] = *s
		}
		return out, nil
	}
	if s, ok := phrases[t]; ok {
		return []Spec{*s}, nil
	}
	return nil, &UsageError{
		Command:    "help",
		Message:    fmt.Sprintf("There is no command `%s`.", abbreviate(t)),
		Suggestion: suggest(t, phraseOrder),
		Usage:      phrases["help"].Usage(),
	}
}
