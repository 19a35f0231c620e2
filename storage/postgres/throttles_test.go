package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// Two stores on one database (two nodes) add to the same failure counts, several keys in
// one call; a refund lowers a live count only, never below zero; a window that is over
// starts again.
func TestFailureCountsAreShared(t *testing.T) {
	dsn := pgtest.Schema(t)
	a, b := open(t, postgres.Options{DSN: dsn}), open(t, postgres.Options{DSN: dsn})
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	add := func(s *postgres.Store, at time.Time, delta int, keys ...string) []storage.FailureTally {
		t.Helper()
		adds := make([]storage.FailureAdd, len(keys))
		for i, k := range keys {
			adds[i] = storage.FailureAdd{Key: k, Delta: delta, Window: time.Minute}
		}
		got, err := s.AddFailures(ctx, at, adds)
		if err != nil {
			t.Fatalf("AddFailures: %v", err)
		}
		return got
	}
	if got := add(a, t0, 1, "account", "client"); got[0].Count != 1 || got[1].Count != 1 || !got[0].Start.Equal(t0) {
		t.Fatalf("first attempt: %+v", got)
	}
	if got := add(b, t0.Add(time.Second), 1, "client", "account"); got[0].Count != 2 || got[1].Count != 2 || !got[1].Start.Equal(t0) {
		t.Fatalf("second attempt, on the other node: %+v, want counts 2 in the window of t0", got)
	}
	if got := add(a, t0.Add(2*time.Second), -1, "account", "nothing"); got[0].Count != 1 || got[1].Count != 0 {
		t.Fatalf("refund: %+v, want account 1 and nothing 0", got)
	}
	add(a, t0.Add(2*time.Second), -1, "account")
	if got := add(a, t0.Add(2*time.Second), -1, "account"); got[0].Count != 0 {
		t.Fatalf("refund below zero: %+v", got)
	}
	if got := add(b, t0.Add(time.Minute), 1, "client"); got[0].Count != 1 || !got[0].Start.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after the window: %+v, want a new window at t0+1m", got)
	}
	if got := add(b, t0.Add(2*time.Minute), -1, "client"); got[0].Count != 0 {
		t.Fatalf("refund to a window that is over: %+v, want none", got)
	}
}
