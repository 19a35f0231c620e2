package sessions

import (
	"context"
	"testing"
	"time"
)

// Key use is written in batches off the request path, at most once a minute per key.
func TestLastUseIsRecordedInBatchesAtMostOnceAMinute(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.mustKey(t, f.user, "30d")
	lastUsed := func() time.Time {
		t.Helper()
		rec, err := f.store.APIKeyByUID(ctx, k.Record.UID)
		if err != nil {
			t.Fatal(err)
		}
		return rec.LastUsedAt
	}
	for range 3 {
		if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
			t.Fatal(err)
		}
	}
	if !lastUsed().IsZero() {
		t.Fatal("last use was written on the request path")
	}
	if err := f.auth.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	first := lastUsed()
	if !first.Equal(f.clock.Now().UTC()) {
		t.Fatalf("last use %v, want %v", first, f.clock.Now())
	}

	f.clock.Advance(30 * time.Second) // within the minute: not noted again
	f.auth.AuthenticateAPIKey(ctx, k.Key)
	f.auth.FlushUsage(ctx)
	if !lastUsed().Equal(first) {
		t.Fatal("a use within the minute was written again")
	}
	f.clock.Advance(31 * time.Second)
	f.auth.AuthenticateAPIKey(ctx, k.Key)
	f.auth.FlushUsage(ctx)
	if !lastUsed().After(first) {
		t.Fatal("a use a minute later was not written")
	}
}

// A batch that cannot be written is kept for the next flush.
func TestUnwrittenLastUseIsKept(t *testing.T) {
	o := newOutageFixture(t, 0)
	f := o.fixture
	ctx := context.Background()
	k := f.cachedKey(t)
	o.out.down.Store(true)
	if err := f.auth.FlushUsage(ctx); err == nil {
		t.Fatal("flushing into an unreachable store succeeded")
	}
	o.out.down.Store(false)
	if err := f.auth.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, err := f.store.APIKeyByUID(ctx, k.Record.UID); err != nil || rec.LastUsedAt.IsZero() {
		t.Fatalf("after the store came back the key's last use is %v (%v): the failed batch was dropped", rec.LastUsedAt, err)
	}
}
