package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrTargetNotEmpty is what CopyStore returns when the target already holds records.
var ErrTargetNotEmpty = errors.New("the target store is not empty")

// copyTable is one table CopyStore copies: its columns in a stable order (the SELECT's
// and the INSERT's), the ORDER BY that makes the copy deterministic, and which of its
// columns are booleans.
type copyTable struct {
	name    string
	columns []string
	orderBy string
	// bools are the boolean columns. SQLite keeps them as INTEGER 0/1 and PostgreSQL as
	// BOOLEAN, which will not take an integer: CopyStore scans them into a Go bool, which
	// each driver binds in its own form (SQLite 0/1, PostgreSQL true/false).
	bools map[string]bool
}

// copyTables are the tables CopyStore copies, in foreign key order: a row's references
// are copied before it. The change log and schema_migrations are not copied: the change
// log is for the nodes of the source store, and the target has run its own migrations.
var copyTables = []copyTable{
	{name: "tenants", columns: tenantColumns, orderBy: "uid"},
	{name: "tenant_settings", columns: tenantSettingsColumns, orderBy: "tenant_uid"},
	{name: "users", columns: userColumns, orderBy: "uid", bools: map[string]bool{"disabled": true}},
	{name: "password_tokens", columns: passwordTokenColumns, orderBy: "id"},
	{name: "oidc_configs", columns: oidcConfigColumns, orderBy: "tenant_uid"},
	{name: "user_identities", columns: identityColumns, orderBy: "tenant_uid, issuer, subject"},
	{name: "projects", columns: projectColumns, orderBy: "uid"},
	{name: "roles", columns: roleColumns, orderBy: "uid"},
	{name: "user_roles", columns: []string{"user_uid", "role_uid", "created_at"}, orderBy: "user_uid, role_uid"},
	{name: "teams", columns: teamColumns, orderBy: "uid"},
	{name: "team_members", columns: []string{"team_uid", "user_uid"}, orderBy: "team_uid, user_uid"},
	{name: "team_roles", columns: []string{"team_uid", "role_uid"}, orderBy: "team_uid, role_uid"},
	{name: "project_roles", columns: []string{"project_uid", "subject_kind", "subject_uid", "role_uid", "created_at"}, orderBy: "project_uid, subject_uid, role_uid"},
	{name: "api_keys", columns: apiKeyColumns, orderBy: "uid", bools: map[string]bool{"active": true, "tagged": true}},
	{name: "signing_keys", columns: signingKeyColumns, orderBy: "kid"},
	{name: "secrets", columns: secretColumns, orderBy: "name"},
	{name: "sessions", columns: sessionColumns, orderBy: "id"},
	{name: "audit_events", columns: auditColumns, orderBy: "id"},
	{name: "scim_tokens", columns: scimTokenColumns, orderBy: "tenant_uid"},
	{name: "scim_user_ids", columns: []string{"user_uid", "external_id"}, orderBy: "user_uid"},
	{name: "scim_team_ids", columns: []string{"team_uid", "external_id"}, orderBy: "team_uid"},
	{name: "webhook_endpoints", columns: webhookColumns, orderBy: "uid"},
	{name: "webhook_deliveries", columns: append(deliveryColumns, "lease_until"), orderBy: "uid"},
	{name: "key_reminders", columns: []string{"key_uid", "threshold", "sent_at"}, orderBy: "key_uid, threshold"},
}

// copyKeySample is how many API keys CopyStore looks up by digest in the target.
const copyKeySample = 50

// CopyReport is what CopyStore copied and checked.
type CopyReport struct {
	Tables      []TableCopy // in the order copied
	KeysChecked int         // API keys found by digest in the target with the same owner
}

// TableCopy is the rows copied into one table.
type TableCopy struct {
	Table string
	Rows  int64
}

// CopyStore copies every record of from into to, which must be empty: tenants, users,
// projects, roles, teams and their grants, API keys, signing keys, secrets (the API key
// tag's), sessions, audit events, tenant settings and pending password tokens, table by
// table in foreign key order. It reads from's read pool in one transaction, so that it
// copies one snapshot, and writes in one transaction of to's, so that the copy commits
// whole or not at all. Before committing it checks that every table holds as many rows
// as it read and that a sample of API keys is found by digest with the same owner.
//
// A target holding any row of those tables is refused with ErrTargetNotEmpty, and is
// left as it was. The two stores may be of different backends: their tables and columns
// are the same.
func CopyStore(ctx context.Context, from, to *Store) (CopyReport, error) {
	src, err := from.reads.BeginTx(ctx, nil)
	if err != nil {
		return CopyReport{}, fmt.Errorf("copy: begin reading the source: %w", err)
	}
	defer func() { _ = src.Rollback() }()

	var rep CopyReport
	err = to.inTx(ctx, func(tx *sql.Tx) error {
		// Bootstrap checks for an empty store under this lock too: a gateway starting on
		// the target cannot bootstrap a tenant beside the copy.
		if err := to.lock(ctx, tx, "bootstrap"); err != nil {
			return err
		}
		for _, t := range copyTables {
			n, err := to.countRows(ctx, tx, t.name)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: its %s table holds %d rows", ErrTargetNotEmpty, t.name, n)
			}
		}
		for _, t := range copyTables {
			n, err := copyRows(ctx, from, src, to, tx, t)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			rep.Tables = append(rep.Tables, TableCopy{Table: t.name, Rows: n})
		}
		checked, err := verifyCopy(ctx, from, src, &Store{reads: to.reads, writes: to.writes, tx: tx, d: to.d, now: to.now, closed: to.closed}, rep)
		rep.KeysChecked = checked
		return err
	})
	if err != nil {
		return CopyReport{}, err
	}
	return rep, nil
}

// copyRows copies table t from the source transaction into the target one and reports
// how many rows it copied.
func copyRows(ctx context.Context, from *Store, src *sql.Tx, to *Store, dst *sql.Tx, t copyTable) (int64, error) {
	rows, err := from.query(ctx, src, selectFrom(t.name, t.columns)+" ORDER BY "+t.orderBy)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	defer rows.Close()
	ins, err := dst.PrepareContext(ctx, to.d.Rebind(insertInto(t.name, t.columns)))
	if err != nil {
		return 0, fmt.Errorf("prepare insert: %w", err)
	}
	defer ins.Close()
	vals := make([]any, len(t.columns))
	dest := make([]any, len(t.columns))
	for i, c := range t.columns {
		if t.bools[c] {
			dest[i] = new(bool)
		} else {
			dest[i] = new(any)
		}
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("read row %d: %w", n+1, err)
		}
		for i, d := range dest {
			switch p := d.(type) {
			case *bool:
				vals[i] = *p
			case *any:
				vals[i] = *p
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("write row %d: %w", n+1, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read: %w", err)
	}
	return n, nil
}

// verifyCopy checks, inside the target's transaction (to runs on it), that every table
// holds as many rows as the source and as were copied, and that a sample of the source's
// API keys is found by digest in the target with the same key, user and tenant. It
// returns how many keys it checked.
func verifyCopy(ctx context.Context, from *Store, src *sql.Tx, to *Store, rep CopyReport) (int, error) {
	for _, c := range rep.Tables {
		want, err := from.countRows(ctx, src, c.Table)
		if err != nil {
			return 0, err
		}
		got, err := to.countRows(ctx, to.tx, c.Table)
		if err != nil {
			return 0, err
		}
		if want != c.Rows || got != c.Rows {
			return 0, fmt.Errorf("copy check: %s: the source holds %d rows, %d were copied, the target holds %d", c.Table, want, c.Rows, got)
		}
	}
	rows, err := from.query(ctx, src, fmt.Sprintf("SELECT uid, tenant_uid, user_uid, digest FROM api_keys ORDER BY uid LIMIT %d", copyKeySample))
	if err != nil {
		return 0, fmt.Errorf("copy check: read api keys: %w", err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var uid, tenant, user string
		var digest []byte
		if err := rows.Scan(&uid, &tenant, &user, &digest); err != nil {
			return checked, fmt.Errorf("copy check: read api keys: %w", err)
		}
		g, err := to.KeyGrantByDigest(ctx, digest)
		if err != nil {
			return checked, fmt.Errorf("copy check: api key %s: %w", uid, err)
		}
		if g.Key.UID != uid || g.Key.TenantUID != tenant || g.User.UID != user || g.User.TenantUID != tenant || !bytes.Equal(g.Key.Digest, digest) {
			return checked, fmt.Errorf("copy check: api key %s: the target has key %s of user %s in tenant %s", uid, g.Key.UID, g.User.UID, g.User.TenantUID)
		}
		checked++
	}
	if err := rows.Err(); err != nil {
		return checked, fmt.Errorf("copy check: read api keys: %w", err)
	}
	return checked, nil
}

// countRows counts the rows of table on q.
func (s *Store) countRows(ctx context.Context, q querier, table string) (int64, error) {
	var n int64
	if err := s.queryRow(ctx, q, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}
