package protect

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Throttle counts attempts per key (an account, a client network) in a window that opens
// at the first attempt. Once a key has limit attempts in its window it is blocked until
// the window ends. Checking and counting happen in one step (Reserve), so a burst of
// concurrent attempts cannot all pass the check before any of them is counted. Counts
// are per node, kept in memory; each shard holds a bounded number of windows.
type Throttle struct {
	limit  int
	window time.Duration
	now    func() time.Time
	shards [throttleShards]throttleShard
}

const (
	throttleShards   = 16
	throttleShardMax = 8192
)

type throttleShard struct {
	mu      sync.Mutex
	windows map[uint64]*failureWindow
}

type failureWindow struct {
	start time.Time
	count int
}

var throttleSeed = maphash.MakeSeed()

// NewThrottle blocks a key after limit attempts within window.
func NewThrottle(limit int, window time.Duration, now func() time.Time) *Throttle {
	t := &Throttle{limit: limit, window: window, now: now}
	for i := range t.shards {
		t.shards[i].windows = make(map[uint64]*failureWindow)
	}
	return t
}

// ThrottleKey names what a Throttle counts: a 64-bit hash of an account or a client
// network, so a client cannot grow memory with long keys.
type ThrottleKey uint64

// with runs fn on key's live window (nil if none) under its shard's lock.
func (t *Throttle) with(key ThrottleKey, fn func(s *throttleShard, h uint64, w *failureWindow, now time.Time)) {
	h := uint64(key)
	s := &t.shards[h%throttleShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.windows[h]
	now := t.now()
	if w != nil && now.Sub(w.start) >= t.window {
		delete(s.windows, h)
		w = nil
	}
	fn(s, h, w, now)
}

// Blocked reports whether key is blocked now and for how much longer. The common case,
// a key with no window, reads no clock.
func (t *Throttle) Blocked(key ThrottleKey) (wait time.Duration, blocked bool) {
	s := &t.shards[uint64(key)%throttleShards]
	s.mu.Lock()
	_, exists := s.windows[uint64(key)]
	s.mu.Unlock()
	if !exists {
		return 0, false
	}
	t.with(key, func(_ *throttleShard, _ uint64, w *failureWindow, now time.Time) {
		if w != nil && w.count >= t.limit {
			wait, blocked = w.start.Add(t.window).Sub(now), true
		}
	})
	return wait, blocked
}

// Reserve counts one attempt for key, unless key is blocked: then it reports how long
// until it is not. A successful attempt gives its reservation back with Refund.
func (t *Throttle) Reserve(key ThrottleKey) (wait time.Duration, ok bool) {
	ok = true
	t.with(key, func(s *throttleShard, h uint64, w *failureWindow, now time.Time) {
		switch {
		case w == nil:
			s.add(h, now, t.window)
		case w.count >= t.limit:
			wait, ok = w.start.Add(t.window).Sub(now), false
		default:
			w.count++
		}
	})
	return wait, ok
}

// Fail counts one failed attempt for key.
func (t *Throttle) Fail(key ThrottleKey) {
	t.with(key, func(s *throttleShard, h uint64, w *failureWindow, now time.Time) {
		if w == nil {
			s.add(h, now, t.window)
			return
		}
		w.count++
	})
}

// Refund gives back one reserved attempt, after it succeeded.
func (t *Throttle) Refund(key ThrottleKey) {
	t.with(key, func(_ *throttleShard, _ uint64, w *failureWindow, _ time.Time) {
		if w != nil && w.count > 0 {
			w.count--
		}
	})
}

func (s *throttleShard) add(h uint64, now time.Time, window time.Duration) {
	if len(s.windows) >= throttleShardMax {
		s.evict(now, window)
	}
	s.windows[h] = &failureWindow{start: now, count: 1}
}

// evict drops expired windows, then arbitrary ones, to make room: an eighth of the
// shard at a time, so that a flood of new keys (random emails, random addresses) pays
// for one scan of the shard every shardMax/8 keys, not for one on every key. (An old
// window is as likely to go as before: one in eight every shardMax/8 new keys.)
func (s *throttleShard) evict(now time.Time, window time.Duration) {
	for k, w := range s.windows {
		if now.Sub(w.start) >= window {
			delete(s.windows, k)
		}
	}
	for k := range s.windows {
		if len(s.windows) <= throttleShardMax-throttleShardMax/8 {
			return
		}
		delete(s.windows, k)
	}
}

// ClientKey is the throttle key of a client address: the address itself for IPv4, its
// /64 network for IPv6 (one subscriber usually holds a whole /64). It is computed on every
// request, so it hashes the address's bytes rather than building a string.
func ClientKey(ip string) ThrottleKey {
	var h maphash.Hash
	h.SetSeed(throttleSeed)
	addr, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		h.WriteString("ip:")
		h.WriteString(ip)
	case addr.Unmap().Is4():
		b := addr.Unmap().As4()
		h.WriteString("ip4:")
		h.Write(b[:])
	default:
		b := addr.As16()
		h.WriteString("net6:")
		h.Write(b[:8])
	}
	return ThrottleKey(h.Sum64())
}

// AccountKey is the throttle key of the account an email names, in every tenant.
func AccountKey(email string) ThrottleKey {
	return ThrottleKey(maphash.String(throttleSeed, "account:"+strings.ToLower(email)))
}

// DeviceKey is the throttle key of a trusted device, named by its cookie's nonce.
func DeviceKey(nonce string) ThrottleKey {
	return ThrottleKey(maphash.String(throttleSeed, "device:"+nonce))
}
