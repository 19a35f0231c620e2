package sessions

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/storage"
)

// forgedCounter counts the keys the verifier refused as forged.
type forgedCounter struct {
	authcore.NopObserver
	n atomic.Int64
}

func (c *forgedCounter) CacheResult(result string) {
	if result == "forged" {
		c.n.Add(1)
	}
}

// insertLegacyKey stores a key of u in the format before tags, as a store upgraded from
// then holds it, and returns the key.
func (f *fixture) insertLegacyKey(t testing.TB, u storage.User) string {
	t.Helper()
	key, digest, hint := authcore.NewLegacyKey()
	now := f.clock.Now()
	rec := storage.APIKey{
		UID: authcore.NewUID(), TenantUID: u.TenantUID, UserUID: u.UID, Name: "legacy", Digest: digest[:],
		Hint: hint, ExpiresAt: now.Add(24 * time.Hour), Active: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := f.store.Store.CreateAPIKey(context.Background(), rec, 0); err != nil {
		t.Fatal(err)
	}
	return key
}

// restart replaces the fixture's gateway with a new one on the same store, as a
// restarted node starts, with cfg's cache settings.
func (f *fixture) restart(t testing.TB, cfg credentials.Config) {
	t.Helper()
	cfg.Store, cfg.Now = f.store, f.clock.Now
	auth, err := newGateway(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(auth.Close)
	f.auth, f.admin = auth, f.operator(auth)
}

// mustAccept authenticates key, failing the test unless it is accepted.
func (f *fixture) mustAccept(t testing.TB, key string) {
	t.Helper()
	if _, err := f.auth.AuthenticateAPIKey(context.Background(), key); err != nil {
		t.Fatalf("a valid key was refused: %v", err)
	}
}

// lookupsFor is how many store lookups n uses of key cost.
func (f *fixture) lookupsFor(t testing.TB, key string, n int) int {
	t.Helper()
	before := f.store.count()
	for range n {
		f.mustAccept(t, key)
	}
	return f.store.count() - before
}

// A flood of well-formed keys the gateway never made (the shape right, the checksum
// right, the tag not) costs at most 1% of its requests a store query, even with legacy
// keys to tell them from, and leaves real keys, tagged and legacy, costing one store
// query per cache_ttl during and after it.
func TestForgedKeyFloodCostsNoStoreQueries(t *testing.T) {
	const flood = 300_000
	f := newFixture(t)
	legacy := make([]string, 2000)
	for i := range legacy {
		legacy[i] = f.insertLegacyKey(t, f.user)
	}
	forged := new(forgedCounter)
	f.restart(t, credentials.Config{CacheTTL: time.Minute, CacheMaxEntries: 2000, Observer: forged})
	tagged := f.mustKey(t, f.user, "30d").Key
	ctx := context.Background()

	before := f.store.count()
	for i := range flood {
		key, _, _ := authcore.NewLegacyKey() // well-formed, untagged, in no store
		wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, key)), "CredentialInvalid")
		if i%(flood/10) == 0 { // during the flood
			for _, k := range []string{tagged, legacy[0]} {
				f.clock.Advance(time.Minute)
				if n := f.lookupsFor(t, k, 3); n != 1 {
					t.Fatalf("during the flood, a valid key used 3 times in one cache_ttl made %d store lookups, want 1", n)
				}
			}
		}
	}
	lookups := f.store.count() - before - 2*10 // less the valid keys' own
	if lookups > flood/100 {
		t.Errorf("%d forged keys made %d store lookups, want at most 1%% (%d)", flood, lookups, flood/100)
	}
	if got := forged.n.Load(); got < flood*99/100 {
		t.Errorf("%d of %d forged keys were counted as forged, want at least 99%%", got, flood)
	}
	t.Logf("%d forged keys: %d store lookups, %d refused as forged", flood, lookups, forged.n.Load())

	for _, k := range []string{tagged, legacy[0], legacy[len(legacy)-1]} {
		f.clock.Advance(time.Minute)
		if n := f.lookupsFor(t, k, 30); n != 1 {
			t.Errorf("after the flood, a valid key used 30 times in one cache_ttl made %d store lookups, want 1", n)
		}
	}
}

// Unknown keys that do carry a valid tag (deleted keys, the only ones an attacker could
// hold) still reach the store, but once per negative_cache_ttl each, and are cached apart:
// however many there are, they evict no known key and keep none out.
func TestUnknownKeysCannotDisplaceKnownOnes(t *testing.T) {
	f := newFixture(t)
	f.restart(t, credentials.Config{CacheTTL: time.Hour, NegativeCacheTTL: time.Hour, CacheMaxEntries: 2000})
	known := f.mustKey(t, f.user, "30d").Key
	if n := f.lookupsFor(t, known, 1); n != 1 {
		t.Fatalf("first use of a key made %d lookups, want 1", n)
	}
	ctx := context.Background()
	for range 6000 {
		wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, f.unknownKey())), "CredentialInvalid")
	}
	if n := f.lookupsFor(t, known, 30); n != 0 {
		t.Errorf("after 6,000 unknown keys, a key cached before them made %d lookups in 30 uses, want 0", n)
	}
	later := f.mustKey(t, f.user, "30d").Key
	if n := f.lookupsFor(t, later, 30); n != 1 {
		t.Errorf("after 6,000 unknown keys, a key first used then made %d lookups in 30 uses, want 1", n)
	}
	repeated := f.unknownKey()
	before := f.store.count()
	for range 30 {
		wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, repeated)), "CredentialInvalid")
	}
	if n := f.store.count() - before; n != 1 {
		t.Errorf("an unknown key used 30 times within negative_cache_ttl made %d lookups, want 1", n)
	}
}

// A key made before tags keeps working, across restarts; deleting it still refuses it.
func TestLegacyKeyKeepsWorkingAcrossRestarts(t *testing.T) {
	f := newFixture(t)
	legacy := f.insertLegacyKey(t, f.user)
	for range 2 {
		f.restart(t, credentials.Config{})
		f.mustAccept(t, legacy)
	}
	digest, _ := authcore.ParseKey(legacy)
	g, err := f.store.KeyGrantByDigest(context.Background(), digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.admin.DeleteAPIKey(context.Background(), g.Key.UID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(context.Background(), legacy)), "CredentialInvalid")
}

// Keys the management service makes carry this store's tag, and are marked tagged, so no
// node keeps them among the legacy keys.
func TestNewKeysAreTagged(t *testing.T) {
	f := newFixture(t)
	k := f.mustKey(t, f.user, "30d")
	if !f.auth.KeyTag().Carries(k.Key) || !k.Record.Tagged {
		t.Fatalf("a new key carries the tag: %v, is marked tagged: %v; want both", f.auth.KeyTag().Carries(k.Key), k.Record.Tagged)
	}
	legacy, err := f.store.LegacyKeyDigests(context.Background())
	if err != nil || len(legacy) != 0 {
		t.Fatalf("legacy keys after making a tagged one = %d, %v; want none", len(legacy), err)
	}
}

// A key first used while the cache is full of other valid keys, each used now and then
// (more keys in use than cache_max_entries), costs one store query and not one per use:
// ristretto's admission may keep it out of the main cache until its uses have been
// counted, and it waits in the admission window meanwhile.
func TestNewKeyIsCachedWhileTheCacheIsFullOfOtherKeys(t *testing.T) {
	f := newFixture(t)
	f.restart(t, credentials.Config{CacheTTL: time.Hour, CacheMaxEntries: 200})
	busy := make([]string, 400)
	for i := range busy {
		busy[i] = f.mustKey(t, f.user, "30d").Key
	}
	for round := range 10 { // every key used ten times, the cache full of them
		for i := range busy {
			f.mustAccept(t, busy[(i*7+round)%len(busy)])
		}
	}
	newcomer := f.mustKey(t, f.user, "30d").Key
	if n := f.lookupsFor(t, newcomer, 30); n != 1 {
		t.Errorf("a new key used 30 times while the cache is full of other keys made %d store lookups, want 1", n)
	}
}
