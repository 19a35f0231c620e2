package conformance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var apiKeyTests = []suiteTest{
	{"APIKey/RoundTrip", testAPIKeyRoundTrip},
	{"APIKey/RecentKeyGrants", testRecentKeyGrants},
	{"APIKey/NotFound", testAPIKeyNotFound},
	{"APIKey/DuplicateDigest", testAPIKeyDuplicateDigest},
	{"APIKey/DuplicateUID", testAPIKeyDuplicateUID},
	{"APIKey/UnknownOwner", testAPIKeyUnknownOwner},
	{"APIKey/SetActive", testAPIKeySetActive},
	{"APIKey/SetActiveNotFound", unknownIsNotFound("SetAPIKeyActive(unknown)", func(c context.Context, s storage.Store) error {
		return s.SetAPIKeyActive(c, "no-such-key", false)
	})},
	{"APIKey/GrantFollowsOwner", testKeyGrantFollowsOwner},
	{"APIKey/LastUsedRoundTrip", testAPIKeyLastUsedRoundTrip},
	{"APIKey/Update", testAPIKeyUpdate},
	{"APIKey/UpdateNotFound", unknownIsNotFound("UpdateAPIKey(unknown)", func(c context.Context, s storage.Store) error {
		return s.UpdateAPIKey(c, "no-such-key", "n", "d", t0)
	})},
	{"APIKey/Delete", testAPIKeyDelete},
	{"APIKey/Touch", testAPIKeyTouch},
	{"APIKey/LimitPerUser", testAPIKeyLimitPerUser},
	{"APIKey/LimitPerUserConcurrent", testAPIKeyLimitPerUserConcurrent},
}

func testAPIKeyRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "Alice@Example.com", 0)
	want := mustKey(t, s, u)
	// A revoked key that never expires round-trips too.
	forever := newKey(u)
	forever.ExpiresAt, forever.Active, forever.Description = time.Time{}, false, ""
	mustOK(t, "CreateAPIKey(no expiry)", s.CreateAPIKey(ctx(t), forever, 0))

	for _, k := range []storage.APIKey{want, forever} {
		got, err := s.APIKeyByUID(ctx(t), k.UID)
		mustOK(t, "APIKeyByUID", err)
		sameRecord(t, "APIKeyByUID", got, k)
		g, err := s.KeyGrantByDigest(ctx(t), k.Digest)
		mustOK(t, "KeyGrantByDigest", err)
		sameRecord(t, "KeyGrant.Key", g.Key, k)
		sameRecord(t, "KeyGrant.User", g.User, lowerEmail(u))
	}
}

func testAPIKeyNotFound(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	k := mustKey(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0))
	_, err := s.APIKeyByUID(ctx(t), "no-such-key")
	wantErr(t, "APIKeyByUID(unknown)", err, storage.ErrNotFound)
	other := append([]byte(nil), k.Digest...)
	other[0] ^= 0xff
	_, err = s.KeyGrantByDigest(ctx(t), other)
	wantErr(t, "KeyGrantByDigest(unknown)", err, storage.ErrNotFound)
	_, err = s.KeyGrantByDigest(ctx(t), nil)
	wantErr(t, "KeyGrantByDigest(nil)", err, storage.ErrNotFound)
}

func testAPIKeyDuplicateDigest(t *testing.T, s storage.Store) {
	a := mustTenant(t, s, "a")
	b := mustTenant(t, s, "b")
	first := mustKey(t, s, mustUser(t, s, a.UID, "alice@example.com", 0))
	// Digests are unique across tenants, not only within one.
	dup := newKey(mustUser(t, s, b.UID, "bob@example.com", 0))
	dup.Digest = first.Digest
	wantErr(t, "CreateAPIKey(same digest)", s.CreateAPIKey(ctx(t), dup, 0), storage.ErrConflict)
	_, err := s.APIKeyByUID(ctx(t), dup.UID)
	wantErr(t, "APIKeyByUID of the refused key", err, storage.ErrNotFound)
	g, err := s.KeyGrantByDigest(ctx(t), first.Digest)
	mustOK(t, "KeyGrantByDigest", err)
	if g.Key.UID != first.UID {
		t.Errorf("KeyGrantByDigest = key %s, want the first key %s", g.Key.UID, first.UID)
	}
}

func testAPIKeyDuplicateUID(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	first := mustKey(t, s, u)
	dup := newKey(u)
	dup.UID = first.UID
	wantErr(t, "CreateAPIKey(same uid)", s.CreateAPIKey(ctx(t), dup, 0), storage.ErrConflict)
	_, err := s.KeyGrantByDigest(ctx(t), dup.Digest)
	wantErr(t, "KeyGrantByDigest of the refused key", err, storage.ErrNotFound)
}

func testAPIKeyUnknownOwner(t *testing.T, s storage.Store) {
	a := mustTenant(t, s, "a")
	b := mustTenant(t, s, "b")
	u := mustUser(t, s, a.UID, "alice@example.com", 0)

	orphan := newKey(u)
	orphan.UserUID = "no-such-user"
	wantErr(t, "CreateAPIKey(unknown user)", s.CreateAPIKey(ctx(t), orphan, 0), storage.ErrNotFound)

	// A key must live in its user's tenant.
	misfiled := newKey(u)
	misfiled.TenantUID = b.UID
	wantErr(t, "CreateAPIKey(user of another tenant)", s.CreateAPIKey(ctx(t), misfiled, 0), storage.ErrNotFound)

	for _, k := range []storage.APIKey{orphan, misfiled} {
		_, err := s.APIKeyByUID(ctx(t), k.UID)
		wantErr(t, "APIKeyByUID of a refused key", err, storage.ErrNotFound)
	}
}

func testAPIKeySetActive(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k := mustKey(t, s, u)
	other := mustKey(t, s, u)
	for _, active := range []bool{false, true, false} {
		before := time.Now()
		mustOK(t, "SetAPIKeyActive", s.SetAPIKeyActive(ctx(t), k.UID, active))
		got, err := s.APIKeyByUID(ctx(t), k.UID)
		mustOK(t, "APIKeyByUID", err)
		aboutNow(t, "UpdatedAt after SetAPIKeyActive", got.UpdatedAt, before)
		want := k
		want.Active, want.UpdatedAt = active, got.UpdatedAt
		sameRecord(t, "APIKeyByUID after SetAPIKeyActive", got, want)
		g, err := s.KeyGrantByDigest(ctx(t), k.Digest)
		mustOK(t, "KeyGrantByDigest", err)
		if g.Key.Active != active {
			t.Errorf("KeyGrantByDigest after SetAPIKeyActive(%v): Active = %v", active, g.Key.Active)
		}
	}
	mustKeyEverywhere(t, s, "other key", other)
}

// testKeyGrantFollowsOwner checks that a grant carries the owner's current state, not the
// state when the key was made.
func testKeyGrantFollowsOwner(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	admin := newUser(tn.UID, "admin@example.com", 0)
	admin.Role = storage.RoleTenantAdmin
	mustOK(t, "CreateUser", s.CreateUser(ctx(t), admin))
	user := mustUser(t, s, tn.UID, "user@example.com", 0)
	adminKey, userKey := mustKey(t, s, admin), mustKey(t, s, user)

	mustOK(t, "SetUserDisabled", s.SetUserDisabled(ctx(t), user.UID, true))
	for _, c := range []struct {
		key      storage.APIKey
		owner    string
		role     storage.Role
		disabled bool
	}{
		{adminKey, admin.UID, storage.RoleTenantAdmin, false},
		{userKey, user.UID, storage.RoleUser, true},
	} {
		g, err := s.KeyGrantByDigest(ctx(t), c.key.Digest)
		mustOK(t, "KeyGrantByDigest", err)
		if g.Key.UID != c.key.UID || g.User.UID != c.owner || g.User.Role != c.role || g.User.Disabled != c.disabled {
			t.Errorf("KeyGrantByDigest(%s) = key %s, user %s role %s disabled %v; want key %s, user %s role %s disabled %v",
				c.key.UID, g.Key.UID, g.User.UID, g.User.Role, g.User.Disabled, c.key.UID, c.owner, c.role, c.disabled)
		}
	}
	mustOK(t, "SetUserDisabled(false)", s.SetUserDisabled(ctx(t), user.UID, false))
	g, err := s.KeyGrantByDigest(ctx(t), userKey.Digest)
	mustOK(t, "KeyGrantByDigest", err)
	if g.User.Disabled {
		t.Errorf("KeyGrantByDigest after re-enabling the owner: User.Disabled = true")
	}
}

// mustKeyEverywhere checks that every key read returns want: APIKeyByUID,
// KeyGrantByDigest and ListAPIKeys.
func mustKeyEverywhere(t *testing.T, s storage.Store, what string, want storage.APIKey) {
	t.Helper()
	got, err := s.APIKeyByUID(ctx(t), want.UID)
	mustOK(t, what+": APIKeyByUID", err)
	sameRecord(t, what+": APIKeyByUID", got, want)
	g, err := s.KeyGrantByDigest(ctx(t), want.Digest)
	mustOK(t, what+": KeyGrantByDigest", err)
	sameRecord(t, what+": KeyGrant.Key", g.Key, want)
	keys, _, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: want.TenantUID, UserUID: want.UserUID}, storage.Page{Limit: 1000})
	mustOK(t, what+": ListAPIKeys", err)
	i := slices.IndexFunc(keys, func(k storage.APIKey) bool { return k.UID == want.UID })
	if i < 0 {
		t.Fatalf("%s: ListAPIKeys = %v, want it to hold %s", what, keyUIDs(keys), want.UID)
	}
	sameRecord(t, what+": ListAPIKeys", keys[i], want)
}

// mustKeyGone checks that no key read finds k.
func mustKeyGone(t *testing.T, s storage.Store, what string, k storage.APIKey) {
	t.Helper()
	_, err := s.APIKeyByUID(ctx(t), k.UID)
	wantErr(t, what+": APIKeyByUID", err, storage.ErrNotFound)
	_, err = s.KeyGrantByDigest(ctx(t), k.Digest)
	wantErr(t, what+": KeyGrantByDigest", err, storage.ErrNotFound)
	keys, _, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: k.TenantUID}, storage.Page{Limit: 1000})
	mustOK(t, what+": ListAPIKeys", err)
	if slices.Contains(keyUIDs(keys), k.UID) {
		t.Errorf("%s: ListAPIKeys still lists %s", what, k.UID)
	}
}

// aboutNow fails unless got is within a second of the interval [before, now].
func aboutNow(t *testing.T, what string, got, before time.Time) {
	t.Helper()
	if got.Before(before.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("%s = %v, want about now", what, got)
	}
}

// testAPIKeyLastUsedRoundTrip: a key created with a last use keeps it.
func testAPIKeyLastUsedRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	fresh := mustKey(t, s, u)
	used := newKey(u)
	used.LastUsedAt = t0.Add(time.Hour)
	mustOK(t, "CreateAPIKey(used)", s.CreateAPIKey(ctx(t), used, 0))
	mustKeyEverywhere(t, s, "never used", fresh)
	mustKeyEverywhere(t, s, "used", used)
}

func testAPIKeyUpdate(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	// Revoked and used, so that an update that touched either would show. (Created so,
	// not revoked afterwards, which would already set UpdatedAt to now.)
	k := newKey(u)
	k.Active, k.LastUsedAt = false, t0.Add(time.Hour)
	mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), k, 0))
	other := mustKey(t, s, u)

	for _, c := range []struct {
		name, description string
		expires           time.Time
	}{
		{"renamed", "new description", t0.Add(90 * 24 * time.Hour)},
		{"", "", time.Time{}}, // cleared, and never expires
	} {
		before := time.Now()
		mustOK(t, "UpdateAPIKey", s.UpdateAPIKey(ctx(t), k.UID, c.name, c.description, c.expires))
		got, err := s.APIKeyByUID(ctx(t), k.UID)
		mustOK(t, "APIKeyByUID", err)
		aboutNow(t, "UpdatedAt after UpdateAPIKey", got.UpdatedAt, before)
		// Everything else stays, including the revocation and the last use.
		want := k
		want.Name, want.Description, want.ExpiresAt, want.UpdatedAt = c.name, c.description, c.expires, got.UpdatedAt
		mustKeyEverywhere(t, s, "after UpdateAPIKey", want)
	}
	mustKeyEverywhere(t, s, "other key", other)
}

func testAPIKeyDelete(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k, other := mustKey(t, s, u), mustKey(t, s, u)
	mustOK(t, "DeleteAPIKey", s.DeleteAPIKey(ctx(t), k.UID))
	mustKeyGone(t, s, "after DeleteAPIKey", k)
	mustKeyEverywhere(t, s, "other key", other)
	wantErr(t, "DeleteAPIKey again", s.DeleteAPIKey(ctx(t), k.UID), storage.ErrNotFound)
	wantErr(t, "DeleteAPIKey(unknown)", s.DeleteAPIKey(ctx(t), "no-such-key"), storage.ErrNotFound)
	// The owner stays, and the digest is free again.
	_, err := s.UserByUID(ctx(t), u.UID)
	mustOK(t, "UserByUID after DeleteAPIKey", err)
	again := newKey(u)
	again.Digest = k.Digest
	mustOK(t, "CreateAPIKey(deleted key's digest)", s.CreateAPIKey(ctx(t), again, 0))
}

// testAPIKeyTouch: last use only moves forward, to the millisecond, several keys at once;
// unknown keys are skipped; nothing else about a key changes.
func testAPIKeyTouch(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	a, b, untouched := mustKey(t, s, u), mustKey(t, s, u), mustKey(t, s, u)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

	mustOK(t, "TouchAPIKeys(nothing)", s.TouchAPIKeys(ctx(t), nil))
	mustOK(t, "TouchAPIKeys", s.TouchAPIKeys(ctx(t), map[string]time.Time{
		a.UID: at(10), b.UID: at(20), "no-such-key": at(30),
	}))
	a.LastUsedAt, b.LastUsedAt = at(10), at(20)
	mustKeyEverywhere(t, s, "a after touching", a)
	mustKeyEverywhere(t, s, "b after touching", b)
	mustKeyEverywhere(t, s, "untouched key", untouched)

	// Backwards, to the same millisecond, and to the zero time: nothing moves. Forward,
	// in the same call: that one moves.
	mustOK(t, "TouchAPIKeys(mixed)", s.TouchAPIKeys(ctx(t), map[string]time.Time{
		a.UID: at(5), b.UID: at(25), untouched.UID: time.Time{},
	}))
	b.LastUsedAt = at(25)
	mustKeyEverywhere(t, s, "a after touching backwards", a)
	mustKeyEverywhere(t, s, "b after touching forward", b)
	mustKeyEverywhere(t, s, "key touched at the zero time", untouched)
	mustOK(t, "TouchAPIKeys(same ms)", s.TouchAPIKeys(ctx(t), map[string]time.Time{
		b.UID: at(25).Truncate(time.Millisecond).Add(999 * time.Microsecond),
	}))
	mustKeyEverywhere(t, s, "b after touching within the same millisecond", b)
	// A deleted key is skipped without error too.
	mustOK(t, "DeleteAPIKey", s.DeleteAPIKey(ctx(t), b.UID))
	mustOK(t, "TouchAPIKeys(deleted key)", s.TouchAPIKeys(ctx(t), map[string]time.Time{b.UID: at(60), a.UID: at(61)}))
	a.LastUsedAt = at(61)
	mustKeyEverywhere(t, s, "a after touching with a deleted key", a)
}

// testAPIKeyLimitPerUser: a user holds at most maxPerUser keys (0: no limit); the limit is
// per user, and deleting a key makes room again.
func testAPIKeyLimitPerUser(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	alice := mustUser(t, s, tn.UID, "alice@example.com", 0)
	bob := mustUser(t, s, tn.UID, "bob@example.com", 0)
	const limit = 3
	var held []storage.APIKey
	for range limit {
		k := newKey(alice)
		mustOK(t, "CreateAPIKey(under the limit)", s.CreateAPIKey(ctx(t), k, limit))
		held = append(held, k)
	}
	over := newKey(alice)
	wantErr(t, "CreateAPIKey(over the limit)", s.CreateAPIKey(ctx(t), over, limit), storage.ErrLimitReached)
	_, err := s.APIKeyByUID(ctx(t), over.UID)
	wantErr(t, "APIKeyByUID of the refused key", err, storage.ErrNotFound)

	mustOK(t, "CreateAPIKey(another user)", s.CreateAPIKey(ctx(t), newKey(bob), limit))
	mustOK(t, "CreateAPIKey(no limit)", s.CreateAPIKey(ctx(t), newKey(alice), 0))
	wantErr(t, "CreateAPIKey(over a higher limit: every key held counts)", s.CreateAPIKey(ctx(t), newKey(alice), limit+1), storage.ErrLimitReached)
	for _, k := range held[:2] {
		mustOK(t, "DeleteAPIKey", s.DeleteAPIKey(ctx(t), k.UID))
	}
	mustOK(t, "CreateAPIKey(after deleting)", s.CreateAPIKey(ctx(t), newKey(alice), limit+1))
	wantErr(t, "CreateAPIKey(unknown user, with a limit)", s.CreateAPIKey(ctx(t), newKey(storage.User{UID: "no-such-user", TenantUID: tn.UID}), limit), storage.ErrNotFound)
}

// testAPIKeyLimitPerUserConcurrent creates keys for one user from many goroutines at
// once (as many nodes might): exactly the limit succeed.
func testAPIKeyLimitPerUserConcurrent(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	const limit, racers = 5, 12
	errs := AtOnce(racers, func(int) error { return s.CreateAPIKey(ctx(t), newKey(u), limit) })
	created := countWins(t, "refused concurrent CreateAPIKey", errs, storage.ErrLimitReached)
	keys, _, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: tn.UID, UserUID: u.UID}, storage.Page{Limit: 50})
	mustOK(t, "ListAPIKeys", err)
	if created != limit || len(keys) != limit {
		t.Errorf("%d concurrent creates with a limit of %d: %d succeeded and %d keys exist, want %d",
			racers, limit, created, len(keys), limit)
	}
}

// testRecentKeyGrants: the active, unexpired keys used since a time, most recent first,
// with their owners and the owners' roles.
func testRecentKeyGrants(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "a@acme.example", 0)
	mustOK(t, "SetUserRoles", s.Update(ctx(t), func(tx storage.Tx) error {
		return tx.SetUserRoles(ctx(t), u.UID, []string{storage.RoleUIDTenantAdmin})
	}))
	mk := func(used time.Duration, edit func(*storage.APIKey)) storage.APIKey {
		k := newKey(u)
		k.LastUsedAt = t0.Add(used)
		if edit != nil {
			edit(&k)
		}
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), k, 0))
		return k
	}
	recent, older := mk(50*time.Minute, nil), mk(20*time.Minute, nil)
	mk(-time.Hour, nil)                                                                // used before since
	mk(55*time.Minute, func(k *storage.APIKey) { k.Active = false })                   // revoked
	mk(55*time.Minute, func(k *storage.APIKey) { k.ExpiresAt = t0.Add(-time.Minute) }) // expired
	got, err := s.RecentKeyGrants(ctx(t), t0, t0.Add(time.Hour), 10)
	mustOK(t, "RecentKeyGrants", err)
	if len(got) != 2 || got[0].Key.UID != recent.UID || got[1].Key.UID != older.UID {
		t.Fatalf("RecentKeyGrants = %+v; want the two live keys used since, newest first", got)
	}
	if got[0].User.UID != u.UID || got[0].User.Role != storage.RoleTenantAdmin || len(got[0].User.TenantRoles) != 1 {
		t.Errorf("the owner = %+v; want the user with their role", got[0].User)
	}
	if one, _ := s.RecentKeyGrants(ctx(t), t0, t0.Add(time.Hour), 1); len(one) != 1 || one[0].Key.UID != recent.UID {
		t.Errorf("limit 1 = %+v", one)
	}
}
