package conformance

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var passwordTokenTests = []suiteTest{
	{"PasswordToken/RoundTripAndReplace", testPasswordTokenRoundTrip},
	{"PasswordToken/TakeOnce", testPasswordTokenTakeOnce},
	{"PasswordToken/EndsWithPasswordOrUser", testPasswordTokenEnds},
	{"PasswordToken/InTransaction", testPasswordTokenInTransaction},
	{"PasswordToken/UnknownUser", unknownIsNotFound("CreatePasswordToken(unknown user)", func(c context.Context, s storage.Store) error {
		tn := storage.Tenant{UID: newUID("tenant"), Name: newUID("name"), CreatedAt: t0}
		if err := s.CreateTenant(c, tn); err != nil {
			return err
		}
		return s.CreatePasswordToken(c, newPasswordToken(storage.User{UID: "no-such-user", TenantUID: tn.UID}, 0))
	})},
	{"TenantSettings/RoundTrip", testTenantSettings},
	{"TenantSettings/UnknownTenant", unknownIsNotFound("SetTenantSettings(unknown)", func(c context.Context, s storage.Store) error {
		return s.SetTenantSettings(c, storage.TenantSettings{TenantUID: "no-such-tenant", TokenTTL: time.Hour, UpdatedAt: t0})
	})},
}

// newPasswordToken is a token of u created age after t0, valid a day, with a digest
// derived from its id.
func newPasswordToken(u storage.User, age time.Duration) storage.PasswordToken {
	id := newUID("pwtoken")
	d := sha256.Sum256([]byte(id))
	return storage.PasswordToken{ID: id, TenantUID: u.TenantUID, UserUID: u.UID, Digest: d[:], CreatedAt: t0.Add(age), ExpiresAt: t0.Add(age + 24*time.Hour)}
}

func mustPasswordToken(t *testing.T, s storage.Store, u storage.User, age time.Duration) storage.PasswordToken {
	t.Helper()
	pt := newPasswordToken(u, age)
	mustOK(t, "CreatePasswordToken", s.CreatePasswordToken(ctx(t), pt))
	return pt
}

func tenantTokens(t *testing.T, s storage.Store, tenantUID string) []storage.PasswordToken {
	t.Helper()
	got, err := s.PasswordTokens(ctx(t), tenantUID)
	mustOK(t, "PasswordTokens", err)
	if got == nil {
		t.Error("PasswordTokens returned nil, want an empty list")
	}
	return got
}

// testPasswordTokenRoundTrip: a token reads back as written, per tenant and oldest
// first; a user's second token replaces the first.
func testPasswordTokenRoundTrip(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	alice := mustUser(t, s, tn.UID, "alice@example.com", 0)
	bob := mustUser(t, s, tn.UID, "bob@example.com", 0)
	carol := mustUser(t, s, other.UID, "carol@example.com", 0)
	if got := tenantTokens(t, s, tn.UID); len(got) != 0 {
		t.Fatalf("PasswordTokens of a fresh tenant = %v", got)
	}
	first := mustPasswordToken(t, s, alice, time.Second)
	bobs := mustPasswordToken(t, s, bob, 0)
	mustPasswordToken(t, s, carol, 0)
	got := tenantTokens(t, s, tn.UID)
	if len(got) != 2 {
		t.Fatalf("PasswordTokens = %d tokens, want 2", len(got))
	}
	sameRecord(t, "oldest token", got[0], bobs)
	sameRecord(t, "newer token", got[1], first)

	second := mustPasswordToken(t, s, alice, 2*time.Second)
	got = tenantTokens(t, s, tn.UID)
	if len(got) != 2 || got[1].ID != second.ID {
		t.Fatalf("after a second token for alice: %v, want bob's and alice's second", got)
	}
	err := s.Update(ctx(t), func(tx storage.Tx) error { _, err := tx.TakePasswordToken(ctx(t), first.Digest); return err })
	wantErr(t, "TakePasswordToken(replaced)", err, storage.ErrNotFound)
}

// testPasswordTokenTakeOnce: taking a token returns it and deletes it; of concurrent
// takes of one token exactly one succeeds.
func testPasswordTokenTakeOnce(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	pt := mustPasswordToken(t, s, u, 0)
	const takers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won, lost int
	for range takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got storage.PasswordToken
			err := s.Update(ctx(t), func(tx storage.Tx) (err error) {
				got, err = tx.TakePasswordToken(ctx(t), pt.Digest)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
				sameRecord(t, "taken token", got, pt)
			case errors.Is(err, storage.ErrNotFound):
				lost++
			default:
				t.Errorf("TakePasswordToken: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != takers-1 {
		t.Errorf("%d takes succeeded and %d found nothing, want 1 and %d", won, lost, takers-1)
	}
	if got := tenantTokens(t, s, tn.UID); len(got) != 0 {
		t.Errorf("a taken token is still listed: %v", got)
	}
}

// testPasswordTokenEnds: a new password, or deleting the user, ends their pending token.
func testPasswordTokenEnds(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	alice := mustUser(t, s, tn.UID, "alice@example.com", 0)
	bob := mustUser(t, s, tn.UID, "bob@example.com", 0)
	mustPasswordToken(t, s, alice, 0)
	bobs := mustPasswordToken(t, s, bob, time.Second)
	mustOK(t, "SetUserPassword", s.SetUserPassword(ctx(t), alice.UID, "new-hash", t0.Add(time.Hour)))
	if got := tenantTokens(t, s, tn.UID); len(got) != 1 || got[0].ID != bobs.ID {
		t.Fatalf("after alice's new password the tokens are %v, want bob's only", got)
	}
	mustOK(t, "DeleteUser", s.DeleteUser(ctx(t), bob.UID))
	if got := tenantTokens(t, s, tn.UID); len(got) != 0 {
		t.Errorf("a deleted user's token is still listed: %v", got)
	}
}

// testPasswordTokenInTransaction: a token created or taken in a transaction that fails
// is not created or taken.
func testPasswordTokenInTransaction(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	pt := mustPasswordToken(t, s, u, 0)
	errAbort := errors.New("abort")
	err := s.Update(ctx(t), func(tx storage.Tx) error {
		if _, err := tx.TakePasswordToken(ctx(t), pt.Digest); err != nil {
			return err
		}
		return errAbort
	})
	wantErr(t, "aborted take", err, errAbort)
	err = s.Update(ctx(t), func(tx storage.Tx) error {
		mustOK(t, "Tx.CreatePasswordToken", tx.CreatePasswordToken(ctx(t), newPasswordToken(u, time.Hour)))
		return errAbort
	})
	wantErr(t, "aborted create", err, errAbort)
	if got := tenantTokens(t, s, tn.UID); len(got) != 1 || got[0].ID != pt.ID {
		t.Fatalf("after two aborted transactions the tokens are %v, want the first only", got)
	}
	var taken storage.PasswordToken
	mustOK(t, "Update(take)", s.Update(ctx(t), func(tx storage.Tx) (err error) {
		taken, err = tx.TakePasswordToken(ctx(t), pt.Digest)
		return err
	}))
	sameRecord(t, "taken", taken, pt)
}

// testTenantSettings: an unset tenant reads zero values; set values read back, per
// tenant; an unknown tenant is ErrNotFound.
func testTenantSettings(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	got, err := s.TenantSettings(ctx(t), tn.UID)
	mustOK(t, "TenantSettings(unset)", err)
	if got.TenantUID != tn.UID || got.TokenTTL != 0 || !got.UpdatedAt.IsZero() {
		t.Errorf("unset settings = %+v, want zero values of %s", got, tn.UID)
	}
	want := storage.TenantSettings{TenantUID: tn.UID, TokenTTL: 90 * time.Minute, UpdatedAt: t0}
	mustOK(t, "SetTenantSettings", s.SetTenantSettings(ctx(t), want))
	got, err = s.TenantSettings(ctx(t), tn.UID)
	mustOK(t, "TenantSettings", err)
	sameRecord(t, "settings", got, want)
	want.TokenTTL, want.UpdatedAt = 24*time.Hour, t0.Add(time.Minute)
	mustOK(t, "Update(SetTenantSettings)", s.Update(ctx(t), func(tx storage.Tx) error { return tx.SetTenantSettings(ctx(t), want) }))
	got, _ = s.TenantSettings(ctx(t), tn.UID)
	sameRecord(t, "settings replaced", got, want)
	if o, err := s.TenantSettings(ctx(t), other.UID); err != nil || o.TokenTTL != 0 {
		t.Errorf("another tenant's settings = %+v, %v; want unset", o, err)
	}
	_, err = s.TenantSettings(ctx(t), "no-such-tenant")
	wantErr(t, "TenantSettings(unknown)", err, storage.ErrNotFound)
}
