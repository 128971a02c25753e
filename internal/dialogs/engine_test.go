package dialogs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"guestpass/internal/store"
	"guestpass/internal/testkit"
)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestTransactSavesLoadsAndExpires(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	clock := testkit.NewClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	e := NewEngine(st, EngineOptions{TTL: time.Hour, Now: clock.Now})
	key := Key{ConversationID: "c1", UserOID: "u1"}
	ctx := context.Background()

	if err := e.Transact(ctx, key, func(cur Current) (Change, error) {
		if cur.Found {
			t.Fatalf("unexpected dialog %+v", cur)
		}
		return Save("scenario", "name", []byte(`{"n":1}`)), nil
	}); err != nil {
		t.Fatal(err)
	}
	cur, err := e.Load(ctx, key)
	if err != nil || !cur.Found || cur.Step != "name" || string(cur.State) != `{"n":1}` || cur.Expired {
		t.Fatalf("Load = %+v, %v", cur, err)
	}
	clock.Advance(time.Hour)
	cur, err = e.Load(ctx, key)
	if err != nil || !cur.Expired {
		t.Fatalf("after TTL: Load = %+v, %v; want expired", cur, err)
	}
	if err := e.Transact(ctx, key, func(Current) (Change, error) { return Delete(), nil }); err != nil {
		t.Fatal(err)
	}
	if cur, _ := e.Load(ctx, key); cur.Found {
		t.Fatalf("dialog survived Delete: %+v", cur)
	}
}

// TestTransactReappliesAfterLostRace plays a second replica writing the dialog between this
// replica's load and save: the save hits the store's version check, and the input is applied again
// to what the other replica wrote, so neither write is lost.
func TestTransactReappliesAfterLostRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	st := openStore(t, path)
	other := openStore(t, path) // the second replica's connection to the same database
	e := NewEngine(st, EngineOptions{})
	key := Key{ConversationID: "c1", UserOID: "u1"}
	ctx := context.Background()
	if err := e.Transact(ctx, key, func(Current) (Change, error) { return Save("d", "s", []byte(`[]`)), nil }); err != nil {
		t.Fatal(err)
	}

	calls := 0
	err := e.Transact(ctx, key, func(cur Current) (Change, error) {
		calls++
		if calls == 1 {
			// The other replica appends "b" after we loaded.
			if _, err := other.SaveDialog(ctx, store.Dialog{ConversationID: key.ConversationID, UserID: key.UserOID,
				Name: "d", Step: "s", State: []byte(`["b"]`), Version: cur.Version}); err != nil {
				t.Fatalf("other replica: %v", err)
			}
		}
		var next []byte
		switch string(cur.State) {
		case `[]`:
			next = []byte(`["a"]`)
		case `["b"]`:
			next = []byte(`["b","a"]`)
		default:
			t.Fatalf("unexpected state %s", cur.State)
		}
		return Save("d", "s", next), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("fn called %d times, want 2 (one lost race, one re-apply)", calls)
	}
	cur, _ := e.Load(ctx, key)
	if string(cur.State) != `["b","a"]` {
		t.Fatalf("state = %s, want both writes", cur.State)
	}
}

func TestTransactGivesUpWithErrBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	st := openStore(t, path)
	e := NewEngine(st, EngineOptions{})
	key := Key{ConversationID: "c1", UserOID: "u1"}
	ctx := context.Background()
	if err := e.Transact(ctx, key, func(Current) (Change, error) { return Save("d", "s", nil), nil }); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err := e.Transact(ctx, key, func(cur Current) (Change, error) {
		calls++
		if _, err := st.SaveDialog(ctx, store.Dialog{ConversationID: "c1", UserID: "u1", Name: "d", Step: "x", Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		return Save("d", "s", nil), nil
	})
	if !errors.Is(err, ErrBusy) || calls != maxAttempts {
		t.Fatalf("err = %v after %d calls; want ErrBusy after %d", err, calls, maxAttempts)
	}
}

func TestTransactSerialisesPerKey(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	e := NewEngine(st, EngineOptions{})
	key := Key{ConversationID: "c1", UserOID: "u1"}
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.Transact(ctx, key, func(cur Current) (Change, error) {
				count := 0
				if cur.Found {
					count, _ = strconv.Atoi(string(cur.State))
				}
				return Save("d", "s", []byte(strconv.Itoa(count+1))), nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	cur, _ := e.Load(ctx, key)
	if got, _ := strconv.Atoi(string(cur.State)); got != n {
		t.Fatalf("counter = %d, want %d: increments were lost", got, n)
	}
	if e.locks.Len() != 0 {
		t.Fatalf("lock table holds %d keys after all turns ended", e.locks.Len())
	}
}
