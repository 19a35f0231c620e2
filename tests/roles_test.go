package tests

import (
	"net/http"
	"slices"
	"testing"

	"github.com/keygate/keygate/storage"
)

// paletteRole is Palette's v1Role, as its SDK decodes it.
type paletteRole struct {
	Metadata struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Permissions []string `json:"permissions"`
		Scope       string   `json:"scope"`
		Type        string   `json:"type"`
	} `json:"spec"`
	Status struct {
		IsEnabled bool `json:"isEnabled"`
	} `json:"status"`
}

// GET /v1/roles lists the built-in roles with their stable uids, then the custom roles a
// tenant admin creates from permission strings with POST /v1/roles (201 {uid}).
func TestRolesListBuiltInAndCustomRoles(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	var created struct {
		UID string `json:"uid"`
	}
	body := `{"metadata":{"name":"Cluster Reader"},"spec":{"permissions":["cluster.list","cluster.get"],"scope":"project"}}`
	if code := g.api(t, admin, "POST", "/v1/roles", body, &created); code != http.StatusCreated || created.UID == "" {
		t.Fatalf("POST /v1/roles = %d, uid %q; want 201 with a uid", code, created.UID)
	}
	if code := g.api(t, s.userKey, "POST", "/v1/roles", body, nil); code != http.StatusForbidden {
		t.Errorf("POST /v1/roles as a user = %d, want 403", code)
	}
	if code := g.api(t, admin, "POST", "/v1/roles", `{"metadata":{"name":"x"},"spec":{"permissions":["not a permission"],"scope":"tenant"}}`, nil); code != http.StatusBadRequest {
		t.Errorf("POST /v1/roles with a malformed permission = %d, want 400", code)
	}
	var roles struct {
		Items []paletteRole `json:"items"`
	}
	if code := g.api(t, s.userKey, "GET", "/v1/roles?limit=0", "", &roles); code != http.StatusOK {
		t.Fatalf("GET /v1/roles = %d", code)
	}
	byName := map[string]paletteRole{}
	for _, r := range roles.Items {
		byName[r.Metadata.Name] = r
	}
	for name, want := range map[string]struct{ uid, scope, typ string }{
		"Tenant Admin":   {storage.RoleUIDTenantAdmin, "tenant", "built-in"},
		"Tenant Viewer":  {storage.RoleUIDTenantViewer, "tenant", "built-in"},
		"Project Admin":  {storage.RoleUIDProjectAdmin, "project", "built-in"},
		"Project Editor": {storage.RoleUIDProjectEditor, "project", "built-in"},
		"Project Viewer": {storage.RoleUIDProjectViewer, "project", "built-in"},
		"Cluster Reader": {created.UID, "project", "custom"},
	} {
		r, ok := byName[name]
		if !ok || r.Metadata.UID != want.uid || r.Spec.Scope != want.scope || r.Spec.Type != want.typ || !r.Status.IsEnabled || len(r.Spec.Permissions) == 0 {
			t.Errorf("role %q = %+v, want uid %s, %s scope, %s, enabled, with permissions", name, r, want.uid, want.scope, want.typ)
		}
	}
	if got := byName["Cluster Reader"].Spec.Permissions; !slices.Equal(got, []string{"cluster.get", "cluster.list"}) {
		t.Errorf("custom role permissions = %q", got)
	}
}

// The upstream receives the caller's effective roles by name; a tenant admin's change to a
// user's roles (PUT /v1/users/{uid}/roles) holds on the user's very next request, with a
// key and with a token; a route's required permission is enforced with 403
// PermissionDenied; and a project role is named once ProjectUid was checked.
func TestRoleChangesHoldOnTheNextRequestAndRequireIsEnforced(t *testing.T) {
	g := startGateway(t, "{\n\t\trequire tenant.get\n\t}")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	// A token made from the user's key acts with the user's current roles.
	res, token, raw := g.login(t, "", "", map[string]string{"ApiKey": s.userKey})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("API key login: %d %s", res.StatusCode, raw)
	}

	// A user without tenant roles lacks tenant.get.
	for name, h := range map[string]map[string]string{"key": {"ApiKey": s.userKey}, "token": {"Authorization": token}} {
		if r := g.do(t, "/anything", h); r.status != http.StatusForbidden || r.err.Code != "PermissionDenied" {
			t.Errorf("%s of a user without roles: %d %q, want 403 PermissionDenied", name, r.status, r.err.Code)
		}
	}
	if code := g.api(t, admin, "PUT", "/v1/users/"+s.user.UID+"/roles", `{"roles":["`+storage.RoleUIDTenantViewer+`"]}`, nil); code != http.StatusNoContent {
		t.Fatalf("PUT roles = %d, want 204", code)
	}
	for name, h := range map[string]map[string]string{"key": {"ApiKey": s.userKey}, "token": {"Authorization": token}} {
		r := g.do(t, "/anything", h)
		if r.status != http.StatusOK || r.echo.Header.Get("X-User-Tenant-Roles") != "Tenant Viewer" {
			t.Errorf("%s after the grant: %d, tenant roles %q; want 200, Tenant Viewer", name, r.status, r.echo.Header.Get("X-User-Tenant-Roles"))
		}
	}
	var roles struct {
		Roles []struct{ Name, UID string } `json:"roles"`
	}
	if code := g.api(t, admin, "GET", "/v1/users/"+s.user.UID+"/roles", "", &roles); code != 200 || len(roles.Roles) != 1 || roles.Roles[0].Name != "Tenant Viewer" {
		t.Errorf("GET roles = %d %+v, want Tenant Viewer", code, roles)
	}
	// Removing the role holds on the next request too.
	if code := g.api(t, admin, "PUT", "/v1/users/"+s.user.UID+"/roles", `{"roles":[]}`, nil); code != http.StatusNoContent {
		t.Fatalf("PUT roles [] = %d", code)
	}
	if r := g.do(t, "/anything", map[string]string{"ApiKey": s.userKey}); r.status != http.StatusForbidden {
		t.Errorf("key after the role was removed: %d, want 403", r.status)
	}
	// A tenant role that is not of tenant scope, or unknown, is 404; the last admin stays.
	if code := g.api(t, admin, "PUT", "/v1/users/"+s.user.UID+"/roles", `{"roles":["`+storage.RoleUIDProjectEditor+`"]}`, nil); code != http.StatusNotFound {
		t.Errorf("PUT a project role as a tenant role = %d, want 404", code)
	}
	if code := g.api(t, admin, "PUT", "/v1/users/"+s.admin.UID+"/roles", `{"roles":[]}`, nil); code != http.StatusConflict {
		t.Errorf("removing the last admin's Tenant Admin = %d, want 409", code)
	}
	// The admin passes, and a project member's project role is named upstream.
	if code := g.api(t, admin, "PUT", "/v1/projects/"+s.project.UID+"/members/"+s.user.UID, "", nil); code >= 300 {
		t.Fatalf("add member = %d", code)
	}
	g.api(t, admin, "PUT", "/v1/users/"+s.user.UID+"/roles", `{"roles":["`+storage.RoleUIDTenantViewer+`"]}`, nil)
	r := g.do(t, "/anything", map[string]string{"ApiKey": s.userKey, "ProjectUid": s.project.UID})
	if r.status != http.StatusOK || r.echo.Header.Get("X-User-Project-Roles") != "Project Editor" {
		t.Errorf("member in project: %d, project roles %q; want 200, Project Editor", r.status, r.echo.Header.Get("X-User-Project-Roles"))
	}
	r = g.do(t, "/anything", map[string]string{"ApiKey": admin})
	if r.status != http.StatusOK || r.echo.Header.Get("X-User-Tenant-Roles") != "Tenant Admin" || r.echo.Header.Get("X-User-Role") != "tenant-admin" {
		t.Errorf("admin: %d, tenant roles %q, role %q", r.status, r.echo.Header.Get("X-User-Tenant-Roles"), r.echo.Header.Get("X-User-Role"))
	}
}

// Palette's SDK lists users with limit=0 (the default) and decodes an active admin as
// active, with its roles.
func TestUsersListWithLimitZeroInPalettesShape(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	var users struct {
		Items []struct {
			Metadata struct {
				UID string `json:"uid"`
			} `json:"metadata"`
			Spec struct {
				EmailID string   `json:"emailId"`
				Roles   []string `json:"roles"`
			} `json:"spec"`
			Status struct {
				IsActive bool `json:"isActive"`
			} `json:"status"`
		} `json:"items"`
		ListMeta struct {
			Limit int `json:"limit"`
		} `json:"listmeta"`
	}
	if code := g.api(t, admin, "GET", "/v1/users?limit=0", "", &users); code != http.StatusOK || users.ListMeta.Limit != 50 {
		t.Fatalf("GET /v1/users?limit=0 = %d, limit %d; want 200, the default 50", code, users.ListMeta.Limit)
	}
	for _, u := range users.Items {
		if u.Metadata.UID == s.admin.UID && (!u.Status.IsActive || !slices.Equal(u.Spec.Roles, []string{storage.RoleUIDTenantAdmin})) {
			t.Errorf("active admin decodes as %+v, want active holding Tenant Admin", u)
		}
	}
	if code := g.api(t, admin, "GET", "/v1/users?limit=-1", "", nil); code != http.StatusBadRequest {
		t.Errorf("limit=-1 = %d, want 400", code)
	}
}
