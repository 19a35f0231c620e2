package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// A reload that keeps the keygate settings keeps the open store and the warm cache; the
// last config to go closes them.
func TestReloadKeepsSharedStateAndStopReleasesIt(t *testing.T) {
	site := newTestSite(t)
	prefix := "sqlite:" + site.db + "|"

	site.load(t, "one")
	key, first := sharedStateFor(t, prefix)
	site.load(t, "two")
	if refs, ok := statePool.References(key); !ok || refs != 1 {
		t.Fatalf("after reload: %d references (present %v), want 1", refs, ok)
	}
	if _, second := sharedStateFor(t, prefix); second != first {
		t.Fatal("reload replaced the shared state: the cache went cold and the store was reopened")
	}
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, ok := statePool.References(key); ok {
		t.Fatal("the shared state outlived the last config")
	}
	if err := first.store.Ping(t.Context()); err == nil {
		t.Fatal("the store is still open after the last config stopped")
	}
}

// sharedStateFor finds the one shared state whose pool key starts with prefix.
func sharedStateFor(t *testing.T, prefix string) (string, *sharedState) {
	t.Helper()
	var key string
	var found *sharedState
	statePool.Range(func(k, v any) bool {
		if s, ok := k.(string); ok && strings.HasPrefix(s, prefix) {
			if found != nil {
				t.Errorf("two shared states for %s", prefix)
			}
			key, found = s, v.(*sharedState)
		}
		return true
	})
	if found == nil {
		t.Fatalf("no shared state for %s", prefix)
	}
	return key, found
}

// The pool key is made from the settings: a reload that changes any option of the
// shared state gets a new one (and the old one is closed), and a reload with the same
// options, spelled with a default or not, keeps it.
func TestReloadWithChangedOptionGetsNewSharedState(t *testing.T) {
	site := newTestSite(t)
	storage := "storage sqlite " + site.db
	prefix := "sqlite:" + site.db + "|"
	t.Cleanup(func() { caddy.Stop() })

	site.loadWith(t, storage, "base")
	_, state := sharedStateFor(t, prefix)
	for _, tc := range []struct {
		option string
		same   bool
	}{
		{"max_keys_per_user 20", true}, // the default, spelled out
		{"", true},
		{"cache_max_entries 5", false},
		{"cache_ttl 2m", false},
		{"negative_cache_ttl 10s", false},
		{"stale_if_error off", false},
		{"token_ttl 10m", false},
		{"max_key_lifetime 720h", false},
		{"max_keys_per_user 3", false},
		{"login_failure_limit 2", false},
		{"client_failure_limit 3", false},
		{"failure_window 2m", false},
		{"login_cpu_share 0.5", false},
	} {
		site.loadWith(t, storage+"\n"+tc.option, "base")
		_, now := sharedStateFor(t, prefix)
		if tc.same != (now == state) {
			t.Errorf("reload with %q: same shared state %v, want %v", tc.option, now == state, tc.same)
		}
		if now != state {
			if err := state.store.Ping(t.Context()); err == nil {
				t.Errorf("reload with %q: the replaced shared state's store is still open", tc.option)
			}
		}
		site.loadWith(t, storage, "base") // back to the base settings for the next case
		_, state = sharedStateFor(t, prefix)
	}
}
