package onboarding

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
)

// MaxAddresses is how many addresses one invitation batch takes (the invite form's limit).
const MaxAddresses = cards.MaxInviteAddresses

// maxAddressInput bounds the text ParseAddresses looks at: the invite form's maxLength.
const maxAddressInput = 8000

// ErrTooManyAddresses reports more than MaxAddresses distinct addresses.
var ErrTooManyAddresses = fmt.Errorf("more than %d addresses", MaxAddresses)

// InvalidAddress is a piece of the input that is not an email address.
type InvalidAddress struct {
	// Text is the offending piece as typed (cut to 80 characters).
	Text   string
	Reason string
}

// idnaProfile converts internationalised domains to their ASCII (punycode) form with the lookup
// rules browsers and mail servers use.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule())

// ParseAddresses splits pasted text into email addresses. Addresses may be separated by commas,
// semicolons, whitespace or new lines, and may be written as `Name <a@b.com>` or
// `"Last, First" <a@b.com>`. Domains are lower-cased and converted to punycode; duplicates
// (case-insensitive) are dropped, keeping the first. Pieces that are not addresses are returned
// in invalid, in input order. err is ErrTooManyAddresses when more than MaxAddresses distinct
// valid addresses were given (addrs then holds the first MaxAddresses).
func ParseAddresses(text string) (addrs []string, invalid []InvalidAddress, err error) {
	if len(text) > maxAddressInput {
		return nil, nil, fmt.Errorf("the address list is longer than %d characters", maxAddressInput)
	}
	if !utf8.ValidString(text) {
		return nil, []InvalidAddress{{Text: "(input)", Reason: "is not valid text"}}, nil
	}
	seen := map[string]bool{}
	for _, tok := range tokens(text) {
		a, reason := normalizeAddress(tok)
		if reason != "" {
			invalid = append(invalid, InvalidAddress{Text: clip(tok, 80), Reason: reason})
			continue
		}
		key := strings.ToLower(a)
		if seen[key] {
			continue
		}
		seen[key] = true
		if len(addrs) == MaxAddresses {
			err = ErrTooManyAddresses
			continue
		}
		addrs = append(addrs, a)
	}
	return addrs, invalid, err
}

// tokens splits text into candidate addresses. A name before an angle-bracketed address belongs to
// it, so "Jane Doe <jane@x.com>" is one token; quoted names may contain separators.
func tokens(text string) []string {
	var out []string
	var cur strings.Builder
	inQuote, inAngle := false, false
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	runes := []rune(text)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case inQuote:
			cur.WriteRune(r)
			if r == '"' {
				inQuote = false
			}
		case inAngle:
			cur.WriteRune(r)
			if r == '>' {
				inAngle = false
				flush()
			}
		case r == '"':
			inQuote = true
			cur.WriteRune(r)
		case r == '<':
			inAngle = true
			cur.WriteRune(r)
		case r == ',' || r == ';':
			flush()
		case unicode.IsSpace(r):
			// Whitespace separates addresses, except inside a display name that an angle-bracketed
			// address follows: keep it when the next non-space text is part of the same name.
			if cur.Len() > 0 && nameContinues(runes[i:]) {
				cur.WriteRune(' ')
				continue
			}
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// nameContinues reports whether, from a run of whitespace, the text up to the next separator
// reaches a '<' before any '@': the words are a display name, not separate addresses.
func nameContinues(rest []rune) bool {
	for _, r := range rest {
		switch {
		case r == '<':
			return true
		case r == '@' || r == ',' || r == ';' || r == '\n' || r == '\r':
			return false
		}
	}
	return false
}

// normalizeAddress turns one token into a bare, normalised address, or says why it is not one.
func normalizeAddress(tok string) (string, string) {
	addr := tok
	if strings.ContainsAny(tok, "<>\"") {
		a, err := mail.ParseAddress(tok)
		if err != nil {
			return "", "is not an email address"
		}
		addr = a.Address
	}
	addr = strings.TrimSuffix(addr, ".")
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsFunc(local, func(r rune) bool {
		// Quoted local parts are legal but never used by real mailboxes; they only hide typos.
		return r == '"' || r == ',' || r == ';' || r == '<' || r == '>' || unicode.IsSpace(r)
	}) {
		return "", "is not an email address"
	}
	ascii, err := idnaProfile.ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil {
		return "", "has an invalid domain"
	}
	e, err := entitlement.NormalizeEmail(local + "@" + strings.ToLower(ascii))
	if err != nil {
		return "", "is not an email address"
	}
	return e, ""
}

// domainOf returns the (lower-case) domain of a normalised address.
func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}

// clip cuts s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// describeInvalid lists invalid pieces for a form error.
func describeInvalid(inv []InvalidAddress) string {
	parts := make([]string, 0, min(len(inv), 5))
	for i, x := range inv {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(inv)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("“%s” %s", x.Text, x.Reason))
	}
	return strings.Join(parts, "; ")
}
