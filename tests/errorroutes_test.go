package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// A site's handle_errors routes replace the gate's refusals that they match, with the
// status and Keygate's code as placeholders; the refusals they do not match, and every
// answer of Keygate's own endpoints, stay Palette's JSON errors.
func TestHandleErrorsReplacesTheGatesRefusals(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	upstream := startEchoUpstream(t)
	scoped, catchAll := freePort(t), freePort(t)
	db := filepath.Join(dir, "kg.db")
	loadCaddyfile(t, fmt.Sprintf(`{
	admin off
	persist_config off
	keygate {
		storage sqlite %s
	}
}
http://127.0.0.1:%d {
	keygate
	reverse_proxy %s
	handle_errors 401 {
		header Content-Type text/plain
		respond "sign in first ({http.error.status_code} {keygate.error.code}: {keygate.error.message})" 401
	}
}
http://127.0.0.1:%d {
	keygate
	reverse_proxy %s
	handle_errors {
		respond "refused with {keygate.error.code}" 418
	}
}
`, db, scoped, upstream, catchAll, upstream))
	t.Cleanup(stopCaddy)
	g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", scoped), dbPath: db}
	g.admin, g.store = openAdmin(t, db)
	s := g.seed(t)
	all := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", catchAll)}

	// The 401 route takes a missing credential, keeping the header Palette's clients see.
	res, body := g.call(t, "GET", "/orders", nil, "")
	if res.StatusCode != 401 || body != "sign in first (401 CredentialMissing: no ApiKey or Authorization credential was presented)" {
		t.Errorf("no credential: %d %q", res.StatusCode, body)
	}
	if res.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credential: WWW-Authenticate %q lost", res.Header.Get("WWW-Authenticate"))
	}

	// A 403 is not the route's: Palette's JSON error, as without handle_errors.
	res, body = g.call(t, "GET", "/orders", map[string]string{"ApiKey": s.userKey, "ProjectUid": "nope"}, "")
	wantJSONError(t, "unknown project", res, body, 403)

	// A request that passes is untouched.
	if r := g.do(t, "/orders", map[string]string{"ApiKey": s.userKey}); r.status != 200 {
		t.Errorf("valid key: %d", r.status)
	}

	// A route with no matcher takes every refusal of the gate...
	res, body = all.call(t, "GET", "/orders", map[string]string{"ApiKey": "kg_not-a-key"}, "")
	if res.StatusCode != 418 || body != "refused with CredentialMalformed" {
		t.Errorf("catch-all, malformed key: %d %q", res.StatusCode, body)
	}
	// ...but Keygate's own endpoints answer in their wire contract.
	res, body = all.call(t, "GET", "/v1/apiKeys", nil, "")
	wantJSONError(t, "management API without a credential", res, body, 401)
	res, body = all.call(t, "POST", "/v1/auth/authenticate", nil, `{"emailId":"nobody@acme.test","password":"wrong"}`)
	wantJSONError(t, "failed login", res, body, 401)
}

func wantJSONError(t *testing.T, what string, res *http.Response, body string, status int) {
	t.Helper()
	var e struct{ Code, Message string }
	if res.StatusCode != status || json.Unmarshal([]byte(body), &e) != nil || e.Code == "" {
		t.Errorf("%s: want a %d JSON error, got %d %q", what, status, res.StatusCode, body)
	}
}
