package credentials

import (
	"context"
	"errors"
	"hash/maphash"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// userEntry is a cached user record, so a token can act with its user's current role and
// status without a store query per request.
type userEntry struct {
	uid   string
	found bool
	user  storage.User
}

// positive: a user that exists may be served stale; an unknown uid may not.
func (e *userEntry) positive() bool { return e.found }

var userSeed = maphash.MakeSeed()

func userSlot(uid string) uint64 { return maphash.String(userSeed, uid) }

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
