package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
)

// ErrInUse is what Restore returns, without force, when a process has the target open.
var ErrInUse = errors.New("the store is open in another process (a running gateway?)")

// Backup writes a consistent copy of the store at o.Path to the new file to, while other
// processes go on reading and writing it: SQLite's VACUUM INTO copies what one read
// transaction sees, so the copy holds every transaction committed before it began and
// none of those that commit while it runs. The copy is written beside to, synced, and
// linked into place, so to is either absent or complete. Backup refuses to replace a
// file that exists, and checks the copy as Restore would.
func Backup(ctx context.Context, o Options, to string) error {
	o = o.withDefaults()
	if _, err := os.Stat(o.Path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("sqlite: backup: %s already exists; choose a new file", to)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	tmp, err := tempName(to, ".keygate-backup-")
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer os.Remove(tmp)
	if err := vacuumInto(ctx, o, tmp); err != nil {
		return fmt.Errorf("sqlite: backup %s: %w", o.Path, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := check(ctx, tmp, to); err != nil {
		return fmt.Errorf("sqlite: backup: the copy fails its check: %w", err)
	}
	// A link, unlike a rename, fails if to appeared meanwhile.
	if err := os.Link(tmp, to); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("sqlite: backup: %s already exists; choose a new file", to)
		}
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return syncDir(filepath.Dir(to))
}

// vacuumInto runs VACUUM INTO on a connection of its own. It cannot be a read-pool
// connection: query_only forbids writing even the new file.
func vacuumInto(ctx context.Context, o Options, to string) error {
	q := url.Values{}
	q.Add("_pragma", busyTimeout(o))
	db, err := sql.Open("sqlite", fileURI(o, q))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", to)
	return err
}

// Check tells whether the file at path is a Keygate SQLite store this version can open:
// it opens, PRAGMA integrity_check is ok, and schema_migrations lists Keygate's first
// migrations in order and none this version does not know (an older store is migrated
// when it is opened). It opens the file read-only.
func Check(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return check(ctx, path, path)
}

// check is Check on the file at path, naming it name in its errors.
func check(ctx context.Context, path, name string) error {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", busyTimeout(Options{}.withDefaults()))
	db, err := sql.Open("sqlite", fileURI(Options{Path: path}, q))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("%s is not a SQLite database: %w", name, err)
	}
	if result != "ok" {
		return fmt.Errorf("%s fails SQLite's integrity check: %s", name, result)
	}
	have, err := appliedVersions(ctx, db)
	if err != nil {
		return fmt.Errorf("%s is not a Keygate store: %w", name, err)
	}
	known, err := migrationVersions()
	if err != nil {
		return err
	}
	if len(have) == 0 || len(have) > len(known) || !slices.Equal(have, known[:len(have)]) {
		return fmt.Errorf("%s is not a Keygate store this version knows (migrations %v, want the first of %v)", name, have, known)
	}
	return nil
}

func appliedVersions(ctx context.Context, db *sql.DB) ([]int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// migrationVersions lists the versions of the embedded migrations, in order.
func migrationVersions() ([]int64, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var vs []int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs, nil
}

// Restore replaces the store at o.Path with the Keygate store in the file from, which it
// leaves as it is. It copies from beside the target, turns the copy from WAL mode into
// SQLite's rollback mode (a copy of a stopped store's file may be in WAL mode; the first
// Open turns WAL back on), syncs and checks it (see Check), and renames it into place,
// so the target is always either the old store or the whole new one. The old store's
// -wal and -shm files go first: SQLite would otherwise apply the old store's last writes
// to the restored one.
//
// Unless force is set, it refuses with ErrInUse while any process, this one included, has
// the target open (see InUse). Forced, it replaces a store that is in use: the processes
// that have it open go on with the old, deleted file and must be restarted.
func Restore(ctx context.Context, o Options, from string, force bool) error {
	o = o.withDefaults()
	if fi, err := os.Stat(from); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("sqlite: restore: %s is not a regular file", from)
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o700); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	tmp, err := tempName(o.Path, ".keygate-restore-")
	if err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	defer os.Remove(tmp)
	if err := copyFile(from, tmp); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	if err := rollbackMode(ctx, tmp); err != nil {
		return fmt.Errorf("sqlite: restore: %s is not a SQLite database: %w", from, err)
	}
	if err := check(ctx, tmp, from); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	if !force {
		busy, err := InUse(o.Path)
		if err != nil {
			return fmt.Errorf("sqlite: restore: %w", err)
		}
		if busy {
			return fmt.Errorf("sqlite: restore %s: %w", o.Path, ErrInUse)
		}
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(o.Path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite: restore: %w", err)
		}
	}
	if err := os.Rename(tmp, o.Path); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	return syncDir(filepath.Dir(o.Path))
}

// rollbackMode sets the file at path, which no one else has open, to SQLite's rollback
// journal mode, and syncs it. SQLite removes the -wal and -shm files it makes on the way
// when the connection closes.
func rollbackMode(ctx context.Context, path string) error {
	q := url.Values{}
	q.Add("_pragma", busyTimeout(Options{}.withDefaults()))
	db, err := sql.Open("sqlite", fileURI(Options{Path: path}, q))
	if err != nil {
		return err
	}
	var mode string
	err = db.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if mode != "delete" {
		return fmt.Errorf("journal mode stayed %q", mode)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return syncFile(path)
}

// tempName reserves a new, empty file beside path and returns its name. VACUUM INTO
// writes into an empty file as into a missing one.
func tempName(path, prefix string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), prefix+"*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// copyFile copies from into the existing file to, unsynced: rollbackMode syncs it.
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func syncFile(path string) error { return syncPath(path, os.O_RDWR) }

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // Windows cannot open a directory to sync it; NTFS journals the rename
	}
	if err := syncPath(dir, os.O_RDONLY); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", dir, err)
	}
	return nil
}

func syncPath(path string, flag int) error {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
