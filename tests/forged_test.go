package tests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Through a real Caddy on a store upgraded with a key made before tags: a flood of
// well-formed keys the gateway never made is refused 401 with almost no store query
// (each counted as forged), a tagged key and the legacy key each cost one store query
// for 30 uses during and after it, and the legacy key still works after a restart. (One
// client sends the flood, as many would: client_failure_limit is raised out of the way.)
func TestForgedKeyFloodThroughCaddy(t *testing.T) {
	const flood = 3000
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	g := &gateway{dbPath: filepath.Join(dir, "kg.db")}
	g.admin, g.store = openAdmin(t, g.dbPath)
	s := g.seed(t)
	legacy := insertLegacyKey(t, g.store, s.user)

	upstream := startEchoUpstream(t)
	adminPort, port := freePort(t), freePort(t)
	start := func(note string) {
		loadCaddyfile(t, fmt.Sprintf("{\n\tadmin 127.0.0.1:%d\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t\tcache_max_entries 2000\n\t\tclient_failure_limit 1000000\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\treverse_proxy %s\n}\n# %s\n",
			adminPort, g.dbPath, port, upstream, note))
	}
	start("first start")
	t.Cleanup(stopCaddy)
	g.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	lookups := func() float64 {
		return max(metricValue(t, scrape(t, adminPort), `keygate_store_duration_seconds_count{op="key_lookup"}`), 0)
	}
	forged := func() float64 {
		return max(metricValue(t, scrape(t, adminPort), `keygate_cache_requests_total{result="forged"}`), 0)
	}
	use30 := func(what, key string) {
		t.Helper()
		before := lookups()
		for range 30 {
			if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK {
				t.Fatalf("%s: %d %s, want 200", what, r.status, r.body)
			}
		}
		if n := lookups() - before; n > 1 {
			t.Errorf("%s used 30 times made %v store lookups, want at most 1", what, n)
		}
	}

	lookupsBefore, forgedBefore := lookups(), forged()
	for i := range flood {
		key, _, _ := authcore.NewLegacyKey() // well-formed, no tag, in no store
		if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusUnauthorized || r.err.Code != "CredentialInvalid" {
			t.Fatalf("forged key: %d %s, want 401 CredentialInvalid", r.status, r.body)
		}
		if i == flood/2 {
			lookupsBefore -= 2 // the valid keys' own first lookups
			use30("a tagged key during the flood", s.userKey)
			use30("a legacy key during the flood", legacy)
		}
	}
	if n := lookups() - lookupsBefore; n > flood/100 {
		t.Errorf("%d forged keys made %v store lookups, want at most 1%% (%d)", flood, n, flood/100)
	}
	if n := forged() - forgedBefore; n < flood*99/100 {
		t.Errorf("keygate_cache_requests_total{result=\"forged\"} grew by %v for %d forged keys, want at least 99%%", n, flood)
	}
	use30("a tagged key after the flood", s.userKey)
	use30("a legacy key after the flood", legacy)

	stopCaddy()
	start("restarted")
	if r := g.do(t, "/", map[string]string{"ApiKey": legacy}); r.status != http.StatusOK {
		t.Fatalf("legacy key after a restart: %d %s, want 200", r.status, r.body)
	}
}

// insertLegacyKey stores a key of u in the format before tags, as a store upgraded from
// then holds it, and returns the key.
func insertLegacyKey(t testing.TB, store storage.Store, u storage.User) string {
	t.Helper()
	key, digest, hint := authcore.NewLegacyKey()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := store.CreateAPIKey(context.Background(), storage.APIKey{
		UID: authcore.NewUID(), TenantUID: u.TenantUID, UserUID: u.UID, Name: "legacy", Digest: digest[:],
		Hint: hint, ExpiresAt: now.Add(24 * time.Hour), Active: true, CreatedAt: now, UpdatedAt: now,
	}, 0); err != nil {
		t.Fatal(err)
	}
	return key
}
