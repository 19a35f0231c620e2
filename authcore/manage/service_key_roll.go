package manage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Roll overlaps: how long the old key of a roll keeps working beside the new one.
const (
	// DefaultRollOverlap applies when a roll names no overlap.
	DefaultRollOverlap = 24 * time.Hour
	// MaxRollOverlap is the longest overlap a roll may ask for.
	MaxRollOverlap = 7 * 24 * time.Hour
)

// ParseOverlap reads a roll's overlap: a Go duration ("24h", "90m", "0s") from 0 to
// MaxRollOverlap; "" means DefaultRollOverlap.
func ParseOverlap(s string) (time.Duration, error) {
	if s == "" {
		return DefaultRollOverlap, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > MaxRollOverlap {
		return 0, authcore.BadRequest("overlap %q is not a duration from 0s to 168h (7 days), such as 24h or 90m", s)
	}
	return d, nil
}

// RollKey replaces a key with a new one of the same user, name and description, whose
// lifetime is the old key's (at most max_key_lifetime) counted from now, and ends the old
// key after overlap ("" for DefaultRollOverlap; never later than it would have ended). Both
// keys work during the overlap, so clients can move to the new one without an outage.
// Who may edit a key may roll it; a revoked, expired or already rolled key cannot be.
// The plaintext of the new key is in the result only.
func (s *Service) RollKey(ctx context.Context, a authcore.Actor, uid, overlap string) (CreatedAPIKey, error) {
	d, err := ParseOverlap(overlap)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	old, err := s.visibleKey(ctx, a, uid)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	now := s.clock()
	if err := rollable(old, now); err != nil {
		return CreatedAPIKey{}, err
	}
	owner, err := s.store.UserByUID(ctx, old.UserUID)
	if err != nil {
		return CreatedAPIKey{}, authcore.StoreError(err, "owner of api key "+uid)
	}
	tag, err := s.keyTag(ctx)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	key, digest, hint := tag.NewKey()
	rec := storage.APIKey{
		UID: authcore.NewUID(), TenantUID: old.TenantUID, UserUID: old.UserUID,
		Name: old.Name, Description: old.Description, Digest: digest[:], Hint: hint,
		ExpiresAt: now.Add(s.rolledLifetime(old)), Active: true, CreatedAt: now, UpdatedAt: now, Tagged: true,
		RolledFrom: old.UID,
	}
	ends := now.Add(d)
	if !old.ExpiresAt.IsZero() && old.ExpiresAt.Before(ends) {
		ends = old.ExpiresAt
	}
	ev := authcore.Audit{Action: "apikey.roll", Kind: "apikey", Target: uid,
		Detail: fmt.Sprintf("to %s for %s; the old key ends %s", rec.UID, owner.Email, ends.Format(time.RFC3339))}
	err = s.commit(ctx, a, "api key "+uid, ev, func(tx storage.Tx) error {
		err := tx.RollAPIKey(ctx, uid, ends, rec, s.maxKeysPerUser)
		switch {
		case errors.Is(err, storage.ErrLimitReached):
			return authcore.KeyLimitReached(owner, s.maxKeysPerUser)
		case errors.Is(err, storage.ErrConflict):
			return authcore.Conflict("api key %s was revoked, rolled or expired while being rolled; read it again", uid)
		}
		return err
	})
	if err != nil {
		return CreatedAPIKey{}, err
	}
	// The old key's expiry may have moved earlier: this node's cache must see it now.
	s.caches.InvalidateKeys(old)
	return CreatedAPIKey{Key: key, Record: rec}, nil
}

// rollable refuses to roll a key that no longer works, or was rolled already.
func rollable(k storage.APIKey, now time.Time) error {
	switch {
	case k.RolledTo != "":
		return &authcore.Error{Status: http.StatusConflict, Code: "ApiKeyRolled",
			Message: fmt.Sprintf("api key %s was rolled already, to %s; roll that key instead", k.UID, k.RolledTo)}
	case !k.Active:
		return &authcore.Error{Status: http.StatusConflict, Code: "ApiKeyRevoked",
			Message: fmt.Sprintf("api key %s is revoked; a revoked key cannot be rolled: create a new key instead", k.UID)}
	case !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(now):
		return &authcore.Error{Status: http.StatusConflict, Code: "ApiKeyExpired",
			Message: "the key expired on " + k.ExpiresAt.Format(time.RFC3339) + "; an expired key cannot be rolled: create a new key instead"}
	}
	return nil
}

// rolledLifetime is how long the new key of a roll lives: as long as the old key was made
// to (creation to expiry), within max_key_lifetime; a key that never expired gets the most.
func (s *Service) rolledLifetime(old storage.APIKey) time.Duration {
	life := old.ExpiresAt.Sub(old.CreatedAt)
	if old.ExpiresAt.IsZero() || life <= 0 || life > s.maxKeyLifetime {
		return s.maxKeyLifetime
	}
	return life
}
