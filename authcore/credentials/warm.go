package credentials

import (
	"context"
	"fmt"
	"time"

	"github.com/keygate/keygate/authcore"
)

// Warm preloads the keys used since since, at most limit of them, most recently used
// first, into the cache, as if each had been looked up: a node that starts (or resyncs,
// which drops the cache) under load then serves its busy keys without a store query
// each. Call it only once the change feed has its position (after its first
// ChangeResync), or a change made meanwhile could be missed. A change that any
// invalidation reaches while it runs withdraws what it set from then on (as any load);
// it reports how many keys it kept.
func (v *Verifier) Warm(ctx context.Context, since time.Time, limit int) (int, error) {
	gen := v.apiKeys.gen.Load() // before the read: see decisionCache.set
	now := v.now()
	grants, err := v.store.RecentKeyGrants(ctx, since, now, limit)
	if err != nil {
		return 0, fmt.Errorf("preloading recently used keys: %w", err)
	}
	kept := 0
	for _, g := range grants {
		var d authcore.Digest
		if len(g.Key.Digest) != len(d) {
			continue
		}
		copy(d[:], g.Key.Digest)
		e := newKeyEntry(d, g, true)
		v.apiKeys.set(digestSlot(d), e, v.keyTTL(e, now), gen, now.UnixNano())
		if v.apiKeys.gen.Load() != gen {
			break // invalidated meanwhile: the rest would be withdrawn as they are set
		}
		kept++
	}
	return kept, nil
}
