package tests

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// rotateSCIMTokenOn makes the tenant's SCIM token through node n's API.
func (n *node) rotateSCIMTokenOn(t *testing.T, bossKey, tenantUID string) string {
	t.Helper()
	res, body := n.call(t, http.MethodPost, "/v1/tenants/"+tenantUID+"/scim/token", map[string]string{"ApiKey": bossKey}, "")
	var tok scimTokenAnswer
	if err := json.Unmarshal([]byte(body), &tok); res.StatusCode != http.StatusCreated || err != nil || tok.Token == "" {
		t.Fatalf("%s: rotate the SCIM token: %d %s", n.name, res.StatusCode, body)
	}
	return tok.Token
}

// On two nodes sharing PostgreSQL, a SCIM deactivation pushed to A stops the user's key
// and token on B (which had them cached) at its next request once the change reaches
// it; a deletion pushed to B stops a key on A; a rotation on A refuses the old token on
// B at once (tokens are not cached).
func TestSCIMDeactivationStopsAKeyOnEveryNode(t *testing.T) {
	a, b, c := startTwoNodes(t)
	tenant := c.dev.TenantUID
	token := a.rotateSCIMTokenOn(t, c.bossKey, tenant)
	devKey := c.key(t, c.dev).Key
	_, devToken, raw := b.login(t, "", `{"emailId":"dev@acme.test","password":"`+nodeAdminPassword+`"}`, nil)
	if devToken == "" {
		t.Fatalf("login on B: %s", raw)
	}
	for _, cred := range [][2]string{{"ApiKey", devKey}, {"Authorization", devToken}} {
		if got := b.status(t, cred[0], cred[1]); got != http.StatusOK {
			t.Fatalf("dev's %s on B before: %d, want 200", cred[0], got)
		}
	}
	deactivate := patchOp(`{"op":"replace","value":{"active":false}}`)
	if code, e := a.scim(t, token, http.MethodPatch, "/Users/"+c.dev.UID, deactivate, nil); code != http.StatusOK {
		t.Fatalf("deactivate on A: %d %+v", code, e)
	}
	b.waitStatus(t, "ApiKey", devKey, http.StatusUnauthorized)
	b.waitStatus(t, "Authorization", devToken, http.StatusUnauthorized)

	var ada scimUser
	if code, e := b.scim(t, token, http.MethodPost, "/Users", oktaCreateUser, &ada); code != http.StatusCreated {
		t.Fatalf("create on B: %d %+v", code, e)
	}
	u, err := c.store.UserByUID(t.Context(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	adaKey := c.key(t, u).Key
	if got := a.status(t, "ApiKey", adaKey); got != http.StatusOK {
		t.Fatalf("ada's key on A: %d, want 200", got)
	}
	if code, _ := b.scim(t, token, http.MethodDelete, "/Users/"+ada.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete on B: %d", code)
	}
	a.waitStatus(t, "ApiKey", adaKey, http.StatusUnauthorized)

	fresh := a.rotateSCIMTokenOn(t, c.bossKey, tenant)
	if code, _ := b.scim(t, token, http.MethodGet, "/Users", "", nil); code != http.StatusUnauthorized {
		t.Errorf("the rotated token on B: %d, want 401 at once", code)
	}
	if code, _ := b.scim(t, fresh, http.MethodGet, "/Users", "", nil); code != http.StatusOK {
		t.Errorf("the new token on B: %d, want 200", code)
	}
}

// While the store cannot be reached, SCIM answers 503 in SCIM's error shape: never a
// 401 that would make the identity provider think its token was revoked.
func TestSCIMStoreOutageIs503(t *testing.T) {
	dsn := pgtest.Schema(t)
	proxy := startCutProxy(t, databaseAddr(t, dsn))
	proxied := pgtest.WithParam(pgtest.WithParam(dsn, "host", "127.0.0.1"), "port", strconv.Itoa(proxy.Addr().Port))
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	n := startNodes(t, proxied, upstream.URL, "")[0]
	c := seedCluster(t, dsn)
	token := n.rotateSCIMTokenOn(t, c.bossKey, c.dev.TenantUID)
	if code, _ := n.scim(t, token, http.MethodGet, "/Users", "", nil); code != http.StatusOK {
		t.Fatalf("before the outage: %d", code)
	}
	proxy.Cut()
	for _, path := range []string{"/Users", "/Users/" + c.dev.UID} {
		if code, e := n.scim(t, token, http.MethodGet, path, "", nil); code != http.StatusServiceUnavailable {
			t.Errorf("GET %s during the outage: %d %+v, want 503", path, code, e)
		}
	}
	proxy.Restore()
	n.waitSCIM(t, token, http.StatusOK)
}

// waitSCIM polls GET /Users with the token until it answers want.
func (n *node) waitSCIM(t *testing.T, token string, want int) {
	t.Helper()
	for i := 0; ; i++ {
		code, _ := n.scim(t, token, http.MethodGet, "/Users", "", nil)
		if code == want {
			return
		}
		if i > 500 {
			t.Fatalf("%s: SCIM not %d after %d tries", n.name, want, i)
		}
	}
}
