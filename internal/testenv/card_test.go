package testenv_test

import (
	"testing"

	"guestpass/internal/testenv"
)

// TestCard checks the card lookups tests click through cards with: text as json.Marshal
// escapes it, the action of one row among several, and a choice by part of its title.
func TestCard(t *testing.T) {
	c := testenv.ParseCard(t, []byte(`{"type":"AdaptiveCard","body":[
		{"type":"TextBlock","text":"Fabrikam \u0026 Contoso \u003cpartners\u003e"},
		{"type":"Input.ChoiceSet","choices":[{"title":"Project X team","value":"g1"},{"title":"Sales","value":"g2"}]},
		{"type":"ActionSet","actions":[
			{"type":"Action.Execute","verb":"remove","data":{"verb":"remove","row":"1","n":2}},
			{"type":"Action.Execute","verb":"remove","data":{"verb":"remove","row":"2"}}]}]}`))
	if !c.Has("Fabrikam & Contoso <partners>") || c.Has("Northwind") {
		t.Errorf("Has is wrong for %s", c.Raw)
	}
	if got := c.ActionWith(t, "remove", "row", "2"); got["row"] != "2" {
		t.Errorf("ActionWith(row=2) = %v", got)
	}
	if got := c.ActionWith(t, "remove", "row", "1"); len(got) != 2 || got["row"] != "1" {
		t.Errorf("ActionWith(row=1) = %v, want the string data only", got)
	}
	if got := c.Choice(t, "Project X"); got != "g1" {
		t.Errorf("Choice(Project X) = %q", got)
	}
	if c.Find(func(x map[string]any) bool { return x["verb"] == "approve" }) != nil {
		t.Error("Find matched an action the card does not have")
	}
}
