package protect

import (
	"context"
	"testing"
	"time"
)

// A flood of new keys keeps every shard within its bound.
func TestThrottleMemoryIsBoundedUnderAFloodOfNewKeys(t *testing.T) {
	th := NewThrottle(5, time.Minute, (&testClock{}).Now)
	for i := range 3 * throttleShards * throttleShardMax {
		th.Reserve(context.Background(), ThrottleKey{hash: uint64(i)})
	}
	for i := range th.shards {
		if n := len(th.shards[i].windows); n > throttleShardMax {
			t.Fatalf("shard %d holds %d windows, want at most %d", i, n, throttleShardMax)
		}
	}
}

// go test -run '^$' -bench ThrottleNewKey ./authcore/protect
//
// BenchmarkThrottleNewKeyWhenFull is one attempt by a new key (a random email or
// address of a flood) once the throttle is full and nothing has expired.
func BenchmarkThrottleNewKeyWhenFull(b *testing.B) {
	th := NewThrottle(5, time.Minute, (&testClock{}).Now)
	key := 0
	for ; key < throttleShards*throttleShardMax; key++ {
		th.Reserve(context.Background(), ThrottleKey{hash: uint64(key)})
	}
	b.ReportAllocs()
	for b.Loop() {
		key++
		th.Reserve(context.Background(), ThrottleKey{hash: uint64(key)})
	}
}
