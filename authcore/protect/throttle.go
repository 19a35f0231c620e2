package protect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// are kept in memory, each shard holding a bounded number of windows; a Throttle that
// Shares a store's FailureCounts also counts every attempt there, so that the limit holds
// across every node of the store (see Share).
type Throttle struct {
	limit  int
	window time.Duration
	now    func() time.Time
	scope  string       // names this throttle's counts in the shared store
	shared SharedCounts // nil: counts are this node's
	shards [throttleShards]throttleShard
}

const (
	throttleShards   = 16
	throttleShardMax = 8192
	// sharedTimeout bounds one write of the shared counts; past it the attempt is
	// counted on this node only.
	sharedTimeout = 2 * time.Second
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

// SharedCounts are failure counts that every node of a cluster adds to: a store's
// storage.FailureCounts, seen from here (this package imports no store). AddFailures
// adds each delta to its key's count in one write and returns the counts after, in order;
// see storage.FailureCounts for the windows.
type SharedCounts interface {
	AddFailures(ctx context.Context, now time.Time, adds []SharedAdd) ([]SharedTally, error)
}

// SharedAdd is one change to a shared count.
type SharedAdd struct {
	Key    string
	Delta  int
	Window time.Duration
}

// SharedTally is a shared count after an add, and when its window opened.
type SharedTally struct {
	Count int
	Start time.Time
}

// Share makes t count every attempt in counts as well, under scope (which tells its
// counts from other throttles'), so that a key is blocked after limit attempts on all
// the nodes sharing counts together. The local count stays the fast path: a key this
// node knows to be blocked is refused without the store, and Blocked never reads it.
// Each Reserve or Fail costs one small write (several keys counted together share it),
// which also tells this node what the others counted; a Refund costs one more. When the
// store cannot answer, the attempt is counted here only. Call it before any use.
func (t *Throttle) Share(scope string, counts SharedCounts) {
	t.scope, t.shared = scope, counts
}

// ThrottleKey names what a Throttle counts: a 64-bit hash of an account or a client
// network, so a client cannot grow memory with long keys, and what it was made from, for
// the digest that names it in a shared store (computed only when one is written).
type ThrottleKey struct {
	hash uint64
	kind string // "account", "ip4", "net6", "ip", "device"
	text string // the email, address or nonce, as given
}

// sharedName is the key's name in the shared counts: a digest of the throttle's scope
// and the key's canonical form, the same on every node.
func (t *Throttle) sharedName(k ThrottleKey) string {
	text := k.text
	switch k.kind {
	case "account":
		text = strings.ToLower(text)
	case "ip4", "net6":
		addr, _ := netip.ParseAddr(text)
		if addr = addr.Unmap(); k.kind == "net6" {
			p, _ := addr.Prefix(64)
			text = p.String()
		} else {
			text = addr.String()
		}
	}
	sum := sha256.Sum256([]byte(t.scope + "\x00" + k.kind + "\x00" + text))
	return hex.EncodeToString(sum[:16])
}

// with runs fn on key's live window (nil if none) under its shard's lock.
func (t *Throttle) with(key ThrottleKey, fn func(s *throttleShard, h uint64, w *failureWindow, now time.Time)) {
	h := key.hash
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

// Blocked reports whether key is blocked now and for how much longer, as far as this
// node knows: it never reads the shared counts. The common case, a key with no window,
// reads no clock.
func (t *Throttle) Blocked(key ThrottleKey) (wait time.Duration, blocked bool) {
	s := &t.shards[key.hash%throttleShards]
	s.mu.Lock()
	_, exists := s.windows[key.hash]
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

// Count is one key of one throttle, for counting several at once (an account and its
// client network) in one write of the shared counts. The throttles counted together
// share one store, or none.
type Count struct {
	Throttle *Throttle
	Key      ThrottleKey
}

// Reserve counts one attempt for key, unless key is blocked: then it reports how long
// until it is not. A successful attempt gives its reservation back with Refund.
func (t *Throttle) Reserve(ctx context.Context, key ThrottleKey) (wait time.Duration, ok bool) {
	return Reserve(ctx, Count{t, key})
}

// Fail counts one failed attempt for key.
func (t *Throttle) Fail(ctx context.Context, key ThrottleKey) { Fail(ctx, Count{t, key}) }

// FailLocal counts one failed attempt for key on this node alone, writing nothing: for
// failures too cheap to make and too pointless to guess with (a forged or unknown key,
// 256 random bits) for each to be worth a write to the shared counts, which a flood of
// them from many addresses would turn into a write per request.
func (t *Throttle) FailLocal(key ThrottleKey) { t.failLocal(key) }

// Refund gives back one reserved attempt, after it succeeded.
func (t *Throttle) Refund(ctx context.Context, key ThrottleKey) { Refund(ctx, Count{t, key}) }

// Reserve counts one attempt against every count, or against none when one of them is
// blocked (it then reports the wait): ReserveLocal, then ReserveShared.
func Reserve(ctx context.Context, counts ...Count) (wait time.Duration, ok bool) {
	if wait, ok = ReserveLocal(counts...); !ok {
		return wait, false
	}
	return ReserveShared(ctx, counts...)
}

// ReserveLocal is Reserve on this node's counts alone, writing nothing: a key this node
// knows to be blocked is refused here. RefundLocal takes it back when the attempt goes no
// further (refused for the gateway's load, say), ReserveShared carries it on.
func ReserveLocal(counts ...Count) (wait time.Duration, ok bool) {
	for i, c := range counts {
		if wait, ok = c.Throttle.reserveLocal(c.Key); !ok {
			RefundLocal(counts[:i]...)
			return wait, false
		}
	}
	return 0, true
}

// RefundLocal takes back what ReserveLocal counted.
func RefundLocal(counts ...Count) {
	for _, c := range counts {
		c.Throttle.refundLocal(c.Key)
	}
}

// ReserveShared counts, after ReserveLocal, the same attempt in the shared counts, in
// one write, and lets them decide: an attempt that takes a shared count past its limit
// is refused (with the wait), and this node then knows the key to be blocked. A refused
// attempt is not to be refunded. (The other keys it counted stay counted in the store:
// that happens once per node and key, since the node refuses the blocked key by itself
// from then on.) Without shared counts, or when the store does not answer, the local
// count decides: it already has.
func ReserveShared(ctx context.Context, counts ...Count) (wait time.Duration, ok bool) {
	tallies := addShared(ctx, counts, 1)
	if tallies == nil {
		return 0, true
	}
	ok = true
	for i, c := range counts {
		if w, blocked := c.Throttle.merge(c.Key, tallies[i]); blocked {
			wait, ok = max(wait, w), false
		}
	}
	if !ok {
		for i, c := range counts {
			if tallies[i].Count <= c.Throttle.limit {
				c.Throttle.refundLocal(c.Key)
			}
		}
	}
	return wait, ok
}

// Fail counts one failed attempt against every count.
func Fail(ctx context.Context, counts ...Count) {
	for _, c := range counts {
		c.Throttle.failLocal(c.Key)
	}
	for i, tally := range addShared(ctx, counts, 1) {
		counts[i].Throttle.merge(counts[i].Key, tally)
	}
}

// Refund gives back one reserved attempt of every count, after it succeeded.
func Refund(ctx context.Context, counts ...Count) {
	for _, c := range counts {
		c.Throttle.refundLocal(c.Key)
	}
	addShared(ctx, counts, -1)
}

// addShared writes delta to the shared counts of counts, and returns their tallies: nil
// when they are not shared or the store did not answer (the attempt then counts on this
// node only, and a store that cannot answer fails the login anyway). It runs even if the
// client has gone: leaving early must not take an attempt off the count.
func addShared(ctx context.Context, counts []Count, delta int) []SharedTally {
	if len(counts) == 0 || counts[0].Throttle.shared == nil {
		return nil
	}
	adds := make([]SharedAdd, len(counts))
	for i, c := range counts {
		adds[i] = SharedAdd{Key: c.Throttle.sharedName(c.Key), Delta: delta, Window: c.Throttle.window}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	defer cancel()
	th := counts[0].Throttle
	tallies, err := th.shared.AddFailures(ctx, th.now(), adds)
	if err != nil || len(tallies) != len(counts) {
		return nil
	}
	return tallies
}

// merge takes what the shared count says of key into this node's window: the shared
// count, when it is higher, with its window's start. It reports whether the attempt just
// counted took the key past its limit, and the wait.
func (t *Throttle) merge(key ThrottleKey, tally SharedTally) (wait time.Duration, blocked bool) {
	if tally.Count == 0 {
		return 0, false
	}
	t.with(key, func(s *throttleShard, h uint64, w *failureWindow, now time.Time) {
		if now.Sub(tally.Start) >= t.window {
			return // over by this node's clock
		}
		if w == nil {
			w = s.add(h, tally.Start, t.window)
		}
		if tally.Count >= w.count {
			w.start, w.count = tally.Start, tally.Count
		}
		if tally.Count > t.limit {
			wait, blocked = tally.Start.Add(t.window).Sub(now), true
		}
	})
	return wait, blocked
}

// reserveLocal is Reserve on this node's count alone.
func (t *Throttle) reserveLocal(key ThrottleKey) (wait time.Duration, ok bool) {
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

func (t *Throttle) failLocal(key ThrottleKey) {
	t.with(key, func(s *throttleShard, h uint64, w *failureWindow, now time.Time) {
		if w == nil {
			s.add(h, now, t.window)
			return
		}
		w.count++
	})
}

func (t *Throttle) refundLocal(key ThrottleKey) {
	t.with(key, func(_ *throttleShard, _ uint64, w *failureWindow, _ time.Time) {
		if w != nil && w.count > 0 {
			w.count--
		}
	})
}

func (s *throttleShard) add(h uint64, start time.Time, window time.Duration) *failureWindow {
	if len(s.windows) >= throttleShardMax {
		s.evict(start, window)
	}
	w := &failureWindow{start: start, count: 1}
	s.windows[h] = w
	return w
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
	var kind string
	switch {
	case err != nil:
		kind = "ip"
		h.WriteString("ip:")
		h.WriteString(ip)
	case addr.Unmap().Is4():
		kind = "ip4"
		b := addr.Unmap().As4()
		h.WriteString("ip4:")
		h.Write(b[:])
	default:
		kind = "net6"
		b := addr.As16()
		h.WriteString("net6:")
		h.Write(b[:8])
	}
	return ThrottleKey{hash: h.Sum64(), kind: kind, text: ip}
}

// AccountKey is the throttle key of the account an email names, in every tenant.
func AccountKey(email string) ThrottleKey {
	return ThrottleKey{hash: maphash.String(throttleSeed, "account:"+strings.ToLower(email)), kind: "account", text: email}
}

// DeviceKey is the throttle key of a trusted device, named by its cookie's nonce.
func DeviceKey(nonce string) ThrottleKey {
	return ThrottleKey{hash: maphash.String(throttleSeed, "device:"+nonce), kind: "device", text: nonce}
}
