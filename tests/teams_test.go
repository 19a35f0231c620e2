package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// paletteTeam is Palette's v1Team, as its SDK decodes it.
type paletteTeam struct {
	Metadata struct {
		UID               string `json:"uid"`
		Name              string `json:"name"`
		CreationTimestamp string `json:"creationTimestamp"`
	} `json:"metadata"`
	Spec struct {
		Users   []string `json:"users"`
		Roles   []string `json:"roles"`
		Sources []string `json:"sources"`
	} `json:"spec"`
}

// teamBody is Palette's v1Team request body.
func teamBody(name string, users, roles []string) string {
	var b struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Users   []string `json:"users"`
			Roles   []string `json:"roles"`
			Sources []string `json:"sources"`
		} `json:"spec"`
	}
	b.Metadata.Name, b.Spec.Users, b.Spec.Roles, b.Spec.Sources = name, users, roles, []string{}
	raw, _ := json.Marshal(b)
	return string(raw)
}

// mustTeam creates a team through the API as key's user and returns its uid.
func (g *gateway) mustTeam(t *testing.T, key, name string, users, roles []string) string {
	t.Helper()
	var created struct {
		UID string `json:"uid"`
	}
	if code := g.api(t, key, "POST", "/v1/teams", teamBody(name, users, roles), &created); code != http.StatusCreated || created.UID == "" {
		t.Fatalf("POST /v1/teams %s = %d, uid %q; want 201 with a uid", name, code, created.UID)
	}
	return created.UID
}

// auditActions lists the actions of the tenant's audit log, newest first.
func (g *gateway) auditActions(t *testing.T, key string) []string {
	t.Helper()
	var audit struct {
		Items []struct {
			Spec struct {
				Action string `json:"action"`
				Target struct {
					Kind string `json:"kind"`
				} `json:"target"`
			} `json:"spec"`
		} `json:"items"`
	}
	if code := g.api(t, key, "GET", "/v1/audit", "", &audit); code != http.StatusOK {
		t.Fatalf("GET /v1/audit = %d", code)
	}
	var actions []string
	for _, e := range audit.Items {
		actions = append(actions, e.Spec.Action)
	}
	return actions
}

// A tenant admin creates, reads, lists, replaces and deletes a team in Palette's shapes
// (v1Team, v1Teams with listmeta, 201 {uid}, 204), reads and replaces its roles
// (v1TeamTenantRolesEntity / v1TeamTenantRolesUpdate), and each change is audited.
func TestTeamsLifecycleInPalettesShapes(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	uid := g.mustTeam(t, admin, "ops", []string{s.user.UID}, []string{storage.RoleUIDTenantViewer})

	var teams struct {
		Items    []paletteTeam `json:"items"`
		ListMeta struct {
			Continue string `json:"continue"`
			Count    int    `json:"count"`
			Limit    int    `json:"limit"`
		} `json:"listmeta"`
	}
	if code := g.api(t, admin, "GET", "/v1/teams?limit=0", "", &teams); code != http.StatusOK {
		t.Fatalf("GET /v1/teams?limit=0 = %d", code)
	}
	if len(teams.Items) != 1 || teams.ListMeta.Count != 1 || teams.ListMeta.Limit != 50 || teams.ListMeta.Continue != "" {
		t.Fatalf("teams = %+v, want one team, count 1, limit 50, no continue", teams)
	}
	got := teams.Items[0]
	if got.Metadata.UID != uid || got.Metadata.Name != "ops" || got.Metadata.CreationTimestamp == "" ||
		!slices.Equal(got.Spec.Users, []string{s.user.UID}) || !slices.Equal(got.Spec.Roles, []string{storage.RoleUIDTenantViewer}) || got.Spec.Sources == nil {
		t.Errorf("listed team = %+v", got)
	}

	// PUT replaces name, members and roles; GET shows the result.
	body := teamBody("operations", []string{s.user.UID, s.admin.UID}, []string{storage.RoleUIDTenantViewer})
	if code := g.api(t, admin, "PUT", "/v1/teams/"+uid, body, nil); code != http.StatusNoContent {
		t.Fatalf("PUT /v1/teams/{uid} = %d, want 204", code)
	}
	var team paletteTeam
	if code := g.api(t, admin, "GET", "/v1/teams/"+uid, "", &team); code != http.StatusOK {
		t.Fatalf("GET /v1/teams/{uid} = %d", code)
	}
	want := []string{s.user.UID, s.admin.UID}
	slices.Sort(want)
	if team.Metadata.Name != "operations" || !slices.Equal(team.Spec.Users, want) {
		t.Errorf("after PUT: %+v, want name operations with both users", team)
	}

	// The roles sub-resource.
	if code := g.api(t, admin, "PUT", "/v1/teams/"+uid+"/roles", `{"roles":["`+storage.RoleUIDTenantAdmin+`"]}`, nil); code != http.StatusNoContent {
		t.Fatalf("PUT /v1/teams/{uid}/roles = %d, want 204", code)
	}
	var roles struct {
		Roles []struct{ Name, UID string } `json:"roles"`
	}
	if code := g.api(t, admin, "GET", "/v1/teams/"+uid+"/roles", "", &roles); code != http.StatusOK ||
		len(roles.Roles) != 1 || roles.Roles[0].UID != storage.RoleUIDTenantAdmin || roles.Roles[0].Name != "Tenant Admin" {
		t.Errorf("GET /v1/teams/{uid}/roles = %d %+v, want Tenant Admin", code, roles)
	}
	if code := g.api(t, admin, "PUT", "/v1/teams/"+uid+"/roles", `{"roles":[]}`, nil); code != http.StatusNoContent {
		t.Fatalf("PUT /v1/teams/{uid}/roles [] = %d, want 204", code)
	}

	if code := g.api(t, admin, "DELETE", "/v1/teams/"+uid, "", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE /v1/teams/{uid} = %d, want 204", code)
	}
	if code := g.api(t, admin, "GET", "/v1/teams/"+uid, "", nil); code != http.StatusNotFound {
		t.Errorf("GET a deleted team = %d, want 404", code)
	}
	actions := g.auditActions(t, admin)
	for _, a := range []string{"team.create", "team.update", "team.delete"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit log %q lacks %s", actions, a)
		}
	}
}

// A role given through a team holds on the member's very next request, with a key and
// with a token: upstream in X-User-Tenant-Roles and in `require`; and it goes on the
// next request once the member is removed or the team is deleted. A team's Tenant Admin
// makes its members tenant admins of the management API.
func TestTeamsRolesHoldOnTheNextRequest(t *testing.T) {
	g := startGateway(t, "{\n\t\trequire tenant.get\n\t}")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	res, token, raw := g.login(t, "", "", map[string]string{"ApiKey": s.userKey})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("API key login: %d %s", res.StatusCode, raw)
	}
	creds := map[string]map[string]string{"key": {"ApiKey": s.userKey}, "token": {"Authorization": token}}
	expect := func(when string, status int, roles string) {
		t.Helper()
		for name, h := range creds {
			r := g.do(t, "/anything", h)
			if r.status != status || status == http.StatusOK && r.echo.Header.Get("X-User-Tenant-Roles") != roles {
				t.Errorf("%s, %s: %d, tenant roles %q; want %d %q", when, name, r.status, r.echo.Header.Get("X-User-Tenant-Roles"), status, roles)
			}
		}
	}
	expect("before any team", http.StatusForbidden, "")

	uid := g.mustTeam(t, admin, "viewers", []string{s.user.UID}, []string{storage.RoleUIDTenantViewer})
	expect("in a Tenant Viewer team", http.StatusOK, "Tenant Viewer")

	if code := g.api(t, admin, "PUT", "/v1/teams/"+uid, teamBody("viewers", nil, []string{storage.RoleUIDTenantViewer}), nil); code != http.StatusNoContent {
		t.Fatalf("PUT without the user = %d", code)
	}
	expect("removed from the team", http.StatusForbidden, "")

	if code := g.api(t, admin, "PUT", "/v1/teams/"+uid, teamBody("viewers", []string{s.user.UID}, []string{storage.RoleUIDTenantAdmin}), nil); code != http.StatusNoContent {
		t.Fatalf("PUT with Tenant Admin = %d", code)
	}
	expect("in a Tenant Admin team", http.StatusOK, "Tenant Admin")
	if code := g.api(t, s.userKey, "GET", "/v1/users", "", nil); code != http.StatusOK {
		t.Errorf("GET /v1/users as a Tenant Admin through a team = %d, want 200", code)
	}

	if code := g.api(t, admin, "DELETE", "/v1/teams/"+uid, "", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE = %d", code)
	}
	expect("after the team was deleted", http.StatusForbidden, "")
	if code := g.api(t, s.userKey, "GET", "/v1/users", "", nil); code != http.StatusForbidden {
		t.Errorf("GET /v1/users after the team was deleted = %d, want 403", code)
	}
}

// Only tenant admins change teams; other users see the teams they are in and no other;
// other tenants' teams, users and roles are 404; bad input is 400 naming the field; a
// taken name is 409.
func TestTeamsPolicyAndBadInput(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	mine := g.mustTeam(t, admin, "mine", []string{s.user.UID}, nil)
	theirs := g.mustTeam(t, admin, "theirs", []string{s.admin.UID}, nil)

	if code := g.api(t, s.userKey, "POST", "/v1/teams", teamBody("x", nil, nil), nil); code != http.StatusForbidden {
		t.Errorf("POST /v1/teams as a user = %d, want 403", code)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v1/teams/" + mine, teamBody("mine", nil, nil)},
		{"PUT", "/v1/teams/" + mine + "/roles", `{"roles":[]}`},
		{"DELETE", "/v1/teams/" + mine, ""},
	} {
		if code := g.api(t, s.userKey, c.method, c.path, c.body, nil); code != http.StatusForbidden {
			t.Errorf("%s %s as a user = %d, want 403", c.method, c.path, code)
		}
	}
	var teams struct {
		Items []paletteTeam `json:"items"`
	}
	if code := g.api(t, s.userKey, "GET", "/v1/teams", "", &teams); code != http.StatusOK || len(teams.Items) != 1 || teams.Items[0].Metadata.UID != mine {
		t.Errorf("GET /v1/teams as a user = %d %+v, want only their team", code, teams.Items)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/teams/"+mine, "", nil); code != http.StatusOK {
		t.Errorf("GET their own team as a user = %d, want 200", code)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/teams/"+theirs, "", nil); code != http.StatusNotFound {
		t.Errorf("GET another's team as a user = %d, want 404", code)
	}

	// Another tenant: its team is 404 here, and its users cannot be members.
	ctx := context.Background()
	if _, err := g.admin.CreateTenant(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	outsider, err := g.admin.CreateUser(ctx, manage.NewUser{TenantName: "globex", Email: "boss@globex.test", Role: storage.RoleTenantAdmin})
	if err != nil {
		t.Fatal(err)
	}
	outsiderKey := g.mustKey(t, outsider, "30d").Key
	foreign := g.mustTeam(t, outsiderKey, "globex team", []string{outsider.UID}, nil)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/teams/" + foreign, ""},
		{"GET", "/v1/teams/" + foreign + "/roles", ""},
		{"PUT", "/v1/teams/" + foreign, teamBody("mine now", nil, nil)},
		{"DELETE", "/v1/teams/" + foreign, ""},
	} {
		if code := g.api(t, admin, c.method, c.path, c.body, nil); code != http.StatusNotFound {
			t.Errorf("%s another tenant's team = %d, want 404", c.method, code)
		}
	}

	for _, c := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"another tenant's user", teamBody("t1", []string{outsider.UID}, nil), http.StatusNotFound, "spec.users"},
		{"an unknown user", teamBody("t2", []string{"no-such-user"}, nil), http.StatusNotFound, "spec.users"},
		{"an unknown role", teamBody("t3", nil, []string{"no-such-role"}), http.StatusNotFound, "spec.roles"},
		{"a project role", teamBody("t4", nil, []string{storage.RoleUIDProjectEditor}), http.StatusBadRequest, "spec.roles"},
		{"no name", teamBody("", nil, nil), http.StatusBadRequest, "metadata.name"},
		{"users not a list", `{"metadata":{"name":"t5"},"spec":{"users":"x"}}`, http.StatusBadRequest, "users"},
		{"a taken name", teamBody("mine", nil, nil), http.StatusConflict, "mine"},
	} {
		res, raw := g.call(t, "POST", "/v1/teams", map[string]string{"ApiKey": admin}, c.body)
		if res.StatusCode != c.status || !strings.Contains(raw, c.field) {
			t.Errorf("POST a team with %s = %d %s; want %d naming %s", c.name, res.StatusCode, raw, c.status, c.field)
		}
	}
	if code := g.api(t, admin, "GET", "/v1/teams?limit=-1", "", nil); code != http.StatusBadRequest {
		t.Errorf("GET /v1/teams?limit=-1 = %d, want 400", code)
	}
	if code := g.api(t, admin, "PUT", "/v1/teams/"+mine+"/roles", `{"roles":["`+storage.RoleUIDProjectViewer+`"]}`, nil); code != http.StatusBadRequest {
		t.Errorf("PUT a project role as a team's role = %d, want 400", code)
	}
}

// A team change cannot leave the tenant without an enabled Tenant Admin: when the only
// admin holds the role through a team, deleting the team, removing them from it or
// taking the role away is 409 LastTenantAdmin, and nothing changes.
func TestTeamsKeepATenantAdmin(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	uid := g.mustTeam(t, admin, "admins", []string{s.admin.UID}, []string{storage.RoleUIDTenantAdmin})
	// The admin now holds Tenant Admin only through the team.
	if code := g.api(t, admin, "PUT", "/v1/users/"+s.admin.UID+"/roles", `{"roles":[]}`, nil); code != http.StatusNoContent {
		t.Fatalf("dropping the admin's own Tenant Admin while the team holds it = %d, want 204", code)
	}
	for _, c := range []struct{ what, method, path, body string }{
		{"delete the team", "DELETE", "/v1/teams/" + uid, ""},
		{"remove the admin", "PUT", "/v1/teams/" + uid, teamBody("admins", nil, []string{storage.RoleUIDTenantAdmin})},
		{"drop the role", "PUT", "/v1/teams/" + uid, teamBody("admins", []string{s.admin.UID}, nil)},
		{"drop the role (roles)", "PUT", "/v1/teams/" + uid + "/roles", `{"roles":["` + storage.RoleUIDTenantViewer + `"]}`},
	} {
		res, raw := g.call(t, c.method, c.path, map[string]string{"ApiKey": admin}, c.body)
		if res.StatusCode != http.StatusConflict || !strings.Contains(raw, "LastTenantAdmin") {
			t.Errorf("%s: %d %s, want 409 LastTenantAdmin", c.what, res.StatusCode, raw)
		}
	}
	if r := g.do(t, "/anything", map[string]string{"ApiKey": admin}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Tenant-Roles") != "Tenant Admin" {
		t.Errorf("admin after the refusals: %d, tenant roles %q", r.status, r.echo.Header.Get("X-User-Tenant-Roles"))
	}
	if n := strings.Count(strings.Join(g.auditActions(t, admin), " "), "team.update"); n != 0 {
		t.Errorf("refused changes left %d team.update audit rows", n)
	}
}

// A team change made on node A holds on node B, which had the member's key cached, once
// the change feed reaches B (PostgreSQL NOTIFY): granted by creating the team, taken
// away by deleting it.
func TestTeamsChangeOnOneNodeHoldsOnAnother(t *testing.T) {
	a, b, c := startTwoNodes(t)
	devKey := c.key(t, c.dev).Key
	boss := map[string]string{"ApiKey": c.bossKey}
	roles := func() string {
		r := b.do(t, "/", map[string]string{"ApiKey": devKey})
		if r.status != http.StatusOK {
			t.Fatalf("dev's key on B: %d %s", r.status, r.body)
		}
		return r.echo.Header.Get("X-User-Tenant-Roles")
	}
	waitRoles := func(want string) time.Duration {
		t.Helper()
		start := time.Now()
		for roles() != want {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("B: tenant roles not %q within 10s", want)
			}
		}
		return time.Since(start)
	}
	waitRoles("") // cached on B without roles
	res, body := a.call(t, http.MethodPost, "/v1/teams", boss, teamBody("viewers", []string{c.dev.UID}, []string{storage.RoleUIDTenantViewer}))
	var created struct{ UID string }
	if err := json.Unmarshal([]byte(body), &created); res.StatusCode != http.StatusCreated || err != nil {
		t.Fatalf("create on A: %d %s", res.StatusCode, body)
	}
	granted := waitRoles("Tenant Viewer")
	if res, body := a.call(t, http.MethodDelete, "/v1/teams/"+created.UID, boss, ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete on A: %d %s", res.StatusCode, body)
	}
	removed := waitRoles("")
	t.Logf("team change on A seen on B after %v (grant) and %v (removal)", granted.Round(time.Millisecond), removed.Round(time.Millisecond))
}

// PATCH /v1/teams/{uid} takes a JSON Patch over the team's JSON (Palette's
// v1TeamsUidPatch) and applies it as a PUT would: the renamed team's new role holds on
// its member's next request; a patch that does not apply, or an object, changes nothing.
func TestTeamsPatchAppliesJSONPatch(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	uid := g.mustTeam(t, admin, "ops", []string{s.user.UID}, nil)
	path := "/v1/teams/" + uid

	patch := `[{"op":"replace","path":"/metadata/name","value":"platform"},` +
		`{"op":"add","path":"/spec/roles/-","value":"` + storage.RoleUIDTenantViewer + `"}]`
	if code := g.api(t, admin, "PATCH", path, patch, nil); code != http.StatusNoContent {
		t.Fatalf("PATCH %s = %d, want 204", path, code)
	}
	var team paletteTeam
	if code := g.api(t, admin, "GET", path, "", &team); code != http.StatusOK || team.Metadata.Name != "platform" ||
		!slices.Equal(team.Spec.Roles, []string{storage.RoleUIDTenantViewer}) || !slices.Equal(team.Spec.Users, []string{s.user.UID}) {
		t.Fatalf("after the patch: %d %+v, want platform with Tenant Viewer and its member", code, team)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey}); r.echo.Header.Get("X-User-Tenant-Roles") != "Tenant Viewer" {
		t.Errorf("the member's next request carries tenant roles %q, want Tenant Viewer", r.echo.Header.Get("X-User-Tenant-Roles"))
	}

	for name, body := range map[string]string{
		"failed test": `[{"op":"test","path":"/metadata/name","value":"ops"},{"op":"replace","path":"/metadata/name","value":"x"}]`,
		"bad path":    `[{"op":"remove","path":"/spec/nothing"}]`,
		"an object":   `{"metadata":{"name":"x"}}`,
	} {
		if code := g.api(t, admin, "PATCH", path, body, nil); code != http.StatusBadRequest {
			t.Errorf("PATCH with %s = %d, want 400", name, code)
		}
	}
	if g.api(t, admin, "GET", path, "", &team); team.Metadata.Name != "platform" {
		t.Errorf("a refused patch changed the team: %+v", team)
	}
	if code := g.api(t, s.userKey, "PATCH", path, patch, nil); code != http.StatusForbidden {
		t.Errorf("a member's PATCH = %d, want 403", code)
	}
}
