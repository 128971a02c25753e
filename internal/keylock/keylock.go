// Package keylock serialises work per key (a user in a conversation, a request, a scenario name)
// inside one process. guestpass uses it where two turns or workers could otherwise race on the
// same thing before the store's own guard (a unique key, a version check) would catch it, so
// that the second one sees the first one's result instead of repeating a Graph call.
package keylock

import (
	"context"
	"sync"
)

// Map is a set of mutexes by key. An entry exists only while someone holds or waits for its key,
// so memory is bounded by the work in flight, not by the number of keys ever seen. The zero value
// is ready to use.
type Map struct {
	mu   sync.Mutex
	keys map[string]*entry
}

type entry struct {
	ch   chan struct{} // a token is in the channel while the key is free
	refs int           // holders plus waiters
}

// Lock acquires key, waiting until it is free or ctx ends. On success the caller must call the
// returned unlock; calling it more than once is harmless.
func (m *Map) Lock(ctx context.Context, key string) (unlock func(), err error) {
	m.mu.Lock()
	if m.keys == nil {
		m.keys = map[string]*entry{}
	}
	e := m.keys[key]
	if e == nil {
		e = &entry{ch: make(chan struct{}, 1)}
		e.ch <- struct{}{}
		m.keys[key] = e
	}
	e.refs++
	m.mu.Unlock()

	select {
	case <-e.ch:
		var once sync.Once
		return func() { once.Do(func() { e.ch <- struct{}{}; m.release(key, e) }) }, nil
	case <-ctx.Done():
		m.release(key, e)
		return nil, ctx.Err()
	}
}

// release drops one reference and forgets the key when nobody holds or waits for it.
func (m *Map) release(key string, e *entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(m.keys, key)
	}
}

// Len is the number of keys currently held or waited for.
func (m *Map) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}
