package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// The console is served without a credential, under a policy that lets the page run
// only its own files: no inline script or style, no framing, no other origin.
func TestConsoleIsServedWithStrictSecurityHeaders(t *testing.T) {
	g := startGateway(t, "")
	res, page := g.call(t, http.MethodGet, "/console/", nil, "")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /console/: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows unsafe sources", csp)
	}
	for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	// Nothing inline that the policy would block, and the API's prefixes on the page.
	for _, bad := range []*regexp.Regexp{regexp.MustCompile(`<script(?:\s+type="module")?>`), regexp.MustCompile(`\sstyle=`), regexp.MustCompile(`\son[a-z]+=`)} {
		if bad.MatchString(page) {
			t.Errorf("the page has inline code or style: %s", bad.FindString(page))
		}
	}
	if !strings.Contains(page, `data-auth-prefix="/v1/auth/" data-api-prefix="/v1/"`) {
		t.Errorf("the page does not name the API prefixes")
	}

	res, _ = g.call(t, http.MethodGet, "/console/js/app.js", nil, "")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("app.js: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := g.call(t, http.MethodGet, "/console/js/app.js", map[string]string{"If-None-Match": res.Header.Get("ETag")}, ""); res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidating app.js: %d, want 304", res.StatusCode)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/console", http.StatusMovedPermanently},
		{http.MethodGet, "/console/missing.js", http.StatusNotFound},
		{http.MethodPost, "/console/", http.StatusMethodNotAllowed},
		{http.MethodHead, "/console/style.css", http.StatusOK},
	} {
		res, _ := noRedirect().call(t, g, tc.method, tc.path)
		if res.StatusCode != tc.status || res.Header.Get("Content-Security-Policy") != csp {
			t.Errorf("%s %s: %d, want %d with the policy", tc.method, tc.path, res.StatusCode, tc.status)
		}
		if tc.status == http.StatusMovedPermanently && res.Header.Get("Location") != "/console/" {
			t.Errorf("GET /console redirects to %q", res.Header.Get("Location"))
		}
	}
}

type rawClient struct{ *http.Client }

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() rawClient {
	return rawClient{&http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c rawClient) call(t *testing.T, g *gateway, method, path string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest(method, g.url+path, nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res, nil
}

// `console off` hands /console/ to the upstream, behind authentication like any path;
// `console <path>` moves the console; `endpoints off` turns it off too.
func TestConsoleCanBeMovedOrTurnedOff(t *testing.T) {
	for _, tc := range []struct {
		name, block, servedAt string
	}{
		{"off", "{\n\t\tconsole off\n\t}", ""},
		{"moved", "{\n\t\tconsole /admin/console/\n\t}", "/admin/console/"},
		{"endpoints off", "{\n\t\tendpoints off\n\t}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, tc.block)
			s := g.seed(t)
			if r := g.do(t, "/console/", nil); r.err.Code != "CredentialMissing" {
				t.Fatalf("GET /console/ without a credential: %d %s, want the upstream's 401", r.status, r.body)
			}
			if r := g.do(t, "/console/", map[string]string{"ApiKey": s.userKey}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Uid") != s.user.UID {
				t.Fatalf("GET /console/ with a key: %d %s, want the upstream", r.status, r.body)
			}
			if tc.servedAt != "" {
				res, page := g.call(t, http.MethodGet, tc.servedAt, nil, "")
				if res.StatusCode != http.StatusOK || res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(page, "Keygate console") {
					t.Fatalf("GET %s: %d", tc.servedAt, res.StatusCode)
				}
			}
		})
	}
}

func TestConsoleOptionsAdaptAndBadOnesAreRefused(t *testing.T) {
	for block, want := range map[string]string{
		"console off":             `"console":"off"`,
		"console /admin/console/": `"console_prefix":"/admin/console/"`,
	} {
		if got := adapt(t, ":8080 {\n\tkeygate {\n\t\t"+block+"\n\t}\n\trespond ok\n}"); !strings.Contains(string(got), want) {
			t.Errorf("%s adapts to %s, want %s", block, got, want)
		}
	}
	for _, tc := range []struct{ block, want string }{
		{"console", "console takes one argument"},
		{"console on", `console takes off or a path below / such as /console/, not "on"`},
		{"console /", `console takes off or a path below / such as /console/, not "/"`},
		{"console /a/ /b/", "console takes one argument"},
	} {
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(":8080 {\n\tkeygate {\n\t\t"+tc.block+"\n\t}\n}"), map[string]any{"filename": "Caddyfile"})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Caddyfile:3") {
			t.Errorf("%q: error %v, want %s at Caddyfile:3", tc.block, err, tc.want)
		}
	}
	// Contradictions only the whole handler config shows are refused at load.
	for _, tc := range []struct{ handler, want string }{
		{`"console_prefix":"/v1/console/"`, `console prefix "/v1/console/" overlaps the endpoint prefix "/v1/"`},
		{`"console_prefix":"/admin/","endpoints":"off"`, "endpoints are off and the console needs them"},
		{`"console":"yes"`, `console must be "off" or unset, not "yes"`},
	} {
		cfg := fmt.Sprintf(`{"admin":{"disabled":true},"apps":{"keygate":{"storage":{"backend":"sqlite","path":%q}},
			"http":{"servers":{"s":{"listen":["127.0.0.1:%d"],"routes":[{"handle":[{"handler":"keygate",%s}]}]}}}}}`,
			filepath.Join(t.TempDir(), "kg.db"), freePort(t), tc.handler)
		if !json.Valid([]byte(cfg)) {
			t.Fatalf("bad test config %s", cfg)
		}
		err := caddy.Load([]byte(cfg), true)
		if err == nil {
			caddy.Stop()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %s", tc.handler, err, tc.want)
		}
	}
}

// The console's refresh takes the token from the cookie, not the URL, and needs the
// CSRF header; the new token goes only into the cookie.
func TestConsoleCookieRefreshAndCSRF(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	ann := g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	_, token, _ := g.login(t, "?setCookie=true", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	cookie := "Authorization=" + token
	xhr := map[string]string{"Cookie": cookie, "X-Requested-With": "XMLHttpRequest"}

	if res, body := g.call(t, http.MethodPost, "/v1/auth/refresh", map[string]string{"Cookie": cookie}, ""); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "CsrfHeaderMissing") {
		t.Fatalf("cookie refresh without X-Requested-With: %d %s", res.StatusCode, body)
	}
	if res, body := g.call(t, http.MethodPost, "/v1/auth/refresh", map[string]string{"X-Requested-With": "XMLHttpRequest"}, ""); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "CredentialMissing") {
		t.Fatalf("cookie refresh without a cookie: %d %s", res.StatusCode, body)
	}
	res, body := g.call(t, http.MethodPost, "/v1/auth/refresh", xhr, "")
	var ans struct{ ExpiresAt string }
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &ans) != nil {
		t.Fatalf("cookie refresh: %d %s", res.StatusCode, body)
	}
	if exp, err := time.Parse(time.RFC3339, ans.ExpiresAt); err != nil || exp.Sub(time.Now().Add(15*time.Minute)).Abs() > time.Minute {
		t.Errorf("expiresAt %q, want about 15 minutes from now", ans.ExpiresAt)
	}
	var renewed *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "Authorization" {
			renewed = c
		}
	}
	if renewed == nil || renewed.Value == token || !renewed.HttpOnly || !renewed.Secure || renewed.SameSite != http.SameSiteStrictMode {
		t.Fatalf("renewed cookie %+v", renewed)
	}
	if strings.Contains(body, renewed.Value) || strings.Contains(body, "Authorization") {
		t.Errorf("the refresh answer carries the token: %s", body)
	}

	// users/me with the renewed cookie names the caller, whatever their role.
	res, body = g.call(t, http.MethodGet, "/v1/users/me", map[string]string{"Cookie": "Authorization=" + renewed.Value}, "")
	var me userItem
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &me) != nil || me.Metadata.UID != ann.UID || me.Spec.Role != "user" || me.Spec.EmailID != ann.Email {
		t.Fatalf("users/me: %d %s", res.StatusCode, body)
	}

	// A state-changing cookie request without the header, as a cross-site form would
	// send it, is refused and changes nothing.
	keyJSON := keyBody("csrf", "expiryPreset", "7d", "")
	if res, body := g.call(t, http.MethodPost, "/v1/apiKeys", map[string]string{"Cookie": cookie}, keyJSON); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "CsrfHeaderMissing") {
		t.Fatalf("cookie POST without X-Requested-With: %d %s", res.StatusCode, body)
	}
	if res, body := g.call(t, http.MethodPost, "/v1/apiKeys", xhr, keyJSON); res.StatusCode != http.StatusCreated {
		t.Fatalf("cookie POST with X-Requested-With: %d %s", res.StatusCode, body)
	}
	res, body = g.call(t, http.MethodGet, "/v1/apiKeys", xhr, "")
	if n := strings.Count(body, `"name":"csrf"`); res.StatusCode != http.StatusOK || n != 1 {
		t.Fatalf("%d keys named csrf, want the one made with the header", n)
	}
}

type userItem struct {
	Metadata struct{ UID string } `json:"metadata"`
	Spec     struct {
		EmailID string `json:"emailId"`
		Role    string `json:"role"`
	} `json:"spec"`
}
