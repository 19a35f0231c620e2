package credentials

import (
	"sync/atomic"
	"time"
)

// entries is what a decisionCache keeps its entries in: ristretto, or slots. Expiry is
// decided by the cache on the injected clock; an entries' own TTL only frees memory.
type entries[V any] interface {
	Get(key uint64) (stamped[V], bool)
	SetWithTTL(key uint64, s stamped[V], cost int64, ttl time.Duration) bool
	Wait()
	Del(key uint64)
	Close()
}

// slots is a direct-mapped cache: each entry goes to the slot its key picks (keys are
// already uniformly random), replacing whatever was there. It admits every entry, unlike
// ristretto, whose admission keeps a new entry out of a full cache until it has been
// asked for more often than the entries there: right for known credentials, wrong for
// unknown ones, where a flood fills the cache and the one key asked again and again is
// the one to remember. A flood only churns its own slots. Safe for concurrent use.
type slots[V any] struct {
	s []atomic.Pointer[slotEntry[V]]
}

type slotEntry[V any] struct {
	key uint64
	v   stamped[V]
}

var _ entries[int] = (*slots[int])(nil)

func newSlots[V any](n int64) *slots[V] {
	return &slots[V]{s: make([]atomic.Pointer[slotEntry[V]], max(n, 1))}
}

func (c *slots[V]) slot(key uint64) *atomic.Pointer[slotEntry[V]] {
	return &c.s[key%uint64(len(c.s))]
}

func (c *slots[V]) Get(key uint64) (stamped[V], bool) {
	if e := c.slot(key).Load(); e != nil && e.key == key {
		return e.v, true
	}
	return stamped[V]{}, false
}

// SetWithTTL stores the entry at once (so Wait has nothing to wait for); the ttl is not
// needed, as a slot holds at most one entry however old.
func (c *slots[V]) SetWithTTL(key uint64, s stamped[V], _ int64, _ time.Duration) bool {
	c.slot(key).Store(&slotEntry[V]{key: key, v: s})
	return true
}

func (c *slots[V]) Wait() {}

// Del empties key's slot if key's entry is there, and leaves another key's alone.
func (c *slots[V]) Del(key uint64) {
	p := c.slot(key)
	if e := p.Load(); e != nil && e.key == key {
		p.CompareAndSwap(e, nil)
	}
}

func (c *slots[V]) Close() {}
