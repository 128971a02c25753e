package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"guestpass/internal/store"
)

// tricky is a value that breaks naive quoting, encodings and case folding.
const tricky = `O'Brien "the quoted" — Zoë Ünïcødé 🎉 ; DROP TABLE x; -- \ % _ ?`

// trickyJSON is a JSON document with the same hazards (and an escaped NUL, which JSONB would
// reject).
var trickyJSON = json.RawMessage(`{"name": "O'Brien \"q\" — Zoë 🎉", "nul": "a\u0000b", "n": [1, 2.5, null]}`)

// runContract runs the store contract against fresh databases from newURL: every method, the
// sentinel errors and the concurrency guarantees.
func runContract(t *testing.T, newURL func(t *testing.T) string) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newURL func(t *testing.T) string)
	}{
		{"Basics", testBasics},
		{"MigrationsIdempotentOnReopen", testReopen},
		{"Activities", testActivities},
		{"ConcurrentClaimActivity", testConcurrentClaimActivity},
		{"Conversations", testConversations},
		{"Dialogs", testDialogs},
		{"ConcurrentSaveDialog", testConcurrentSaveDialog},
		{"Audit", testAudit},
		{"Leases", testLeases},
		{"Outbox", testOutbox},
		{"OutboxClaimExpiry", testOutboxClaimExpiry},
		{"ConcurrentClaimOutbox", testConcurrentClaimOutbox},
		{"Scenarios", testScenarios},
		{"Onboardings", testOnboardings},
		{"KV", testKV},
		{"InvalidArguments", testInvalidArguments},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every subtest has its own database
			tc.fn(t, newURL)
		})
	}
}

// fixture opens a fresh database with its own clock.
func fixture(t *testing.T, newURL func(t *testing.T) string) (store.Store, *testClock, context.Context) {
	t.Helper()
	clk := newClock()
	return openStore(t, newURL(t), clk), clk, context.Background()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// jsonEqual compares documents semantically and byte for byte, since both dialects promise to
// keep them as written.
func jsonEqual(t *testing.T, got, want json.RawMessage) {
	t.Helper()
	if string(got) != string(want) {
		t.Fatalf("JSON = %s, want %s", got, want)
	}
}

func testBasics(t *testing.T, newURL func(t *testing.T) string) {
	s, _, ctx := fixture(t, newURL)
	must(t, s.Ping(ctx))
	if d := s.Dialect(); d != store.DialectSQLite && d != store.DialectPostgres {
		t.Fatalf("Dialect() = %q", d)
	}
}

func testReopen(t *testing.T, newURL func(t *testing.T) string) {
	u := newURL(t)
	clk := newClock()
	ctx := context.Background()
	first, err := store.Open(ctx, u, store.WithClock(clk.Now), store.WithLogger(discardLogger()))
	must(t, err)
	must(t, first.PutKV(ctx, "survives", []byte(tricky), 0))
	must(t, first.Close())
	for i := range 2 {
		s, err := store.Open(ctx, u, store.WithClock(clk.Now), store.WithLogger(discardLogger()))
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		got, err := s.GetKV(ctx, "survives")
		must(t, err)
		if string(got) != tricky {
			t.Fatalf("reopen %d: value = %q", i, got)
		}
		must(t, s.Close())
	}
}

func testActivities(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	claim := func(conv, act string, want bool) {
		t.Helper()
		got, err := s.ClaimActivity(ctx, conv, act)
		must(t, err)
		if got != want {
			t.Fatalf("ClaimActivity(%q, %q) = %v, want %v", conv, act, got, want)
		}
	}
	claim("a:conv1", "1", true)
	claim("a:conv1", "1", false)
	claim("a:conv2", "1", true) // ids are per conversation
	claim("a:conv1", tricky, true)
	claim("a:conv1", tricky, false)

	must(t, s.ReleaseActivity(ctx, "a:conv1", "1"))
	claim("a:conv1", "1", true) // a released claim can be retried
	must(t, s.ReleaseActivity(ctx, "a:conv1", "never-claimed"))

	clk.Advance(time.Hour)
	claim("a:conv1", "late", true)
	n, err := s.PruneActivities(ctx, clk.Now().Add(-time.Minute))
	must(t, err)
	if n != 3 {
		t.Fatalf("PruneActivities removed %d, want 3", n)
	}
	claim("a:conv1", "late", false)
	claim("a:conv2", "1", true) // pruned, so claimable again
}

func testConcurrentClaimActivity(t *testing.T, newURL func(t *testing.T) string) {
	s, _, ctx := fixture(t, newURL)
	const goroutines = 32
	for round := range 3 {
		activity := fmt.Sprintf("retry-%d", round)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners int
			errs    []error
		)
		start := make(chan struct{})
		for range goroutines {
			wg.Go(func() {
				<-start
				ok, err := s.ClaimActivity(ctx, "a:conv", activity)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					winners++
				}
			})
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("ClaimActivity errors: %v", errors.Join(errs...))
		}
		if winners != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, winners)
		}
	}
}

func testConversations(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	_, err := s.Conversation(ctx, "a:missing")
	wantErr(t, err, store.ErrNotFound)

	full := store.ConversationRef{
		ConversationID: "a:personal-1", ConversationType: "personal", ServiceURL: "https://smba.example/emea/",
		TenantID: "tenant-1", BotID: "28:bot", BotName: "guestpass", UserID: "29:user", UserAADObjectID: "oid-1",
		UserName: tricky,
	}
	must(t, s.UpsertConversation(ctx, full))
	got, err := s.Conversation(ctx, full.ConversationID)
	must(t, err)
	want := full
	want.UpdatedAt = clk.Now().Truncate(time.Microsecond)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Conversation = %+v\nwant %+v", got, want)
	}

	// A later activity without user fields keeps them; non-empty fields replace.
	clk.Advance(time.Minute)
	must(t, s.UpsertConversation(ctx, store.ConversationRef{ConversationID: full.ConversationID, ServiceURL: "https://smba.example/amer/"}))
	got, err = s.Conversation(ctx, full.ConversationID)
	must(t, err)
	want.ServiceURL = "https://smba.example/amer/"
	want.UpdatedAt = clk.Now().Truncate(time.Microsecond)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after partial upsert = %+v\nwant %+v", got, want)
	}

	// PersonalConversation: newest personal conversation of the user; channels do not count.
	clk.Advance(time.Minute)
	must(t, s.UpsertConversation(ctx, store.ConversationRef{ConversationID: "a:personal-2", ConversationType: "personal",
		TenantID: "tenant-1", UserAADObjectID: "oid-1"}))
	clk.Advance(time.Minute)
	must(t, s.UpsertConversation(ctx, store.ConversationRef{ConversationID: "19:channel@thread.tacv2", ConversationType: "channel",
		TenantID: "tenant-1", UserAADObjectID: "oid-1", TeamID: "team", ChannelID: "19:channel@thread.tacv2"}))
	p, err := s.PersonalConversation(ctx, "tenant-1", "oid-1")
	must(t, err)
	if p.ConversationID != "a:personal-2" {
		t.Fatalf("PersonalConversation = %q, want a:personal-2", p.ConversationID)
	}
	_, err = s.PersonalConversation(ctx, "tenant-2", "oid-1")
	wantErr(t, err, store.ErrNotFound)

	must(t, s.DeleteConversation(ctx, "a:personal-2"))
	must(t, s.DeleteConversation(ctx, "a:personal-2"))
	p, err = s.PersonalConversation(ctx, "tenant-1", "oid-1")
	must(t, err)
	if p.ConversationID != "a:personal-1" {
		t.Fatalf("PersonalConversation after delete = %q, want a:personal-1", p.ConversationID)
	}
	_, err = s.Conversation(ctx, "a:personal-2")
	wantErr(t, err, store.ErrNotFound)
}

func testDialogs(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	_, err := s.LoadDialog(ctx, "a:conv", "29:user")
	wantErr(t, err, store.ErrNotFound)

	expires := clk.Now().Add(24 * time.Hour)
	d := store.Dialog{ConversationID: "a:conv", UserID: "29:user", Name: "scenario-wizard", Step: "name",
		State: trickyJSON, ExpiresAt: expires}
	v1, err := s.SaveDialog(ctx, d)
	must(t, err)
	if v1.Version != 1 || !v1.UpdatedAt.Equal(clk.Now().Truncate(time.Microsecond)) {
		t.Fatalf("first save = version %d at %v", v1.Version, v1.UpdatedAt)
	}
	_, err = s.SaveDialog(ctx, d) // version 0 again: the dialog exists
	wantErr(t, err, store.ErrConflict)

	loaded, err := s.LoadDialog(ctx, "a:conv", "29:user")
	must(t, err)
	jsonEqual(t, loaded.State, trickyJSON)
	if !reflect.DeepEqual(loaded, v1) {
		t.Fatalf("LoadDialog = %+v\nwant %+v", loaded, v1)
	}

	clk.Advance(time.Second)
	loaded.Step = "partners"
	loaded.State = nil
	v2, err := s.SaveDialog(ctx, loaded)
	must(t, err)
	if v2.Version != 2 {
		t.Fatalf("second save version = %d, want 2", v2.Version)
	}
	_, err = s.SaveDialog(ctx, loaded) // stale version 1
	wantErr(t, err, store.ErrConflict)
	got, err := s.LoadDialog(ctx, "a:conv", "29:user")
	must(t, err)
	if got.Step != "partners" || got.State != nil || got.Version != 2 {
		t.Fatalf("after update = %+v", got)
	}

	if got.Expired(clk.Now()) {
		t.Fatal("dialog expired too early")
	}
	if !got.Expired(expires) {
		t.Fatal("dialog not expired at its expiry")
	}
	if (store.Dialog{}).Expired(clk.Now()) {
		t.Fatal("a dialog without expiry expired")
	}

	// A dialog without expiry survives pruning; an expired one does not.
	_, err = s.SaveDialog(ctx, store.Dialog{ConversationID: "a:conv", UserID: "29:other", Name: "invite"})
	must(t, err)
	clk.Advance(25 * time.Hour)
	n, err := s.PruneDialogs(ctx, clk.Now())
	must(t, err)
	if n != 1 {
		t.Fatalf("PruneDialogs = %d, want 1", n)
	}
	_, err = s.LoadDialog(ctx, "a:conv", "29:user")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.SaveDialog(ctx, got) // the row is gone: an update cannot succeed
	wantErr(t, err, store.ErrConflict)

	must(t, s.DeleteDialog(ctx, "a:conv", "29:other"))
	must(t, s.DeleteDialog(ctx, "a:conv", "29:other"))
	_, err = s.LoadDialog(ctx, "a:conv", "29:other")
	wantErr(t, err, store.ErrNotFound)
}

func testConcurrentSaveDialog(t *testing.T, newURL func(t *testing.T) string) {
	s, _, ctx := fixture(t, newURL)
	base, err := s.SaveDialog(ctx, store.Dialog{ConversationID: "a:conv", UserID: "29:user", Name: "wizard", Step: "0"})
	must(t, err)
	const writers = 16
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins      []string
		conflicts int
		errs      []error
	)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			d := base
			d.Step = fmt.Sprintf("writer-%d", i)
			<-start
			_, err := s.SaveDialog(ctx, d)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins = append(wins, d.Step)
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("SaveDialog errors: %v", errors.Join(errs...))
	}
	if len(wins) != 1 || conflicts != writers-1 {
		t.Fatalf("%d wins, %d conflicts; want 1 and %d", len(wins), conflicts, writers-1)
	}
	got, err := s.LoadDialog(ctx, "a:conv", "29:user")
	must(t, err)
	if got.Step != wins[0] || got.Version != 2 {
		t.Fatalf("stored dialog = step %q version %d, want %q version 2", got.Step, got.Version, wins[0])
	}
}

func testAudit(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	entries := []store.AuditEntry{
		{ActorOID: "oid-a", ActorName: tricky, TenantID: "t", Action: "scenario.create", Target: "scn-1", Outcome: "ok",
			ActivityID: "act-1", ConversationID: "a:conv", GraphRequestID: "req-1"},
		{ActorOID: "oid-b", Action: "approval.approve", Target: "request-1", Outcome: "ok", Detail: tricky},
		{ActorOID: "oid-a", Action: "approval.deny", Target: "request-2", Outcome: "denied"},
	}
	var times []time.Time
	for _, e := range entries {
		clk.Advance(time.Second)
		times = append(times, clk.Now().Truncate(time.Microsecond))
		must(t, s.AppendAudit(ctx, e))
	}
	explicit := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600))
	must(t, s.AppendAudit(ctx, store.AuditEntry{At: explicit, Action: "legacy.import"}))

	all, err := s.ListAudit(ctx, store.AuditQuery{})
	must(t, err)
	if len(all) != 4 {
		t.Fatalf("ListAudit returned %d entries, want 4", len(all))
	}
	for i, want := range []string{"approval.deny", "approval.approve", "scenario.create", "legacy.import"} {
		if all[i].Action != want {
			t.Fatalf("entry %d action = %q, want %q (newest first)", i, all[i].Action, want)
		}
	}
	first := all[2]
	want := entries[0]
	want.ID, want.At = first.ID, times[0]
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("entry = %+v\nwant %+v", first, want)
	}
	if !all[3].At.Equal(explicit) || all[3].At.Location() != time.UTC {
		t.Fatalf("explicit time = %v, want %v in UTC", all[3].At, explicit)
	}

	tests := []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"actor", store.AuditQuery{ActorOID: "oid-a"}, []string{"approval.deny", "scenario.create"}},
		{"action", store.AuditQuery{Action: "approval.approve"}, []string{"approval.approve"}},
		{"before", store.AuditQuery{Before: times[2]}, []string{"approval.approve", "scenario.create", "legacy.import"}},
		{"limit", store.AuditQuery{Limit: 2}, []string{"approval.deny", "approval.approve"}},
		{"none", store.AuditQuery{ActorOID: "nobody"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.q)
			must(t, err)
			var actions []string
			for _, e := range got {
				actions = append(actions, e.Action)
			}
			if !slices.Equal(actions, tc.want) {
				t.Fatalf("actions = %v, want %v", actions, tc.want)
			}
		})
	}
}

func testLeases(t *testing.T, newURL func(t *testing.T) string) {
	u := newURL(t)
	clk := newClock()
	a, b := openStore(t, u, clk), openStore(t, u, clk) // two replicas
	ctx := context.Background()
	acquire := func(s store.Store, holder string, want bool) {
		t.Helper()
		got, err := s.AcquireLease(ctx, "approval-poller", holder, time.Minute)
		must(t, err)
		if got != want {
			t.Fatalf("AcquireLease(%s) = %v, want %v", holder, got, want)
		}
	}
	acquire(a, "replica-a", true)
	acquire(b, "replica-b", false)
	clk.Advance(50 * time.Second)
	acquire(a, "replica-a", true) // renew until +110 s
	clk.Advance(50 * time.Second)
	acquire(b, "replica-b", false) // the renewal holds
	clk.Advance(11 * time.Second)
	acquire(b, "replica-b", true) // expired: takeover
	acquire(a, "replica-a", false)

	must(t, a.ReleaseLease(ctx, "approval-poller", "replica-a")) // not the holder: no effect
	acquire(a, "replica-a", false)
	must(t, b.ReleaseLease(ctx, "approval-poller", "replica-b"))
	acquire(a, "replica-a", true)

	got, err := b.AcquireLease(ctx, "other-lease", "replica-b", time.Minute) // leases are independent
	must(t, err)
	if !got {
		t.Fatal("independent lease not acquired")
	}
}

func testOutbox(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	item := store.OutboxItem{Key: "approval:req-1:oid-a:stage1", Kind: "approval-card", TenantID: "t",
		RecipientOID: "oid-a", ConversationID: "a:conv", Payload: trickyJSON}
	created, err := s.EnqueueOutbox(ctx, item)
	must(t, err)
	if !created {
		t.Fatal("first enqueue not created")
	}
	dup := item
	dup.Payload = json.RawMessage(`{"other": true}`)
	created, err = s.EnqueueOutbox(ctx, dup)
	must(t, err)
	if created {
		t.Fatal("duplicate key created a second item")
	}
	_, err = s.EnqueueOutbox(ctx, store.OutboxItem{Key: "approval:req-1:oid-b:stage1", Kind: "approval-card",
		NotBefore: clk.Now().Add(time.Hour)})
	must(t, err)
	_, err = s.EnqueueOutbox(ctx, store.OutboxItem{Key: "Approval:req-2", Kind: "notice"})
	must(t, err)

	got, err := s.OutboxByKey(ctx, item.Key)
	must(t, err)
	now := clk.Now().Truncate(time.Microsecond)
	want := item
	want.ID, want.State, want.NotBefore, want.CreatedAt, want.UpdatedAt = got.ID, store.OutboxPending, now, now, now
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("OutboxByKey = %+v\nwant %+v", got, want)
	}
	_, err = s.OutboxByKey(ctx, "missing")
	wantErr(t, err, store.ErrNotFound)

	// Claim: only due pending items, once.
	claimed, err := s.ClaimOutbox(ctx, "replica-a", 10, time.Minute)
	must(t, err)
	if keys := outboxKeys(claimed); !slices.Equal(keys, []string{item.Key, "Approval:req-2"}) {
		t.Fatalf("claimed %v", keys)
	}
	c := claimed[0]
	if c.State != store.OutboxSending || c.ClaimedBy != "replica-a" || c.Attempts != 1 ||
		!c.ClaimedUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("claimed item = %+v", c)
	}
	again, err := s.ClaimOutbox(ctx, "replica-b", 10, time.Minute)
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("claimed twice: %v", outboxKeys(again))
	}

	must(t, s.MarkOutboxSent(ctx, c.ID, "1:activity-id"))
	got, err = s.OutboxByKey(ctx, item.Key)
	must(t, err)
	if got.State != store.OutboxSent || got.ActivityID != "1:activity-id" {
		t.Fatalf("after MarkOutboxSent = %+v", got)
	}

	// A transient failure goes back to pending at retryAt; a permanent one stays failed.
	must(t, s.MarkOutboxFailed(ctx, claimed[1].ID, "429 "+tricky, clk.Now().Add(30*time.Second)))
	got, err = s.OutboxByKey(ctx, "Approval:req-2")
	must(t, err)
	if got.State != store.OutboxPending || got.LastError != "429 "+tricky {
		t.Fatalf("after retryable failure = %+v", got)
	}
	none, err := s.ClaimOutbox(ctx, "replica-a", 10, time.Minute)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("claimed before retryAt: %v", outboxKeys(none))
	}
	clk.Advance(31 * time.Second)
	retry, err := s.ClaimOutbox(ctx, "replica-a", 10, time.Minute)
	must(t, err)
	if len(retry) != 1 || retry[0].Attempts != 2 {
		t.Fatalf("retry claim = %+v", retry)
	}
	must(t, s.MarkOutboxFailed(ctx, retry[0].ID, "403 forbidden", time.Time{}))
	must(t, s.MarkOutboxUnknown(ctx, c.ID, "timeout"))

	clk.Advance(time.Hour) // the deferred item becomes due
	later, err := s.ClaimOutbox(ctx, "replica-a", 10, time.Minute)
	must(t, err)
	if keys := outboxKeys(later); !slices.Equal(keys, []string{"approval:req-1:oid-b:stage1"}) {
		t.Fatalf("claimed %v", keys)
	}

	tests := []struct {
		name string
		q    store.OutboxQuery
		want []string
	}{
		{"all", store.OutboxQuery{}, []string{item.Key, "approval:req-1:oid-b:stage1", "Approval:req-2"}},
		{"prefix is case-sensitive", store.OutboxQuery{KeyPrefix: "approval:req-1:"}, []string{item.Key, "approval:req-1:oid-b:stage1"}},
		{"prefix wildcard is literal", store.OutboxQuery{KeyPrefix: "approval%"}, nil},
		{"kind", store.OutboxQuery{Kind: "notice"}, []string{"Approval:req-2"}},
		{"state failed", store.OutboxQuery{State: store.OutboxFailed}, []string{"Approval:req-2"}},
		{"state unknown", store.OutboxQuery{State: store.OutboxUnknown}, []string{item.Key}},
		{"limit", store.OutboxQuery{Limit: 1}, []string{item.Key}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListOutbox(ctx, tc.q)
			must(t, err)
			if keys := outboxKeys(got); !slices.Equal(keys, tc.want) {
				t.Fatalf("keys = %v, want %v", keys, tc.want)
			}
		})
	}

	wantErr(t, s.MarkOutboxSent(ctx, 987654, "x"), store.ErrNotFound)
	wantErr(t, s.MarkOutboxUnknown(ctx, 987654, "x"), store.ErrNotFound)
	wantErr(t, s.MarkOutboxFailed(ctx, 987654, "x", time.Time{}), store.ErrNotFound)
}

// testOutboxClaimExpiry checks that a send whose claim expired is written off as unknown and is
// never handed out again.
func testOutboxClaimExpiry(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	_, err := s.EnqueueOutbox(ctx, store.OutboxItem{Key: "k1", Kind: "card"})
	must(t, err)
	claimed, err := s.ClaimOutbox(ctx, "replica-a", 1, time.Minute)
	must(t, err)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d items, want 1", len(claimed))
	}
	clk.Advance(59 * time.Second)
	got, err := s.ClaimOutbox(ctx, "replica-b", 1, time.Minute)
	must(t, err)
	if len(got) != 0 {
		t.Fatal("claimed an item whose claim is still valid")
	}
	clk.Advance(time.Second)
	got, err = s.ClaimOutbox(ctx, "replica-b", 1, time.Minute)
	must(t, err)
	if len(got) != 0 {
		t.Fatal("an item with an unknown outcome was handed out for resending")
	}
	item, err := s.OutboxByKey(ctx, "k1")
	must(t, err)
	if item.State != store.OutboxUnknown || item.LastError == "" || item.ClaimedBy != "replica-a" {
		t.Fatalf("expired claim = %+v, want unknown with a reason", item)
	}
	// A late confirmation still records the truth.
	must(t, s.MarkOutboxSent(ctx, item.ID, "1:late"))
	item, err = s.OutboxByKey(ctx, "k1")
	must(t, err)
	if item.State != store.OutboxSent || item.ActivityID != "1:late" {
		t.Fatalf("late confirmation = %+v", item)
	}
}

func testConcurrentClaimOutbox(t *testing.T, newURL func(t *testing.T) string) {
	u := newURL(t)
	clk := newClock()
	handles := []store.Store{openStore(t, u, clk), openStore(t, u, clk)} // two replicas
	ctx := context.Background()
	const items = 120
	for i := range items {
		_, err := handles[i%2].EnqueueOutbox(ctx, store.OutboxItem{Key: fmt.Sprintf("item-%03d", i), Kind: "card"})
		must(t, err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[int64]string{}
		errs []error
	)
	for w := range 6 {
		wg.Go(func() {
			s := handles[w%2]
			holder := fmt.Sprintf("worker-%d", w)
			for {
				got, err := s.ClaimOutbox(ctx, holder, 7, time.Minute)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, it := range got {
					if prev, dup := seen[it.ID]; dup {
						errs = append(errs, fmt.Errorf("item %d claimed by %s and %s", it.ID, prev, holder))
					}
					seen[it.ID] = holder
				}
				mu.Unlock()
				if err != nil || len(got) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	if len(seen) != items {
		t.Fatalf("claimed %d distinct items, want %d", len(seen), items)
	}
}

func outboxKeys(items []store.OutboxItem) []string {
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys
}

func testScenarios(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	created := clk.Now().Truncate(time.Microsecond)
	rec := store.ScenarioRecord{
		ID: "scn-1", TenantID: "tenant-1", Name: "Zoë's Ünïcode Project", OwnerOID: "owner-1",
		CoOwnerOIDs: []string{"co-1", "co-2", "co-1", ""}, CatalogID: "cat-1", AccessPackageID: "ap-1",
		PolicyID: "pol-1", ConnectedOrgIDs: []string{"org-1"}, State: store.ScenarioProvisioning, Spec: trickyJSON,
		LastError: tricky,
	}
	must(t, s.PutScenario(ctx, rec))
	got, err := s.GetScenario(ctx, "scn-1")
	must(t, err)
	want := rec
	want.CoOwnerOIDs = []string{"co-1", "co-2"}
	want.CreatedAt, want.UpdatedAt = created, created
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetScenario = %+v\nwant %+v", got, want)
	}

	// Update: CreatedAt kept, UpdatedAt moves, retiring stamps RetiredAt.
	clk.Advance(time.Hour)
	rec.State = store.ScenarioRetired
	rec.CoOwnerOIDs = []string{"co-3"}
	rec.Spec = nil
	must(t, s.PutScenario(ctx, rec))
	got, err = s.GetScenario(ctx, "scn-1")
	must(t, err)
	now := clk.Now().Truncate(time.Microsecond)
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(now) || got.RetiredAt == nil ||
		!got.RetiredAt.Equal(now) || got.Spec != nil || !slices.Equal(got.CoOwnerOIDs, []string{"co-3"}) {
		t.Fatalf("after update = %+v", got)
	}

	// Names are unique per tenant, case-insensitively (also beyond ASCII).
	clash := store.ScenarioRecord{ID: "scn-2", TenantID: "tenant-1", Name: "ZOË'S üNÏCODE PROJECT", OwnerOID: "o",
		State: store.ScenarioActive}
	wantErr(t, s.PutScenario(ctx, clash), store.ErrConflict)
	clash.TenantID = "tenant-2"
	must(t, s.PutScenario(ctx, clash))
	must(t, s.PutScenario(ctx, store.ScenarioRecord{ID: "scn-3", TenantID: "tenant-1", Name: "Vendor app",
		OwnerOID: "co-3", CoOwnerOIDs: []string{"owner-1"}, AccessPackageID: "ap-3", State: store.ScenarioActive}))
	must(t, s.PutScenario(ctx, store.ScenarioRecord{ID: "scn-4", TenantID: "tenant-1", Name: "another",
		OwnerOID: "someone", State: store.ScenarioActive}))

	byName, err := s.ScenarioByName(ctx, "tenant-1", "zoë's ünïcode project")
	must(t, err)
	if byName.ID != "scn-1" {
		t.Fatalf("ScenarioByName = %q", byName.ID)
	}
	_, err = s.ScenarioByName(ctx, "tenant-3", "zoë's ünïcode project")
	wantErr(t, err, store.ErrNotFound)
	byAP, err := s.ScenarioByAccessPackage(ctx, "ap-3")
	must(t, err)
	if byAP.ID != "scn-3" {
		t.Fatalf("ScenarioByAccessPackage = %q", byAP.ID)
	}
	_, err = s.ScenarioByAccessPackage(ctx, "ap-missing")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetScenario(ctx, "missing")
	wantErr(t, err, store.ErrNotFound)

	tests := []struct {
		name string
		q    store.ScenarioQuery
		want []string
	}{
		{"tenant, active only", store.ScenarioQuery{TenantID: "tenant-1"}, []string{"scn-4", "scn-3"}},
		{"tenant with retired", store.ScenarioQuery{TenantID: "tenant-1", IncludeRetired: true}, []string{"scn-4", "scn-3", "scn-1"}},
		{"owner or co-owner", store.ScenarioQuery{OwnerOID: "co-3", IncludeRetired: true}, []string{"scn-3", "scn-1"}},
		{"co-owner only", store.ScenarioQuery{OwnerOID: "owner-1"}, []string{"scn-3"}},
		{"removed co-owner", store.ScenarioQuery{OwnerOID: "co-1", IncludeRetired: true}, nil},
		{"all tenants", store.ScenarioQuery{}, []string{"scn-4", "scn-3", "scn-2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListScenarios(ctx, tc.q)
			must(t, err)
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ids = %v, want %v", ids, tc.want)
			}
		})
	}
}

func testOnboardings(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	_, err := s.UpsertOnboarding(ctx, store.Onboarding{TenantID: "t", ScenarioID: "missing", SponsorOID: "sp",
		GuestEmail: "a@partner.example", Channel: store.ChannelCard, State: store.OnboardingLinkSent})
	wantErr(t, err, store.ErrNotFound)

	must(t, s.PutScenario(ctx, store.ScenarioRecord{ID: "scn-1", TenantID: "t", Name: "one", OwnerOID: "sp", State: store.ScenarioActive}))
	must(t, s.PutScenario(ctx, store.ScenarioRecord{ID: "scn-2", TenantID: "t", Name: "two", OwnerOID: "sp", State: store.ScenarioActive}))
	start := clk.Now().Truncate(time.Microsecond)
	o := store.Onboarding{TenantID: "t", ScenarioID: "scn-1", SponsorOID: "sp", GuestEmail: "Zoë.O'Brien@Partner.example",
		Channel: store.ChannelMail, State: store.OnboardingLinkSent, LastError: tricky}
	first, err := s.UpsertOnboarding(ctx, o)
	must(t, err)
	want := o
	want.ID, want.InvitedAt, want.CreatedAt, want.UpdatedAt = first.ID, start, start, start
	if first.ID == 0 || !reflect.DeepEqual(first, want) {
		t.Fatalf("UpsertOnboarding = %+v\nwant %+v", first, want)
	}
	got, err := s.GetOnboarding(ctx, first.ID)
	must(t, err)
	if !reflect.DeepEqual(got, first) {
		t.Fatalf("GetOnboarding = %+v\nwant %+v", got, first)
	}

	// Follow the guest: fields set only when given; a pointer to the zero time clears ExpiresAt.
	clk.Advance(time.Hour)
	expires := clk.Now().Add(90 * 24 * time.Hour)
	reqID, oid := "req-1", "guest-oid"
	got, err = s.UpdateOnboardingState(ctx, first.ID, store.OnboardingDelivered,
		store.OnboardingFields{RequestID: &reqID, GuestOID: &oid, ExpiresAt: &expires})
	must(t, err)
	if got.State != store.OnboardingDelivered || got.RequestID != "req-1" || got.GuestOID != "guest-oid" ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires.Truncate(time.Microsecond)) ||
		got.LastError != tricky || !got.CreatedAt.Equal(start) || got.UpdatedAt.Equal(start) {
		t.Fatalf("after update = %+v", got)
	}
	var zero time.Time
	notified := store.OnboardingDelivered
	got, err = s.UpdateOnboardingState(ctx, first.ID, store.OnboardingExpired,
		store.OnboardingFields{ExpiresAt: &zero, NotifiedState: &notified})
	must(t, err)
	if got.ExpiresAt != nil || got.NotifiedState != store.OnboardingDelivered || got.RequestID != "req-1" {
		t.Fatalf("after clearing = %+v", got)
	}
	_, err = s.UpdateOnboardingState(ctx, 987654, store.OnboardingExpired, store.OnboardingFields{})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetOnboarding(ctx, 987654)
	wantErr(t, err, store.ErrNotFound)

	// Inviting the same address again (any case) starts a new cycle on the same row.
	clk.Advance(time.Hour)
	again, err := s.UpsertOnboarding(ctx, store.Onboarding{TenantID: "t", ScenarioID: "scn-1", SponsorOID: "sp-2",
		GuestEmail: "zoë.o'brien@partner.EXAMPLE", Channel: store.ChannelCard, State: store.OnboardingLinkSent})
	must(t, err)
	if again.ID != first.ID || again.SponsorOID != "sp-2" || again.RequestID != "" || !again.CreatedAt.Equal(start) ||
		!again.InvitedAt.Equal(clk.Now().Truncate(time.Microsecond)) {
		t.Fatalf("re-invite = %+v", again)
	}
	other, err := s.UpsertOnboarding(ctx, store.Onboarding{TenantID: "t", ScenarioID: "scn-2", SponsorOID: "sp-2",
		GuestEmail: "zoë.o'brien@partner.example", Channel: store.ChannelB2B, State: store.OnboardingRequested})
	must(t, err)
	clk.Advance(time.Minute)
	third, err := s.UpsertOnboarding(ctx, store.Onboarding{TenantID: "t", ScenarioID: "scn-2", SponsorOID: "sp",
		GuestEmail: "b@partner.example", Channel: store.ChannelCard, State: store.OnboardingDelivered})
	must(t, err)

	tests := []struct {
		name string
		q    store.OnboardingQuery
		want []int64
	}{
		{"all, most recent first", store.OnboardingQuery{}, []int64{third.ID, other.ID, first.ID}},
		{"sponsor", store.OnboardingQuery{SponsorOID: "sp-2"}, []int64{other.ID, first.ID}},
		{"scenario", store.OnboardingQuery{ScenarioID: "scn-1"}, []int64{first.ID}},
		{"email any case", store.OnboardingQuery{GuestEmail: "ZOË.O'BRIEN@partner.example"}, []int64{other.ID, first.ID}},
		{"state", store.OnboardingQuery{State: store.OnboardingRequested}, []int64{other.ID}},
		{"states", store.OnboardingQuery{States: []string{store.OnboardingDelivered, store.OnboardingLinkSent}}, []int64{third.ID, first.ID}},
		{"tenant and limit", store.OnboardingQuery{TenantID: "t", Limit: 1}, []int64{third.ID}},
		{"other tenant", store.OnboardingQuery{TenantID: "t2"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListOnboardings(ctx, tc.q)
			must(t, err)
			var ids []int64
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ids = %v, want %v", ids, tc.want)
			}
		})
	}

	counts := []struct {
		sponsor string
		since   time.Time
		want    int
	}{
		{"sp-2", start, 2},
		{"sp-2", clk.Now().Add(-30 * time.Second), 0},
		{"sp", start, 1},
		{"nobody", start, 0},
	}
	for _, c := range counts {
		n, err := s.CountInvitesSince(ctx, c.sponsor, c.since)
		must(t, err)
		if n != c.want {
			t.Fatalf("CountInvitesSince(%s, %v) = %d, want %d", c.sponsor, c.since, n, c.want)
		}
	}
}

func testKV(t *testing.T, newURL func(t *testing.T) string) {
	s, clk, ctx := fixture(t, newURL)
	_, err := s.GetKV(ctx, "missing")
	wantErr(t, err, store.ErrNotFound)

	binary := []byte{0, 1, 2, 0xff, '\'', '"'}
	must(t, s.PutKV(ctx, "roles:"+tricky, []byte(trickyJSON), time.Minute))
	must(t, s.PutKV(ctx, "binary", binary, 0))
	must(t, s.PutKV(ctx, "empty", nil, 0))
	for _, c := range []struct {
		key  string
		want []byte
	}{{"roles:" + tricky, trickyJSON}, {"binary", binary}, {"empty", []byte{}}} {
		got, err := s.GetKV(ctx, c.key)
		must(t, err)
		if string(got) != string(c.want) || got == nil {
			t.Fatalf("GetKV(%q) = %q, want %q", c.key, got, c.want)
		}
	}

	must(t, s.PutKV(ctx, "binary", []byte("v2"), time.Hour)) // overwrite with a ttl
	clk.Advance(time.Minute)
	_, err = s.GetKV(ctx, "roles:"+tricky)
	wantErr(t, err, store.ErrNotFound) // expired
	got, err := s.GetKV(ctx, "binary")
	must(t, err)
	if string(got) != "v2" {
		t.Fatalf("overwritten value = %q", got)
	}
	n, err := s.PruneKV(ctx, clk.Now())
	must(t, err)
	if n != 1 {
		t.Fatalf("PruneKV = %d, want 1", n)
	}
	must(t, s.DeleteKV(ctx, "empty"))
	must(t, s.DeleteKV(ctx, "empty"))
	_, err = s.GetKV(ctx, "empty")
	wantErr(t, err, store.ErrNotFound)
}

func testInvalidArguments(t *testing.T, newURL func(t *testing.T) string) {
	s, _, ctx := fixture(t, newURL)
	validScenario := store.ScenarioRecord{ID: "id", TenantID: "t", Name: "n", OwnerOID: "o", State: store.ScenarioActive}
	tests := []struct {
		name string
		call func() error
	}{
		{"claim without activity id", func() error { _, err := s.ClaimActivity(ctx, "a:c", ""); return err }},
		{"claim without conversation", func() error { _, err := s.ClaimActivity(ctx, " ", "1"); return err }},
		{"conversation without id", func() error { return s.UpsertConversation(ctx, store.ConversationRef{TenantID: "t"}) }},
		{"personal conversation without user", func() error { _, err := s.PersonalConversation(ctx, "t", ""); return err }},
		{"dialog without name", func() error {
			_, err := s.SaveDialog(ctx, store.Dialog{ConversationID: "c", UserID: "u"})
			return err
		}},
		{"dialog with malformed state", func() error {
			_, err := s.SaveDialog(ctx, store.Dialog{ConversationID: "c", UserID: "u", Name: "n", State: json.RawMessage(`{"a":`)})
			return err
		}},
		{"dialog with negative version", func() error {
			_, err := s.SaveDialog(ctx, store.Dialog{ConversationID: "c", UserID: "u", Name: "n", Version: -1})
			return err
		}},
		{"audit without action", func() error { return s.AppendAudit(ctx, store.AuditEntry{ActorOID: "o"}) }},
		{"lease with zero ttl", func() error { _, err := s.AcquireLease(ctx, "l", "h", 0); return err }},
		{"lease without holder", func() error { _, err := s.AcquireLease(ctx, "l", "", time.Second); return err }},
		{"outbox without key", func() error { _, err := s.EnqueueOutbox(ctx, store.OutboxItem{Kind: "k"}); return err }},
		{"outbox without kind", func() error { _, err := s.EnqueueOutbox(ctx, store.OutboxItem{Key: "k"}); return err }},
		{"outbox with malformed payload", func() error {
			_, err := s.EnqueueOutbox(ctx, store.OutboxItem{Key: "k", Kind: "k", Payload: json.RawMessage(`nope`)})
			return err
		}},
		{"outbox claim with zero limit", func() error { _, err := s.ClaimOutbox(ctx, "h", 0, time.Second); return err }},
		{"outbox claim with zero lease", func() error { _, err := s.ClaimOutbox(ctx, "h", 1, 0); return err }},
		{"outbox claim without holder", func() error { _, err := s.ClaimOutbox(ctx, "", 1, time.Second); return err }},
		{"scenario with unknown state", func() error {
			r := validScenario
			r.State = "deleted"
			return s.PutScenario(ctx, r)
		}},
		{"scenario without name", func() error {
			r := validScenario
			r.Name = ""
			return s.PutScenario(ctx, r)
		}},
		{"scenario with malformed spec", func() error {
			r := validScenario
			r.Spec = json.RawMessage(`[`)
			return s.PutScenario(ctx, r)
		}},
		{"scenario by empty access package", func() error { _, err := s.ScenarioByAccessPackage(ctx, ""); return err }},
		{"onboarding with unknown channel", func() error {
			_, err := s.UpsertOnboarding(ctx, store.Onboarding{TenantID: "t", ScenarioID: "id", SponsorOID: "s",
				GuestEmail: "g@x.example", Channel: "fax", State: store.OnboardingLinkSent})
			return err
		}},
		{"onboarding with unknown state", func() error {
			_, err := s.UpdateOnboardingState(ctx, 1, "teleported", store.OnboardingFields{})
			return err
		}},
		{"kv without key", func() error { return s.PutKV(ctx, "", []byte("v"), 0) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(), store.ErrInvalid)
		})
	}
}
