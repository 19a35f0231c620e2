package caddymodule

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// A reload that keeps the keygate settings keeps the open store and the warm cache; the
// last config to go closes them.
func TestReloadKeepsSharedStateAndStopReleasesIt(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	db := filepath.Join(dir, "kg.db")
	config := func(body string) []byte {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(fmt.Sprintf(
			"{\n\tadmin off\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\trespond %q\n}\n", db, port, body)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	prefix := "sqlite:" + db + "|"

	if err := caddy.Load(config("one"), true); err != nil {
		t.Fatal(err)
	}
	key, first := sharedStateFor(t, prefix)
	if err := caddy.Load(config("two"), true); err != nil {
		t.Fatal(err)
	}
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
