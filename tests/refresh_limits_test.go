package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// refresh calls GET /v1/auth/refresh/{token}, as Palette clients do, and returns the
// status, the new token (on 200) and the body.
func (g *gateway) refresh(t *testing.T, token string) (int, string, string) {
	t.Helper()
	res, body := g.call(t, http.MethodGet, "/v1/auth/refresh/"+token, nil, "")
	var ans tokenAnswer
	if res.StatusCode == http.StatusOK && (json.Unmarshal([]byte(body), &ans) != nil || ans.Authorization == "") {
		t.Fatalf("refresh answer %q does not match the contract", body)
	}
	return res.StatusCode, ans.Authorization, body
}

// A token is refreshable once. Refreshing it again means two parties hold it: the answer
// is 401 TokenAlreadyRefreshed and the whole session ends, the newest token included.
func TestATokenRefreshedTwiceEndsItsSession(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	_, first, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)

	status, second, body := g.refresh(t, first)
	if status != http.StatusOK {
		t.Fatalf("first refresh: %d %s", status, body)
	}
	status, third, body := g.refresh(t, second)
	if status != http.StatusOK {
		t.Fatalf("refresh of the refreshed token: %d %s", status, body)
	}
	// The refreshed token keeps working until it expires: requests already in flight.
	if r := g.do(t, "/", map[string]string{"Authorization": first}); r.status != http.StatusOK {
		t.Fatalf("a refreshed token before its expiry: %d %s", r.status, r.body)
	}

	status, _, body = g.refresh(t, first)
	if status != http.StatusUnauthorized || !strings.Contains(body, `"code":"TokenAlreadyRefreshed"`) {
		t.Fatalf("second refresh of one token: %d %s, want 401 TokenAlreadyRefreshed", status, body)
	}
	for name, token := range map[string]string{"reused": first, "refreshed": second, "newest": third} {
		if r := g.do(t, "/", map[string]string{"Authorization": token}); r.err.Code != "CredentialRevoked" {
			t.Errorf("%s token after the reuse: %d %s, want 401 CredentialRevoked", name, r.status, r.body)
		}
	}
	if status, _, body := g.refresh(t, third); status != http.StatusUnauthorized {
		t.Errorf("refreshing the newest token after the reuse: %d %s, want 401", status, body)
	}
}

// The browser's cookie refresh follows the same rule: a cookie used twice ends the session.
func TestACookieRefreshedTwiceEndsItsSession(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	_, token, _ := g.login(t, "?setCookie=true", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	xhr := map[string]string{"Cookie": "Authorization=" + token, "X-Requested-With": "XMLHttpRequest"}
	if res, body := g.call(t, http.MethodPost, "/v1/auth/refresh", xhr, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("cookie refresh: %d %s", res.StatusCode, body)
	}
	res, body := g.call(t, http.MethodPost, "/v1/auth/refresh", xhr, "")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"code":"TokenAlreadyRefreshed"`) {
		t.Fatalf("second cookie refresh with the same cookie: %d %s, want 401 TokenAlreadyRefreshed", res.StatusCode, body)
	}
}

// createKeys makes n keys for the key's owner through POST /v1/apiKeys and returns the
// statuses, the uid of the first key made and the last body.
func (g *gateway) createKeys(t *testing.T, key string, n int) (statuses []int, firstUID, last string) {
	t.Helper()
	for i := range n {
		res, body := g.call(t, http.MethodPost, "/v1/apiKeys", map[string]string{"ApiKey": key},
			keyBody(fmt.Sprintf("k%d", i), "expiryPreset", "7d", ""))
		var ans struct{ UID string }
		if firstUID == "" && res.StatusCode == http.StatusCreated && json.Unmarshal([]byte(body), &ans) == nil {
			firstUID = ans.UID
		}
		statuses, last = append(statuses, res.StatusCode), body
	}
	return statuses, firstUID, last
}

// A user holds at most max_keys_per_user keys, 20 by default as in Palette: one more
// answers 409 ApiKeyLimitReached, deleting one makes room, and other users are not
// affected.
func TestKeysPerUserAreLimited(t *testing.T) {
	for _, tc := range []struct {
		name, option string
		limit        int
	}{
		{"default", "", 20},
		{"configured", "max_keys_per_user 3", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGatewayWith(t, tc.option, "")
			s := g.seed(t) // the seed holds one key
			statuses, made, _ := g.createKeys(t, s.userKey, tc.limit-1)
			for i, st := range statuses {
				if st != http.StatusCreated {
					t.Fatalf("create %d of %d under the limit: %d", i+1, tc.limit-1, st)
				}
			}
			if statuses, _, body := g.createKeys(t, s.userKey, 1); statuses[0] != http.StatusConflict || !strings.Contains(body, `"code":"ApiKeyLimitReached"`) {
				t.Fatalf("key %d: %d %s, want 409 ApiKeyLimitReached", tc.limit+1, statuses[0], body)
			}
			if code := g.api(t, s.userKey, http.MethodDelete, "/v1/apiKeys/"+made, "", nil); code != http.StatusNoContent {
				t.Fatalf("delete: %d", code)
			}
			if statuses, _, body := g.createKeys(t, s.userKey, 1); statuses[0] != http.StatusCreated {
				t.Fatalf("create after deleting one: %d %s", statuses[0], body)
			}
			if statuses, _, body := g.createKeys(t, g.mustKeyFor(t, s.admin.UID), 1); statuses[0] != http.StatusCreated {
				t.Fatalf("another user's key: %d %s", statuses[0], body)
			}
		})
	}
}

// max_keys_per_user 0 lifts the limit.
func TestKeyLimitZeroMeansNone(t *testing.T) {
	g := startGatewayWith(t, "max_keys_per_user 0", "")
	s := g.seed(t)
	statuses, _, body := g.createKeys(t, s.userKey, 25)
	for i, st := range statuses {
		if st != http.StatusCreated {
			t.Fatalf("create %d with no limit: %d %s", i+1, st, body)
		}
	}
}
