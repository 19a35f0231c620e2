package credentials

import (
	"context"
	"errors"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// loadUser returns the user's record as of now, from the cache or the store.
func (v *Verifier) loadUser(ctx context.Context, uid string, now time.Time) (*userEntry, error) {
	slot := userSlot(uid)
	if e, ok := v.users.get(slot, now.UnixNano()); ok && e.uid == uid {
		return e, nil
	}
	return v.users.load(ctx, slot, uid, now.UnixNano(), func(e *userEntry) bool { return e.uid == uid }, func(ctx context.Context) (*userEntry, time.Duration, error) {
		var u storage.User
		err := v.timed("user_lookup", func() (err error) {
			u, err = v.store.UserByUID(ctx, uid)
			return err
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, 0, authcore.Unavailable(err)
		}
		if err != nil {
			return &userEntry{uid: uid}, v.negativeTTL, nil
		}
		return &userEntry{uid: uid, found: true, user: u}, v.cacheTTL, nil
	})
}
