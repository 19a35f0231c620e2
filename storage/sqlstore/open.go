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

// Open returns a Store on p, which the backend has opened, once the database has
// answered and its schema is up to date, so that a database that cannot be reached or
// used fails here, by name, rather than at the first request. On error it closes p.
func Open(ctx context.Context, p Pools, b Backend) (*Store, error) {
	if err := prepare(ctx, p, b); err != nil {
		_ = closePools(p)
		return nil, fmt.Errorf("%s: open %s: %w", b.Name, b.Target, err)
	}
	return New(p, b.Dialect), nil
}

// prepare checks that the pools answer (database/sql connects lazily), the writer's
// first, as its connection sets a SQLite file up (WAL) for the readers, and migrates.
func prepare(ctx context.Context, p Pools, b Backend) error {
	for _, db := range []*sql.DB{p.Writes, p.Reads} {
		if err := db.PingContext(ctx); err != nil {
			return err
		}
	}
	migrations, err := fs.Sub(b.Migrations, "migrations")
	if err != nil {
		return err
	}
	return Migrate(ctx, p.Writes, b.Dialect, migrations)
}
