package protect

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// oneCoreTenth is a budget of 0.1 CPU-seconds a second at 50 ms a hash: a quarter of it,
// 25 ms a second, for everyone, three quarters for trusted devices, and each pool starts
// with burstLogins hashes.
func oneCoreTenth() (*Budget, *testClock) {
	clock := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	return NewBudget(BudgetConfig{Share: 0.1, Procs: 1, HashCost: 50 * time.Millisecond, Now: clock.Now}), clock
}

// admitAll admits until the budget refuses, and returns how many it admitted and the
// refusal's Retry-After.
func admitAll(t *testing.T, b *Budget, trusted bool) (int, time.Duration) {
	t.Helper()
	for n := 0; n < 1000; n++ {
		if _, wait, ok := b.Admit(trusted); !ok {
			return n, wait
		}
	}
	t.Fatal("the budget never refused")
	return 0, 0
}

func TestBudgetRefusesBeyondItsShareAndRefills(t *testing.T) {
	b, clock := oneCoreTenth()
	// The general pool, a quarter: 25 ms a second, and burstLogins hashes at once
	// (more than burstSeconds' 50 ms); admission needs a positive balance, so the sixth
	// 50 ms hash takes it to zero.
	n, wait := admitAll(t, b, false)
	if n != burstLogins {
		t.Fatalf("admitted %d at once, want the burst of %d", n, burstLogins)
	}
	if wait <= 0 || wait > time.Second {
		t.Fatalf("Retry-After %v, want within a second", wait)
	}
	admitted := 0
	for range 100 { // 2.5 s of hashing refilled: 50 hashes, as the rate says
		clock.Advance(time.Second)
		n, _ := admitAll(t, b, false)
		admitted += n
	}
	if admitted != 50 {
		t.Fatalf("over 100 s %d admitted, want 50", admitted)
	}
	clock.Advance(time.Hour) // refills to its capacity, no more
	if n, _ := admitAll(t, b, false); n != burstLogins {
		t.Fatalf("after an hour %d admitted, want the burst of %d", n, burstLogins)
	}
}

// The flood spends everyone's pool; the trusted pool is still there.
func TestBudgetKeepsAPartForTrustedDevices(t *testing.T) {
	b, clock := oneCoreTenth()
	admitAll(t, b, false)
	for i := range burstLogins {
		if _, _, ok := b.Admit(true); !ok {
			t.Fatalf("trusted login %d was refused after a flood spent the general budget", i+1)
		}
	}
	if _, _, ok := b.Admit(true); ok {
		t.Fatal("the trusted pool admitted more than its burst")
	}
	clock.Advance(2 * time.Second)
	if _, _, ok := b.Admit(true); !ok {
		t.Fatal("the trusted pool did not refill")
	}
}

// A ticket released before it hashed gives its cost back.
func TestReleasedTicketRefundsTheBudget(t *testing.T) {
	b, _ := oneCoreTenth()
	for range 10 {
		ticket, _, ok := b.Admit(false)
		if !ok {
			t.Fatal("refused though every earlier ticket was released")
		}
		ticket.Release()
	}
}

// No more hashes run at once than the cap, however many are admitted together.
func TestHashesInFlightNeverExceedTheCap(t *testing.T) {
	b := NewBudget(BudgetConfig{Share: 0.5, Procs: 4, HashCost: time.Millisecond, Now: (&testClock{}).Now})
	if b.Slots() != 2 {
		t.Fatalf("%d slots, want ceil(0.5 × 4) = 2", b.Slots())
	}
	var wg sync.WaitGroup
	var arrived sync.WaitGroup
	release := make(chan struct{})
	for range 20 {
		ticket, _, ok := b.Admit(false)
		if !ok {
			t.Fatal("refused within the burst")
		}
		arrived.Add(1)
		wg.Go(func() {
			arrived.Done()
			ticket.Hash(context.Background(), func() { <-release })
		})
	}
	arrived.Wait()
	for b.Peak() < 2 {
		runtime.Gosched()
	}
	time.Sleep(20 * time.Millisecond) // a chance for more to start, were they allowed to
	if peak := b.Peak(); peak != 2 {
		t.Fatalf("%d hashes ran at once, want the cap of 2", peak)
	}
	close(release)
	wg.Wait()
	if peak := b.Peak(); peak != 2 {
		t.Fatalf("%d hashes ran at once, want the cap of 2", peak)
	}
}

// A login waiting for a slot whose client leaves does not hash.
func TestHashGivesUpWhenTheClientLeaves(t *testing.T) {
	b := NewBudget(BudgetConfig{Share: 0.1, Procs: 1, HashCost: time.Millisecond, Now: (&testClock{}).Now})
	busy, _, _ := b.Admit(false)
	started, release := make(chan struct{}), make(chan struct{})
	go busy.Hash(context.Background(), func() { close(started); <-release })
	<-started
	defer close(release)
	waiting, _, _ := b.Admit(false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if waiting.Hash(ctx, func() { t.Error("hashed for a client that left") }) {
		t.Fatal("Hash reported a hash for a client that left")
	}
}

// The cost of a hash is learnt from the hashes' durations unless it is configured.
func TestBudgetCalibratesTheHashCost(t *testing.T) {
	b := NewBudget(BudgetConfig{Share: 1, Procs: 1, Now: (&testClock{}).Now})
	ticket, _, _ := b.Admit(false)
	for range 40 {
		ticket.Hash(context.Background(), func() {})
	}
	if b.cost >= defaultHashCost/10 {
		t.Fatalf("after 40 instant hashes the estimate is still %v", b.cost)
	}
}

// go test -run '^$' -bench BudgetRefusal ./authcore/protect
func BenchmarkBudgetRefusal(b *testing.B) {
	budget, _ := oneCoreTenth()
	for {
		if _, _, ok := budget.Admit(false); !ok {
			break
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := budget.Admit(false); ok {
			b.Fatal("admitted")
		}
	}
}
