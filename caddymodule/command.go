package caddymodule

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "keygate",
		Usage: "<tenant|user|project|team|role|apikey|audit> <action> [--config <path>] [--json]",
		Short: "Manages Keygate tenants, users, projects, teams, roles and API keys, and reads the audit log",
		Long: `
Manages the Keygate store named by a Caddy config, as 'caddy run' would find it
(--config, else ./Caddyfile). Changes take effect in a running gateway within about
a second. With --json, results are printed as JSON with the REST API's field names.`,
		CobraFunc: buildCLI,
	})
}

// cli holds what every subcommand shares.
type cli struct {
	configFile string
	adapter    string
	asJSON     bool
	stdin      io.Reader
	stdout     io.Writer
}

func buildCLI(cmd *cobra.Command) {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&c.configFile, "config", "c", "", "Caddy config that names the store (default: ./Caddyfile)")
	pf.StringVarP(&c.adapter, "adapter", "a", "", "config adapter (default: caddyfile unless the file ends in .json)")
	pf.BoolVar(&c.asJSON, "json", false, "print results as JSON")
	cmd.AddCommand(c.groups()...)
}

// groups are the command groups, as "keygate user ...", backup and restore, and migrate.
func (c *cli) groups() []*cobra.Command {
	return append(append([]*cobra.Command{c.tenantCommands(), c.userCommands(), c.projectCommands(), c.teamCommands(), c.roleCommands(), c.apikeyCommands(), c.webhookCommands(), c.auditCommands()}, c.backupCommands()...), c.migrateCommand())
}

// WithTopLevelCommands is args (as os.Args) with "keygate" inserted before a command
// group named first, so that a binary of its own offers "keygate apikey list" as well as
// Caddy's "keygate keygate apikey list"; other args are returned as they are.
func WithTopLevelCommands(args []string) []string {
	if len(args) > 1 {
		for _, g := range new(cli).groups() {
			if g.Name() == args[1] {
				return slices.Insert(slices.Clone(args), 1, "keygate")
			}
		}
	}
	return args
}

// run opens the store, runs fn with an operator service, and prints its result.
func (c *cli) run(fn func(ctx context.Context, ad manage.Operator) (result, error)) error {
	ctx := context.Background()
	app, err := c.loadApp()
	if err != nil {
		return err
	}
	store, err := c.openStore(ctx, app)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := fn(ctx, manage.Operator{Service: app.newService(store, nil, nil), OSUser: osUser()})
	if err != nil {
		return cliError(err)
	}
	return res.print(c.stdout, c.asJSON)
}

// cliError keeps errors to one line without internal wrapping.
func cliError(err error) error {
	var e *authcore.Error
	if errors.As(err, &e) {
		return errors.New(e.Detail())
	}
	return err
}

// openStore opens the keygate app's store.
func (c *cli) openStore(ctx context.Context, app *App) (storage.Store, error) {
	cctx, cancel := caddy.NewContext(caddy.Context{Context: ctx})
	defer cancel()
	backend, err := loadStorageBackend(cctx, app)
	if err != nil {
		return nil, err
	}
	return backend.OpenStore(ctx)
}

// loadApp reads the keygate app's settings from the config file.
func (c *cli) loadApp() (*App, error) {
	path := c.configFile
	if path == "" {
		path = "Caddyfile"
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	adapter := c.adapter
	if adapter == "" && !strings.EqualFold(filepath.Ext(path), ".json") {
		adapter = "caddyfile"
	}
	if adapter != "" {
		a := caddyconfig.GetAdapter(adapter)
		if a == nil {
			return nil, fmt.Errorf("unknown config adapter %q", adapter)
		}
		if body, _, err = a.Adapt(body, map[string]any{"filename": path}); err != nil {
			return nil, fmt.Errorf("adapting %s: %w", path, err)
		}
	}
	var cfg struct {
		Apps map[string]json.RawMessage `json:"apps"`
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		return nil, fmt.Errorf("parsing config %s: %w", path, err)
	}
	app := new(App)
	if raw := cfg.Apps["keygate"]; raw != nil {
		if err := json.Unmarshal(raw, app); err != nil {
			return nil, fmt.Errorf("parsing the keygate app in %s: %w", path, err)
		}
	}
	return app, nil
}

// readPassword reads one line from standard input.
func (c *cli) readPassword() (string, error) {
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("--password-stdin: standard input held no password")
	}
	return line, nil
}

// requireFlags fails with one line naming the first missing flag.
func requireFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if v, _ := cmd.Flags().GetString(n); v == "" {
			return fmt.Errorf("--%s is required", n)
		}
	}
	return nil
}
