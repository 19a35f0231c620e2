package sessions

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// fakeClock is the one fake these tests use: time is outside our control.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingStore counts lookups on the way to a real store.
type countingStore struct {
	storage.Store
	mu      sync.Mutex
	lookups int
}

func (s *countingStore) KeyGrantByDigest(ctx context.Context, d []byte) (storage.KeyGrant, error) {
	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()
	return s.Store.KeyGrantByDigest(ctx, d)
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// gateway is the verification and session parts as the keygate handler holds them.
type gateway struct {
	*credentials.Verifier
	*Issuer
}

// newGateway builds both parts on cfg's store, as the keygate app does.
func newGateway(ctx context.Context, cfg credentials.Config) (*gateway, error) {
	v, err := credentials.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &gateway{Verifier: v, Issuer: New(cfg.Store, v, Config{Now: cfg.Now, Observer: cfg.Observer, HashBudget: ampleBudget})}, nil
}

// ampleBudget is a hashing budget the tests that are not about it never reach, though
// their clock stands still.
var ampleBudget = protect.BudgetConfig{Share: 1, Procs: 1000}

// fixture is a real SQLite store with one tenant holding an admin and a user.
type fixture struct {
	path            string
	store           *countingStore
	clock           *fakeClock
	auth            *gateway
	admin           manage.Operator
	adminUser, user storage.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keygate.db")
	raw, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	f := &fixture{path: path, store: &countingStore{Store: raw}, clock: &fakeClock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}}
	f.auth, err = newGateway(context.Background(), credentials.Config{Store: f.store, Now: f.clock.Now, CacheTTL: time.Minute, NegativeCacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.auth.Close)
	f.admin = f.operator(f.auth)
	if _, err := f.admin.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	f.adminUser = f.mustUser(t, "acme", "boss@acme.test", storage.RoleTenantAdmin)
	f.user = f.mustUser(t, "acme", "dev@acme.test", storage.RoleUser)
	return f
}

// operator is the service as the command line uses it, dropping what it changes from
// caches (nil: none, like the command line's).
func (f *fixture) operator(caches *gateway) manage.Operator {
	svc := manage.NewService(manage.ServiceConfig{Store: f.store, Now: f.clock.Now})
	if caches != nil {
		svc = manage.NewService(manage.ServiceConfig{Store: f.store, Caches: caches.Verifier, Now: f.clock.Now})
	}
	return manage.Operator{Service: svc, OSUser: "tester"}
}

func (f *fixture) mustUser(t testing.TB, tenant, email string, role storage.Role) storage.User {
	t.Helper()
	u, err := f.admin.CreateUser(context.Background(), manage.NewUser{TenantName: tenant, Email: email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) mustKey(t testing.TB, u storage.User, expiry string) manage.CreatedAPIKey {
	t.Helper()
	k, err := f.admin.CreateAPIKey(context.Background(), manage.NewAPIKey{User: u, Name: "test key", Expiry: expiry})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// unknownKey is a key this gateway could have made (its tag is valid) that no store
// holds, as a deleted key is: the one kind of unknown key that still reaches the store.
func (f *fixture) unknownKey() string {
	k, _, _ := f.auth.KeyTag().NewKey()
	return k
}

// wantCode asserts that err is the *Error with the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := authcore.AsError(err).Code; got != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
}

// signingKey is the store's newest token signing key, for forging tokens.
func (f *fixture) signingKey(t testing.TB) (kid string, secret []byte) {
	t.Helper()
	keys, err := f.store.SigningKeys(context.Background())
	if err != nil || len(keys) == 0 {
		t.Fatalf("signing keys: %v, %v", keys, err)
	}
	newest := keys[len(keys)-1]
	return newest.KID, newest.Secret
}
