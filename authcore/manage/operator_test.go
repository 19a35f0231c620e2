package manage

import (
	"fmt"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
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
