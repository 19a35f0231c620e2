package authcore

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"
)

// decisionCache holds recent lookups under a 64-bit key derived from the credential's
// digest (never the credential itself). Values carry their full identity and callers
// verify it on a hit, so a 64-bit collision can never return another credential's entry.
//
// Invalidations bump a generation counter, and every entry is stamped with the generation
// at which its load began:
//   - a loader that raced with an invalidation withdraws what it cached (see set);
//   - loads are shared (singleflight) only between requests that began in the same
//     generation, so a request made after a revocation never joins a lookup begun before;
//   - reset raises a floor below which entries count as misses, which drops everything
//     without touching ristretto (its Clear is unsafe while other goroutines use it).
type decisionCache[V any] struct {
	rc     *ristretto.Cache[uint64, stamped[V]]
	gen    atomic.Uint64
	floor  atomic.Uint64
	flight singleflight.Group
}

type stamped[V any] struct {
	gen uint64
	v   V
}

// maxCacheEntries keeps ristretto's counters (10 per entry) within reason.
const maxCacheEntries = 1 << 24

func newDecisionCache[V any](maxEntries int64) (*decisionCache[V], error) {
	// Entries are small and alike, so each costs 1 and MaxCost is simply the entry
	// limit; IgnoreInternalCost stops ristretto adding its own per-item overhead estimate
	// to that cost, which would make the limit mean something else. NumCounters is 10x
	// the entry count, as ristretto's docs advise, for its TinyLFU admission counters.
	// BufferItems 64 is ristretto's recommended Get-buffer size. Callers pass a TTL no
	// later than the credential's expiry (see keyTTL; tokens use their exp), so an entry
	// never outlives what it vouches for, and ristretto's expiry sweep frees it.
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, stamped[V]]{
		NumCounters:        min(maxEntries, maxCacheEntries) * 10,
		MaxCost:            min(maxEntries, maxCacheEntries),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &decisionCache[V]{rc: rc}, nil
}

func (c *decisionCache[V]) get(key uint64) (V, bool) {
	s, ok := c.rc.Get(key)
	if !ok || s.gen < c.floor.Load() {
		var zero V
		return zero, false
	}
	return s.v, true
}

// load runs fn once for all concurrent requests of the same generation that ask for id,
// and caches its result under key for the ttl fn returns. fn gets a context that outlives
// any one request, bounded by loadTimeout. is tells whether a cached value is the one
// asked for (see the 64-bit key caveat above).
func (c *decisionCache[V]) load(ctx context.Context, key uint64, id string, is func(V) bool, fn func(context.Context) (V, time.Duration, error)) (V, error) {
	since := c.gen.Load()
	v, err, _ := c.flight.Do(strconv.FormatUint(since, 36)+"/"+id, func() (any, error) {
		// A request that missed just before the previous load of id finished lands
		// here: the answer is cached by now.
		if v, ok := c.get(key); ok && is(v) {
			return v, nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		v, ttl, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		c.set(key, v, ttl, since)
		return v, nil
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}

// set stores v, loaded when the generation was since, for at most ttl. It waits until the
// entry is visible, so the next request is a hit rather than a second store query, and
// withdraws it if an invalidation ran meanwhile.
func (c *decisionCache[V]) set(key uint64, v V, ttl time.Duration, since uint64) {
	if ttl <= 0 {
		return
	}
	c.rc.SetWithTTL(key, stamped[V]{gen: since, v: v}, 1, ttl)
	c.rc.Wait()
	if c.gen.Load() != since {
		c.rc.Del(key)
	}
}

// del drops one entry.
func (c *decisionCache[V]) del(key uint64) {
	c.gen.Add(1)
	c.rc.Del(key)
}

// reset drops every entry.
func (c *decisionCache[V]) reset() {
	c.floor.Store(c.gen.Add(1))
}

// close releases the cache; a nil cache (one never built) is fine.
func (c *decisionCache[V]) close() {
	if c != nil {
		c.rc.Close()
	}
}
