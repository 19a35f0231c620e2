package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// A gateway on SQLite, stopped, its store moved with `keygate migrate`, and a gateway on
// PostgreSQL started in its place: the keys and tokens the first one gave out still work.
func TestMigrateMovesASQLiteStoreToPostgreSQLWithItsKeysAndTokens(t *testing.T) {
	dsn := pgtest.Schema(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "kg.db")
	upstream := startEchoUpstream(t)
	port := freePort(t)
	cfg := filepath.Join(dir, "Caddyfile")
	body := fmt.Sprintf("{\n\tadmin off\n\tpersist_config off\n\tauto_https off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\treverse_proxy %s\n}\n",
		db, port, strings.TrimPrefix(upstream, "http://"))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	cli := func(stdin string, args ...string) map[string]any {
		t.Helper()
		r := runBinary(t, env, stdin, append(args, "--config", cfg, "--json")...)
		var v map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		return v
	}

	lite := runNode(t, "sqlite gateway", fmt.Sprintf("http://127.0.0.1:%d", port), cfg, env...)
	lite.waitReady(t)
	cli("", "tenant", "create", "--name", "acme")
	user := cli("pw-dev-12345\n", "user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user", "--password-stdin")
	key, _ := cli("", "apikey", "create", "--email", "dev@acme.test", "--name", "ci", "--expires", "30d")["apiKey"].(string)
	revoked := cli("", "apikey", "create", "--email", "dev@acme.test", "--name", "old", "--expires", "30d")
	cli("", "apikey", "revoke", "--uid", revoked["uid"].(string))
	res, token, raw := lite.login(t, "", `{"emailId":"dev@acme.test","password":"pw-dev-12345","org":"acme"}`, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("password login on SQLite: %d %s", res.StatusCode, raw)
	}
	for what, h := range map[string]map[string]string{"key": {"ApiKey": key}, "token": {"Authorization": token}} {
		if r := lite.do(t, "/", h); r.status != http.StatusOK {
			t.Fatalf("the %s on SQLite: %d %s", what, r.status, r.body)
		}
	}
	lite.stop(t)
	legacy := legacyKeyIn(t, db, user["uid"].(string)) // a key from before tags, as an upgraded store holds

	r := runBinary(t, env, "", "migrate", "--from", db, "--to", dsn)
	if r.code != 0 {
		t.Fatalf("migrate: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, line := range []string{"tenants  ", "users  ", "api_keys  ", "sessions  ", "signing_keys  ", "secrets  ", "audit_events  "} {
		if !strings.Contains(r.stdout, "\n"+line) {
			t.Errorf("migrate printed no %q line:\n%s", strings.TrimSpace(line), r.stdout)
		}
	}
	if !regexp.MustCompile(`\napi_keys +3\n`).MatchString(r.stdout) || !strings.Contains(r.stdout, "3 API keys found by digest") {
		t.Errorf("migrate output:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "postgres://") {
		t.Errorf("migrate printed the DSN:\n%s%s", r.stdout, r.stderr)
	}

	// A second run finds the target holding tenants and refuses, in one line.
	again := runBinary(t, env, "", "migrate", "--from", db, "--to", dsn, "--json")
	if again.code == 0 || !strings.Contains(again.stderr, "not empty") || strings.Count(strings.TrimSpace(again.stderr), "\n") != 0 || again.stdout != "" {
		t.Fatalf("second migrate: exit %d, stdout %q, stderr %q", again.code, again.stdout, again.stderr)
	}

	pg := launchNode(t, "postgres gateway", dsn, upstream, "")
	pg.waitReady(t)
	// The tagged key needs the key tag secret copied; the legacy one its untagged mark.
	for what, h := range map[string]map[string]string{"key": {"ApiKey": key}, "legacy key": {"ApiKey": legacy}, "token": {"Authorization": token}} {
		r := pg.do(t, "/", h)
		if r.status != http.StatusOK || r.echo.Header.Get("X-User-Uid") != user["uid"] {
			t.Errorf("the %s on PostgreSQL: %d %s (user %q, want %q)", what, r.status, r.body, r.echo.Header.Get("X-User-Uid"), user["uid"])
		}
	}
	if r := pg.do(t, "/", map[string]string{"ApiKey": revoked["apiKey"].(string)}); r.err.Code != "CredentialRevoked" {
		t.Errorf("the revoked key on PostgreSQL: %d %s", r.status, r.body)
	}
	res, _, raw = pg.login(t, "", `{"emailId":"dev@acme.test","password":"pw-dev-12345","org":"acme"}`, nil)
	if res.StatusCode != http.StatusOK {
		t.Errorf("password login on PostgreSQL: %d %s", res.StatusCode, raw)
	}
}

// legacyKeyIn stores, in the SQLite store at db (no gateway running on it), a key of the
// user with uid in the format before tags, and returns the key.
func legacyKeyIn(t *testing.T, db, uid string) string {
	t.Helper()
	_, store := openAdmin(t, db)
	u, err := store.UserByUID(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	key := insertLegacyKey(t, store, u)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return key
}
