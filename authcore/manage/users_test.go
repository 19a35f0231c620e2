package manage

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

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
