package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlstore"
)

// These tests run sqlstore.Migrate on a real SQLite database; they live here because
// sqlstore itself imports no driver.

func rawDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(Options{Path: filepath.Join(t.TempDir(), "m.db")}.withDefaults()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func versions(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrateAppliesInOrderOnce(t *testing.T) {
	db := rawDB(t)
	ctx := context.Background()
	fsys := fstest.MapFS{
		// 0002 depends on 0001, so applying out of order fails.
		"0002_more.sql": {Data: []byte("INSERT INTO a (x) VALUES (2);\nINSERT INTO a (x) VALUES (3);\n")},
		"0001_init.sql": {Data: []byte("-- first\nCREATE TABLE a (\n  x INTEGER\n);\nINSERT INTO a (x) VALUES (1);\n")},
	}
	for range 2 { // the second run must apply nothing
		if err := sqlstore.Migrate(ctx, db, dialect{}, fsys); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("table a has %d rows, want 3 (each migration applied once)", n)
	}
	if vs := versions(t, db); len(vs) != 2 || vs[0] != 1 || vs[1] != 2 {
		t.Errorf("schema_migrations = %v, want [1 2]", vs)
	}

	// A new file is picked up by a later run.
	fsys["0003_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (y INTEGER);")}
	if err := sqlstore.Migrate(ctx, db, dialect{}, fsys); err != nil {
		t.Fatal(err)
	}
	if !tableExists(t, db, "b") {
		t.Error("0003 not applied")
	}
}

func TestMigrateFailureLeavesNothing(t *testing.T) {
	db := rawDB(t)
	fsys := fstest.MapFS{
		"0001_ok.sql":     {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"0002_broken.sql": {Data: []byte("CREATE TABLE b (y INTEGER);\nTHIS IS NOT SQL;\n")},
	}
	err := sqlstore.Migrate(context.Background(), db, dialect{}, fsys)
	if err == nil {
		t.Fatal("Migrate with a broken file succeeded")
	}
	if !tableExists(t, db, "a") {
		t.Error("0001 should have been applied before 0002 failed")
	}
	if tableExists(t, db, "b") {
		t.Error("the failed migration left table b behind")
	}
	if vs := versions(t, db); len(vs) != 1 || vs[0] != 1 {
		t.Errorf("schema_migrations = %v, want [1]", vs)
	}
}

// TestUpgradeFrom0001 opens a database made before 0002_tokens.sql, with data in it: Open
// must add the new tables and keep the data, and sessions must work on the old users.
func TestUpgradeFrom0001(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(Options{Path: path}.withDefaults()))
	if err != nil {
		t.Fatal(err)
	}
	initSQL, err := fs.ReadFile(migrationFiles, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Migrate(ctx, db, dialect{}, fstest.MapFS{"0001_init.sql": {Data: initSQL}}); err != nil {
		t.Fatal(err)
	}
	old := sqlstore.New(db, dialect{})
	if _, err := old.Bootstrap(ctx, testTenant(), testAdmin()); err != nil {
		t.Fatal(err)
	}
	if tableExists(t, db, "sessions") {
		t.Fatal("sessions exists after 0001 alone")
	}
	db.Close()

	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if vs := versions(t, s.DB()); len(vs) != 2 || vs[0] != 1 || vs[1] != 2 {
		t.Errorf("schema_migrations = %v, want [1 2]", vs)
	}
	if _, err := s.UserByUID(ctx, "u1"); err != nil {
		t.Fatalf("user made before the upgrade: %v", err)
	}
	if err := s.CreateSession(ctx, storage.Session{ID: "s1", UserUID: "u1", TenantUID: "t1", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateSession after the upgrade: %v", err)
	}
	if err := s.CreateSigningKey(ctx, storage.SigningKey{KID: "k1", Secret: []byte{1}, CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateSigningKey after the upgrade: %v", err)
	}
}
