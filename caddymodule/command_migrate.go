package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/sqlite"
	"github.com/keygate/keygate/storage/sqlstore"
)

// migrateCommand is `keygate migrate --from FILE --to DSN`, which copies a SQLite store
// into an empty PostgreSQL one. It names both stores itself rather than through a config:
// the config names one store, and a move has two.
func (c *cli) migrateCommand() *cobra.Command {
	var from, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "migrate --from FILE --to DSN [--force]",
		Short: "Copy a SQLite store into an empty PostgreSQL store (stop the gateways first)",
		Long: `
Copies every tenant, user, project, membership, API key, session, signing key and
audit event of the SQLite store FILE into the PostgreSQL database DSN, in one
transaction, and checks the copy. The PostgreSQL store must hold no records; its
schema is created or brought up to date first. FILE and DSN may use placeholders
such as {env.KEYGATE_POSTGRES_DSN}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "from", "to"); err != nil {
				return err
			}
			res, err := migrateSQLiteToPostgres(context.Background(), replaceKnown(from), replaceKnown(to), force)
			if err != nil {
				return err
			}
			return res.print(c.stdout, c.asJSON)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the SQLite store to copy")
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL DSN of the empty target store")
	cmd.Flags().BoolVar(&force, "force", false, "copy even while a process has the SQLite store open (its later writes are not copied)")
	return cmd
}

func replaceKnown(s string) string { return caddy.NewReplacer().ReplaceKnown(s, "") }

// migrateSQLiteToPostgres copies the SQLite store at path into the PostgreSQL store dsn
// names and reports what it copied.
func migrateSQLiteToPostgres(ctx context.Context, path, dsn string, force bool) (result, error) {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return result{}, fmt.Errorf("--from: no SQLite store at %s", path)
	}
	if !force {
		busy, err := sqlite.InUse(path)
		if err != nil {
			return result{}, err
		}
		if busy {
			return result{}, fmt.Errorf("%s is open in another process (a running gateway?): stop it first, or migrate with --force", path)
		}
	}
	src, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		return result{}, err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, postgres.Options{DSN: dsn})
	if err != nil {
		return result{}, err
	}
	defer dst.Close()
	rep, err := sqlstore.CopyStore(ctx, src.Store, dst.Store)
	if errors.Is(err, sqlstore.ErrTargetNotEmpty) {
		return result{}, fmt.Errorf("refusing to migrate: %v; migrate into a new database or schema", err)
	}
	if err != nil {
		return result{}, fmt.Errorf("migrate: nothing was copied: %w", err)
	}
	rows := [][]string{{"TABLE", "ROWS"}}
	type tableJSON struct {
		Table string `json:"table"`
		Rows  int64  `json:"rows"`
	}
	tables := make([]tableJSON, 0, len(rep.Tables))
	for _, t := range rep.Tables {
		rows = append(rows, []string{t.Table, fmt.Sprint(t.Rows)})
		tables = append(tables, tableJSON{t.Table, t.Rows})
	}
	return result{
		text: aligned(rows, "  ") + fmt.Sprintf("\ncopied %s into PostgreSQL; row counts match, %d API keys found by digest with the same owner", path, rep.KeysChecked),
		json: map[string]any{"from": path, "tables": tables, "keysChecked": rep.KeysChecked},
	}, nil
}
