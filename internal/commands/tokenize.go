package commands

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word of a command line.
type token struct {
	text string
	// quoted: the token began with a quote, so it is always a value, never a command word or a
	// flag.
	quoted bool
	// eq is the byte offset in text of the first '=' outside quotes, or -1.
	eq int
}

// Quote characters. Teams clients auto-correct straight quotes to typographic ones, and some
// keyboards produce the low-9 quote, so every common form is accepted.
func isDoubleQuote(r rune) bool { return r == '"' || r == '“' || r == '”' || r == '„' }
func isSingleQuote(r rune) bool { return r == '\'' || r == '‘' || r == '’' }

// tokenize splits command text into tokens, shell-style: whitespace separates, double quotes group
// anywhere, single quotes group only at the start of a word or after '=' (so the apostrophes in
// "O'Brien" or "don’t" stay literal) and close only before a word boundary, and a backslash makes
// the next quote or backslash literal.
func tokenize(s string) ([]token, *UsageError) {
	var (
		toks    []token
		cur     strings.Builder
		inToken bool
		tok     = token{eq: -1}
	)
	emit := func() {
		if inToken {
			tok.text = cur.String()
			toks = append(toks, tok)
		}
		cur.Reset()
		inToken = false
		tok = token{eq: -1}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			emit()
			i += size
		case r == '\\' && i+size < len(s) && escapable(s[i+size:]):
			next, nsize := utf8.DecodeRuneInString(s[i+size:])
			inToken = true
			cur.WriteRune(next)
			i += size + nsize
		case isDoubleQuote(r) || (isSingleQuote(r) && (!inToken || strings.HasSuffix(cur.String(), "="))):
			if !inToken {
				tok.quoted = true
			}
			inToken = true
			end, ok := closeQuote(s, i+size, isDoubleQuote(r), &cur)
			if !ok {
				return nil, &UsageError{Message: "A quote is not closed: " + abbreviate(s[i:]) + "."}
			}
			i = end
		default:
			if r == '=' && tok.eq < 0 {
				tok.eq = cur.Len()
			}
			inToken = true
			cur.WriteRune(r)
			i += size
		}
	}
	emit()
	return toks, nil
}

// escapable reports whether s starts with a character a backslash escapes.
func escapable(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '\\' || isDoubleQuote(r) || isSingleQuote(r)
}

// closeQuote copies the quoted text starting at s[i:] into cur and returns the offset just after
// the closing quote. A double-quoted string ends at the next double quote of any form; a
// single-quoted one at the next single quote that is followed by a word boundary.
func closeQuote(s string, i int, double bool, cur *strings.Builder) (int, bool) {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && i+size < len(s) && escapable(s[i+size:]):
			next, nsize := utf8.DecodeRuneInString(s[i+size:])
			cur.WriteRune(next)
			i += size + nsize
			continue
		case double && isDoubleQuote(r):
			return i + size, true
		case !double && isSingleQuote(r) && boundary(s[i+size:]):
			return i + size, true
		}
		cur.WriteRune(r)
		i += size
	}
	return 0, false
}

// boundary reports whether s starts where a word may end: nothing, whitespace, or a list separator.
func boundary(s string) bool {
	if s == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r) || r == ',' || r == ';'
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit]) + "…"
}
