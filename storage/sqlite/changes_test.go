package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

func TestChangeLog(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite.Options{Path: tempPath(t)})
	for name, f := range map[string]func(context.Context) (int64, error){
		"LatestChangeSeq": s.LatestChangeSeq, "OldestChangeSeq": s.OldestChangeSeq,
	} {
		if seq, err := f(ctx); err != nil || seq != 0 {
			t.Errorf("%s on an empty log = %d, %v; want 0", name, seq, err)
		}
	}

	k := mustSeed(t, s, "alice")
	for _, active := range []bool{false, true, false, true, false} {
		setActive(t, s, k, active)
	}
	all, err := s.ChangesAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("ChangesAfter(0) = %d changes, want 5", len(all))
	}
	for i, c := range all {
		if c.Kind != storage.ChangeAPIKey || c.Ref != ref(k) || (i > 0 && c.Seq != all[i-1].Seq+1) {
			t.Errorf("change %d = %+v, want consecutive apikey changes for %s", i, c, ref(k))
		}
	}
	page, err := s.ChangesAfter(ctx, all[1].Seq, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Seq != all[2].Seq || page[1].Seq != all[3].Seq {
		t.Errorf("ChangesAfter(seq 2, limit 2) = %+v, want changes 3 and 4", page)
	}
	latest, _ := s.LatestChangeSeq(ctx)
	oldest, _ := s.OldestChangeSeq(ctx)
	if latest != all[4].Seq || oldest != all[0].Seq {
		t.Errorf("latest, oldest = %d, %d; want %d, %d", latest, oldest, all[4].Seq, all[0].Seq)
	}

	// Pruning everything keeps the newest change, so the high-water mark survives.
	n, err := s.PruneChanges(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 4 {
		t.Errorf("PruneChanges = %d, %v; want 4", n, err)
	}
	latest, _ = s.LatestChangeSeq(ctx)
	oldest, _ = s.OldestChangeSeq(ctx)
	if latest != all[4].Seq || oldest != all[4].Seq {
		t.Errorf("after pruning: latest, oldest = %d, %d; want both %d", latest, oldest, all[4].Seq)
	}
	// Nothing is older than an hour ago.
	if n, err := s.PruneChanges(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneChanges(an hour ago) = %d, %v; want 0", n, err)
	}
	// Seqs are not reused after pruning.
	setActive(t, s, k, true)
	if latest, _ := s.LatestChangeSeq(ctx); latest != all[4].Seq+1 {
		t.Errorf("seq after pruning = %d, want %d", latest, all[4].Seq+1)
	}
}

// TestWatchAfterPruneNoResync starts a Watch on a log pruned down to its newest change:
// that is not a gap, so the watcher must get the next change, not a ChangeResync.
func TestWatchAfterPruneNoResync(t *testing.T) {
	s := open(t, sqlite.Options{Path: tempPath(t), PollInterval: 10 * time.Millisecond})
	probe := mustSeed(t, s, "probe")
	k := mustSeed(t, s, "alice")
	setActive(t, s, k, false)
	setActive(t, s, k, true)
	if _, err := s.PruneChanges(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, s)
	w.ready(t, s, probe)
	setActive(t, s, k, false)
	if _, ok := w.waitFor(5*time.Second, isRef(ref(k))); !ok {
		t.Error("change not delivered")
	}
	if n := w.resyncs.Load(); n != 1 {
		t.Errorf("got %d ChangeResync, want only the first, which says Watch is ready", n)
	}
}

// TestConflictMessages checks that conflicts say what conflicted.
func TestConflictMessages(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite.Options{Path: tempPath(t)})
	k := mustSeed(t, s, "alice")
	for _, c := range []struct {
		err  error
		want string
	}{
		{s.CreateTenant(ctx, storage.Tenant{UID: "other", Name: "alice"}), `tenant name "alice" taken`},
		{s.CreateTenant(ctx, storage.Tenant{UID: "t-alice", Name: "other"}), `tenant uid "t-alice" taken`},
		{s.CreateUser(ctx, storage.User{UID: "x", TenantUID: "t-alice", Email: "ALICE@example.com"}), `email "alice@example.com" in tenant "t-alice" taken`},
		{s.CreateAPIKey(ctx, storage.APIKey{UID: "k2", TenantUID: "t-alice", UserUID: "u-alice", Digest: k.Digest}, 0), "api key digest taken"},
	} {
		if !errors.Is(c.err, storage.ErrConflict) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v: want ErrConflict saying %q", c.err, c.want)
		}
	}
}
