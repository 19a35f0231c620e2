package caddymodule

import (
	"context"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/keygate/keygate/storage/sqlite"
)

// backupCommands are `keygate backup` and `keygate restore`, which work on the SQLite
// file the config names rather than through the service.
func (c *cli) backupCommands() []*cobra.Command {
	var to, from string
	var force bool
	backup := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Copy the SQLite store to a new file, consistently, while gateways run on it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "to"); err != nil {
				return err
			}
			return c.onSQLite(func(ctx context.Context, o sqlite.Options) (result, error) {
				if err := sqlite.Backup(ctx, o, to); err != nil {
					return result{}, err
				}
				return result{
					text: fmt.Sprintf("backed up %s to %s", o.Path, to),
					json: map[string]any{"store": o.Path, "backup": to},
				}, nil
			})
		},
	}
	backup.Flags().StringVar(&to, "to", "", "the backup file to create (it must not exist)")
	restore := &cobra.Command{
		Use:   "restore --from FILE [--force]",
		Short: "Replace the SQLite store with a backup (stop the gateways first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "from"); err != nil {
				return err
			}
			return c.onSQLite(func(ctx context.Context, o sqlite.Options) (result, error) {
				err := sqlite.Restore(ctx, o, from, force)
				if errors.Is(err, sqlite.ErrInUse) {
					return result{}, fmt.Errorf("%s is open in another process (a running gateway?): stop it first, or restore with --force and restart it", o.Path)
				}
				if err != nil {
					return result{}, err
				}
				return result{
					text: fmt.Sprintf("restored %s from %s; start the gateways", o.Path, from),
					json: map[string]any{"store": o.Path, "backup": from},
				}, nil
			})
		},
	}
	restore.Flags().StringVar(&from, "from", "", "the backup file to restore")
	restore.Flags().BoolVar(&force, "force", false, "replace the store even while a process has it open (restart that process after)")
	return []*cobra.Command{backup, restore}
}

// onSQLite runs fn on the SQLite store the config names, without opening it as a Store,
// and prints its result. PostgreSQL has its own tools for this.
func (c *cli) onSQLite(fn func(ctx context.Context, o sqlite.Options) (result, error)) error {
	ctx := context.Background()
	app, err := c.loadApp()
	if err != nil {
		return err
	}
	cctx, cancel := caddy.NewContext(caddy.Context{Context: ctx})
	defer cancel()
	backend, err := loadStorageBackend(cctx, app)
	if err != nil {
		return err
	}
	switch b := backend.(type) {
	case *SQLiteStorage:
		res, err := fn(ctx, sqlite.Options{Path: b.Path})
		if err != nil {
			return err
		}
		return res.print(c.stdout, c.asJSON)
	case *PostgresStorage:
		return errors.New("the store is PostgreSQL: back it up with pg_dump and restore it with pg_restore (see the README's \"Storage\")")
	default:
		return fmt.Errorf("backup and restore work on a SQLite store, not %T", backend)
	}
}
