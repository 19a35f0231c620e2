package tests

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// paletteProject is Palette's v1Project, as its SDK decodes it.
type paletteProject struct {
	Metadata struct {
		UID               string            `json:"uid"`
		Name              string            `json:"name"`
		Annotations       map[string]string `json:"annotations"`
		CreationTimestamp string            `json:"creationTimestamp"`
	} `json:"metadata"`
	Spec struct {
		Users []struct {
			UserID string   `json:"userId"`
			Roles  []string `json:"roles"`
		} `json:"users"`
		Teams []struct {
			TeamID string   `json:"teamId"`
			Roles  []string `json:"roles"`
		} `json:"teams"`
	} `json:"spec"`
	Status struct {
		IsDisabled *bool `json:"isDisabled"`
	} `json:"status"`
}

// grantsOf renders a project's grants as "subject=role,role" items, users then teams.
func grantsOf(p paletteProject) []string {
	var out []string
	for _, u := range p.Spec.Users {
		out = append(out, u.UserID+"="+strings.Join(u.Roles, ","))
	}
	for _, tm := range p.Spec.Teams {
		out = append(out, "team:"+tm.TeamID+"="+strings.Join(tm.Roles, ","))
	}
	return out
}

// projectGate is what a request naming project in ProjectUid gets from the upstream:
// the status and the project roles named to it.
func (g *gateway) projectGate(t *testing.T, header map[string]string, project string) (int, string) {
	t.Helper()
	h := map[string]string{"ProjectUid": project}
	for k, v := range header {
		h[k] = v
	}
	r := g.do(t, "/anything", h)
	return r.status, r.echo.Header.Get("X-User-Project-Roles")
}

// POST /v1/projects takes Palette's v1ProjectEntity with its grants (201 {uid}); GET
// answers v1Project with spec.users, spec.teams and status.isDisabled, in the list too;
// the grant holds on the user's next request; users see only projects they hold a role
// in; the create and its grants are one audit row.
func TestProjectsCreateWithGrantsInPalettesShape(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	var created struct {
		UID string `json:"uid"`
	}
	body := fmt.Sprintf(`{"metadata":{"name":"payments","annotations":{"owner":"team-a"}},"spec":{"users":[{"userId":%q,"roles":[%q]}],"teams":[]}}`, s.user.UID, storage.RoleUIDProjectViewer)
	if code := g.api(t, admin, "POST", "/v1/projects", body, &created); code != http.StatusCreated || !authcore.IsGeneratedUID(created.UID) {
		t.Fatalf("POST /v1/projects = %d, uid %q; want 201 with a uid", code, created.UID)
	}
	var p paletteProject
	if code := g.api(t, s.userKey, "GET", "/v1/projects/"+created.UID, "", &p); code != http.StatusOK {
		t.Fatalf("GET the project as its viewer = %d", code)
	}
	if p.Metadata.Name != "payments" || p.Metadata.UID != created.UID || p.Metadata.CreationTimestamp == "" || p.Metadata.Annotations["owner"] != "team-a" ||
		!slices.Equal(grantsOf(p), []string{s.user.UID + "=" + storage.RoleUIDProjectViewer}) || p.Spec.Teams == nil ||
		p.Status.IsDisabled == nil || *p.Status.IsDisabled {
		t.Errorf("GET /v1/projects/{uid} = %+v; want v1Project with the user's grant, no teams, not disabled", p)
	}
	if code, roles := g.projectGate(t, map[string]string{"ApiKey": s.userKey}, created.UID); code != http.StatusOK || roles != "Project Viewer" {
		t.Errorf("the viewer's key in the project: %d, roles %q; want 200, Project Viewer", code, roles)
	}

	// The user lists only the project they hold a role in; the admin lists both, with grants.
	var mine, all struct {
		Items []paletteProject `json:"items"`
	}
	g.api(t, s.userKey, "GET", "/v1/projects?limit=0", "", &mine)
	if len(mine.Items) != 1 || mine.Items[0].Metadata.UID != created.UID || len(mine.Items[0].Spec.Users) != 1 {
		t.Errorf("the user's project list = %+v, want payments with its grant", mine.Items)
	}
	g.api(t, admin, "GET", "/v1/projects", "", &all)
	if len(all.Items) != 2 || all.Items[1].Metadata.UID != created.UID || all.Items[0].Spec.Users == nil {
		t.Errorf("the admin's project list = %+v, want web then payments", all.Items)
	}
	if code := g.api(t, s.userKey, "GET", "/v1/projects/"+s.project.UID, "", nil); code != http.StatusNotFound {
		t.Errorf("GET a project the user holds no role in = %d, want 404", code)
	}

	// Bad grants are refused, naming the field, and create nothing.
	for _, tc := range []struct {
		body string
		code int
		says string
	}{
		{fmt.Sprintf(`{"metadata":{"name":"x"},"spec":{"users":[{"userId":%q,"roles":[%q]}]}}`, s.user.UID, storage.RoleUIDTenantAdmin), 400, "spec.users[0].userId roles[0]"},
		{fmt.Sprintf(`{"metadata":{"name":"x"},"spec":{"users":[{"userId":%q,"roles":[]},{"userId":%q,"roles":[]}]}}`, s.user.UID, s.user.UID), 400, "spec.users[1].userId"},
		{`{"metadata":{"name":"x"},"spec":{"users":[{"roles":[]}]}}`, 400, "spec.users[0].userId"},
		{fmt.Sprintf(`{"metadata":{"name":"x"},"spec":{"teams":[{"teamId":%q,"roles":[%q]}]}}`, authcore.NewUID(), storage.RoleUIDProjectEditor), 404, "spec.teams[0].teamId"},
		{`{"metadata":{"name":""}}`, 400, "metadata.name"},
		{`{"metadata":{"name":"x"},"spec":{"users":{}}}`, 400, "spec.users"},
	} {
		res, raw := g.call(t, "POST", "/v1/projects", map[string]string{"ApiKey": admin}, tc.body)
		if res.StatusCode != tc.code || !strings.Contains(raw, tc.says) {
			t.Errorf("POST %s = %d %s; want %d naming %s", tc.body, res.StatusCode, raw, tc.code, tc.says)
		}
	}
	if code := g.api(t, s.userKey, "POST", "/v1/projects", `{"metadata":{"name":"mine"}}`, nil); code != http.StatusForbidden {
		t.Errorf("POST /v1/projects as a user = %d, want 403", code)
	}
	g.api(t, admin, "GET", "/v1/projects", "", &all)
	if len(all.Items) != 2 {
		t.Errorf("refused creates left projects behind: %d projects", len(all.Items))
	}
	wantAudit(t, g, admin, "project.create", created.UID, s.user.UID+"="+storage.RoleUIDProjectViewer)
}

// wantAudit fails unless the audit log holds action on target with detail in it.
func wantAudit(t *testing.T, g *gateway, admin, action, target, detail string) {
	t.Helper()
	var audit struct {
		Items []struct {
			Spec struct {
				Action string
				Target struct{ UID string }
				Detail string
			}
		} `json:"items"`
	}
	g.api(t, admin, "GET", "/v1/audit?limit=50", "", &audit)
	for _, e := range audit.Items {
		if e.Spec.Action == action && e.Spec.Target.UID == target && strings.Contains(e.Spec.Detail, detail) {
			return
		}
	}
	t.Errorf("no audit row %s on %s with %q in %+v", action, target, detail, audit.Items)
}

// PUT /v1/projects/{uid} with v1ProjectEntity replaces the name and every grant: the
// user no longer listed loses access on the next request, by key and by token.
func TestProjectUpdateReplacesNameAndGrants(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	other := g.mustUser(t, "ops@acme.test", storage.RoleUser)
	otherKey := g.mustKey(t, other, "30d").Key
	_, token, _ := g.login(t, "", "", map[string]string{"ApiKey": s.userKey})
	put := func(name string, users ...string) int {
		t.Helper()
		var grants []string
		for _, u := range users {
			grants = append(grants, fmt.Sprintf(`{"userId":%q,"roles":[%q]}`, u, storage.RoleUIDProjectAdmin))
		}
		body := fmt.Sprintf(`{"metadata":{"name":%q,"annotations":{"stage":%q}},"spec":{"users":[%s],"teams":[]}}`, name, name, strings.Join(grants, ","))
		return g.api(t, admin, "PUT", "/v1/projects/"+s.project.UID, body, nil)
	}
	if code := put("web", s.user.UID); code != http.StatusNoContent {
		t.Fatalf("PUT /v1/projects/{uid} = %d, want 204", code)
	}
	for name, h := range map[string]map[string]string{"key": {"ApiKey": s.userKey}, "token": {"Authorization": token}} {
		if code, roles := g.projectGate(t, h, s.project.UID); code != http.StatusOK || roles != "Project Admin" {
			t.Errorf("%s after the grant: %d %q, want 200 Project Admin", name, code, roles)
		}
	}
	if code := put("storefront", other.UID); code != http.StatusNoContent {
		t.Fatalf("second PUT = %d", code)
	}
	for name, h := range map[string]map[string]string{"key": {"ApiKey": s.userKey}, "token": {"Authorization": token}} {
		if code, _ := g.projectGate(t, h, s.project.UID); code != http.StatusForbidden {
			t.Errorf("%s of the user no longer listed: %d, want 403", name, code)
		}
	}
	if code, _ := g.projectGate(t, map[string]string{"ApiKey": otherKey}, s.project.UID); code != http.StatusOK {
		t.Errorf("the newly listed user: %d, want 200", code)
	}
	var p paletteProject
	g.api(t, admin, "GET", "/v1/projects/"+s.project.UID, "", &p)
	if p.Metadata.Name != "storefront" || p.Metadata.Annotations["stage"] != "storefront" || len(p.Metadata.Annotations) != 1 || !slices.Equal(grantsOf(p), []string{other.UID + "=" + storage.RoleUIDProjectAdmin}) {
		t.Errorf("after PUT: %+v", p)
	}
	wantAudit(t, g, admin, "project.update", s.project.UID, "storefront")
	if code := put("x", s.user.UID); code != http.StatusNoContent {
		t.Fatal("third PUT")
	}
	if code := g.api(t, s.userKey, "PUT", "/v1/projects/"+s.project.UID, `{"metadata":{"name":"mine"}}`, nil); code != http.StatusForbidden {
		t.Errorf("PUT by a user = %d, want 403", code)
	}
	if code := g.api(t, admin, "PUT", "/v1/projects/"+authcore.NewUID(), `{"metadata":{"name":"x"}}`, nil); code != http.StatusNotFound {
		t.Errorf("PUT of an unknown project = %d, want 404", code)
	}
}

// PUT /v1/projects/{uid}/users and /teams replace those grants; the next request with
// ProjectUid reflects each grant and its removal, by key and token, a team's grant
// reaching its members.
func TestProjectUsersAndTeamsGrantsHoldOnTheNextRequest(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	_, token, _ := g.login(t, "", "", map[string]string{"ApiKey": s.userKey})
	creds := map[string]map[string]string{"key": {"ApiKey": s.userKey}, "token": {"Authorization": token}}
	expect := func(when string, want int, wantRoles string) {
		t.Helper()
		for name, h := range creds {
			if code, roles := g.projectGate(t, h, s.project.UID); code != want || (want == 200 && roles != wantRoles) {
				t.Errorf("%s %s: %d %q, want %d %q", name, when, code, roles, want, wantRoles)
			}
		}
	}
	users := "/v1/projects/" + s.project.UID + "/users"
	teams := "/v1/projects/" + s.project.UID + "/teams"
	expect("before any grant", 403, "")
	if code := g.api(t, admin, "PUT", users, fmt.Sprintf(`{"users":[{"userId":%q,"roles":[%q]}]}`, s.user.UID, storage.RoleUIDProjectEditor), nil); code != 204 {
		t.Fatalf("PUT users = %d, want 204", code)
	}
	expect("after PUT users", 200, "Project Editor")
	if code := g.api(t, admin, "PUT", users, `{"users":[]}`, nil); code != 204 {
		t.Fatalf("PUT users [] = %d", code)
	}
	expect("after the user grant was removed", 403, "")

	// A team the user is in, made through Palette's teams API.
	var team struct{ UID string }
	if code := g.api(t, admin, "POST", "/v1/teams", fmt.Sprintf(`{"metadata":{"name":"ops"},"spec":{"users":[%q]}}`, s.user.UID), &team); code != 201 {
		t.Fatalf("POST /v1/teams = %d, want 201", code)
	}
	if code := g.api(t, admin, "PUT", teams, fmt.Sprintf(`{"teams":[{"teamId":%q,"roles":[%q]}]}`, team.UID, storage.RoleUIDProjectViewer), nil); code != 204 {
		t.Fatalf("PUT teams = %d, want 204", code)
	}
	expect("through the team", 200, "Project Viewer")
	var p paletteProject
	g.api(t, s.userKey, "GET", "/v1/projects/"+s.project.UID, "", &p)
	if !slices.Equal(grantsOf(p), []string{"team:" + team.UID + "=" + storage.RoleUIDProjectViewer}) {
		t.Errorf("the project's grants = %q, want the team's", grantsOf(p))
	}
	// PUT users leaves the team's grant alone.
	if code := g.api(t, admin, "PUT", users, `{"users":[]}`, nil); code != 204 {
		t.Fatal("PUT users [] again")
	}
	expect("after PUT users [] (the team still holds its role)", 200, "Project Viewer")
	if code := g.api(t, admin, "PUT", teams, `{"teams":[]}`, nil); code != 204 {
		t.Fatalf("PUT teams [] = %d", code)
	}
	expect("after the team grant was removed", 403, "")
	wantAudit(t, g, admin, "project.teams", s.project.UID, "")
	if code := g.api(t, s.userKey, "PUT", users, `{"users":[]}`, nil); code != 403 {
		t.Errorf("PUT users by a user = %d, want 403", code)
	}
	if code := g.api(t, admin, "PUT", teams, `{"teams":[{"teamId":"not a uid","roles":[]}]}`, nil); code != 400 {
		t.Errorf("PUT teams with a malformed teamId = %d, want 400", code)
	}
}

// GET /v1/dashboard/projects/metadata?name= keeps the project of exactly that name; POST
// /v1/dashboard/projects filters by name (Palette's v1FilterString), sorts and pages with
// limit/offset/continue; a filter field Keygate cannot filter on is a 400.
func TestProjectsDashboardFiltersByName(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	for _, name := range []string{"Payments-EU", "payments-us", "search"} {
		if code := g.api(t, admin, "POST", "/v1/projects", `{"metadata":{"name":"`+name+`"}}`, nil); code != 201 {
			t.Fatal(code)
		}
	}
	var meta struct {
		Items []struct{ Metadata struct{ Name, UID string } } `json:"items"`
	}
	g.api(t, admin, "GET", "/v1/dashboard/projects/metadata?name=payments-us", "", &meta)
	if len(meta.Items) != 1 || meta.Items[0].Metadata.Name != "payments-us" {
		t.Errorf("metadata?name=payments-us = %+v, want that project only", meta.Items)
	}
	g.api(t, admin, "GET", "/v1/dashboard/projects/metadata?name=payments", "", &meta)
	if len(meta.Items) != 0 {
		t.Errorf("metadata?name=payments = %+v, want none (the name must match exactly)", meta.Items)
	}
	type summaries struct {
		Items []struct {
			Metadata struct{ Name string }
			Status   struct{ Status struct{ IsDisabled *bool } }
		} `json:"items"`
		ListMeta struct {
			Continue             string
			Count, Limit, Offset int
		} `json:"listmeta"`
	}
	names := func(a summaries) (out []string) {
		for _, it := range a.Items {
			out = append(out, it.Metadata.Name)
		}
		return out
	}
	var page summaries
	filter := `{"filter":{"name":{"contains":"PAYMENTS"}},"sort":[{"field":"name","order":"desc"}]}`
	if code := g.api(t, admin, "POST", "/v1/dashboard/projects?limit=1", filter, &page); code != 200 {
		t.Fatalf("POST /v1/dashboard/projects = %d", code)
	}
	if !slices.Equal(names(page), []string{"payments-us"}) || page.ListMeta.Count != 2 || page.ListMeta.Limit != 1 || page.ListMeta.Offset != 1 || page.ListMeta.Continue == "" || page.Items[0].Status.Status.IsDisabled == nil {
		t.Fatalf("first page = %+v, want payments-us of 2, with a continue", page)
	}
	g.api(t, admin, "POST", "/v1/dashboard/projects?limit=1&continue="+page.ListMeta.Continue, filter, &page)
	if !slices.Equal(names(page), []string{"Payments-EU"}) || page.ListMeta.Continue != "" {
		t.Errorf("second page = %+v, want Payments-EU, last", page)
	}
	g.api(t, admin, "POST", "/v1/dashboard/projects?offset=1", `{"filter":{"name":{"beginsWith":"payments","ignoreCase":false}}}`, &page)
	if len(page.Items) != 0 || page.ListMeta.Count != 1 {
		t.Errorf("offset=1 of the one case-sensitive match = %+v, want an empty page of 1", page)
	}
	g.api(t, admin, "POST", "/v1/dashboard/projects", `{"filter":{"name":{"ne":"search"}},"sort":[{"field":"creationTimestamp"}]}`, &page)
	if !slices.Equal(names(page), []string{"web", "Payments-EU", "payments-us"}) {
		t.Errorf("ne search, oldest first = %q", names(page))
	}
	g.api(t, s.userKey, "POST", "/v1/dashboard/projects", `{}`, &page)
	if len(page.Items) != 0 {
		t.Errorf("a user holding no project role sees %q", names(page))
	}
	for _, bad := range []string{`{"filter":{"owner":{"eq":"x"}}}`, `{"filter":{"name":{"like":"x"}}}`, `{"sort":[{"field":"size"}]}`, `{"sort":[{"field":"name","order":"up"}]}`} {
		if code := g.api(t, admin, "POST", "/v1/dashboard/projects", bad, nil); code != 400 {
			t.Errorf("POST %s = %d, want 400", bad, code)
		}
	}
	if code := g.api(t, admin, "POST", "/v1/dashboard/projects?continue=bogus", `{}`, nil); code != 400 {
		t.Errorf("a bad continue = %d, want 400", code)
	}
}

// Names under users/ and projects/ that Keygate does not serve reach the upstream, with
// the identity injected once the credential passed the gate; without one they are
// refused like any upstream request. Keygate's own paths there keep working.
func TestUnservedNamesUnderUsersAndProjectsReachTheUpstream(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	for _, path := range []string{"/v1/projects/alerts", "/v1/projects/" + s.project.UID + "/macros", "/v1/users/assets/sshkeys", "/v1/users/summary", "/v1/users/system/features"} {
		r := g.do(t, path, map[string]string{"ApiKey": s.userKey})
		if r.status != http.StatusOK || r.echo.Header.Get("X-User-Uid") != s.user.UID {
			t.Errorf("GET %s with a key: %d, upstream saw user %q; want 200 from the upstream with the identity", path, r.status, r.echo.Header.Get("X-User-Uid"))
		}
		if r := g.do(t, path, nil); r.status != http.StatusUnauthorized || r.echo.Header != nil {
			t.Errorf("GET %s without a credential: %d, echo %v; want 401 before the upstream", path, r.status, r.echo.Header)
		}
		if r := g.do(t, path, map[string]string{"ApiKey": unknownKeyOn(t, g.store)}); r.status != http.StatusUnauthorized {
			t.Errorf("GET %s with an unknown key: %d, want 401", path, r.status)
		}
	}
	admin := g.mustKey(t, s.admin, "30d").Key
	if code := g.api(t, s.userKey, "GET", "/v1/users/me", "", nil); code != 200 {
		t.Errorf("GET /v1/users/me = %d", code)
	}
	if code := g.api(t, admin, "PUT", "/v1/projects/"+s.project.UID+"/members/"+s.user.UID, "", nil); code != 204 {
		t.Errorf("PUT members = %d", code)
	}
	if code := g.api(t, admin, "GET", "/v1/projects/"+authcore.NewUID(), "", nil); code != 404 {
		t.Errorf("GET an unknown project uid = %d, want Keygate's 404", code)
	}
}
