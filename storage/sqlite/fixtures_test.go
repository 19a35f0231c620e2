package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// seed creates a tenant, a user and an active key whose digest is digestOf(name), all
// with uids derived from name.
func seed(ctx context.Context, s storage.Store, name string) (storage.APIKey, error) {
	tn := storage.Tenant{UID: "t-" + name, Name: name, CreatedAt: t0}
	u := storage.User{
		UID: "u-" + name, TenantUID: tn.UID, Email: name + "@example.com", Role: storage.RoleUser,
		CreatedAt: t0, UpdatedAt: t0,
	}
	k := storage.APIKey{
		UID: "k-" + name, TenantUID: tn.UID, UserUID: u.UID, Name: name, Digest: digestOf(name),
		Active: true, CreatedAt: t0, UpdatedAt: t0,
	}
	if err := s.CreateTenant(ctx, tn); err != nil {
		return k, err
	}
	if err := s.CreateUser(ctx, u); err != nil {
		return k, err
	}
	return k, s.CreateAPIKey(ctx, k, 0)
}

func mustSeed(t *testing.T, s storage.Store, name string) storage.APIKey {
	t.Helper()
	k, err := seed(context.Background(), s, name)
	if err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	return k
}

// openWithTwoKeys opens a store seeded with "alice" (see seed) and a second key of
// alice's, k-alice-2, whose digest is digestOf("alice-2").
func openWithTwoKeys(t *testing.T) (s *sqlite.Store, k, k2 storage.APIKey) {
	t.Helper()
	s = open(t, sqlite.Options{Path: tempPath(t)})
	k = mustSeed(t, s, "alice")
	k2 = k
	k2.UID, k2.Digest = "k-alice-2", digestOf("alice-2")
	if err := s.CreateAPIKey(context.Background(), k2, 0); err != nil {
		t.Fatal(err)
	}
	return s, k, k2
}

// openWithSession opens a store seeded with "alice" (see seed) and a live session of
// alice's, s-1.
func openWithSession(t *testing.T) (*sqlite.Store, storage.Session) {
	t.Helper()
	s := open(t, sqlite.Options{Path: tempPath(t)})
	mustSeed(t, s, "alice")
	sess := storage.Session{ID: "s-1", UserUID: "u-alice", TenantUID: "t-alice", CreatedAt: t0}
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	return s, sess
}

func ref(k storage.APIKey) string { return hex.EncodeToString(k.Digest) }

func setActive(t *testing.T, s storage.Store, k storage.APIKey, active bool) {
	t.Helper()
	if err := s.SetAPIKeyActive(context.Background(), k.UID, active); err != nil {
		t.Fatalf("SetAPIKeyActive(%s): %v", k.UID, err)
	}
}

// watcher runs s.Watch until the test ends and passes each batch on.
type watcher struct {
	batches chan []storage.Change
	hold    chan struct{} // when not nil, fn blocks on it after passing the next batch on
	holdReq chan chan struct{}
	resyncs atomic.Int32 // ChangeResync changes delivered so far
}

func startWatch(t *testing.T, s storage.Store) *watcher {
	t.Helper()
	w := &watcher{batches: make(chan []storage.Change, 1024), holdReq: make(chan chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, func(b []storage.Change) {
			for _, c := range b {
				if c.Kind == storage.ChangeResync {
					w.resyncs.Add(1)
				}
			}
			w.batches <- b
			select {
			case h := <-w.holdReq:
				<-h
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after cancel")
		}
	})
	return w
}

// holdNext makes fn block after its next batch until the returned func is called.
func (w *watcher) holdNext() (release func()) {
	h := make(chan struct{})
	w.holdReq <- h
	return func() { close(h) }
}

// waitFor returns the first change (from batches received within d) that match accepts.
func (w *watcher) waitFor(d time.Duration, match func(storage.Change) bool) (storage.Change, bool) {
	timeout := time.After(d)
	for {
		select {
		case b := <-w.batches:
			for _, c := range b {
				if match(c) {
					return c, true
				}
			}
		case <-timeout:
			return storage.Change{}, false
		}
	}
}

// waitForKeys deletes from refs each key that a ChangeAPIKey received within d names,
// until none is left.
func (w *watcher) waitForKeys(d time.Duration, refs map[string]bool) {
	timeout := time.After(d)
	for len(refs) > 0 {
		select {
		case b := <-w.batches:
			for _, c := range b {
				if c.Kind == storage.ChangeAPIKey {
					delete(refs, c.Ref)
				}
			}
		case <-timeout:
			return
		}
	}
}

func isRef(r string) func(storage.Change) bool {
	return func(c storage.Change) bool { return c.Kind == storage.ChangeAPIKey && c.Ref == r }
}

// ready toggles probe through writer until w sees it: then Watch has its start position.
func (w *watcher) ready(t *testing.T, writer storage.Store, probe storage.APIKey) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		setActive(t, writer, probe, true)
		if _, ok := w.waitFor(250*time.Millisecond, isRef(ref(probe))); ok {
			return
		}
	}
	t.Fatal("Watch delivered nothing within 5s")
}
