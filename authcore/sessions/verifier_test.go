package sessions

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

func TestValidKeyResolvesToItsUser(t *testing.T) {
	f := newFixture(t)
	k := f.mustKey(t, f.user, "30d")
	p, err := f.auth.AuthenticateAPIKey(context.Background(), k.Key)
	if err != nil {
		t.Fatal(err)
	}
	want := authcore.Principal{
		UserUID: f.user.UID, Email: "dev@acme.test", TenantUID: f.user.TenantUID, Role: storage.RoleUser,
		Method: authcore.MethodAPIKey, KeyUID: k.Record.UID, ExpiresAt: k.Record.ExpiresAt,
	}
	if !reflect.DeepEqual(*p, want) {
		t.Fatalf("principal = %+v\nwant       %+v", *p, want)
	}
}

func TestRejectionsCarryTheirOwnCodes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	unknown := f.unknownKey()
	forged, _, _ := authcore.NewLegacyKey()

	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, "")), "CredentialMissing")
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, "kg_not-a-key")), "CredentialMalformed")
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, unknown)), "CredentialInvalid")
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, forged)), "CredentialInvalid") // the same answer

	revoked := f.mustKey(t, f.user, "30d")
	if _, err := f.admin.SetAPIKeyActive(ctx, revoked.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, revoked.Key)), "CredentialRevoked")

	expiring := f.mustKey(t, f.user, "7d")
	if _, err := f.auth.AuthenticateAPIKey(ctx, expiring.Key); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(7 * 24 * time.Hour)
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, expiring.Key)), "CredentialExpired")

	other := f.mustUser(t, "acme", "gone@acme.test", storage.RoleUser)
	disabledKey := f.mustKey(t, other, "30d")
	if _, err := f.auth.AuthenticateAPIKey(ctx, disabledKey.Key); err != nil {
		t.Fatal(err)
	}
	if err := f.admin.SetUserDisabled(ctx, other, true); err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, disabledKey.Key)), "UserDisabled")
}

func TestMalformedKeysNeverReachTheStore(t *testing.T) {
	f := newFixture(t)
	key := f.unknownKey()
	last := "Q"
	if key[len(key)-1] == 'Q' {
		last = "R"
	}
	for _, bad := range []string{"x", key[:len(key)-1] + "!", key[:len(key)-1] + last} {
		f.auth.AuthenticateAPIKey(context.Background(), bad)
	}
	if n := f.store.count(); n != 0 {
		t.Fatalf("malformed keys made %d store lookups", n)
	}
}

func TestConcurrentRequestsForOneNewKeyMakeOneLookup(t *testing.T) {
	f := newFixture(t)
	valid := f.mustKey(t, f.user, "30d").Key
	unknown := f.unknownKey()

	for _, tc := range []struct {
		name string
		key  string
		ok   bool
	}{{"valid", valid, true}, {"unknown", unknown, false}} {
		before := f.store.count()
		var wg sync.WaitGroup
		errs := make(chan error, 1000)
		start := make(chan struct{})
		for range 1000 {
			wg.Go(func() {
				<-start
				_, err := f.auth.AuthenticateAPIKey(context.Background(), tc.key)
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if (err == nil) != tc.ok {
				t.Fatalf("%s key: got %v", tc.name, err)
			}
		}
		if n := f.store.count() - before; n != 1 {
			t.Fatalf("%s key: 1000 concurrent requests made %d store lookups, want 1", tc.name, n)
		}
	}
}

func TestRevocationTakesEffectOnTheNextRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.mustKey(t, f.user, "30d")
	for range 3 { // warm the cache
		if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.admin.SetAPIKeyActive(ctx, k.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(ctx, k.Key)), "CredentialRevoked")
	if _, err := f.admin.SetAPIKeyActive(ctx, k.Record.UID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.AuthenticateAPIKey(ctx, k.Key); err != nil {
		t.Fatalf("re-activated key refused: %v", err)
	}
}

func TestReactivationRefusedOnceExpired(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.mustKey(t, f.user, "7d")
	if _, err := f.admin.SetAPIKeyActive(ctx, k.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(8 * 24 * time.Hour)
	_, err := f.admin.SetAPIKeyActive(ctx, k.Record.UID, true)
	wantCode(t, err, "ApiKeyExpired")
}

// A change written by another process (the CLI) reaches a running gateway's cache.
func TestChangesFromAnotherProcessInvalidateTheCache(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.auth.FollowChanges(ctx)

	k := f.cachedKey(t)
	other, err := sqlite.Open(ctx, sqlite.Options{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	cli := manage.Operator{Service: manage.NewService(manage.ServiceConfig{Store: other, Now: f.clock.Now})} // no cache: like the command line
	time.Sleep(50 * time.Millisecond)                                                                        // let Watch note its starting point
	if _, err := cli.SetAPIKeyActive(ctx, k.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := f.auth.AuthenticateAPIKey(ctx, k.Key)
		if err != nil {
			wantCode(t, err, "CredentialRevoked")
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("revocation by another process did not reach the cache within 2s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStoreOutageIsUnavailableNotUnauthorized(t *testing.T) {
	f := newFixture(t)
	k := f.mustKey(t, f.user, "30d")
	f.store.Store.Close()
	err := errOf(f.auth.AuthenticateAPIKey(context.Background(), k.Key))
	wantCode(t, err, "StoreUnavailable")
	if authcore.AsError(err).Status != 503 {
		t.Fatalf("status %d, want 503", authcore.AsError(err).Status)
	}
	// And the failure is not cached as "unknown".
	wantCode(t, errOf(f.auth.AuthenticateAPIKey(context.Background(), k.Key)), "StoreUnavailable")
}

func TestProjectAuthorization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	project, err := f.admin.CreateProject(ctx, "acme", "web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.CreateTenant(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	foreign, err := f.admin.CreateProject(ctx, "other", "theirs")
	if err != nil {
		t.Fatal(err)
	}
	userP := mustPrincipal(t, f, f.user)
	adminP := mustPrincipal(t, f, f.adminUser)

	wantCode(t, f.auth.AuthorizeProject(ctx, userP, project.UID), "Forbidden")
	if _, err := f.admin.AddProjectMember(ctx, project.UID, f.user.Email); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.AuthorizeProject(ctx, userP, project.UID); err != nil {
		t.Fatalf("member refused: %v", err)
	}
	if err := f.auth.AuthorizeProject(ctx, adminP, project.UID); err != nil {
		t.Fatalf("tenant admin refused a project of their tenant: %v", err)
	}
	wantCode(t, f.auth.AuthorizeProject(ctx, adminP, foreign.UID), "Forbidden")
	wantCode(t, f.auth.AuthorizeProject(ctx, adminP, authcore.NewUID()), "Forbidden")
	wantCode(t, f.auth.AuthorizeProject(ctx, adminP, "../../etc"), "Forbidden")
}

func mustPrincipal(t *testing.T, f *fixture, u storage.User) *authcore.Principal {
	t.Helper()
	p, err := f.auth.AuthenticateAPIKey(context.Background(), f.mustKey(t, u, "30d").Key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func errOf(_ *authcore.Principal, err error) error { return err }

// blockingStore holds the first key lookup after it has read the store, until released.
type blockingStore struct {
	storage.Store
	first   atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (s *blockingStore) KeyGrantByDigest(ctx context.Context, d []byte) (storage.KeyGrant, error) {
	g, err := s.Store.KeyGrantByDigest(ctx, d)
	if s.first.CompareAndSwap(false, true) {
		close(s.read)
		<-s.release
	}
	return g, err
}

// A request made after a revocation must not share a lookup begun before it.
func TestRequestsAfterARevocationDoNotJoinAnEarlierLookup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.mustKey(t, f.user, "30d")
	slow := &blockingStore{Store: f.store, read: make(chan struct{}), release: make(chan struct{})}
	auth, err := newGateway(ctx, credentials.Config{Store: slow, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	admin := f.operator(auth)

	early := make(chan error, 1)
	go func() { _, err := auth.AuthenticateAPIKey(ctx, k.Key); early <- err }()
	<-slow.read // the early lookup has seen the key active
	if _, err := admin.SetAPIKeyActive(ctx, k.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	late := make(chan error, 1)
	go func() { _, err := auth.AuthenticateAPIKey(ctx, k.Key); late <- err }()
	select {
	case err := <-late:
		wantCode(t, err, "CredentialRevoked")
	case <-time.After(2 * time.Second):
		t.Fatal("the request made after the revocation waited on the earlier lookup")
	}
	close(slow.release)
	<-early
	wantCode(t, errOf(auth.AuthenticateAPIKey(ctx, k.Key)), "CredentialRevoked")
}
