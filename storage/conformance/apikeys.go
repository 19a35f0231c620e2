package conformance

import (
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var apiKeyTests = []suiteTest{
	{"APIKey/RoundTrip", testAPIKeyRoundTrip},
	{"APIKey/NotFound", testAPIKeyNotFound},
	{"APIKey/DuplicateDigest", testAPIKeyDuplicateDigest},
	{"APIKey/DuplicateUID", testAPIKeyDuplicateUID},
	{"APIKey/UnknownOwner", testAPIKeyUnknownOwner},
	{"APIKey/SetActive", testAPIKeySetActive},
	{"APIKey/SetActiveNotFound", testAPIKeySetActiveNotFound},
	{"APIKey/GrantFollowsOwner", testKeyGrantFollowsOwner},
}

func testAPIKeyRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "Alice@Example.com", 0)
	want := mustKey(t, s, u)
	// A revoked key that never expires round-trips too.
	forever := newKey(u)
	forever.ExpiresAt, forever.Active, forever.Description = time.Time{}, false, ""
	mustOK(t, "CreateAPIKey(no expiry)", s.CreateAPIKey(ctx(t), forever))

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
	wantErr(t, "CreateAPIKey(same digest)", s.CreateAPIKey(ctx(t), dup), storage.ErrConflict)
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
	wantErr(t, "CreateAPIKey(same uid)", s.CreateAPIKey(ctx(t), dup), storage.ErrConflict)
	_, err := s.KeyGrantByDigest(ctx(t), dup.Digest)
	wantErr(t, "KeyGrantByDigest of the refused key", err, storage.ErrNotFound)
}

func testAPIKeyUnknownOwner(t *testing.T, s storage.Store) {
	a := mustTenant(t, s, "a")
	b := mustTenant(t, s, "b")
	u := mustUser(t, s, a.UID, "alice@example.com", 0)

	orphan := newKey(u)
	orphan.UserUID = "no-such-user"
	wantErr(t, "CreateAPIKey(unknown user)", s.CreateAPIKey(ctx(t), orphan), storage.ErrNotFound)

	// A key must live in its user's tenant.
	misfiled := newKey(u)
	misfiled.TenantUID = b.UID
	wantErr(t, "CreateAPIKey(user of another tenant)", s.CreateAPIKey(ctx(t), misfiled), storage.ErrNotFound)

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
		before := time.Now().Add(-time.Second)
		mustOK(t, "SetAPIKeyActive", s.SetAPIKeyActive(ctx(t), k.UID, active))
		got, err := s.APIKeyByUID(ctx(t), k.UID)
		mustOK(t, "APIKeyByUID", err)
		if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("after SetAPIKeyActive: UpdatedAt = %v, want about now", got.UpdatedAt)
		}
		want := k
		want.Active, want.UpdatedAt = active, got.UpdatedAt
		sameRecord(t, "APIKeyByUID after SetAPIKeyActive", got, want)
		g, err := s.KeyGrantByDigest(ctx(t), k.Digest)
		mustOK(t, "KeyGrantByDigest", err)
		if g.Key.Active != active {
			t.Errorf("KeyGrantByDigest after SetAPIKeyActive(%v): Active = %v", active, g.Key.Active)
		}
	}
	got, err := s.APIKeyByUID(ctx(t), other.UID)
	mustOK(t, "APIKeyByUID(other)", err)
	sameRecord(t, "other key", got, other)
}

func testAPIKeySetActiveNotFound(t *testing.T, s storage.Store) {
	err := s.SetAPIKeyActive(ctx(t), "no-such-key", false)
	wantErr(t, "SetAPIKeyActive(unknown)", err, storage.ErrNotFound)
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
