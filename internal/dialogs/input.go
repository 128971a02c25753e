package dialogs

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/router"
)

// Source is how an input reached the bot.
type Source int

// Input sources. All three drive the same step functions; they differ only in how the next card
// is delivered (see Engine).
const (
	// SourceText is a typed message.
	SourceText Source = iota
	// SourceSubmit is an Action.Submit click: a message whose value is the action data merged with
	// the card's inputs.
	SourceSubmit
	// SourceInvoke is an Action.Execute click: an adaptiveCard/action invoke.
	SourceInvoke
)

// Limits on card data, enforced where input enters: a card never legitimately sends more.
const (
	maxDataKeys  = 64
	maxValueLen  = 4000
	maxTextInput = 4000
)

// Input is one user input to a dialog, whatever its source. Data is user-controlled: it carries
// ids and form values, never identity.
type Input struct {
	Source Source
	// Verb is the card action's verb; for text it is derived from control words (cancel, back…).
	Verb string
	// Data holds the action data and input values as strings (toggles "true"/"false", numbers as
	// typed, multi-select choices comma-separated).
	Data map[string]string
	// Text is the typed text (SourceText only).
	Text string
	// CardActivityID is the activity id of the card that was clicked (replyToId); empty for text.
	CardActivityID string
}

// Value returns the data value for key ("" when absent).
func (in Input) Value(key string) string { return in.Data[key] }

// Has reports whether the input carries key at all (an empty text input still counts).
func (in Input) Has(key string) bool { _, ok := in.Data[key]; return ok }

// InputFromTurn extracts the input of a turn. ok is false when the turn carries no dialog input
// (an invoke of another kind, an empty message).
func InputFromTurn(t *router.Turn) (Input, bool) {
	a := t.Activity
	switch {
	case string(a.Type) == botframework.TypeInvoke && a.Name == botframework.InvokeAdaptiveCardAction:
		return Input{Source: SourceInvoke, Verb: t.Verb(), Data: decodeData(t.ActionData()), CardActivityID: a.ReplyToID}, true
	case string(a.Type) == botframework.TypeMessage && t.IsSubmit():
		return Input{Source: SourceSubmit, Verb: t.Verb(), Data: decodeData(t.ActionData()), CardActivityID: a.ReplyToID}, true
	case string(a.Type) == botframework.TypeMessage:
		text := router.CommandText(a)
		if text == "" {
			return Input{}, false
		}
		if utf8.RuneCountInString(text) > maxTextInput {
			text = string([]rune(text)[:maxTextInput])
		}
		return Input{Source: SourceText, Text: text, Data: map[string]string{}}, true
	}
	return Input{}, false
}

// decodeData flattens card data into strings. Anything that is not a JSON object yields an empty
// map; nested values are dropped (cards never send them); oversized data is cut to the limits.
func decodeData(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	var m map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &m) != nil {
		return out
	}
	for k, v := range m {
		if len(out) >= maxDataKeys {
			break
		}
		if len(k) > 100 {
			continue
		}
		s, ok := scalar(v)
		if !ok {
			continue
		}
		if utf8.RuneCountInString(s) > maxValueLen {
			s = string([]rune(s)[:maxValueLen])
		}
		out[k] = s
	}
	return out
}

// scalar renders a JSON scalar as a string: strings as is, numbers and booleans as written.
func scalar(v json.RawMessage) (string, bool) {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return "", false
	}
	switch t := x.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case float64:
		return strings.TrimSpace(string(v)), true
	case nil:
		return "", true
	}
	return "", false
}

// controlVerb maps a typed control word to the wizard verb it stands for.
func controlVerb(text string) string {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!/ ")) {
	case "cancel", "stop", "quit", "exit":
		return cards.VerbWizardCancel
	case "back", "go back", "previous":
		return cards.VerbWizardBack
	case "start over", "restart", "start again":
		return cards.VerbWizardRestart
	case "next", "continue", "skip":
		return cards.VerbWizardNext
	case "create":
		return cards.VerbCreateScenario
	case "save", "save changes":
		return cards.VerbSaveScenario
	}
	return ""
}
