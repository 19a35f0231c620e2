package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlstore"
)

// These tests check that sqlstore calls the optional TxLocker where PostgreSQL needs it;
// SQLite's dialect has none, so a recording one stands in.

// lockingDialect records the named locks Migrate takes.
type lockingDialect struct {
	dialect
	names []string
}

func (d *lockingDialect) Lock(_ context.Context, _ *sql.Tx, name string) error {
	d.names = append(d.names, name)
	return nil
}

func TestMigrateTakesLock(t *testing.T) {
	db := rawDB(t)
	d := &lockingDialect{}
	fsys := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER);")},
	}
	if err := sqlstore.Migrate(context.Background(), db, d, fsys); err != nil {
		t.Fatal(err)
	}
	if len(d.names) != 2 || d.names[0] != "migrate" || d.names[1] != "migrate" {
		t.Errorf("locks taken = %v, want one \"migrate\" per migration", d.names)
	}
}

func TestBootstrapTakesLock(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := &lockingDialect{}
	st := sqlstore.New(s.DB(), d)
	if _, err := st.Bootstrap(context.Background(), testTenant(), testAdmin()); err != nil {
		t.Fatal(err)
	}
	if len(d.names) != 1 || d.names[0] != "bootstrap" {
		t.Errorf("locks taken = %v, want [bootstrap]", d.names)
	}
}

func TestChangesTakeLock(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := &lockingDialect{}
	st := sqlstore.New(s.DB(), d)
	ctx := context.Background()
	if _, err := st.Bootstrap(ctx, testTenant(), testAdmin()); err != nil {
		t.Fatal(err)
	}
	k := storage.APIKey{UID: "k1", TenantUID: "t1", UserUID: "u1", Digest: []byte{1}, Active: true}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	d.names = nil
	if err := st.SetAPIKeyActive(ctx, k.UID, false); err != nil {
		t.Fatal(err)
	}
	if len(d.names) != 1 || d.names[0] != "changes" {
		t.Errorf("locks taken by SetAPIKeyActive = %v, want [changes]", d.names)
	}
}

// TestNewChangesTakeLock covers the writes that record changes besides SetAPIKeyActive:
// each insert into the change log is preceded by the "changes" lock.
func TestNewChangesTakeLock(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := &lockingDialect{}
	st := sqlstore.New(s.DB(), d)
	ctx := context.Background()
	if _, err := st.Bootstrap(ctx, testTenant(), testAdmin()); err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"k1", "k2"} {
		k := storage.APIKey{UID: uid, TenantUID: "t1", UserUID: "u1", Digest: []byte(uid), Active: true}
		if err := st.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateSession(ctx, storage.Session{ID: "s1", UserUID: "u1", TenantUID: "t1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	d.names = nil
	if err := st.SetUserDisabled(ctx, "u1", true); err != nil {
		t.Fatal(err)
	}
	// One ChangeUser and two ChangeAPIKey.
	if !slices.Equal(d.names, []string{"changes", "changes", "changes"}) {
		t.Errorf("locks taken by SetUserDisabled = %v, want [changes changes changes]", d.names)
	}
	d.names = nil
	if err := st.RevokeSession(ctx, "s1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.names, []string{"changes"}) {
		t.Errorf("locks taken by RevokeSession = %v, want [changes]", d.names)
	}
}
