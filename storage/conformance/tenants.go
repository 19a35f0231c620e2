package conformance

import (
	"testing"

	"github.com/keygate/keygate/storage"
)

var tenantTests = []suiteTest{
	{"Tenant/RoundTrip", testTenantRoundTrip},
	{"Tenant/NotFound", testTenantNotFound},
	{"Tenant/DuplicateName", testTenantDuplicateName},
	{"Tenant/DuplicateUID", testTenantDuplicateUID},
	{"Tenant/NameIsCaseSensitive", testTenantNameCaseSensitive},
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
