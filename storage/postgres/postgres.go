// Package postgres is Keygate's shared storage backend: PostgreSQL through pgx, for
// several gateway nodes that must agree on which credentials are valid. The queries are
// sqlstore's, shared with the SQLite backend; what is PostgreSQL's own is the dialect
// (placeholders, error codes, advisory locks), the schema, and Watch, which LISTENs for
// the notifications that the change log's trigger sends as each change commits.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Defaults for the zero Options fields.
const (
	DefaultMaxConns         = 10
	DefaultStatementTimeout = 5 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
	DefaultChangeRetention  = time.Hour
	DefaultPruneInterval    = time.Minute
	DefaultHealthInterval   = 10 * time.Second
	DefaultReconnectMax     = 2 * time.Second
)

// Options configure Open. Zero values take the defaults above.
type Options struct {
	// DSN is a PostgreSQL connection string, as a URL (postgres://user@host/db?...) or as
	// key=value pairs. Parameters it sets (connect_timeout, statement_timeout,
	// search_path, ...) win over the options below. Keygate's tables live in the first
	// schema of the search_path.
	DSN string
	// MaxConns is the most connections the pool opens, besides Watch's own. Default 10.
	MaxConns int
	// StatementTimeout is how long the server lets one statement run. Default 5s.
	StatementTimeout time.Duration
	// ConnectTimeout bounds establishing a connection. Default 5s.
	ConnectTimeout time.Duration
	// ChangeRetention is how long the change log keeps a change. Default 1h.
	ChangeRetention time.Duration
	// PruneInterval is how often a running Watch prunes the change log. Default 1m.
	PruneInterval time.Duration
	// HealthInterval is how long Watch waits for a notification before checking that its
	// connection is still alive, so that a silently dead one is noticed. Default 10s.
	HealthInterval time.Duration
	// ReconnectMax is the longest wait between Watch's attempts to reconnect; it starts
	// at a tenth of a second and doubles. Default 2s.
	ReconnectMax time.Duration
	// OnListen, if set, is told when Watch loses its listening connection or cannot
	// establish it (once, with the error, until it listens again) and when it listens
	// again after that (with nil), so that an operator hears of it. Default: nothing.
	OnListen func(err error)
}

func (o Options) withDefaults() Options {
	setDefault(&o.MaxConns, DefaultMaxConns)
	setDefault(&o.StatementTimeout, DefaultStatementTimeout)
	setDefault(&o.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&o.ChangeRetention, DefaultChangeRetention)
	setDefault(&o.PruneInterval, DefaultPruneInterval)
	setDefault(&o.HealthInterval, DefaultHealthInterval)
	setDefault(&o.ReconnectMax, DefaultReconnectMax)
	return o
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Store is a storage.Store on a PostgreSQL database.
type Store struct {
	*sqlstore.Store
	opts Options
	conn *pgx.ConnConfig // for Watch's dedicated connections
	db   *sql.DB         // the pool, for what is PostgreSQL's own (throttle counts)
	// connected is signalled when the pool opens a connection: the database answers.
	connected chan struct{}
}

var (
	_ storage.Store         = (*Store)(nil)
	_ storage.FailureCounts = (*Store)(nil)
)

// errClosed is what Watch returns when the store is closed under it.
var errClosed = errors.New("postgres: store closed")

// Open connects to the database named by o.DSN and brings its schema up to date. Nodes
// opening the same database at once are safe: migrations run under an advisory lock.
func Open(ctx context.Context, o Options) (*Store, error) {
	o = o.withDefaults()
	if o.DSN == "" {
		return nil, errors.New("postgres: open: no DSN given")
	}
	cfg, err := connConfig(o)
	if err != nil {
		return nil, err
	}
	// A connection the pool opens is to a server that takes writes (with
	// target_session_attrs=read-write, the primary): a listener waiting to reconnect tries
	// again at once rather than at the end of its backoff, so after a failover or an
	// outage it hears changes as soon as writes work.
	connected := make(chan struct{}, 1)
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(context.Context, *pgx.Conn) error {
		select {
		case connected <- struct{}{}:
		default:
		}
		return nil
	}))
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// One pool: PostgreSQL runs writers side by side, under the dialect's locks.
	st, err := sqlstore.Open(ctx, sqlstore.Pools{Reads: db, Writes: db}, sqlstore.Backend{
		Name: "postgres", Target: describe(cfg), Dialect: dialect{}, Migrations: migrationFiles,
	})
	if err != nil {
		return nil, err
	}
	return &Store{Store: st, opts: o, conn: cfg, db: db, connected: connected}, nil
}

// connConfig parses the DSN and fills in what it leaves unset.
func connConfig(o Options) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(o.DSN)
	if err != nil {
		// pgx's message quotes the DSN with the password masked, but only on a best-effort
		// basis for a DSN it cannot parse; say nothing of the DSN instead.
		return nil, errors.New("postgres: the DSN cannot be parsed; see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	if _, ok := cfg.RuntimeParams["statement_timeout"]; !ok {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "keygate"
	}
	return cfg, nil
}

// describe names a database for error messages, without its password.
func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
