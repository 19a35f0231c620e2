package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
)

// Backend is what Open needs to know of the backend it opens a database for.
type Backend struct {
	// Name starts Open's errors, e.g. "sqlite".
	Name string
	// Target names the database in Open's errors, e.g. its path. It must hold no password.
	Target string
	// Dialect is the database's own SQL.
	Dialect Dialect
	// Migrations holds the schema as migrations/NNNN_description.sql (see Migrate), the
	// layout in which a backend embeds it.
	Migrations fs.FS
}

// Open returns a Store on db, which the backend has opened, once the database has
// answered and its schema is up to date, so that a database that cannot be reached or
// used fails here, by name, rather than at the first request. On error it closes db.
func Open(ctx context.Context, db *sql.DB, b Backend) (*Store, error) {
	if err := prepare(ctx, db, b); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: open %s: %w", b.Name, b.Target, err)
	}
	return New(db, b.Dialect), nil
}

// prepare checks that db answers (database/sql connects lazily) and migrates it.
func prepare(ctx context.Context, db *sql.DB, b Backend) error {
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	migrations, err := fs.Sub(b.Migrations, "migrations")
	if err != nil {
		return err
	}
	return Migrate(ctx, db, b.Dialect, migrations)
}
