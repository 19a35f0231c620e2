package credentials

import (
	"context"
	"time"
)

// noteUse records a use of e's key if the last one recorded is older than usageInterval:
// one atomic load per request, a locked map write at most once a minute per key.
func (v *Verifier) noteUse(e *keyEntry, now time.Time) {
	last := e.lastNoted.Load()
	if now.Unix()-last < int64(usageInterval/time.Second) || !e.lastNoted.CompareAndSwap(last, now.Unix()) {
		return
	}
	v.usage.mu.Lock()
	if v.usage.pending == nil {
		v.usage.pending = make(map[string]time.Time)
	}
	v.usage.pending[e.principal.KeyUID] = now.UTC().Truncate(time.Millisecond)
	v.usage.mu.Unlock()
}

// FlushUsage writes the collected last-use times. On failure they are kept for the next
// flush.
func (v *Verifier) FlushUsage(ctx context.Context) error {
	v.usage.mu.Lock()
	batch := v.usage.pending
	v.usage.pending = nil
	v.usage.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := v.store.TouchAPIKeys(ctx, batch); err != nil {
		v.usage.mu.Lock()
		for uid, at := range batch {
			if cur, ok := v.usage.pending[uid]; !ok || cur.Before(at) {
				if v.usage.pending == nil {
					v.usage.pending = make(map[string]time.Time)
				}
				v.usage.pending[uid] = at
			}
		}
		v.usage.mu.Unlock()
		return err
	}
	return nil
}
