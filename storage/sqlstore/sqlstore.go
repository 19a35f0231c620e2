// Package sqlstore holds the SQL that the SQLite and PostgreSQL backends share: queries,
// transactions, scanning and migrations, on a *sql.DB. What differs between the two
// databases goes through the small Dialect seam.
//
// Queries are written with ? placeholders and portable SQL only: times are BIGINT Unix
// milliseconds, booleans are scanned into bool, hex encoding is done in Go.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keygate/keygate/storage"
)

// Dialect is what differs between the databases sqlstore runs on.
type Dialect interface {
	// Rebind turns a query written with ? placeholders into the database's own form.
	Rebind(query string) string
	// IsUniqueViolation reports whether err is a unique or primary key violation.
	IsUniqueViolation(err error) bool
	// IsForeignKeyViolation reports whether err is a foreign key violation.
	IsForeignKeyViolation(err error) bool
}

// TxLocker is an optional Dialect extension for databases whose transactions do not
// serialise writers by themselves (PostgreSQL at READ COMMITTED). Lock must block until
// no other transaction holds the lock of that name and hold it until this one ends, e.g.
// with pg_advisory_xact_lock. sqlstore takes these names:
//   - "migrate": first thing in each migration's transaction, and in the one that creates
//     schema_migrations;
//   - "bootstrap": before Bootstrap checks that no tenant exists;
//   - "tenant-admins/<tenant uid>": before ActiveTenantAdmins counts a tenant's admins;
//   - "changes": before each insert into the change log, so that those transactions
//     commit in seq order (it may be taken several times in one transaction).
//
// SQLite needs none: its write transactions already run one at a time.
type TxLocker interface {
	Lock(ctx context.Context, tx *sql.Tx, name string) error
}

// RowLocker is an optional Dialect extension for databases that lock rows on request
// (PostgreSQL's SELECT ... FOR UPDATE). sqlstore uses it where a transaction must keep a
// row from changing between reading and acting on it; SQLite's single writer already does.
type RowLocker interface {
	// ForUpdate returns query, a SELECT, made to lock the rows it reads.
	ForUpdate(query string) string
}

// Store implements every storage.Store method except Watch, which each backend does its
// own way.
type Store struct {
	reads     *sql.DB     // queries outside transactions
	writes    *sql.DB     // every write and every transaction
	tx        *sql.Tx     // set on the Store that Update hands its callback
	prepared  *statements // reads' prepared statements; nil when Pools.PrepareReads is off
	d         Dialect
	now       func() time.Time // sets UpdatedAt and change times
	closed    chan struct{}    // closed by Close, so that backends' running Watch calls return
	closeOnce sync.Once
}

// Pools are the database handles a Store runs on: Reads for queries outside
// transactions, Writes for every write and every transaction. They may be one pool, for
// a database whose writers run side by side (PostgreSQL, under the TxLocker and
// RowLocker locks). SQLite lets one writer in at a time: there Writes has one
// connection, so that writers queue in Go (each as long as its context allows) rather
// than retry in SQLite's busy handler until its timeout, and Reads, which WAL lets read
// beside the writer, never wait for writers.
type Pools struct {
	Reads, Writes *sql.DB
	// PrepareReads prepares each query run on Reads once, for databases whose driver
	// parses a query on every run (SQLite); pgx keeps its own statement cache.
	PrepareReads bool
}

// New returns a Store running its queries on p in dialect d. The schema must already be
// migrated.
func New(p Pools, d Dialect) *Store {
	s := &Store{reads: p.Reads, writes: p.Writes, d: d, now: time.Now, closed: make(chan struct{})}
	if p.PrepareReads {
		s.prepared = newStatements(p.Reads)
	}
	return s
}

// DB returns the handle reads run on.
func (s *Store) DB() *sql.DB { return s.reads }

// Ping reports whether the database can answer. It asks the read pool, so that a health
// check does not queue behind writes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reads.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close signals Closed and closes the pools.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	var stmts error
	if s.prepared != nil {
		stmts = s.prepared.close()
	}
	return errors.Join(stmts, closePools(Pools{Reads: s.reads, Writes: s.writes}))
}

// closePools closes each distinct pool of p.
func closePools(p Pools) error {
	if p.Reads == p.Writes {
		return p.Writes.Close()
	}
	return errors.Join(p.Reads.Close(), p.Writes.Close())
}

// Closed is closed when the store is, so that a backend's Watch can return.
func (s *Store) Closed() <-chan struct{} { return s.closed }

// querier is what *sql.DB and *sql.Tx have in common, so queries run alike on both.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.d.Rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	query = s.d.Rebind(query)
	if st := s.statement(ctx, q, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.QueryContext(ctx, query, args...)
}

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	query = s.d.Rebind(query)
	if st := s.statement(ctx, q, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

// statement is query prepared when it runs on the read pool and reads are prepared,
// else nil.
func (s *Store) statement(ctx context.Context, q querier, query string) *sql.Stmt {
	if s.prepared == nil || q != querier(s.reads) {
		return nil
	}
	return s.prepared.get(ctx, query)
}

// execCount runs query on q and reports how many rows it affected; what names it in
// errors.
func (s *Store) execCount(ctx context.Context, q querier, what, query string, args ...any) (int64, error) {
	res, err := s.exec(ctx, q, query, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

// reader is where a query runs: Update's transaction, else the read pool.
func (s *Store) reader() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.reads
}

// writer is where a write outside inTx runs: Update's transaction, else the write pool.
func (s *Store) writer() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.writes
}

// Update runs fn in one transaction, committing if it returns nil and rolling back
// otherwise, so that every change made through the storage.Tx it gets, and the audit
// rows written with them, commit together or not at all. Reads through that Tx run in
// the transaction too, so they see its changes. The Tx must not be used after fn returns.
func (s *Store) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return fn(&Store{reads: s.reads, writes: s.writes, tx: tx, d: s.d, now: s.now, closed: s.closed})
	})
}

// inTx runs fn in a transaction, committing if it returns nil and rolling back otherwise;
// inside Update it runs fn in Update's transaction. fn must write through its
// transaction only: on SQLite the transaction holds the one writing connection, so a
// write on s.writes from fn would wait for the transaction itself until ctx ends.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	tx, err := s.writes.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// Rollback after a successful Commit is a harmless no-op; deferring it also covers
	// panics in fn.
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// lock takes the dialect's named transaction lock, if it has one.
func (s *Store) lock(ctx context.Context, tx *sql.Tx, name string) error {
	return lockTx(ctx, tx, s.d, name)
}

func lockTx(ctx context.Context, tx *sql.Tx, d Dialect, name string) error {
	l, ok := d.(TxLocker)
	if !ok {
		return nil
	}
	if err := l.Lock(ctx, tx, name); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}

// forUpdate makes a SELECT lock its rows where the dialect can.
func (s *Store) forUpdate(query string) string {
	if l, ok := s.d.(RowLocker); ok {
		return l.ForUpdate(query)
	}
	return query
}

// notFound maps sql.ErrNoRows to storage.ErrNotFound; any other error is wrapped as is so
// that callers treat it as "store unavailable", never as "no such record".
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// mustAffect returns ErrNotFound when an update touched no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: rows affected: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	return nil
}

// uniqueRule names one uniqueness rule of a table and how to tell whether a value breaks
// it, so that a conflict error can say what conflicted.
type uniqueRule struct {
	what  string // e.g. `tenant name "acme"`
	query string // selects a row when the value is taken
	args  []any
}

// writeError turns a failed insert into ErrConflict (saying which rule broke), ErrNotFound
// (a referenced record is missing: missing) or a wrapped driver error.
func (s *Store) writeError(ctx context.Context, op string, err error, missing string, rules ...uniqueRule) error {
	switch {
	case s.d.IsUniqueViolation(err):
		return s.conflict(ctx, op, rules)
	case missing != "" && s.d.IsForeignKeyViolation(err):
		return fmt.Errorf("%s: %s: %w", op, missing, storage.ErrNotFound)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// conflict finds which rule the failed write broke. It queries outside the failed
// transaction (PostgreSQL refuses statements in an aborted one), on the read pool (on
// SQLite the transaction may still hold the writing connection); a race here only makes
// the message vaguer.
func (s *Store) conflict(ctx context.Context, op string, rules []uniqueRule) error {
	for _, r := range rules {
		var one int
		if s.queryRow(ctx, s.reads, r.query, r.args...).Scan(&one) == nil {
			return fmt.Errorf("%s: %s taken: %w", op, r.what, storage.ErrConflict)
		}
	}
	return fmt.Errorf("%s: %w", op, storage.ErrConflict)
}
