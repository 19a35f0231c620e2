package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/keygate/keygate/storage"
)

// ssoSetup is a gateway whose tenant acme signs in through a real OpenID Provider, with
// a team "ops" that holds a project role in acme's project.
type ssoSetup struct {
	g        *gateway
	s        seed
	idp      *testIdP
	adminKey string
	opsTeam  string
}

func startSSO(t *testing.T) ssoSetup {
	t.Helper()
	g := startGateway(t, "")
	s := g.seed(t)
	x := ssoSetup{g: g, s: s, adminKey: g.mustKey(t, s.admin, "30d").Key}
	x.idp = startIdP(t, g.url+"/v1/auth/org/acme/oidc/callback")
	x.opsTeam = g.mustTeam(t, x.adminKey, "ops", nil, nil)
	grant := fmt.Sprintf(`{"teams":[{"teamId":%q,"roles":[%q]}]}`, x.opsTeam, storage.RoleUIDProjectViewer)
	if code := g.api(t, x.adminKey, "PUT", "/v1/projects/"+s.project.UID+"/teams", grant, nil); code != http.StatusNoContent {
		t.Fatalf("PUT project teams = %d", code)
	}
	x.configure(t, `"linkExistingUsers":false`)
	return x
}

// configure sets acme's OIDC configuration through Palette's endpoint, with extra
// fields.
func (x ssoSetup) configure(t *testing.T, extra string) {
	t.Helper()
	body := fmt.Sprintf(`{"issuerUrl":%q,"clientId":%q,"clientSecret":%q,"isSsoEnabled":true,"scopes":["openid","email","profile"],
		"requiredClaims":{"SpectroTeam":"groups"},%s}`, x.idp.issuer, x.idp.clientID, x.idp.secret, extra)
	if res, raw := x.g.call(t, "POST", "/v1/tenants/"+x.s.tenant.UID+"/oidc/config", map[string]string{"ApiKey": x.adminKey}, body); res.StatusCode != http.StatusNoContent {
		t.Fatalf("POST oidc/config = %d %s", res.StatusCode, raw)
	}
}

// signIn signs u in through the provider and returns the token, failing unless the
// gateway answers 200 with Palette's v1UserToken.
func (x ssoSetup) signIn(t *testing.T, u idpUser) string {
	t.Helper()
	a := newSSOAgent(t, x.g, x.idp)
	res, body := a.callback(a.callbackURL("acme", u, ""))
	var tok struct {
		Authorization string `json:"Authorization"`
		IsMfa         *bool  `json:"isMfa"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.Authorization == "" || tok.IsMfa == nil {
		t.Fatalf("sign-in as %s = %d %s, want 200 with a v1UserToken", u.username, res.StatusCode, body)
	}
	return tok.Authorization
}

// userInfo is Palette's users/info for a token.
func (x ssoSetup) userInfo(t *testing.T, token string) (info struct{ OrgName, TenantUID, UserUID string }) {
	t.Helper()
	res, raw := x.g.call(t, "GET", "/v1/users/info", map[string]string{"Authorization": token}, "")
	if res.StatusCode != 200 || json.Unmarshal([]byte(raw), &info) != nil {
		t.Fatalf("users/info = %d %s", res.StatusCode, raw)
	}
	return info
}

// refusedSignIn checks that the callback's answer is a 401/403 JSON error with the code.
func refusedSignIn(t *testing.T, what string, res *http.Response, body string, status int, code string) {
	t.Helper()
	var e struct{ Code, Message string }
	if res.StatusCode != status || json.Unmarshal([]byte(body), &e) != nil || e.Code != code {
		t.Errorf("%s: %d %s, want %d %s", what, res.StatusCode, body, status, code)
	}
	if strings.Contains(body, "s3cret") {
		t.Errorf("%s: the answer holds the client secret: %s", what, body)
	}
}

// The "done when": a user signs in through the organisation's provider; the
// groups the provider names give them a team's project role, which lets a key of theirs
// pass ProjectUid; removing the group at the provider removes that access at their next
// sign-in. Their first sign-in created them; every change is audited with the provider
// as actor.
func TestSSOGroupsGiveAndTakeProjectAccess(t *testing.T) {
	x := startSSO(t)
	g := x.g

	var org struct {
		AuthType    string `json:"authType"`
		RedirectURL string `json:"redirectUrl"`
		SSOLogins   []struct {
			Name, DisplayName, RedirectURI string
		} `json:"ssoLogins"`
	}
	res, raw := g.call(t, "GET", "/v1/auth/org?orgName=acme", nil, "")
	if json.Unmarshal([]byte(raw), &org); res.StatusCode != 200 || org.AuthType != "sso" || len(org.SSOLogins) != 1 ||
		org.SSOLogins[0].RedirectURI != "/v1/auth/org/acme/oidc/login" || org.RedirectURL != org.SSOLogins[0].RedirectURI {
		t.Fatalf("GET /v1/auth/org = %d %s, want authType sso with the login's start", res.StatusCode, raw)
	}

	x.idp.setGroups(idpAnn, "ops", "not-a-team")
	token := x.signIn(t, idpAnn)
	info := x.userInfo(t, token)
	if info.TenantUID != x.s.tenant.UID {
		t.Fatalf("users/info with the SSO token = %+v", info)
	}
	ann, err := g.store.UserByUID(t.Context(), info.UserUID)
	if err != nil || ann.Email != idpAnn.email || ann.PasswordHash != "" || ann.FirstName != "Ann" || ann.LastName != "Tester" {
		t.Fatalf("the signed-in user = %+v, %v; want ann, created by the sign-in without a password", ann, err)
	}
	if len(ann.Teams) != 1 || ann.Teams[0] != x.opsTeam {
		t.Errorf("ann's teams = %v, want only ops (not-a-team is no team, and syncSsoTeams is off)", ann.Teams)
	}

	var made struct {
		APIKey string `json:"apiKey"`
	}
	res, raw = g.call(t, "POST", "/v1/apiKeys", map[string]string{"Authorization": token}, keyBody("ann's key", "expiryPreset", "7d", ""))
	if json.Unmarshal([]byte(raw), &made); res.StatusCode != http.StatusCreated || made.APIKey == "" {
		t.Fatalf("ann creating a key = %d %s", res.StatusCode, raw)
	}
	key := map[string]string{"ApiKey": made.APIKey}
	if code, roles := g.projectGate(t, key, x.s.project.UID); code != 200 || roles != "Project Viewer" {
		t.Fatalf("ann's key with ProjectUid = %d %q, want 200 with the team's Project Viewer", code, roles)
	}

	x.idp.setGroups(idpAnn) // removed from the group at the provider
	x.signIn(t, idpAnn)
	if code, _ := g.projectGate(t, key, x.s.project.UID); code != 403 {
		t.Errorf("ann's key with ProjectUid after the group was removed = %d, want 403", code)
	}
	x.idp.setGroups(idpAnn, "ops")
	x.signIn(t, idpAnn)
	if code, _ := g.projectGate(t, key, x.s.project.UID); code != 200 {
		t.Errorf("ann's key with ProjectUid after the group came back = %d, want 200", code)
	}
	actions := g.auditActions(t, x.adminKey)
	for _, want := range []string{"user.create", "user.sso_signin", "login.success"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit %v lacks %s", actions, want)
		}
	}
}

// Every way a sign-in can be forged, replayed or misissued is refused with a clear
// error, and none of them signs anyone in.
func TestSSORefusesForgedReplayedAndMisissuedSignIns(t *testing.T) {
	x := startSSO(t)
	g := x.g

	t.Run("wrong state", func(t *testing.T) {
		a := newSSOAgent(t, g, x.idp)
		cb, _ := url.Parse(a.callbackURL("acme", idpAnn, ""))
		q := cb.Query()
		q.Set("state", "forged")
		cb.RawQuery = q.Encode()
		res, body := a.callback(cb.String())
		refusedSignIn(t, "a callback with another state", res, body, 401, "SSOFailed")
	})
	t.Run("no flow cookie", func(t *testing.T) {
		a := newSSOAgent(t, g, x.idp)
		cb := a.callbackURL("acme", idpAnn, "")
		a.client.Jar, _ = cookiejar.New(nil) // another browser
		res, body := a.callback(cb)
		refusedSignIn(t, "a callback from another browser", res, body, 401, "SSOFailed")
	})
	t.Run("replayed code", func(t *testing.T) {
		a := newSSOAgent(t, g, x.idp)
		cb := a.callbackURL("acme", idpAnn, "")
		if res, body := a.callback(cb); res.StatusCode != 200 {
			t.Fatalf("first use = %d %s", res.StatusCode, body)
		}
		res, body := a.callback(cb)
		refusedSignIn(t, "the same code again", res, body, 401, "SSOFailed")
	})
	t.Run("wrong nonce", func(t *testing.T) {
		a := newSSOAgent(t, g, x.idp)
		a.nonceTo = "a-nonce-of-another-sign-in"
		res, body := a.callback(a.callbackURL("acme", idpAnn, ""))
		refusedSignIn(t, "an ID token with another nonce", res, body, 401, "SSOFailed")
	})
	t.Run("code for another client", func(t *testing.T) {
		a := newSSOAgent(t, g, x.idp)
		a.clientTo = otherClient // the sign-in, state and nonce Keygate's; the code another app's
		res, body := a.callback(a.callbackURL("acme", idpAnn, ""))
		refusedSignIn(t, "a code issued to another client", res, body, 401, "SSOFailed")
	})
	t.Run("expired ID token", func(t *testing.T) {
		x.idp.set(func(i *testIdP) { i.expiredID = true })
		defer x.idp.set(func(i *testIdP) { i.expiredID = false })
		a := newSSOAgent(t, g, x.idp)
		res, body := a.callback(a.callbackURL("acme", idpAnn, ""))
		refusedSignIn(t, "an expired ID token", res, body, 401, "SSOFailed")
	})
	t.Run("unverified email", func(t *testing.T) {
		a := newSSOAgent(t, g, x.idp)
		res, body := a.callback(a.callbackURL("acme", idpBob, ""))
		refusedSignIn(t, "email_verified false", res, body, 401, "SSOFailed")
		if !strings.Contains(body, "verified") {
			t.Errorf("the refusal does not say why: %s", body)
		}
		if users, _ := g.store.UsersByEmail(t.Context(), idpBob.email); len(users) != 0 {
			t.Errorf("an unverified sign-in created %v", users)
		}
	})
	t.Run("provider error", func(t *testing.T) {
		a := newSSOAgent(t, g, x.idp)
		cb, _ := url.Parse(a.callbackURL("acme", idpAnn, ""))
		cb.RawQuery = url.Values{"error": {"access_denied"}, "error_description": {"<script>"}, "state": {cb.Query().Get("state")}}.Encode()
		res, body := a.callback(cb.String())
		refusedSignIn(t, "the provider's error", res, body, 401, "SSOFailed")
		if strings.Contains(body, "script") {
			t.Errorf("the refusal repeats the provider's free text: %s", body)
		}
	})
}

// A user who has an account already (made by an admin, with a password) is signed in by
// SSO only when the tenant allows linking; then the sign-in is theirs, and stays so.
func TestSSOLinksAnExistingUserOnlyWhenAllowed(t *testing.T) {
	x := startSSO(t)
	a := newSSOAgent(t, x.g, x.idp)
	res, body := a.callback(a.callbackURL("acme", idpDev, ""))
	refusedSignIn(t, "an existing user's email, linking off", res, body, 403, "SSOLinkRefused")

	x.configure(t, `"linkExistingUsers":true`)
	token := x.signIn(t, idpDev)
	if info := x.userInfo(t, token); info.UserUID != x.s.user.UID {
		t.Fatalf("the linked sign-in is user %q, want the existing %q", info.UserUID, x.s.user.UID)
	}
	x.configure(t, `"linkExistingUsers":false`)
	x.signIn(t, idpDev) // linked now: found by the provider's subject, not the email

	if err := x.g.admin.SetUserDisabled(t.Context(), x.s.user, true); err != nil {
		t.Fatal(err)
	}
	res, body = a.callback(a.callbackURL("acme", idpDev, ""))
	refusedSignIn(t, "a disabled user", res, body, 403, "SSOUserDisabled")
}

// The client secret is write-only: never returned, stored sealed; a POST without one
// keeps it. Only the tenant's admins read or change the configuration.
func TestOIDCConfigKeepsItsSecret(t *testing.T) {
	x := startSSO(t)
	g := x.g
	path := "/v1/tenants/" + x.s.tenant.UID + "/oidc/config"
	var spec map[string]any
	res, raw := g.call(t, "GET", path, map[string]string{"ApiKey": x.adminKey}, "")
	if json.Unmarshal([]byte(raw), &spec); res.StatusCode != 200 || spec["clientSecret"] != "" || spec["hasClientSecret"] != true ||
		spec["issuerUrl"] != x.idp.issuer || spec["isSsoEnabled"] != true {
		t.Fatalf("GET oidc/config = %d %s", res.StatusCode, raw)
	}
	stored, err := g.store.OIDCConfig(t.Context(), x.s.tenant.UID)
	if err != nil || len(stored.SealedSecret) == 0 || strings.Contains(string(stored.SealedSecret), x.idp.secret) {
		t.Fatalf("the stored secret = %q, %v; want it sealed", stored.SealedSecret, err)
	}
	// What a GET returned, posted back, keeps the secret: sign-in still works.
	res, raw = g.call(t, "POST", path, map[string]string{"ApiKey": x.adminKey}, raw)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("POST of the GET's answer = %d %s", res.StatusCode, raw)
	}
	x.signIn(t, idpAnn)

	if code := g.api(t, x.s.userKey, "GET", path, "", nil); code != http.StatusForbidden {
		t.Errorf("a user reading the config = %d, want 403", code)
	}
	for _, bad := range []string{
		`{"issuerUrl":"http://idp.example","clientId":"c","isSsoEnabled":true}`,
		`{"issuerUrl":"https://idp.example","isSsoEnabled":true}`,
		`{"issuerUrl":"https://idp.example","clientId":"c","defaultTeams":["no-such-team"]}`,
		`{"issuerUrl":"https://idp.example","clientId":"c","issuerTls":{"caCertificateBase64":"%%%"}}`,
	} {
		if code := g.api(t, x.adminKey, "POST", path, bad, nil); code != 400 && code != 404 {
			t.Errorf("POST %s = %d, want 400 or 404", bad, code)
		}
	}
}

// The console's sign-in: the callback sets the console's cookie and opens the console.
func TestSSOForTheConsoleSetsItsCookie(t *testing.T) {
	x := startSSO(t)
	a := newSSOAgent(t, x.g, x.idp)
	res, _ := a.callback(a.callbackURL("acme", idpAnn, "?console=true"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/" {
		t.Fatalf("console callback = %d to %q, want 303 to /console/", res.StatusCode, res.Header.Get("Location"))
	}
	var token string
	for _, c := range res.Cookies() {
		if c.Name == "Authorization" && c.HttpOnly && c.Secure {
			token = c.Value
		}
	}
	if r := x.g.do(t, "/", map[string]string{"Authorization": token}); token == "" || r.status != 200 {
		t.Fatalf("the console's cookie %q does not authenticate: %d", token, r.status)
	}
	res, _ = a.callback(a.callbackURL("acme", idpBob, "?console=true"))
	if to := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.Contains(to, "ssoError=") {
		t.Errorf("a refused console sign-in = %d to %q, want the console with the reason", res.StatusCode, to)
	}
}

// An operator who configures by file sets an organisation's sign-in in the Caddyfile:
// it works as one set through the API, its secret from the environment, and the API
// shows it read-only.
func TestSSOConfiguredInTheCaddyfile(t *testing.T) {
	idp := startIdP(t, "http://127.0.0.1:*/v1/auth/org/acme/oidc/callback")
	t.Setenv("ACME_OIDC_SECRET", idp.secret)
	g := startGatewayWith(t, fmt.Sprintf(`sso acme {
			issuer %s
			client_id %s
			client_secret {env.ACME_OIDC_SECRET}
			scopes openid email profile
			teams_claim groups
		}`, idp.issuer, idp.clientID), "")
	s := g.seed(t)
	x := ssoSetup{g: g, s: s, idp: idp, adminKey: g.mustKey(t, s.admin, "30d").Key}
	if info := x.userInfo(t, x.signIn(t, idpAnn)); info.TenantUID != s.tenant.UID {
		t.Fatalf("the file-configured sign-in is in tenant %q, want acme's", info.TenantUID)
	}
	path := "/v1/tenants/" + s.tenant.UID + "/oidc/config"
	var spec map[string]any
	res, raw := g.call(t, "GET", path, map[string]string{"ApiKey": x.adminKey}, "")
	if json.Unmarshal([]byte(raw), &spec); res.StatusCode != 200 || spec["readOnly"] != true || spec["clientSecret"] != "" || spec["issuerUrl"] != idp.issuer {
		t.Fatalf("GET oidc/config of a file-configured organisation = %d %s", res.StatusCode, raw)
	}
	if strings.Contains(raw, idp.secret) {
		t.Fatalf("the API shows the file's client secret: %s", raw)
	}
	if code := g.api(t, x.adminKey, "POST", path, `{"issuerUrl":"https://idp.example","clientId":"c"}`, nil); code != http.StatusConflict {
		t.Errorf("POST oidc/config of a file-configured organisation = %d, want 409", code)
	}
}

// The Caddyfile's sso blocks are checked as they are read, with messages that name
// what is wrong.
func TestCaddyfileSSOErrors(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{"sso acme {\n\t\t\tclient_id k\n\t\t}", "issuer"},
		{"sso acme {\n\t\t\tissuer https://idp.example\n\t\t}", "client_id is required"},
		{"sso acme {\n\t\t\tissuer https://idp.example\n\t\t\tclient_id k\n\t\t\tcolour blue\n\t\t}", `unknown sso setting "colour"`},
		{"sso {\n\t\t\tissuer https://idp.example\n\t\t}", "organization's name"},
	} {
		src := "{\n\tkeygate {\n\t\t" + tc.block + "\n\t}\n}\n:8080 {\n\tkeygate\n}\n"
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.block, err, tc.want)
		}
	}
}

// Signing out of an SSO session ends Keygate's session and sends the browser on to the
// provider's end-session endpoint, to come back to the tenant's logoutUrl.
func TestSSOLogoutEndsBothSessions(t *testing.T) {
	x := startSSO(t)
	x.configure(t, `"logoutUrl":"https://app.example/signed-out"`)
	token := x.signIn(t, idpAnn)
	req, _ := http.NewRequest("GET", x.g.url+"/v1/auth/org/acme/oidc/logout", nil)
	req.Header.Set("Authorization", token)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Do(withTest(req, t))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	to, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to.String(), x.idp.issuer) ||
		to.Query().Get("client_id") != x.idp.clientID || to.Query().Get("post_logout_redirect_uri") != "https://app.example/signed-out" {
		t.Fatalf("logout = %d to %q, want 303 to the provider's end-session endpoint", res.StatusCode, to)
	}
	if r := x.g.do(t, "/", map[string]string{"Authorization": token}); r.status != http.StatusUnauthorized {
		t.Errorf("the token after the logout = %d, want 401", r.status)
	}
}
