package caddymodule

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
)

// bootstrapPasswordFile is where a generated first-admin password is written, under
// Caddy's data directory.
const bootstrapPasswordFile = "keygate-admin-password"

// bootstrap creates the first tenant and admin on an empty store.
// It acts as the operator, so the creation is audited.
func bootstrap(admin manage.Operator, cfg *BootstrapAdmin, logger *zap.Logger) error {
	if cfg == nil {
		return nil
	}
	repl := caddy.NewReplacer()
	email := repl.ReplaceKnown(cfg.Email, "")
	password := &firstPassword{configured: repl.ReplaceKnown(cfg.Password, "")}
	defer password.discard()
	created, err := admin.Bootstrap(context.Background(), email, password.get)
	if err != nil {
		return fmt.Errorf("bootstrap_admin: %w", err)
	}
	if !created {
		logger.Debug("store already has a tenant; bootstrap_admin skipped")
		return nil
	}
	fields := []zap.Field{zap.String("tenant", manage.BootstrapTenant), zap.String("email", email)}
	if password.staged != nil {
		path, err := password.staged.commit()
		if err != nil {
			return fmt.Errorf("bootstrap_admin: %w", err)
		}
		fields = append(fields, zap.String("password_file", path))
	}
	logger.Info("created the first tenant and its tenant admin", fields...)
	return nil
}

// firstPassword is the first admin's password, made only when Bootstrap asks for it: the
// configured one, or else a generated one, staged in its file before the user exists so
// that no crash can lose it.
type firstPassword struct {
	configured string
	staged     *passwordFile // the generated password's file, once made
}

func (p *firstPassword) get() (string, error) {
	if p.configured != "" {
		return p.configured, nil
	}
	generated := authcore.RandomPassword()
	staged, err := stagePasswordFile(generated)
	if err != nil {
		return "", err
	}
	p.staged = staged
	return generated, nil
}

// discard removes a staged file that was not committed.
func (p *firstPassword) discard() {
	if p.staged != nil {
		p.staged.discard()
	}
}

// passwordFile is a generated password staged in a temporary file beside its final name.
type passwordFile struct{ tmp, final string }

func stagePasswordFile(password string) (*passwordFile, error) {
	dir := caddy.AppDataDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, bootstrapPasswordFile+".*.tmp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// CreateTemp makes the file 0600: readable only by its owner.
	if _, err := f.WriteString(password + "\n"); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return &passwordFile{tmp: f.Name(), final: filepath.Join(dir, bootstrapPasswordFile)}, nil
}

func (p *passwordFile) commit() (string, error) {
	if err := os.Rename(p.tmp, p.final); err != nil {
		return "", err
	}
	p.tmp = ""
	return p.final, nil
}

func (p *passwordFile) discard() {
	if p.tmp != "" {
		os.Remove(p.tmp)
	}
}
