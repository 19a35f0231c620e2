package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var roleTests = []suiteTest{
	{"Role/CreateList", testRoleCreateList},
	{"Role/SetUserRoles", testSetUserRoles},
	{"Team/RoundTrip", testTeamRoundTrip},
	{"Team/AdminThroughTeam", testTeamAdmin},
	{"Grant/ProjectRoles", testProjectRoles},
	{"Watch/TeamChange", testWatchTeamChange},
	{"Watch/TeamProjectGrant", testWatchTeamProjectGrant},
}

func newRole(tenantUID, name string, scope storage.RoleScope, perms ...string) storage.RoleDef {
	return storage.RoleDef{
		UID: newUID("role"), TenantUID: tenantUID, Name: name, Scope: scope, Permissions: perms,
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func mustRole(t *testing.T, s storage.Store, tenantUID, name string, scope storage.RoleScope, perms ...string) storage.RoleDef {
	t.Helper()
	r := newRole(tenantUID, name, scope, perms...)
	mustOK(t, "CreateRole "+name, s.CreateRole(ctx(t), r))
	return r
}

func mustTeam(t *testing.T, s storage.Store, tenantUID, name string, users, roles []string) storage.Team {
	t.Helper()
	tm := storage.Team{UID: newUID("team"), TenantUID: tenantUID, Name: name, Users: users, Roles: roles, CreatedAt: t0, UpdatedAt: t0}
	mustOK(t, "CreateTeam "+name, s.CreateTeam(ctx(t), tm))
	return tm
}

// sameSet fails the test unless got holds exactly want (both sorted).
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, storage.SortedSet(want)) {
		t.Errorf("%s = %q, want %q", what, got, storage.SortedSet(want))
	}
}

func testRoleCreateList(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	r := mustRole(t, s, tn.UID, "auditor", storage.ScopeTenant, "user.list", "audit.get", "user.list")
	mustRole(t, s, other.UID, "auditor", storage.ScopeTenant, "x.get") // names are per tenant
	wantErr(t, "CreateRole(same name)", s.CreateRole(ctx(t), newRole(tn.UID, "auditor", storage.ScopeProject)), storage.ErrConflict)
	wantErr(t, "CreateRole(unknown tenant)", s.CreateRole(ctx(t), newRole("no-such-tenant", "x", storage.ScopeTenant)), storage.ErrNotFound)
	got, err := s.ListRoles(ctx(t), tn.UID)
	mustOK(t, "ListRoles", err)
	if len(got) != 1 {
		t.Fatalf("ListRoles = %+v, want the one role", got)
	}
	want := r
	want.Permissions = []string{"audit.get", "user.list"} // sorted, once each
	sameRecord(t, "ListRoles[0]", got[0], want)
	if none, err := s.ListRoles(ctx(t), "no-such-tenant"); err != nil || none == nil || len(none) != 0 {
		t.Errorf("ListRoles(unknown tenant) = %v, %v; want an empty list", none, err)
	}
}

func testSetUserRoles(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	custom := mustRole(t, s, tn.UID, "auditor", storage.ScopeTenant, "audit.get")
	foreign := mustRole(t, s, other.UID, "auditor", storage.ScopeTenant, "audit.get")
	projectRole := mustRole(t, s, tn.UID, "deployer", storage.ScopeProject, "cluster.create")

	mustOK(t, "SetUserRoles", s.SetUserRoles(ctx(t), u.UID, []string{custom.UID, storage.RoleUIDTenantAdmin}))
	got, err := s.UserByUID(ctx(t), u.UID)
	mustOK(t, "UserByUID", err)
	sameSet(t, "Roles", got.Roles, []string{custom.UID, storage.RoleUIDTenantAdmin})
	sameSet(t, "TenantRoles", got.TenantRoles, got.Roles)
	if got.Role != storage.RoleTenantAdmin {
		t.Errorf("Role = %q with Tenant Admin held, want tenant-admin", got.Role)
	}
	if n, err := s.ActiveTenantAdmins(ctx(t), tn.UID); err != nil || n != 1 {
		t.Errorf("ActiveTenantAdmins = %d, %v; want 1", n, err)
	}
	for name, roles := range map[string][]string{
		"another tenant's role": {foreign.UID},
		"a project role":        {projectRole.UID},
		"a built-in project":    {storage.RoleUIDProjectViewer},
		"an unknown role":       {"no-such-role"},
	} {
		wantErr(t, "SetUserRoles("+name+")", s.SetUserRoles(ctx(t), u.UID, roles), storage.ErrNotFound)
	}
	wantErr(t, "SetUserRoles(unknown user)", s.SetUserRoles(ctx(t), "no-such-user", nil), storage.ErrNotFound)
	mustOK(t, "SetUserRoles(none)", s.SetUserRoles(ctx(t), u.UID, nil))
	got, _ = s.UserByUID(ctx(t), u.UID)
	if len(got.Roles) != 0 || got.Role != storage.RoleUser {
		t.Errorf("after SetUserRoles(none): roles %q, role %q; want none, user", got.Roles, got.Role)
	}
	// UpdateUser's role is the direct Tenant Admin grant, beside the other roles.
	mustOK(t, "SetUserRoles", s.SetUserRoles(ctx(t), u.UID, []string{custom.UID}))
	mustOK(t, "UpdateUser(admin)", s.UpdateUser(ctx(t), u.UID, "A", "B", storage.RoleTenantAdmin))
	got, _ = s.UserByUID(ctx(t), u.UID)
	sameSet(t, "Roles after UpdateUser(tenant-admin)", got.Roles, []string{custom.UID, storage.RoleUIDTenantAdmin})
}

func testTeamRoundTrip(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	a := mustUser(t, s, tn.UID, "a@example.com", 0)
	b := mustUser(t, s, tn.UID, "b@example.com", time.Second)
	stranger := mustUser(t, s, other.UID, "c@example.com", 0)
	custom := mustRole(t, s, tn.UID, "auditor", storage.ScopeTenant, "audit.get")

	team := mustTeam(t, s, tn.UID, "ops", []string{b.UID, a.UID}, []string{storage.RoleUIDTenantViewer})
	got, err := s.TeamByUID(ctx(t), team.UID)
	mustOK(t, "TeamByUID", err)
	want := team
	want.Users = storage.SortedSet(team.Users)
	sameRecord(t, "TeamByUID", got, want)
	ua, _ := s.UserByUID(ctx(t), a.UID)
	sameSet(t, "member's Teams", ua.Teams, []string{team.UID})
	sameSet(t, "member's TenantRoles", ua.TenantRoles, []string{storage.RoleUIDTenantViewer})
	if len(ua.Roles) != 0 {
		t.Errorf("member's own Roles = %q, want none (the team's are not their own)", ua.Roles)
	}

	wantErr(t, "CreateTeam(same name)", s.CreateTeam(ctx(t), storage.Team{UID: newUID("team"), TenantUID: tn.UID, Name: "ops", CreatedAt: t0, UpdatedAt: t0}), storage.ErrConflict)
	wantErr(t, "CreateTeam(another tenant's user)", s.CreateTeam(ctx(t), storage.Team{UID: newUID("team"), TenantUID: tn.UID, Name: "x", Users: []string{stranger.UID}, CreatedAt: t0, UpdatedAt: t0}), storage.ErrNotFound)
	wantErr(t, "CreateTeam(a project role)", s.CreateTeam(ctx(t), storage.Team{UID: newUID("team"), TenantUID: tn.UID, Name: "y", Roles: []string{storage.RoleUIDProjectEditor}, CreatedAt: t0, UpdatedAt: t0}), storage.ErrNotFound)

	team.Name, team.Users, team.Roles = "operators", []string{b.UID}, []string{custom.UID}
	mustOK(t, "UpdateTeam", s.UpdateTeam(ctx(t), team))
	got, _ = s.TeamByUID(ctx(t), team.UID)
	if got.Name != "operators" || !slices.Equal(got.Users, []string{b.UID}) || !slices.Equal(got.Roles, []string{custom.UID}) {
		t.Errorf("after UpdateTeam: %+v", got)
	}
	ua, _ = s.UserByUID(ctx(t), a.UID)
	ub, _ := s.UserByUID(ctx(t), b.UID)
	if len(ua.Teams) != 0 || len(ua.TenantRoles) != 0 || !slices.Equal(ub.TenantRoles, []string{custom.UID}) {
		t.Errorf("after UpdateTeam: removed member %+v, kept member %+v", ua, ub)
	}
	second := mustTeam(t, s, tn.UID, "second", nil, nil)
	teams, next, err := s.ListTeams(ctx(t), tn.UID, storage.Page{Limit: 1})
	mustOK(t, "ListTeams", err)
	rest, last, err := s.ListTeams(ctx(t), tn.UID, storage.Page{Limit: 1, After: next})
	mustOK(t, "ListTeams(page 2)", err)
	if len(teams) != 1 || len(rest) != 1 || teams[0].UID == rest[0].UID || last != "" {
		t.Errorf("ListTeams pages = %+v then %+v (next %q)", teams, rest, last)
	}
	wantErr(t, "UpdateTeam(unknown)", s.UpdateTeam(ctx(t), storage.Team{UID: "no-such-team", Name: "z"}), storage.ErrNotFound)
	mustOK(t, "DeleteTeam", s.DeleteTeam(ctx(t), team.UID))
	mustOK(t, "DeleteTeam(second)", s.DeleteTeam(ctx(t), second.UID))
	_, err = s.TeamByUID(ctx(t), team.UID)
	wantErr(t, "TeamByUID(deleted)", err, storage.ErrNotFound)
	wantErr(t, "DeleteTeam(deleted)", s.DeleteTeam(ctx(t), team.UID), storage.ErrNotFound)
	ub, _ = s.UserByUID(ctx(t), b.UID)
	if len(ub.Teams) != 0 || len(ub.TenantRoles) != 0 {
		t.Errorf("member after DeleteTeam: %+v, want no team nor role", ub)
	}
}

// testTeamAdmin: Tenant Admin held through a team counts as an admin, and deleting a
// member removes them from their teams.
func testTeamAdmin(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "a@example.com", 0)
	team := mustTeam(t, s, tn.UID, "admins", []string{u.UID}, []string{storage.RoleUIDTenantAdmin})
	if n, err := s.ActiveTenantAdmins(ctx(t), tn.UID); err != nil || n != 1 {
		t.Errorf("ActiveTenantAdmins with an admin team = %d, %v; want 1", n, err)
	}
	mustOK(t, "SetUserDisabled", s.SetUserDisabled(ctx(t), u.UID, true))
	if n, _ := s.ActiveTenantAdmins(ctx(t), tn.UID); n != 0 {
		t.Errorf("ActiveTenantAdmins with the admin disabled = %d, want 0", n)
	}
	mustOK(t, "DeleteUser", s.DeleteUser(ctx(t), u.UID))
	got, err := s.TeamByUID(ctx(t), team.UID)
	if err != nil || len(got.Users) != 0 {
		t.Errorf("team after its member was deleted = %+v, %v; want no members", got, err)
	}
}

func testProjectRoles(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	u := mustUser(t, s, tn.UID, "a@example.com", 0)
	v := mustUser(t, s, tn.UID, "b@example.com", time.Second)
	p := mustProject(t, s, tn.UID, "p")
	q := mustProject(t, s, tn.UID, "q")
	foreign := mustProject(t, s, other.UID, "f")
	deployer := mustRole(t, s, tn.UID, "deployer", storage.ScopeProject, "cluster.create")
	team := mustTeam(t, s, tn.UID, "ops", []string{u.UID}, nil)

	mustOK(t, "SetProjectRoles(user)", s.SetProjectRoles(ctx(t), storage.ProjectGrant{ProjectUID: p.UID, UserUID: u.UID, Roles: []string{storage.RoleUIDProjectViewer}}))
	mustOK(t, "SetProjectRoles(team)", s.SetProjectRoles(ctx(t), storage.ProjectGrant{ProjectUID: p.UID, TeamUID: team.UID, Roles: []string{deployer.UID}}))
	mustOK(t, "SetProjectRoles(team, q)", s.SetProjectRoles(ctx(t), storage.ProjectGrant{ProjectUID: q.UID, TeamUID: team.UID, Roles: []string{storage.RoleUIDProjectAdmin}}))
	a, err := s.ProjectAccess(ctx(t), p.UID, u.UID)
	mustOK(t, "ProjectAccess", err)
	if !a.Member || a.TenantUID != tn.UID {
		t.Errorf("ProjectAccess = %+v, want a member of %s", a, tn.UID)
	}
	sameSet(t, "effective project roles", a.Roles, []string{storage.RoleUIDProjectViewer, deployer.UID})
	if a, _ := s.ProjectAccess(ctx(t), p.UID, v.UID); a.Member || len(a.Roles) != 0 {
		t.Errorf("ProjectAccess of a user without roles = %+v", a)
	}
	grants, err := s.ProjectGrants(ctx(t), p.UID)
	mustOK(t, "ProjectGrants", err)
	want := []storage.ProjectGrant{
		{ProjectUID: p.UID, UserUID: u.UID, Roles: []string{storage.RoleUIDProjectViewer}},
		{ProjectUID: p.UID, TeamUID: team.UID, Roles: []string{deployer.UID}},
	}
	if !grantsEqual(grants, want) {
		t.Errorf("ProjectGrants = %+v, want %+v", grants, want)
	}
	mine, err := s.UserProjectGrants(ctx(t), u.UID)
	mustOK(t, "UserProjectGrants", err)
	if len(mine) != 3 || mine[0].ProjectUID > mine[len(mine)-1].ProjectUID {
		t.Errorf("UserProjectGrants = %+v, want own and team grants in p and q", mine)
	}
	projects, err := s.UserProjects(ctx(t), u.UID)
	mustOK(t, "UserProjects", err)
	if len(projects) != 2 {
		t.Errorf("UserProjects = %+v, want p and q (q through the team)", projects)
	}
	for name, g := range map[string]storage.ProjectGrant{
		"a tenant role":            {ProjectUID: p.UID, UserUID: u.UID, Roles: []string{storage.RoleUIDTenantViewer}},
		"another tenant's project": {ProjectUID: foreign.UID, UserUID: u.UID, Roles: []string{storage.RoleUIDProjectViewer}},
		"an unknown user":          {ProjectUID: p.UID, UserUID: "no-such-user"},
		"an unknown team":          {ProjectUID: p.UID, TeamUID: "no-such-team"},
	} {
		wantErr(t, "SetProjectRoles("+name+")", s.SetProjectRoles(ctx(t), g), storage.ErrNotFound)
	}
	if members, _ := s.ProjectMembers(ctx(t), p.UID); !slices.Equal(members, []string{u.UID}) {
		t.Errorf("ProjectMembers = %v, want the user with a direct grant", members)
	}
	mustOK(t, "SetProjectRoles(none)", s.SetProjectRoles(ctx(t), storage.ProjectGrant{ProjectUID: p.UID, TeamUID: team.UID}))
	a, _ = s.ProjectAccess(ctx(t), p.UID, u.UID)
	sameSet(t, "project roles after the team's went", a.Roles, []string{storage.RoleUIDProjectViewer})
	mustOK(t, "DeleteTeam", s.DeleteTeam(ctx(t), team.UID))
	if a, _ := s.ProjectAccess(ctx(t), q.UID, u.UID); a.Member {
		t.Errorf("ProjectAccess in q after the team was deleted = %+v, want none", a)
	}
}

func grantsEqual(a, b []storage.ProjectGrant) bool {
	return slices.EqualFunc(a, b, func(x, y storage.ProjectGrant) bool {
		return x.ProjectUID == y.ProjectUID && x.UserUID == y.UserUID && x.TeamUID == y.TeamUID && slices.Equal(x.Roles, y.Roles)
	})
}

// testWatchTeamChange: changing a team announces each member, old and new, with their
// keys, and their standing in the projects the team holds roles in.
func testWatchTeamChange(t *testing.T, s storage.Store) {
	tn, probe, r := watchFixture(t, s)
	a := mustUser(t, s, tn.UID, "a@example.com", 0)
	b := mustUser(t, s, tn.UID, "b@example.com", time.Second)
	ka := mustKey(t, s, a)
	p := mustProject(t, s, tn.UID, "p")
	team := mustTeam(t, s, tn.UID, "ops", []string{a.UID}, nil)
	mustOK(t, "SetProjectRoles", s.SetProjectRoles(ctx(t), storage.ProjectGrant{ProjectUID: p.UID, TeamUID: team.UID, Roles: []string{storage.RoleUIDProjectViewer}}))
	r.barrier(t, s, probe)
	mark := r.mark()

	team.Users, team.Roles = []string{b.UID}, []string{storage.RoleUIDTenantViewer}
	mustOK(t, "UpdateTeam", s.UpdateTeam(ctx(t), team))
	r.mustSeeAll(t,
		storage.Change{Kind: storage.ChangeUser, Ref: a.UID},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(ka)},
		storage.Change{Kind: storage.ChangeMembership, Ref: storage.MembershipRef(p.UID, a.UID)},
		storage.Change{Kind: storage.ChangeUser, Ref: b.UID},
		storage.Change{Kind: storage.ChangeMembership, Ref: storage.MembershipRef(p.UID, b.UID)})
	_ = mark
	mustOK(t, "DeleteTeam", s.DeleteTeam(ctx(t), team.UID))
	r.barrier(t, s, probe)
	if n := countKind(r.since(mark), storage.ChangeUser, b.UID); n < 2 {
		t.Errorf("saw %d ChangeUser for the member after UpdateTeam and DeleteTeam, want 2", n)
	}
}

// testWatchTeamProjectGrant: a team's project roles announce each member's standing.
func testWatchTeamProjectGrant(t *testing.T, s storage.Store) {
	tn, _, r := watchFixture(t, s)
	a := mustUser(t, s, tn.UID, "a@example.com", 0)
	p := mustProject(t, s, tn.UID, "p")
	team := mustTeam(t, s, tn.UID, "ops", []string{a.UID}, nil)
	mustOK(t, "SetProjectRoles", s.SetProjectRoles(ctx(t), storage.ProjectGrant{ProjectUID: p.UID, TeamUID: team.UID, Roles: []string{storage.RoleUIDProjectViewer}}))
	r.mustSee(t, storage.ChangeMembership, storage.MembershipRef(p.UID, a.UID))
	mustOK(t, "CreateRole", s.CreateRole(ctx(t), newRole(tn.UID, "r", storage.ScopeProject)))
	r.mustSee(t, storage.ChangeRole, tn.UID)
}

func countKind(changes []storage.Change, kind storage.ChangeKind, ref string) int {
	n := 0
	for _, c := range changes {
		if c.Kind == kind && c.Ref == ref {
			n++
		}
	}
	return n
}
