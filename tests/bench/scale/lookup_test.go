package main

import (
	"context"
	"testing"

	"github.com/keygate/keygate/authcore"
)

// BenchmarkColdLookupSQLite times KeyGrantByDigest unpaced on a store of 20,000 keys
// (go test -bench . ./tests/bench/scale), for profiling the cold path.
func BenchmarkColdLookupSQLite(b *testing.B) {
	ctx := context.Background()
	target, cleanup, err := newStoreTarget(ctx, options{backend: "sqlite", dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer cleanup()
	keys, err := seed(ctx, target, 20_000)
	if err != nil {
		b.Fatal(err)
	}
	st, err := target.open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d, _ := authcore.ParseKey(keys[i%len(keys)])
		if _, err := st.KeyGrantByDigest(ctx, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}
