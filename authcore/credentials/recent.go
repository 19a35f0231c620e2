package credentials

import (
	"sync"
	"time"
)

// revokedSessions is the set of recently revoked sessions that every token check
// consults, so verifying a token needs no store query. A session stays in the set for as
// long as a token issued before its revocation could still be valid.
type revokedSessions struct {
	mu    sync.RWMutex
	ids   map[string]time.Time // id -> when this node learnt of the revocation
	swept time.Time
}

func (r *revokedSessions) has(id string) bool {
	r.mu.RLock()
	_, ok := r.ids[id]
	r.mu.RUnlock()
	return ok
}

func (r *revokedSessions) add(id string, now time.Time, keep time.Duration) {
	r.merge([]string{id}, now, keep)
}

// merge adds ids, learnt at now, and forgets those older than keep. It never drops a
// recent entry, so a revocation made while the store is being reread is not lost.
func (r *revokedSessions) merge(ids []string, now time.Time, keep time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = make(map[string]time.Time)
	}
	for _, id := range ids {
		r.ids[id] = now
	}
	// Sweeping costs O(n) under the lock, so only when a minute has passed.
	if now.Sub(r.swept) < time.Minute {
		return
	}
	r.swept = now
	for old, at := range r.ids {
		if now.Sub(at) > keep {
			delete(r.ids, old)
		}
	}
}

// usageInterval is how often a key's last use is recorded, at most.
const usageInterval = time.Minute

// usageLog collects keys' last-use times off the request path; FlushUsage writes them to
// the store in one batch.
type usageLog struct {
	mu      sync.Mutex
	pending map[string]time.Time // key uid -> last use
}
