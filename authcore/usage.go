package authcore

import (
	"context"
	"sync"
	"time"
)

// usageInterval is how often a key's last use is recorded, at most.
const usageInterval = time.Minute

// usageLog collects keys' last-use times off the request path; FlushUsage writes them to
// the store in one batch.
type usageLog struct {
	mu      sync.Mutex
	pending map[string]time.Time // key uid -> last use
}

// noteUse records a use of e's key if the last one recorded is older than usageInterval:
// one atomic load per request, a locked map write at most once a minute per key.
func (a *Authenticator) noteUse(e *keyEntry, now time.Time) {
	last := e.lastNoted.Load()
	if now.Unix()-last < int64(usageInterval/time.Second) || !e.lastNoted.CompareAndSwap(last, now.Unix()) {
		return
	}
	a.usage.mu.Lock()
	if a.usage.pending == nil {
		a.usage.pending = make(map[string]time.Time)
	}
	a.usage.pending[e.principal.KeyUID] = now.UTC().Truncate(time.Millisecond)
	a.usage.mu.Unlock()
}

// FlushUsage writes the collected last-use times. On failure they are kept for the next
// flush.
func (a *Authenticator) FlushUsage(ctx context.Context) error {
	a.usage.mu.Lock()
	batch := a.usage.pending
	a.usage.pending = nil
	a.usage.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := a.store.TouchAPIKeys(ctx, batch); err != nil {
		a.usage.mu.Lock()
		for uid, at := range batch {
			if cur, ok := a.usage.pending[uid]; !ok || cur.Before(at) {
				if a.usage.pending == nil {
					a.usage.pending = make(map[string]time.Time)
				}
				a.usage.pending[uid] = at
			}
		}
		a.usage.mu.Unlock()
		return err
	}
	return nil
}
