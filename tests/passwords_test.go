package tests

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the fixture that ages a link writes the gateway's file directly

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// userStatus is the part of a user's JSON these tests read.
type userStatus struct {
	Metadata struct {
		UID string `json:"uid"`
	} `json:"metadata"`
	Status struct {
		ActivationLink *string `json:"activationLink"`
	} `json:"status"`
}

// activationLink is the user's pending link as a tenant admin reads it ("" if none).
func (g *gateway) activationLink(t *testing.T, adminKey, uid string) string {
	t.Helper()
	var u userStatus
	if st := g.api(t, adminKey, http.MethodGet, "/v1/users/"+uid, "", &u); st != http.StatusOK {
		t.Fatalf("GET user %s: %d", uid, st)
	}
	if u.Status.ActivationLink == nil {
		return ""
	}
	return *u.Status.ActivationLink
}

// linkToken is the token of a console activation link (/console/#/activate/<token>).
func linkToken(t *testing.T, link string) string {
	t.Helper()
	token, ok := strings.CutPrefix(link, "/console/#/activate/")
	if !ok || token == "" {
		t.Fatalf("activation link %q is not the console's page for a token", link)
	}
	return token
}

// activate sets a password with a link token, as Palette's v1PasswordActivate does.
func (g *gateway) activate(t *testing.T, token, password string) (int, string) {
	t.Helper()
	res, body := g.call(t, http.MethodPatch, "/v1/auth/password/"+token+"/activate", nil, fmt.Sprintf(`{"password":%q}`, password))
	return res.StatusCode, body
}

// loginStatus is the status of a password login.
func (g *gateway) loginStatus(t *testing.T, email, password string) int {
	t.Helper()
	res, _, _ := g.login(t, "", fmt.Sprintf(`{"emailId":%q,"password":%q}`, email, password), nil)
	return res.StatusCode
}

// tokenWorks reports whether a token still authenticates a proxied request.
func (g *gateway) tokenWorks(token string, t *testing.T) bool {
	return g.do(t, "/", map[string]string{"Authorization": token}).status == http.StatusOK
}

func TestOrganisationDiscoveryNeedsNoCredentialAndNamesNoTenant(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	known, unknown := map[string]any{}, map[string]any{}
	for name, out := range map[string]map[string]any{"acme": known, "no-such-org": unknown} {
		res, body := g.call(t, http.MethodGet, "/v1/auth/org?orgName="+name, nil, "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET auth/org?orgName=%s: %d %s", name, res.StatusCode, body)
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
	}
	if known["orgName"] != "acme" || known["authType"] != "password" || fmt.Sprint(known["ssoLogins"]) != "[]" || known["redirectUrl"] != "" {
		t.Errorf("acme: %v, want a password organisation with no SSO logins", known)
	}
	// An unknown name is answered as a known one: names cannot be probed.
	unknown["orgName"] = "acme"
	if fmt.Sprint(unknown) != fmt.Sprint(known) {
		t.Errorf("an unknown organisation answers %v, a known one %v", unknown, known)
	}

	// The list: none without a credential, the caller's with one, 401 for a bad one.
	orgs := func(header map[string]string) (int, []string) {
		res, body := g.call(t, http.MethodGet, "/v1/auth/orgs", header, "")
		var ans struct {
			Organizations []struct {
				Name     string `json:"name"`
				AuthType string `json:"authType"`
			} `json:"organizations"`
		}
		_ = json.Unmarshal([]byte(body), &ans)
		var names []string
		for _, o := range ans.Organizations {
			names = append(names, o.Name+":"+o.AuthType)
		}
		if res.StatusCode == http.StatusOK && ans.Organizations == nil {
			t.Errorf("orgs answer %s has no organizations list", body)
		}
		return res.StatusCode, names
	}
	if st, names := orgs(nil); st != http.StatusOK || len(names) != 0 {
		t.Errorf("anonymous: %d %v, want 200 and no organisation", st, names)
	}
	if _, err := g.admin.CreateTenant(context.Background(), "beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.admin.CreateUser(context.Background(), manage.NewUser{TenantName: "beta", Email: s.user.Email, Role: storage.RoleUser}); err != nil {
		t.Fatal(err)
	}
	if st, names := orgs(map[string]string{"ApiKey": s.userKey}); st != http.StatusOK || strings.Join(names, ",") != "acme:password,beta:password" {
		t.Errorf("with dev@acme.test's key: %d %v, want acme and beta", st, names)
	}
	if st, _ := orgs(map[string]string{"ApiKey": s.userKey + "x"}); st != http.StatusUnauthorized {
		t.Errorf("a bad key: %d, want 401", st)
	}
}

func TestACreatedUsersActivationLinkWorksOnceAndOnlyAdminsSeeIt(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	var created struct {
		UID string `json:"uid"`
	}
	body := `{"metadata":{"name":"new@acme.test"},"spec":{"emailId":"new@acme.test","firstName":"New","lastName":"User","role":"user"}}`
	if st := g.api(t, adminKey, http.MethodPost, "/v1/users", body, &created); st != http.StatusCreated {
		t.Fatalf("POST users: %d", st)
	}
	link := g.activationLink(t, adminKey, created.UID)
	token := linkToken(t, link)
	var list struct {
		Items []userStatus `json:"items"`
	}
	g.api(t, adminKey, http.MethodGet, "/v1/users", "", &list)
	shown := 0
	for _, u := range list.Items {
		if u.Status.ActivationLink != nil {
			shown++
			if u.Metadata.UID != created.UID || *u.Status.ActivationLink != link {
				t.Errorf("the list shows link %q for %s", *u.Status.ActivationLink, u.Metadata.UID)
			}
		}
	}
	if shown != 1 {
		t.Errorf("the list shows %d links, want the new user's", shown)
	}
	// The user themself is not shown links (nor is any non-admin).
	var me userStatus
	g.api(t, s.userKey, http.MethodGet, "/v1/users/me", "", &me)
	if me.Status.ActivationLink != nil {
		t.Errorf("a user's own read shows a link")
	}

	if st, body := g.activate(t, token, "short"); st != http.StatusBadRequest {
		t.Errorf("a short password: %d %s, want 400", st, body)
	}
	if st, body := g.activate(t, token, "chosen-password-1"); st != http.StatusNoContent {
		t.Fatalf("activation: %d %s", st, body)
	}
	if st := g.loginStatus(t, "new@acme.test", "chosen-password-1"); st != http.StatusOK {
		t.Errorf("login with the activated password: %d", st)
	}
	if st, body := g.activate(t, token, "chosen-password-2"); st != http.StatusNotFound || !strings.Contains(body, `"ResourceNotFound"`) {
		t.Errorf("the link used again: %d %s, want 404", st, body)
	}
	if g.activationLink(t, adminKey, created.UID) != "" {
		t.Error("a used link is still shown")
	}
	if st := g.loginStatus(t, "new@acme.test", "chosen-password-2"); st != http.StatusUnauthorized {
		t.Errorf("the second use set the password: login %d", st)
	}
}

func TestAnAdminsResetLinkEndsSessionsAndExpiresAfterADay(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	ann := g.passwordUser(t, "ann@acme.test", "old-password-1")
	_, annToken, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"old-password-1"}`, nil)

	reset := "/v1/users/" + ann.UID + "/password/reset"
	if st := g.api(t, s.userKey, http.MethodPatch, reset, "", nil); st != http.StatusForbidden {
		t.Errorf("a user starting a reset: %d, want 403", st)
	}
	if st := g.api(t, g.otherTenantAdminKey(t), http.MethodPatch, reset, "", nil); st != http.StatusNotFound {
		t.Errorf("another tenant's admin starting a reset: %d, want 404", st)
	}
	if st := g.api(t, adminKey, http.MethodPatch, reset, "", nil); st != http.StatusNoContent {
		t.Fatalf("PATCH %s: %d", reset, st)
	}
	// Until the link is used, the old password and its sessions go on.
	if st := g.loginStatus(t, "ann@acme.test", "old-password-1"); st != http.StatusOK || !g.tokenWorks(annToken, t) {
		t.Fatalf("after the reset started: login %d, token works %v", st, g.tokenWorks(annToken, t))
	}
	token := linkToken(t, g.activationLink(t, adminKey, ann.UID))
	if st, body := g.activate(t, token, "new-password-1"); st != http.StatusNoContent {
		t.Fatalf("activation: %d %s", st, body)
	}
	eventually(t, "ann's token refused after the activation", func() bool { return !g.tokenWorks(annToken, t) })
	if old, now := g.loginStatus(t, "ann@acme.test", "old-password-1"), g.loginStatus(t, "ann@acme.test", "new-password-1"); old != http.StatusUnauthorized || now != http.StatusOK {
		t.Errorf("after the activation: old password %d, new %d", old, now)
	}

	// A link older than a day is shown no more and refused (the store fixture ages it).
	if st := g.api(t, adminKey, http.MethodPatch, reset, "", nil); st != http.StatusNoContent {
		t.Fatal(st)
	}
	token = linkToken(t, g.activationLink(t, adminKey, ann.UID))
	ageLinks(t, g.dbPath, manage.ActivationLifetime)
	if link := g.activationLink(t, adminKey, ann.UID); link != "" {
		t.Errorf("an expired link is shown: %q", link)
	}
	if st, body := g.activate(t, token, "late-password-1"); st != http.StatusNotFound {
		t.Errorf("an expired link: %d %s, want 404", st, body)
	}
	if st := g.loginStatus(t, "ann@acme.test", "new-password-1"); st != http.StatusOK {
		t.Errorf("the expired link changed the password: login %d", st)
	}
}

// ageLinks moves every pending password link's creation and expiry back by d, in the
// gateway's SQLite file, as if d had passed.
func ageLinks(t *testing.T, dbPath string, d time.Duration) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms := d.Milliseconds()
	if _, err := db.Exec("UPDATE password_tokens SET created_at = created_at - ?, expires_at = expires_at - ?", ms, ms); err != nil {
		t.Fatal(err)
	}
}

func TestAPasswordChangeByEmailAnswersUnknownAndWrongAlikeAndEndsSessions(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "old-password-1")
	_, annToken, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"old-password-1"}`, nil)
	change := func(email, current string) (int, string) {
		res, body := g.call(t, http.MethodPatch, "/v1/users/password/change", nil,
			fmt.Sprintf(`{"emailId":%q,"currentPassword":%q,"newPassword":"new-password-1"}`, email, current))
		return res.StatusCode, body
	}
	unknownStatus, unknownBody := change("nobody@acme.test", "old-password-1")
	wrongStatus, wrongBody := change("ann@acme.test", "wrong-password")
	if unknownStatus != http.StatusUnauthorized || wrongStatus != unknownStatus || errorCodeAndMessage(unknownBody) != errorCodeAndMessage(wrongBody) {
		t.Errorf("unknown email: %d %s; wrong password: %d %s; want the same 401", unknownStatus, unknownBody, wrongStatus, wrongBody)
	}
	// A new password that is too short is refused before the current one is checked, and
	// is no guess: six of them do not block the account.
	for range 6 {
		res, body := g.call(t, http.MethodPatch, "/v1/users/password/change", nil, `{"emailId":"ann@acme.test","currentPassword":"old-password-1","newPassword":"short"}`)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("a short new password: %d %s, want 400", res.StatusCode, body)
		}
	}
	if st, body := change("ann@acme.test", "old-password-1"); st != http.StatusNoContent {
		t.Fatalf("the change: %d %s", st, body)
	}
	eventually(t, "ann's token refused after the change", func() bool { return !g.tokenWorks(annToken, t) })
	if st := g.loginStatus(t, "ann@acme.test", "new-password-1"); st != http.StatusOK {
		t.Errorf("login with the new password: %d", st)
	}
	// Guesses count like failed logins: the account is blocked after the login limit.
	statuses := map[int]int{}
	for range 6 {
		st, _ := change("ann@acme.test", "guess")
		statuses[st]++
	}
	if statuses[http.StatusTooManyRequests] == 0 || statuses[http.StatusUnauthorized] > 5 {
		t.Errorf("six wrong guesses answered %v, want 429 after five", statuses)
	}
	if st := g.loginStatus(t, "ann@acme.test", "new-password-1"); st != http.StatusTooManyRequests {
		t.Errorf("a login of the account the guesses blocked: %d, want 429", st)
	}
}

// errorCodeAndMessage is an error body without its ref, which differs per request.
func errorCodeAndMessage(body string) string {
	var e struct{ Code, Message string }
	_ = json.Unmarshal([]byte(body), &e)
	return e.Code + ": " + e.Message
}

func TestUsersChangeTheirOwnPasswordWithTheCurrentOne(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	ann := g.passwordUser(t, "ann@acme.test", "old-password-1")
	_, annToken, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"old-password-1"}`, nil)
	path := "/v1/users/" + ann.UID + "/password/change"
	auth := map[string]string{"Authorization": annToken}
	send := func(header map[string]string, p, current string) int {
		res, _ := g.call(t, http.MethodPatch, p, header, fmt.Sprintf(`{"currentPassword":%q,"newPassword":"new-password-1"}`, current))
		return res.StatusCode
	}
	if st := send(auth, path, "wrong-password"); st != http.StatusUnauthorized {
		t.Errorf("a wrong current password: %d, want 401", st)
	}
	if st := send(map[string]string{"ApiKey": s.userKey}, path, "old-password-1"); st != http.StatusNotFound {
		t.Errorf("another user's password by a user: %d, want 404", st)
	}
	if st := send(map[string]string{"ApiKey": adminKey}, path, "old-password-1"); st != http.StatusForbidden {
		t.Errorf("another user's password by an admin: %d, want 403", st)
	}
	if st := send(auth, path, "old-password-1"); st != http.StatusNoContent {
		t.Fatalf("the change: %d", st)
	}
	eventually(t, "the session ended by the change", func() bool { return !g.tokenWorks(annToken, t) })
	if st := g.loginStatus(t, "ann@acme.test", "new-password-1"); st != http.StatusOK {
		t.Errorf("login with the new password: %d", st)
	}
}

func TestAResetRequestAnswersAlikeForEveryEmailAndIsThrottled(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	request := func(email string) (int, string) {
		res, body := g.call(t, http.MethodPost, "/v1/auth/user/password/reset", nil, fmt.Sprintf(`{"emailId":%q}`, email))
		return res.StatusCode, body
	}
	knownStatus, knownBody := request(s.user.Email)
	unknownStatus, unknownBody := request("nobody@acme.test")
	if knownStatus != http.StatusNoContent || unknownStatus != knownStatus || knownBody != unknownBody {
		t.Fatalf("known email: %d %q; unknown: %d %q; want the same 204", knownStatus, knownBody, unknownStatus, unknownBody)
	}
	// The known user's admins are shown a link (made after the answer).
	eventually(t, "the requested link shown to the admin", func() bool { return g.activationLink(t, adminKey, s.user.UID) != "" })
	link := g.activationLink(t, adminKey, s.user.UID)
	request(s.user.Email)
	if again := g.activationLink(t, adminKey, s.user.UID); again != link {
		t.Errorf("asking again replaced the pending link")
	}
	statuses := map[int]int{}
	for range 20 {
		st, _ := request("nobody@acme.test")
		statuses[st]++
	}
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Errorf("23 requests from one client answered %v, want 429 once past the client limit", statuses)
	}
}

// tokenLifetime is how long a token was issued for (exp - iat).
func tokenLifetime(t *testing.T, token string) time.Duration {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Iat, Exp int64 }
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return time.Duration(c.Exp-c.Iat) * time.Second
}

func TestATenantsTokenSettingsSetItsTokensLifetime(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	g.passwordUser(t, "ann@acme.test", "ann-password-1")
	path := "/v1/tenants/" + s.tenant.UID + "/authTokenSettings"
	var got struct {
		ExpiryTimeMinutes *int `json:"expiryTimeMinutes"`
	}
	if st := g.api(t, adminKey, http.MethodGet, path, "", &got); st != http.StatusOK || got.ExpiryTimeMinutes == nil || *got.ExpiryTimeMinutes != 15 {
		t.Fatalf("GET %s: %d %v, want the gateway's 15 minutes", path, st, got.ExpiryTimeMinutes)
	}
	for body, want := range map[string]int{`{"expiryTimeMinutes":10}`: 400, `{"expiryTimeMinutes":1441}`: 400, `{}`: 400} {
		if st := g.api(t, adminKey, http.MethodPut, path, body, nil); st != want {
			t.Errorf("PUT %s: %d, want %d", body, st, want)
		}
	}
	if st := g.api(t, s.userKey, http.MethodPut, path, `{"expiryTimeMinutes":60}`, nil); st != http.StatusForbidden {
		t.Errorf("a user's PUT: %d, want 403", st)
	}
	if st := g.api(t, g.otherTenantAdminKey(t), http.MethodGet, path, "", nil); st != http.StatusNotFound {
		t.Errorf("another tenant's admin: %d, want 404", st)
	}
	if st := g.api(t, adminKey, http.MethodPut, path, `{"expiryTimeMinutes":60}`, nil); st != http.StatusNoContent {
		t.Fatalf("PUT 60: %d", st)
	}
	if st := g.api(t, adminKey, http.MethodGet, path, "", &got); st != http.StatusOK || *got.ExpiryTimeMinutes != 60 {
		t.Errorf("GET after the PUT: %d %d", st, *got.ExpiryTimeMinutes)
	}
	res, token, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"ann-password-1"}`, nil)
	// JWT times are whole seconds, and the expiry is rounded up: an hour and up to a second.
	anHour := func(d time.Duration) bool { return d >= time.Hour && d <= time.Hour+time.Second }
	if res.StatusCode != http.StatusOK || !anHour(tokenLifetime(t, token)) {
		t.Fatalf("a login after the PUT: %d, a token for %v; want an hour", res.StatusCode, tokenLifetime(t, token))
	}
	if !g.tokenWorks(token, t) {
		t.Error("the hour-long token is refused")
	}
	st, refreshed, _ := g.refresh(t, token)
	if st != http.StatusOK || !anHour(tokenLifetime(t, refreshed)) {
		t.Errorf("refresh: %d, a token for %v; want an hour", st, tokenLifetime(t, refreshed))
	}
}
