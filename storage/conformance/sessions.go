package conformance

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var sessionTests = []suiteTest{
	{"Session/RoundTrip", testSessionRoundTrip},
	{"Session/NotFound", testSessionNotFound},
	{"Session/DuplicateID", testSessionDuplicateID},
	{"Session/UnknownUser", testSessionUnknownUser},
	{"Session/Revoke", testSessionRevoke},
	{"Session/RevokeConcurrent", testSessionRevokeConcurrent},
	{"Session/RevokedSince", testSessionRevokedSince},
	{"Session/Prune", testSessionPrune},
	{"Session/RotateToken", testSessionRotateToken},
	{"Session/RotateTokenConcurrent", testSessionRotateTokenConcurrent},
}

func mustSessionByID(t *testing.T, s storage.Store, id string) storage.Session {
	t.Helper()
	got, err := s.SessionByID(ctx(t), id)
	mustOK(t, "SessionByID("+id+")", err)
	return got
}

func testSessionRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	live := mustSession(t, s, u, time.Minute)
	// A session may be stored already revoked.
	revoked := newSession(u, 2*time.Minute)
	revoked.RevokedAt = t0.Add(3 * time.Minute)
	mustOK(t, "CreateSession(revoked)", s.CreateSession(ctx(t), revoked))

	for _, want := range []storage.Session{live, revoked} {
		sameRecord(t, "SessionByID", mustSessionByID(t, s, want.ID), want)
	}
}

func testSessionNotFound(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	mustSession(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0), 0)
	_, err := s.SessionByID(ctx(t), "no-such-session")
	wantErr(t, "SessionByID(unknown)", err, storage.ErrNotFound)
	err = s.RevokeSession(ctx(t), "no-such-session", t0)
	wantErr(t, "RevokeSession(unknown)", err, storage.ErrNotFound)
	_, err = s.SessionByID(ctx(t), "no-such-session")
	wantErr(t, "SessionByID after RevokeSession(unknown)", err, storage.ErrNotFound)
}

func testSessionDuplicateID(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	alice := mustUser(t, s, tn.UID, "alice@example.com", 0)
	bob := mustUser(t, s, tn.UID, "bob@example.com", 0)
	first := mustSession(t, s, alice, 0)
	dup := newSession(bob, time.Hour)
	dup.ID = first.ID
	wantErr(t, "CreateSession(same id)", s.CreateSession(ctx(t), dup), storage.ErrConflict)
	sameRecord(t, "SessionByID after a refused duplicate", mustSessionByID(t, s, first.ID), first)
}

// testSessionUnknownUser: as for API keys, the owner must exist in the session's tenant.
func testSessionUnknownUser(t *testing.T, s storage.Store) {
	a := mustTenant(t, s, "a")
	b := mustTenant(t, s, "b")
	u := mustUser(t, s, a.UID, "alice@example.com", 0)

	orphan := newSession(u, 0)
	orphan.UserUID = "no-such-user"
	misfiled := newSession(u, 0)
	misfiled.TenantUID = b.UID
	nowhere := newSession(u, 0)
	nowhere.TenantUID = "no-such-tenant"
	for name, sess := range map[string]storage.Session{
		"unknown user": orphan, "user of another tenant": misfiled, "unknown tenant": nowhere,
	} {
		wantErr(t, "CreateSession("+name+")", s.CreateSession(ctx(t), sess), storage.ErrNotFound)
		_, err := s.SessionByID(ctx(t), sess.ID)
		wantErr(t, "SessionByID of the refused session ("+name+")", err, storage.ErrNotFound)
	}
}

func testSessionRevoke(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	sess := mustSession(t, s, u, 0)
	other := mustSession(t, s, u, time.Second)

	// first has sub-millisecond digits and a non-UTC zone, like t0.
	first := t0.Add(time.Hour)
	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), sess.ID, first))
	want := sess
	want.RevokedAt = first
	sameRecord(t, "SessionByID after RevokeSession", mustSessionByID(t, s, sess.ID), want)

	// Again, later and earlier: not an error, and the first revocation time stays.
	for _, at := range []time.Time{first.Add(time.Hour), first.Add(-time.Minute)} {
		mustOK(t, "RevokeSession(revoked)", s.RevokeSession(ctx(t), sess.ID, at))
		sameRecord(t, "SessionByID after revoking again", mustSessionByID(t, s, sess.ID), want)
	}
	sameRecord(t, "other session", mustSessionByID(t, s, other.ID), other)
}

// testSessionRevokeConcurrent revokes one session from several goroutines at once (as
// several nodes might): all succeed and one of their times wins.
func testSessionRevokeConcurrent(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	sess := mustSession(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0), 0)
	const racers = 6
	times := make([]time.Time, racers)
	for i := range racers {
		times[i] = t0.Add(time.Duration(i+1) * time.Minute)
	}
	errs := AtOnce(racers, func(i int) error { return s.RevokeSession(ctx(t), sess.ID, times[i]) })
	for i, err := range errs {
		mustOK(t, fmt.Sprintf("concurrent RevokeSession %d", i), err)
	}
	got := mustSessionByID(t, s, sess.ID).RevokedAt
	if !slices.ContainsFunc(times, func(at time.Time) bool { return at.Truncate(time.Millisecond).Equal(got) }) {
		t.Errorf("RevokedAt after concurrent revocations = %v, want one of %v", got, times)
	}
}

func testSessionRevokedSince(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	ids, err := s.RevokedSessionsSince(ctx(t), time.Time{})
	mustOK(t, "RevokedSessionsSince(empty store)", err)
	if len(ids) != 0 {
		t.Errorf("RevokedSessionsSince on a store without sessions = %v, want none", ids)
	}

	live := mustSession(t, s, u, 0)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	r1, r2, r3 := mustSession(t, s, u, 0), mustSession(t, s, u, 0), mustSession(t, s, u, 0)
	for _, c := range []struct {
		sess storage.Session
		at   time.Time
	}{{r2, at(2)}, {r1, at(1)}, {r3, at(3)}} {
		mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), c.sess.ID, c.at))
	}
	// Created revoked.
	r4 := newSession(u, 0)
	r4.RevokedAt = at(4)
	mustOK(t, "CreateSession(revoked)", s.CreateSession(ctx(t), r4))

	for _, c := range []struct {
		name  string
		since time.Time
		want  []string
	}{
		{"zero time", time.Time{}, []string{r1.ID, r2.ID, r3.ID, r4.ID}},
		{"long before", at(-24 * 60), []string{r1.ID, r2.ID, r3.ID, r4.ID}},
		{"exactly r2's time", at(2), []string{r2.ID, r3.ID, r4.ID}},
		{"r2's time in UTC", at(2).UTC(), []string{r2.ID, r3.ID, r4.ID}},
		{"a millisecond after r2", at(2).Add(time.Millisecond), []string{r3.ID, r4.ID}},
		{"exactly r4's time", at(4), []string{r4.ID}},
		{"after all", at(5), nil},
	} {
		got, err := s.RevokedSessionsSince(ctx(t), c.since)
		mustOK(t, "RevokedSessionsSince("+c.name+")", err)
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("RevokedSessionsSince(%s) = %v, want %v (never the live %s)", c.name, got, want, live.ID)
		}
	}
}

// testSessionPrune: sessions created strictly before the time go, live or revoked.
func testSessionPrune(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	n, err := s.PruneSessions(ctx(t), t0.Add(time.Hour))
	if err != nil || n != 0 {
		t.Errorf("PruneSessions on a store without sessions = %d, %v; want 0", n, err)
	}
	old := mustSession(t, s, u, 0)
	oldRevoked := mustSession(t, s, u, time.Minute)
	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), oldRevoked.ID, t0.Add(time.Hour)))
	boundary := mustSession(t, s, u, 2*time.Minute)
	young := mustSession(t, s, u, 3*time.Minute)

	n, err = s.PruneSessions(ctx(t), t0.Add(2*time.Minute))
	mustOK(t, "PruneSessions", err)
	if n != 2 {
		t.Errorf("PruneSessions = %d, want 2", n)
	}
	for _, gone := range []storage.Session{old, oldRevoked} {
		_, err := s.SessionByID(ctx(t), gone.ID)
		wantErr(t, "SessionByID of a pruned session", err, storage.ErrNotFound)
	}
	for _, kept := range []storage.Session{boundary, young} {
		sameRecord(t, "SessionByID of a kept session", mustSessionByID(t, s, kept.ID), kept)
	}
	if ids, err := s.RevokedSessionsSince(ctx(t), time.Time{}); err != nil || len(ids) != 0 {
		t.Errorf("RevokedSessionsSince after pruning = %v, %v; want none", ids, err)
	}
	n, err = s.PruneSessions(ctx(t), t0.Add(2*time.Minute))
	if err != nil || n != 0 {
		t.Errorf("PruneSessions again = %d, %v; want 0", n, err)
	}
}

// testSessionRotateToken: only the newest token of a live session moves on, once.
func testSessionRotateToken(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	sess := mustSession(t, s, u, 0)

	mustOK(t, "RotateSessionToken(newest)", s.RotateSessionToken(ctx(t), sess.ID, sess.TokenID, "jti-2"))
	want := sess
	want.TokenID = "jti-2"
	sameRecord(t, "SessionByID after RotateSessionToken", mustSessionByID(t, s, sess.ID), want)
	wantErr(t, "RotateSessionToken(already refreshed)",
		s.RotateSessionToken(ctx(t), sess.ID, sess.TokenID, "jti-3"), storage.ErrConflict)
	sameRecord(t, "SessionByID after a refused rotation", mustSessionByID(t, s, sess.ID), want)
	mustOK(t, "RotateSessionToken(the new newest)", s.RotateSessionToken(ctx(t), sess.ID, "jti-2", "jti-3"))

	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), sess.ID, t0.Add(time.Hour)))
	wantErr(t, "RotateSessionToken(revoked session)",
		s.RotateSessionToken(ctx(t), sess.ID, "jti-3", "jti-4"), storage.ErrConflict)
	wantErr(t, "RotateSessionToken(unknown session)",
		s.RotateSessionToken(ctx(t), "no-such-session", "a", "b"), storage.ErrNotFound)
}

// testSessionRotateTokenConcurrent refreshes one token from several goroutines at once
// (as two holders of a stolen token might, on two nodes): exactly one wins.
func testSessionRotateTokenConcurrent(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	sess := mustSession(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0), 0)
	const racers = 6
	errs := AtOnce(racers, func(i int) error {
		return s.RotateSessionToken(ctx(t), sess.ID, sess.TokenID, fmt.Sprintf("jti-racer-%d", i))
	})
	won := countWins(t, "losing RotateSessionToken", errs, storage.ErrConflict)
	if won != 1 {
		t.Errorf("%d of %d concurrent refreshes of one token succeeded, want exactly 1", won, racers)
	}
}
