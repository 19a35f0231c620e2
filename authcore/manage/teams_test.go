package manage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Two admins, each Tenant Admin only through a team of their own: deleting both teams at
// once leaves exactly one, since the tenant must keep an enabled Tenant Admin.
func TestConcurrentTeamDeletesKeepATenantAdmin(t *testing.T) {
	ctx := t.Context()
	ad := Operator{Service: NewService(ServiceConfig{Store: openStore(t)})}
	if _, err := ad.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	var teams []string
	for _, email := range []string{"a@acme.test", "b@acme.test"} {
		if _, err := ad.CreateUser(ctx, NewUser{TenantName: "acme", Email: email, Role: storage.RoleUser}); err != nil {
			t.Fatal(err)
		}
		v, err := ad.CreateTeam(ctx, NewTeam{TenantName: "acme", Name: email, Emails: []string{email}, Roles: []string{"Tenant Admin"}})
		if err != nil {
			t.Fatal(err)
		}
		teams = append(teams, v.Team.UID)
	}
	errs := make([]error, len(teams))
	var wg sync.WaitGroup
	for i, uid := range teams {
		wg.Go(func() { errs[i] = ad.DeleteTeam(context.Background(), uid) })
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		var e *authcore.Error
		switch {
		case err == nil:
		case errors.As(err, &e) && e.Code == "LastTenantAdmin":
			refused++
		default:
			t.Fatalf("delete: %v", err)
		}
	}
	left, err := ad.ListTeams(ctx, "acme")
	if refused != 1 || err != nil || len(left) != 1 {
		t.Fatalf("%d deletes refused, %d teams left (%v); want exactly one of each", refused, len(left), err)
	}
}

// A user who is not a tenant admin pages through the teams they are in, oldest first,
// and only those.
func TestUsersPageThroughTheirOwnTeams(t *testing.T) {
	ctx := t.Context()
	clock := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(time.Second); return clock } // one order of creation
	ad := Operator{Service: NewService(ServiceConfig{Store: openStore(t), Now: tick})}
	if _, err := ad.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	dev, err := ad.CreateUser(ctx, NewUser{TenantName: "acme", Email: "dev@acme.test", Role: storage.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "other", "two"} {
		members := []string{"dev@acme.test"}
		if name == "other" {
			members = nil
		}
		if _, err := ad.CreateTeam(ctx, NewTeam{TenantName: "acme", Name: name, Emails: members}); err != nil {
			t.Fatal(err)
		}
	}
	p := authcore.UserPrincipal(dev, authcore.MethodAPIKey)
	a := authcore.Actor{Principal: &p}
	var names []string
	cursor := ""
	for range 5 {
		page, next, err := ad.Service.ListTeams(ctx, a, 1, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, team := range page {
			names = append(names, team.Name)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(names) != 2 || names[0] != "one" || names[1] != "two" {
		t.Errorf("the user's teams, a page at a time: %q; want one, two", names)
	}
	if _, err := ad.Service.CreateTeam(ctx, a, TeamRequest{Name: "mine"}); err == nil {
		t.Error("a user who is not a tenant admin created a team")
	}
}
