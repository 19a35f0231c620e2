package authcore

import (
	"context"
	"errors"
	"hash/maphash"

	"github.com/keygate/keygate/storage"
)

// userEntry is a cached user record, so a token can act with its user's current role and
// status without a store query per request.
type userEntry struct {
	uid   string
	found bool
	user  storage.User
}

var userSeed = maphash.MakeSeed()

func userSlot(uid string) uint64 { return maphash.String(userSeed, uid) }

func (a *Authenticator) loadUser(ctx context.Context, uid string) (*userEntry, error) {
	slot := userSlot(uid)
	if e, ok := a.users.get(slot); ok && e.uid == uid {
		return e, nil
	}
	v, err, _ := a.flight.Do("u/"+uid, func() (any, error) {
		since := a.users.generation()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		a.storeLookups.Add(1)
		u, err := a.store.UserByUID(ctx, uid)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, ErrStoreUnavailable
		}
		e := &userEntry{uid: uid, found: err == nil, user: u}
		ttl := a.cacheTTL
		if !e.found {
			ttl = a.negativeTTL
		}
		a.users.set(slot, e, ttl, since)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*userEntry), nil
}

// InvalidateUser drops the cached record of one user.
func (a *Authenticator) InvalidateUser(uid string) { a.users.del(userSlot(uid)) }
