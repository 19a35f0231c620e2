package tests

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// oktaCreateUser is the body Okta sends to create a user (its SCIM 2.0 guide).
const oktaCreateUser = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "ada@acme.test",
  "name": {"givenName": "Ada", "familyName": "Lovelace"},
  "emails": [{"primary": true, "value": "ada@acme.test", "type": "work"}],
  "displayName": "Ada Lovelace",
  "locale": "en-US",
  "externalId": "00u1abcd",
  "groups": [],
  "password": "an-okta-password-keygate-ignores",
  "active": true
}`

// entraCreateUser is the body Microsoft Entra sends to create a user.
const entraCreateUser = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
  "userName": "Grace@acme.test",
  "active": true,
  "addresses": [{"primary": true, "type": "work", "country": "US"}],
  "displayName": "Grace Hopper",
  "emails": [{"primary": true, "type": "work", "value": "Grace@acme.test"}],
  "meta": {"resourceType": "User"},
  "name": {"familyName": "Hopper", "givenName": "Grace"},
  "title": "Rear Admiral",
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Navy"}
}`

// Okta's user lifecycle: it looks the user up by userName, creates them (an SSO user:
// no password kept, no activation link), deactivates them with PATCH
// {op: replace, value: {active: false}} (RFC 7644's example), which stops their key on
// its very next request, reactivates them with PUT, and deletes them. Every change is
// audited with the identity provider as actor.
func TestSCIMOktaUserLifecycle(t *testing.T) {
	x := startSCIM(t)
	g := x.g
	var found scimListResponse[scimUser]
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Users"+filterQuery(`userName eq "ada@acme.test"`)+"&startIndex=1&count=100", "", &found); code != http.StatusOK || found.TotalResults != 0 || found.Resources == nil {
		t.Fatalf("lookup before the create: %d %+v, want 200 with no resources", code, found)
	}
	var ada scimUser
	if code, e := g.scim(t, x.token, http.MethodPost, "/Users", oktaCreateUser, &ada); code != http.StatusCreated {
		t.Fatalf("create: %d %+v", code, e)
	}
	if ada.ID == "" || ada.UserName != "ada@acme.test" || ada.ExternalID != "00u1abcd" || !ada.Active || ada.Name.GivenName != "Ada" || ada.Meta.ResourceType != "User" || !strings.HasSuffix(ada.Meta.Location, "/scim/v2/Users/"+ada.ID) {
		t.Fatalf("created %+v", ada)
	}
	stored := x.storedUser(t, ada.ID)
	if stored.PasswordHash != "" {
		t.Error("the SCIM user got a password: Keygate keeps none for SSO users")
	}
	if tokens, _ := g.store.PasswordTokens(t.Context(), x.s.tenant.UID); len(tokens) != 0 {
		t.Errorf("the SCIM user got an activation link: %+v", tokens)
	}
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Users"+filterQuery(`userName eq "ADA@acme.test"`), "", &found); code != http.StatusOK || found.TotalResults != 1 || found.Resources[0].ID != ada.ID {
		t.Fatalf("lookup after the create: %d %+v", code, found)
	}
	key := g.mustKey(t, stored, "30d").Key
	if got := g.do(t, "/", map[string]string{"ApiKey": key}); got.status != http.StatusOK {
		t.Fatalf("the user's key: %d", got.status)
	}

	deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	var patched scimUser
	if code, e := g.scim(t, x.token, http.MethodPatch, "/Users/"+ada.ID, deactivate, &patched); code != http.StatusOK || patched.Active {
		t.Fatalf("deactivate: %d %+v %+v", code, e, patched)
	}
	if got := g.do(t, "/", map[string]string{"ApiKey": key}); got.status != http.StatusUnauthorized || got.err.Code != "UserDisabled" {
		t.Fatalf("the key of the deactivated user: %d %s, want 401 UserDisabled", got.status, got.err.Code)
	}

	// Okta reactivates (and renames) with a PUT of the whole user.
	put := strings.Replace(strings.Replace(oktaCreateUser, `"active": true`, `"active": true, "id": "`+ada.ID+`"`, 1), `"Ada"`, `"Augusta"`, 1)
	if code, e := g.scim(t, x.token, http.MethodPut, "/Users/"+ada.ID, put, &patched); code != http.StatusOK || !patched.Active || patched.Name.GivenName != "Augusta" {
		t.Fatalf("PUT: %d %+v %+v", code, e, patched)
	}
	if got := g.do(t, "/", map[string]string{"ApiKey": key}); got.status != http.StatusOK {
		t.Fatalf("the key of the reactivated user: %d", got.status)
	}

	if code, _ := g.scim(t, x.token, http.MethodDelete, "/Users/"+ada.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if got := g.do(t, "/", map[string]string{"ApiKey": key}); got.status != http.StatusUnauthorized {
		t.Fatalf("the key of the deleted user: %d, want 401", got.status)
	}
	if code, e := g.scim(t, x.token, http.MethodGet, "/Users/"+ada.ID, "", nil); code != http.StatusNotFound {
		t.Fatalf("GET the deleted user: %d %+v", code, e)
	}
	x.wantAuditedByIdP(t, "user.create", "user.update", "user.delete")
}

// wantAuditedByIdP checks that each action is in the audit log with the SCIM identity
// provider as its actor.
func (x scimSetup) wantAuditedByIdP(t *testing.T, actions ...string) {
	t.Helper()
	events, _, err := x.g.store.ListAudit(t.Context(), x.s.tenant.UID, storage.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range actions {
		found := false
		for _, e := range events {
			found = found || e.Action == action && e.ActorEmail == "idp:scim"
		}
		if !found {
			t.Errorf("no %s audited as idp:scim in %+v", action, events)
		}
	}
}

// Microsoft Entra's shapes: a user created with extension attributes Keygate does not
// keep, userName in another case, and PATCH {op: "Replace", path: "active", value:
// "False"} (a string, in Entra's capitals), which stops the user's key at once; a name
// changed by path; an email path Keygate does not keep, ignored.
func TestSCIMEntraUserShapes(t *testing.T) {
	x := startSCIM(t)
	g := x.g
	var grace scimUser
	if code, e := g.scim(t, x.token, http.MethodPost, "/Users", entraCreateUser, &grace); code != http.StatusCreated || grace.UserName != "grace@acme.test" || grace.Name.FamilyName != "Hopper" {
		t.Fatalf("create: %d %+v %+v", code, e, grace)
	}
	key := g.mustKey(t, x.storedUser(t, grace.ID), "30d").Key
	rename := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Add","path":"name.givenName","value":"Amazing Grace"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"grace@acme.test"},
		{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Fleet"}]}`
	if code, e := g.scim(t, x.token, http.MethodPatch, "/Users/"+grace.ID, rename, &grace); code != http.StatusOK || grace.Name.GivenName != "Amazing Grace" || !grace.Active {
		t.Fatalf("rename: %d %+v %+v", code, e, grace)
	}
	if got := g.do(t, "/", map[string]string{"ApiKey": key}); got.status != http.StatusOK {
		t.Fatalf("the key before the deactivation: %d", got.status)
	}
	deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`
	if code, e := g.scim(t, x.token, http.MethodPatch, "/Users/"+grace.ID, deactivate, &grace); code != http.StatusOK || grace.Active {
		t.Fatalf("deactivate: %d %+v %+v", code, e, grace)
	}
	if got := g.do(t, "/", map[string]string{"ApiKey": key}); got.status != http.StatusUnauthorized {
		t.Fatalf("the key of the deactivated user: %d, want 401", got.status)
	}
	var list scimListResponse[scimUser]
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Users"+filterQuery(`userName eq "grace@acme.test"`), "", &list); code != http.StatusOK || list.TotalResults != 1 || list.Resources[0].Active {
		t.Fatalf("lookup: %d %+v", code, list)
	}
	x.wantAuditedByIdP(t, "user.create", "user.update")
}

// Listings page by startIndex and count over every user of the token's tenant, and no
// other tenant's.
func TestSCIMListsPageThroughTheTenantsUsers(t *testing.T) {
	x := startSCIM(t)
	g := x.g
	g.otherTenantAdminKey(t) // a user in another tenant
	for _, email := range []string{"a@acme.test", "b@acme.test", "c@acme.test"} {
		g.mustUser(t, email, "user")
	}
	var all, page scimListResponse[scimUser]
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Users", "", &all); code != http.StatusOK || all.TotalResults != 5 || len(all.Resources) != 5 {
		t.Fatalf("all users: %d %+v, want the tenant's 5", code, all)
	}
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Users?startIndex=2&count=2", "", &page); code != http.StatusOK || page.TotalResults != 5 || page.StartIndex != 2 || page.ItemsPerPage != 2 || page.Resources[0].ID != all.Resources[1].ID || page.Resources[1].ID != all.Resources[2].ID {
		t.Fatalf("page 2..3: %d %+v", code, page)
	}
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Users?count=0", "", &page); code != http.StatusOK || page.TotalResults != 5 || len(page.Resources) != 0 {
		t.Fatalf("count=0: %d %+v, want the total only", code, page)
	}
	if code, _ := g.scim(t, x.token, http.MethodGet, "/Users"+filterQuery(`userName eq "boss@beta.test"`), "", &page); code != http.StatusOK || page.TotalResults != 0 {
		t.Fatalf("another tenant's user: %d %+v, want none", code, page)
	}
}

// Bad requests are SCIM errors with the scimType that says what is wrong, never 500.
func TestSCIMBadRequestsSayWhatIsWrong(t *testing.T) {
	x := startSCIM(t)
	g := x.g
	var ada scimUser
	if code, _ := g.scim(t, x.token, http.MethodPost, "/Users", oktaCreateUser, &ada); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		scimType           string
	}{
		{"GET", "/Users" + filterQuery(`userName co "ada"`), "", 400, "invalidFilter"},
		{"GET", "/Users" + filterQuery(`title eq "x"`), "", 400, "invalidFilter"},
		{"POST", "/Users", `{"userName":`, 400, "invalidSyntax"},
		{"POST", "/Users", `{"name":{"givenName":"x"}}`, 400, "invalidValue"},
		{"POST", "/Users", `{"userName":"not an email"}`, 400, "invalidValue"},
		{"POST", "/Users", oktaCreateUser, 409, "uniqueness"},
		{"PUT", "/Users/" + ada.ID, `{"userName":"other@acme.test"}`, 400, "mutability"},
		{"PATCH", "/Users/" + ada.ID, `{"Operations":[{"op":"move","path":"active"}]}`, 400, "invalidSyntax"},
		{"PATCH", "/Users/" + ada.ID, `{"Operations":[{"op":"replace","path":"active","value":"maybe"}]}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + ada.ID, `{"Operations":[]}`, 400, "invalidSyntax"},
		{"GET", "/Users/0123456789abcdef01234567", "", 404, ""},
		{"DELETE", "/Users/0123456789abcdef01234567", "", 404, ""},
		{"POST", "/Groups", `{"displayName":"x","members":[{"value":"0123456789abcdef01234567"}]}`, 404, ""},
		{"POST", "/Groups", `{"displayName":""}`, 400, "invalidValue"},
	} {
		code, e := g.scim(t, x.token, tc.method, tc.path, tc.body, nil)
		if code != tc.status || e.ScimType != tc.scimType {
			t.Errorf("%s %s %s: %d %+v, want %d %s", tc.method, tc.path, tc.body, code, e, tc.status, tc.scimType)
		}
	}
}

// A SCIM user whom a tenant admin made the tenant's only other admin cannot be
// deactivated if that would leave no enabled admin; the refusal is a SCIM 409.
func TestSCIMKeepsAnEnabledTenantAdmin(t *testing.T) {
	x := startSCIM(t)
	g := x.g
	ctx := t.Context()
	var ada scimUser
	if code, _ := g.scim(t, x.token, http.MethodPost, "/Users", oktaCreateUser, &ada); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	// The SCIM user becomes the tenant's only admin.
	stored := x.storedUser(t, ada.ID)
	if _, err := g.admin.UpdateUser(ctx, stored, manage.UserRequest{Role: storage.RoleTenantAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := g.admin.DeleteUser(ctx, x.s.admin); err != nil {
		t.Fatal(err)
	}
	code, e := g.scim(t, x.token, http.MethodPatch, "/Users/"+ada.ID, `{"Operations":[{"op":"replace","value":{"active":false}}]}`, nil)
	if code != http.StatusConflict {
		t.Fatalf("deactivating the last admin: %d %+v, want 409", code, e)
	}
}
