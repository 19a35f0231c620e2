package caddymodule

import (
	"net/http"
	"net/url"
	"testing"
)

// The route table's matching rules, case by case: which route a request is for (and its
// path values), or "" for the upstream.
func TestRouteMatching(t *testing.T) {
	def := &Handler{authPrefix: "/v1/auth/", apiPrefix: "/v1/", prefixes: prefixPaths{underSCIM: "/scim/v2/"}}
	moved := &Handler{authPrefix: "/auth/", apiPrefix: "/api/"}
	off := &Handler{authPrefix: "/v1/auth/", apiPrefix: "/v1/", Endpoints: "off"}
	for _, tc := range []struct {
		h            *Handler
		method, path string
		want, values string // values: token|uid|userUid
	}{
		{def, "POST", "/v1/auth/authenticate", "POST authenticate", "||"},
		{def, "GET", "/v1/auth/authenticate", "", ""},
		{def, "POST", "/v1/auth/authenticate/", "", ""},
		{def, "POST", "/v1/auth/%61uthenticate", "", ""}, // as sent
		{def, "GET", "/v1/auth/refresh/a.b.c", "GET refresh/{token...}", "a.b.c||"},
		{def, "GET", "/v1/auth/refresh/a/../b", "GET refresh/{token...}", "a/../b||"}, // not cleaned
		{def, "GET", "/v1/auth/refresh/", "GET refresh/{token...}", "||"},
		{def, "HEAD", "/v1/auth/refresh/x", "", ""},
		{def, "GET", "/v1/auth/%72efresh/x", "", ""},
		{def, "POST", "/v1/auth/refresh", "POST refresh", "||"},
		{def, "POST", "/v1/auth/refresh/x", "", ""},
		{def, "POST", "/v1/users/auth/tokens/revoke", "POST users/auth/tokens/revoke", "||"},
		{def, "GET", "/v1/users/info", "GET users/info", "||"},
		{def, "GET", "/v1/users/info/", "", ""},
		{def, "HEAD", "/v1/users/info", "", ""},  // not a uid: Palette's, for the upstream
		{def, "GET", "/v1/users/%69nfo", "", ""}, // likewise
		{def, "HEAD", "/v1/users/0123456789abcdef01234567", "GET users/{uid}", "|0123456789abcdef01234567|"},
		{def, "GET", "/v1/users/me", "GET users/me", "||"},
		{def, "GET", "/v1/users/m%65", "GET users/me", "||"},
		{def, "GET", "/v1/users/0123456789abcdef01234567", "GET users/{uid}", "|0123456789abcdef01234567|"},
		{def, "GET", "/v1/users/%30123456789abcdef01234567", "GET users/{uid}", "|0123456789abcdef01234567|"},
		{def, "GET", "/v1/users/u1", "", ""},                                 // not a uid Keygate makes
		{def, "GET", "/v1/users/0123456789ABCDEF01234567", "", ""},           // nor is this
		{def, "GET", "/v1/users/assets/sshkeys", "", ""},                     // Palette's
		{def, "GET", "/v1/projects/alerts", "", ""},                          // Palette's
		{def, "GET", "/v1/projects/89abcdef0123456789abcdef/macros", "", ""}, // Palette's, under a project
		{def, "PUT", "/v1/projects/89abcdef0123456789abcdef/users", "PUT projects/{uid}/users", "|89abcdef0123456789abcdef|"},
		{def, "GET", "/v1/apiKeys/u1", "GET apiKeys/{uid}", "|u1|"}, // only users/ and projects/ are held to the shape
		{def, "GET", "/v1/apiKeys", "GET apiKeys", "||"},
		{def, "HEAD", "/v1/apiKeys", "GET apiKeys", "||"},
		{def, "OPTIONS", "/v1/apiKeys", "", ""},
		{def, "GET", "/v1/apiKeys/", "", ""},
		{def, "GET", "/v1/%61piKeys", "", ""}, // the resource as sent
		{def, "GET", "/v1//apiKeys", "", ""},
		{def, "GET", "/v1/./apiKeys", "", ""},
		{def, "GET", "/v1/apiKeys/k/../k", "", ""},
		{def, "GET", "/v1/apiKeys/a%2Fb", "GET apiKeys/{uid}", "|a/b|"},
		{def, "GET", "/v1/apiKeys/%2F", "", ""},
		{def, "PUT", "/v1/apiKeys/k/state", "PUT apiKeys/{uid}/state", "|k|"},
		{def, "PUT", "/v1/apiKeys/k/st%61te", "PUT apiKeys/{uid}/state", "|k|"},
		{def, "PATCH", "/v1/apiKeys/k/state", "", ""},
		{def, "POST", "/v1/apiKeys/x/y", "", ""},
		{def, "PUT", "/v1/projects/89abcdef0123456789abcdef/members/0123456789abcdef01234567", "PUT projects/{uid}/members/{userUid}", "|89abcdef0123456789abcdef|0123456789abcdef01234567"},
		{def, "PUT", "/v1/projects/p/members/u", "", ""},
		{def, "GET", "/v1/dashboard/projects/metadata", "GET dashboard/projects/metadata", "||"},
		{def, "GET", "/v1/openapi.json", "GET openapi.json", "||"},
		{def, "HEAD", "/v1/openapi.json", "GET openapi.json", "||"},
		{def, "POST", "/v1/openapi.json", "", ""},
		{def, "GET", "/v1/auth/openapi.json", "", ""},
		{def, "GET", "/v1/spectroclusters", "", ""},
		{def, "GET", "/v2/apiKeys", "", ""},
		{def, "GET", "/scim/v2/Users", "GET Users", "||"},
		{def, "PATCH", "/scim/v2/Groups/g1", "PATCH Groups/{id}", "||"},
		{def, "GET", "/scim/v2/users", "", ""},
		{def, "POST", "/scim/v2/Bulk", "", ""},
		{moved, "GET", "/scim/v2/Users", "", ""},
		{moved, "POST", "/auth/authenticate", "POST authenticate", "||"},
		{moved, "POST", "/v1/auth/authenticate", "", ""},
		{moved, "GET", "/api/audit", "GET audit", "||"},
		{moved, "GET", "/api/users/info", "GET users/info", "||"},
		{moved, "GET", "/v1/audit", "", ""},
		{moved, "GET", "/api/openapi.json", "GET openapi.json", "||"},
		{moved, "GET", "/v1/openapi.json", "", ""},
		{off, "POST", "/v1/auth/authenticate", "", ""},
		{off, "GET", "/v1/apiKeys", "", ""},
	} {
		u, err := url.Parse(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{Method: tc.method, URL: u}
		got, values := "", ""
		if rt := tc.h.route(r); rt != nil {
			got = rt.method + " " + rt.path
			values = r.PathValue("token") + "|" + r.PathValue("uid") + "|" + r.PathValue("userUid")
		}
		if got != tc.want || values != tc.values {
			t.Errorf("%s %s (prefixes %s %s): %q %q, want %q %q", tc.method, tc.path, tc.h.authPrefix, tc.h.apiPrefix, got, values, tc.want, tc.values)
		}
	}
}
