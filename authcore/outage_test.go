package authcore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

// outageStore is a real store that cannot be reached while down is set. A database going
// away is outside our control, so the tests switch the request path's lookups off in
// front of the real one, and back on.
type outageStore struct {
	storage.Store
	down atomic.Bool
}

var errUnreachable = errors.New("test: the database is unreachable")

func (s *outageStore) KeyGrantByDigest(ctx context.Context, d []byte) (storage.KeyGrant, error) {
	if s.down.Load() {
		return storage.KeyGrant{}, errUnreachable
	}
	return s.Store.KeyGrantByDigest(ctx, d)
}

func (s *outageStore) UserByUID(ctx context.Context, uid string) (storage.User, error) {
	if s.down.Load() {
		return storage.User{}, errUnreachable
	}
	return s.Store.UserByUID(ctx, uid)
}

func (s *outageStore) ProjectAccess(ctx context.Context, project, user string) (storage.ProjectAccess, error) {
	if s.down.Load() {
		return storage.ProjectAccess{}, errUnreachable
	}
	return s.Store.ProjectAccess(ctx, project, user)
}

// staleCounter counts the "stale" cache results the Authenticator reports.
type staleCounter struct {
	nopObserver
	n atomic.Int32
}

func (c *staleCounter) CacheResult(result string) {
	if result == "stale" {
		c.n.Add(1)
	}
}

// outageFixture is the fixture with its Authenticator reading through an outageStore:
// CacheTTL and NegativeCacheTTL 1m, StaleIfError as given.
type outageFixture struct {
	*fixture
	out   *outageStore
	stale *staleCounter
}

func newOutageFixture(t *testing.T, staleIfError time.Duration) *outageFixture {
	t.Helper()
	f := newFixture(t)
	o := &outageFixture{fixture: f, out: &outageStore{Store: f.store}, stale: new(staleCounter)}
	auth, err := NewAuthenticator(t.Context(), Config{
		Store: o.out, Now: f.clock.Now, CacheTTL: time.Minute, NegativeCacheTTL: time.Minute,
		StaleIfError: staleIfError, Observer: o.stale,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(auth.Close)
	f.auth, f.admin.Auth = auth, auth
	return o
}

// A key validated within the stale window keeps working while the store cannot answer,
// and only then; past the window it is 503.
func TestStaleKeyServedOnlyWhileTheStoreFails(t *testing.T) {
	f := newOutageFixture(t, time.Minute)
	ctx := t.Context()
	k := f.mustKey(t, f.user, "30d")
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatal(err)
	}
	// Past its TTL with the store answering, the entry is a miss and is reloaded.
	f.clock.Advance(90 * time.Second)
	before := f.store.count()
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatal(err)
	}
	if n := f.store.count() - before; n != 1 || f.stale.n.Load() != 0 {
		t.Fatalf("a stale entry with the store up made %d lookups and %d stale answers, want 1 and 0", n, f.stale.n.Load())
	}

	// Reloaded at t+90s: fresh until t+150s, usable stale until t+210s.
	f.out.down.Store(true)
	f.clock.Advance(119 * time.Second) // t+209s
	p, err := f.auth.AuthenticateAPIKey(ctx, k.Key)
	if err != nil || p.KeyUID != k.Record.UID || p.UserUID != f.user.UID {
		t.Fatalf("within the stale window during an outage: %+v, %v; want the key's principal", p, err)
	}
	if f.stale.n.Load() != 1 {
		t.Fatalf("%d stale answers reported, want 1", f.stale.n.Load())
	}
	f.clock.Advance(time.Second) // t+210s: CacheTTL + StaleIfError have passed
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, k.Key)), "StoreUnavailable")
}

// An unknown key gets no stale window: during an outage it is 503, never a remembered
// 401, once its negative entry is no longer fresh.
func TestUnknownKeyDuringAnOutageIs503(t *testing.T) {
	f := newOutageFixture(t, time.Hour)
	ctx := t.Context()
	remembered, _, _ := NewKey()
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, remembered)), "CredentialInvalid")
	f.out.down.Store(true)
	never, _, _ := NewKey()
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, never)), "StoreUnavailable")
	// Within negative_cache_ttl the fresh negative entry answers, as it would anyway.
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, remembered)), "CredentialInvalid")
	f.clock.Advance(61 * time.Second)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, remembered)), "StoreUnavailable")
}

// An invalidated decision is gone: neither a revoked key nor anything cached before a
// resync comes back as stale during an outage.
func TestInvalidatedKeysNeverComeBackStale(t *testing.T) {
	f := newOutageFixture(t, time.Hour)
	ctx := t.Context()
	revoked, resynced := f.mustKey(t, f.user, "30d"), f.mustKey(t, f.user, "30d")
	for _, k := range []CreatedAPIKey{revoked, resynced} {
		if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.admin.SetAPIKeyActive(ctx, revoked.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	f.auth.Apply([]storage.Change{{Kind: storage.ChangeResync}})
	f.out.down.Store(true)
	f.clock.Advance(2 * time.Minute)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, revoked.Key)), "StoreUnavailable")
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, resynced.Key)), "StoreUnavailable")
}

// When the store answers again, stale entries are reloaded: a change that reached the
// store without reaching the cache (no change feed here) shows on the next request.
func TestStaleEntriesAreReloadedWhenTheStoreReturns(t *testing.T) {
	f := newOutageFixture(t, time.Hour)
	ctx := t.Context()
	k := f.mustKey(t, f.user, "30d")
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Store.SetUserDisabled(ctx, f.user.UID, true); err != nil {
		t.Fatal(err)
	}
	f.out.down.Store(true)
	f.clock.Advance(2 * time.Minute)
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatalf("during the outage: %v, want the stale decision", err)
	}
	f.out.down.Store(false)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, k.Key)), "UserDisabled")
}

// With stale_if_error off, every store error is 503.
func TestStaleIfErrorOff(t *testing.T) {
	f := newOutageFixture(t, -1)
	ctx := t.Context()
	k := f.mustKey(t, f.user, "30d")
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatal(err)
	}
	f.out.down.Store(true)
	f.clock.Advance(61 * time.Second)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, k.Key)), "StoreUnavailable")
}

// A project decision found in the store is served stale during an outage; a project
// never seen is 503.
func TestProjectAccessDuringAnOutage(t *testing.T) {
	f := newOutageFixture(t, time.Hour)
	ctx := t.Context()
	project, err := f.admin.CreateProject(ctx, "acme", "web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.AddProjectMember(ctx, project.UID, f.user.Email); err != nil {
		t.Fatal(err)
	}
	p := mustPrincipal(t, f.fixture, f.user)
	if err := f.auth.AuthorizeProject(ctx, p, project.UID); err != nil {
		t.Fatal(err)
	}
	f.out.down.Store(true)
	f.clock.Advance(2 * time.Minute)
	if err := f.auth.AuthorizeProject(ctx, p, project.UID); err != nil {
		t.Fatalf("a member during an outage: %v, want the stale decision", err)
	}
	wantCode(t, f.auth.AuthorizeProject(ctx, p, NewUID()), "StoreUnavailable")
}
