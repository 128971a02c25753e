package keylock

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestLockSerialisesPerKey(t *testing.T) {
	var m Map
	var wg sync.WaitGroup
	counts := map[string]int{}
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a", "b"}[i%2]
			unlock, err := m.Lock(context.Background(), key)
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
			// Unsynchronised read-modify-write per key: the race detector and the totals below
			// catch two holders of one key at once. Different keys share the map, so the map
			// itself is guarded by a second lock on a shared key.
			u, _ := m.Lock(context.Background(), "map")
			n := counts[key]
			u()
			u, _ = m.Lock(context.Background(), "map")
			counts[key] = n + 1
			u()
		}()
	}
	wg.Wait()
	if counts["a"] != 100 || counts["b"] != 100 {
		t.Fatalf("counts = %v, want 100 each: two holders of one key overlapped", counts)
	}
	if m.Len() != 0 {
		t.Fatalf("Len = %d after every holder released", m.Len())
	}
}

func TestLockHonoursContext(t *testing.T) {
	var m Map
	unlock, err := m.Lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Lock(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock on a held key with a cancelled context = %v", err)
	}
	unlock()
	unlock() // idempotent
	if m.Len() != 0 {
		t.Fatalf("Len = %d after release", m.Len())
	}
	u2, err := m.Lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	u2()
}
