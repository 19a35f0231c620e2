// Package sqlite is Keygate's embedded storage backend: a single SQLite file (pure Go,
// modernc.org/sqlite) in WAL mode, shared safely by a running gateway and CLI processes.
//
// A process writes through one connection, so that its writers queue in Go, and reads
// through a pool of others, which WAL lets read while a write is under way.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Defaults for the zero Options fields.
const (
	DefaultBusyTimeout     = 5 * time.Second
	DefaultPollInterval    = 200 * time.Millisecond
	DefaultChangeRetention = time.Hour
	DefaultPruneInterval   = time.Minute
)

// Options configure Open. Zero durations take the defaults above.
type Options struct {
	// Path is the database file; its directory is created (0700) if missing.
	Path string
	// BusyTimeout is how long a write waits for another process's writer (this process's
	// writers queue for its one writing connection, bound only by their contexts).
	// Default 5s.
	BusyTimeout time.Duration
	// PollInterval is how often Watch looks for changes committed elsewhere. Default 200ms.
	PollInterval time.Duration
	// ChangeRetention is how long the change log keeps a change. Default 1h.
	ChangeRetention time.Duration
	// PruneInterval is how often a running Watch prunes the change log. Default 1m.
	PruneInterval time.Duration
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.ChangeRetention <= 0 {
		o.ChangeRetention = DefaultChangeRetention
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = DefaultPruneInterval
	}
	return o
}

// Store is a storage.Store on one SQLite file.
type Store struct {
	*sqlstore.Store
	opts      Options
	closeOnce sync.Once
}

var _ storage.Store = (*Store)(nil)

// errClosed is what Watch returns when the store is closed under it.
var errClosed = errors.New("sqlite: store closed")

// Open opens (creating if needed) the database at o.Path and brings its schema up to date.
func Open(ctx context.Context, o Options) (*Store, error) {
	return openWithDialect(ctx, o, dialect{})
}

// openWithDialect is Open with a dialect of the caller's, so that tests can watch or
// stop the store at the dialect's hooks.
func openWithDialect(ctx context.Context, o Options, d sqlstore.Dialect) (*Store, error) {
	o = o.withDefaults()
	if o.Path == "" {
		return nil, errors.New("sqlite: open: no path given")
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create directory for %s: %w", o.Path, err)
	}
	pools, err := openPools(o)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", o.Path, err)
	}
	st, err := sqlstore.Open(ctx, pools, sqlstore.Backend{
		Name: "sqlite", Target: o.Path, Dialect: d, Migrations: migrationFiles,
	})
	if err != nil {
		return nil, err
	}
	countOpen(o.Path, 1)
	return &Store{Store: st, opts: o}, nil
}

// Close closes the store's connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { countOpen(s.opts.Path, -1) })
	return s.Store.Close()
}

// openPools opens the file's writing connection and its pool of readers. SQLite lets one
// connection write at a time; were every pooled connection to write, each would wait for
// the others in SQLite's busy handler, which polls rather than queues, and under many
// writers some waited past BusyTimeout and failed with SQLITE_BUSY.
func openPools(o Options) (sqlstore.Pools, error) {
	writes, err := sql.Open("sqlite", writerDSN(o))
	if err != nil {
		return sqlstore.Pools{}, err
	}
	writes.SetMaxOpenConns(1)
	reads, err := sql.Open("sqlite", readerDSN(o))
	if err != nil {
		writes.Close()
		return sqlstore.Pools{}, err
	}
	return sqlstore.Pools{Reads: reads, Writes: writes, PrepareReads: true}, nil
}

// writerDSN builds modernc's connection string for writing. The pragmas run on every new
// connection:
//   - WAL lets readers run alongside the one writer, across processes;
//   - synchronous(FULL) makes a reported commit survive a kill -9 or a power cut;
//   - foreign_keys(1) is off by default in SQLite;
//   - busy_timeout makes a writer wait for another process's instead of failing;
//   - _txlock=immediate takes the write lock at BEGIN, so a transaction never fails with
//     SQLITE_BUSY when it upgrades from reading to writing (busy_timeout does not cover that).
func writerDSN(o Options) string {
	q := url.Values{}
	q.Add("_pragma", busyTimeout(o))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return fileURI(o, q)
}

// readerDSN builds the connection string of the read pool, whose connections refuse to
// write (query_only), so that no write slips past the writing connection's queue. The
// busy_timeout covers the rare moments a WAL reader must wait too, such as while another
// process recovers the file after a crash. WAL mode is the file's, set by the writer.
func readerDSN(o Options) string {
	q := url.Values{}
	q.Add("_pragma", busyTimeout(o))
	q.Add("_pragma", "query_only(1)")
	return fileURI(o, q)
}

func busyTimeout(o Options) string {
	return fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds())
}

func fileURI(o Options, q url.Values) string {
	return "file:" + escapePath(o.Path) + "?" + q.Encode()
}

// escapePath escapes what a SQLite URI filename would misread: % starts an escape, ? the
// query and # a fragment.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(filepath.ToSlash(p))
}
