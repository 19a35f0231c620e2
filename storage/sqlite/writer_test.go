package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keygate/keygate/storage"
)

// holdingDialect keeps a write transaction open at a known point: once armed, the next
// transaction to record a change stops there, holding the writing connection and SQLite's
// write lock, until released.
type holdingDialect struct {
	dialect
	armed   atomic.Bool
	held    chan struct{} // closed when a transaction is stopped
	release chan struct{}
}

func newHoldingDialect() *holdingDialect {
	return &holdingDialect{held: make(chan struct{}), release: make(chan struct{})}
}

func (d *holdingDialect) Lock(_ context.Context, _ *sql.Tx, name string) error {
	if name == "changes" && d.armed.CompareAndSwap(true, false) {
		close(d.held)
		<-d.release
	}
	return nil
}

// TestOpenWriteTransactionBlocksNoReader: while a write transaction is open, a read runs
// (seeing the state before it) and a write queues behind it rather than failing when
// the busy timeout, here a millisecond, passes.
func TestOpenWriteTransactionBlocksNoReader(t *testing.T) {
	// Not a time the test expects: it makes a read stuck behind the transaction fail
	// rather than hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := newHoldingDialect()
	s, err := openWithDialect(ctx, Options{Path: filepath.Join(t.TempDir(), "k.db"), BusyTimeout: time.Millisecond}, d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Bootstrap(ctx, testTenant(), testAdmin()); err != nil {
		t.Fatal(err)
	}
	k := storage.APIKey{UID: "k1", TenantUID: "t1", UserUID: "u1", Digest: []byte{1}, Active: true}
	if err := s.CreateAPIKey(ctx, k, 0); err != nil {
		t.Fatal(err)
	}

	d.armed.Store(true)
	revoked := make(chan error, 1)
	go func() { revoked <- s.SetAPIKeyActive(ctx, k.UID, false) }()
	<-d.held
	queued := make(chan error, 1)
	go func() { queued <- s.CreateProject(ctx, storage.Project{UID: "p1", TenantUID: "t1", Name: "p"}) }()

	got, err := s.APIKeyByUID(ctx, k.UID)
	if err != nil || !got.Active {
		t.Errorf("key read while its revocation is open = %+v, %v; want it, still active", got, err)
	}
	close(d.release)
	if err := <-revoked; err != nil {
		t.Errorf("revocation: %v", err)
	}
	if err := <-queued; err != nil {
		t.Errorf("write queued behind the revocation: %v", err)
	}
	if got, err := s.APIKeyByUID(ctx, k.UID); err != nil || got.Active {
		t.Errorf("key after its revocation committed = %+v, %v; want it revoked", got, err)
	}
}

// TestReadPoolRefusesWrites: a write sent to the read pool fails rather than bypass the
// writing connection's queue.
func TestReadPoolRefusesWrites(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.DB().Exec("INSERT INTO tenants (uid, name, created_at) VALUES ('t1', 'acme', 0)")
	if code(err) != sqlite3.SQLITE_READONLY {
		t.Errorf("write on the read pool = %v, want SQLITE_READONLY", err)
	}
}
