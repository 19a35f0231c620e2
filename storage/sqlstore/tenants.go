package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var (
	selectTenant     = selectFrom("tenants", tenantColumns)
	insertTenantStmt = insertInto("tenants", tenantColumns)
)

// Bootstrap creates tenant and admin in one transaction if the store holds no tenant yet.
func (s *Store) Bootstrap(ctx context.Context, tenant storage.Tenant, admin storage.User) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Without a lock, two PostgreSQL transactions could both see no tenant.
		if err := s.lock(ctx, tx, "bootstrap"); err != nil {
			return err
		}
		var n int64
		if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM tenants").Scan(&n); err != nil {
			return fmt.Errorf("bootstrap: count tenants: %w", err)
		}
		if n > 0 {
			return nil
		}
		if err := s.insertTenant(ctx, tx, tenant); err != nil {
			return err
		}
		if err := s.insertUser(ctx, tx, admin); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// CreateTenant inserts t; ErrConflict when its uid or name is taken.
func (s *Store) CreateTenant(ctx context.Context, t storage.Tenant) error {
	return s.insertTenant(ctx, s.writer(), t)
}

func (s *Store) insertTenant(ctx context.Context, q querier, t storage.Tenant) error {
	_, err := s.exec(ctx, q, insertTenantStmt, t.UID, t.Name, millis(t.CreatedAt))
	if err == nil {
		return nil
	}
	return s.writeError(ctx, "create tenant", err, "",
		uniqueRule{fmt.Sprintf("tenant name %q", t.Name), "SELECT 1 FROM tenants WHERE name = ?", []any{t.Name}},
		uniqueRule{fmt.Sprintf("tenant uid %q", t.UID), "SELECT 1 FROM tenants WHERE uid = ?", []any{t.UID}},
	)
}

// TenantByUID returns the tenant with that uid.
func (s *Store) TenantByUID(ctx context.Context, uid string) (storage.Tenant, error) {
	return s.tenantWhere(ctx, "uid", uid)
}

// TenantByName returns the tenant with exactly that name (case-sensitive).
func (s *Store) TenantByName(ctx context.Context, name string) (storage.Tenant, error) {
	return s.tenantWhere(ctx, "name", name)
}

// ListTenants returns every tenant, oldest first (ties by uid).
func (s *Store) ListTenants(ctx context.Context) ([]storage.Tenant, error) {
	tenants, err := queryAll(ctx, s, s.reader(), "list tenants", scanTenant, selectTenant+" ORDER BY created_at, uid")
	if tenants == nil && err == nil {
		tenants = []storage.Tenant{} // none is an empty slice, never nil
	}
	return tenants, err
}

func scanTenant(sc scanner) (storage.Tenant, error) {
	var r tenantRow
	err := sc.Scan(r.dest()...)
	return r.tenant(), err
}

// tenantWhere loads the tenant whose column (a constant, never user input) equals v.
func (s *Store) tenantWhere(ctx context.Context, column, v string) (storage.Tenant, error) {
	var r tenantRow
	err := s.queryRow(ctx, s.reader(), selectTenant+" WHERE "+column+" = ?", v).Scan(r.dest()...)
	if err != nil {
		return storage.Tenant{}, notFound(err, fmt.Sprintf("tenant %s %q", column, v))
	}
	return r.tenant(), nil
}
