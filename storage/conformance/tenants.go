package conformance

import (
	"strconv"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var tenantTests = []suiteTest{
	{"Tenant/RoundTrip", testTenantRoundTrip},
	{"Tenant/NotFound", testTenantNotFound},
	{"Tenant/DuplicateName", testTenantDuplicateName},
	{"Tenant/DuplicateUID", testTenantDuplicateUID},
	{"Tenant/NameIsCaseSensitive", testTenantNameCaseSensitive},
	{"Tenant/List", testListTenants},
}

func testTenantRoundTrip(t *testing.T, s storage.Store) {
	want := mustTenant(t, s, "Acme Corp")
	got, err := s.TenantByUID(ctx(t), want.UID)
	mustOK(t, "TenantByUID", err)
	sameRecord(t, "TenantByUID", got, want)
	got, err = s.TenantByName(ctx(t), want.Name)
	mustOK(t, "TenantByName", err)
	sameRecord(t, "TenantByName", got, want)
}

func testTenantNotFound(t *testing.T, s storage.Store) {
	mustTenant(t, s, "acme")
	_, err := s.TenantByUID(ctx(t), "no-such-tenant")
	wantErr(t, "TenantByUID(unknown)", err, storage.ErrNotFound)
	_, err = s.TenantByName(ctx(t), "no-such-name")
	wantErr(t, "TenantByName(unknown)", err, storage.ErrNotFound)
}

func testTenantDuplicateName(t *testing.T, s storage.Store) {
	first := mustTenant(t, s, "acme")
	err := s.CreateTenant(ctx(t), newTenant("acme"))
	wantErr(t, "CreateTenant(same name)", err, storage.ErrConflict)
	got, err := s.TenantByName(ctx(t), "acme")
	mustOK(t, "TenantByName", err)
	if got.UID != first.UID {
		t.Errorf("TenantByName after a refused duplicate = %s, want the first tenant %s", got.UID, first.UID)
	}
}

func testTenantDuplicateUID(t *testing.T, s storage.Store) {
	first := mustTenant(t, s, "acme")
	dup := newTenant("other")
	dup.UID = first.UID
	err := s.CreateTenant(ctx(t), dup)
	wantErr(t, "CreateTenant(same uid)", err, storage.ErrConflict)
	_, err = s.TenantByName(ctx(t), "other")
	wantErr(t, "TenantByName of the refused tenant", err, storage.ErrNotFound)
}

func testTenantNameCaseSensitive(t *testing.T, s storage.Store) {
	upper := mustTenant(t, s, "Acme")
	lower := mustTenant(t, s, "acme")
	for name, want := range map[string]string{"Acme": upper.UID, "acme": lower.UID} {
		got, err := s.TenantByName(ctx(t), name)
		mustOK(t, "TenantByName("+name+")", err)
		if got.UID != want {
			t.Errorf("TenantByName(%q) = %s, want %s", name, got.UID, want)
		}
	}
	_, err := s.TenantByName(ctx(t), "ACME")
	wantErr(t, "TenantByName(ACME)", err, storage.ErrNotFound)
}

func testListTenants(t *testing.T, s storage.Store) {
	got, err := s.ListTenants(ctx(t))
	mustOK(t, "ListTenants(empty store)", err)
	if got == nil || len(got) != 0 {
		t.Fatalf("ListTenants of an empty store = %#v, want an empty, non-nil list", got)
	}
	var want []storage.Tenant
	for i, name := range []string{"newest", "oldest", "middle"} {
		tn := newTenant(name)
		tn.CreatedAt = t0.Add(time.Duration([]int{2, 0, 1}[i]) * time.Minute)
		mustOK(t, "CreateTenant("+name+")", s.CreateTenant(ctx(t), tn))
		want = append(want, tn)
	}
	want = []storage.Tenant{want[1], want[2], want[0]}
	got, err = s.ListTenants(ctx(t))
	mustOK(t, "ListTenants", err)
	if len(got) != len(want) {
		t.Fatalf("ListTenants = %d tenants, want %d", len(got), len(want))
	}
	for i := range want {
		sameRecord(t, "ListTenants["+strconv.Itoa(i)+"]", got[i], want[i])
	}
}
