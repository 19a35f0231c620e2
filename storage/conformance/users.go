package conformance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var userTests = []suiteTest{
	{"User/RoundTrip", testUserRoundTrip},
	{"User/NotFound", testUserNotFound},
	{"User/DuplicateEmailAnyCase", testUserDuplicateEmail},
	{"User/DuplicateUID", testUserDuplicateUID},
	{"User/UnknownTenant", testUserUnknownTenant},
	{"User/SameEmailInTwoTenants", testUserSameEmailTwoTenants},
	{"User/SetDisabled", testUserSetDisabled},
	{"User/SetDisabledNotFound", unknownIsNotFound("SetUserDisabled(unknown)", func(c context.Context, s storage.Store) error {
		return s.SetUserDisabled(c, "no-such-user", true)
	})},
	{"User/Update", testUserUpdate},
	{"User/UpdateNotFound", unknownIsNotFound("UpdateUser(unknown)", func(c context.Context, s storage.Store) error {
		return s.UpdateUser(c, "no-such-user", "a", "b", storage.RoleUser)
	})},
	{"User/SetPassword", testUserSetPassword},
	{"User/SetPasswordNotFound", unknownIsNotFound("SetUserPassword(unknown)", func(c context.Context, s storage.Store) error {
		return s.SetUserPassword(c, "no-such-user", "", t0)
	})},
	{"User/Delete", testUserDelete},
}

// testUserSetPassword: the hash is replaced, the user's live sessions are revoked at the
// time given, a session revoked before keeps its time, and other users are untouched.
func testUserSetPassword(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	other := mustUser(t, s, tn.UID, "bob@example.com", 0)
	live, earlier, othersLive := mustSession(t, s, u, 0), mustSession(t, s, u, time.Second), mustSession(t, s, other, 0)
	first := t0.Add(time.Hour)
	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), earlier.ID, first))

	before := time.Now()
	at := t0.Add(2 * time.Hour)
	mustOK(t, "SetUserPassword", s.SetUserPassword(ctx(t), u.UID, "new-hash", at))
	got, err := s.UserByUID(ctx(t), u.UID)
	mustOK(t, "UserByUID", err)
	if got.PasswordHash != "new-hash" {
		t.Errorf("PasswordHash = %q, want the new hash", got.PasswordHash)
	}
	aboutNow(t, "UpdatedAt after SetUserPassword", got.UpdatedAt, before)
	wantLive, wantEarlier := live, earlier
	wantLive.RevokedAt, wantEarlier.RevokedAt = at, first
	sameRecord(t, "live session", mustSessionByID(t, s, live.ID), wantLive)
	sameRecord(t, "session revoked before", mustSessionByID(t, s, earlier.ID), wantEarlier)
	sameRecord(t, "another user's session", mustSessionByID(t, s, othersLive.ID), othersLive)
	mustUserByUID(t, s, "another user", other)

	mustOK(t, "SetUserPassword(\"\")", s.SetUserPassword(ctx(t), u.UID, "", at))
	if got, _ := s.UserByUID(ctx(t), u.UID); got.PasswordHash != "" {
		t.Errorf("PasswordHash = %q after clearing it", got.PasswordHash)
	}
}

func testUserRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	want := newUser(tn.UID, "Alice.Smith@Example.COM", 0)
	want.Role = storage.RoleTenantAdmin
	mustOK(t, "CreateUser", s.CreateUser(ctx(t), want))
	// A disabled user without a password round-trips too.
	bare := newUser(tn.UID, "robot@example.com", time.Second)
	bare.Disabled, bare.PasswordHash = true, ""
	mustOK(t, "CreateUser(bare)", s.CreateUser(ctx(t), bare))

	for _, u := range []storage.User{want, bare} {
		got, err := s.UserByUID(ctx(t), u.UID)
		mustOK(t, "UserByUID", err)
		sameRecord(t, "UserByUID", got, lowerEmail(u))
	}
	got, err := s.UsersByEmail(ctx(t), "alice.smith@example.com")
	mustOK(t, "UsersByEmail", err)
	if len(got) != 1 {
		t.Fatalf("UsersByEmail = %v, want one user", userUIDs(got))
	}
	sameRecord(t, "UsersByEmail", got[0], lowerEmail(want))
}

// mustUserByUID checks that UserByUID returns want.
func mustUserByUID(t *testing.T, s storage.Store, what string, want storage.User) {
	t.Helper()
	got, err := s.UserByUID(ctx(t), want.UID)
	mustOK(t, what+": UserByUID", err)
	sameRecord(t, what, got, want)
}

func testUserNotFound(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	mustUser(t, s, tn.UID, "alice@example.com", 0)
	_, err := s.UserByUID(ctx(t), "no-such-user")
	wantErr(t, "UserByUID(unknown)", err, storage.ErrNotFound)
	users, err := s.UsersByEmail(ctx(t), "nobody@example.com")
	mustOK(t, "UsersByEmail(unknown)", err)
	if len(users) != 0 {
		t.Errorf("UsersByEmail(unknown) = %v, want none", userUIDs(users))
	}
}

func testUserDuplicateEmail(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	first := mustUser(t, s, tn.UID, "alice@example.com", 0)
	for _, email := range []string{"alice@example.com", "ALICE@Example.com"} {
		err := s.CreateUser(ctx(t), newUser(tn.UID, email, time.Second))
		wantErr(t, "CreateUser("+email+") again", err, storage.ErrConflict)
	}
	// Nothing of the refused writes remains.
	users, err := s.UsersByEmail(ctx(t), "alice@example.com")
	mustOK(t, "UsersByEmail", err)
	if !slices.Equal(userUIDs(users), []string{first.UID}) {
		t.Errorf("UsersByEmail = %v, want only %s", userUIDs(users), first.UID)
	}
}

func testUserDuplicateUID(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	first := mustUser(t, s, tn.UID, "alice@example.com", 0)
	dup := newUser(tn.UID, "bob@example.com", time.Second)
	dup.UID = first.UID
	wantErr(t, "CreateUser(same uid)", s.CreateUser(ctx(t), dup), storage.ErrConflict)
	users, err := s.UsersByEmail(ctx(t), "bob@example.com")
	mustOK(t, "UsersByEmail", err)
	if len(users) != 0 {
		t.Errorf("UsersByEmail(bob) = %v, want none after the refused write", userUIDs(users))
	}
	mustUserByUID(t, s, "UserByUID after a refused duplicate", first)
}

func testUserUnknownTenant(t *testing.T, s storage.Store) {
	u := newUser("no-such-tenant", "alice@example.com", 0)
	wantErr(t, "CreateUser(unknown tenant)", s.CreateUser(ctx(t), u), storage.ErrNotFound)
	_, err := s.UserByUID(ctx(t), u.UID)
	wantErr(t, "UserByUID of the refused user", err, storage.ErrNotFound)
}

func testUserSameEmailTwoTenants(t *testing.T, s storage.Store) {
	a := mustTenant(t, s, "a")
	b := mustTenant(t, s, "b")
	// Created newest first, so that insertion order and age order differ.
	newer := mustUser(t, s, a.UID, "Alice@Example.com", time.Hour)
	older := mustUser(t, s, b.UID, "alice@example.com", 0)
	users, err := s.UsersByEmail(ctx(t), "ALICE@example.COM")
	mustOK(t, "UsersByEmail", err)
	want := []string{older.UID, newer.UID}
	if !slices.Equal(userUIDs(users), want) {
		t.Fatalf("UsersByEmail = %v, want %v (oldest first)", userUIDs(users), want)
	}
	sameRecord(t, "UsersByEmail[0]", users[0], lowerEmail(older))
	sameRecord(t, "UsersByEmail[1]", users[1], lowerEmail(newer))
}

func testUserSetDisabled(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	other := mustUser(t, s, tn.UID, "bob@example.com", 0)
	for _, disabled := range []bool{true, false, true} {
		before := time.Now()
		mustOK(t, "SetUserDisabled", s.SetUserDisabled(ctx(t), u.UID, disabled))
		got, err := s.UserByUID(ctx(t), u.UID)
		mustOK(t, "UserByUID", err)
		if got.Disabled != disabled {
			t.Errorf("after SetUserDisabled(%v): Disabled = %v", disabled, got.Disabled)
		}
		aboutNow(t, "UpdatedAt after SetUserDisabled", got.UpdatedAt, before)
		want := lowerEmail(u)
		want.Disabled, want.UpdatedAt = disabled, got.UpdatedAt
		sameRecord(t, "UserByUID after SetUserDisabled", got, want)
	}
	mustUserByUID(t, s, "other user", other)
}

func testUserUpdate(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := newUser(tn.UID, "Alice@Example.com", 0)
	u.Disabled = true
	mustOK(t, "CreateUser", s.CreateUser(ctx(t), u))
	k := mustKey(t, s, u)
	other := mustUser(t, s, tn.UID, "bob@example.com", 0)

	for _, c := range []struct {
		first, last string
		role        storage.Role
	}{
		{"Alicia", "Smith-Jones", storage.RoleTenantAdmin},
		{"", "", storage.RoleUser},
	} {
		before := time.Now()
		mustOK(t, "UpdateUser", s.UpdateUser(ctx(t), u.UID, c.first, c.last, c.role))
		got, err := s.UserByUID(ctx(t), u.UID)
		mustOK(t, "UserByUID", err)
		aboutNow(t, "UpdatedAt after UpdateUser", got.UpdatedAt, before)
		// uid, tenant, email, password and the disabled flag stay.
		want := u
		want.FirstName, want.LastName, want.Role, want.UpdatedAt = c.first, c.last, c.role, got.UpdatedAt
		want = lowerEmail(want)
		sameRecord(t, "UserByUID after UpdateUser", got, want)
		g, err := s.KeyGrantByDigest(ctx(t), k.Digest)
		mustOK(t, "KeyGrantByDigest", err)
		sameRecord(t, "KeyGrant.User after UpdateUser", g.User, want)
	}
	mustUserByUID(t, s, "other user", other)
}

// testUserDelete: the user goes with their keys, sessions (live or revoked) and
// memberships; another user of the tenant keeps theirs; the email is free again.
func testUserDelete(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	bob := mustUser(t, s, tn.UID, "bob@example.com", 0)
	keys := []storage.APIKey{mustKey(t, s, u), mustKey(t, s, u)}
	live, revoked := mustSession(t, s, u, 0), mustSession(t, s, u, time.Second)
	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), revoked.ID, t0.Add(time.Hour)))
	p, q := mustProject(t, s, tn.UID, "p"), mustProject(t, s, tn.UID, "q")
	for _, pr := range []storage.Project{p, q} {
		mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), pr.UID, u.UID))
	}
	bobKey, bobSession := mustKey(t, s, bob), mustSession(t, s, bob, 0)
	mustOK(t, "AddProjectMember(bob)", s.AddProjectMember(ctx(t), p.UID, bob.UID))

	mustOK(t, "DeleteUser", s.DeleteUser(ctx(t), u.UID))

	_, err := s.UserByUID(ctx(t), u.UID)
	wantErr(t, "UserByUID after DeleteUser", err, storage.ErrNotFound)
	for _, k := range keys {
		mustKeyGone(t, s, "key of the deleted user", k)
	}
	for _, sess := range []storage.Session{live, revoked} {
		_, err := s.SessionByID(ctx(t), sess.ID)
		wantErr(t, "SessionByID of the deleted user's session", err, storage.ErrNotFound)
	}
	if ids, err := s.RevokedSessionsSince(ctx(t), time.Time{}); err != nil || slices.Contains(ids, revoked.ID) {
		t.Errorf("RevokedSessionsSince after DeleteUser = %v, %v; want no session of the deleted user", ids, err)
	}
	checkAccess(t, s, p, u.UID, false)
	projects, err := s.UserProjects(ctx(t), u.UID)
	mustOK(t, "UserProjects(deleted user)", err)
	if len(projects) != 0 {
		t.Errorf("UserProjects(deleted user) = %v, want none", projectUIDs(projects))
	}
	members, err := s.ProjectMembers(ctx(t), p.UID)
	mustOK(t, "ProjectMembers", err)
	if !slices.Equal(members, []string{bob.UID}) {
		t.Errorf("ProjectMembers after DeleteUser = %v, want [%s]", members, bob.UID)
	}
	users, _, err := s.ListUsers(ctx(t), tn.UID, storage.Page{})
	mustOK(t, "ListUsers", err)
	if !slices.Equal(userUIDs(users), []string{bob.UID}) {
		t.Errorf("ListUsers after DeleteUser = %v, want [%s]", userUIDs(users), bob.UID)
	}

	// Bob keeps everything.
	mustKeyEverywhere(t, s, "bob's key", bobKey)
	sameRecord(t, "bob's session", mustSessionByID(t, s, bobSession.ID), bobSession)
	checkAccess(t, s, p, bob.UID, true)

	wantErr(t, "DeleteUser again", s.DeleteUser(ctx(t), u.UID), storage.ErrNotFound)
	wantErr(t, "DeleteUser(unknown)", s.DeleteUser(ctx(t), "no-such-user"), storage.ErrNotFound)
	mustUser(t, s, tn.UID, "alice@example.com", time.Hour)
}
