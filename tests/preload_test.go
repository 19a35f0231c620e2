package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// A gateway restarted while its keys are in use preloads the keys used in the last hour,
// so its first requests for them make no store query; with preload_keys 0 each key costs
// one. The counts are the gateway's own metrics.
func TestRestartedGatewayPreloadsRecentlyUsedKeys(t *testing.T) {
	for _, tc := range []struct {
		name, option string
		preload      bool
	}{{"default", "", true}, {"off", "preload_keys 0", false}} {
		t.Run(tc.name, func(t *testing.T) {
			const keys = 200
			dir := t.TempDir()
			t.Setenv("XDG_DATA_HOME", dir)
			upstream := startEchoUpstream(t)
			adminPort, port := freePort(t), freePort(t)
			db := filepath.Join(dir, "kg.db")
			config := fmt.Sprintf("{\n\tadmin 127.0.0.1:%d\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t\t%s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\treverse_proxy %s\n}\n",
				adminPort, db, tc.option, port, upstream)
			loadCaddyfile(t, config)
			g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port), dbPath: db}
			g.admin, g.store = openAdmin(t, db)
			s := g.seed(t)
			used, firstUID := make([]string, keys), ""
			for i := range used {
				k := g.mustKey(t, s.user, "30d")
				used[i] = k.Key
				if i == 0 {
					firstUID = k.Record.UID
				}
				if r := g.do(t, "/", map[string]string{"ApiKey": used[i]}); r.status != http.StatusOK {
					t.Fatalf("key %d: %d", i, r.status)
				}
			}
			unused := g.mustKey(t, s.user, "30d").Key
			stopCaddy() // writes the last-use times, as a node does when it stops

			loadCaddyfile(t, config)
			t.Cleanup(stopCaddy)
			if tc.preload {
				deadline := time.Now().Add(10 * time.Second)
				for metricValue(t, scrape(t, adminPort), "keygate_preloaded_keys") != keys {
					if time.Now().After(deadline) {
						t.Fatalf("the restarted gateway did not preload the %d keys: keygate_preloaded_keys %v", keys, metricValue(t, scrape(t, adminPort), "keygate_preloaded_keys"))
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			lookups := func() float64 {
				return metricValue(t, scrape(t, adminPort), `keygate_store_duration_seconds_count{op="key_lookup"}`)
			}
			before := lookups()
			for i, k := range used {
				if r := g.do(t, "/", map[string]string{"ApiKey": k}); r.status != http.StatusOK {
					t.Fatalf("key %d after the restart: %d", i, r.status)
				}
			}
			want := 0.0
			if !tc.preload {
				want = keys
			}
			if got := lookups() - before; got != want {
				t.Errorf("serving %d keys used before the restart made %v store lookups, want %v", keys, got, want)
			}
			// A key not used before the restart is looked up as usual; a revoked one is
			// refused although it was preloaded.
			if r := g.do(t, "/", map[string]string{"ApiKey": unused}); r.status != http.StatusOK || lookups()-before != want+1 {
				t.Errorf("an unused key: %d, lookups %v", r.status, lookups()-before)
			}
			if _, err := g.admin.SetAPIKeyActive(t.Context(), firstUID, false); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the revoked key refused", func() bool {
				return g.do(t, "/", map[string]string{"ApiKey": used[0]}).status == http.StatusUnauthorized
			})
		})
	}
}
