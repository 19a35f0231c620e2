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
	// One for creating schema_migrations, then one per migration.
	if !slices.Equal(d.names, []string{"migrate", "migrate", "migrate"}) {
		t.Errorf("locks taken = %v, want [migrate migrate migrate]", d.names)
	}
}

// openLocking opens a store whose dialect records the locks taken from now on.
func openLocking(t *testing.T) (*Store, *lockingDialect) {
	t.Helper()
	d := &lockingDialect{}
	s, err := openWithDialect(context.Background(), Options{Path: filepath.Join(t.TempDir(), "k.db")}, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d.names = nil // the migrations' locks
	return s, d
}

func TestBootstrapTakesLock(t *testing.T) {
	st, d := openLocking(t)
	if _, err := st.Bootstrap(context.Background(), testTenant(), testAdmin()); err != nil {
		t.Fatal(err)
	}
	if len(d.names) != 1 || d.names[0] != "bootstrap" {
		t.Errorf("locks taken = %v, want [bootstrap]", d.names)
	}
}

func TestChangesTakeLock(t *testing.T) {
	st, d := lockedStoreWithUser(t)
	d.names = nil
	if err := st.SetAPIKeyActive(context.Background(), "k1", false); err != nil {
		t.Fatal(err)
	}
	if len(d.names) != 1 || d.names[0] != "changes" {
		t.Errorf("locks taken by SetAPIKeyActive = %v, want [changes]", d.names)
	}
}

// TestNewChangesTakeLock covers the writes that record changes besides SetAPIKeyActive:
// each insert into the change log is preceded by the "changes" lock.
func TestNewChangesTakeLock(t *testing.T) {
	st, d := lockedStoreWithUser(t)
	ctx := context.Background()

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

// TestManagementChangesTakeLock: each change the management writes record is preceded
// by the "changes" lock; writes that record nothing take none.
func TestManagementChangesTakeLock(t *testing.T) {
	st, d := lockedStoreWithUser(t)
	ctx := context.Background()
	if err := st.CreateProject(ctx, storage.Project{UID: "p1", TenantUID: "t1", Name: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddProjectMember(ctx, "p1", "u1"); err != nil {
		t.Fatal(err)
	}
	changes := func(n int) []string { return slices.Repeat([]string{"changes"}, n) }
	for _, c := range []struct {
		name string
		op   func() error
		want []string
	}{
		{"UpdateAPIKey", func() error { return st.UpdateAPIKey(ctx, "k1", "n", "", time.Time{}) }, changes(1)},
		{"TouchAPIKeys", func() error { return st.TouchAPIKeys(ctx, map[string]time.Time{"k1": time.Now()}) }, nil},
		{"AppendAudit", func() error { return st.AppendAudit(ctx, storage.AuditEvent{ID: "e1", TenantUID: "t1"}) }, nil},
		{"UpdateUser", func() error { return st.UpdateUser(ctx, "u1", "a", "b", storage.RoleTenantAdmin) }, changes(3)},
		{"RemoveProjectMember", func() error { return st.RemoveProjectMember(ctx, "p1", "u1") }, changes(1)},
		{"DeleteProject", func() error { return st.DeleteProject(ctx, "p1") }, changes(1)},
		{"DeleteAPIKey", func() error { return st.DeleteAPIKey(ctx, "k2") }, changes(1)},
		{"PruneSessions", func() error { _, err := st.PruneSessions(ctx, time.Unix(1, 0)); return err }, nil},
		// ChangeUser, one key, one live session.
		{"DeleteUser", func() error { return st.DeleteUser(ctx, "u1") }, changes(3)},
	} {
		d.names = nil
		if err := c.op(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(d.names, c.want) {
			t.Errorf("locks taken by %s = %v, want %v", c.name, d.names, c.want)
		}
	}
}

// lockedStoreWithUser is a store whose dialect records the locks taken, holding tenant
// t1, user u1 with keys k1 and k2, and session s1.
func lockedStoreWithUser(t *testing.T) (*Store, *lockingDialect) {
	t.Helper()
	st, d := openLocking(t)
	ctx := context.Background()
	if _, err := st.Bootstrap(ctx, testTenant(), testAdmin()); err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"k1", "k2"} {
		k := storage.APIKey{UID: uid, TenantUID: "t1", UserUID: "u1", Digest: []byte(uid), Active: true}
		if err := st.CreateAPIKey(ctx, k, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateSession(ctx, storage.Session{ID: "s1", UserUID: "u1", TenantUID: "t1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return st, d
}
