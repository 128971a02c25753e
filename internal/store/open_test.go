package store

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		in          string
		wantDialect string
		wantTarget  string
		wantErr     string
	}{
		{in: "data/guestpass.db", wantDialect: DialectSQLite, wantTarget: "data/guestpass.db"},
		{in: "/var/lib/guestpass/db.sqlite", wantDialect: DialectSQLite, wantTarget: "/var/lib/guestpass/db.sqlite"},
		{in: "sqlite://data/guestpass.db", wantDialect: DialectSQLite, wantTarget: "data/guestpass.db"},
		{in: "sqlite:///var/lib/guestpass.db", wantDialect: DialectSQLite, wantTarget: "/var/lib/guestpass.db"},
		{in: "SQLITE:data/x.db", wantDialect: DialectSQLite, wantTarget: "data/x.db"},
		{in: "file:data/x.db", wantDialect: DialectSQLite, wantTarget: "data/x.db"},
		{in: "  data/spaces around.db ", wantDialect: DialectSQLite, wantTarget: "data/spaces around.db"},
		{in: "postgres://u:secret@db.example:5432/guestpass?sslmode=require", wantDialect: DialectPostgres,
			wantTarget: "postgres://u:secret@db.example:5432/guestpass?sslmode=require"},
		{in: "postgresql://db.example/guestpass", wantDialect: DialectPostgres, wantTarget: "postgresql://db.example/guestpass"},
		{in: "", wantErr: "empty database URL"},
		{in: "mysql://db.example/guestpass", wantErr: `unsupported database URL scheme "mysql"`},
		{in: ":memory:", wantErr: "needs a file path"},
		{in: "sqlite://", wantErr: "needs a file path"},
		{in: "file::memory:?cache=shared", wantErr: "must not contain"},
		{in: "sqlite://data/x.db?_pragma=journal_mode(DELETE)", wantErr: "must not contain"},
		{in: "postgres://u:secret@db.example:notaport/x", wantErr: "malformed PostgreSQL URL"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, target, err := parseDatabaseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want ErrInvalid containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || d != tc.wantDialect || target != tc.wantTarget {
				t.Fatalf("parseDatabaseURL = %q, %q, %v; want %q, %q", d, target, err, tc.wantDialect, tc.wantTarget)
			}
		})
	}
}

func FuzzParseDatabaseURL(f *testing.F) {
	for _, s := range []string{"data/guestpass.db", "sqlite://x.db", "postgres://u:p@h:1/d?sslmode=disable", "file:?", ":memory:", "x://y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, target, err := parseDatabaseURL(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		switch d {
		case DialectSQLite:
			if target == "" || strings.ContainsAny(target, "?#") {
				t.Fatalf("accepted SQLite path %q", target)
			}
		case DialectPostgres:
		default:
			t.Fatalf("dialect %q", d)
		}
	})
}

func TestBindPlaceholders(t *testing.T) {
	tests := []struct{ in, sqlite, postgres string }{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?, ?)", "a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
	}
	for _, tc := range tests {
		if got := sqliteDialect.bind(tc.in); got != tc.sqlite {
			t.Errorf("sqlite bind(%q) = %q", tc.in, got)
		}
		for range 2 { // the second call is served from the cache
			if got := postgresDialect.bind(tc.in); got != tc.postgres {
				t.Errorf("postgres bind(%q) = %q, want %q", tc.in, got, tc.postgres)
			}
		}
	}
}
