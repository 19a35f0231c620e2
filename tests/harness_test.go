// Package tests runs Keygate end to end: a real Caddy with the keygate modules, in front
// of a real upstream HTTP server, on a real SQLite file.
package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	_ "github.com/keygate/keygate/caddymodule"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// gateway is a Caddy running in this process with a keygate site in front of an
// upstream that echoes what it received.
type gateway struct {
	url      string
	dbPath   string
	dataDir  string
	upstream *httptest.Server
	admin    manage.Operator // writes to the gateway's store as the command line does
	store    storage.Store   // the same store, for fixtures the service would refuse
}

// echoed is what the upstream saw; the trailers as they were once the body was read.
type echoed struct {
	Header   http.Header `json:"header"`
	Trailer  http.Header `json:"trailer,omitempty"`
	RawQuery string      `json:"rawQuery"`
	Body     string      `json:"body,omitempty"`
}

func startGateway(t testing.TB, handlerBlock string) *gateway {
	t.Helper()
	return startGatewayWith(t, "", handlerBlock)
}

// startGatewayWith adds keygateOptions to the keygate global options block.
func startGatewayWith(t testing.TB, keygateOptions, handlerBlock string) *gateway {
	t.Helper()
	return startGatewayServers(t, underscoreAndDotSpellings, keygateOptions, handlerBlock)
}

// underscoreAndDotSpellings lets some underscore and dot spellings of identity headers
// through Caddy's own filter, to show that Keygate strips them by itself. (Caddy then
// drops their hyphenated spellings.)
const underscoreAndDotSpellings = `expected_underscore_headers x_tenant_uid x_auth_method project_uid
		expected_dot_headers x.user.role`

// startGatewayServers is startGatewayWith with servers as the servers global options.
func startGatewayServers(t testing.TB, servers, keygateOptions, handlerBlock string) *gateway {
	t.Helper()
	if !strings.Contains(keygateOptions, "login_cpu_share") {
		// The whole CPU for hashing, unless the test is about the budget: at the default,
		// how many logins a test may make at once depends on this machine's speed.
		keygateOptions += "\n\t\tlogin_cpu_share 1"
	}
	g := &gateway{dataDir: t.TempDir()}
	g.dbPath = filepath.Join(g.dataDir, "keygate.db")
	t.Setenv("XDG_DATA_HOME", g.dataDir)
	t.Setenv("XDG_CONFIG_HOME", g.dataDir)
	g.upstream = newEchoServer()
	t.Cleanup(g.upstream.Close)

	port := freePort(t)
	g.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	caddyfile := fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	servers {
		%s
	}
	keygate {
		storage sqlite %s
		negative_cache_ttl 1m
		%s
	}
}
http://127.0.0.1:%d {
	keygate %s
	reverse_proxy %s
}
`, servers, g.dbPath, keygateOptions, port, handlerBlock, strings.TrimPrefix(g.upstream.URL, "http://"))
	loadCaddyfile(t, caddyfile)
	t.Cleanup(stopCaddy)
	contract.skipGateway(t, g, handlerBlock)

	g.admin, g.store = openAdmin(t, g.dbPath)
	return g
}

// openAdmin opens the gateway's store a second time, as the command line does.
func openAdmin(t testing.TB, dbPath string) (manage.Operator, storage.Store) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), sqlite.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return operatorOn(store), store
}

// unknownKeyOn is a key the gateways on store could have made (its tag is valid) that
// the store does not hold, as a deleted key is: only a store lookup can refuse it.
func unknownKeyOn(t testing.TB, store storage.Store) string {
	t.Helper()
	tag, err := authcore.LoadKeyTag(context.Background(), store, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _, _ := tag.NewKey()
	return key
}

// taggedKeyOn is a key tagged for store, its digest and hint, for fixtures that store a
// key the service would refuse to make (one expired already).
func taggedKeyOn(t testing.TB, store storage.Store) (string, authcore.Digest, string) {
	t.Helper()
	tag, err := authcore.LoadKeyTag(context.Background(), store, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tag.NewKey()
}

// operatorOn is the service on store as the command line uses it.
func operatorOn(store storage.Store) manage.Operator {
	return manage.Operator{Service: manage.NewService(manage.ServiceConfig{Store: store}), OSUser: "tester"}
}

// newEchoServer is the upstream: it answers with the headers, query, body and trailers
// it received.
func newEchoServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // the trailers arrive after it
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(upstreamMarker, "echo") // not Keygate's answer: the contract check skips it
		json.NewEncoder(w).Encode(echoed{Header: r.Header, Trailer: r.Trailer, RawQuery: r.URL.RawQuery, Body: string(body)})
	}))
}

func stopCaddy() { caddy.Stop() }

func loadCaddyfile(t testing.TB, caddyfile string) {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v", err)
	}
	// A reload closes the old servers' connections as they go idle; a client that took
	// one from its pool in that moment would see it reset (Go retries a GET only when
	// nothing was written yet).
	http.DefaultClient.CloseIdleConnections()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// response is a gateway answer: either the upstream's echo or Keygate's JSON error.
type response struct {
	status int
	echo   echoed
	err    struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Ref     string `json:"ref"`
	}
	body string
}

func (g *gateway) do(t testing.TB, pathAndQuery string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.url+pathAndQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = []string{v} // as sent: no canonicalisation, to test case variants
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(withTest(req, t))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, body: string(body)}
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &r.echo); err != nil {
			t.Fatalf("upstream answer %q: %v", body, err)
		}
	} else if err := json.Unmarshal(body, &r.err); err != nil {
		t.Fatalf("status %d with a body that is not JSON: %q", res.StatusCode, body)
	}
	return r
}

// call sends a request with a raw body and returns the response with its body read.
func (g *gateway) call(t testing.TB, method, pathAndQuery string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.url+pathAndQuery, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = []string{v}
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(withTest(req, t))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// seed holds a tenant with a user, a tenant admin and a project.
type seed struct {
	tenant        storage.Tenant
	user, admin   storage.User
	project       storage.Project
	userKey       string
	userKeyRecord storage.APIKey
}

func (g *gateway) seed(t testing.TB) seed {
	t.Helper()
	ctx := context.Background()
	var s seed
	var err error
	if s.tenant, err = g.admin.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	s.user = g.mustUser(t, "dev@acme.test", storage.RoleUser)
	s.admin = g.mustUser(t, "boss@acme.test", storage.RoleTenantAdmin)
	if s.project, err = g.admin.CreateProject(ctx, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	k := g.mustKey(t, s.user, "30d")
	s.userKey, s.userKeyRecord = k.Key, k.Record
	return s
}

func (g *gateway) mustUser(t testing.TB, email string, role storage.Role) storage.User {
	t.Helper()
	u, err := g.admin.CreateUser(context.Background(), manage.NewUser{TenantName: "acme", Email: email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (g *gateway) mustKey(t testing.TB, u storage.User, expiry string) manage.CreatedAPIKey {
	t.Helper()
	k, err := g.admin.CreateAPIKey(context.Background(), manage.NewAPIKey{User: u, Name: "e2e", Expiry: expiry})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// eventually retries check until it passes or a second is up: for changes made by
// another process, which the gateway sees on its next poll of the store (every 200ms).
func eventually(t testing.TB, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 1s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
