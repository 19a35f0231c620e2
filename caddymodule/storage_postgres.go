package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres"
)

func init() {
	caddy.RegisterModule(PostgresStorage{})
}

// PostgresStorage keeps Keygate's data in PostgreSQL, for several gateway nodes that share
// one database: a change made on any node reaches every node's cache through LISTEN/NOTIFY.
type PostgresStorage struct {
	// DSN is the connection string, as a URL (postgres://user:pass@host:5432/db) or as
	// key=value pairs. Placeholders such as {env.KEYGATE_POSTGRES_DSN} are replaced, so the
	// password need not be in the config. Several hosts with
	// target_session_attrs=read-write (host=db1,db2 ... target_session_attrs=read-write)
	// follow a primary's failover to its promoted standby. Required.
	DSN string `json:"dsn,omitempty"`
	// MaxConns is the most connections a node opens to the database, besides the one it
	// listens on. Default 10.
	MaxConns int `json:"max_conns,omitempty"`
	// StatementTimeout is how long the server lets one statement run. Default 5s.
	StatementTimeout caddy.Duration `json:"statement_timeout,omitempty"`
	// ConnectTimeout bounds opening a connection. Default 5s.
	ConnectTimeout caddy.Duration `json:"connect_timeout,omitempty"`

	dsn    string // DSN with its placeholders replaced
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (PostgresStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "keygate.storage.postgres",
		New: func() caddy.Module { return new(PostgresStorage) },
	}
}

// Provision replaces the DSN's placeholders.
func (p *PostgresStorage) Provision(ctx caddy.Context) error {
	p.dsn = caddy.NewReplacer().ReplaceKnown(p.DSN, "")
	p.logger = ctx.Logger()
	return nil
}

// logListen tells the operator when this node stops hearing other nodes' changes, and
// when it hears them again. pgx's connection errors name the host and user, never the
// password.
func (p *PostgresStorage) logListen(err error) {
	keygateMetrics().changeFeed("postgres", err == nil)
	if err != nil {
		p.logger.Warn("lost the PostgreSQL change feed; reconnecting (changes made on other nodes meanwhile reach this node's cache when it is back, or after cache_ttl)", zap.Error(err))
		return
	}
	p.logger.Info("listening to the PostgreSQL change feed again; cache dropped")
}

// Validate checks the settings; it never repeats the DSN, which may hold a password.
func (p *PostgresStorage) Validate() error {
	switch {
	case p.dsn == "":
		return errors.New("keygate: storage postgres needs a DSN (is its environment variable set?)")
	case p.MaxConns < 0, p.StatementTimeout < 0, p.ConnectTimeout < 0:
		return errors.New("keygate: storage postgres: max_conns and timeouts must not be negative")
	}
	return nil
}

// StoreKey implements StorageBackend. It holds a hash of the DSN, not the DSN, so no
// password ends up in a pool key.
func (p *PostgresStorage) StoreKey() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%d|%d", p.dsn, p.MaxConns, p.StatementTimeout, p.ConnectTimeout))
	return "postgres:" + hex.EncodeToString(sum[:12])
}

// OpenStore implements StorageBackend. The change feed counts as up from the start: the
// listener reports only changes, the first of them being a failure to listen.
func (p *PostgresStorage) OpenStore(ctx context.Context) (storage.Store, error) {
	store, err := postgres.Open(ctx, postgres.Options{
		DSN:              p.dsn,
		MaxConns:         p.MaxConns,
		StatementTimeout: time.Duration(p.StatementTimeout),
		ConnectTimeout:   time.Duration(p.ConnectTimeout),
		OnListen:         p.logListen,
	})
	if err == nil {
		keygateMetrics().changeFeed("postgres", true)
	}
	return store, err
}

// Interface guards.
var (
	_ caddy.Provisioner = (*PostgresStorage)(nil)
	_ caddy.Validator   = (*PostgresStorage)(nil)
	_ StorageBackend    = (*PostgresStorage)(nil)
)
