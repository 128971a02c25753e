package botframework

import (
	"context"
	"sync"
	"time"
)

// Window is one sliding-window rate limit: at most Limit operations in any interval of Length.
type Window struct {
	Length time.Duration
	Limit  int
}

// TeamsSendWindows are the per-bot, per-conversation limits Teams documents for "send to
// conversation" and "create conversation" (teams-bot-protocol.md §4.4).
var TeamsSendWindows = []Window{
	{Length: time.Second, Limit: 7},
	{Length: 2 * time.Second, Limit: 8},
	{Length: 30 * time.Second, Limit: 60},
	{Length: time.Hour, Limit: 1800},
}

// PacerConfig configures a Pacer. The zero value gives the Teams limits.
type PacerConfig struct {
	// Windows are the per-key limits; default TeamsSendWindows.
	Windows []Window
	// GlobalRPS bounds all calls of this process (default 30, the conservative end of Teams'
	// documented 30–50 requests/s per app per tenant). guestpass serves one organisation, so a
	// process-wide bound is also the per-tenant bound.
	GlobalRPS float64
	// GlobalBurst is how many calls may go out back to back before GlobalRPS applies (default 5).
	GlobalBurst int
	// Margin lengthens every window a little (default 100ms) so that network jitter between our
	// clock and the service's cannot make two paced calls land in one of Teams' windows.
	// A negative value means no margin.
	Margin time.Duration
	// Now and Sleep are the clock; nil means the real one. Tests inject a virtual clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Pacer makes callers wait, instead of provoking 429s, so that outbound calls stay within the Teams
// rate limits: sliding windows per key (a conversation) and a token bucket for the whole process.
//
// It is safe for concurrent use. Memory is proportional to the keys active within the longest
// window; idle keys are dropped. Reservations are not made ahead: a waiter re-checks after sleeping,
// so a cancelled wait never consumes capacity.
type Pacer struct {
	windows []Window
	maxLen  time.Duration
	maxN    int
	rate    float64 // tokens per nanosecond
	burst   float64
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	// base anchors all recorded times: offsets from it use the monotonic clock, so wall-clock
	// steps cannot reorder the history.
	base time.Time

	mu         sync.Mutex
	keys       map[string]*history
	tokens     float64
	last       int64 // time of the last token update, nanoseconds since base
	nextSweep  int64
	sweepEvery int64
}

// history is a ring of the most recent call times of one key, oldest first.
type history struct {
	times []int64 // nanoseconds since Pacer.base; grows up to maxN, then used as a ring
	start int     // index of the oldest entry once full
}

// NewPacer returns a Pacer for cfg.
func NewPacer(cfg PacerConfig) *Pacer {
	windows := cfg.Windows
	if len(windows) == 0 {
		windows = TeamsSendWindows
	}
	margin := cfg.Margin
	switch {
	case margin == 0:
		margin = 100 * time.Millisecond
	case margin < 0:
		margin = 0
	}
	p := &Pacer{
		windows: make([]Window, 0, len(windows)),
		rate:    cfg.GlobalRPS,
		burst:   float64(cfg.GlobalBurst),
		now:     cfg.Now,
		sleep:   cfg.Sleep,
		keys:    make(map[string]*history),
	}
	for _, w := range windows {
		if w.Limit <= 0 || w.Length <= 0 {
			continue
		}
		w.Length += margin
		p.windows = append(p.windows, w)
		p.maxLen = max(p.maxLen, w.Length)
		p.maxN = max(p.maxN, w.Limit)
	}
	if p.rate <= 0 {
		p.rate = 30
	}
	if p.burst < 1 {
		p.burst = 5
	}
	p.rate /= float64(time.Second)
	p.tokens = p.burst
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = sleepCtx
	}
	p.sweepEvery = int64(p.maxLen)
	p.base = p.now()
	return p
}

// Wait blocks until a call for key may be made without exceeding any limit, then counts it.
// It returns the context's error if ctx ends first; nothing is counted then.
func (p *Pacer) Wait(ctx context.Context, key string) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := p.take(key)
		if d <= 0 {
			return nil
		}
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// take counts a call for key and returns 0 if one may be made now, or else how long to wait
// before asking again (nothing is counted then).
func (p *Pacer) take(key string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := int64(p.now().Sub(p.base))
	p.sweep(now)

	// Global token bucket.
	if now > p.last {
		p.tokens = min(p.burst, p.tokens+float64(now-p.last)*p.rate)
		p.last = now
	}
	var wait int64
	if p.tokens < 1 {
		wait = int64((1-p.tokens)/p.rate) + 1
	}

	h := p.keys[key]
	if h != nil {
		for _, w := range p.windows {
			// The w.Limit-th most recent call must have left the window.
			if t, ok := h.nthNewest(w.Limit); ok {
				if free := t + int64(w.Length) - now; free > wait {
					wait = free
				}
			}
		}
	}
	if wait > 0 {
		return time.Duration(wait)
	}
	p.tokens--
	if h == nil {
		h = &history{}
		p.keys[key] = h
	}
	if t, ok := h.nthNewest(1); ok && t > now {
		now = t // keep the ring ordered even if the injected clock steps back
	}
	h.add(now, p.maxN)
	return 0
}

// sweep drops keys whose newest call left the longest window: they constrain nothing.
func (p *Pacer) sweep(now int64) {
	if now < p.nextSweep {
		return
	}
	p.nextSweep = now + p.sweepEvery
	for k, h := range p.keys {
		if t, ok := h.nthNewest(1); !ok || now-t >= int64(p.maxLen) {
			delete(p.keys, k)
		}
	}
}

// nthNewest returns the n-th most recent time (n=1 is the newest), if that many are recorded.
func (h *history) nthNewest(n int) (int64, bool) {
	size := len(h.times)
	if n > size || n <= 0 {
		return 0, false
	}
	// Newest is at start-1 (mod size) once full; while growing, start is 0 and newest is last.
	return h.times[(h.start+size-n)%size], true
}

// add records t, keeping at most capN entries.
func (h *history) add(t int64, capN int) {
	if len(h.times) < capN {
		h.times = append(h.times, t)
		return
	}
	h.times[h.start] = t
	h.start = (h.start + 1) % len(h.times)
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
