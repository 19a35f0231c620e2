package caddymodule

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage/sqlite"
)

// startBootstrap runs bootstrap as a start does: on a freshly opened store.
func startBootstrap(t *testing.T, dbPath string, cfg *BootstrapAdmin) error {
	t.Helper()
	store, err := sqlite.Open(t.Context(), sqlite.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	return bootstrap(manage.Operator{Service: manage.NewService(manage.ServiceConfig{Store: store})}, cfg, zap.NewNop())
}

// A later start must not generate, stage or write a password: it would be thrown away.
// Its data directory here cannot be created, so any attempt to stage a file fails it.
func TestASecondStartWritesNoPasswordFile(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "kg.db")
	cfg := &BootstrapAdmin{Email: "admin@example.com"}
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "first"))
	if err := startBootstrap(t, dbPath, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(caddy.AppDataDir(), bootstrapPasswordFile)); err != nil {
		t.Fatalf("the first start wrote no password file: %v", err)
	}

	second := filepath.Join(dir, "second")
	if err := os.WriteFile(second, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_DATA_HOME", second) // a file: no data directory can exist below it
	if err := startBootstrap(t, dbPath, cfg); err != nil {
		t.Fatalf("the second start tried to write a password file: %v", err)
	}
}
