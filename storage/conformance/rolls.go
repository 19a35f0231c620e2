package conformance

import (
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var rollTests = []suiteTest{
	{"RollAPIKey/LinksAndEnds", testRollLinksAndEnds},
	{"RollAPIKey/KeepsAnEarlierExpiry", testRollKeepsAnEarlierExpiry},
	{"RollAPIKey/Refused", testRollRefused},
	{"RollAPIKey/Limit", testRollLimit},
	{"RollAPIKey/Concurrent", testRollConcurrent},
	{"RollAPIKey/InUpdate", testRollInUpdate},
	{"Watch/RollAPIKey", testWatchRoll},
}

// rolledKey is a new key of u made at at, as a roll makes it.
func rolledKey(u storage.User, at time.Time) storage.APIKey {
	k := newKey(u)
	k.CreatedAt, k.UpdatedAt, k.LastUsedAt = at, at, time.Time{}
	return k
}

// rollAt is the time the tests roll at: the keys of newKey are live then.
var rollAt = t0.Add(time.Hour)

// testRollLinksAndEnds: the new key is stored as given, naming the old; the old names the
// new, expires at expiresBy and keeps everything else (its last use too).
func testRollLinksAndEnds(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	old := newKey(u)
	old.LastUsedAt = t0.Add(30 * time.Minute)
	mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), old, 0))
	forever := newKey(u) // a key that never expires gets an end too
	forever.ExpiresAt = time.Time{}
	mustOK(t, "CreateAPIKey(no expiry)", s.CreateAPIKey(ctx(t), forever, 0))

	for _, k := range []storage.APIKey{old, forever} {
		to := rolledKey(u, rollAt)
		by := rollAt.Add(24 * time.Hour)
		before := time.Now()
		mustOK(t, "RollAPIKey", s.RollAPIKey(ctx(t), k.UID, by, to, 0))
		to.RolledFrom = k.UID
		mustKeyEverywhere(t, s, "new key of a roll", to)
		got, err := s.APIKeyByUID(ctx(t), k.UID)
		mustOK(t, "APIKeyByUID(old)", err)
		aboutNow(t, "old key's UpdatedAt", got.UpdatedAt, before)
		want := k
		want.RolledTo, want.ExpiresAt, want.UpdatedAt = to.UID, by, got.UpdatedAt
		mustKeyEverywhere(t, s, "old key of a roll", want)
	}
}

// testRollKeepsAnEarlierExpiry: a roll never makes the old key last longer.
func testRollKeepsAnEarlierExpiry(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	old := mustKey(t, s, u) // expires 30 days after t0
	mustOK(t, "RollAPIKey", s.RollAPIKey(ctx(t), old.UID, old.ExpiresAt.Add(time.Hour), rolledKey(u, rollAt), 0))
	got, err := s.APIKeyByUID(ctx(t), old.UID)
	mustOK(t, "APIKeyByUID", err)
	if !got.ExpiresAt.Equal(old.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("old key expires %v after a roll to a later end, want %v as before", got.ExpiresAt, old.ExpiresAt)
	}
}

// testRollRefused: an unknown key is ErrNotFound; a revoked, expired or rolled one
// ErrConflict; none of them inserts the new key or changes the old.
func testRollRefused(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	revoked := newKey(u)
	revoked.Active = false
	mustOK(t, "CreateAPIKey(revoked)", s.CreateAPIKey(ctx(t), revoked, 0))
	expired := newKey(u)
	expired.ExpiresAt = rollAt // expired at the very moment of the roll
	mustOK(t, "CreateAPIKey(expired)", s.CreateAPIKey(ctx(t), expired, 0))
	rolled := mustKey(t, s, u)
	mustOK(t, "RollAPIKey", s.RollAPIKey(ctx(t), rolled.UID, rollAt.Add(time.Hour), rolledKey(u, rollAt), 0))
	rolled, _ = s.APIKeyByUID(ctx(t), rolled.UID)

	to := rolledKey(u, rollAt)
	wantErr(t, "RollAPIKey(unknown)", s.RollAPIKey(ctx(t), "no-such-key", rollAt, to, 0), storage.ErrNotFound)
	for name, k := range map[string]storage.APIKey{"revoked": revoked, "expired": expired, "rolled already": rolled} {
		wantErr(t, "RollAPIKey("+name+")", s.RollAPIKey(ctx(t), k.UID, rollAt, to, 0), storage.ErrConflict)
		mustKeyEverywhere(t, s, "refused roll of a key "+name, k)
	}
	mustKeyGone(t, s, "new key of refused rolls", to)
}

// testRollLimit: the new key counts against the user's limit, with the old one still held.
func testRollLimit(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	old := mustKey(t, s, u)
	to := rolledKey(u, rollAt)
	wantErr(t, "RollAPIKey(at the limit)", s.RollAPIKey(ctx(t), old.UID, rollAt, to, 1), storage.ErrLimitReached)
	mustKeyEverywhere(t, s, "old key of a roll over the limit", old)
	mustKeyGone(t, s, "new key of a roll over the limit", to)
	mustOK(t, "RollAPIKey(under the limit)", s.RollAPIKey(ctx(t), old.UID, rollAt, to, 2))
}

// testRollConcurrent: of many rolls of one key at once (as many nodes might), one wins.
func testRollConcurrent(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	old := mustKey(t, s, u)
	const racers = 8
	errs := AtOnce(racers, func(int) error {
		return s.RollAPIKey(ctx(t), old.UID, rollAt.Add(time.Hour), rolledKey(u, rollAt), 0)
	})
	if won := countWins(t, "refused concurrent RollAPIKey", errs, storage.ErrConflict); won != 1 {
		t.Errorf("%d concurrent rolls of one key: %d succeeded, want 1", racers, won)
	}
	keys, _, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: tn.UID, UserUID: u.UID}, storage.Page{Limit: 50})
	mustOK(t, "ListAPIKeys", err)
	if len(keys) != 2 {
		t.Errorf("after concurrent rolls the user holds %d keys, want 2", len(keys))
	}
}

// testRollInUpdate: a roll in an Update that fails afterwards leaves nothing behind.
func testRollInUpdate(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	old := mustKey(t, s, u)
	to := rolledKey(u, rollAt)
	taken := newEvent(tn.UID, t0)
	mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), taken))
	err := s.Update(ctx(t), func(tx storage.Tx) error {
		if err := tx.RollAPIKey(ctx(t), old.UID, rollAt, to, 0); err != nil {
			return err
		}
		return tx.AppendAudit(ctx(t), taken)
	})
	wantErr(t, "Update with a roll and a failing audit row", err, storage.ErrConflict)
	mustKeyEverywhere(t, s, "old key of an undone roll", old)
	mustKeyGone(t, s, "new key of an undone roll", to)
}

// testWatchRoll: a roll announces the old key, whose expiry moved.
func testWatchRoll(t *testing.T, s storage.Store) {
	_, u, r := watchFixture(t, s)
	old := mustKey(t, s, u)
	mustOK(t, "RollAPIKey", s.RollAPIKey(ctx(t), old.UID, rollAt, rolledKey(u, rollAt), 0))
	r.mustSee(t, storage.ChangeAPIKey, keyRef(old))
}
