package caddymodule

import (
	"maps"
	"sync"
	"sync/atomic"
)

// children remembers a metric vector's children by their label values, as client_golang
// advises for hot paths: WithLabelValues hashes and validates the values and takes a
// lock on every call (about 100 ns here), a look-up in an immutable map does not. Every
// label on the request path has a small fixed set of values, so the map stays small; it
// is copied on the rare miss. Safe for concurrent use.
type children[K comparable, M any] struct {
	made   atomic.Pointer[map[K]M]
	mu     sync.Mutex
	create func(K) M
}

func newChildren[K comparable, M any](create func(K) M) *children[K, M] {
	c := &children[K, M]{create: create}
	c.made.Store(&map[K]M{})
	return c
}

func (c *children[K, M]) get(k K) M {
	if child, ok := (*c.made.Load())[k]; ok {
		return child
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.made.Load()
	if child, ok := old[k]; ok { // made while this call waited for the lock
		return child
	}
	next := maps.Clone(old)
	next[k] = c.create(k)
	c.made.Store(&next)
	return next[k]
}
