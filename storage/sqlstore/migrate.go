package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migration is one NNNN_description.sql file.
type migration struct {
	version int64
	name    string
}

// Migrate applies the migrations in the root of migrations that schema_migrations does
// not list yet, in version order. Files are named NNNN_description.sql; each runs in its
// own transaction together with its schema_migrations row, so a failed migration leaves
// nothing behind and is retried next time. Statements in a file are separated by a ; at
// the end of a line.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, migrations fs.FS) error {
	list, err := listMigrations(migrations)
	if err != nil {
		return err
	}
	if err := createMigrationsTable(ctx, db, d); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, m := range list {
		if err := applyMigration(ctx, db, d, migrations, m); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// listMigrations returns the .sql files of fsys in version order. A .sql file that is not
// named NNNN_description.sql, or a version used twice, is an error rather than being
// skipped silently.
func listMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: read migrations: %w", err)
	}
	var list []migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		v, err := migrationVersion(e.Name())
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("migrate: %s and %s have the same version", prev, e.Name())
		}
		seen[v] = e.Name()
		list = append(list, migration{version: v, name: e.Name()})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	return list, nil
}

// migrationVersion parses the NNNN of NNNN_description.sql.
func migrationVersion(name string) (int64, error) {
	prefix, _, ok := strings.Cut(name, "_")
	v, err := strconv.ParseInt(prefix, 10, 64)
	if !ok || err != nil || v <= 0 {
		return 0, fmt.Errorf("migrate: %s: want a name like 0001_description.sql", name)
	}
	return v, nil
}

// createMigrationsTable creates schema_migrations under the "migrate" lock: PostgreSQL's
// CREATE TABLE IF NOT EXISTS is not safe against itself, and two nodes starting on an
// empty database would otherwise race on it (one fails with a duplicate pg_type row).
func createMigrationsTable(ctx context.Context, db *sql.DB, d Dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := lockTx(ctx, tx, d, "migrate"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations ("+
		"version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
		return err
	}
	return tx.Commit()
}

func applyMigration(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS, m migration) error {
	body, err := fs.ReadFile(fsys, m.name)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// The check runs under the lock (or SQLite's write lock) so that two processes
	// starting together do not both apply the same migration.
	if err := lockTx(ctx, tx, d, "migrate"); err != nil {
		return err
	}
	var n int64
	if err := tx.QueryRowContext(ctx, d.Rebind("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return fmt.Errorf("check schema_migrations: %w", err)
	}
	if n > 0 {
		return nil
	}
	for i, stmt := range splitStatements(string(body)) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.Rebind("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"),
		m.version, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// splitStatements splits a migration file into statements at each ; that ends a line.
// Statements made only of comments and blank lines are dropped. This is deliberately
// simple: our migrations hold no ; inside strings or bodies.
func splitStatements(body string) []string {
	var (
		stmts []string
		cur   strings.Builder
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); hasCode(s) {
			stmts = append(stmts, s)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, " \t\r")
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(line, ";") {
			flush()
		}
	}
	flush()
	return stmts
}

// hasCode reports whether a statement holds anything but -- comments and blank lines.
func hasCode(stmt string) bool {
	for _, line := range strings.Split(stmt, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "--") {
			return true
		}
	}
	return false
}
