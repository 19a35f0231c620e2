package credentials

import (
	"context"
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

// NoteRevoked makes this node refuse the session's tokens at once, before the change
// feed reports the revocation.
func (v *Verifier) NoteRevoked(sessionID string) {
	v.revoked.add(sessionID, v.now(), v.revocationMemory())
}

// revocationMemory is how far back revocations matter: the token lifetime plus a margin
// for clock skew between nodes.
func (v *Verifier) revocationMemory() time.Duration { return v.tokenTTL + TokenSkew }

// loadRevokedSessions reads the revocations that still matter from the store.
func (v *Verifier) loadRevokedSessions(ctx context.Context) error {
	now := v.now()
	ids, err := v.store.RevokedSessionsSince(ctx, now.Add(-v.revocationMemory()))
	if err != nil {
		return err
	}
	v.revoked.merge(ids, now, v.revocationMemory())
	return nil
}
