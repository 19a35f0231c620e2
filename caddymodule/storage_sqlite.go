package caddymodule

import (
	"context"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

func init() {
	caddy.RegisterModule(SQLiteStorage{})
}

// SQLiteStorage keeps Keygate's data in an embedded SQLite database: the default, for a
// single gateway node.
type SQLiteStorage struct {
	// Path of the database file. Placeholders such as {env.X} are replaced; a relative path
	// is relative to the working directory. Default: keygate.db in Caddy's data directory.
	Path string `json:"path,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (SQLiteStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "keygate.storage.sqlite",
		New: func() caddy.Module { return new(SQLiteStorage) },
	}
}

// Provision resolves the path.
func (s *SQLiteStorage) Provision(caddy.Context) error {
	s.Path = resolveSQLitePath(s.Path)
	return nil
}

func resolveSQLitePath(p string) string {
	p = caddy.NewReplacer().ReplaceKnown(p, "")
	if p == "" {
		p = filepath.Join(caddy.AppDataDir(), "keygate.db")
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// StoreKey implements StorageBackend.
func (s *SQLiteStorage) StoreKey() string { return "sqlite:" + s.Path }

// OpenStore implements StorageBackend.
func (s *SQLiteStorage) OpenStore(ctx context.Context) (storage.Store, error) {
	return sqlite.Open(ctx, sqlite.Options{Path: s.Path})
}

// Interface guards.
var (
	_ caddy.Provisioner = (*SQLiteStorage)(nil)
	_ StorageBackend    = (*SQLiteStorage)(nil)
)
