package conformance

import (
	"fmt"
	"testing"

	"github.com/keygate/keygate/storage"
)

var bootstrapTests = []suiteTest{
	{"Bootstrap/Once", testBootstrapOnce},
	{"Bootstrap/NotAfterCreateTenant", testBootstrapAfterTenant},
	{"Bootstrap/FailureLeavesNothing", testBootstrapAtomic},
	{"Bootstrap/Concurrent", testBootstrapConcurrent},
}

func newAdmin(tenantUID string) storage.User {
	u := newUser(tenantUID, "Admin@Example.com", 0)
	u.Role = storage.RoleTenantAdmin
	return u
}

func testBootstrapOnce(t *testing.T, s storage.Store) {
	tn := newTenant("first")
	admin := newAdmin(tn.UID)
	created, err := s.Bootstrap(ctx(t), tn, admin)
	mustOK(t, "Bootstrap", err)
	if !created {
		t.Fatal("Bootstrap on an empty store reported false")
	}
	gotTenant, err := s.TenantByName(ctx(t), "first")
	mustOK(t, "TenantByName", err)
	sameRecord(t, "bootstrapped tenant", gotTenant, tn)
	gotUser, err := s.UserByUID(ctx(t), admin.UID)
	mustOK(t, "UserByUID", err)
	sameRecord(t, "bootstrapped admin", gotUser, lowerEmail(admin))

	tn2 := newTenant("second")
	admin2 := newAdmin(tn2.UID)
	created, err = s.Bootstrap(ctx(t), tn2, admin2)
	mustOK(t, "second Bootstrap", err)
	if created {
		t.Error("second Bootstrap reported true")
	}
	_, err = s.TenantByName(ctx(t), "second")
	wantErr(t, "TenantByName of the second bootstrap", err, storage.ErrNotFound)
	_, err = s.UserByUID(ctx(t), admin2.UID)
	wantErr(t, "UserByUID of the second bootstrap", err, storage.ErrNotFound)
}

func testBootstrapAfterTenant(t *testing.T, s storage.Store) {
	mustTenant(t, s, "existing")
	tn := newTenant("bootstrap")
	created, err := s.Bootstrap(ctx(t), tn, newAdmin(tn.UID))
	mustOK(t, "Bootstrap", err)
	if created {
		t.Error("Bootstrap with a tenant present reported true")
	}
	_, err = s.TenantByUID(ctx(t), tn.UID)
	wantErr(t, "TenantByUID of the refused bootstrap", err, storage.ErrNotFound)
}

// testBootstrapAtomic makes the admin insert fail (its tenant does not exist) and checks
// that the tenant inserted before it in the same transaction is gone, so that a later
// Bootstrap can still succeed.
func testBootstrapAtomic(t *testing.T, s storage.Store) {
	tn := newTenant("first")
	broken := newAdmin("no-such-tenant")
	created, err := s.Bootstrap(ctx(t), tn, broken)
	if err == nil || created {
		t.Fatalf("Bootstrap with an admin of another tenant = %v, %v; want an error", created, err)
	}
	_, err = s.TenantByUID(ctx(t), tn.UID)
	wantErr(t, "TenantByUID after a failed Bootstrap", err, storage.ErrNotFound)

	created, err = s.Bootstrap(ctx(t), tn, newAdmin(tn.UID))
	mustOK(t, "Bootstrap after a failed one", err)
	if !created {
		t.Error("Bootstrap after a failed one reported false")
	}
}

// testBootstrapConcurrent races several Bootstraps of different tenants (as several
// nodes starting at once would): exactly one may create its tenant.
func testBootstrapConcurrent(t *testing.T, s storage.Store) {
	const racers = 6
	tenants := make([]storage.Tenant, racers)
	for i := range racers {
		tenants[i] = newTenant(fmt.Sprintf("racer-%d", i))
	}
	created := make([]bool, racers)
	errs := AtOnce(racers, func(i int) (err error) {
		created[i], err = s.Bootstrap(ctx(t), tenants[i], newAdmin(tenants[i].UID))
		return err
	})
	winners := 0
	for i := range racers {
		mustOK(t, "concurrent Bootstrap", errs[i])
		_, err := s.TenantByUID(ctx(t), tenants[i].UID)
		exists := err == nil
		if exists != created[i] {
			t.Errorf("Bootstrap %d reported %v but its tenant exists = %v (%v)", i, created[i], exists, err)
		}
		if created[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d concurrent Bootstraps created a tenant, want exactly 1", winners)
	}
}
