package tests

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// A roll on node A ends the old key on node B, which has it cached, as soon as the
// change reaches B; the new key works on B at once. (Two processes on PostgreSQL.)
func TestRollOnOneNodeEndsTheOldKeyOnAnother(t *testing.T) {
	dsn := pgtest.Schema(t)
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	nodes := startNodes(t, dsn, upstream.URL, "", "")
	a, b, c := nodes[0], nodes[1], seedCluster(t, dsn)
	old := c.key(t, c.dev)
	if got := b.status(t, "ApiKey", old.Key); got != http.StatusOK {
		t.Fatalf("old key on B: %d", got)
	}
	res, body := a.call(t, http.MethodPost, "/v1/apiKeys/"+old.Record.UID+"/roll", map[string]string{"ApiKey": c.bossKey}, `{"overlap":"0s"}`)
	var rolled struct{ APIKey, UID string }
	if err := json.Unmarshal([]byte(body), &rolled); res.StatusCode != http.StatusCreated || err != nil {
		t.Fatalf("roll on A: %d %s", res.StatusCode, body)
	}
	if got := b.status(t, "ApiKey", rolled.APIKey); got != http.StatusOK {
		t.Fatalf("new key on B: %d", got)
	}
	b.waitStatus(t, "ApiKey", old.Key, http.StatusUnauthorized)
	if r := b.do(t, "/", map[string]string{"ApiKey": old.Key}); r.err.Code != "CredentialExpired" {
		t.Fatalf("old key on B after the roll: %d %s", r.status, r.body)
	}
}
