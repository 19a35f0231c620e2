package caddymodule

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/keygate/keygate/authcore"
)

// When the store cannot answer, a credential that needs it gets 503 StoreUnavailable
// through a real Caddy, never a 401 that would tell the client its key is bad.
func TestStoreOutageAnswers503(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	db := filepath.Join(dir, "kg.db")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(fmt.Sprintf(
		"{\n\tadmin off\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\trespond ok\n}\n", db, port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caddy.Stop() })

	_, state := sharedStateFor(t, "sqlite:"+db+"|")
	state.store.Close() // the database goes away under the running gateway

	key, _, _ := authcore.NewKey()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	req.Header.Set("ApiKey", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Code, Message string }
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusServiceUnavailable || body.Code != "StoreUnavailable" {
		t.Fatalf("got %d %+v, want 503 StoreUnavailable", res.StatusCode, body)
	}
}
