package cards

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Length limits (in runes) for user-supplied text shown on cards. They keep a card well under
// Teams' message size limit however long the stored strings are.
const (
	maxShort = 200  // names, titles, addresses, single facts
	maxLong  = 2000 // descriptions, justifications, messages
	maxLines = 30   // lines of one multi-line text
	// MaxNameLength is the scenario name input's maxLength.
	MaxNameLength = 120
	// MaxDescriptionLength is the scenario description input's maxLength.
	MaxDescriptionLength = 1000
)

// markdownSpecial are the characters Teams' card markdown gives meaning anywhere in a line:
// emphasis, code, strike-through, links/images, and <at>/<url> tags. "\" is first so escapes
// already present are themselves escaped.
const markdownSpecial = "\\*_`~[]<>"

// EscapeMarkdown makes s display literally in a Teams TextBlock or FactSet. Line breaks and other
// control characters become spaces (a value never adds paragraphs or list items), bidirectional
// override and isolate characters are removed (they could make text read differently from what it
// is), markdown syntax is backslash-escaped, and a leading list, heading or quote marker is escaped.
// It does not truncate.
func EscapeMarkdown(s string) string {
	s = singleLine(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return escapeLeadingMarker(b.String())
}

// escapeLeadingMarker escapes a block marker at the start of the text: "-", "+", "#" or "1." /
// "1)" would otherwise turn the value into a list item or heading.
func escapeLeadingMarker(s string) string {
	trimmed := strings.TrimLeft(s, " ")
	lead := s[:len(s)-len(trimmed)]
	if trimmed == "" {
		return s
	}
	switch trimmed[0] {
	case '-', '+', '#':
		return lead + "\\" + trimmed
	}
	i := 0
	for i < len(trimmed) && trimmed[i] >= '0' && trimmed[i] <= '9' {
		i++
	}
	if i > 0 && i < len(trimmed) && (trimmed[i] == '.' || trimmed[i] == ')') {
		return lead + trimmed[:i] + "\\" + trimmed[i:]
	}
	return s
}

// singleLine replaces control characters (including CR, LF, tab and the Unicode line/paragraph
// separators) with spaces, removes bidi controls, and repairs invalid UTF-8.
func singleLine(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u2028' || r == '\u2029' || unicode.IsControl(r):
			return ' '
		case isBidiControl(r):
			return -1
		}
		return r
	}, s)
}

func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// clip shortens s to at most max runes, ending with "…" when it cut.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return strings.TrimRight(s[:i], " ") + "…"
		}
		n++
	}
	return s
}

// esc is the escaped, clipped form of a short user string for markdown text.
func esc(s string) string { return EscapeMarkdown(clip(strings.TrimSpace(singleLine(s)), maxShort)) }

// plain is a short user string for a non-markdown property (choice or action title, input value):
// one line, clipped, not escaped.
func plain(s string, max int) string { return clip(strings.TrimSpace(singleLine(s)), max) }

// textLines splits multi-line user text into escaped TextBlocks, one per non-empty line, within the
// overall length and line limits.
func textLines(s string) []Element {
	s = clip(strings.TrimSpace(s), maxLong)
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n").Replace(s)
	var out []Element
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(singleLine(line))
		if line == "" {
			continue
		}
		if len(out) == maxLines {
			out = append(out, TextBlock{Text: "…", Wrap: true, Spacing: "Small"})
			break
		}
		out = append(out, TextBlock{Text: EscapeMarkdown(line), Wrap: true, Spacing: "Small"})
	}
	return out
}

// formatTime renders an instant unambiguously for every viewer (cards are built without knowing
// the viewer's time zone).
func formatTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// formatDate renders a day.
func formatDate(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// days renders a number of days.
func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// safeURL returns u when it is an absolute http(s) URL without user info, else "" (the caller then
// leaves the link out). My Access links come from configuration and Graph, but a card must never
// carry a javascript: or data: URL.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil {
		return ""
	}
	return p.String()
}

func itoa(n int) string { return fmt.Sprintf("%d", n) }
