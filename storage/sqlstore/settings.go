package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/storage"
)

var tenantSettingsColumns = []string{"tenant_uid", "token_ttl_seconds", "updated_at"}

// TenantSettings returns a tenant's settings, zero values when none were set;
// ErrNotFound for an unknown tenant.
func (s *Store) TenantSettings(ctx context.Context, tenantUID string) (storage.TenantSettings, error) {
	var ttl, updated int64
	err := s.queryRow(ctx, s.reader(),
		"SELECT t.uid, COALESCE(ts.token_ttl_seconds, 0), COALESCE(ts.updated_at, 0) FROM tenants t"+
			" LEFT JOIN tenant_settings ts ON ts.tenant_uid = t.uid WHERE t.uid = ?", tenantUID).Scan(new(string), &ttl, &updated)
	if err != nil {
		return storage.TenantSettings{}, notFound(err, fmt.Sprintf("settings of tenant %q", tenantUID))
	}
	return storage.TenantSettings{TenantUID: tenantUID, TokenTTL: time.Duration(ttl) * time.Second, UpdatedAt: fromMillis(updated)}, nil
}

// errSubSecondTTL refuses a token lifetime the store cannot keep: it keeps whole seconds.
var errSubSecondTTL = errors.New("token lifetime is not a whole number of seconds")

// SetTenantSettings replaces a tenant's settings; ErrNotFound for an unknown tenant.
func (s *Store) SetTenantSettings(ctx context.Context, ts storage.TenantSettings) error {
	what := fmt.Sprintf("set settings of tenant %q", ts.TenantUID)
	if ts.TokenTTL < 0 || ts.TokenTTL%time.Second != 0 {
		return fmt.Errorf("%s: %w", what, errSubSecondTTL)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM tenant_settings WHERE tenant_uid = ?", ts.TenantUID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err := s.exec(ctx, tx, insertInto("tenant_settings", tenantSettingsColumns),
			ts.TenantUID, int64(ts.TokenTTL/time.Second), millis(ts.UpdatedAt))
		if err != nil {
			return s.writeError(ctx, what, err, fmt.Sprintf("tenant %q", ts.TenantUID))
		}
		return nil
	})
}
