package graph

import (
	"strings"
	"unicode"
)

// Escape makes s safe inside an OData single-quoted string literal by doubling every quote.
// Every value guestpass puts into a $filter goes through it (or through EqFilter).
func Escape(s string) string { return strings.ReplaceAll(s, "'", "''") }

// Literal returns s as a quoted, escaped OData string literal.
func Literal(s string) string { return "'" + Escape(s) + "'" }

// EqFilter returns "field eq 'value'" with value escaped. field is a property path chosen by
// guestpass code (never user input).
func EqFilter(field, value string) string { return field + " eq " + Literal(value) }

// StartsWithFilter returns "startswith(field,'value')" with value escaped.
func StartsWithFilter(field, value string) string {
	return "startswith(" + field + "," + Literal(value) + ")"
}

// And joins non-empty clauses with " and ", parenthesising each so operator precedence in a
// clause cannot leak into the others.
func And(clauses ...string) string { return join(" and ", clauses) }

// Or joins non-empty clauses with " or ", parenthesised like And.
func Or(clauses ...string) string { return join(" or ", clauses) }

func join(op string, clauses []string) string {
	var parts []string
	for _, c := range clauses {
		if c = strings.TrimSpace(c); c != "" {
			parts = append(parts, "("+c+")")
		}
	}
	if len(parts) == 1 {
		return strings.TrimSuffix(strings.TrimPrefix(parts[0], "("), ")")
	}
	return strings.Join(parts, op)
}

// SearchClause returns a directory $search clause "prop:term". The directory search index
// tokenises on punctuation, so double quotes, backslashes and control characters in term carry
// no meaning; they are dropped rather than escaped, which also removes any way for a term to
// close the clause early. An empty result means nothing searchable was left.
func SearchClause(prop, term string) string {
	term = strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || unicode.IsControl(r) {
			return -1
		}
		return r
	}, term)
	term = strings.TrimSpace(term)
	if term == "" {
		return ""
	}
	return `"` + prop + ":" + term + `"`
}

// SearchAny joins clauses for the same term over several properties with OR, skipping empty
// ones; "" when none is left.
func SearchAny(term string, props ...string) string {
	var parts []string
	for _, p := range props {
		if c := SearchClause(p, term); c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, " OR ")
}
