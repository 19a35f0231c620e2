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
