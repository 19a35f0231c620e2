package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

func TestOtherUsersAndTenantsCannotTouchAKey(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	ctx := context.Background()
	other := g.mustUser(t, "other@acme.test", storage.RoleUser)
	otherKey := g.mustKey(t, other, "30d").Key
	if _, err := g.admin.CreateTenant(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	betaAdmin, err := g.admin.CreateUser(ctx, manage.NewUser{TenantName: "beta", Email: "boss@beta.test", Role: storage.RoleTenantAdmin})
	if err != nil {
		t.Fatal(err)
	}
	beta := g.mustKey(t, betaAdmin, "30d").Key
	uid := s.userKeyRecord.UID
	for who, key := range map[string]string{"another user": otherKey, "another tenant's admin": beta} {
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/v1/apiKeys/" + uid, ""},
			{"PUT", "/v1/apiKeys/" + uid, `{"metadata":{"name":"x"},"spec":{"expiryPreset":"7d"}}`},
			{"PATCH", "/v1/apiKeys/" + uid, `{"isActive":false}`},
			{"PUT", "/v1/apiKeys/" + uid + "/state", `{"isActive":false}`},
			{"DELETE", "/v1/apiKeys/" + uid, ""},
		} {
			if code := g.api(t, key, tc.method, tc.path, tc.body, nil); code != http.StatusNotFound {
				t.Errorf("%s: %s %s = %d, want 404", who, tc.method, tc.path, code)
			}
		}
	}
	for _, tc := range []struct{ method, path, body string }{
		{"PATCH", "/v1/users/" + s.user.UID, `{"status":{"active":false}}`},
		{"DELETE", "/v1/users/" + s.user.UID, ""},
		{"DELETE", "/v1/projects/" + s.project.UID, ""},
		{"POST", "/v1/apiKeys", keyBody("x", "expiryPreset", "7d", s.user.UID)},
	} {
		if code := g.api(t, beta, tc.method, tc.path, tc.body, nil); code != http.StatusNotFound {
			t.Errorf("another tenant's admin: %s %s = %d, want 404", tc.method, tc.path, code)
		}
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey}); r.status != http.StatusOK {
		t.Fatalf("the key was affected: %d", r.status)
	}
}

func TestExpiryEditsTakeEffectAndCannotReviveAKey(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	ctx := context.Background()
	k := g.mustKey(t, s.user, "30d")
	if r := g.do(t, "/", map[string]string{"ApiKey": k.Key}); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	if code := g.api(t, s.userKey, "PUT", "/v1/apiKeys/"+k.Record.UID, `{"metadata":{"name":"short"},"spec":{"expiry":"`+soon+`"}}`, nil); code != 204 {
		t.Fatalf("moving the expiry earlier: %d", code)
	}
	time.Sleep(1600 * time.Millisecond)
	if r := g.do(t, "/", map[string]string{"ApiKey": k.Key}); r.err.Code != "CredentialExpired" {
		t.Fatalf("after the earlier expiry: %d %s", r.status, r.body)
	}
	res, body := g.call(t, "PUT", "/v1/apiKeys/"+k.Record.UID, map[string]string{"ApiKey": s.userKey}, `{"metadata":{"name":"revived"},"spec":{"expiryPreset":"90d"}}`)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "ApiKeyExpired") {
		t.Fatalf("extending an expired key: %d %s", res.StatusCode, body)
	}
	if rec, _ := g.store.APIKeyByUID(ctx, k.Record.UID); rec.Name != "short" {
		t.Fatalf("the refused edit changed the key: %+v", rec)
	}
	// Palette's zero time means "not given": a create with it gets the 30-day default.
	var made struct{ UID string }
	if code := g.api(t, s.userKey, "POST", "/v1/apiKeys", keyBody("z", "expiry", "0001-01-01T00:00:00.000Z", ""), &made); code != 201 {
		t.Fatalf("create with a zero expiry: %d", code)
	}
	rec, _ := g.store.APIKeyByUID(ctx, made.UID)
	if d := time.Until(rec.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Fatalf("zero expiry gave %v, want 30 days", d)
	}
}

func TestMaxKeyLifetimeIsConfigurable(t *testing.T) {
	g := startGatewayWith(t, "max_key_lifetime 720h", "")
	s := g.seed(t)
	if code := g.api(t, s.userKey, "POST", "/v1/apiKeys", keyBody("long", "expiryPreset", "60d", ""), nil); code != 400 {
		t.Fatalf("60 days with a 30-day maximum: %d, want 400", code)
	}
	if code := g.api(t, s.userKey, "POST", "/v1/apiKeys", keyBody("ok", "expiryPreset", "7d", ""), nil); code != 201 {
		t.Fatalf("7 days: %d", code)
	}
}

func TestAdminsCannotLockThemselvesOut(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key
	for _, body := range []string{`{"spec":{"role":"user"}}`, `{"status":{"active":false}}`} {
		if code := g.api(t, admin, "PATCH", "/v1/users/"+s.admin.UID, body, nil); code != 400 {
			t.Errorf("self %s: %d, want 400", body, code)
		}
	}
	if code := g.api(t, admin, "DELETE", "/v1/users/"+s.admin.UID, "", nil); code != 400 {
		t.Errorf("self delete: %d, want 400", code)
	}
	if code := g.api(t, admin, "PATCH", "/v1/users/"+s.user.UID, `{"spec":{"password":"new-one-123"}}`, nil); code != 400 {
		t.Errorf("password through PATCH: %d, want 400", code)
	}
}

// A path ServeMux would clean must not get a redirect that repeats the query (and the key).
func TestUncleanManagementPathsAreProxiedNotRedirected(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	for _, p := range []string{"/v1//apiKeys", "/v1/./apiKeys"} {
		res, body := g.call(t, "GET", p+"?ApiKey="+s.userKey, nil, "")
		if res.StatusCode != http.StatusOK || res.Header.Get("Location") != "" || strings.Contains(body, s.userKey) {
			t.Errorf("%s: %d, Location %q", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

func TestUsersPageThroughTheirOwnProjects(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		p, err := g.admin.CreateProject(ctx, "acme", fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.admin.AddProjectMember(ctx, p.UID, s.user.Email); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		var l struct {
			Items    []struct{ Metadata struct{ UID string } } `json:"items"`
			ListMeta struct{ Continue string }                 `json:"listmeta"`
		}
		if code := g.api(t, s.userKey, "GET", "/v1/projects?limit=3&continue="+cursor, "", &l); code != 200 {
			t.Fatalf("page: %d", code)
		}
		if len(l.Items) > 3 {
			t.Fatalf("page of %d, want at most 3", len(l.Items))
		}
		for _, it := range l.Items {
			seen[it.Metadata.UID] = true
		}
		if cursor = l.ListMeta.Continue; cursor == "" {
			break
		}
	}
	if len(seen) != 7 {
		t.Fatalf("saw %d projects, want 7", len(seen))
	}
	if code := g.api(t, s.userKey, "GET", "/v1/projects?continue=bogus", "", nil); code != 400 {
		t.Fatalf("bad cursor: %d", code)
	}
}
