package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/storage/sqlite"
)

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := open(t, sqlite.Options{Path: filepath.Join(dir, "keygate.db")})
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("created directory has mode %o, want 700", perm)
	}
}

// TestOpenBadPath checks that Open on an unusable path fails with an error naming it. The
// cases do not rely on permissions, which root ignores.
func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "not-a-database.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("garbage ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"parent is a file":   filepath.Join(file, "keygate.db"),
		"deeper under file":  filepath.Join(file, "sub", "keygate.db"),
		"path is a dir":      dir,
		"file is not SQLite": notDB,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", path)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("Open(%s) error %q does not name the path", path, err)
			}
		})
	}
	if _, err := sqlite.Open(context.Background(), sqlite.Options{}); err == nil {
		t.Error("Open with no path succeeded")
	}
}

// TestReopen checks that reopening an existing file keeps its data and does not re-run
// migrations.
func TestReopen(t *testing.T) {
	path := tempPath(t)
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	k := mustSeed(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, sqlite.Options{Path: path})
	if _, err := s.KeyGrantByDigest(context.Background(), k.Digest); err != nil {
		t.Fatalf("key after reopening: %v", err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) < 2 {
		t.Fatalf("migration files = %v, %v; want at least 2", files, err)
	}
	var n int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(files) {
		t.Errorf("schema_migrations has %d rows, want %d (one per migration file)", n, len(files))
	}
}

// TestOpenPathNeedingEscapes uses characters that mean something in a SQLite URI.
func TestOpenPathNeedingEscapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?#% name.db")
	s := open(t, sqlite.Options{Path: path})
	mustSeed(t, s, "alice")
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the path given: %v", err)
	}
}
