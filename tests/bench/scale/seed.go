package main

import (
	"context"
	"fmt"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

const (
	keysPerUser  = 1000   // so that no user's key count is unlike a real tenant's
	keysPerBatch = 10_000 // keys per seeding transaction
)

// seed fills the store with one tenant, a user per keysPerUser keys and n keys, and
// returns the keys. The tenant and users go through the service; the keys are inserted
// in batches, each transaction with one audit row saying how many it made, since a
// million service calls (a transaction and a key count each) would take most of an hour.
func seed(ctx context.Context, target storeTarget, n int) ([]string, error) {
	st, err := target.open(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	op := manage.Operator{Service: manage.NewService(manage.ServiceConfig{Store: st}), OSUser: "bench-scale"}
	tenant, err := op.CreateTenant(ctx, "scale")
	if err != nil {
		return nil, err
	}
	users := make([]storage.User, (n+keysPerUser-1)/keysPerUser)
	for i := range users {
		users[i], err = op.CreateUser(ctx, manage.NewUser{
			TenantName: tenant.Name, Email: fmt.Sprintf("user%06d@scale.test", i), Role: storage.RoleUser,
		})
		if err != nil {
			return nil, err
		}
	}
	tag, err := authcore.LoadKeyTag(ctx, st, time.Now())
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, n)
	for len(keys) < n {
		var batch []string
		if err := st.Update(ctx, func(tx storage.Tx) (err error) {
			batch, err = insertKeys(ctx, tx, tag, users, len(keys), min(keysPerBatch, n-len(keys)))
			return err
		}); err != nil {
			return nil, err
		}
		keys = append(keys, batch...)
	}
	return keys, nil
}

// insertKeys adds keys first to first+n-1 through tx, each to the user whose turn it
// is, and the batch's audit row, and returns the keys.
func insertKeys(ctx context.Context, tx storage.Tx, tag *authcore.KeyTag, users []storage.User, first, n int) ([]string, error) {
	now := time.Now().UTC()
	keys := make([]string, 0, n)
	for i := first; i < first+n; i++ {
		u := users[i/keysPerUser]
		key, digest, hint := tag.NewKey()
		err := tx.CreateAPIKey(ctx, storage.APIKey{
			UID: authcore.NewUID(), TenantUID: u.TenantUID, UserUID: u.UID,
			Name: fmt.Sprintf("scale-%07d", i), Digest: digest[:], Hint: hint,
			ExpiresAt: now.Add(30 * 24 * time.Hour), Active: true, CreatedAt: now, UpdatedAt: now, Tagged: true,
		}, 0)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, tx.AppendAudit(ctx, storage.AuditEvent{
		ID: authcore.NewUID(), TenantUID: users[0].TenantUID, At: now, ActorEmail: "bench-scale",
		Action: "apikey.create", TargetKind: "apikey", Detail: fmt.Sprintf("scale seed: %d keys", n),
	})
}
