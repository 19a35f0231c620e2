package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

type tokenAnswer struct {
	Authorization string `json:"Authorization"`
	IsMfa         *bool  `json:"isMfa"`
}

func (g *gateway) passwordUser(t testing.TB, email, password string) storage.User {
	t.Helper()
	u, err := g.admin.CreateUser(context.Background(), manage.NewUser{TenantName: "acme", Email: email, Role: storage.RoleUser, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// login posts credentials and returns the status and, on success, the token.
func (g *gateway) login(t testing.TB, query, body string, header map[string]string) (*http.Response, string, string) {
	t.Helper()
	res, raw := g.call(t, http.MethodPost, "/v1/auth/authenticate"+query, header, body)
	var ans tokenAnswer
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(raw), &ans); err != nil || ans.Authorization == "" || ans.IsMfa == nil || *ans.IsMfa {
			t.Fatalf("login answer %q does not match the contract", raw)
		}
	}
	return res, ans.Authorization, raw
}

func TestLoginByPasswordAndByKeyGivesTokensThatCarryIdentity(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	u := g.passwordUser(t, "ann@acme.test", "pw-ann-123")

	res, byPassword, body := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123","org":"acme"}`, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("password login: %d %s", res.StatusCode, body)
	}
	res, byKey, body := g.login(t, "", "", map[string]string{"ApiKey": s.userKey})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("API key login: %d %s", res.StatusCode, body)
	}

	for name, tc := range map[string]struct{ header, user string }{
		"raw":    {byPassword, u.UID},
		"bearer": {"Bearer " + byKey, s.user.UID},
	} {
		r := g.do(t, "/", map[string]string{"Authorization": tc.header})
		if r.status != http.StatusOK {
			t.Fatalf("%s token: %d %s", name, r.status, r.body)
		}
		if r.echo.Header.Get("X-User-Uid") != tc.user || r.echo.Header.Get("X-Auth-Method") != "token" {
			t.Errorf("%s token: upstream identity %v", name, r.echo.Header)
		}
		if r.echo.Header.Get("Authorization") != "" {
			t.Errorf("%s token: the Authorization header reached upstream", name)
		}
	}

	res, info := g.call(t, http.MethodGet, "/v1/users/info", map[string]string{"Authorization": byPassword}, "")
	want := `{"orgName":"acme","tenantUid":"` + s.tenant.UID + `","userUid":"` + u.UID + `"}`
	if res.StatusCode != http.StatusOK || strings.TrimSpace(info) != want {
		t.Fatalf("users/info: %d %s, want %s", res.StatusCode, info, want)
	}
}

func TestLoginWithSetCookieMakesACookieCredential(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	res, token, _ := g.login(t, "?setCookie=true", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "Authorization" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != token || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v, want HttpOnly, Secure, SameSite=Strict holding the token", cookie)
	}
	r := g.do(t, "/", map[string]string{"Cookie": "theme=dark; Authorization=" + token})
	if r.status != http.StatusOK || r.echo.Header.Get("X-Auth-Method") != "token" {
		t.Fatalf("cookie credential: %d %s", r.status, r.body)
	}
	if got := r.echo.Header.Get("Cookie"); got != "theme=dark" {
		t.Fatalf("upstream got Cookie %q, want only the other cookie", got)
	}

	// A state-changing request authenticated only by the cookie needs X-Requested-With,
	// which a cross-site form cannot send.
	res, body := g.call(t, http.MethodPost, "/orders", map[string]string{"Cookie": "Authorization=" + token}, "")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "CsrfHeaderMissing") {
		t.Fatalf("cookie POST without X-Requested-With: %d %s", res.StatusCode, body)
	}
	res, _ = g.call(t, http.MethodPost, "/orders", map[string]string{"Cookie": "Authorization=" + token, "X-Requested-With": "XMLHttpRequest"}, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("cookie POST with X-Requested-With: %d", res.StatusCode)
	}
}

func TestRefreshRevokeAndDisable(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	u := g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	_, token, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)

	res, body := g.call(t, http.MethodGet, "/v1/auth/refresh/"+token, nil, "")
	var refreshed tokenAnswer
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &refreshed) != nil || refreshed.Authorization == token {
		t.Fatalf("refresh: %d %s", res.StatusCode, body)
	}
	if r := g.do(t, "/", map[string]string{"Authorization": refreshed.Authorization}); r.status != http.StatusOK {
		t.Fatalf("refreshed token: %d %s", r.status, r.body)
	}
	tampered := refreshed.Authorization[:len(refreshed.Authorization)-10] + "AAAAAAAAAA"
	if r := g.do(t, "/", map[string]string{"Authorization": tampered}); r.status != http.StatusUnauthorized || r.err.Code != "CredentialInvalid" {
		t.Fatalf("tampered token: %d %s", r.status, r.body)
	}
	if res, _ := g.call(t, http.MethodGet, "/v1/auth/refresh/"+tampered, nil, ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refresh of a tampered token: %d", res.StatusCode)
	}

	res, body = g.call(t, http.MethodPost, "/v1/users/auth/tokens/revoke", map[string]string{"Authorization": refreshed.Authorization}, `{"tokens":["`+token+`"]}`)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", res.StatusCode, body)
	}
	if r := g.do(t, "/", map[string]string{"Authorization": refreshed.Authorization}); r.err.Code != "CredentialRevoked" {
		t.Fatalf("token of a revoked session: %d %s", r.status, r.body)
	}

	_, second, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	if err := g.admin.SetUserDisabled(context.Background(), u, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "disabled user's token", func() bool {
		return g.do(t, "/", map[string]string{"Authorization": second}).err.Code == "UserDisabled"
	})
}

func TestExpiredTokenIsRefused(t *testing.T) {
	g := startGatewayWith(t, "token_ttl 1s", "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	_, token, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	time.Sleep(2100 * time.Millisecond) // expiry is rounded up to a whole second
	if r := g.do(t, "/", map[string]string{"Authorization": token}); r.status != http.StatusUnauthorized || r.err.Code != "CredentialExpired" {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}
	if res, body := g.call(t, http.MethodGet, "/v1/auth/refresh/"+token, nil, ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refresh of an expired token: %d %s", res.StatusCode, body)
	}
}

func TestLoginThrottling(t *testing.T) {
	g := startGatewayWith(t, "failure_window 2s", "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	wrong := `{"emailId":"ann@acme.test","password":"wrong"}`
	right := `{"emailId":"ann@acme.test","password":"pw-ann-123"}`
	for i := 1; i <= 5; i++ {
		if res, _, body := g.login(t, "", wrong, nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad password %d: %d %s", i, res.StatusCode, body)
		}
	}
	res, _, body := g.login(t, "", wrong, nil)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `"code":"TooManyRequests"`) || res.Header.Get("Retry-After") == "" {
		t.Fatalf("6th bad password: %d %s (Retry-After %q)", res.StatusCode, body, res.Header.Get("Retry-After"))
	}
	if res, _, _ := g.login(t, "", right, nil); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right password inside the window: %d, want 429", res.StatusCode)
	}
	time.Sleep(2 * time.Second)
	if res, _, body := g.login(t, "", right, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d %s", res.StatusCode, body)
	}
}

func TestRepeatedBadCredentialsFromOneClientAreThrottled(t *testing.T) {
	g := startGatewayWith(t, "client_failure_limit 3", "")
	s := g.seed(t)
	for i := 0; i < 3; i++ {
		bad, _, _ := authcore.NewLegacyKey() // forged: refused on its tag, and counted all the same
		if r := g.do(t, "/", map[string]string{"ApiKey": bad}); r.status != http.StatusUnauthorized {
			t.Fatalf("bad key %d: %d", i, r.status)
		}
	}
	r := g.do(t, "/", map[string]string{"ApiKey": s.userKey})
	if r.status != http.StatusTooManyRequests || r.err.Code != "TooManyRequests" {
		t.Fatalf("after 3 bad keys: %d %s, want 429", r.status, r.body)
	}
}

// Only the exact endpoint routes are Keygate's: anything else is the upstream's.
func TestOtherPathsPassThroughToTheUpstream(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	key := map[string]string{"ApiKey": s.userKey}
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v1/auth/authenticate"},
		{http.MethodPost, "/v1/auth/authenticate/"},
		{http.MethodPost, "/v1/auth/refresh/x"},
		{http.MethodGet, "/v1/users/info/"},
		{http.MethodGet, "/v1/spectroclusters"},
		{http.MethodPost, "/v1/apiKeys/x/y"},
		{http.MethodGet, "/v2/apiKeys"},
		{http.MethodGet, "/v1/auth/%72efresh/x"},
	} {
		res, body := g.call(t, tc.method, tc.path, key, "")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"X-User-Uid"`) {
			t.Errorf("%s %s: %d %s, want the upstream's answer", tc.method, tc.path, res.StatusCode, body)
		}
	}
}

func TestEndpointsCanMoveOrBeSwitchedOff(t *testing.T) {
	g := startGateway(t, "{\n\t\tauth_prefix /auth/\n\t}")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	res, _ := g.call(t, http.MethodPost, "/auth/authenticate", nil, `{"emailId":"ann@acme.test","password":"pw-ann-123"}`)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("moved login: %d", res.StatusCode)
	}
	off := startGateway(t, "{\n\t\tendpoints off\n\t}")
	off.seed(t)
	off.passwordUser(t, "ann@acme.test", "pw-ann-123")
	// With endpoints off, the path is just another request needing a credential.
	if res, _ := off.call(t, http.MethodPost, "/v1/auth/authenticate", nil, `{"emailId":"ann@acme.test","password":"pw-ann-123"}`); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with endpoints off: %d, want 401", res.StatusCode)
	}
}

func TestBadLoginBodiesAre400(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	for body, want := range map[string]string{
		"":                 "must be JSON",
		"{":                "not valid JSON",
		`{"emailId": 123}`: "emailId",
	} {
		res, raw := g.call(t, http.MethodPost, "/v1/auth/authenticate", nil, body)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("body %q: %d %s", body, res.StatusCode, raw)
		}
	}
	// A cross-site HTML form can only send form types: refused, so a login cannot be
	// forged into a victim's browser.
	res, raw := g.call(t, http.MethodPost, "/v1/auth/authenticate?setCookie=true",
		map[string]string{"Content-Type": "text/plain"}, `{"emailId":"a@b.test","password":"x"}`)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(raw, "application/json") {
		t.Errorf("text/plain login: %d %s", res.StatusCode, raw)
	}
}
