package tests

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// paletteUser is the part of Palette's v1User that its SDK reads back.
type paletteUser struct {
	Metadata struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		EmailID   string   `json:"emailId"`
		FirstName string   `json:"firstName"`
		LastName  string   `json:"lastName"`
		Roles     []string `json:"roles"`
	} `json:"spec"`
	Status struct {
		ActivationLink string `json:"activationLink"`
	} `json:"status"`
}

// getPaletteUser reads a user as a tenant admin.
func (g *gateway) getPaletteUser(t *testing.T, key, uid string) paletteUser {
	t.Helper()
	var u paletteUser
	if code := g.api(t, key, "GET", "/v1/users/"+uid, "", &u); code != http.StatusOK {
		t.Fatalf("GET /v1/users/%s = %d", uid, code)
	}
	return u
}

// storedTeam makes a team of the tenant in the store, as the teams API would.
func (g *gateway) storedTeam(t *testing.T, tenantUID, name string, roles ...string) storage.Team {
	t.Helper()
	now := time.Now()
	team := storage.Team{UID: authcore.NewUID(), TenantUID: tenantUID, Name: name, Roles: roles, CreatedAt: now, UpdatedAt: now}
	if err := g.store.CreateTeam(context.Background(), team); err != nil {
		t.Fatal(err)
	}
	return team
}

// GET /v1/users/meta lists every user of the caller's tenant as {emailId, name, uid}, to
// tenant admins only, and no user of another tenant.
func TestUsersMetaListsTheTenantsUsers(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	g.otherTenantAdminKey(t)
	var meta struct {
		Items []struct {
			EmailID string `json:"emailId"`
			Name    string `json:"name"`
			UID     string `json:"uid"`
		} `json:"items"`
	}
	if code := g.api(t, admin, "GET", "/v1/users/meta", "", &meta); code != http.StatusOK {
		t.Fatalf("GET /v1/users/meta = %d", code)
	}
	got := map[string]string{}
	for _, it := range meta.Items {
		if it.Name != it.EmailID {
			t.Errorf("item %+v: name should be the email", it)
		}
		got[it.EmailID] = it.UID
	}
	if len(got) != 2 || got["dev@acme.test"] != s.user.UID || got["boss@acme.test"] != s.admin.UID {
		t.Errorf("users/meta = %+v, want dev and boss of acme only", meta.Items)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/users/meta", "", nil); code != http.StatusForbidden {
		t.Errorf("GET /v1/users/meta as a user = %d, want 403", code)
	}
}

// POST /v1/users with Palette's v1UserEntity (roles and teams, no password) creates the
// user holding those roles, in those teams, with an activation link; an unknown role or
// team is 404 and creates nothing; Keygate's own body (spec.role) still works.
func TestUsersCreateWithPaletteEntity(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	team := g.storedTeam(t, s.tenant.UID, "ops", storage.RoleUIDTenantViewer)
	var created struct {
		UID string `json:"uid"`
	}
	body := `{"metadata":{"name":"Ann Lee"},"spec":{"emailId":"ann@acme.test","firstName":"Ann","lastName":"Lee","loginMode":"devise","roles":["` + storage.RoleUIDTenantAdmin + `"],"teams":["` + team.UID + `"]}}`
	if code := g.api(t, admin, "POST", "/v1/users", body, &created); code != http.StatusCreated || created.UID == "" {
		t.Fatalf("POST /v1/users (v1UserEntity) = %d, uid %q", code, created.UID)
	}
	u := g.getPaletteUser(t, admin, created.UID)
	if !slices.Equal(u.Spec.Roles, []string{storage.RoleUIDTenantAdmin}) || u.Spec.FirstName != "Ann" || u.Status.ActivationLink == "" {
		t.Errorf("created user = %+v, want Tenant Admin, Ann, an activation link", u)
	}
	stored, err := g.store.UserByUID(context.Background(), created.UID)
	if err != nil || !slices.Equal(stored.Teams, []string{team.UID}) || !slices.Contains(stored.TenantRoles, storage.RoleUIDTenantViewer) {
		t.Errorf("stored user = %+v, %v; want a member of team ops, with its role", stored, err)
	}
	// The new admin's roles hold on their first request.
	key := g.mustKeyFor(t, created.UID)
	if code := g.api(t, key, "GET", "/v1/users/meta", "", nil); code != http.StatusOK {
		t.Errorf("the new Tenant Admin's GET /v1/users/meta = %d, want 200", code)
	}
	for name, bad := range map[string]struct {
		body string
		want int
	}{
		"unknown role": {`{"spec":{"emailId":"x1@acme.test","roles":["no-such-role"]}}`, http.StatusNotFound},
		"project role": {`{"spec":{"emailId":"x2@acme.test","roles":["` + storage.RoleUIDProjectViewer + `"]}}`, http.StatusBadRequest},
		"unknown team": {`{"spec":{"emailId":"x3@acme.test","teams":["` + authcore.NewUID() + `"]}}`, http.StatusNotFound},
	} {
		if code := g.api(t, admin, "POST", "/v1/users", bad.body, nil); code != bad.want {
			t.Errorf("POST /v1/users with an %s = %d, want %d", name, code, bad.want)
		}
	}
	if users, _ := g.store.UsersByEmail(context.Background(), "x3@acme.test"); len(users) != 0 {
		t.Errorf("a create refused for its team left the user behind: %+v", users)
	}
	if code := g.api(t, admin, "POST", "/v1/users", `{"spec":{"emailId":"ann@acme.test"}}`, nil); code != http.StatusConflict {
		t.Errorf("POST /v1/users with a taken email = %d, want 409", code)
	}
	if code := g.api(t, admin, "POST", "/v1/users", `{"spec":{"emailId":"old@acme.test","role":"user","password":"pw-old-1234"}}`, &created); code != http.StatusCreated {
		t.Errorf("POST /v1/users with Keygate's body = %d, want 201", code)
	}
}

// PUT /v1/users/{uid} (v1UserUpdateEntity) replaces names and roles; the role change holds
// on the user's next request; an email change is 400, another tenant's user 404; a user
// may change their own names, not their roles; the last Tenant Admin cannot be removed.
func TestUsersPutReplacesNamesAndRoles(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	uid := s.user.UID
	put := func(key, uid, body string) int {
		return g.api(t, key, "PUT", "/v1/users/"+uid, body, nil)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/users/meta", "", nil); code != http.StatusForbidden {
		t.Fatalf("before: user's GET /v1/users/meta = %d, want 403", code)
	}
	if code := put(admin, uid, `{"metadata":{"name":"Dev"},"spec":{"emailId":"dev@acme.test","firstName":"Dee","lastName":"Vee","roles":["`+storage.RoleUIDTenantAdmin+`"]}}`); code != http.StatusNoContent {
		t.Fatalf("PUT /v1/users/{uid} = %d, want 204", code)
	}
	u := g.getPaletteUser(t, admin, uid)
	if u.Spec.FirstName != "Dee" || u.Spec.LastName != "Vee" || !slices.Equal(u.Spec.Roles, []string{storage.RoleUIDTenantAdmin}) {
		t.Errorf("after PUT: %+v", u.Spec)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/users/meta", "", nil); code != http.StatusOK {
		t.Errorf("after PUT granting Tenant Admin, the user's next request = %d, want 200", code)
	}
	if code := put(admin, uid, `{"spec":{"firstName":"Dee","roles":[]}}`); code != http.StatusNoContent {
		t.Fatalf("PUT removing roles = %d", code)
	}
	if u := g.getPaletteUser(t, admin, uid); u.Spec.LastName != "" || len(u.Spec.Roles) != 0 {
		t.Errorf("PUT without lastName and with no roles left %+v", u.Spec)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/users/meta", "", nil); code != http.StatusForbidden {
		t.Errorf("after PUT removing Tenant Admin, the user's next request = %d, want 403", code)
	}
	if code := put(admin, uid, `{"spec":{"emailId":"other@acme.test"}}`); code != http.StatusBadRequest {
		t.Errorf("PUT changing the email = %d, want 400", code)
	}
	if code := put(admin, uid, `{"spec":{"roles":["no-such-role"]}}`); code != http.StatusNotFound {
		t.Errorf("PUT with an unknown role = %d, want 404", code)
	}
	// A user edits their own names, not their roles, and reads themselves.
	if code := put(s.userKey, uid, `{"spec":{"firstName":"Me","lastName":"Self"}}`); code != http.StatusNoContent {
		t.Errorf("a user's PUT of their own names = %d, want 204", code)
	}
	if u := g.getPaletteUser(t, s.userKey, uid); u.Spec.FirstName != "Me" || u.Status.ActivationLink != "" {
		t.Errorf("a user reading themselves: %+v", u)
	}
	if code := put(s.userKey, uid, `{"spec":{"roles":["`+storage.RoleUIDTenantAdmin+`"]}}`); code != http.StatusForbidden {
		t.Errorf("a user's PUT of their own roles = %d, want 403", code)
	}
	if code := put(s.userKey, s.admin.UID, `{"spec":{"firstName":"X"}}`); code != http.StatusForbidden {
		t.Errorf("a user's PUT of another user = %d, want 403", code)
	}
	if code := put(admin, s.admin.UID, `{"spec":{"roles":[]}}`); code != http.StatusBadRequest {
		t.Errorf("a tenant admin's PUT demoting themselves = %d, want 400", code)
	}
	other := g.otherTenantAdminKey(t)
	if code := put(other, uid, `{"spec":{"firstName":"X"}}`); code != http.StatusNotFound {
		t.Errorf("another tenant's PUT = %d, want 404", code)
	}
}

// PATCH /v1/users/{uid} with a JSON Patch (RFC 6902) over the user's JSON changes what the
// same PUT would: names, roles appended with /spec/roles/-, a failed test op or a
// malformed patch is 400 and changes nothing; Keygate's object body still works.
func TestUsersPatchAppliesJSONPatch(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	uid := s.user.UID
	patch := func(key, body string) int {
		return g.api(t, key, "PATCH", "/v1/users/"+uid, body, nil)
	}
	ops := `[{"op":"add","path":"/spec/firstName","value":"Ann"},
		{"op":"replace","path":"/spec/lastName","value":"Lee"},
		{"op":"add","path":"/spec/roles/-","value":"` + storage.RoleUIDTenantViewer + `"},
		{"op":"copy","from":"/spec/firstName","path":"/metadata/name"},
		{"op":"test","path":"/spec/emailId","value":"dev@acme.test"}]`
	if code := patch(admin, ops); code != http.StatusNoContent {
		t.Fatalf("PATCH with a JSON Patch = %d, want 204", code)
	}
	u := g.getPaletteUser(t, admin, uid)
	if u.Spec.FirstName != "Ann" || u.Spec.LastName != "Lee" || !slices.Equal(u.Spec.Roles, []string{storage.RoleUIDTenantViewer}) || u.Metadata.Name != "dev@acme.test" {
		t.Errorf("after the patch: %+v", u)
	}
	for name, bad := range map[string]string{
		"failed test":   `[{"op":"replace","path":"/spec/firstName","value":"Bob"},{"op":"test","path":"/spec/lastName","value":"Nope"}]`,
		"unknown op":    `[{"op":"frob","path":"/spec/firstName"}]`,
		"missing path":  `[{"op":"remove","path":"/spec/nothing"}]`,
		"not an op":     `[1]`,
		"wrong type":    `[{"op":"replace","path":"/spec/roles","value":"x"}]`,
		"email changed": `[{"op":"replace","path":"/spec/emailId","value":"x@acme.test"}]`,
	} {
		if code := patch(admin, bad); code != http.StatusBadRequest {
			t.Errorf("PATCH with a %s = %d, want 400", name, code)
		}
	}
	if u := g.getPaletteUser(t, admin, uid); u.Spec.FirstName != "Ann" {
		t.Errorf("a refused patch changed the user: %+v", u.Spec)
	}
	if code := patch(admin, `[{"op":"remove","path":"/spec/lastName"},{"op":"remove","path":"/spec/roles/0"}]`); code != http.StatusNoContent {
		t.Fatalf("PATCH removing = %d", code)
	}
	if u := g.getPaletteUser(t, admin, uid); u.Spec.LastName != "" || len(u.Spec.Roles) != 0 {
		t.Errorf("after removing: %+v", u.Spec)
	}
	// A user patches their own names but not their roles.
	if code := patch(s.userKey, `[{"op":"replace","path":"/spec/firstName","value":"Me"}]`); code != http.StatusNoContent {
		t.Errorf("a user's own name patch = %d, want 204", code)
	}
	if code := patch(s.userKey, `[{"op":"add","path":"/spec/roles/-","value":"`+storage.RoleUIDTenantAdmin+`"}]`); code != http.StatusForbidden {
		t.Errorf("a user's own role patch = %d, want 403", code)
	}
	if code := patch(admin, `{"spec":{"lastName":"Kept"}}`); code != http.StatusNoContent {
		t.Errorf("PATCH with Keygate's object body = %d, want 204", code)
	}
	if u := g.getPaletteUser(t, admin, uid); u.Spec.FirstName != "Me" || u.Spec.LastName != "Kept" {
		t.Errorf("after the object PATCH: %+v", u.Spec)
	}
}

// userProjects is Palette's v1ProjectRolesEntity.
type userProjects struct {
	Projects []struct {
		UID            string `json:"uid"`
		Name           string `json:"name"`
		Roles          []struct{ Name, UID string }
		InheritedRoles []struct{ Name, UID string } `json:"inheritedRoles"`
	} `json:"projects"`
}

// PUT /v1/users/{uid}/projects replaces the user's own project roles, which the next
// request with ProjectUid carries; GET lists them with the roles inherited from teams;
// unknown projects or non-project roles are 404; only tenant admins change them.
func TestUsersProjectRolesPutAndGet(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	ctx := context.Background()
	ops, err := g.admin.CreateProject(ctx, "acme", "ops")
	if err != nil {
		t.Fatal(err)
	}
	team := g.storedTeam(t, s.tenant.UID, "viewers")
	team.Users = []string{s.user.UID}
	if err := g.store.UpdateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := g.store.SetProjectRoles(ctx, storage.ProjectGrant{ProjectUID: ops.UID, TeamUID: team.UID, Roles: []string{storage.RoleUIDProjectViewer}}); err != nil {
		t.Fatal(err)
	}
	path := "/v1/users/" + s.user.UID + "/projects"
	body := `{"projects":[{"projectUid":"` + s.project.UID + `","roles":["` + storage.RoleUIDProjectAdmin + `"]}]}`
	if code := g.api(t, admin, "PUT", path, body, nil); code != http.StatusNoContent {
		t.Fatalf("PUT %s = %d, want 204", path, code)
	}
	r := g.do(t, "/anything", map[string]string{"ApiKey": s.userKey, "ProjectUid": s.project.UID})
	if r.status != http.StatusOK || r.echo.Header.Get("X-User-Project-Roles") != "Project Admin" {
		t.Errorf("next request in web: %d, project roles %q; want Project Admin", r.status, r.echo.Header.Get("X-User-Project-Roles"))
	}
	var got userProjects
	if code := g.api(t, s.userKey, "GET", path, "", &got); code != http.StatusOK || len(got.Projects) != 2 {
		t.Fatalf("GET %s as the user = %d, %+v; want both projects", path, code, got)
	}
	if p := got.Projects[0]; p.Name != "ops" || len(p.Roles) != 0 || len(p.InheritedRoles) != 1 || p.InheritedRoles[0].Name != "Project Viewer" {
		t.Errorf("ops = %+v, want Project Viewer inherited only", p)
	}
	if p := got.Projects[1]; p.Name != "web" || p.UID != s.project.UID || len(p.Roles) != 1 || p.Roles[0].UID != storage.RoleUIDProjectAdmin || p.Roles[0].Name != "Project Admin" {
		t.Errorf("web = %+v, want Project Admin held directly", p)
	}
	// An empty list removes the user's own roles, not the team's.
	if code := g.api(t, admin, "PUT", path, `{"projects":[]}`, nil); code != http.StatusNoContent {
		t.Fatalf("PUT no projects = %d", code)
	}
	if r := g.do(t, "/anything", map[string]string{"ApiKey": s.userKey, "ProjectUid": s.project.UID}); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Errorf("after removal, a request in web = %d, want refused", r.status)
	}
	if code := g.api(t, admin, "GET", path, "", &got); code != http.StatusOK || len(got.Projects) != 1 || got.Projects[0].Name != "ops" {
		t.Errorf("after removal: %d %+v, want ops (inherited) only", code, got)
	}
	for name, bad := range map[string]struct {
		body string
		want int
	}{
		"unknown project": {`{"projects":[{"projectUid":"` + authcore.NewUID() + `","roles":[]}]}`, http.StatusNotFound},
		"tenant role":     {`{"projects":[{"projectUid":"` + s.project.UID + `","roles":["` + storage.RoleUIDTenantAdmin + `"]}]}`, http.StatusBadRequest},
	} {
		if code := g.api(t, admin, "PUT", path, bad.body, nil); code != bad.want {
			t.Errorf("PUT with an %s = %d, want %d", name, code, bad.want)
		}
	}
	if code := g.api(t, admin, "PUT", path, `{"projects":[{"roles":[]}]}`, nil); code != http.StatusBadRequest {
		t.Errorf("PUT without projectUid = %d, want 400", code)
	}
	if code := g.api(t, s.userKey, "PUT", path, body, nil); code != http.StatusForbidden {
		t.Errorf("a user's PUT of their own projects = %d, want 403", code)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/users/"+s.admin.UID+"/projects", "", nil); code != http.StatusForbidden {
		t.Errorf("a user's GET of another's projects = %d, want 403", code)
	}
	if code := g.api(t, g.otherTenantAdminKey(t), "GET", path, "", nil); code != http.StatusNotFound {
		t.Errorf("another tenant's GET = %d, want 404", code)
	}
}

// usersSummary is Palette's v1UsersSummaryList.
type usersSummary struct {
	Items []struct {
		Metadata struct {
			UID  string `json:"uid"`
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			EmailID       string                       `json:"emailId"`
			Projects      []struct{ Name, UID string } `json:"projects"`
			ProjectsCount int                          `json:"projectsCount"`
			Roles         []struct{ Name, UID string } `json:"roles"`
			Teams         []struct{ Name, UID string } `json:"teams"`
		} `json:"spec"`
		Status struct {
			ActivationLink string `json:"activationLink"`
			IsActive       bool   `json:"isActive"`
		} `json:"status"`
	} `json:"items"`
	ListMeta struct {
		Continue string `json:"continue"`
		Count    int    `json:"count"`
		Offset   int    `json:"offset"`
	} `json:"listmeta"`
}

func (s usersSummary) emails() []string {
	var out []string
	for _, it := range s.Items {
		out = append(out, it.Spec.EmailID)
	}
	return out
}

// POST /v1/users/summary filters by email or name (eq, ne, contains, beginsWith,
// ignoreCase), sorts, pages with limit and continue, and names each user's roles, teams
// and projects; an unknown filter field is 400.
func TestUsersSummaryFiltersSortsAndPages(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	ctx := context.Background()
	team := g.storedTeam(t, s.tenant.UID, "ops", storage.RoleUIDTenantViewer)
	team.Users = []string{s.user.UID}
	if err := g.store.UpdateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := g.store.SetProjectRoles(ctx, storage.ProjectGrant{ProjectUID: s.project.UID, UserUID: s.user.UID, Roles: []string{storage.RoleUIDProjectEditor}}); err != nil {
		t.Fatal(err)
	}
	g.mustUser(t, "ann@acme.test", storage.RoleUser)
	g.mustUser(t, "Zed@Acme.test", storage.RoleUser)
	summary := func(query, body string) (int, usersSummary) {
		var out usersSummary
		code := g.api(t, admin, "POST", "/v1/users/summary"+query, body, &out)
		return code, out
	}
	code, all := summary("", `{"sort":[{"field":"name","order":"asc"}]}`)
	if code != http.StatusOK || !slices.Equal(all.emails(), []string{"ann@acme.test", "boss@acme.test", "dev@acme.test", "zed@acme.test"}) || all.ListMeta.Count != 4 {
		t.Fatalf("summary sorted by name = %d %v (count %d)", code, all.emails(), all.ListMeta.Count)
	}
	dev := all.Items[2]
	if len(dev.Spec.Teams) != 1 || dev.Spec.Teams[0].Name != "ops" || dev.Spec.ProjectsCount != 1 || dev.Spec.Projects[0].Name != "web" || !dev.Status.IsActive {
		t.Errorf("dev's summary = %+v, want team ops, project web", dev.Spec)
	}
	boss := all.Items[1]
	if len(boss.Spec.Roles) != 1 || boss.Spec.Roles[0].Name != "Tenant Admin" {
		t.Errorf("boss's roles = %+v, want Tenant Admin", boss.Spec.Roles)
	}
	for body, want := range map[string][]string{
		`{"filter":{"emailId":{"eq":"ZED@acme.test"}}}`:                                    {"zed@acme.test"},
		`{"filter":{"emailId":{"eq":"ZED@acme.test","ignoreCase":false}}}`:                 nil,
		`{"filter":{"name":{"beginsWith":"d"}}}`:                                           {"dev@acme.test"},
		`{"filter":{"emailId":{"contains":"o"},"name":{"ne":"boss@acme.test"}}}`:           nil,
		`{"filter":{"emailId":{"contains":"D"}},"sort":[{"field":"name","order":"desc"}]}`: {"zed@acme.test", "dev@acme.test"},
	} {
		if code, got := summary("", body); code != http.StatusOK || !slices.Equal(got.emails(), want) {
			t.Errorf("summary %s = %d %v, want %v", body, code, got.emails(), want)
		}
	}
	code, first := summary("?limit=3", "")
	if code != http.StatusOK || len(first.Items) != 3 || first.ListMeta.Continue == "" {
		t.Fatalf("first page = %d %v continue %q", code, first.emails(), first.ListMeta.Continue)
	}
	if code, next := summary("?limit=3&continue="+first.ListMeta.Continue, ""); code != http.StatusOK || len(next.Items) != 1 || next.ListMeta.Continue != "" {
		t.Errorf("second page = %d %v continue %q", code, next.emails(), next.ListMeta.Continue)
	}
	for _, bad := range []string{`{"filter":{"firstName":{"eq":"x"}}}`, `{"filter":{"emailId":{"like":"x"}}}`, `{"sort":[{"field":"age"}]}`, `{"sort":[{"field":"name","order":"up"}]}`} {
		if code, _ := summary("", bad); code != http.StatusBadRequest {
			t.Errorf("summary %s = %d, want 400", bad, code)
		}
	}
	if code := g.api(t, s.userKey, "POST", "/v1/users/summary", "{}", nil); code != http.StatusForbidden {
		t.Errorf("a user's summary = %d, want 403", code)
	}
}
