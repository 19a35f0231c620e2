package sessions

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// outageStore is a real store that cannot be reached while down is set. A database going
// away is outside our control, so the tests switch the request path's lookups off in
// front of the real one, and back on.
type outageStore struct {
	storage.Store
	down     atomic.Bool
	attempts atomic.Int32 // key lookups tried while down
}

var errUnreachable = errors.New("test: the database is unreachable")

func (s *outageStore) KeyGrantByDigest(ctx context.Context, d []byte) (storage.KeyGrant, error) {
	if s.down.Load() {
		s.attempts.Add(1)
		return storage.KeyGrant{}, errUnreachable
	}
	return s.Store.KeyGrantByDigest(ctx, d)
}

func (s *outageStore) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if s.down.Load() {
		return errUnreachable
	}
	return s.Store.TouchAPIKeys(ctx, used)
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
	authcore.NopObserver
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
	auth, err := newGateway(t.Context(), credentials.Config{
		Store: o.out, Now: f.clock.Now, CacheTTL: time.Minute, NegativeCacheTTL: time.Minute,
		StaleIfError: staleIfError, Observer: o.stale,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(auth.Close)
	f.auth, f.admin = auth, f.operator(auth)
	return o
}

// A key validated within the stale window keeps working while the store cannot answer,
// and only then; past the window it is 503.
func TestStaleKeyServedOnlyWhileTheStoreFails(t *testing.T) {
	f := newOutageFixture(t, time.Minute)
	ctx := t.Context()
	k := f.cachedKey(t)
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
	remembered := f.unknownKey()
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, remembered)), "CredentialInvalid")
	f.out.down.Store(true)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, f.unknownKey())), "StoreUnavailable")
	// A forged key needs no store to be refused: 401 whether the store answers or not.
	forged, _, _ := authcore.NewLegacyKey()
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, forged)), "CredentialInvalid")
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
	for _, k := range []manage.CreatedAPIKey{revoked, resynced} {
		if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.admin.SetAPIKeyActive(ctx, revoked.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	f.out.down.Store(true)
	f.clock.Advance(2 * time.Minute)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, revoked.Key)), "StoreUnavailable")
	if _, err := f.auth.AuthenticateAPIKey(ctx, resynced.Key); err != nil {
		t.Fatalf("before the resync: %v, want the stale decision", err)
	}
	f.auth.Apply([]storage.Change{{Kind: storage.ChangeResync}})
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, resynced.Key)), "StoreUnavailable")
}

// When the store answers again, stale entries are reloaded: a change that reached the
// store without reaching the cache (no change feed here) shows on the next request.
func TestStaleEntriesAreReloadedWhenTheStoreReturns(t *testing.T) {
	f := newOutageFixture(t, time.Hour)
	ctx := t.Context()
	k := f.cachedKey(t)
	if err := f.store.Store.SetUserDisabled(ctx, f.user.UID, true); err != nil {
		t.Fatal(err)
	}
	f.out.down.Store(true)
	f.clock.Advance(2 * time.Minute)
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatalf("during the outage: %v, want the stale decision", err)
	}
	f.out.down.Store(false)
	// The stale decision was re-armed for StaleRetryInterval when it was served.
	f.clock.Advance(credentials.StaleRetryInterval)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, k.Key)), "UserDisabled")
}

// During an outage a stale entry costs one store attempt per StaleRetryInterval, not one
// per request: against a database that does not answer, each attempt waits for a timeout.
func TestStaleEntryRetriesTheStoreOncePerInterval(t *testing.T) {
	f := newOutageFixture(t, time.Hour)
	ctx := t.Context()
	k := f.cachedKey(t)
	f.out.down.Store(true)
	f.clock.Advance(2 * time.Minute)
	for range 10 {
		if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
			t.Fatalf("during the outage: %v, want the stale decision", err)
		}
	}
	if n := f.out.attempts.Load(); n != 1 {
		t.Fatalf("10 requests within the retry interval made %d store attempts, want 1", n)
	}
	f.clock.Advance(credentials.StaleRetryInterval)
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatal(err)
	}
	if n := f.out.attempts.Load(); n != 2 {
		t.Fatalf("after the retry interval: %d store attempts, want 2", n)
	}
}

// With stale_if_error off, every store error is 503, for keys and tokens alike.
func TestStaleIfErrorOff(t *testing.T) {
	f := newOutageFixture(t, -1)
	ctx := t.Context()
	k := f.cachedKey(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(t, "ann@acme.test", "pw-ann-123").Token
	f.out.down.Store(true)
	f.clock.Advance(61 * time.Second)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, k.Key)), "StoreUnavailable")
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, token)), "StoreUnavailable")
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
	wantCode(t, f.auth.AuthorizeProject(ctx, p, authcore.NewUID()), "StoreUnavailable")
}

// A token keeps working during an outage: through its user's stale record if cached,
// else through the role and email it carries.
func TestTokensWorkDuringAnOutage(t *testing.T) {
	f := newOutageFixture(t, time.Minute)
	ctx := t.Context()
	ann := f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	annToken := f.login(t, "ann@acme.test", "pw-ann-123").Token
	if _, err := f.auth.AuthenticateToken(ctx, annToken); err != nil { // caches ann's record
		t.Fatal(err)
	}
	bob := f.withRole(t, "bob@acme.test", "pw-bob-123", storage.RoleTenantAdmin)
	bobToken := f.login(t, "bob@acme.test", "pw-bob-123").Token // bob's record is not cached
	f.out.down.Store(true)
	f.clock.Advance(90 * time.Second) // ann's record is stale, within the window

	p, err := f.auth.AuthenticateToken(ctx, annToken)
	if err != nil || p.UserUID != ann.UID || p.Email != "ann@acme.test" || p.Role != storage.RoleUser {
		t.Fatalf("a token whose user is cached, stale: %+v, %v", p, err)
	}
	p, err = f.auth.AuthenticateToken(ctx, bobToken)
	want := authcore.Principal{UserUID: bob.UID, Email: "bob@acme.test", TenantUID: bob.TenantUID, Role: storage.RoleTenantAdmin, Method: authcore.MethodToken}
	if err != nil || p.UserUID != want.UserUID || p.Email != want.Email || p.TenantUID != want.TenantUID || p.Role != want.Role || p.Method != want.Method || p.SessionID == "" {
		t.Fatalf("a token whose user is not cached: %+v, %v\nwant %+v", p, err, want)
	}
	if n := f.stale.n.Load(); n != 2 {
		t.Fatalf("%d stale answers reported, want 2", n)
	}
}

// During an outage a token is still refused when its session was revoked, and gets 503
// when its claims cannot be trusted: its user changed lately, or it has none.
func TestTokensRefusedDuringAnOutage(t *testing.T) {
	f := newOutageFixture(t, time.Minute)
	ctx := t.Context()
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	revoked := f.login(t, "ann@acme.test", "pw-ann-123").Token
	caller, err := f.auth.AuthenticateToken(ctx, revoked)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.auth.RevokeTokens(ctx, caller, "192.0.2.1", nil); err != nil {
		t.Fatal(err)
	}
	bob := f.withRole(t, "bob@acme.test", "pw-bob-123", storage.RoleUser)
	changed := f.login(t, "bob@acme.test", "pw-bob-123").Token
	if err := f.admin.SetUserDisabled(ctx, bob, true); err != nil {
		t.Fatal(err)
	}
	legacy := f.signWithoutRoleClaims(t, f.user) // a user not cached

	f.out.down.Store(true)
	f.clock.Advance(90 * time.Second)
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, revoked)), "CredentialRevoked")
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, changed)), "StoreUnavailable")
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, legacy)), "StoreUnavailable")
	f.out.down.Store(false)
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, changed)), "UserDisabled")
	if _, err := f.auth.AuthenticateToken(ctx, legacy); err != nil {
		t.Fatalf("a token without role claims, store up: %v", err)
	}
}

func (f *fixture) withRole(t *testing.T, email, password string, role storage.Role) storage.User {
	t.Helper()
	u, err := f.admin.CreateUser(t.Context(), manage.NewUser{TenantName: "acme", Email: email, Role: role, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// signWithoutRoleClaims issues a token for u as Keygate did before tokens carried the
// user's role and email.
func (f *fixture) signWithoutRoleClaims(t *testing.T, u storage.User) string {
	t.Helper()
	kid, secret := f.signingKey(t)
	now := f.clock.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "keygate", "sub": u.UID, "tid": u.TenantUID, "sid": authcore.NewUID(), "jti": authcore.NewUID(),
		"iat": now.Unix(), "exp": now.Add(credentials.DefaultTokenTTL).Unix(),
	})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cachedKey makes a key of f.user and uses it once, so its decision is cached.
func (f *fixture) cachedKey(t *testing.T) manage.CreatedAPIKey {
	t.Helper()
	k := f.mustKey(t, f.user, "30d")
	if _, err := f.auth.AuthenticateAPIKey(t.Context(), k.Key); err != nil {
		t.Fatal(err)
	}
	return k
}
