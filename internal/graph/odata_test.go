package graph

import (
	"strings"
	"testing"
)

func TestEscapeAndFilters(t *testing.T) {
	tests := []struct{ got, want string }{
		{Escape("plain"), "plain"},
		{Escape("o'brien"), "o''brien"},
		{Escape("''"), "''''"},
		{Escape("zoë 東京"), "zoë 東京"},
		{Literal("it's"), "'it''s'"},
		{EqFilter("state", "pendingApproval"), "state eq 'pendingApproval'"},
		{EqFilter("displayName", "x' or 1 eq 1 or 'a"), "displayName eq 'x'' or 1 eq 1 or ''a'"},
		{StartsWithFilter("displayName", "O'Neil"), "startswith(displayName,'O''Neil')"},
		{And("a eq 'x'", "", "b eq 'y'"), "(a eq 'x') and (b eq 'y')"},
		{And("a eq 'x'"), "a eq 'x'"},
		{And(), ""},
		{Or("a eq '1'", "b eq '2'"), "(a eq '1') or (b eq '2')"},
		{SearchClause("displayName", `Zoë "the" \boss`), `"displayName:Zoë the boss"`},
		{SearchClause("displayName", "O'Neil"), `"displayName:O'Neil"`},
		{SearchClause("displayName", "\"\"\\\n"), ""},
		{SearchAny("ann", "displayName", "mail"), `"displayName:ann" OR "mail:ann"`},
		{SearchAny(`"`, "displayName", "mail"), ""},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

// FuzzLiteral checks that an escaped literal always parses back as exactly one OData string
// token holding the input: no input can end the literal early.
func FuzzLiteral(f *testing.F) {
	for _, s := range []string{"", "'", "a'b", "''", "x' or '1' eq '1", "東京'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := Literal(s)
		if !strings.HasPrefix(lit, "'") || !strings.HasSuffix(lit, "'") || len(lit) < 2 {
			t.Fatalf("not a literal: %q", lit)
		}
		inner := lit[1 : len(lit)-1]
		var out strings.Builder
		for i := 0; i < len(inner); i++ {
			if inner[i] == '\'' {
				if i+1 >= len(inner) || inner[i+1] != '\'' {
					t.Fatalf("unescaped quote in %q", lit)
				}
				i++
			}
			out.WriteByte(inner[i])
		}
		if out.String() != s {
			t.Fatalf("round trip %q -> %q -> %q", s, lit, out.String())
		}
	})
}

// FuzzSearchClause checks a clause is always one quoted "prop:term" with no inner quote.
func FuzzSearchClause(f *testing.F) {
	for _, s := range []string{"", `"`, `a" OR "mail:x`, "\\", "東京"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := SearchClause("displayName", s)
		if c == "" {
			return
		}
		if !strings.HasPrefix(c, `"displayName:`) || !strings.HasSuffix(c, `"`) || strings.Count(c, `"`) != 2 || strings.Contains(c, `\`) {
			t.Fatalf("clause %q from %q", c, s)
		}
	})
}
