package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// Two tenant admins removing each other at the same moment (demoting, disabling or
// deleting) leave one: the check that a tenant keeps an enabled admin runs inside the
// change's transaction, so the second of the two is refused with 409 LastTenantAdmin
// (or, if the first change reached its credential first, with 401 or 403).
func TestAdminsRemovingEachOtherAtOnceLeaveOne(t *testing.T) {
	g := startGateway(t, "")
	ctx := context.Background()
	const pairs = 50
	type admin struct {
		user storage.User
		key  string
	}
	tenants := make([]storage.Tenant, pairs)
	admins := make([][2]admin, pairs)
	for i := range pairs {
		tn, err := g.admin.CreateTenant(ctx, fmt.Sprintf("t%d", i))
		if err != nil {
			t.Fatal(err)
		}
		tenants[i] = tn
		for j := range 2 {
			u, err := g.admin.CreateUser(ctx, newAdmin(tn.Name, fmt.Sprintf("admin%d@t%d.test", j, i)))
			if err != nil {
				t.Fatal(err)
			}
			admins[i][j] = admin{u, g.mustKey(t, u, "7d").Key}
		}
	}
	removals := []struct{ method, body string }{
		{http.MethodPatch, `{"spec":{"role":"user"}}`},
		{http.MethodPatch, `{"status":{"active":false}}`},
		{http.MethodDelete, ""},
		{http.MethodPut, `{"spec":{"roles":[]}}`},
		{http.MethodPatch, `[{"op":"replace","path":"/spec/roles","value":[]}]`},
	}
	var wg sync.WaitGroup
	var refused sync.Map // status -> count, for the log
	errs := make(chan string, 2*pairs)
	for i := range pairs {
		removal := removals[i%len(removals)]
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				me, other := admins[i][j], admins[i][1-j]
				res, body := g.call(t, removal.method, "/v1/users/"+other.user.UID, map[string]string{"ApiKey": me.key}, removal.body)
				switch {
				case res.StatusCode == http.StatusNoContent:
				case res.StatusCode == http.StatusConflict && strings.Contains(body, `"LastTenantAdmin"`),
					res.StatusCode == http.StatusUnauthorized, res.StatusCode == http.StatusForbidden:
					n, _ := refused.LoadOrStore(res.StatusCode, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				default:
					errs <- fmt.Sprintf("%s %s in t%d: %d %s", removal.method, removal.body, i, res.StatusCode, body)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	refused.Range(func(status, n any) bool {
		t.Logf("%d removals refused with %d", n.(*atomic.Int64).Load(), status)
		return true
	})
	for i, tn := range tenants {
		if n, err := g.store.ActiveTenantAdmins(ctx, tn.UID); err != nil || n != 1 {
			t.Errorf("t%d (%s) has %d enabled admins after both tried to remove the other (%v), want 1", i, removals[i%len(removals)].body, n, err)
		}
	}
}

// newAdmin describes a tenant admin to create.
func newAdmin(tenant, email string) manage.NewUser {
	return manage.NewUser{TenantName: tenant, Email: email, Role: storage.RoleTenantAdmin}
}
