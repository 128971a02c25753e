package testenv

import (
	"encoding/json"
	"strings"
	"testing"

	"guestpass/internal/botframework"
)

// Card is an Adaptive Card as the bot sent it, for tests that read it and click through it the
// way a user would: by the verbs and choice titles on it, never by building card data by hand.
type Card struct {
	// Raw is the card's JSON.
	Raw string
	// Tree is Raw decoded.
	Tree any
}

// ParseCard decodes the JSON of a card; it fails the test when b is not JSON.
func ParseCard(t testing.TB, b []byte) Card {
	t.Helper()
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatalf("card is not JSON: %v", err)
	}
	return Card{Raw: string(b), Tree: tree}
}

// CardOf returns the card of an activity the bot sent; it fails the test unless the activity
// carries exactly one attachment.
func CardOf(t testing.TB, a *botframework.Outgoing) Card {
	t.Helper()
	if a == nil || len(a.Attachments) != 1 {
		t.Fatalf("activity carries no single card: %+v", a)
	}
	b, err := json.Marshal(a.Attachments[0].Content)
	if err != nil {
		t.Fatal(err)
	}
	return ParseCard(t, b)
}

// InvokeCard returns the card of an invoke response body; it fails the test when the response
// is not a card.
func InvokeCard(t testing.TB, body []byte) Card {
	t.Helper()
	var resp struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Type != botframework.InvokeTypeAdaptiveCard {
		t.Fatalf("invoke response is not a card: %s", body)
	}
	return ParseCard(t, resp.Value)
}

// Has reports whether the card carries the text s (compared JSON-escaped, as the card holds it).
func (c Card) Has(s string) bool {
	enc, _ := json.Marshal(s)
	return strings.Contains(c.Raw, strings.Trim(string(enc), `"`))
}

// Find returns the first object of the card for which match is true, or nil.
func (c Card) Find(match func(map[string]any) bool) map[string]any {
	var found map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if found == nil && match(x) {
				found = x
				return
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(c.Tree)
	return found
}

// Action returns a copy of the string data of the first Action.Execute with verb; it fails the
// test when there is none.
func (c Card) Action(t testing.TB, verb string) map[string]string {
	t.Helper()
	return c.ActionWith(t, verb, "", "")
}

// ActionWith returns a copy of the string data of the first Action.Execute with verb whose data
// has key = value (any with verb when key is empty), for cards with one such action per row.
func (c Card) ActionWith(t testing.TB, verb, key, value string) map[string]string {
	t.Helper()
	var data map[string]string
	c.Find(func(x map[string]any) bool {
		if x["type"] != "Action.Execute" || x["verb"] != verb {
			return false
		}
		d := stringData(x)
		if key != "" && d[key] != value {
			return false
		}
		data = d
		return true
	})
	if data == nil {
		t.Fatalf("card has no %q action (%s=%q):\n%s", verb, key, value, c.Raw)
	}
	return data
}

// Choice returns the value of the first choice whose title contains title; it fails the test
// when there is none.
func (c Card) Choice(t testing.TB, title string) string {
	t.Helper()
	ch := c.Find(func(x map[string]any) bool {
		tt, ok := x["title"].(string)
		_, hasValue := x["value"].(string)
		return ok && hasValue && strings.Contains(tt, title)
	})
	if ch == nil {
		t.Fatalf("card has no choice %q:\n%s", title, c.Raw)
	}
	return ch["value"].(string)
}

// stringData is a copy of the string values of an action's data.
func stringData(action map[string]any) map[string]string {
	data := map[string]string{}
	if d, ok := action["data"].(map[string]any); ok {
		for k, v := range d {
			if s, ok := v.(string); ok {
				data[k] = s
			}
		}
	}
	return data
}
