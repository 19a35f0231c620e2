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

// testSite is a Caddy config with a keygate store in a temp dir and one site.
type testSite struct {
	dir, db string
}

func newTestSite(t *testing.T) testSite {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	return testSite{dir: dir, db: filepath.Join(dir, "kg.db")}
}

// load runs Caddy with a keygate site answering body behind the handler, on a free
// port, and returns the port.
func (s testSite) load(t *testing.T, body string) int {
	t.Helper()
	return s.loadWith(t, "storage sqlite "+s.db, body)
}

// loadWith is load with the keygate global options given (newline-separated).
func (s testSite) loadWith(t *testing.T, options, body string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(fmt.Sprintf(
		"{\n\tadmin off\n\tpersist_config off\n\tkeygate {\n%s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\trespond %q\n}\n", options, port, body)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	return port
}
