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
