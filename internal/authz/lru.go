package authz

import (
	"container/list"
	"sync"
	"time"
)

// lru is a size-bounded, expiring cache of resolved roles. A plain map would grow with every user
// who ever wrote to the bot; this one keeps the most recently used capacity entries.
type lru struct {
	mu       sync.Mutex
	capacity int
	order    *list.List // front: most recently used
	items    map[string]*list.Element
}

type lruEntry struct {
	key     string
	roles   Roles
	expires time.Time
}

func newLRU(capacity int) *lru {
	return &lru{capacity: capacity, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the roles under key when they have not expired at now; an expired entry is dropped.
func (c *lru) get(key string, now time.Time) (Roles, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return Roles{}, false
	}
	e := el.Value.(*lruEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return Roles{}, false
	}
	c.order.MoveToFront(el)
	return e.roles, true
}

// put stores roles under key until expires, evicting the least recently used entry when full.
func (c *lru) put(key string, roles Roles, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry)
		e.roles, e.expires = roles, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, roles: roles, expires: expires})
	for c.order.Len() > c.capacity {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry).key)
	}
}

// len reports the number of entries, expired or not.
func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
