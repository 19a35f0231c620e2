package tests

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// Two nodes started at once on an empty database both come up (migrations and the
// bootstrap do not race), and then agree on every credential: a key made on A works on B;
// revoked on A, it is refused on B; a token issued by A is accepted and refreshed by B; a
// user disabled on B loses access on A.
func TestNodesShareState(t *testing.T) {
	a, b, c := startTwoNodes(t)
	boss := map[string]string{"ApiKey": c.bossKey}

	// A key created through A's API works on B.
	res, body := a.call(t, http.MethodPost, "/v1/apiKeys", boss,
		`{"metadata":{"name":"shared"},"spec":{"userUid":"`+c.dev.UID+`","expiryPreset":"7d"}}`)
	var created struct{ APIKey, UID string }
	if err := json.Unmarshal([]byte(body), &created); res.StatusCode != http.StatusCreated || err != nil {
		t.Fatalf("create on A: %d %s", res.StatusCode, body)
	}
	if got := b.status(t, "ApiKey", created.APIKey); got != http.StatusOK {
		t.Fatalf("key created on A: B answered %d, want 200", got)
	}

	// Revoked through A, it is refused by B, which had it cached.
	if res, body := a.call(t, http.MethodPatch, "/v1/apiKeys/"+created.UID, boss, `{"isActive":false}`); res.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke on A: %d %s", res.StatusCode, body)
	}
	b.waitStatus(t, "ApiKey", created.APIKey, http.StatusUnauthorized)

	// A token issued by A is accepted by B, refreshed by B, and the new one works on A.
	_, token, raw := a.login(t, "", `{"emailId":"dev@acme.test","password":"`+nodeAdminPassword+`"}`, nil)
	if token == "" {
		t.Fatalf("login on A: %s", raw)
	}
	if got := b.status(t, "Authorization", token); got != http.StatusOK {
		t.Fatalf("token from A: B answered %d, want 200", got)
	}
	res, body = b.call(t, http.MethodGet, "/v1/auth/refresh/"+token, nil, "")
	var refreshed struct{ Authorization string }
	if err := json.Unmarshal([]byte(body), &refreshed); res.StatusCode != http.StatusOK || err != nil || refreshed.Authorization == "" {
		t.Fatalf("refresh on B: %d %s", res.StatusCode, body)
	}
	if got := a.status(t, "Authorization", refreshed.Authorization); got != http.StatusOK {
		t.Fatalf("token refreshed by B: A answered %d, want 200", got)
	}

	// A user disabled through B loses access on A, by key and by token.
	devKey := c.key(t, c.dev).Key
	if got := a.status(t, "ApiKey", devKey); got != http.StatusOK {
		t.Fatalf("dev's key on A: %d, want 200", got)
	}
	if res, body := b.call(t, http.MethodPatch, "/v1/users/"+c.dev.UID, boss, `{"status":{"active":false}}`); res.StatusCode != http.StatusNoContent {
		t.Fatalf("disable on B: %d %s", res.StatusCode, body)
	}
	a.waitStatus(t, "ApiKey", devKey, http.StatusUnauthorized)
	a.waitStatus(t, "Authorization", refreshed.Authorization, http.StatusUnauthorized)
}

// startTwoNodes starts nodes A and B at once on a fresh database and seeds it.
func startTwoNodes(t *testing.T) (a, b *node, c cluster) {
	dsn := pgtest.Schema(t)
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	nodes := startNodes(t, dsn, upstream.URL, "", "")
	return nodes[0], nodes[1], seedCluster(t, dsn)
}

// A key made on A is accepted by B on its very next request, however soon: B checks the
// key's tag with the secret both nodes read from the store, and finds the key in the
// store, with nothing to wait for from the change feed. Deleted on A, it is refused by B
// once the change reaches it, though B had it cached.
func TestKeyMadeOnOneNodeWorksOnAnotherAtOnce(t *testing.T) {
	dsn := pgtest.Schema(t)
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	// Each deleted key's refusal counts against this one client: raise its limit.
	nodes := startNodes(t, dsn, upstream.URL, "client_failure_limit 1000000", "client_failure_limit 1000000")
	a, b, c := nodes[0], nodes[1], seedCluster(t, dsn)
	boss := map[string]string{"ApiKey": c.bossKey}
	const rounds = 50
	gaps := make([]time.Duration, 0, rounds)
	for range rounds {
		res, body := a.call(t, http.MethodPost, "/v1/apiKeys", boss,
			`{"metadata":{"name":"at once"},"spec":{"userUid":"`+c.dev.UID+`","expiryPreset":"7d"}}`)
		created := time.Now()
		var k struct{ APIKey, UID string }
		if err := json.Unmarshal([]byte(body), &k); res.StatusCode != http.StatusCreated || err != nil {
			t.Fatalf("create on A: %d %s", res.StatusCode, body)
		}
		req, err := http.NewRequest(http.MethodGet, b.url+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("ApiKey", k.APIKey)
		gaps = append(gaps, time.Since(created)) // from A's answer to B's request
		got, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got.Body.Close()
		if got.StatusCode != http.StatusOK {
			t.Fatalf("key made on A, asked of B %v later: %d, want 200", gaps[len(gaps)-1], got.StatusCode)
		}
		if res, body := a.call(t, http.MethodDelete, "/v1/apiKeys/"+k.UID, boss, ""); res.StatusCode != http.StatusNoContent {
			t.Fatalf("delete on A: %d %s", res.StatusCode, body)
		}
		b.waitStatus(t, "ApiKey", k.APIKey, http.StatusUnauthorized)
	}
	slices.Sort(gaps)
	t.Logf("key made on A, used on B: %d rounds, all accepted; gap from A's answer to B's request p50 %v, max %v",
		rounds, gaps[rounds/2].Round(time.Microsecond), gaps[rounds-1].Round(time.Microsecond))
}

// How long a revocation on one node takes to reach another: from the revoke API answering
// on A until B refuses the key, over 50 revocations of keys B has cached.
func TestRevocationPropagation(t *testing.T) {
	a, b, c := startTwoNodes(t)
	boss := map[string]string{"ApiKey": c.bossKey}

	const rounds = 50
	delays := make([]time.Duration, 0, rounds)
	for range rounds {
		k := c.key(t, c.dev)
		if got := b.status(t, "ApiKey", k.Key); got != http.StatusOK {
			t.Fatalf("new key on B: %d, want 200", got)
		}
		if res, body := a.call(t, http.MethodPatch, "/v1/apiKeys/"+k.Record.UID, boss, `{"isActive":false}`); res.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke on A: %d %s", res.StatusCode, body)
		}
		delays = append(delays, b.waitStatus(t, "ApiKey", k.Key, http.StatusUnauthorized))
	}
	slices.Sort(delays)
	t.Logf("revocation on A to refusal on B, %d revocations: p50 %v, p99 %v, max %v",
		rounds, delays[rounds/2].Round(10*time.Microsecond), delays[rounds*99/100].Round(10*time.Microsecond), delays[rounds-1].Round(10*time.Microsecond))
}
