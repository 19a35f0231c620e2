package sqlite_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/conformance"
	"github.com/keygate/keygate/storage/sqlite"
)

// concurrentWriters is how many management clients write at once in the tests below:
// enough that, when every pooled connection contended for SQLite's write lock, some
// waited past the busy timeout and failed with SQLITE_BUSY.
const concurrentWriters = 200

// writeTimes is how long each write of a run of writers took.
type writeTimes struct {
	mu    sync.Mutex
	times []time.Duration
}

func (w *writeTimes) time(write func() error) error {
	start := time.Now()
	err := write()
	w.mu.Lock()
	w.times = append(w.times, time.Since(start))
	w.mu.Unlock()
	return err
}

func (w *writeTimes) slowest() time.Duration { return slices.Max(w.times) }

// runWriters starts n writers at once on s, in the tenant and user that seed made for
// name, and returns the errors of those that failed. Writer i makes the writes a
// management client makes: it creates user and key "<round>-<i>", revokes the key,
// disables the user, opens and revokes a session and appends an audit event.
func runWriters(ctx context.Context, s storage.Store, name, round string, n int, times *writeTimes) []error {
	errs := conformance.AtOnce(n, func(i int) error {
		return writeAsClient(ctx, s, name, fmt.Sprintf("%s-%d", round, i), times)
	})
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// writeAsClient is one writer of runWriters; id names what it creates.
func writeAsClient(ctx context.Context, s storage.Store, name, id string, times *writeTimes) error {
	tenant := "t-" + name
	u := storage.User{
		UID: "u-" + id, TenantUID: tenant, Email: id + "@example.com", Role: storage.RoleUser,
		CreatedAt: t0, UpdatedAt: t0,
	}
	k := storage.APIKey{
		UID: "k-" + id, TenantUID: tenant, UserUID: u.UID, Digest: digestOf(id), Active: true,
		CreatedAt: t0, UpdatedAt: t0,
	}
	sess := storage.Session{ID: "s-" + id, UserUID: u.UID, TenantUID: tenant, CreatedAt: t0}
	event := storage.AuditEvent{ID: "e-" + id, TenantUID: tenant, At: t0, Action: "user.disable", TargetUID: u.UID}
	for _, w := range []struct {
		what  string
		write func() error
	}{
		{"create user", func() error { return s.CreateUser(ctx, u) }},
		{"create key", func() error { return s.CreateAPIKey(ctx, k, 0) }},
		{"revoke key", func() error { return s.SetAPIKeyActive(ctx, k.UID, false) }},
		{"disable user", func() error { return s.SetUserDisabled(ctx, u.UID, true) }},
		{"create session", func() error { return s.CreateSession(ctx, sess) }},
		{"revoke session", func() error { return s.RevokeSession(ctx, sess.ID, t0.Add(time.Minute)) }},
		{"append audit", func() error { return s.AppendAudit(ctx, event) }},
	} {
		if err := times.time(w.write); err != nil {
			return fmt.Errorf("writer %s: %s: %w", id, w.what, err)
		}
	}
	return nil
}

// TestConcurrentWritersAllSucceed: writers of one process queue for the database rather
// than contend for SQLite's write lock, so none fails however many there are (even with
// a busy timeout far shorter than the queue, which only other processes' writers wait
// out), each one's writes all land, and Watch sees them.
func TestConcurrentWritersAllSucceed(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite.Options{Path: tempPath(t), BusyTimeout: 100 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	w := startWatch(t, s)
	w.ready(t, s, mustSeed(t, s, "acme"))
	var times writeTimes
	if errs := runWriters(ctx, s, "acme", "r0", concurrentWriters, &times); len(errs) > 0 {
		t.Fatalf("%d of %d writers failed, the first with: %v", len(errs), concurrentWriters, errs[0])
	}
	unseen := map[string]bool{}
	for i := range concurrentWriters {
		id := fmt.Sprintf("r0-%d", i)
		k, err := s.APIKeyByUID(ctx, "k-"+id)
		if err != nil || k.Active {
			t.Errorf("key of writer %d = %+v, %v; want it revoked", i, k, err)
		}
		unseen[ref(k)] = true
		if sess, err := s.SessionByID(ctx, "s-"+id); err != nil || sess.RevokedAt.IsZero() {
			t.Errorf("session of writer %d = %+v, %v; want it revoked", i, sess, err)
		}
	}
	events, _, err := s.ListAudit(ctx, "t-acme", storage.Page{Limit: 2 * concurrentWriters})
	if err != nil || len(events) != concurrentWriters {
		t.Errorf("ListAudit = %d events, %v; want %d", len(events), err, concurrentWriters)
	}
	if w.waitForKeys(10*time.Second, unseen); len(unseen) > 0 {
		t.Errorf("Watch has not delivered the changes of %d of the writers' keys", len(unseen))
	}
}

// BenchmarkConcurrentWriters runs rounds of concurrentWriters writers at once and reports
// the slowest single write seen, besides the time per round.
func BenchmarkConcurrentWriters(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: tempPath(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := seed(ctx, s, "acme"); err != nil {
		b.Fatal(err)
	}
	var times writeTimes
	round := 0
	for b.Loop() {
		if errs := runWriters(ctx, s, "acme", fmt.Sprintf("r%d", round), concurrentWriters, &times); len(errs) > 0 {
			b.Fatalf("%d of %d writers failed, the first with: %v", len(errs), concurrentWriters, errs[0])
		}
		round++
	}
	b.ReportMetric(float64(times.slowest().Milliseconds()), "slowest-write-ms")
	b.ReportMetric(float64(len(times.times))/float64(round), "writes/round")
}
