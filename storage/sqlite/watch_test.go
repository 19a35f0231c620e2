package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// TestWatchAcrossOpens is a CLI process and a running gateway: two Opens of one file. A
// change written through one reaches the other's Watch within a second.
func TestWatchAcrossOpens(t *testing.T) {
	path := tempPath(t)
	gateway := open(t, sqlite.Options{Path: path})
	cli := open(t, sqlite.Options{Path: path})
	probe := mustSeed(t, cli, "probe")
	k := mustSeed(t, cli, "alice")

	w := startWatch(t, gateway)
	w.ready(t, cli, probe)
	for _, active := range []bool{false, true} {
		start := time.Now()
		setActive(t, cli, k, active)
		if _, ok := w.waitFor(time.Second, isRef(ref(k))); !ok {
			t.Fatalf("change written by the other store not delivered within 1s")
		}
		t.Logf("delivered after %v", time.Since(start))
	}
}

// TestWatchResyncAfterPrune holds a watcher inside fn while another store, pruning with a
// tiny retention, deletes changes the watcher has not read. The watcher must then get a
// ChangeResync, and after it the changes that follow.
func TestWatchResyncAfterPrune(t *testing.T) {
	path := tempPath(t)
	behind := open(t, sqlite.Options{Path: path, PollInterval: 10 * time.Millisecond})
	pruner := open(t, sqlite.Options{
		Path: path, PollInterval: 10 * time.Millisecond,
		ChangeRetention: time.Millisecond, PruneInterval: 10 * time.Millisecond,
	})
	probe := mustSeed(t, pruner, "probe")
	k := mustSeed(t, pruner, "alice")

	w := startWatch(t, behind)
	w.ready(t, pruner, probe)
	release := w.holdNext()
	setActive(t, pruner, k, false)
	seen, ok := w.waitFor(5*time.Second, isRef(ref(k)))
	if !ok {
		t.Fatal("first change not delivered")
	}
	// The watcher is now stuck in fn at seq seen.Seq; two more changes follow it.
	setActive(t, pruner, k, true)
	setActive(t, pruner, k, false)
	startWatch(t, pruner) // its Watch prunes the log
	waitPrunedPast(t, pruner, seen.Seq+1)
	release()

	if _, ok := w.waitFor(5*time.Second, func(c storage.Change) bool { return c.Kind == storage.ChangeResync }); !ok {
		t.Fatal("no ChangeResync after the log was pruned past the watcher")
	}
	setActive(t, pruner, k, true)
	if _, ok := w.waitFor(5*time.Second, isRef(ref(k))); !ok {
		t.Fatal("no change delivered after the resync")
	}
}

// waitPrunedPast waits until the oldest retained change is after seq.
func waitPrunedPast(t *testing.T, s *sqlite.Store, seq int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		oldest, err := s.OldestChangeSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if oldest > seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("oldest change still %d, want > %d: Watch did not prune", oldest, seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWatchReturnsWhenClosed checks that closing the store ends a running Watch rather
// than leaving it polling a closed database.
func TestWatchReturnsWhenClosed(t *testing.T) {
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: tempPath(t), PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Watch(context.Background(), func([]storage.Change) {}) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Watch returned nil after Close, want an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch still running 5s after Close")
	}
}
