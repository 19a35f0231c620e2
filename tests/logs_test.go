package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// redactSnippet returns the (redact_credentials) snippet that Caddyfile.example ships.
func redactSnippet(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(src), "(redact_credentials) {")
	end := strings.Index(string(src)[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("Caddyfile.example has no (redact_credentials) snippet")
	}
	return string(src)[start : start+end+3]
}

// Logs captured from a running gateway configured as Caddyfile.example is, after requests
// carrying every kind of secret (and an upstream failure, which Caddy's error log
// records with the request), contain none of them.
func TestLogsHoldNoSecrets(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	upstream := startEchoUpstream(t)
	port, downPort, deadPort := freePort(t), freePort(t), freePort(t)
	logs := map[string]string{
		"default": filepath.Join(dir, "default.log"),
		"access":  filepath.Join(dir, "access.log"),
		"control": filepath.Join(dir, "unfiltered.log"),
	}
	loadCaddyfile(t, redactSnippet(t)+fmt.Sprintf(`
{
	admin off
	persist_config off
	log {
		output file %s
		level DEBUG
		import redact_credentials
	}
	keygate {
		storage sqlite %s
	}
}
http://127.0.0.1:%d {
	log {
		output file %s
		import redact_credentials
	}
	keygate
	reverse_proxy %s
}
http://127.0.0.1:%d {
	log {
		output file %s
	}
	keygate
	reverse_proxy 127.0.0.1:%d
}
`, logs["default"], filepath.Join(dir, "kg.db"), port, logs["access"], upstream, downPort, logs["control"], deadPort))
	t.Cleanup(stopCaddy)

	g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port), dbPath: filepath.Join(dir, "kg.db")}
	g.admin, g.store = openAdmin(t, g.dbPath)
	s := g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	_, token, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	_, cookieToken, _ := g.login(t, "?setCookie=true", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	// A password activation link: its token is in the path.
	adminKey := g.mustKey(t, s.admin, "30d").Key
	var created struct {
		UID string `json:"uid"`
	}
	g.api(t, adminKey, http.MethodPost, "/v1/users", `{"metadata":{"name":"new@acme.test"},"spec":{"emailId":"new@acme.test","role":"user"}}`, &created)
	linkToken := linkToken(t, g.activationLink(t, adminKey, created.UID))
	if st, body := g.activate(t, linkToken, "pw-new-activated"); st != http.StatusNoContent {
		t.Fatalf("activation: %d %s", st, body)
	}
	// An OIDC client secret, set through the API, and an authorization code at the
	// single sign-on callback (in the query, as providers send it).
	const clientSecret, ssoCode = "oidc-client-secret-3f9a", "authorization-code-77c1"
	if code := g.api(t, adminKey, http.MethodPost, "/v1/tenants/"+s.tenant.UID+"/oidc/config",
		`{"issuerUrl":"https://idp.example","clientId":"keygate","clientSecret":"`+clientSecret+`"}`, nil); code != http.StatusNoContent {
		t.Fatalf("POST oidc/config = %d", code)
	}
	g.call(t, http.MethodGet, "/v1/auth/org/acme/oidc/callback?state=s1&code="+ssoCode, nil, "")
	// SCIM tokens: the current one, used, and a rotated one, refused.
	oldSCIM := g.rotateSCIMToken(t, adminKey, s.tenant.UID).Token
	scimToken := g.rotateSCIMToken(t, adminKey, s.tenant.UID).Token
	g.scim(t, scimToken, http.MethodPost, "/Users", `{"userName":"idp@acme.test"}`, nil)
	g.scim(t, oldSCIM, http.MethodGet, "/Users", "", nil)
	// A webhook: its signing secret, and a receiver's own token in its URL's query.
	const receiverToken = "receiver-token-5e21"
	var hook struct{ Secret string }
	if code := g.api(t, adminKey, http.MethodPost, "/v1/webhooks", `{"url":"https://203.0.113.9/hook?token=`+receiverToken+`"}`, &hook); code != http.StatusCreated || hook.Secret == "" {
		t.Fatalf("POST webhooks = %d", code)
	}
	g.mustKey(t, s.user, "7d") // an event, on its way to the receiver
	secrets := []string{s.userKey, token, cookieToken, "pw-ann-123", adminKey, linkToken, "pw-new-activated", clientSecret, ssoCode, scimToken, oldSCIM, hook.Secret, receiverToken}

	g.do(t, "/a", map[string]string{"ApiKey": s.userKey})
	g.do(t, "/b?x=1&apiKey="+s.userKey+"&y=2", nil)
	g.do(t, "/c?%61pi%4Bey="+s.userKey, nil)
	g.do(t, "/d", map[string]string{"Authorization": token})
	g.do(t, "/e", map[string]string{"Cookie": "Authorization=" + cookieToken})
	g.call(t, http.MethodGet, "/v1/auth/refresh/"+token, nil, "")

	down := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", downPort)}
	if res, _ := down.call(t, http.MethodGet, "/f?ApiKey="+s.userKey, map[string]string{"ApiKey": s.userKey}, ""); res.StatusCode != http.StatusBadGateway {
		t.Fatalf("the dead upstream answered %d, want 502", res.StatusCode)
	}
	stopCaddy() // flush and close the log files

	for name, path := range logs {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if name == "control" {
			// Proof that the capture works: without the filter, Caddy logs the key.
			if !strings.Contains(text, s.userKey) {
				t.Fatalf("the unfiltered log lacks the key, so this test proves nothing:\n%s", text)
			}
			continue
		}
		for i, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s log contains secret #%d:\n%s", name, i, text)
			}
		}
		if name == "access" && !strings.Contains(text, `"user_id":"`+s.user.UID+`"`) {
			t.Errorf("the access log does not name the authenticated user (the {http.auth.user.id} placeholder)")
		}
		if name == "access" && (!strings.Contains(text, `"uri":"/v1/auth/refresh/REDACTED"`) || !strings.Contains(text, `"uri":"/b?x=1&apiKey=REDACTED&y=2"`) || !strings.Contains(text, `"uri":"/c?%61pi%4Bey=REDACTED"`) || !strings.Contains(text, `"uri":"/v1/auth/password/REDACTED/activate"`) ||
			!strings.Contains(text, `"uri":"/v1/auth/org/acme/oidc/callback?state=s1&code=REDACTED"`)) {
			t.Errorf("the access log does not show the redacted requests:\n%s", text)
		}
		if name == "default" && !strings.Contains(text, "/f?ApiKey=REDACTED") {
			t.Errorf("the error log does not show the failed request, redacted:\n%s", text)
		}
		if name == "default" && (!strings.Contains(text, `"msg":"auth decision"`) || !strings.Contains(text, `"key_uid":"`+s.userKeyRecord.UID+`"`)) {
			t.Errorf("the debug log lacks Keygate's auth decisions:\n%s", text)
		}
	}
}
