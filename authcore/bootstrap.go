package authcore

import (
	"context"
	"strings"

	"github.com/keygate/keygate/storage"
)

// BootstrapTenant is the tenant a first start creates.
const BootstrapTenant = "default"

// Bootstrap creates tenant "default" with email as its tenant admin, only when the store
// holds no tenant yet. It reports whether it did.
func (ad *Admin) Bootstrap(ctx context.Context, email, password string) (bool, error) {
	if err := checkEmail(email); err != nil {
		return false, err
	}
	now := ad.now()
	t := storage.Tenant{UID: NewUID(), Name: BootstrapTenant, CreatedAt: now}
	u := storage.User{
		UID: NewUID(), TenantUID: t.UID, Email: strings.ToLower(email), Role: storage.RoleTenantAdmin,
		PasswordHash: HashPassword(password), CreatedAt: now, UpdatedAt: now,
	}
	created, err := ad.Store.Bootstrap(ctx, t, u)
	return created, storeError(err, "bootstrap tenant")
}
