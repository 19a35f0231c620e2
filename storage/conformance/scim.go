package conformance

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var scimTests = []suiteTest{
	{"SCIM/TokenRoundTrip", testSCIMTokenRoundTrip},
	{"SCIM/TokenRotationReplaces", testSCIMTokenRotation},
	{"SCIM/TokenDelete", testSCIMTokenDelete},
	{"SCIM/TokenInTransaction", testSCIMTokenInTransaction},
	{"SCIM/TokenUnknownTenant", unknownIsNotFound("SetSCIMToken(unknown tenant)", func(c context.Context, s storage.Store) error {
		return s.SetSCIMToken(c, newSCIMToken("no-such-tenant"))
	})},
	{"SCIM/ExternalIDs", testExternalIDs},
	{"SCIM/ExternalIDGoesWithItsRecord", testExternalIDDeleted},
	{"SCIM/ExternalIDUnknownRecord", unknownIsNotFound("SetExternalID(unknown user)", func(c context.Context, s storage.Store) error {
		return s.SetExternalID(c, storage.ExternalUser, "no-such-user", "ext")
	})},
}

func newSCIMToken(tenantUID string) storage.SCIMToken {
	d := sha256.Sum256([]byte(newUID("scim")))
	return storage.SCIMToken{TenantUID: tenantUID, Digest: d[:], Hint: "kgscim_Ab…yZ", CreatedAt: t0}
}

func testSCIMTokenRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	_, err := s.SCIMToken(ctx(t), tn.UID)
	wantErr(t, "SCIMToken before any", err, storage.ErrNotFound)
	tok := newSCIMToken(tn.UID)
	mustOK(t, "SetSCIMToken", s.SetSCIMToken(ctx(t), tok))
	want := tok
	want.CreatedAt = t0.UTC().Truncate(time.Millisecond)
	got, err := s.SCIMToken(ctx(t), tn.UID)
	mustOK(t, "SCIMToken", err)
	sameRecord(t, "SCIMToken", got, want)
	got, err = s.SCIMTokenByDigest(ctx(t), tok.Digest)
	mustOK(t, "SCIMTokenByDigest", err)
	sameRecord(t, "SCIMTokenByDigest", got, want)
	used := t0.Add(time.Hour)
	mustOK(t, "TouchSCIMToken", s.TouchSCIMToken(ctx(t), tok.Digest, used))
	got, err = s.SCIMToken(ctx(t), tn.UID)
	mustOK(t, "SCIMToken after touch", err)
	if !got.LastUsedAt.Equal(used.Truncate(time.Millisecond)) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
	}
	mustOK(t, "TouchSCIMToken(unknown)", s.TouchSCIMToken(ctx(t), []byte("nope"), used))
	_, err = s.SCIMTokenByDigest(ctx(t), []byte("nope"))
	wantErr(t, "SCIMTokenByDigest(unknown)", err, storage.ErrNotFound)
}

// testSCIMTokenRotation: a new token replaces the old one at once; tokens of two
// tenants are apart; a digest is unique.
func testSCIMTokenRotation(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "other")
	first, second, theirs := newSCIMToken(tn.UID), newSCIMToken(tn.UID), newSCIMToken(other.UID)
	mustOK(t, "SetSCIMToken first", s.SetSCIMToken(ctx(t), first))
	mustOK(t, "SetSCIMToken theirs", s.SetSCIMToken(ctx(t), theirs))
	mustOK(t, "SetSCIMToken second", s.SetSCIMToken(ctx(t), second))
	_, err := s.SCIMTokenByDigest(ctx(t), first.Digest)
	wantErr(t, "SCIMTokenByDigest(rotated)", err, storage.ErrNotFound)
	got, err := s.SCIMTokenByDigest(ctx(t), second.Digest)
	mustOK(t, "SCIMTokenByDigest(new)", err)
	if got.TenantUID != tn.UID {
		t.Errorf("new token's tenant = %s, want %s", got.TenantUID, tn.UID)
	}
	if got, err := s.SCIMTokenByDigest(ctx(t), theirs.Digest); err != nil || got.TenantUID != other.UID {
		t.Errorf("the other tenant's token = %v, %v; want it untouched", got, err)
	}
	dup := newSCIMToken(other.UID)
	dup.Digest = second.Digest
	wantErr(t, "SetSCIMToken(taken digest)", s.SetSCIMToken(ctx(t), dup), storage.ErrConflict)
}

func testSCIMTokenDelete(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	wantErr(t, "DeleteSCIMToken(none)", s.DeleteSCIMToken(ctx(t), tn.UID), storage.ErrNotFound)
	tok := newSCIMToken(tn.UID)
	mustOK(t, "SetSCIMToken", s.SetSCIMToken(ctx(t), tok))
	mustOK(t, "DeleteSCIMToken", s.DeleteSCIMToken(ctx(t), tn.UID))
	_, err := s.SCIMTokenByDigest(ctx(t), tok.Digest)
	wantErr(t, "SCIMTokenByDigest(deleted)", err, storage.ErrNotFound)
}

// testSCIMTokenInTransaction: a rotation in an aborted transaction leaves the old token.
func testSCIMTokenInTransaction(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	old := newSCIMToken(tn.UID)
	u := mustUser(t, s, tn.UID, "a@example.com", 0)
	mustOK(t, "SetSCIMToken", s.SetSCIMToken(ctx(t), old))
	errAbort := errors.New("abort")
	err := s.Update(ctx(t), func(tx storage.Tx) error {
		mustOK(t, "Tx.SetSCIMToken", tx.SetSCIMToken(ctx(t), newSCIMToken(tn.UID)))
		mustOK(t, "Tx.SetExternalID", tx.SetExternalID(ctx(t), storage.ExternalUser, u.UID, "x"))
		return errAbort
	})
	wantErr(t, "aborted rotation", err, errAbort)
	if got, err := s.SCIMToken(ctx(t), tn.UID); err != nil || string(got.Digest) != string(old.Digest) {
		t.Errorf("after an aborted rotation the token is %v, %v; want the old one", got, err)
	}
	if got, _ := s.ExternalIDs(ctx(t), storage.ExternalUser, []string{u.UID}); len(got) != 0 {
		t.Errorf("after an aborted transaction the external ids are %v, want none", got)
	}
	mustOK(t, "Update(delete)", s.Update(ctx(t), func(tx storage.Tx) error { return tx.DeleteSCIMToken(ctx(t), tn.UID) }))
	_, err = s.SCIMToken(ctx(t), tn.UID)
	wantErr(t, "SCIMToken after Tx.DeleteSCIMToken", err, storage.ErrNotFound)
}

func testExternalIDs(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	a, b := mustUser(t, s, tn.UID, "a@example.com", 0), mustUser(t, s, tn.UID, "b@example.com", time.Second)
	tm := mustTeam(t, s, tn.UID, "devs", nil, nil)
	mustOK(t, "SetExternalID a", s.SetExternalID(ctx(t), storage.ExternalUser, a.UID, "00u1"))
	mustOK(t, "SetExternalID team", s.SetExternalID(ctx(t), storage.ExternalTeam, tm.UID, "00g1"))
	mustOK(t, "SetExternalID a again", s.SetExternalID(ctx(t), storage.ExternalUser, a.UID, "00u2"))
	got, err := s.ExternalIDs(ctx(t), storage.ExternalUser, []string{a.UID, b.UID, tm.UID})
	mustOK(t, "ExternalIDs users", err)
	if len(got) != 1 || got[a.UID] != "00u2" {
		t.Errorf("ExternalIDs(users) = %v, want only %s: 00u2", got, a.UID)
	}
	got, err = s.ExternalIDs(ctx(t), storage.ExternalTeam, []string{tm.UID})
	mustOK(t, "ExternalIDs teams", err)
	if got[tm.UID] != "00g1" {
		t.Errorf("ExternalIDs(teams) = %v, want %s: 00g1", got, tm.UID)
	}
	mustOK(t, "SetExternalID a none", s.SetExternalID(ctx(t), storage.ExternalUser, a.UID, ""))
	if got, _ := s.ExternalIDs(ctx(t), storage.ExternalUser, []string{a.UID}); len(got) != 0 {
		t.Errorf("after forgetting, ExternalIDs = %v, want none", got)
	}
	if got, err := s.ExternalIDs(ctx(t), storage.ExternalUser, nil); err != nil || len(got) != 0 {
		t.Errorf("ExternalIDs(none) = %v, %v", got, err)
	}
}

// testExternalIDDeleted: deleting a user or team deletes its external id.
func testExternalIDDeleted(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "a@example.com", 0)
	tm := mustTeam(t, s, tn.UID, "devs", []string{u.UID}, nil)
	mustOK(t, "SetExternalID user", s.SetExternalID(ctx(t), storage.ExternalUser, u.UID, "00u1"))
	mustOK(t, "SetExternalID team", s.SetExternalID(ctx(t), storage.ExternalTeam, tm.UID, "00g1"))
	mustOK(t, "DeleteUser", s.DeleteUser(ctx(t), u.UID))
	mustOK(t, "DeleteTeam", s.DeleteTeam(ctx(t), tm.UID))
	for kind, uid := range map[storage.ExternalKind]string{storage.ExternalUser: u.UID, storage.ExternalTeam: tm.UID} {
		if got, err := s.ExternalIDs(ctx(t), kind, []string{uid}); err != nil || len(got) != 0 {
			t.Errorf("ExternalIDs(%s) after delete = %v, %v; want none", kind, got, err)
		}
	}
}
