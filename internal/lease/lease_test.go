package lease_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guestpass/internal/lease"
	"guestpass/internal/store"
)

// Two replicas on one store: only the lease holder works, and when it stops the other takes
// over at its next round instead of waiting for the lease to expire.
func TestOneHolderAtATimeAndHandOver(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	const interval = 20 * time.Millisecond

	var mu sync.Mutex
	var order []string
	var working atomic.Int32
	work := func(name string) func(context.Context) error {
		return func(context.Context) error {
			if working.Add(1) > 1 {
				t.Errorf("%s works while another replica does", name)
			}
			defer working.Add(-1)
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { defer close(doneA); lease.Loop(ctxA, st, "job", "a", interval, quiet, work("a")) }()
	// Let a take the lease first.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica a never worked")
		}
	}
	ctxB, stopB := context.WithCancel(context.Background())
	doneB := make(chan struct{})
	go func() { defer close(doneB); lease.Loop(ctxB, st, "job", "b", interval, quiet, work("b")) }()
	time.Sleep(10 * interval)
	mu.Lock()
	for _, who := range order {
		if who != "a" {
			t.Errorf("b worked while a held the lease: %v", order)
			break
		}
	}
	mu.Unlock()

	stopA()
	<-doneA
	// The lease was released: b's next round takes it (well before the 3-interval ttl matters,
	// but the assertion only needs it to happen at all).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		last := order[len(order)-1]
		mu.Unlock()
		if last == "b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never took over after a stopped")
		}
	}
	stopB()
	<-doneB
	if ok, err := st.AcquireLease(context.Background(), "job", "c", time.Minute); err != nil || !ok {
		t.Fatalf("after both stopped the lease is still held: %v, %v", ok, err)
	}
}
