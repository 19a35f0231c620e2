package protect

import (
	"context"
	"math"
	"runtime"
	"sync"
	"time"
)

// DefaultCPUShare is the share of the process's CPUs (GOMAXPROCS) that password hashing
// may use when none is configured. Every CPU-second spent on argon2id is taken from the
// requests Keygate proxies; at 0.1 real users' logins take at most a tenth, and a flood
// from unknown clients, held to the general part (1 − TrustedShare), a fortieth. That
// is two to four logins a second on one core (25–50 ms each), sixteen to thirty-two on
// eight.
const DefaultCPUShare = 0.1

// TrustedShare is the part of the budget kept for logins from trusted devices (a valid
// device cookie for the account): a flood from unknown clients cannot use it up, so a
// returning user still gets in. Trusted logins use the rest of the budget too. Three
// quarters: a flood gets only the quarter left, so it costs proxied traffic little (the
// hash is not all it costs: each one also allocates argon2id's 19 MiB, which the GC and
// the kernel pay for), while what real users leave of theirs goes to proxied requests,
// not to the flood. A login from a new browser shares the flood's quarter.
const TrustedShare = 0.75

// burstSeconds is how many seconds of the budget may be spent at once after a quiet
// spell, so that a few users arriving together are not refused on an idle gateway. A
// flood spends it once, in its first moments, then gets the rate and no more. It is
// short, so that even a flood of a few seconds gets little more than the share.
const burstSeconds = 2

// burstLogins is the fewest logins each pool admits at once after a quiet spell,
// whatever the share and the cost of a hash: on a small share (a quarter of a tenth of
// one core is 25 ms a second, half a hash) burstSeconds alone would refuse the second of
// two people logging in together. A flood gets these once, then the rate.
const burstLogins = 6

// defaultHashCost is a first estimate of one argon2id check (19 MiB, two passes) on a
// current core, until hashes have been timed.
const defaultHashCost = 50 * time.Millisecond

// BudgetConfig configures a Budget. Zero values mean the defaults.
type BudgetConfig struct {
	// Share of GOMAXPROCS that hashing may use, 0 < Share <= 1. Default: DefaultCPUShare.
	Share float64
	// Procs is the number of CPUs the share is of. Default: runtime.GOMAXPROCS(0).
	Procs int
	// HashCost, when set, is the fixed cost of one hash, instead of one calibrated from
	// the hashes' measured durations. Tests set it, so that counts do not depend on the
	// machine.
	HashCost time.Duration
	// Now is the clock the budget refills by. Default: time.Now.
	Now func() time.Time
}

// Budget is the CPU that password hashing may use: a token bucket of hash-seconds,
// refilled at Share × Procs CPU-seconds per second and debited by each hash's cost,
// beside a cap on hashes in flight (ceil(Share × Procs)). A login that finds the budget
// spent is refused at once (Admit), without hashing and without waiting, so a flood
// cannot queue work without bound: the answer to a refusal costs no hash. An admitted
// login may wait for a hashing slot, but only behind work the bucket admitted, which
// is at most a burst's worth. Safe for concurrent use.
type Budget struct {
	now     func() time.Time
	slots   chan struct{}
	general bucket // everyone
	trusted bucket // kept for trusted devices

	mu       sync.Mutex
	cost     time.Duration // the estimated cost of one hash
	fixed    bool          // cost is configured, not calibrated
	inFlight int
	peak     int
}

// bucket is one pool of hashing time, counted in nanoseconds so that admission counts
// do not depend on rounding. Admission needs a positive balance, and the cost is then
// taken in full, so the balance may go below zero by up to one hash: a budget smaller
// than one hash still admits one now and then, and a burst cannot all pass the check
// before any of it is paid for.
type bucket struct {
	rate     float64       // seconds of hashing per second
	capacity time.Duration // burstSeconds of the rate
	balance  time.Duration
	at       time.Time
}

func newBucket(rate float64, now time.Time) bucket {
	return bucket{rate: rate, capacity: seconds(rate * burstSeconds), at: now}
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// refill adds what the rate gave since the last refill, up to the larger of the
// bucket's capacity and burstLogins hashes of cost.
func (b *bucket) refill(now time.Time, cost time.Duration) {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.balance = min(b.limit(cost), b.balance+seconds(elapsed.Seconds()*b.rate))
	}
	b.at = now
}

func (b *bucket) limit(cost time.Duration) time.Duration {
	return max(b.capacity, burstLogins*cost)
}

// wait is how long until the balance is positive again.
func (b *bucket) wait() time.Duration {
	if b.balance > 0 || b.rate <= 0 {
		return 0
	}
	return seconds(-b.balance.Seconds() / b.rate)
}

// NewBudget returns a full budget.
func NewBudget(cfg BudgetConfig) *Budget {
	if cfg.Share <= 0 || cfg.Share > 1 {
		cfg.Share = DefaultCPUShare
	}
	if cfg.Procs <= 0 {
		cfg.Procs = runtime.GOMAXPROCS(0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rate := cfg.Share * float64(cfg.Procs)
	now := cfg.Now()
	b := &Budget{
		now: cfg.Now, slots: make(chan struct{}, int(math.Ceil(rate))),
		general: newBucket(rate*(1-TrustedShare), now), trusted: newBucket(rate*TrustedShare, now),
		cost: cfg.HashCost, fixed: cfg.HashCost > 0,
	}
	if !b.fixed {
		b.cost = defaultHashCost
	}
	b.general.balance, b.trusted.balance = b.general.limit(b.cost), b.trusted.limit(b.cost)
	return b
}

// Slots is how many hashes may run at once.
func (b *Budget) Slots() int { return cap(b.slots) }

// Peak is the most hashes that have run at once.
func (b *Budget) Peak() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}

// Admit takes one hash's cost from the budget: from the trusted pool first when the
// login comes from a trusted device, then from everyone's. With neither left it admits
// nothing and says how long until it would.
func (b *Budget) Admit(trusted bool) (t *Ticket, retryAfter time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now, cost := b.now(), b.cost
	b.general.refill(now, cost)
	b.trusted.refill(now, cost)
	pools := []*bucket{&b.general}
	if trusted {
		pools = []*bucket{&b.trusted, &b.general}
	}
	for _, p := range pools {
		if p.balance > 0 {
			p.balance -= cost
			return &Ticket{budget: b, pool: p, paid: cost}, 0, true
		}
	}
	return nil, max(b.general.wait(), time.Second/10), false
}

// Ticket is an admitted login's claim on the budget: the first hash is paid for; each
// further one (an email in several tenants) is charged as it runs. Not for concurrent use.
type Ticket struct {
	budget *Budget
	pool   *bucket
	paid   time.Duration // paid and not yet used by a hash
	hashes int
}

// Hash runs one password hash in a slot, waiting for one if all are busy (behind work
// the budget admitted only). It reports false, without hashing, if ctx ends first.
func (t *Ticket) Hash(ctx context.Context, hash func()) bool {
	b := t.budget
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-b.slots }()
	b.started(t)
	start := time.Now() // the hash's own duration, whatever clock the budget runs on
	hash()
	b.finished(time.Since(start))
	return true
}

func (b *Budget) started(t *Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight++
	b.peak = max(b.peak, b.inFlight)
	if t.hashes++; t.hashes > 1 { // only the first hash was paid at admission
		t.pool.balance -= b.cost
	}
	t.paid = 0
}

// finished calibrates the cost from a hash's measured duration. Wall time, not CPU time:
// on a busy CPU a hash takes longer, and the budget then admits fewer.
func (b *Budget) finished(took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight--
	if !b.fixed {
		b.cost = (7*b.cost + took) / 8
	}
}

// Release gives back what the ticket paid for and did not use: a login that ended
// before hashing (the client left) leaves the budget as it found it.
func (t *Ticket) Release() {
	b := t.budget
	b.mu.Lock()
	defer b.mu.Unlock()
	t.pool.balance = min(t.pool.limit(b.cost), t.pool.balance+t.paid)
	t.paid = 0
}
