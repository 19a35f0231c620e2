package tests

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

func TestValidKeyReachesUpstreamWithIdentityAndWithoutTheKey(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	for name, send := range map[string]func() response{
		"header ApiKey": func() response { return g.do(t, "/x?a=1", map[string]string{"ApiKey": s.userKey}) },
		"header apikey": func() response { return g.do(t, "/x?a=1", map[string]string{"apikey": s.userKey}) },
		"query ApiKey":  func() response { return g.do(t, "/x?a=1&ApiKey="+s.userKey, nil) },
		"query apiKey":  func() response { return g.do(t, "/x?apiKey="+s.userKey+"&a=1", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			r := send()
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			h := r.echo.Header
			for header, want := range map[string]string{
				"X-User-Uid":    s.user.UID,
				"X-User-Email":  "dev@acme.test",
				"X-Tenant-Uid":  s.tenant.UID,
				"X-User-Role":   "user",
				"X-Auth-Method": "apikey",
				"X-Api-Key-Uid": s.userKeyRecord.UID,
			} {
				if got := h.Values(header); len(got) != 1 || got[0] != want {
					t.Errorf("upstream got %s = %q, want %q", header, got, want)
				}
			}
			if h.Get("Apikey") != "" {
				t.Error("the ApiKey header reached upstream")
			}
			if r.echo.RawQuery != "a=1" {
				t.Errorf("upstream query %q, want a=1 (the key removed, the rest untouched)", r.echo.RawQuery)
			}
		})
	}
}

func TestSpoofedIdentityHeadersNeverReachUpstream(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	spoofed := map[string]string{
		"X-User-Uid":    "evil",
		"x-user-role":   "tenant-admin",
		"X.User.Role":   "super-admin",
		"X_Tenant_Uid":  "other-tenant",
		"X-USER-EMAIL":  "ceo@acme.test",
		"x_auth_method": "token",
		"X-Api-Key-Uid": "forged",
		"Project_Uid":   s.project.UID,
	}
	withKey := map[string]string{"ApiKey": s.userKey}
	for k, v := range spoofed {
		withKey[k] = v
	}
	r := g.do(t, "/", withKey)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	for name, values := range r.echo.Header {
		for _, v := range values {
			for _, forged := range spoofed {
				if v == forged {
					t.Errorf("spoofed value %q reached upstream in %s", v, name)
				}
			}
		}
	}
	if got := r.echo.Header.Get("X-User-Role"); got != "user" {
		t.Errorf("X-User-Role = %q, want user", got)
	}
	if r.echo.Header.Get("ProjectUid") != "" {
		t.Error("a project was forwarded although none was checked")
	}

	// Naming identity headers in Connection must not let the proxy erase them.
	r = g.do(t, "/", map[string]string{"ApiKey": s.userKey, "Connection": "X-User-Uid, x_tenant_uid, X-User-Role, X-Api-Key-Uid, X-Auth-Method, X-User-Email"})
	for _, name := range []string{"X-User-Uid", "X-Tenant-Uid", "X-User-Role", "X-Api-Key-Uid", "X-Auth-Method", "X-User-Email"} {
		if r.echo.Header.Get(name) == "" {
			t.Errorf("%s was erased through the Connection header", name)
		}
	}

	// Without a usable key, nothing reaches upstream at all.
	for _, key := range []string{"", "kg_garbage", typo(s.userKey)} {
		h := map[string]string{}
		for k, v := range spoofed {
			h[k] = v
		}
		if key != "" {
			h["ApiKey"] = key
		}
		if r := g.do(t, "/", h); r.status != http.StatusUnauthorized {
			t.Errorf("key %q: status %d, want 401", key, r.status)
		}
	}
}

func TestRejectedCredentialsGet401WithTheirCode(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	ctx := context.Background()
	unknown := unknownKeyOn(t, g.store)
	forged, _, _ := authcore.NewLegacyKey() // well-formed, without the store's tag

	revoked := g.mustKey(t, s.user, "30d")
	if _, err := g.admin.SetAPIKeyActive(ctx, revoked.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	expiredKey, digest, hint := taggedKeyOn(t, g.store)
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	if err := g.store.CreateAPIKey(ctx, storage.APIKey{
		UID: authcore.NewUID(), TenantUID: s.tenant.UID, UserUID: s.user.UID, Name: "old",
		Digest: digest[:], Hint: hint, ExpiresAt: past, Active: true, CreatedAt: past.Add(-time.Hour), UpdatedAt: past, Tagged: true,
	}, 0); err != nil {
		t.Fatal(err)
	}
	gone := g.mustUser(t, "gone@acme.test", storage.RoleUser)
	goneKey := g.mustKey(t, gone, "7d")
	if err := g.admin.SetUserDisabled(ctx, gone, true); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, key, code string }{
		{"missing", "", "CredentialMissing"},
		{"malformed", "not-a-key", "CredentialMalformed"},
		{"unknown", unknown, "CredentialInvalid"},
		{"forged", forged, "CredentialInvalid"},
		{"expired", expiredKey, "CredentialExpired"},
		{"revoked", revoked.Key, "CredentialRevoked"},
		{"user disabled", goneKey.Key, "UserDisabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.key != "" {
				h["ApiKey"] = tc.key
			}
			r := g.do(t, "/", h)
			if r.status != http.StatusUnauthorized || r.err.Code != tc.code {
				t.Fatalf("got %d %q, want 401 %s", r.status, r.body, tc.code)
			}
			if r.err.Message == "" || r.err.Ref == "" {
				t.Errorf("error body lacks a message or ref: %s", r.body)
			}
			if tc.key != "" && strings.Contains(r.body, tc.key) {
				t.Error("the error body echoes the key")
			}
		})
	}
	// A forged key is told nothing an unknown one is not: same status, code and message.
	u, f := g.do(t, "/", map[string]string{"ApiKey": unknown}), g.do(t, "/", map[string]string{"ApiKey": forged})
	if u.status != f.status || u.err.Code != f.err.Code || u.err.Message != f.err.Message {
		t.Errorf("a forged key is answered %d %s %q, an unknown one %d %s %q", f.status, f.err.Code, f.err.Message, u.status, u.err.Code, u.err.Message)
	}
}

func TestProjectUidIsForwardedOnlyToMembers(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	ctx := context.Background()
	adminKey := g.mustKey(t, s.admin, "30d").Key
	other, err := g.admin.CreateProject(ctx, "acme", "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.admin.AddProjectMember(ctx, s.project.UID, s.user.Email); err != nil {
		t.Fatal(err)
	}

	r := g.do(t, "/", map[string]string{"ApiKey": s.userKey, "ProjectUid": s.project.UID})
	if r.status != http.StatusOK || r.echo.Header.Get("ProjectUid") != s.project.UID {
		t.Fatalf("member: got %d, ProjectUid %q", r.status, r.echo.Header.Get("ProjectUid"))
	}
	r = g.do(t, "/", map[string]string{"ApiKey": s.userKey, "ProjectUid": other.UID})
	if r.status != http.StatusForbidden || r.err.Code != "Forbidden" {
		t.Fatalf("non-member: got %d %s, want 403 Forbidden", r.status, r.body)
	}
	r = g.do(t, "/", map[string]string{"ApiKey": adminKey, "ProjectUid": other.UID})
	if r.status != http.StatusOK || r.echo.Header.Get("ProjectUid") != other.UID {
		t.Fatalf("tenant admin: got %d, ProjectUid %q", r.status, r.echo.Header.Get("ProjectUid"))
	}
	r = g.do(t, "/", map[string]string{"ApiKey": adminKey, "ProjectUid": authcore.NewUID()})
	if r.status != http.StatusForbidden {
		t.Fatalf("unknown project: got %d, want 403", r.status)
	}
}

// Writes through another connection to the store, as the command line makes them, reach
// the gateway (tests/cli_test.go does it from a real second process).
func TestChangesByAnotherConnectionApplyWithinASecond(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	ctx := context.Background()
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey}); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if _, err := g.admin.SetAPIKeyActive(ctx, s.userKeyRecord.UID, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revocation", func() bool {
		return g.do(t, "/", map[string]string{"ApiKey": s.userKey}).err.Code == "CredentialRevoked"
	})

	key := g.mustKey(t, s.user, "30d").Key
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if err := g.admin.SetUserDisabled(ctx, s.user, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "user disabled", func() bool {
		return g.do(t, "/", map[string]string{"ApiKey": key}).err.Code == "UserDisabled"
	})
}

func TestForwardCredentialsPassesTheKeyOn(t *testing.T) {
	g := startGateway(t, "{\n\t\tforward_credentials\n\t}")
	s := g.seed(t)
	r := g.do(t, "/?ApiKey="+s.userKey, map[string]string{"ApiKey": s.userKey})
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if r.echo.Header.Get("Apikey") != s.userKey || r.echo.RawQuery != "ApiKey="+s.userKey {
		t.Fatalf("with forward_credentials the key should reach upstream; got header %q query %q",
			r.echo.Header.Get("Apikey"), r.echo.RawQuery)
	}
}

func TestCustomIdentityHeaderNames(t *testing.T) {
	g := startGateway(t, "{\n\t\theaders {\n\t\t\tuser_uid X-Principal\n\t\t}\n\t}")
	s := g.seed(t)
	r := g.do(t, "/", map[string]string{"ApiKey": s.userKey, "X-Principal": "evil", "X-User-Uid": "evil"})
	if got := r.echo.Header.Values("X-Principal"); len(got) != 1 || got[0] != s.user.UID {
		t.Fatalf("X-Principal = %q, want [%s]", got, s.user.UID)
	}
	if got := r.echo.Header.Get("X-User-Uid"); got != "" {
		t.Fatalf("X-User-Uid = %q: the default name must be stripped and not set once renamed", got)
	}
}

// typo changes a key's last character, so it fails the checksum.
func typo(key string) string {
	c := "x"
	if strings.HasSuffix(key, c) {
		c = "y"
	}
	return key[:len(key)-1] + c
}
