package botframework

import (
	"sync"
	"time"
)

// maxVerifiedTokens bounds the verified-token cache. A bot sees one channel token per key and
// hour from the Bot Connector, so a few thousand entries cover any real load with room to spare.
const maxVerifiedTokens = 4096

// verifiedToken is a token whose signature and activity-independent claims passed validation.
type verifiedToken struct {
	claims Claims
	// notAfter is when the token stops being acceptable: exp plus the allowed clock skew.
	notAfter time.Time
}

// tokenCache maps SHA-256 digests of verified tokens to their claims. It is bounded: when full it
// drops expired entries and, if that frees nothing, starts over (a cache miss only costs one
// signature check).
type tokenCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[32]byte]verifiedToken
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[32]byte]verifiedToken)}
}

// get returns the entry for sum if it is still within its lifetime at now.
func (c *tokenCache) get(sum [32]byte, now time.Time) (verifiedToken, bool) {
	c.mu.RLock()
	vt, ok := c.entries[sum]
	c.mu.RUnlock()
	if !ok || !now.Before(vt.notAfter) {
		return verifiedToken{}, false
	}
	return vt, true
}

// put records a verified token.
func (c *tokenCache) put(sum [32]byte, vt verifiedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.notAfter) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[sum] = vt
}
