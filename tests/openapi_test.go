package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// The gateway serves the repository's OpenAPI document, with no credential, cacheably.
func TestOpenAPIDocumentIsServedWithoutACredential(t *testing.T) {
	g := startGateway(t, "")
	want, err := os.ReadFile("../caddymodule/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	res, body := g.call(t, http.MethodGet, "/v1/openapi.json", nil, "")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" || body != string(want) {
		t.Fatalf("GET /v1/openapi.json: %d %q, %d bytes, want the repository's %d", res.StatusCode, res.Header.Get("Content-Type"), len(body), len(want))
	}
	etag := res.Header.Get("ETag")
	if etag == "" || !strings.Contains(res.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("not cacheable: ETag %q, Cache-Control %q", etag, res.Header.Get("Cache-Control"))
	}
	if res, body := g.call(t, http.MethodGet, "/v1/openapi.json", map[string]string{"If-None-Match": etag}, ""); res.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("revalidation: %d with %d bytes, want 304 and none", res.StatusCode, len(body))
	}
	if res, body := g.call(t, http.MethodHead, "/v1/openapi.json", nil, ""); res.StatusCode != http.StatusOK || body != "" || res.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %d with %d bytes, ETag %q", res.StatusCode, len(body), res.Header.Get("ETag"))
	}
}

// With moved prefixes the served document has them in its paths, and describes what that
// gateway answers there.
func TestOpenAPIDocumentFollowsMovedPrefixes(t *testing.T) {
	g := startGateway(t, "{\n\t\tauth_prefix /auth/\n\t\tapi_prefix /api/\n\t}")
	s := g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	res, body := g.call(t, http.MethodGet, "/api/openapi.json", nil, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/openapi.json: %d", res.StatusCode)
	}
	var doc struct{ Paths map[string]json.RawMessage }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/auth/authenticate", "/auth/refresh/{token}", "/api/users/auth/tokens/revoke", "/api/apiKeys/{uid}", "/api/openapi.json"} {
		if doc.Paths[p] == nil {
			t.Errorf("the served document has no path %s", p)
		}
	}
	for p := range doc.Paths {
		if strings.HasPrefix(p, "/v1/") {
			t.Errorf("the served document still has %s", p)
		}
	}
	// The default path is now the upstream's, behind a credential like any other.
	if res, _ := g.call(t, http.MethodGet, "/v1/openapi.json", nil, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/openapi.json with the API prefix moved: %d, want 401", res.StatusCode)
	}

	moved := newContractCheck([]byte(body), nil)
	client := &http.Client{Transport: moved.wrap(http.DefaultTransport), Timeout: 10 * time.Second}
	send := func(method, path, key, body string) int {
		req, _ := http.NewRequest(method, g.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("ApiKey", key)
		}
		res, err := client.Do(withTest(req, t))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, x := range []struct {
		method, path, key, body string
		want                    int
	}{
		{"POST", "/auth/authenticate", "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, 200},
		{"POST", "/auth/authenticate", "", `{"emailId":"ann@acme.test","password":"wrong"}`, 401},
		{"GET", "/api/apiKeys", s.userKey, "", 200},
		{"GET", "/api/users/info", s.userKey, "", 200},
		{"GET", "/api/users", s.userKey, "", 403},
	} {
		if got := send(x.method, x.path, x.key, x.body); got != x.want {
			t.Errorf("%s %s: %d, want %d", x.method, x.path, got, x.want)
		}
	}
	if checked, failures := moved.result(); checked != 5 || len(failures) > 0 {
		t.Errorf("against the served document, %d exchanges checked (want 5): %v", checked, failures)
	}
}
