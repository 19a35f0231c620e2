package manage

import (
	"context"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

// BootstrapTenant is the tenant a first start creates.
const BootstrapTenant = "default"

// CreateTenant creates a tenant with a unique name (the operator only).
func (s *Service) CreateTenant(ctx context.Context, a authcore.Actor, name string) (storage.Tenant, error) {
	if err := requireOperator(a); err != nil {
		return storage.Tenant{}, err
	}
	if err := authcore.CheckName("tenant name", name); err != nil {
		return storage.Tenant{}, err
	}
	t := storage.Tenant{UID: authcore.NewUID(), Name: name, CreatedAt: s.clock()}
	a = a.In(t.UID)
	err := s.commit(ctx, a, "tenant "+name, authcore.Audit{Action: "tenant.create", Kind: "tenant", Target: t.UID, Detail: name}, func(tx storage.Tx) error {
		return tx.CreateTenant(ctx, t)
	})
	return t, err
}

// TenantByName finds a tenant for the operator, who names tenants by name.
func (s *Service) TenantByName(ctx context.Context, a authcore.Actor, name string) (storage.Tenant, error) {
	if err := requireOperator(a); err != nil {
		return storage.Tenant{}, err
	}
	t, err := s.store.TenantByName(ctx, name)
	return t, authcore.StoreError(err, "tenant "+name)
}

// ListTenants lists every tenant, oldest first (the operator only: the API's actors live
// in one tenant).
func (s *Service) ListTenants(ctx context.Context, a authcore.Actor) ([]storage.Tenant, error) {
	if err := requireOperator(a); err != nil {
		return nil, err
	}
	ts, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, authcore.Unavailable(err)
	}
	return ts, nil
}

// Bootstrap creates tenant "default" with email as its tenant admin, only when the store
// holds no tenant yet (the operator only, at a first start). It reports whether it did.
//
// Every start calls it, so it asks for the password only when the store lacks tenant
// "default": hashing it costs tens of milliseconds and 19 MiB, and a generated one is
// written to a file, all wasted on a store a first start has set up.
func (s *Service) Bootstrap(ctx context.Context, a authcore.Actor, email string, password func() (string, error)) (bool, error) {
	if err := requireOperator(a); err != nil {
		return false, err
	}
	if err := authcore.CheckEmail(email); err != nil {
		return false, err
	}
	if done, err := s.bootstrapped(ctx); err != nil || done {
		return false, err
	}
	plain, err := password()
	if err != nil {
		return false, err
	}
	now := s.clock()
	t := storage.Tenant{UID: authcore.NewUID(), Name: BootstrapTenant, CreatedAt: now}
	u := storage.User{
		UID: authcore.NewUID(), TenantUID: t.UID, Email: strings.ToLower(email), Role: storage.RoleTenantAdmin,
		PasswordHash: protect.HashPassword(plain), CreatedAt: now, UpdatedAt: now,
	}
	created := false
	a = a.In(t.UID)
	err = s.commit(ctx, a, "bootstrap tenant", authcore.Audit{Action: "tenant.bootstrap", Kind: "user", Target: u.UID, Detail: u.Email}, func(tx storage.Tx) error {
		var err error
		if created, err = tx.Bootstrap(ctx, t, u); err == nil && !created {
			return errNothingToBootstrap
		}
		return err
	})
	if err == errNothingToBootstrap {
		return false, nil
	}
	return created, err
}

// bootstrapped reports whether the store holds the tenant a first start creates. A store
// without it may still hold others; Store.Bootstrap decides that, atomically.
func (s *Service) bootstrapped(ctx context.Context) (bool, error) {
	_, err := s.store.TenantByName(ctx, BootstrapTenant)
	if authcore.IsNotFound(err) {
		return false, nil
	}
	return err == nil, authcore.StoreError(err, "tenant "+BootstrapTenant)
}

// errNothingToBootstrap rolls back a bootstrap that found a tenant: its audit row with it.
var errNothingToBootstrap = &authcore.Error{Code: "NothingToBootstrap"}
