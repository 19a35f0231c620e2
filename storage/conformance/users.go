package conformance

import (
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
	{"User/SetDisabledNotFound", testUserSetDisabledNotFound},
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
	got, err := s.UserByUID(ctx(t), first.UID)
	mustOK(t, "UserByUID", err)
	sameRecord(t, "UserByUID", got, first)
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
		before := time.Now().Add(-time.Second)
		mustOK(t, "SetUserDisabled", s.SetUserDisabled(ctx(t), u.UID, disabled))
		got, err := s.UserByUID(ctx(t), u.UID)
		mustOK(t, "UserByUID", err)
		if got.Disabled != disabled {
			t.Errorf("after SetUserDisabled(%v): Disabled = %v", disabled, got.Disabled)
		}
		if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("after SetUserDisabled: UpdatedAt = %v, want about now", got.UpdatedAt)
		}
		want := lowerEmail(u)
		want.Disabled, want.UpdatedAt = disabled, got.UpdatedAt
		sameRecord(t, "UserByUID after SetUserDisabled", got, want)
	}
	got, err := s.UserByUID(ctx(t), other.UID)
	mustOK(t, "UserByUID(other)", err)
	sameRecord(t, "other user", got, other)
}

func testUserSetDisabledNotFound(t *testing.T, s storage.Store) {
	err := s.SetUserDisabled(ctx(t), "no-such-user", true)
	wantErr(t, "SetUserDisabled(unknown)", err, storage.ErrNotFound)
}
