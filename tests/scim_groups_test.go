package tests

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/keygate/keygate/storage"
)

// tenantRoles is the X-User-Tenant-Roles the upstream sees for key.
func (g *gateway) tenantRoles(t *testing.T, key string) string {
	t.Helper()
	r := g.do(t, "/anything", map[string]string{"ApiKey": key})
	if r.status != http.StatusOK {
		t.Fatalf("key: %d", r.status)
	}
	return r.echo.Header.Get("X-User-Tenant-Roles")
}

// patchOp is a PatchOp body of the operations given as JSON.
func patchOp(ops ...string) string {
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	for i, op := range ops {
		if i > 0 {
			body += ","
		}
		body += op
	}
	return body + "]}"
}

// groupMembers are the member ids of the group, as SCIM reads them.
func (x scimSetup) groupMembers(t *testing.T, gid string) []string {
	t.Helper()
	var grp scimGroup
	if code, e := x.g.scim(t, x.token, http.MethodGet, "/Groups/"+gid, "", &grp); code != http.StatusOK {
		t.Fatalf("GET group: %d %+v", code, e)
	}
	var ids []string
	for _, m := range grp.Members {
		ids = append(ids, m.Value)
	}
	slices.Sort(ids)
	return ids
}

// Groups are teams: Entra creates one and adds a member ({op: "Add", path: "members"});
// once a tenant admin gives the team a role in Keygate, the member's key carries it on
// its next request, and loses it as soon as the provider removes the member
// (members[value eq "..."], Okta's and Entra's path filter). Okta renames the group with
// a value object and replaces its members; Entra removes a member by value; the group
// is found by displayName with members left out, and deleted.
func TestSCIMGroupsAreTeams(t *testing.T) {
	x := startSCIM(t)
	g := x.g
	dev := x.s.user
	var grp scimGroup
	create := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","members":[]}`
	if code, e := g.scim(t, x.token, http.MethodPost, "/Groups", create, &grp); code != http.StatusCreated || grp.ID == "" || grp.DisplayName != "Engineering" || grp.ExternalID == "" {
		t.Fatalf("create group: %d %+v %+v", code, e, grp)
	}
	if code := g.api(t, x.adminKey, http.MethodPut, "/v1/teams/"+grp.ID+"/roles", `{"roles":["`+storage.RoleUIDTenantViewer+`"]}`, nil); code != http.StatusNoContent {
		t.Fatalf("give the team a role: %d", code)
	}
	if roles := g.tenantRoles(t, x.s.userKey); roles != "" {
		t.Fatalf("before joining, the key's tenant roles are %q", roles)
	}

	add := patchOp(`{"op":"Add","path":"members","value":[{"value":"` + dev.UID + `"}]}`)
	if code, e := g.scim(t, x.token, http.MethodPatch, "/Groups/"+grp.ID, add, nil); code != http.StatusNoContent {
		t.Fatalf("add member: %d %+v", code, e)
	}
	if roles := g.tenantRoles(t, x.s.userKey); roles != "Tenant Viewer" {
		t.Fatalf("after joining, the key's tenant roles are %q, want Tenant Viewer", roles)
	}
	var user scimUser
	if g.scim(t, x.token, http.MethodGet, "/Users/"+dev.UID, "", &user); len(user.Groups) != 1 || user.Groups[0].Value != grp.ID {
		t.Errorf("the user's groups: %+v", user.Groups)
	}
	remove := patchOp(`{"op":"remove","path":"members[value eq \"` + dev.UID + `\"]"}`)
	if code, e := g.scim(t, x.token, http.MethodPatch, "/Groups/"+grp.ID, remove, nil); code != http.StatusNoContent {
		t.Fatalf("remove member: %d %+v", code, e)
	}
	if roles := g.tenantRoles(t, x.s.userKey); roles != "" {
		t.Fatalf("after leaving, the key's tenant roles are %q, want none", roles)
	}

	// Okta: a rename by value object, and a replacement of the members.
	other := g.mustUser(t, "ops@acme.test", storage.RoleUser)
	okta := patchOp(`{"op":"replace","value":{"id":"`+grp.ID+`","displayName":"Platform"}}`,
		`{"op":"replace","path":"members","value":[{"value":"`+dev.UID+`","display":"dev@acme.test"},{"value":"`+other.UID+`"}]}`)
	if code, e := g.scim(t, x.token, http.MethodPatch, "/Groups/"+grp.ID, okta, nil); code != http.StatusNoContent {
		t.Fatalf("Okta's PATCH: %d %+v", code, e)
	}
	if got, want := x.groupMembers(t, grp.ID), storage.SortedSet([]string{dev.UID, other.UID}); !slices.Equal(got, want) {
		t.Errorf("members after Okta's replace: %v, want %v", got, want)
	}
	// Entra: a remove by value, and a rename by path.
	entra := patchOp(`{"op":"Remove","path":"members","value":[{"value":"`+other.UID+`"}]}`, `{"op":"Replace","path":"displayName","value":"Platform Team"}`)
	if code, e := g.scim(t, x.token, http.MethodPatch, "/Groups/"+grp.ID, entra, nil); code != http.StatusNoContent {
		t.Fatalf("Entra's PATCH: %d %+v", code, e)
	}
	if got := x.groupMembers(t, grp.ID); !slices.Equal(got, []string{dev.UID}) {
		t.Errorf("members after Entra's remove: %v, want only %s", got, dev.UID)
	}

	var found scimListResponse[scimGroup]
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Groups"+filterQuery(`displayName eq "platform team"`)+"&excludedAttributes=members", "", &found); code != http.StatusOK || found.TotalResults != 1 || found.Resources[0].ID != grp.ID || found.Resources[0].Members != nil {
		t.Fatalf("lookup by displayName: %d %+v", code, found)
	}
	if roles := g.tenantRoles(t, x.s.userKey); roles != "Tenant Viewer" {
		t.Errorf("the remaining member's roles: %q, want Tenant Viewer (the team's roles stayed)", roles)
	}
	put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"` + grp.ID + `","displayName":"Platform Team","members":[]}`
	if code, e := g.scim(t, x.token, http.MethodPut, "/Groups/"+grp.ID, put, &grp); code != http.StatusOK || len(grp.Members) != 0 {
		t.Fatalf("PUT: %d %+v %+v", code, e, grp)
	}
	if code, _ := g.scim(t, x.token, http.MethodDelete, "/Groups/"+grp.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete group: %d", code)
	}
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Groups/"+grp.ID, "", nil); code != http.StatusNotFound {
		t.Fatalf("GET the deleted group: %d", code)
	}
	x.wantAuditedByIdP(t, "team.create", "team.update", "team.delete")
}

// Identity providers push one membership change per user, several at once: each PATCH
// is applied to the team as it is inside its own transaction, so none undoes another.
func TestSCIMConcurrentMemberAddsAllHold(t *testing.T) {
	x := startSCIM(t)
	g := x.g
	var grp scimGroup
	if code, _ := g.scim(t, x.token, http.MethodPost, "/Groups", `{"displayName":"Everyone"}`, &grp); code != http.StatusCreated {
		t.Fatalf("create group: %d", code)
	}
	var want []string
	for i := range 6 {
		want = append(want, g.mustUser(t, fmt.Sprintf("u%d@acme.test", i), storage.RoleUser).UID)
	}
	var wg sync.WaitGroup
	for _, uid := range want {
		wg.Go(func() {
			if code, e := g.scim(t, x.token, http.MethodPatch, "/Groups/"+grp.ID, patchOp(`{"op":"add","path":"members","value":[{"value":"`+uid+`"}]}`), nil); code != http.StatusNoContent {
				t.Errorf("add %s: %d %+v", uid, code, e)
			}
		})
	}
	wg.Wait()
	if got := x.groupMembers(t, grp.ID); !slices.Equal(got, storage.SortedSet(want)) {
		t.Errorf("members after concurrent adds: %v, want %v", got, storage.SortedSet(want))
	}
}

// The discovery endpoints identity providers read answer with the token and describe
// Users and Groups.
func TestSCIMDiscovery(t *testing.T) {
	x := startSCIM(t)
	var types scimListResponse[struct {
		ID       string `json:"id"`
		Endpoint string `json:"endpoint"`
	}]
	if code, _ := x.g.scim(t, x.token, http.MethodGet, "/ResourceTypes", "", &types); code != http.StatusOK || types.TotalResults != 2 || types.Resources[0].Endpoint != "/Users" || types.Resources[1].Endpoint != "/Groups" {
		t.Fatalf("ResourceTypes: %d %+v", code, types)
	}
	var schemas scimListResponse[struct {
		ID string `json:"id"`
	}]
	if code, _ := x.g.scim(t, x.token, http.MethodGet, "/Schemas", "", &schemas); code != http.StatusOK || len(schemas.Resources) != 2 || schemas.Resources[0].ID != "urn:ietf:params:scim:schemas:core:2.0:User" {
		t.Fatalf("Schemas: %d %+v", code, schemas)
	}
	if code, _ := x.g.scim(t, "", http.MethodGet, "/Schemas", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("Schemas without the token: %d, want 401", code)
	}
}
