package authcore

import (
	"context"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

// KeyRequest creates or edits a key. On create, UserUID may be empty (the caller), the
// caller's uid, or for tenant admins any user of the tenant; a UserUID equal to the
// caller's tenant uid also means the caller, as one Palette SDK sends it. Expiry is an
// RFC 3339 time or date, or ExpiryPreset one of 7d, 30d, 60d, 90d; neither means 30 days.
type KeyRequest struct {
	Name         string
	Description  string
	UserUID      string
	Expiry       string
	ExpiryPreset string
}

// KeyView is a key with its owner, for listings and reads.
type KeyView struct {
	Key   storage.APIKey
	Owner storage.User
}

// defaultKeyExpiry applies when a create names no expiry.
const defaultKeyExpiry = "30d"

// zeroTime is how Palette clients send an unset time; it means "not given".
const zeroTime = "0001-01-01T00:00:00"

func (r KeyRequest) expiry() string {
	if strings.HasPrefix(r.Expiry, zeroTime) {
		r.Expiry = ""
	}
	switch {
	case r.Expiry != "" && r.ExpiryPreset != "":
		return "\x00both" // refused by ParseExpiry with a clear message below
	case r.Expiry != "":
		return r.Expiry
	case r.ExpiryPreset != "":
		return r.ExpiryPreset
	}
	return defaultKeyExpiry
}

func (m *Manager) parseExpiry(r KeyRequest) (string, error) {
	e := r.expiry()
	if e == "\x00both" {
		return "", badRequest("give spec.expiry or spec.expiryPreset, not both")
	}
	return e, nil
}

// CreateKey mints a key. The plaintext is in the result only.
func (m *Manager) CreateKey(ctx context.Context, a Actor, r KeyRequest) (CreatedAPIKey, error) {
	owner, err := m.keyOwner(ctx, a, r.UserUID)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	expiry, err := m.parseExpiry(r)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	if err := checkDescription(r.Description); err != nil {
		return CreatedAPIKey{}, err
	}
	k, err := m.admin().CreateAPIKey(ctx, NewAPIKey{User: owner, Name: r.Name, Description: r.Description, Expiry: expiry})
	if err != nil {
		return k, err
	}
	if err := m.audit(ctx, a, "apikey.create", "apikey", k.Record.UID, "for "+owner.Email); err != nil {
		// Without its audit record the key must not exist: its plaintext would be lost
		// with this failed answer, and a retry would make a second one.
		_ = m.Store.DeleteAPIKey(context.WithoutCancel(ctx), k.Record.UID)
		return CreatedAPIKey{}, err
	}
	return k, nil
}

// keyOwner resolves whose key a create is for.
func (m *Manager) keyOwner(ctx context.Context, a Actor, userUID string) (storage.User, error) {
	if userUID == "" || userUID == a.UserUID || userUID == a.TenantUID {
		userUID = a.UserUID
	} else if !a.IsTenantAdmin() {
		return storage.User{}, forbidden("only tenant admins may create keys for other users")
	}
	u, err := m.Store.UserByUID(ctx, userUID)
	if err != nil || u.TenantUID != a.TenantUID {
		return storage.User{}, notFoundOr(err, "user %s not found", userUID)
	}
	return u, nil
}

// notFoundOr is a 404, unless err says the store is down.
func notFoundOr(err error, format string, args ...any) error {
	if err != nil && !isNotFound(err) {
		return unavailable(err)
	}
	return notFound(format, args...)
}

// visibleKey loads a key the actor may see, or answers 404.
func (m *Manager) visibleKey(ctx context.Context, a Actor, uid string) (storage.APIKey, error) {
	k, err := m.Store.APIKeyByUID(ctx, uid)
	if err != nil || k.TenantUID != a.TenantUID || (!a.IsTenantAdmin() && k.UserUID != a.UserUID) {
		return storage.APIKey{}, notFoundOr(err, "api key %s not found", uid)
	}
	return k, nil
}

// GetKey reads one key with its owner.
func (m *Manager) GetKey(ctx context.Context, a Actor, uid string) (KeyView, error) {
	k, err := m.visibleKey(ctx, a, uid)
	if err != nil {
		return KeyView{}, err
	}
	owner, err := m.Store.UserByUID(ctx, k.UserUID)
	if err != nil {
		return KeyView{}, storeError(err, "owner of api key "+uid)
	}
	return KeyView{Key: k, Owner: owner}, nil
}

// ListKeys lists the caller's keys, or for tenant admins every key of the tenant,
// optionally one user's.
func (m *Manager) ListKeys(ctx context.Context, a Actor, userUID string, limit int, cursor string) ([]KeyView, string, error) {
	p, err := page(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if userUID == a.TenantUID { // as for create: the tenant uid stands for the caller
		userUID = a.UserUID
	}
	f := storage.APIKeyFilter{TenantUID: a.TenantUID, UserUID: userUID}
	if !a.IsTenantAdmin() {
		if userUID != "" && userUID != a.UserUID {
			return nil, "", forbidden("only tenant admins may list other users' keys")
		}
		f.UserUID = a.UserUID
	}
	keys, next, err := m.Store.ListAPIKeys(ctx, f, p)
	if err != nil {
		return nil, "", listError(err)
	}
	views := make([]KeyView, 0, len(keys))
	owners := map[string]storage.User{}
	for _, k := range keys {
		owner, ok := owners[k.UserUID]
		if !ok {
			if owner, err = m.Store.UserByUID(ctx, k.UserUID); err != nil {
				return nil, "", storeError(err, "owner of api key "+k.UID)
			}
			owners[k.UserUID] = owner
		}
		views = append(views, KeyView{Key: k, Owner: owner})
	}
	return views, next, nil
}

// UpdateKey edits a key's name, description and expiry. An expiry moved earlier takes
// effect on the next request.
func (m *Manager) UpdateKey(ctx context.Context, a Actor, uid string, r KeyRequest) error {
	k, err := m.visibleKey(ctx, a, uid)
	if err != nil {
		return err
	}
	if err := checkName("metadata.name", r.Name); err != nil {
		return err
	}
	if err := checkDescription(r.Description); err != nil {
		return err
	}
	expires := k.ExpiresAt
	if e, err := m.parseExpiry(r); err != nil {
		return err
	} else if e != defaultKeyExpiry || r.ExpiryPreset == defaultKeyExpiry {
		// An expired key stays expired: moving its expiry would revive it and get
		// around the rule that expired keys cannot be re-activated.
		if !k.ExpiresAt.After(m.now()) {
			return errKeyExpired(k)
		}
		if expires, err = ParseExpiry(e, m.now(), m.maxLifetime()); err != nil {
			return err
		}
		// The lifetime counts from creation, so repeated edits cannot extend a key forever.
		if limit := k.CreatedAt.Add(m.maxLifetime()); expires.After(limit) {
			return badRequest("expiry %s is more than %d days after the key was created", expires.Format(time.RFC3339), int(m.maxLifetime().Hours()/24))
		}
	}
	if err := m.Store.UpdateAPIKey(ctx, uid, r.Name, r.Description, expires); err != nil {
		return storeError(err, "api key "+uid)
	}
	m.invalidateKey(k)
	return m.audit(ctx, a, "apikey.update", "apikey", uid, "")
}

func (m *Manager) maxLifetime() time.Duration {
	if m.MaxKeyLifetime > 0 {
		return m.MaxKeyLifetime
	}
	return DefaultMaxKeyLifetime
}

// SetKeyActive revokes or re-activates a key; re-activation is refused once it expired.
func (m *Manager) SetKeyActive(ctx context.Context, a Actor, uid string, active bool) error {
	if _, err := m.visibleKey(ctx, a, uid); err != nil {
		return err
	}
	if _, err := m.admin().SetAPIKeyActive(ctx, uid, active); err != nil {
		return err
	}
	action := "apikey.revoke"
	if active {
		action = "apikey.activate"
	}
	return m.audit(ctx, a, action, "apikey", uid, "")
}

// DeleteKey deletes a key; it stops working on the next request.
func (m *Manager) DeleteKey(ctx context.Context, a Actor, uid string) error {
	k, err := m.visibleKey(ctx, a, uid)
	if err != nil {
		return err
	}
	if err := m.Store.DeleteAPIKey(ctx, uid); err != nil {
		return storeError(err, "api key "+uid)
	}
	m.invalidateKey(k)
	return m.audit(ctx, a, "apikey.delete", "apikey", uid, k.Name)
}

func (m *Manager) invalidateKey(k storage.APIKey) { m.Auth.InvalidateKeys(k) }
