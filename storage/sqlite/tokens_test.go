package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// changesSince returns the changes recorded after seq, as "kind ref" strings.
func changesSince(t *testing.T, s *sqlite.Store, seq int64) []string {
	t.Helper()
	changes, err := s.ChangesAfter(context.Background(), seq, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range changes {
		out = append(out, string(c.Kind)+" "+c.Ref)
	}
	return out
}

func latestSeq(t *testing.T, s *sqlite.Store) int64 {
	t.Helper()
	seq, err := s.LatestChangeSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestSetUserDisabledChanges pins exactly what SetUserDisabled records: one ChangeUser,
// then one ChangeAPIKey per key; and nothing when the user does not exist.
func TestSetUserDisabledChanges(t *testing.T) {
	ctx := context.Background()
	s, k, k2 := openWithTwoKeys(t)
	mustRecord(t, s, "SetUserDisabled", func() error { return s.SetUserDisabled(ctx, "u-alice", true) },
		"user u-alice", "apikey "+ref(k), "apikey "+ref(k2))
	mustRecordNothing(t, s, "SetUserDisabled(unknown)", storage.ErrNotFound,
		func() error { return s.SetUserDisabled(ctx, "no-such-user", true) })
}

// TestRevokeSessionChanges pins that a revocation is announced once: revoking again
// changes nothing and records nothing, and neither does a refused revocation.
func TestRevokeSessionChanges(t *testing.T) {
	ctx := context.Background()
	s, sess := openWithSession(t)
	mustRecord(t, s, "RevokeSession three times", func() error {
		for range 3 {
			if err := s.RevokeSession(ctx, sess.ID, t0.Add(time.Minute)); err != nil {
				return err
			}
		}
		return nil
	}, "session s-1")
	mustRecordNothing(t, s, "RevokeSession(unknown)", storage.ErrNotFound,
		func() error { return s.RevokeSession(ctx, "no-such-session", t0) })
}

// TestRevokeSessionZeroTime: the zero time is stored as "live", so revoking at it would
// report success and revoke nothing. It is refused, and not as ErrNotFound.
func TestRevokeSessionZeroTime(t *testing.T) {
	ctx := context.Background()
	s, sess := openWithSession(t)
	seq := latestSeq(t, s)
	err := s.RevokeSession(ctx, sess.ID, time.Time{})
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("RevokeSession(zero time) = %v, want an error other than ErrNotFound", err)
	}
	got, err := s.SessionByID(ctx, sess.ID)
	if err != nil || !got.RevokedAt.IsZero() {
		t.Errorf("session after a refused revocation = %+v, %v; want live", got, err)
	}
	if got := changesSince(t, s, seq); len(got) != 0 {
		t.Errorf("refused revocation recorded %q", got)
	}
}

// TestSigningKeyEmptySecret: an empty HMAC key would make tokens forgeable.
func TestSigningKeyEmptySecret(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite.Options{Path: tempPath(t)})
	for _, secret := range [][]byte{nil, {}} {
		err := s.CreateSigningKey(ctx, storage.SigningKey{KID: "k1", Secret: secret, CreatedAt: t0})
		if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
			t.Errorf("CreateSigningKey(secret %#v) = %v, want a plain error", secret, err)
		}
	}
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Errorf("SigningKeys = %d keys, %v; want none", len(keys), err)
	}
}

// TestTokenErrorMessages checks that errors say what conflicted or was missing, and that
// a signing key's secret never appears in one.
func TestTokenErrorMessages(t *testing.T) {
	ctx := context.Background()
	s, sess := openWithSession(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	if err := s.CreateSigningKey(ctx, storage.SigningKey{KID: "kid-1", Secret: secret, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	keyErr := s.CreateSigningKey(ctx, storage.SigningKey{KID: "kid-1", Secret: secret, CreatedAt: t0})
	if strings.Contains(keyErr.Error(), string(secret)) {
		t.Errorf("error %q holds the secret", keyErr)
	}
	misfiled := sess
	misfiled.ID, misfiled.TenantUID = "s-2", "t-other"
	for _, c := range []struct {
		err    error
		target error
		want   string
	}{
		{keyErr, storage.ErrConflict, `signing key "kid-1": kid taken`},
		{s.CreateSession(ctx, sess), storage.ErrConflict, `session id "s-1" taken`},
		{s.CreateSession(ctx, misfiled), storage.ErrNotFound, `user "u-alice" in tenant "t-other"`},
	} {
		if !errors.Is(c.err, c.target) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v: want %v saying %q", c.err, c.target, c.want)
		}
	}
}
