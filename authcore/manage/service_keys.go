package manage

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// KeyRequest creates or edits a key. On create, UserUID may be empty (the caller), the
// caller's uid, or for tenant admins any user of the tenant; a UserUID equal to the
// caller's tenant uid also means the caller, as one Palette SDK sends it. Expiry is an
// RFC 3339 time or date, or ExpiryPreset one of 7d, 30d, 60d, 90d. On create, neither
// means 30 days; on edit, neither keeps the key's expiry.
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

// CreatedAPIKey is a new key with its plaintext, which exists only here.
type CreatedAPIKey struct {
	Key    string
	Record storage.APIKey
}

// defaultKeyExpiry applies when a create names no expiry.
const defaultKeyExpiry = "30d"

// zeroTime is how Palette clients send an unset time; it means "not given".
const zeroTime = "0001-01-01T00:00:00"

// expiry is the expiry the request names, "" when it names none.
func (r KeyRequest) expiry() (string, error) {
	if strings.HasPrefix(r.Expiry, zeroTime) {
		r.Expiry = ""
	}
	if r.Expiry != "" && r.ExpiryPreset != "" {
		return "", authcore.BadRequest("give spec.expiry or spec.expiryPreset, not both")
	}
	return r.Expiry + r.ExpiryPreset, nil
}

// CreateKey mints a key. The plaintext is in the result only.
func (s *Service) CreateKey(ctx context.Context, a authcore.Actor, r KeyRequest) (CreatedAPIKey, error) {
	owner, err := s.keyOwner(ctx, a, r.UserUID)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	expiry, err := r.expiry()
	if err != nil {
		return CreatedAPIKey{}, err
	}
	if expiry == "" {
		expiry = defaultKeyExpiry
	}
	if err := authcore.CheckName("key name", r.Name); err != nil {
		return CreatedAPIKey{}, err
	}
	if err := authcore.CheckDescription(r.Description); err != nil {
		return CreatedAPIKey{}, err
	}
	now := s.clock()
	expires, err := authcore.ParseExpiry(expiry, now, s.maxKeyLifetime)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	tag, err := s.keyTag(ctx)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	key, digest, hint := tag.NewKey()
	rec := storage.APIKey{
		UID: authcore.NewUID(), TenantUID: owner.TenantUID, UserUID: owner.UID,
		Name: r.Name, Description: r.Description, Digest: digest[:], Hint: hint,
		ExpiresAt: expires, Active: true, CreatedAt: now, UpdatedAt: now, Tagged: true,
	}
	err = s.commit(ctx, a, "api key", authcore.Audit{Action: "apikey.create", Kind: "apikey", Target: rec.UID, Detail: "for " + owner.Email}, func(tx storage.Tx) error {
		err := tx.CreateAPIKey(ctx, rec, s.maxKeysPerUser)
		if errors.Is(err, storage.ErrLimitReached) {
			return authcore.KeyLimitReached(owner, s.maxKeysPerUser)
		}
		return err
	})
	if err != nil {
		return CreatedAPIKey{}, err
	}
	return CreatedAPIKey{Key: key, Record: rec}, nil
}

// keyOwner resolves whose key a create is for.
func (s *Service) keyOwner(ctx context.Context, a authcore.Actor, userUID string) (storage.User, error) {
	if userUID == "" || userUID == a.UserUID || userUID == a.TenantUID {
		if a.IsOperator() {
			return storage.User{}, authcore.BadRequest("name the user the key is for")
		}
		userUID = a.UserUID
	} else if !a.IsTenantAdmin() {
		return storage.User{}, authcore.Forbidden("only tenant admins may create keys for other users")
	}
	u, err := s.store.UserByUID(ctx, userUID)
	if err != nil || u.TenantUID != a.TenantUID {
		return storage.User{}, notFoundOr(err, "user %s not found", userUID)
	}
	return u, nil
}

// visibleKey loads a key the actor may see, or answers 404.
func (s *Service) visibleKey(ctx context.Context, a authcore.Actor, uid string) (storage.APIKey, error) {
	k, err := s.store.APIKeyByUID(ctx, uid)
	if err != nil || k.TenantUID != a.TenantUID || (!a.IsTenantAdmin() && k.UserUID != a.UserUID) {
		return storage.APIKey{}, notFoundOr(err, "api key %s not found", uid)
	}
	return k, nil
}

// GetKey reads one key with its owner.
func (s *Service) GetKey(ctx context.Context, a authcore.Actor, uid string) (KeyView, error) {
	k, err := s.visibleKey(ctx, a, uid)
	if err != nil {
		return KeyView{}, err
	}
	owner, err := s.store.UserByUID(ctx, k.UserUID)
	if err != nil {
		return KeyView{}, authcore.StoreError(err, "owner of api key "+uid)
	}
	return KeyView{Key: k, Owner: owner}, nil
}

// ListKeys lists the caller's keys, or for tenant admins every key of the tenant,
// optionally one user's.
func (s *Service) ListKeys(ctx context.Context, a authcore.Actor, userUID string, limit int, cursor string) ([]KeyView, string, error) {
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
			return nil, "", authcore.Forbidden("only tenant admins may list other users' keys")
		}
		f.UserUID = a.UserUID
	}
	keys, next, err := s.store.ListAPIKeys(ctx, f, p)
	if err != nil {
		return nil, "", listError(err)
	}
	views := make([]KeyView, 0, len(keys))
	owners := map[string]storage.User{}
	for _, k := range keys {
		owner, ok := owners[k.UserUID]
		if !ok {
			if owner, err = s.store.UserByUID(ctx, k.UserUID); err != nil {
				return nil, "", authcore.StoreError(err, "owner of api key "+k.UID)
			}
			owners[k.UserUID] = owner
		}
		views = append(views, KeyView{Key: k, Owner: owner})
	}
	return views, next, nil
}

// UpdateKey edits a key's name, description and, when the request names one, its
// expiry. An expiry moved earlier takes effect on the next request.
func (s *Service) UpdateKey(ctx context.Context, a authcore.Actor, uid string, r KeyRequest) error {
	k, err := s.visibleKey(ctx, a, uid)
	if err != nil {
		return err
	}
	if err := authcore.CheckName("metadata.name", r.Name); err != nil {
		return err
	}
	if err := authcore.CheckDescription(r.Description); err != nil {
		return err
	}
	expires, err := s.movedExpiry(k, r)
	if err != nil {
		return err
	}
	err = s.commit(ctx, a, "api key "+uid, authcore.Audit{Action: "apikey.update", Kind: "apikey", Target: uid, Detail: ""}, func(tx storage.Tx) error {
		return tx.UpdateAPIKey(ctx, uid, r.Name, r.Description, expires)
	})
	if err == nil {
		s.caches.InvalidateKeys(k)
	}
	return err
}

// movedExpiry is the key's expiry after an edit: as it was unless the request names one.
func (s *Service) movedExpiry(k storage.APIKey, r KeyRequest) (time.Time, error) {
	e, err := r.expiry()
	if err != nil || e == "" {
		return k.ExpiresAt, err
	}
	// An expired key stays expired: moving its expiry would revive it and get around
	// the rule that expired keys cannot be re-activated.
	now := s.clock()
	if !k.ExpiresAt.After(now) {
		return time.Time{}, KeyExpired(k)
	}
	expires, err := authcore.ParseExpiry(e, now, s.maxKeyLifetime)
	if err != nil {
		return time.Time{}, err
	}
	// The lifetime counts from creation, so repeated edits cannot extend a key forever.
	if limit := k.CreatedAt.Add(s.maxKeyLifetime); expires.After(limit) {
		return time.Time{}, authcore.BadRequest("expiry %s is more than %d days after the key was created",
			expires.Format(time.RFC3339), int(s.maxKeyLifetime.Hours()/24))
	}
	return expires, nil
}

// SetKeyActive revokes or re-activates a key; re-activation is refused once it expired.
func (s *Service) SetKeyActive(ctx context.Context, a authcore.Actor, uid string, active bool) error {
	k, err := s.visibleKey(ctx, a, uid)
	if err != nil {
		return err
	}
	if active && !k.ExpiresAt.After(s.clock()) {
		return KeyExpired(k)
	}
	action := "apikey.revoke"
	if active {
		action = "apikey.activate"
	}
	err = s.commit(ctx, a, "api key "+uid, authcore.Audit{Action: action, Kind: "apikey", Target: uid, Detail: ""}, func(tx storage.Tx) error {
		return tx.SetAPIKeyActive(ctx, uid, active)
	})
	if err == nil {
		s.caches.InvalidateKeys(k)
	}
	return err
}

// DeleteKey deletes a key; it stops working on the next request.
func (s *Service) DeleteKey(ctx context.Context, a authcore.Actor, uid string) error {
	k, err := s.visibleKey(ctx, a, uid)
	if err != nil {
		return err
	}
	err = s.commit(ctx, a, "api key "+uid, authcore.Audit{Action: "apikey.delete", Kind: "apikey", Target: uid, Detail: k.Name}, func(tx storage.Tx) error {
		return tx.DeleteAPIKey(ctx, uid)
	})
	if err == nil {
		s.caches.InvalidateKeys(k)
	}
	return err
}

// KeyExpired refuses to revive an expired key.
func KeyExpired(k storage.APIKey) *authcore.Error {
	return &authcore.Error{Status: http.StatusConflict, Code: "ApiKeyExpired", Message: "the key expired on " + k.ExpiresAt.Format(time.RFC3339) + "; an expired key cannot be re-activated or extended"}
}
