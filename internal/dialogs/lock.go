package dialogs

import (
	"context"
	"sync"
)

// keyedMutex serialises work per key (one user in one conversation) inside this process. An entry
// exists only while someone holds or waits for its key, so memory is bounded by the number of
// concurrent turns, not by the number of users ever seen.
type keyedMutex struct {
	mu   sync.Mutex
	keys map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // a token is in the channel while the key is free
	refs int           // holders plus waiters
}

func newKeyedMutex() *keyedMutex { return &keyedMutex{keys: map[string]*keyLock{}} }

// lock acquires key, waiting until it is free or ctx ends. On success the caller must call the
// returned unlock exactly once.
func (k *keyedMutex) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	l := k.keys[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		l.ch <- struct{}{}
		k.keys[key] = l
	}
	l.refs++
	k.mu.Unlock()

	select {
	case <-l.ch:
		var once sync.Once
		return func() { once.Do(func() { l.ch <- struct{}{}; k.release(key, l) }) }, nil
	case <-ctx.Done():
		k.release(key, l)
		return nil, ctx.Err()
	}
}

// release drops one reference and forgets the key when nobody holds or waits for it.
func (k *keyedMutex) release(key string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.keys, key)
	}
}

// size is the number of keys currently held or waited for.
func (k *keyedMutex) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}
