package authcore

import (
	"hash/maphash"
	"sync"
	"time"
)

// Throttle counts failures per key (an account, a client IP) in a window that opens at
// the first failure. Once a key has limit failures in its window it is blocked until the
// window ends. Counts are per node, kept in memory.
type Throttle struct {
	limit  int
	window time.Duration
	now    func() time.Time
	shards [throttleShards]throttleShard
}

const (
	throttleShards = 16
	// throttleShardMax bounds memory: a shard that fills up drops expired windows, then
	// arbitrary ones.
	throttleShardMax = 8192
)

type throttleShard struct {
	mu      sync.Mutex
	windows map[string]*failureWindow
}

type failureWindow struct {
	start time.Time
	count int
}

var throttleSeed = maphash.MakeSeed()

// NewThrottle blocks a key after limit failures within window.
func NewThrottle(limit int, window time.Duration, now func() time.Time) *Throttle {
	t := &Throttle{limit: limit, window: window, now: now}
	for i := range t.shards {
		t.shards[i].windows = make(map[string]*failureWindow)
	}
	return t
}

func (t *Throttle) shard(key string) *throttleShard {
	return &t.shards[maphash.String(throttleSeed, key)%throttleShards]
}

// Blocked reports whether key is blocked now and for how much longer.
func (t *Throttle) Blocked(key string) (time.Duration, bool) {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.windows[key]
	if !ok {
		return 0, false
	}
	left := w.start.Add(t.window).Sub(t.now())
	if left <= 0 {
		delete(s.windows, key)
		return 0, false
	}
	return left, w.count >= t.limit
}

// Fail counts one failure for key.
func (t *Throttle) Fail(key string) {
	now := t.now()
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.windows[key]
	if ok && now.Sub(w.start) < t.window {
		w.count++
		return
	}
	if !ok && len(s.windows) >= throttleShardMax {
		s.evict(now, t.window)
	}
	s.windows[key] = &failureWindow{start: now, count: 1}
}

// Clear forgets key's failures, after a success.
func (t *Throttle) Clear(key string) {
	s := t.shard(key)
	s.mu.Lock()
	delete(s.windows, key)
	s.mu.Unlock()
}

func (s *throttleShard) evict(now time.Time, window time.Duration) {
	for k, w := range s.windows {
		if now.Sub(w.start) >= window {
			delete(s.windows, k)
		}
	}
	for k := range s.windows {
		if len(s.windows) < throttleShardMax {
			return
		}
		delete(s.windows, k)
	}
}
