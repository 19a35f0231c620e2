package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the PostgreSQL backend. Syntax:
//
//	storage postgres <dsn> {
//		max_conns <n>
//		statement_timeout <duration>
//		connect_timeout <duration>
//	}
//
// The block is optional. Write the DSN as a placeholder, {env.KEYGATE_POSTGRES_DSN}, to
// keep its password out of the Caddyfile.
func (p *PostgresStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the backend name, "postgres"
	if !d.Args(&p.DSN) {
		return d.Err("storage postgres needs a DSN, e.g. `storage postgres {env.KEYGATE_POSTGRES_DSN}`")
	}
	if d.NextArg() {
		return d.Errf("storage postgres takes one DSN; found another argument %q (quote a DSN with spaces)", d.Val())
	}
	for d.NextBlock(0) {
		var err error
		switch opt := d.Val(); opt {
		case "max_conns":
			err = parsePositiveInt(d, &p.MaxConns)
		case "statement_timeout":
			err = parseDuration(d, &p.StatementTimeout)
		case "connect_timeout":
			err = parseDuration(d, &p.ConnectTimeout)
		default:
			return d.Errf("unknown storage postgres option %q (want max_conns, statement_timeout or connect_timeout)", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*PostgresStorage)(nil)
