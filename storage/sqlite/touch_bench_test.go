package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keygate/keygate/storage/sqlite"
)

// BenchmarkTouchAPIKeys writes the last-use times of 10,000 keys, as a node flushes them
// after many distinct keys were used; it reports the cost per key.
func BenchmarkTouchAPIKeys(b *testing.B) {
	const keys = 10000
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: tempPath(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base, err := seed(ctx, s, "acme")
	if err != nil {
		b.Fatal(err)
	}
	uids := make([]string, keys)
	for i := range uids {
		k := base
		k.UID, k.Name, k.Digest = fmt.Sprintf("k-bench-%05d", i), fmt.Sprintf("bench-%d", i), digestOf(fmt.Sprintf("bench-%d", i))
		if err := s.CreateAPIKey(ctx, k, 0); err != nil {
			b.Fatal(err)
		}
		uids[i] = k.UID
	}
	at := t0
	for b.Loop() {
		at = at.Add(time.Minute) // every touch moves each key forward, as a real flush does
		batch := make(map[string]time.Time, keys)
		for _, uid := range uids {
			batch[uid] = at
		}
		if err := s.TouchAPIKeys(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/keys, "ns/key")
}
