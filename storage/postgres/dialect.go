package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keygate/keygate/storage/sqlstore"
)

// SQLSTATE codes of the constraint violations sqlstore tells apart.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// dialect is PostgreSQL's sqlstore.Dialect, with the TxLocker and RowLocker extensions:
// at READ COMMITTED, transactions do not serialise writers by themselves.
type dialect struct{}

var (
	_ sqlstore.Dialect   = dialect{}
	_ sqlstore.TxLocker  = dialect{}
	_ sqlstore.RowLocker = dialect{}
)

func (dialect) Rebind(query string) string { return sqlstore.RebindDollar(query) }

func (dialect) IsUniqueViolation(err error) bool { return sqlState(err) == uniqueViolation }

func (dialect) IsForeignKeyViolation(err error) bool { return sqlState(err) == foreignKeyViolation }

// Lock takes a transaction-scoped advisory lock, released when the transaction ends. The
// lock's 64-bit key is a hash of the name, so Keygate's locks cannot clash with those of
// another application that uses small integer keys.
func (dialect) Lock(ctx context.Context, tx *sql.Tx, name string) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "keygate/"+name)
	return err
}

// ForUpdate locks the rows a SELECT reads until the transaction ends.
func (dialect) ForUpdate(query string) string { return query + " FOR UPDATE" }

// sqlState returns the SQLSTATE of a PostgreSQL error in err, or "".
func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
