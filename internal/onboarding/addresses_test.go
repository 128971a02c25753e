package onboarding

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAddresses(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		invalid []string
	}{
		{"commas", "a@contoso.com,b@contoso.com", []string{"a@contoso.com", "b@contoso.com"}, nil},
		{"mixed separators", "a@x.com; b@x.com\n c@x.com\td@x.com  e@x.com", []string{"a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"}, nil},
		{"display names", "Jane Doe <jane@x.com>, \"Doe, John\" <john@x.com>", []string{"jane@x.com", "john@x.com"}, nil},
		{"name then bare", "Jane <jane@x.com> tom@x.com", []string{"jane@x.com", "tom@x.com"}, nil},
		{"domain lower-cased, local kept", "Jane.Doe@Contoso.COM", []string{"Jane.Doe@contoso.com"}, nil},
		{"duplicates case-insensitive", "a@x.com, A@X.COM, a@x.com", []string{"a@x.com"}, nil},
		{"IDN domain to punycode", "anna@bücher.de", []string{"anna@xn--bcher-kva.de"}, nil},
		{"trailing dot", "a@x.com.", []string{"a@x.com"}, nil},
		{"empty", " \n ,; ", nil, nil},
		{"invalid pieces", "a@x.com, nope, @x.com, b@, c@x, d@@x.com", []string{"a@x.com"}, []string{"nope", "@x.com", "b@", "c@x", "d@@x.com"}},
		{"bad angle", "Jane <jane@x.com", nil, []string{"Jane <jane@x.com"}},
		{"numeric TLD", "a@x.123", nil, []string{"a@x.123"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, inv, err := ParseAddresses(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("addresses = %q, want %q", got, tc.want)
			}
			var texts []string
			for _, x := range inv {
				texts = append(texts, x.Text)
			}
			if !slices.Equal(texts, tc.invalid) {
				t.Errorf("invalid = %q, want %q", texts, tc.invalid)
			}
		})
	}
}

func TestParseAddressesLimits(t *testing.T) {
	got, _, err := ParseAddresses(manyAddresses(51))
	if !errors.Is(err, ErrTooManyAddresses) || len(got) != MaxAddresses {
		t.Fatalf("51 addresses: %d, %v", len(got), err)
	}
	if _, _, err := ParseAddresses(strings.Repeat("a", maxAddressInput+1)); err == nil {
		t.Fatal("oversized input accepted")
	}
	if got, _, err := ParseAddresses(manyAddresses(50)); err != nil || len(got) != 50 {
		t.Fatalf("50 addresses: %d, %v", len(got), err)
	}
}

func FuzzParseAddresses(f *testing.F) {
	for _, s := range []string{"a@x.com", "Jane <j@x.com>, \"D, J\" <d@x.com>", "a@bücher.de;b@x.com", "<<>>\"\"@@", "\xff@x.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, inv, err := ParseAddresses(in)
		if err != nil && !errors.Is(err, ErrTooManyAddresses) && len(in) <= maxAddressInput {
			t.Fatalf("unexpected error %v", err)
		}
		if len(got) > MaxAddresses {
			t.Fatalf("%d addresses", len(got))
		}
		seen := map[string]bool{}
		for _, a := range got {
			if !utf8.ValidString(a) || strings.ContainsAny(a, " ,;<>\"\n") || strings.Count(a, "@") < 1 {
				t.Fatalf("bad address %q", a)
			}
			if d := domainOf(a); d != strings.ToLower(d) {
				t.Fatalf("domain not lower-case: %q", a)
			}
			if seen[strings.ToLower(a)] {
				t.Fatalf("duplicate %q", a)
			}
			seen[strings.ToLower(a)] = true
			// A parsed address parses to itself.
			again, _, _ := ParseAddresses(a)
			if len(again) != 1 || again[0] != a {
				t.Fatalf("%q reparses as %q", a, again)
			}
		}
		for _, x := range inv {
			if x.Reason == "" {
				t.Fatalf("invalid piece without reason: %q", x.Text)
			}
		}
	})
}
