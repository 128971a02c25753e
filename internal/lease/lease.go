// Package lease runs periodic work on one replica at a time. Replicas share the store; the one
// holding the named lease does the work, renewing the lease every round, so a replica that dies
// is replaced within a few intervals and one that stops hands over at once.
package lease

import (
	"context"
	"log/slog"
	"time"
)

// Store holds leases (store.Store).
type Store interface {
	// AcquireLease takes or renews name for holder until ttl from now; false means another
	// holder has it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives name up if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// ttlRounds is how many rounds a lease outlives its last renewal: long enough that a slow round
// does not lose it, short enough that a dead holder is replaced soon.
const ttlRounds = 3

// Loop runs work now and then every interval while holder holds the lease name, until ctx ends;
// then it releases the lease. Errors of a round are logged, not returned: the next round tries
// again.
func Loop(ctx context.Context, st Store, name, holder string, interval time.Duration, log *slog.Logger, work func(context.Context) error) {
	log = log.With("lease", name)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := st.AcquireLease(ctx, name, holder, ttlRounds*interval)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("acquiring the lease failed", "error", err)
		case ok:
			if err := work(ctx); err != nil && ctx.Err() == nil {
				log.Warn("a leased round failed", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			// Hand over at once instead of after the lease's ttl; the store call must outlive ctx.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := st.ReleaseLease(rctx, name, holder); err != nil {
				log.Warn("releasing the lease failed", "error", err)
			}
			return
		case <-t.C:
		}
	}
}
