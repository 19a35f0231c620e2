package credentials

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/keygate/keygate/authcore"
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
//
// Negative entries (see cached) may be kept apart, in a smaller cache of their own
// (newDecisionCache's negativeEntries, in slots), so that however many unknown
// credentials are presented they never evict a known one, nor keep one out through
// ristretto's admission, which refuses a new entry when the cache is full of busier ones.
//
// Positive entries that ristretto's admission refused wait in a small window (slots, a
// hundredth of the entries, as W-TinyLFU's admission window): ristretto counts a key's
// uses in batches and admits a new entry into a full cache only once it looks busier
// than those it would evict, so without the window a key first used while the cache is
// full of other valid keys costs a store query per use until its uses are counted.
//
// Stale-if-error (RFC 5861's idea, for decisions): an entry is fresh until its TTL has
// passed on the injected clock, and only fresh entries are hits. A positive entry (see
// cached) is kept a while longer, for staleIfError, and handed back in place of a reload
// that failed because the store could not answer. Invalidations drop entries outright,
// so a revoked credential never comes back as a stale one.
type decisionCache[V cached] struct {
	rc *ristretto.Cache[uint64, stamped[V]]
	// window holds positive entries ristretto refused (see above).
	window *slots[V]
	// negatives holds the entries that are not positive when they are kept apart (apart
	// is set); else it is rc. Both share gen, floor and flight.
	negatives entries[V]
	apart     bool
	gen       atomic.Uint64
	floor     atomic.Uint64
	flight    singleflight.Group
	// staleIfError is how long past its TTL a positive entry may stand in for a failed
	// reload; 0 turns that off. onStale is told each time one does.
	staleIfError time.Duration
	onStale      func()
}

// cached is what a decisionCache holds. positive reports whether the value is an answer
// the store gave about something that exists (a key, a user, a project): only those may
// be served stale. An unknown credential must reach the store again, so during an outage
// it gets 503, not a remembered 401.
type cached interface{ positive() bool }

// stamped is a cached value with the generation its load began in and, in Unix
// nanoseconds of the injected clock, until when it is fresh and until when it may be
// served stale (0: never).
type stamped[V any] struct {
	gen        uint64
	freshUntil int64
	staleUntil int64
	v          V
}

// MaxCacheEntries keeps ristretto's counters (10 per entry) within reason; a larger
// CacheMaxEntries is refused by configuration and capped here.
const MaxCacheEntries = 1 << 24

// newDecisionCache returns a cache of at most maxEntries positive entries. With
// negativeEntries > 0 the others are kept apart, at most that many of them; with 0 they
// share maxEntries.
func newDecisionCache[V cached](maxEntries, negativeEntries int64, staleIfError time.Duration, onStale func()) (*decisionCache[V], error) {
	rc, err := newRistretto[V](maxEntries)
	if err != nil {
		return nil, err
	}
	c := &decisionCache[V]{rc: rc, window: newSlots[V](windowEntries(maxEntries)), negatives: rc, staleIfError: max(staleIfError, 0), onStale: onStale}
	if negativeEntries > 0 {
		c.negatives, c.apart = newSlots[V](min(negativeEntries, MaxCacheEntries)), true
	}
	return c, nil
}

// windowEntries is the admission window's size for a cache of maxEntries: a hundredth,
// and at least 64.
func windowEntries(maxEntries int64) int64 {
	return max(min(maxEntries, MaxCacheEntries)/100, 64)
}

func newRistretto[V cached](maxEntries int64) (*ristretto.Cache[uint64, stamped[V]], error) {
	// Entries are small and alike, so each costs 1 and MaxCost is simply the entry
	// limit; IgnoreInternalCost stops ristretto adding its own per-item overhead estimate
	// to that cost, which would make the limit mean something else. NumCounters is 10x
	// the entry count, as ristretto's docs advise, for its TinyLFU admission counters.
	// BufferItems 64 is ristretto's recommended Get-buffer size. Callers pass a TTL no
	// later than the credential's expiry (see keyTTL; tokens use their exp), and every
	// decision checks the expiry again, so an entry kept for its stale window never
	// vouches for more than it did; ristretto's expiry sweep frees it.
	return ristretto.NewCache(&ristretto.Config[uint64, stamped[V]]{
		NumCounters:        min(maxEntries, MaxCacheEntries) * 10,
		MaxCost:            min(maxEntries, MaxCacheEntries),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
}

// get returns the fresh entry under key at now (Unix nanoseconds of the injected clock),
// looking among the positive entries first: they are what most requests want.
func (c *decisionCache[V]) get(key uint64, now int64) (V, bool) {
	s, ok := c.positiveEntry(key)
	if !ok && c.apart {
		s, ok = c.negatives.Get(key)
	}
	if !ok || s.gen < c.floor.Load() || now >= s.freshUntil {
		var zero V
		return zero, false
	}
	return s.v, true
}

// load runs fn once for all concurrent requests of the same generation that ask for id,
// and caches its result under key for the ttl fn returns. fn gets a context that outlives
// any one request, bounded by loadTimeout. is tells whether a cached value is the one
// asked for (see the 64-bit key caveat above). If fn fails because the store could not
// answer, a positive entry still within its stale window is returned instead.
func (c *decisionCache[V]) load(ctx context.Context, key uint64, id string, now int64, is func(V) bool, fn func(context.Context) (V, time.Duration, error)) (V, error) {
	since := c.gen.Load()
	v, err, _ := c.flight.Do(strconv.FormatUint(since, 36)+"/"+id, func() (any, error) {
		// A request that missed just before the previous load of id finished lands
		// here: the answer is cached by now.
		if v, ok := c.get(key, now); ok && is(v) {
			return v, nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		v, ttl, err := fn(ctx)
		if err != nil {
			if v, ok := c.stale(key, now, is, err); ok {
				return v, nil
			}
			return nil, err
		}
		c.set(key, v, ttl, since, now)
		return v, nil
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}

// stale returns the entry under key in place of a reload that failed with err, if err
// says the store could not answer and the entry is positive, not invalidated, and within
// its stale window at now.
func (c *decisionCache[V]) stale(key uint64, now int64, is func(V) bool, err error) (V, bool) {
	var zero V
	if c.staleIfError == 0 || !isUnavailable(err) {
		return zero, false
	}
	since := c.gen.Load() // before reading the entry: see rearm
	s, ok := c.positiveEntry(key)
	if !ok || s.gen < c.floor.Load() || now >= s.staleUntil || !is(s.v) {
		return zero, false
	}
	if c.onStale != nil {
		c.onStale()
	}
	c.rearm(key, s, now, since)
	return s.v, true
}

// StaleRetryInterval is how long a stale entry, once served, counts as fresh again, so
// that during an outage each entry costs one failed store attempt a second rather than
// one per request (which, against a database that does not answer at all, would each
// wait for the connect timeout).
const StaleRetryInterval = time.Second

// rearm makes a stale entry fresh for StaleRetryInterval, within its stale window. It is
// withdrawn if an invalidation ran since the entry was read (generation since), as in
// set, so a revocation racing with it is never undone.
func (c *decisionCache[V]) rearm(key uint64, s stamped[V], now int64, since uint64) {
	s.freshUntil = min(now+int64(StaleRetryInterval), s.staleUntil)
	c.setPositive(key, s, time.Duration(s.staleUntil-now))
	if c.gen.Load() != since {
		c.delPositive(key)
	}
}

// positiveEntry is key's entry in ristretto or, failing that, in the window.
func (c *decisionCache[V]) positiveEntry(key uint64) (stamped[V], bool) {
	if s, ok := c.rc.Get(key); ok {
		return s, true
	}
	return c.window.Get(key)
}

// setPositive stores a positive entry in ristretto, or in the window when ristretto's
// admission refused it, and returns once it is visible. ristretto also drops a set when
// its buffer is full (many sets at once): the entry, just paid for with a store query,
// is offered once more after the buffer drained.
func (c *decisionCache[V]) setPositive(key uint64, s stamped[V], keep time.Duration) {
	if !c.rc.SetWithTTL(key, s, 1, keep) {
		c.rc.Wait()
		c.rc.SetWithTTL(key, s, 1, keep)
	}
	c.rc.Wait()
	if _, ok := c.rc.Get(key); ok { // admitted, or an update of an entry there (always applied)
		c.window.Del(key)
		return
	}
	c.window.SetWithTTL(key, s, 1, keep)
}

func (c *decisionCache[V]) delPositive(key uint64) {
	c.rc.Del(key)
	c.window.Del(key)
}

// isUnavailable reports whether err is ErrStoreUnavailable (or a copy with a cause).
func isUnavailable(err error) bool {
	var e *authcore.Error
	return errors.As(err, &e) && e.Code == authcore.ErrStoreUnavailable.Code
}

// set stores v, loaded at now when the generation was since, fresh for ttl. It waits
// until the entry is visible, so the next request is a hit rather than a second store
// query, and withdraws it if an invalidation ran meanwhile.
//
// Freshness and the stale window are judged on the injected clock (now), so tests can
// move time; ristretto expires entries on the real clock, so it is asked to keep a
// positive entry for ttl plus the stale window. In production both clocks are the same,
// and ristretto's countdown starts after now (which was read before the store query), so
// it never drops an entry before its stale window has ended; with a test clock moved
// ahead, real time lags it and ristretto keeps the entry longer still. Either way
// ristretto's expiry only frees memory: get and stale decide on the injected clock.
func (c *decisionCache[V]) set(key uint64, v V, ttl time.Duration, since uint64, now int64) {
	if ttl <= 0 {
		return
	}
	s := stamped[V]{gen: since, freshUntil: now + int64(ttl), v: v}
	keep := ttl
	if c.staleIfError > 0 && v.positive() {
		keep += c.staleIfError
		s.staleUntil = s.freshUntil + int64(c.staleIfError)
	}
	if v.positive() {
		c.setPositive(key, s, keep)
		if c.gen.Load() != since {
			c.delPositive(key)
		}
		return
	}
	c.negatives.SetWithTTL(key, s, 1, keep)
	c.negatives.Wait()
	if c.gen.Load() != since {
		c.negatives.Del(key)
	}
}

// del drops one entry.
func (c *decisionCache[V]) del(key uint64) {
	c.gen.Add(1)
	c.delPositive(key)
	c.negatives.Del(key)
}

// reset drops every entry.
func (c *decisionCache[V]) reset() {
	c.floor.Store(c.gen.Add(1))
}

// close releases the cache; a nil cache (one never built) is fine.
func (c *decisionCache[V]) close() {
	if c == nil {
		return
	}
	c.negatives.Close() // slots need no closing, and closing ristretto twice is fine
	c.rc.Close()
}

// Defaults for Config's zero values.
const (
	DefaultCacheMaxEntries  = 100_000
	DefaultCacheTTL         = 5 * time.Minute
	DefaultNegativeCacheTTL = 30 * time.Second
	DefaultStaleIfError     = time.Minute
	// loadTimeout bounds one store lookup shared by every request waiting on it.
	loadTimeout = 5 * time.Second
)
