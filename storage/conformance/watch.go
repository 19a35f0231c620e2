package conformance

import (
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var watchTests = []suiteTest{
	{"Watch/FirstBatchIsResync", testWatchFirstBatchIsResync},
	{"Watch/APIKeyActive", testWatchAPIKeyActive},
	{"Watch/UserDisabled", testWatchUserDisabled},
	{"Watch/Membership", testWatchMembership},
	{"Watch/SessionRevoked", testWatchSessionRevoked},
	{"Watch/NotBeforeStart", testWatchNotBeforeStart},
	{"Watch/ReturnsOnCancel", testWatchReturnsOnCancel},
	{"Watch/APIKeyUpdatedAndDeleted", testWatchAPIKeyUpdatedDeleted},
	{"Watch/UserUpdated", testWatchUserUpdated},
	{"Watch/UserDeleted", testWatchUserDeleted},
	{"Watch/UserPasswordSet", testWatchUserPasswordSet},
	{"Watch/MemberRemoved", testWatchMemberRemoved},
	{"Watch/ProjectDeleted", testWatchProjectDeleted},
	{"Watch/NothingWithoutChange", testWatchNothingWithoutChange},
}

// recorder runs a Watch and collects what it delivers.
type recorder struct {
	changes chan storage.Change
	done    chan error
	cancel  context.CancelFunc

	inFn       atomic.Int32
	concurrent atomic.Bool // fn was entered while already running
	emptyBatch atomic.Bool

	exited bool // Watch has returned and done was drained

	mu      sync.Mutex
	seen    []storage.Change // everything received by wait so far
	lastSeq int64
}

// startWatch runs s.Watch in a goroutine until the test ends, then checks that it
// returned ctx.Err() and that fn was never called concurrently or with an empty batch.
func startWatch(t *testing.T, s storage.Store) *recorder {
	c, cancel := context.WithCancel(context.Background())
	r := &recorder{changes: make(chan storage.Change, 4096), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- s.Watch(c, r.record) }()
	t.Cleanup(func() {
		r.stop(t)
		if r.concurrent.Load() {
			t.Error("Watch called fn concurrently with itself")
		}
		if r.emptyBatch.Load() {
			t.Error("Watch called fn with an empty batch")
		}
	})
	return r
}

func (r *recorder) record(batch []storage.Change) {
	if r.inFn.Add(1) != 1 {
		r.concurrent.Store(true)
	}
	defer r.inFn.Add(-1)
	if len(batch) == 0 {
		r.emptyBatch.Store(true)
	}
	for _, c := range batch {
		r.changes <- c
	}
}

// stop cancels Watch's context and checks that Watch returns context.Canceled promptly.
func (r *recorder) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if r.exited {
		return
	}
	select {
	case err := <-r.done:
		r.exited = true
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v after cancel, want context.Canceled", err)
		}
	case <-time.After(changeTimeout):
		t.Error("Watch did not return within 5s of its context being cancelled")
	}
}

// wait returns the first change for which match is true, or false when none came within
// d. It checks that Seq increases across everything delivered.
func (r *recorder) wait(t *testing.T, d time.Duration, match func(storage.Change) bool) (storage.Change, bool) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case c := <-r.changes:
			r.note(t, c)
			if match(c) {
				return c, true
			}
		case err := <-r.done:
			r.exited = true
			t.Fatalf("Watch returned early: %v", err)
		case <-timeout.C:
			return storage.Change{}, false
		}
	}
}

func (r *recorder) note(t *testing.T, c storage.Change) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, c)
	if c.Kind == storage.ChangeResync {
		return
	}
	if c.Seq <= r.lastSeq {
		t.Errorf("change %+v delivered after seq %d: want increasing seqs", c, r.lastSeq)
	}
	r.lastSeq = c.Seq
}

// mustSee waits for a change of kind with ref.
func (r *recorder) mustSee(t *testing.T, kind storage.ChangeKind, ref string) storage.Change {
	t.Helper()
	c, ok := r.wait(t, changeTimeout, func(c storage.Change) bool { return c.Kind == kind && c.Ref == ref })
	if !ok {
		t.Fatalf("no %s change for %s within %v", kind, ref, changeTimeout)
	}
	if c.Seq <= 0 {
		t.Errorf("change %+v: want a positive Seq", c)
	}
	return c
}

// sawRef reports whether any change received so far had ref.
func (r *recorder) sawRef(ref string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.seen {
		if c.Ref == ref {
			return true
		}
	}
	return false
}

// ready toggles probe until Watch delivers its change, which proves Watch has taken its
// start position: Watch has no "started" signal, and a change committed before that
// moment is rightly not delivered.
func (r *recorder) ready(t *testing.T, s storage.Store, probe storage.APIKey) {
	t.Helper()
	ref := keyRef(probe)
	deadline := time.Now().Add(changeTimeout)
	for time.Now().Before(deadline) {
		mustOK(t, "SetAPIKeyActive(probe)", s.SetAPIKeyActive(ctx(t), probe.UID, true))
		if _, ok := r.wait(t, probeInterval, func(c storage.Change) bool { return c.Ref == ref }); ok {
			return
		}
	}
	t.Fatalf("Watch delivered no change within %v", changeTimeout)
}

func keyRef(k storage.APIKey) string { return hex.EncodeToString(k.Digest) }

// watchFixture is a tenant with one user, a probe key and a started, ready Watch.
func watchFixture(t *testing.T, s storage.Store) (storage.Tenant, storage.User, *recorder) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "probe@example.com", 0)
	probe := mustKey(t, s, u)
	r := startWatch(t, s)
	r.ready(t, s, probe)
	return tn, u, r
}

func testWatchAPIKeyActive(t *testing.T, s storage.Store) {
	_, u, r := watchFixture(t, s)
	k := mustKey(t, s, u)
	mustOK(t, "SetAPIKeyActive", s.SetAPIKeyActive(ctx(t), k.UID, false))
	first := r.mustSee(t, storage.ChangeAPIKey, keyRef(k))
	mustOK(t, "SetAPIKeyActive", s.SetAPIKeyActive(ctx(t), k.UID, true))
	second := r.mustSee(t, storage.ChangeAPIKey, keyRef(k))
	if second.Seq <= first.Seq {
		t.Errorf("second change seq %d <= first %d", second.Seq, first.Seq)
	}
}

// mustSeeAll waits until a change of each of wants (by Kind and Ref) has been delivered,
// in any order.
func (r *recorder) mustSeeAll(t *testing.T, wants ...storage.Change) {
	t.Helper()
	missing := map[storage.Change]bool{}
	for _, w := range wants {
		missing[storage.Change{Kind: w.Kind, Ref: w.Ref}] = true
	}
	_, ok := r.wait(t, changeTimeout, func(c storage.Change) bool {
		if c.Kind != storage.ChangeResync && c.Seq <= 0 {
			t.Errorf("change %+v: want a positive Seq", c)
		}
		delete(missing, storage.Change{Kind: c.Kind, Ref: c.Ref})
		return len(missing) == 0
	})
	if !ok {
		t.Fatalf("changes not delivered within %v: %v", changeTimeout, missing)
	}
}

func testWatchUserDisabled(t *testing.T, s storage.Store) {
	tn, _, r := watchFixture(t, s)
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k1, k2 := mustKey(t, s, u), mustKey(t, s, u)
	keyless := mustUser(t, s, tn.UID, "bob@example.com", 0)
	mustOK(t, "SetUserDisabled", s.SetUserDisabled(ctx(t), u.UID, true))
	r.mustSeeAll(t,
		storage.Change{Kind: storage.ChangeUser, Ref: u.UID},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k1)},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k2)})
	// A user without keys is announced too, and so is enabling.
	mustOK(t, "SetUserDisabled(keyless)", s.SetUserDisabled(ctx(t), keyless.UID, true))
	r.mustSee(t, storage.ChangeUser, keyless.UID)
	mustOK(t, "SetUserDisabled(false)", s.SetUserDisabled(ctx(t), u.UID, false))
	r.mustSeeAll(t,
		storage.Change{Kind: storage.ChangeUser, Ref: u.UID},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k1)},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k2)})
}

// testWatchSessionRevoked also checks that a refused revocation announces nothing: had it
// been recorded, it would have come before the later, successful one.
func testWatchSessionRevoked(t *testing.T, s storage.Store) {
	_, u, r := watchFixture(t, s)
	sess := mustSession(t, s, u, 0)
	wantErr(t, "RevokeSession(unknown)", s.RevokeSession(ctx(t), "no-such-session", t0), storage.ErrNotFound)
	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), sess.ID, t0.Add(time.Hour)))
	r.mustSee(t, storage.ChangeSession, sess.ID)
	if r.sawRef("no-such-session") {
		t.Error("Watch delivered a change for a RevokeSession that failed")
	}
}

func testWatchMembership(t *testing.T, s storage.Store) {
	tn, _, r := watchFixture(t, s)
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	p := mustProject(t, s, tn.UID, "p")
	mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, u.UID))
	r.mustSee(t, storage.ChangeMembership, storage.MembershipRef(p.UID, u.UID))
}

// testWatchNotBeforeStart changes a key before Watch starts, then proves Watch is running
// and has delivered later changes; since changes come in Seq order, the earlier one
// would have come first.
func testWatchNotBeforeStart(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	early, probe := mustKey(t, s, u), mustKey(t, s, u)
	mustOK(t, "SetAPIKeyActive(early)", s.SetAPIKeyActive(ctx(t), early.UID, false))

	r := startWatch(t, s)
	r.ready(t, s, probe)
	late := mustKey(t, s, u)
	mustOK(t, "SetAPIKeyActive(late)", s.SetAPIKeyActive(ctx(t), late.UID, false))
	r.mustSee(t, storage.ChangeAPIKey, keyRef(late))
	if r.sawRef(keyRef(early)) {
		t.Error("Watch delivered a change committed before it started")
	}
}

func testWatchReturnsOnCancel(t *testing.T, s storage.Store) {
	_, _, r := watchFixture(t, s)
	r.stop(t)
	if !r.exited {
		t.Fatal("Watch still running after its context was cancelled")
	}
}

// testWatchFirstBatchIsResync: Watch announces that it has taken its position with one
// ChangeResync, before any change, so callers know when their cache is safe to fill.
func testWatchFirstBatchIsResync(t *testing.T, s storage.Store) {
	r := startWatch(t, s)
	select {
	case c := <-r.changes:
		if c.Kind != storage.ChangeResync {
			t.Fatalf("first change delivered is %+v, want a ChangeResync", c)
		}
	case <-time.After(changeTimeout):
		t.Fatal("Watch delivered nothing within 5s of starting, want a ChangeResync")
	}
}
