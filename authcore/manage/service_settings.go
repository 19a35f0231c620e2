package manage

import (
	"context"
	"fmt"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// The bounds of a tenant's own token lifetime, Palette's (authTokenSettings'
// expiryTimeMinutes, 15 to 1440).
const (
	MinTenantTokenTTL = 15 * time.Minute
	MaxTenantTokenTTL = 24 * time.Hour
)

// TokenSettings is how long a tenant's tokens live, and whether that is the tenant's own
// setting (else the gateway's token_ttl).
type TokenSettings struct {
	TTL time.Duration
	Own bool
}

// visibleTenant checks that the actor may manage the tenant's settings: its tenant
// admins and the operator. Another tenant answers 404 as if it did not exist.
func visibleTenant(a authcore.Actor, tenantUID string) error {
	if err := requireAdmin(a); err != nil {
		return err
	}
	if tenantUID != a.TenantUID {
		return authcore.NotFound("tenant %s not found", tenantUID)
	}
	return nil
}

// TokenSettings reads how long the tenant's tokens live.
func (s *Service) TokenSettings(ctx context.Context, a authcore.Actor, tenantUID string) (TokenSettings, error) {
	if err := visibleTenant(a, tenantUID); err != nil {
		return TokenSettings{}, err
	}
	ts, err := s.store.TenantSettings(ctx, tenantUID)
	if err != nil {
		return TokenSettings{}, authcore.StoreError(err, "tenant "+tenantUID)
	}
	if ts.TokenTTL > 0 {
		return TokenSettings{TTL: ts.TokenTTL, Own: true}, nil
	}
	return TokenSettings{TTL: s.tokenTTL}, nil
}

// SetTokenTTL sets how long the tenant's tokens live, from the next login or refresh on
// (tokens already issued keep their expiry), within MinTenantTokenTTL and
// MaxTenantTokenTTL, in whole minutes.
func (s *Service) SetTokenTTL(ctx context.Context, a authcore.Actor, tenantUID string, ttl time.Duration) error {
	if err := visibleTenant(a, tenantUID); err != nil {
		return err
	}
	if ttl < MinTenantTokenTTL || ttl > MaxTenantTokenTTL || ttl%time.Minute != 0 {
		return authcore.BadRequest("expiryTimeMinutes must be a whole number from %d to %d", int(MinTenantTokenTTL/time.Minute), int(MaxTenantTokenTTL/time.Minute))
	}
	ev := authcore.Audit{Action: "tenant.token_settings", Kind: "tenant", Target: tenantUID, Detail: fmt.Sprintf("expiryTimeMinutes %d", ttl/time.Minute)}
	return s.commit(ctx, a, "tenant "+tenantUID, ev, func(tx storage.Tx) error {
		return tx.SetTenantSettings(ctx, storage.TenantSettings{TenantUID: tenantUID, TokenTTL: ttl, UpdatedAt: s.clock()})
	})
}
