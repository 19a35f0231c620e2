package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// TestBackupWhileWriting backs a store up while a writer keeps committing to it: the copy
// opens, passes the check and holds every key committed before the backup began.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	s := open(t, sqlite.Options{Path: path})
	for i := range 50 {
		mustSeed(t, s, fmt.Sprintf("pre-%d", i))
	}
	var committed atomic.Int64 // keys w-0 … w-(committed-1) are committed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := seed(ctx, s, fmt.Sprintf("w-%d", i)); err != nil {
				writeErr = err
				return
			}
			committed.Store(int64(i + 1))
		}
	}()
	// Let the writer get going, then back up while it runs.
	for committed.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	to := filepath.Join(t.TempDir(), "backup.db")
	before := committed.Load()
	if err := sqlite.Backup(ctx, sqlite.Options{Path: path}, to); err != nil {
		t.Fatal(err)
	}
	after := committed.Load()
	for committed.Load() < after+5 && writeErr == nil {
		time.Sleep(time.Millisecond) // the writer carries on after the backup too
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writer failed beside the backup: %v", writeErr)
	}
	t.Logf("%d keys committed before the backup began, %d by its end", before, after)

	if err := sqlite.Check(ctx, to); err != nil {
		t.Fatal(err)
	}
	b := open(t, sqlite.Options{Path: to})
	names := []string{"pre-0", "pre-49"}
	for i := range before {
		names = append(names, fmt.Sprintf("w-%d", i))
	}
	for _, name := range names {
		if _, err := b.KeyGrantByDigest(ctx, digestOf(name)); err != nil {
			t.Errorf("backup lacks %s, committed before it began: %v", name, err)
		}
	}
	if _, err := b.KeyGrantByDigest(ctx, digestOf(fmt.Sprintf("w-%d", after+4))); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("backup holds a key committed after it ended: %v", err)
	}
}

func TestBackupRefusesAnExistingFile(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	open(t, sqlite.Options{Path: path})
	to := filepath.Join(t.TempDir(), "there.db")
	if err := os.WriteFile(to, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := sqlite.Backup(ctx, sqlite.Options{Path: path}, to)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Backup onto an existing file: %v", err)
	}
	if body, _ := os.ReadFile(to); string(body) != "keep me" {
		t.Fatalf("the existing file was changed: %q", body)
	}
	if err := sqlite.Backup(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "none.db")}, filepath.Join(t.TempDir(), "b.db")); err == nil {
		t.Fatal("Backup of a missing store succeeded")
	}
	noTempFiles(t, filepath.Dir(to))
}

// TestRestoreRoundTrip backs up, changes the store, and restores: the store is as it was
// at the backup, even with a stale -wal of the old store lying beside it.
func TestRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, path, to := backedUp(t)
	mustSeed(t, s, "bob")
	// Keep the -wal holding bob's writes, as a store killed before its checkpoint leaves it.
	wal, err := os.ReadFile(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}

	// Refused while the store is open, here in this very process.
	if busy, err := sqlite.InUse(path); err != nil || !busy {
		t.Fatalf("InUse on an open store = %v, %v", busy, err)
	}
	if err := sqlite.Restore(ctx, sqlite.Options{Path: path}, to, false); !errors.Is(err, sqlite.ErrInUse) {
		t.Fatalf("Restore onto an open store: %v, want ErrInUse", err)
	}
	s.Close()
	if busy, err := sqlite.InUse(path); err != nil || busy {
		t.Fatalf("InUse on a closed store = %v, %v", busy, err)
	}
	if err := os.WriteFile(path+"-wal", wal, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.Restore(ctx, sqlite.Options{Path: path}, to, false); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left beside the restored store: %v", suffix, err)
		}
	}
	r := open(t, sqlite.Options{Path: path})
	if _, err := r.KeyGrantByDigest(ctx, digestOf("alice")); err != nil {
		t.Errorf("restored store lacks alice: %v", err)
	}
	if _, err := r.KeyGrantByDigest(ctx, digestOf("bob")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("restored store holds bob, added after the backup: %v", err)
	}
	// Without the key tag secret it backed up, the store would refuse every tagged key.
	if secret, err := r.KeyTagSecret(ctx, []byte("made after the restore"), time.Now()); err != nil || string(secret) != backedUpTagSecret {
		t.Errorf("restored store's key tag secret = %q, %v; want the one backed up", secret, err)
	}
	mustSeed(t, r, "carol") // and it takes writes
	if _, err := os.Stat(to); err != nil {
		t.Errorf("the backup is gone after the restore: %v", err)
	}

	// Forced, it replaces a store in use.
	if err := sqlite.Restore(ctx, sqlite.Options{Path: path}, to, true); err != nil {
		t.Fatalf("forced Restore: %v", err)
	}
}

func TestRestoreRefusesWhatIsNotAKeygateStore(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	s := open(t, sqlite.Options{Path: path})
	mustSeed(t, s, "alice")
	s.Close()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db") // a SQLite database, without Keygate's schema
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{junk, empty, filepath.Join(dir, "missing.db"), dir} {
		if err := sqlite.Restore(ctx, sqlite.Options{Path: path}, from, true); err == nil {
			t.Errorf("Restore from %s succeeded", from)
		}
	}
	noTempFiles(t, filepath.Dir(path))
	r := open(t, sqlite.Options{Path: path})
	if _, err := r.KeyGrantByDigest(ctx, digestOf("alice")); err != nil {
		t.Errorf("a refused restore changed the store: %v", err)
	}
}

// TestRestoreRefusesAStoreOpenInAnotherProcess holds the store open in a child process,
// idle, as a gateway between requests: InUse sees it through the -shm lock, and Restore
// refuses until the process is gone.
func TestRestoreRefusesAStoreOpenInAnotherProcess(t *testing.T) {
	ctx := context.Background()
	s, path, to := backedUp(t)
	s.Close()

	cmd := startHelper(t, path) // opens the store, adds "crash", and waits
	if busy, err := sqlite.InUse(path); err != nil || !busy {
		t.Fatalf("InUse with the store open in another process = %v, %v", busy, err)
	}
	if err := sqlite.Restore(ctx, sqlite.Options{Path: path}, to, false); !errors.Is(err, sqlite.ErrInUse) {
		t.Fatalf("Restore beside another process: %v, want ErrInUse", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if busy, err := sqlite.InUse(path); err != nil || busy {
		t.Fatalf("InUse once the other process is gone = %v, %v", busy, err)
	}
	if err := sqlite.Restore(ctx, sqlite.Options{Path: path}, to, false); err != nil {
		t.Fatal(err)
	}
	r := open(t, sqlite.Options{Path: path})
	if _, err := r.KeyGrantByDigest(ctx, digestOf("crash")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("restored store holds the key written after the backup: %v", err)
	}
}

// backedUp opens a store at a new path with "alice" (see seed), and backs it up to to.
// backedUpTagSecret is the key tag secret of the store backedUp backs up.
const backedUpTagSecret = "the key tag secret backed up"

func backedUp(t *testing.T) (s *sqlite.Store, path, to string) {
	t.Helper()
	path = tempPath(t)
	s = open(t, sqlite.Options{Path: path})
	mustSeed(t, s, "alice")
	if _, err := s.KeyTagSecret(context.Background(), []byte(backedUpTagSecret), time.Now()); err != nil {
		t.Fatal(err)
	}
	to = filepath.Join(t.TempDir(), "backup.db")
	if err := sqlite.Backup(context.Background(), sqlite.Options{Path: path}, to); err != nil {
		t.Fatal(err)
	}
	return s, path, to
}

// noTempFiles fails if Backup or Restore left a temporary file in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(dir, ".keygate-*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}
