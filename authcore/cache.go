package authcore

import (
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// decisionCache holds recent lookups under a 64-bit key derived from the credential's
// digest (never the credential itself). Values carry their full identity and callers
// verify it on a hit, so a 64-bit collision can never return another credential's entry.
//
// ristretto's Clear is not safe while other goroutines use the cache, so reset swaps in
// a fresh cache instead and closes the old one once in-flight readers are done with it.
//
// Invalidations bump a generation counter. A loader notes the generation before it asks
// the store and drops what it cached if the generation moved meanwhile, so a lookup that
// raced with a revocation can never re-cache the revoked credential.
type decisionCache[V any] struct {
	current    atomic.Pointer[ristretto.Cache[uint64, V]]
	gen        atomic.Uint64
	maxEntries int64
}

// retireDelay is how long a swapped-out cache stays open for goroutines that loaded it
// just before a reset.
const retireDelay = 5 * time.Second

func newDecisionCache[V any](maxEntries int64) (*decisionCache[V], error) {
	c := &decisionCache[V]{maxEntries: maxEntries}
	rc, err := c.build()
	if err != nil {
		return nil, err
	}
	c.current.Store(rc)
	return c, nil
}

// build configures ristretto for small fixed-size entries: every entry costs 1, so
// MaxCost is the entry limit and internal cost accounting is off; NumCounters is 10x the
// entry count, as ristretto's docs advise, for its admission policy.
func (c *decisionCache[V]) build() (*ristretto.Cache[uint64, V], error) {
	return ristretto.NewCache(&ristretto.Config[uint64, V]{
		NumCounters:        c.maxEntries * 10,
		MaxCost:            c.maxEntries,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
}

func (c *decisionCache[V]) get(key uint64) (V, bool) { return c.current.Load().Get(key) }

// generation is noted by loaders before they query the store; see set.
func (c *decisionCache[V]) generation() uint64 { return c.gen.Load() }

// set stores v, loaded when the generation was since, for at most ttl. It waits until the
// entry is visible, so the next request for the same credential is a hit rather than a
// second store query, and withdraws it if an invalidation ran meanwhile.
func (c *decisionCache[V]) set(key uint64, v V, ttl time.Duration, since uint64) {
	if ttl <= 0 {
		return
	}
	rc := c.current.Load()
	rc.SetWithTTL(key, v, 1, ttl)
	rc.Wait()
	if c.gen.Load() != since {
		rc.Del(key)
	}
}

// del drops one entry.
func (c *decisionCache[V]) del(key uint64) {
	c.gen.Add(1)
	c.current.Load().Del(key)
}

// reset drops every entry.
func (c *decisionCache[V]) reset() error {
	fresh, err := c.build()
	if err != nil {
		return err
	}
	c.gen.Add(1)
	old := c.current.Swap(fresh)
	time.AfterFunc(retireDelay, old.Close)
	return nil
}

// close releases the cache; a nil cache (one never built) is fine.
func (c *decisionCache[V]) close() {
	if c != nil {
		c.current.Load().Close()
	}
}
