package admin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/router"
)

// say sends plain text: it may echo what the admin typed.
func say(ctx context.Context, t *router.Turn, text string) error {
	out := botframework.NewText(text)
	out.TextFormat = "plain"
	if _, err := t.Send(ctx, out); err != nil {
		return fmt.Errorf("admin: reply: %w", err)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func yesNo(b *bool) string {
	if b != nil && *b {
		return "yes"
	}
	return "no"
}

func date(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func sortStrings(s []string) { slices.Sort(s) }
