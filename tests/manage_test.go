package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// api calls a management endpoint with an API key and decodes the JSON answer into out.
func (g *gateway) api(t testing.TB, key, method, path, body string, out any) int {
	t.Helper()
	res, raw := g.call(t, method, path, map[string]string{"ApiKey": key}, body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			t.Fatalf("%s %s: %v in %q", method, path, err, raw)
		}
	}
	if res.StatusCode >= 400 && !strings.Contains(raw, `"code"`) {
		t.Fatalf("%s %s: %d without a JSON error: %q", method, path, res.StatusCode, raw)
	}
	return res.StatusCode
}

type keyItem struct {
	Metadata struct {
		UID         string            `json:"uid"`
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Expiry string `json:"expiry"`
		Key    string `json:"key"`
		User   struct {
			UID string `json:"uid"`
		} `json:"user"`
	} `json:"spec"`
	Status struct {
		IsActive bool `json:"isActive"`
	} `json:"status"`
}

type keyList struct {
	Items    []keyItem `json:"items"`
	ListMeta struct {
		Continue string `json:"continue"`
		Count    int    `json:"count"`
		Limit    int    `json:"limit"`
	} `json:"listmeta"`
}

func keyBody(name, expiryField, expiry, userUID string) string {
	return fmt.Sprintf(`{"metadata":{"name":%q,"annotations":{"description":"for %s"},"creationTimestamp":"0001-01-01T00:00:00.000Z"},"spec":{"userUid":%q,%q:%q}}`,
		name, name, userUID, expiryField, expiry)
}

func TestKeyLifecycleAsAUser(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	me := s.userKey
	future := time.Now().AddDate(0, 3, 0).UTC().Format("2006-01-02")
	created := map[string]string{}
	for _, tc := range []struct{ field, value string }{{"expiryPreset", "7d"}, {"expiryPreset", "30d"}, {"expiryPreset", "60d"}, {"expiryPreset", "90d"}, {"expiry", future + "T00:00:00.000Z"}} {
		var ans struct{ APIKey, UID string }
		if code := g.api(t, me, "POST", "/v1/apiKeys", keyBody("k-"+tc.value, tc.field, tc.value, ""), &ans); code != http.StatusCreated {
			t.Fatalf("create with %s=%s: %d", tc.field, tc.value, code)
		}
		if _, ok := authcore.ParseKey(ans.APIKey); !ok || ans.UID == "" {
			t.Fatalf("create answered %+v", ans)
		}
		created[ans.UID] = ans.APIKey
		if r := g.do(t, "/", map[string]string{"ApiKey": ans.APIKey}); r.status != http.StatusOK {
			t.Fatalf("new key refused: %d", r.status)
		}
	}

	var l keyList
	g.api(t, me, "GET", "/v1/apiKeys", "", &l)
	if l.ListMeta.Count != 6 || len(l.Items) != 6 { // the seed key and five new ones
		t.Fatalf("list: %+v", l.ListMeta)
	}
	for _, it := range l.Items {
		if key, ok := created[it.Metadata.UID]; ok && (strings.Contains(it.Spec.Key, key[3:20]) || !strings.HasPrefix(it.Spec.Key, "kg_")) {
			t.Fatalf("listing shows %q for key %s", it.Spec.Key, it.Metadata.UID)
		}
	}

	var uid string
	for u := range created {
		uid = u
		break
	}
	key := created[uid]
	if code := g.api(t, me, "PUT", "/v1/apiKeys/"+uid, `{"metadata":{"name":"renamed","annotations":{"description":"new"}},"spec":{"expiry":"`+future+`"}}`, nil); code != http.StatusNoContent {
		t.Fatalf("edit: %d", code)
	}
	var got keyItem
	g.api(t, me, "GET", "/v1/apiKeys/"+uid, "", &got)
	if got.Metadata.Name != "renamed" || got.Metadata.Annotations["description"] != "new" || !strings.HasPrefix(got.Spec.Expiry, future) {
		t.Fatalf("after edit: %+v", got)
	}

	if code := g.api(t, me, "PATCH", "/v1/apiKeys/"+uid, `{"isActive":false}`, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.err.Code != "CredentialRevoked" {
		t.Fatalf("revoked key: %d %s", r.status, r.body)
	}
	if code := g.api(t, me, "PUT", "/v1/apiKeys/"+uid+"/state", `{"isActive":true}`, nil); code != http.StatusNoContent {
		t.Fatalf("re-activate: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK {
		t.Fatalf("re-activated key: %d", r.status)
	}
	if code := g.api(t, me, "PATCH", "/v1/apiKeys/"+uid, `{}`, nil); code != http.StatusNoContent {
		t.Fatalf("revoke by absent field: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.err.Code != "CredentialRevoked" {
		t.Fatalf("a missing isActive must mean false: %d", r.status)
	}
	if code := g.api(t, me, "DELETE", "/v1/apiKeys/"+uid, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted key: %d", r.status)
	}
	if code := g.api(t, me, "GET", "/v1/apiKeys/"+uid, "", nil); code != http.StatusNotFound {
		t.Fatalf("deleted key read: %d", code)
	}
}

func TestReactivationAfterExpiryIsRefused(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	_, digest, hint := taggedKeyOn(t, g.store)
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	uid := authcore.NewUID()
	if err := g.store.CreateAPIKey(context.Background(), storage.APIKey{UID: uid, TenantUID: s.tenant.UID, UserUID: s.user.UID, Name: "old", Digest: digest[:], Hint: hint, ExpiresAt: past, Active: false, CreatedAt: past, UpdatedAt: past, Tagged: true}, 0); err != nil {
		t.Fatal(err)
	}
	res, body := g.call(t, "PATCH", "/v1/apiKeys/"+uid, map[string]string{"ApiKey": s.userKey}, `{"isActive":true}`)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "ApiKeyExpired") {
		t.Fatalf("re-activation after expiry: %d %s", res.StatusCode, body)
	}
}

// Palette edits a key with the whole request, {metadata:{name}, spec:{description,
// expiry}}: an expiry given in either field moves the key's expiry, and an edit without
// one (or with Palette's zero time) keeps it.
func TestEditingAKeyMovesItsExpiryOnlyWhenOneIsGiven(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	var made struct{ UID string }
	if code := g.api(t, s.userKey, "POST", "/v1/apiKeys", keyBody("k", "expiryPreset", "7d", ""), &made); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	days := func(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
	for _, tc := range []struct {
		spec string
		want time.Duration // from now
	}{
		{`{"expiry":"30d"}`, days(30)},
		{`{}`, days(30)},
		{`{"expiry":"0001-01-01T00:00:00.000Z"}`, days(30)},
		{`{"expiry":"7d"}`, days(7)},
		{`{"expiryPreset":"30d"}`, days(30)},
		{`{"description":"no expiry"}`, days(30)},
	} {
		body := `{"metadata":{"name":"k"},"spec":` + tc.spec + `}`
		if code := g.api(t, s.userKey, "PUT", "/v1/apiKeys/"+made.UID, body, nil); code != http.StatusNoContent {
			t.Fatalf("edit with spec %s: %d", tc.spec, code)
		}
		var got keyItem
		g.api(t, s.userKey, "GET", "/v1/apiKeys/"+made.UID, "", &got)
		expires, err := time.Parse(time.RFC3339, got.Spec.Expiry)
		if err != nil {
			t.Fatalf("expiry %q: %v", got.Spec.Expiry, err)
		}
		if off := time.Until(expires) - tc.want; off < -time.Minute || off > time.Minute {
			t.Errorf("after an edit with spec %s the key expires at %s, want in %v", tc.spec, got.Spec.Expiry, tc.want)
		}
	}
}

func TestBadKeyRequestsSayWhatIsWrong(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/v1/apiKeys", `{"metadata":`, 400, "not valid JSON"},
		{"POST", "/v1/apiKeys", `{"metadata":{"name":5}}`, 400, "metadata.name"},
		{"POST", "/v1/apiKeys", keyBody(strings.Repeat("n", 129), "expiryPreset", "7d", ""), 400, "1 to 128"},
		{"POST", "/v1/apiKeys", keyBody("k", "expiry", "2001-01-01T00:00:00Z", ""), 400, "not in the future"},
		{"POST", "/v1/apiKeys", keyBody("k", "expiry", "2099-01-01T00:00:00Z", ""), 400, "more than 365 days"},
		{"POST", "/v1/apiKeys", keyBody("k", "expiryPreset", "1d", ""), 400, "1d"},
		{"GET", "/v1/apiKeys/" + authcore.NewUID(), "", 404, "ResourceNotFound"},
		{"GET", "/v1/apiKeys?limit=51", "", 400, "limit"},
		{"GET", "/v1/apiKeys?continue=garbage", "", 400, "continue"},
	} {
		res, body := g.call(t, tc.method, tc.path, map[string]string{"ApiKey": s.userKey}, tc.body)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, res.StatusCode, body, tc.code, tc.want)
		}
	}
	var l keyList
	g.api(t, s.userKey, "GET", "/v1/apiKeys", "", &l)
	if len(l.Items) != 1 {
		t.Fatalf("a refused create left %d keys", len(l.Items))
	}
}

func TestPaginationReturnsEveryKeyOnce(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	want := map[string]bool{s.userKeyRecord.UID: true}
	for i := 0; i < 119; i++ {
		want[g.mustKey(t, s.user, "30d").Record.UID] = true
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		var l keyList
		if code := g.api(t, s.userKey, "GET", "/v1/apiKeys?limit=50&continue="+cursor, "", &l); code != 200 {
			t.Fatalf("page %d: %d", pages, code)
		}
		for _, it := range l.Items {
			if seen[it.Metadata.UID] {
				t.Fatalf("key %s seen twice", it.Metadata.UID)
			}
			seen[it.Metadata.UID] = true
		}
		if pages == 0 { // keys added meanwhile appear later, without disturbing the cursor
			want[g.mustKey(t, s.user, "7d").Record.UID] = true
		}
		if cursor = l.ListMeta.Continue; cursor == "" {
			break
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("saw %d keys, want %d", len(seen), len(want))
	}
}

func TestUsersManageOnlyTheirOwnKeys(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	other := g.mustUser(t, "other@acme.test", storage.RoleUser)
	theirs := g.mustKey(t, other, "30d")
	for _, tc := range []struct {
		method, path, body string
		code               int
	}{
		{"GET", "/v1/apiKeys/" + theirs.Record.UID, "", 404},
		{"PATCH", "/v1/apiKeys/" + theirs.Record.UID, `{"isActive":false}`, 404},
		{"DELETE", "/v1/apiKeys/" + theirs.Record.UID, "", 404},
		{"GET", "/v1/apiKeys?userUid=" + other.UID, "", 403},
		{"POST", "/v1/apiKeys", keyBody("x", "expiryPreset", "7d", other.UID), 403},
		{"GET", "/v1/users", "", 403},
		{"GET", "/v1/audit", "", 403},
	} {
		if code := g.api(t, s.userKey, tc.method, tc.path, tc.body, nil); code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, code, tc.code)
		}
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": theirs.Key}); r.status != http.StatusOK {
		t.Fatal("another user's key was affected")
	}
}

func TestTenantAdminManagesTheTenantAndNothingElse(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key

	var made struct{ APIKey, UID string }
	if code := g.api(t, admin, "POST", "/v1/apiKeys", keyBody("for-dev", "expiryPreset", "7d", s.user.UID), &made); code != 201 {
		t.Fatalf("admin creating a key for a user: %d", code)
	}
	var l keyList
	g.api(t, admin, "GET", "/v1/apiKeys?userUid="+s.user.UID, "", &l)
	if len(l.Items) != 2 {
		t.Fatalf("admin filter by user: %d keys, want 2", len(l.Items))
	}
	for _, it := range l.Items {
		if it.Spec.User.UID != s.user.UID {
			t.Fatalf("filter returned another user's key")
		}
	}
	if code := g.api(t, admin, "PATCH", "/v1/apiKeys/"+made.UID, `{"isActive":false}`, nil); code != 204 {
		t.Fatalf("admin revoking a user's key: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": made.APIKey}); r.err.Code != "CredentialRevoked" {
		t.Fatal("revoked by admin, still accepted")
	}

	beta := g.otherTenantAdminKey(t) // a second tenant's admin
	for _, path := range []string{"/v1/apiKeys/" + s.userKeyRecord.UID, "/v1/users/" + s.user.UID, "/v1/projects/" + s.project.UID} {
		if code := g.api(t, beta, "GET", path, "", nil); code != 404 {
			t.Errorf("other tenant's admin GET %s: %d, want 404", path, code)
		}
	}
	var betaKeys keyList
	g.api(t, beta, "GET", "/v1/apiKeys", "", &betaKeys)
	if len(betaKeys.Items) != 1 {
		t.Fatalf("beta admin sees %d keys, want only their own", len(betaKeys.Items))
	}
	if code := g.api(t, beta, "PUT", "/v1/projects/"+s.project.UID+"/members/"+s.user.UID, "", nil); code != 404 {
		t.Fatalf("other tenant's admin adding a member: %d, want 404", code)
	}
}

func TestUsersProjectsMembershipAndAudit(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	admin := g.mustKey(t, s.admin, "30d").Key

	var u struct{ UID string }
	if code := g.api(t, admin, "POST", "/v1/users", `{"metadata":{"name":"Ann"},"spec":{"emailId":"ann@acme.test","firstName":"Ann","lastName":"Lee","role":"user","password":"pw-ann-123"}}`, &u); code != 201 {
		t.Fatalf("create user: %d", code)
	}
	annKey := g.mustKeyFor(t, u.UID)
	var ann struct {
		Metadata struct{ Name string }
		Spec     struct{ EmailID, Role string }
		Status   struct{ Active bool }
	}
	if code := g.api(t, admin, "GET", "/v1/users/"+u.UID, "", &ann); code != 200 || ann.Spec.EmailID != "ann@acme.test" || ann.Metadata.Name != "ann@acme.test" || ann.Spec.Role != "user" || !ann.Status.Active {
		t.Fatalf("read the new user: %d %+v", code, ann)
	}
	var p struct{ UID string }
	if code := g.api(t, admin, "POST", "/v1/projects", `{"metadata":{"name":"payments"}}`, &p); code != 201 {
		t.Fatalf("create project: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": annKey, "ProjectUid": p.UID}); r.status != http.StatusForbidden {
		t.Fatalf("non-member: %d", r.status)
	}
	if code := g.api(t, admin, "PUT", "/v1/projects/"+p.UID+"/members/"+u.UID, "", nil); code != 204 {
		t.Fatalf("add member: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": annKey, "ProjectUid": p.UID}); r.status != http.StatusOK {
		t.Fatalf("member: %d", r.status)
	}
	var project paletteProject
	if code := g.api(t, admin, "GET", "/v1/projects/"+p.UID, "", &project); code != 200 || project.Metadata.Name != "payments" || len(project.Spec.Users) != 1 || project.Spec.Users[0].UserID != u.UID {
		t.Fatalf("read the project: %d %+v", code, project)
	}
	var dash struct {
		Items []struct{ Metadata struct{ Name, UID string } } `json:"items"`
	}
	g.api(t, annKey, "GET", "/v1/dashboard/projects/metadata", "", &dash)
	if len(dash.Items) != 1 || dash.Items[0].Metadata.UID != p.UID || dash.Items[0].Metadata.Name != "payments" {
		t.Fatalf("dashboard projects: %+v", dash)
	}
	if code := g.api(t, admin, "DELETE", "/v1/projects/"+p.UID+"/members/"+u.UID, "", nil); code != 204 {
		t.Fatalf("remove member: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": annKey, "ProjectUid": p.UID}); r.status != http.StatusForbidden {
		t.Fatalf("removed member: %d", r.status)
	}

	// Demoting an admin takes their admin rights away at once, key and all.
	promoted := g.mustUser(t, "pro@acme.test", storage.RoleTenantAdmin)
	proKey := g.mustKey(t, promoted, "30d").Key
	if code := g.api(t, proKey, "GET", "/v1/users", "", nil); code != 200 {
		t.Fatalf("admin listing users: %d", code)
	}
	if code := g.api(t, admin, "PATCH", "/v1/users/"+promoted.UID, `{"spec":{"role":"user"}}`, nil); code != 204 {
		t.Fatalf("demote: %d", code)
	}
	if code := g.api(t, proKey, "GET", "/v1/users", "", nil); code != 403 {
		t.Fatalf("demoted admin listing users: %d, want 403", code)
	}

	// Disabling, then deleting, a user stops their key and token at once.
	_, token, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	if code := g.api(t, admin, "PATCH", "/v1/users/"+u.UID, `{"status":{"active":false}}`, nil); code != 204 {
		t.Fatalf("disable: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": annKey}); r.err.Code != "UserDisabled" {
		t.Fatalf("disabled user's key: %d %s", r.status, r.body)
	}
	if r := g.do(t, "/", map[string]string{"Authorization": token}); r.err.Code != "UserDisabled" {
		t.Fatalf("disabled user's token: %d %s", r.status, r.body)
	}
	if code := g.api(t, admin, "DELETE", "/v1/users/"+u.UID, "", nil); code != 204 {
		t.Fatalf("delete user: %d", code)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": annKey}); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted user's key: %d", r.status)
	}
	if r := g.do(t, "/", map[string]string{"Authorization": token}); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted user's token: %d", r.status)
	}
	if code := g.api(t, admin, "DELETE", "/v1/projects/"+p.UID, "", nil); code != 204 {
		t.Fatalf("delete project: %d", code)
	}

	var audit struct {
		Items []struct {
			Spec struct {
				Action string
				Actor  struct{ UID string }
				Target struct{ Kind, UID string }
			}
		} `json:"items"`
	}
	g.api(t, admin, "GET", "/v1/audit?limit=50", "", &audit)
	actions := map[string]string{}
	for _, e := range audit.Items {
		actions[e.Spec.Action] = e.Spec.Actor.UID
	}
	for _, want := range []string{"user.create", "project.create", "membership.add", "membership.remove", "user.update", "user.delete", "project.delete", "login.success"} {
		if _, ok := actions[want]; !ok {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
	if actions["project.delete"] != s.admin.UID {
		t.Errorf("project.delete recorded actor %q, want the admin %s", actions["project.delete"], s.admin.UID)
	}
	if audit.Items[0].Spec.Action != "project.delete" {
		t.Errorf("audit is not newest first: %s first", audit.Items[0].Spec.Action)
	}
}

func (g *gateway) mustKeyFor(t *testing.T, userUID string) string {
	t.Helper()
	u, err := g.store.UserByUID(context.Background(), userUID)
	if err != nil {
		t.Fatal(err)
	}
	return g.mustKey(t, u, "30d").Key
}

func TestOtherUsersAndTenantsCannotTouchAKey(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	other := g.mustUser(t, "other@acme.test", storage.RoleUser)
	otherKey := g.mustKey(t, other, "30d").Key
	beta := g.otherTenantAdminKey(t)
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

// otherTenantAdminKey makes tenant "beta" with an admin and returns the admin's key.
func (g *gateway) otherTenantAdminKey(t *testing.T) string {
	t.Helper()
	if _, err := g.admin.CreateTenant(context.Background(), "beta"); err != nil {
		t.Fatal(err)
	}
	admin, err := g.admin.CreateUser(context.Background(), manage.NewUser{TenantName: "beta", Email: "boss@beta.test", Role: storage.RoleTenantAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return g.mustKey(t, admin, "30d").Key
}
