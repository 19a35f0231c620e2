package postgres_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// TestDumpRestoresIntoAFreshDatabase backs a populated store up as the README says, with
// pg_dump of its database or of its schema, restores that with pg_restore into a new
// database, and opens it: the keys are found by digest, it takes writes, and its change
// feed works.
func TestDumpRestoresIntoAFreshDatabase(t *testing.T) {
	base := pgtest.DSN(t)
	pgDump, pgRestore := pgTool(t, "pg_dump"), pgTool(t, "pg_restore")
	t.Run("own database", func(t *testing.T) {
		src := freshDatabase(t, base) // Keygate's tables in public
		dumpAndRestore(t, pgDump, pgRestore, src, src, "", func(target string) string { return target })
	})
	t.Run("schema", func(t *testing.T) {
		dsn := pgtest.Schema(t)
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		schema := cfg.RuntimeParams["search_path"]
		dumpAndRestore(t, pgDump, pgRestore, dsn, base, "--schema="+schema, func(target string) string {
			return pgtest.WithParam(target, "search_path", schema)
		})
	})
}

// dumpAndRestore populates the store at dsn, dumps the database libpqDSN names (which is
// dsn for libpq, without its pgx-only search_path) with pg_dump and the extra argument
// schemaArg, restores the dump into a fresh database, and checks the store that
// storeDSN(that database's DSN) opens.
func dumpAndRestore(t *testing.T, pgDump, pgRestore, dsn, libpqDSN, schemaArg string, storeDSN func(string) string) {
	ctx := context.Background()
	src := open(t, postgres.Options{DSN: dsn})
	seedUser(t, src, "acme")
	now := time.Now()
	digests := map[string][]byte{}
	for _, name := range []string{"one", "two"} {
		d := sha256.Sum256([]byte("kg_" + name))
		digests[name] = d[:]
		k := storage.APIKey{UID: "k-" + name, TenantUID: "acme", UserUID: "acme-admin", Name: name,
			Digest: d[:], Active: true, CreatedAt: now, UpdatedAt: now}
		if err := src.CreateAPIKey(ctx, k, 0); err != nil {
			t.Fatal(err)
		}
	}

	tagSecret := []byte("the key tag secret dumped")
	if _, err := src.KeyTagSecret(ctx, tagSecret, now); err != nil {
		t.Fatal(err)
	}

	dump := filepath.Join(t.TempDir(), "keygate.dump")
	args := []string{"--dbname=" + libpqDSN, "--format=custom", "--no-owner", "--file=" + dump}
	if schemaArg != "" {
		args = append(args, schemaArg)
	}
	run(t, pgDump, args...)
	target := freshDatabase(t, libpqDSN)
	run(t, pgRestore, "--dbname="+target, "--no-owner", "--exit-on-error", dump)

	r := open(t, postgres.Options{DSN: storeDSN(target)})
	for name, d := range digests {
		g, err := r.KeyGrantByDigest(ctx, d)
		if err != nil || g.Key.UID != "k-"+name || g.User.UID != "acme-admin" || !g.Key.Active {
			t.Errorf("key %s in the restored store: %+v, %v", name, g.Key, err)
		}
	}
	// Without the key tag secret it dumped, the store would refuse every tagged key.
	if secret, err := r.KeyTagSecret(ctx, []byte("made after the restore"), now); err != nil || string(secret) != string(tagSecret) {
		t.Errorf("restored store's key tag secret = %q, %v; want the one dumped", secret, err)
	}
	var migrations int
	if err := r.DB().QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&migrations); err != nil || migrations == 0 {
		t.Errorf("schema_migrations in the restored store: %d rows, %v", migrations, err)
	}
	ch := watchFor(t, r) // the NOTIFY trigger came along
	if c := next(t, ch); c.Kind != storage.ChangeResync {
		t.Fatalf("first batch = %+v, want a resync", c)
	}
	disable(t, r, "acme-admin")
	if c := next(t, ch); c.Kind != storage.ChangeUser || c.Ref != "acme-admin" {
		t.Errorf("change after the restore: %+v, want the user change", c)
	}
}

// pgTool finds a PostgreSQL client program, skipping the test without it unless the
// PostgreSQL tests are required.
func pgTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(pgtest.EnvRequire) != "" {
			t.Fatalf("%s is set but %s is not installed", pgtest.EnvRequire, name)
		}
		t.Skipf("SKIP: %s is not installed (it comes with PostgreSQL's client programs)", name)
	}
	return path
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(name), err, out)
	}
}

// freshDatabase creates an empty database on base's server, dropped when the test ends,
// and returns base with its database name replaced.
func freshDatabase(t *testing.T, base string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "kg_restore_" + hex.EncodeToString(b)
	admin(t, base, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, base, "DROP DATABASE "+name+" WITH (FORCE)") })
	if !strings.Contains(base, "://") {
		return base + " dbname=" + name
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func admin(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
