package manage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

func TestOperatorListingsPageThroughEveryTenant(t *testing.T) {
	ctx := t.Context()
	store := openStore(t)
	clock := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(time.Second); return clock }
	ad := Operator{Service: NewService(ServiceConfig{Store: store, Now: tick})}

	for _, name := range []string{"acme", "beta"} {
		if _, err := ad.CreateTenant(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	n := MaxPageSize + 5 // more than a page
	for i := range n {
		if _, err := ad.CreateUser(ctx, NewUser{TenantName: "acme", Email: fmt.Sprintf("u%02d@acme.test", i), Role: storage.RoleUser}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ad.CreateUser(ctx, NewUser{TenantName: "beta", Email: "b@beta.test", Role: storage.RoleUser}); err != nil {
		t.Fatal(err)
	}

	for tenant, want := range map[string]int{"acme": n, "beta": 1, "": n + 1} {
		if users, err := ad.ListUsers(ctx, tenant); err != nil || len(users) != want {
			t.Errorf("ListUsers(%q) = %d users, %v; want %d", tenant, len(users), err, want)
		}
	}
	all, err := ad.ListAudit(ctx, "acme", time.Time{}, 0)
	if err != nil || len(all) != n+1 || all[0].Detail != fmt.Sprintf("u%02d@acme.test", n-1) || all[n].Action != "tenant.create" {
		t.Fatalf("ListAudit(acme) = %d events, %v", len(all), err)
	}
	if newest, err := ad.ListAudit(ctx, "acme", time.Time{}, 3); err != nil || len(newest) != 3 || newest[2].ID != all[2].ID {
		t.Errorf("ListAudit(limit 3) = %+v, %v", newest, err)
	}
	if since, err := ad.ListAudit(ctx, "acme", all[n-2].At, 0); err != nil || len(since) != n-1 {
		t.Errorf("ListAudit(since the %dth event) = %d events, %v; want %d", n-1, len(since), err, n-1)
	}
	if _, err := ad.Service.ListTenants(ctx, authcore.Actor{Principal: &authcore.Principal{Role: storage.RoleTenantAdmin}}); err == nil {
		t.Error("a tenant admin listed every tenant")
	}
}

func TestBootstrapAsksForThePasswordOnlyUntilTheTenantExists(t *testing.T) {
	ctx := t.Context()
	store := openStore(t)
	ad := Operator{Service: NewService(ServiceConfig{Store: store}), OSUser: "ops"}

	Unavailable := errors.New("no password yet")
	if _, err := ad.Bootstrap(ctx, "admin@example.com", func() (string, error) { return "", Unavailable }); !errors.Is(err, Unavailable) {
		t.Fatalf("a failing password source: %v", err)
	}
	asked := 0
	password := func() (string, error) { asked++; return "first-admin-pw", nil }
	for start, want := range []bool{true, false, false} {
		if created, err := ad.Bootstrap(ctx, "admin@example.com", password); err != nil || created != want {
			t.Fatalf("start %d: created %v, %v; want %v", start+1, created, err, want)
		}
	}
	if asked != 1 {
		t.Fatalf("the password was asked for (and hashed) %d times in three starts, want once", asked)
	}
	users, err := store.UsersByEmail(ctx, "admin@example.com")
	if err != nil || len(users) != 1 || !protect.VerifyPassword(users[0].PasswordHash, "first-admin-pw") {
		t.Fatalf("bootstrap admins %+v (%v)", users, err)
	}
	// The one bootstrap that happened is audited, as the operator's.
	events, _, err := store.ListAudit(ctx, users[0].TenantUID, storage.Page{Limit: 50})
	if err != nil || len(events) != 1 || events[0].Action != "tenant.bootstrap" || events[0].ActorEmail != "operator:ops" {
		t.Fatalf("audit after three starts = %+v (%v), want one tenant.bootstrap by operator:ops", events, err)
	}
}

// readHookStore runs a hook, once, right after the first UserByUID of the user it names:
// between the service's own read of that user and its transaction.
type readHookStore struct {
	storage.Store
	uid  string
	ran  atomic.Bool
	hook func()
}

func (s *readHookStore) UserByUID(ctx context.Context, uid string) (storage.User, error) {
	u, err := s.Store.UserByUID(ctx, uid)
	if uid == s.uid && s.ran.CompareAndSwap(false, true) { // the hook reads the user too
		s.hook()
	}
	return u, err
}

// An edit of a user's names, made while another admin promotes that user and is then
// demoted by them, keeps the promotion: the edit reads the user in its own transaction,
// so it neither writes the old role back nor skips the last-admin check.
func TestAnEditDoesNotUndoAConcurrentPromotion(t *testing.T) {
	ctx := context.Background()
	raw := openStore(t)
	store := &readHookStore{Store: raw}
	op := Operator{Service: NewService(ServiceConfig{Store: store})}
	if _, err := op.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	ann, err := op.CreateUser(ctx, NewUser{TenantName: "acme", Email: "ann@acme.test", Role: storage.RoleTenantAdmin})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := op.CreateUser(ctx, NewUser{TenantName: "acme", Email: "cal@acme.test", Role: storage.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	asAnn := authcore.Actor{Principal: &authcore.Principal{UserUID: ann.UID, TenantUID: ann.TenantUID, Role: ann.Role}}
	asCal := authcore.Actor{Principal: &authcore.Principal{UserUID: cal.UID, TenantUID: cal.TenantUID, Role: storage.RoleTenantAdmin}}
	svc := op.Service
	store.uid, store.hook = cal.UID, func() {
		if _, err := svc.UpdateUser(ctx, asAnn, cal.UID, UserRequest{Role: storage.RoleTenantAdmin}); err != nil {
			t.Errorf("promoting cal: %v", err)
		}
		if _, err := svc.UpdateUser(ctx, asCal, ann.UID, UserRequest{Role: storage.RoleUser}); err != nil {
			t.Errorf("cal demoting ann: %v", err)
		}
	}
	if _, err := svc.UpdateUser(ctx, asAnn, cal.UID, UserRequest{FirstName: "Cal"}); err != nil {
		t.Fatalf("renaming cal: %v", err)
	}
	got, err := raw.UserByUID(ctx, cal.UID)
	if err != nil || got.Role != storage.RoleTenantAdmin || got.FirstName != "Cal" {
		t.Fatalf("cal after the rename = %+v (%v), want a tenant admin named Cal", got, err)
	}
	if n, err := raw.ActiveTenantAdmins(ctx, cal.TenantUID); err != nil || n != 1 {
		t.Fatalf("the tenant has %d enabled admins (%v), want 1", n, err)
	}
}

// openStore opens a fresh SQLite store for a test, closed when it ends.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	store, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "keygate.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}
