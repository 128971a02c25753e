package commands

import (
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// mentionRE matches a Teams mention element. The router strips the bot's own mention using the
	// activity's entities; whatever is left here is either a mention the router did not know about
	// (leading, addressed to the bot) or a mention of another user inside the arguments.
	mentionRE = regexp.MustCompile(`(?is)<at(?:\s[^<>]*)?>(.*?)</at\s*>`)
	// tagRE matches an HTML element tag (<p>, </div>, <br/>, <a href="…">, <span …>). A tag name
	// must start with a letter, so typed text such as "<alex@contoso.com>" or "a < b" is left alone.
	tagRE = regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>`)
)

// Normalize turns the text of a Teams message into plain command text: Teams sends HTML-ish text
// (paragraph wrappers, mention elements, auto-linked addresses, entities such as &amp; and
// &nbsp;), and clients insert non-breaking and zero-width spaces. Leading mentions are dropped,
// other mentions keep their display text, tags become spaces, entities are decoded once, every
// Unicode space becomes an ASCII space, and control and invisible formatting characters are
// removed.
func Normalize(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = stripMentions(text)
	text = tagRE.ReplaceAllString(text, " ")
	text = html.UnescapeString(text)
	text = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return r
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			// Zero-width spaces, joiners, direction marks and the BOM carry no meaning in a
			// command and would make "help\u200b" an unknown command.
			return -1
		}
		return r
	}, text)
	return strings.TrimSpace(text)
}

// stripMentions removes mentions that come before any other text (they address the bot) and
// replaces the others by their display text.
func stripMentions(text string) string {
	matches := mentionRE.FindAllStringSubmatchIndex(text, -1)
	if matches == nil {
		return text
	}
	var b strings.Builder
	last := 0
	leading := true
	for _, m := range matches {
		before := text[last:m[0]]
		b.WriteString(before)
		if leading && !onlyMarkup(before) {
			leading = false
		}
		if leading {
			b.WriteByte(' ')
		} else {
			prev, _ := utf8.DecodeLastRuneInString(before)
			b.WriteString(mentionText(text[m[2]:m[3]], isDoubleQuote(prev) || isSingleQuote(prev)))
		}
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String()
}

// mentionText renders a mention of someone other than the bot as one command token: its display
// text, double-quoted unless the user already put it in quotes, so `audit --user @Alex Wilber`
// means the user "Alex Wilber". The result is HTML-escaped because Normalize decodes entities after
// this step, and decoding the display text twice would turn "&amp;lt;" into "<".
func mentionText(inner string, inQuotes bool) string {
	name := strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(inner, " "))), " ")
	var b strings.Builder
	if !inQuotes {
		b.WriteByte('"')
	}
	for _, r := range name {
		if r == '\\' || isDoubleQuote(r) || isSingleQuote(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	if !inQuotes {
		b.WriteByte('"')
	}
	return html.EscapeString(b.String())
}

// onlyMarkup reports whether s holds nothing but tags, whitespace and &nbsp; entities.
func onlyMarkup(s string) bool {
	s = tagRE.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "&nbsp;", "")
	return strings.TrimSpace(strings.ReplaceAll(s, "\u00a0", "")) == ""
}
