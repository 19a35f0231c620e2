package caddymodule

import (
	"fmt"
	"net"
	"path/filepath"
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
			"{\n\tadmin off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\trespond %q\n}\n", db, port, body)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	key := "sqlite:" + db + "|0|0s|0s"

	if err := caddy.Load(config("one"), true); err != nil {
		t.Fatal(err)
	}
	first := sharedStateFor(t, key)
	if err := caddy.Load(config("two"), true); err != nil {
		t.Fatal(err)
	}
	if refs, ok := statePool.References(key); !ok || refs != 1 {
		t.Fatalf("after reload: %d references (present %v), want 1", refs, ok)
	}
	if second := sharedStateFor(t, key); second != first {
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

func sharedStateFor(t *testing.T, key string) *sharedState {
	t.Helper()
	var found *sharedState
	statePool.Range(func(k, v any) bool {
		if k == key {
			found = v.(*sharedState)
		}
		return true
	})
	if found == nil {
		t.Fatalf("no shared state under %q", key)
	}
	return found
}
