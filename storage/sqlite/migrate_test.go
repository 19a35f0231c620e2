package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
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
	return rawDBAt(t, filepath.Join(t.TempDir(), "m.db"))
}

// rawDBAt opens the database at path without migrating it, until the test ends.
func rawDBAt(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", writerDSN(Options{Path: path}.withDefaults()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// oldDB makes a database in a fresh file with only the named migrations applied, as a
// store of that version left it, and returns it open with its path.
func oldDB(t *testing.T, names ...string) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	db := rawDBAt(t, path)
	old := fstest.MapFS{}
	for _, name := range names {
		body, err := fs.ReadFile(migrationFiles, "migrations/"+name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: body}
	}
	if err := sqlstore.Migrate(context.Background(), db, dialect{}, old); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// openUpgraded opens the store at path, which migrates it, until the test ends, and
// checks that every migration is then recorded.
func openUpgraded(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	known, err := migrationVersions()
	if err != nil {
		t.Fatal(err)
	}
	if vs := versions(t, s.DB()); !slices.Equal(vs, known) {
		t.Errorf("schema_migrations = %v, want every embedded migration %v", vs, known)
	}
	return s
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
	db, path := oldDB(t, "0001_init.sql")
	// As a store of that version wrote them: the role in users.role.
	for _, q := range []string{
		"INSERT INTO tenants (uid, name, created_at) VALUES ('t1', 'acme', 1000)",
		"INSERT INTO users VALUES ('u1', 't1', 'admin@example.com', '', '', 'tenant-admin', 0, '', 1000, 1000)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if tableExists(t, db, "sessions") {
		t.Fatal("sessions exists after 0001 alone")
	}
	db.Close()

	s := openUpgraded(t, path)
	u, err := s.UserByUID(ctx, "u1")
	if err != nil {
		t.Fatalf("user made before the upgrade: %v", err)
	}
	// 0006 turns the old tenant-admin role into a Tenant Admin grant.
	if u.Role != storage.RoleTenantAdmin || !slices.Equal(u.Roles, []string{storage.RoleUIDTenantAdmin}) {
		t.Errorf("admin made before the upgrade = role %q, roles %v; want tenant-admin holding %s", u.Role, u.Roles, storage.RoleUIDTenantAdmin)
	}
	if n, err := s.ActiveTenantAdmins(ctx, "t1"); err != nil || n != 1 {
		t.Errorf("ActiveTenantAdmins after the upgrade = %d, %v; want 1", n, err)
	}
	if err := s.CreateSession(ctx, storage.Session{ID: "s1", UserUID: "u1", TenantUID: "t1", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateSession after the upgrade: %v", err)
	}
	if err := s.CreateSigningKey(ctx, storage.SigningKey{KID: "k1", Secret: []byte{1}, CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateSigningKey after the upgrade: %v", err)
	}
}

// TestUpgradeFrom0002 opens a database made before 0003_management.sql, with a key,
// session and project in it: Open must add last_used_at (0, "never used", for the old
// key), the audit table and the listing indexes, and keep the data.
func TestUpgradeFrom0002(t *testing.T) {
	ctx := context.Background()
	db, path := oldDB(t, "0001_init.sql", "0002_tokens.sql")
	// The old schema has no last_used_at: insert as a store of that version did.
	for _, q := range []string{
		"INSERT INTO tenants (uid, name, created_at) VALUES ('t1', 'acme', 1000)",
		"INSERT INTO users VALUES ('u1', 't1', 'a@example.com', '', '', 'user', 0, '', 1000, 1000)",
		"INSERT INTO api_keys VALUES ('k1', 't1', 'u1', 'key', '', x'01', '', 0, 1, 2000, 2000)",
		"INSERT INTO sessions (id, user_uid, tenant_uid, created_at) VALUES ('s1', 'u1', 't1', 3000)",
		"INSERT INTO projects VALUES ('p1', 't1', 'p', 4000)",
		"INSERT INTO project_members VALUES ('p1', 'u1', 4000)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if tableExists(t, db, "audit_events") {
		t.Fatal("audit_events exists after 0001 and 0002 alone")
	}
	db.Close()

	s := openUpgraded(t, path)
	// 0009 gives old projects annotations: none.
	if p, err := s.ProjectByUID(ctx, "p1"); err != nil || p.Name != "p" || p.Annotations != nil {
		t.Errorf("project made before the upgrade = %+v, %v; want it, without annotations", p, err)
	}
	k, err := s.APIKeyByUID(ctx, "k1")
	if err != nil || !k.LastUsedAt.IsZero() || k.CreatedAt.UnixMilli() != 2000 || k.Tagged {
		t.Fatalf("key made before the upgrade = %+v, %v; want it, never used, untagged", k, err)
	}
	// Keys made before 0005 carry no tag: they are the legacy keys nodes load at start.
	if legacy, err := s.LegacyKeyDigests(ctx); err != nil || len(legacy) != 1 || !bytes.Equal(legacy[0], []byte{1}) {
		t.Errorf("LegacyKeyDigests after the upgrade = %x, %v; want the old key's digest", legacy, err)
	}
	at := time.UnixMilli(5000)
	if err := s.TouchAPIKeys(ctx, map[string]time.Time{"k1": at}); err != nil {
		t.Fatal(err)
	}
	if g, err := s.KeyGrantByDigest(ctx, []byte{1}); err != nil || !g.Key.LastUsedAt.Equal(at) {
		t.Errorf("grant after TouchAPIKeys = %+v, %v; want last used at %v", g.Key, err, at)
	}
	keys, _, err := s.ListAPIKeys(ctx, storage.APIKeyFilter{TenantUID: "t1", UserUID: "u1"}, storage.Page{})
	if err != nil || len(keys) != 1 {
		t.Errorf("ListAPIKeys after the upgrade = %v, %v; want the old key", keys, err)
	}
	if members, err := s.ProjectMembers(ctx, "p1"); err != nil || !slices.Equal(members, []string{"u1"}) {
		t.Errorf("ProjectMembers after the upgrade = %v, %v; want [u1]", members, err)
	}
	// 0006 turns the old membership into a Project Editor grant.
	if a, err := s.ProjectAccess(ctx, "p1", "u1"); err != nil || !slices.Equal(a.Roles, []string{storage.RoleUIDProjectEditor}) {
		t.Errorf("ProjectAccess after the upgrade = %+v, %v; want Project Editor", a, err)
	}
	if err := s.AppendAudit(ctx, storage.AuditEvent{ID: "e1", TenantUID: "t1", At: at}); err != nil {
		t.Fatalf("AppendAudit after the upgrade: %v", err)
	}
	// A session from before 0004 records no newest token: its first refresh, from any of
	// its tokens, is allowed and makes that one count.
	if err := s.RotateSessionToken(ctx, "s1", "j-old", "j-new"); err != nil {
		t.Errorf("first RotateSessionToken of a session made before 0004: %v", err)
	}
	if err := s.RotateSessionToken(ctx, "s1", "j-old", "j-other"); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("second refresh of the same token = %v, want ErrConflict", err)
	}
	if n, err := s.PruneSessions(ctx, time.UnixMilli(3001)); err != nil || n != 1 {
		t.Errorf("PruneSessions after the upgrade = %d, %v; want 1", n, err)
	}
	var indexes []string
	rows, err := s.DB().Query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	want := []string{
		"api_keys_expiry", "api_keys_tenant_created", "api_keys_untagged", "api_keys_user_created", "audit_events_tenant_at",
		"password_tokens_tenant", "project_roles_subject", "projects_tenant_created", "sessions_created",
		"sessions_revoked", "sessions_user", "team_members_user", "teams_tenant_created", "user_identities_user", "user_roles_role",
		"users_email", "users_tenant_created", "webhook_deliveries_due", "webhook_deliveries_endpoint", "webhook_endpoints_tenant",
	}
	if !slices.Equal(indexes, want) {
		t.Errorf("indexes after the upgrade = %v,\nwant %v", indexes, want)
	}
}
