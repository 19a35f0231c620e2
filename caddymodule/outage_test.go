package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// When the store cannot answer, a credential that needs it gets 503 StoreUnavailable
// through a real Caddy, never a 401 that would tell the client its key is bad.
func TestStoreOutageAnswers503(t *testing.T) {
	site := newTestSite(t)
	port := site.load(t, "ok")
	t.Cleanup(func() { caddy.Stop() })

	_, state := sharedStateFor(t, "sqlite:"+site.db+"|")
	state.store.Close() // the database goes away under the running gateway

	key, _, _ := state.verifier.KeyTag().NewKey() // well-formed and tagged: only the store can say
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

func init() { caddy.RegisterModule(outageStorage{}) }

// storeDown cuts every outageStorage store off from its database while set.
var storeDown atomic.Bool

// outageStorage is the SQLite backend with its store behind an outageStore. A database
// going away is outside our control, so the test switches it off in front of the real
// one, and back on.
type outageStorage struct{ SQLiteStorage }

func (outageStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "keygate.storage.outage", New: func() caddy.Module { return new(outageStorage) }}
}

func (s *outageStorage) OpenStore(ctx context.Context) (storage.Store, error) {
	st, err := s.SQLiteStorage.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	return outageStore{st}, nil
}

// outageStore fails, while storeDown is set, the queries behind requests, logins,
// refreshes and key listings.
type outageStore struct{ storage.Store }

var errUnreachable = errors.New("test: the database is unreachable")

func (s outageStore) KeyGrantByDigest(ctx context.Context, d []byte) (storage.KeyGrant, error) {
	if storeDown.Load() {
		return storage.KeyGrant{}, errUnreachable
	}
	return s.Store.KeyGrantByDigest(ctx, d)
}

func (s outageStore) UserByUID(ctx context.Context, uid string) (storage.User, error) {
	if storeDown.Load() {
		return storage.User{}, errUnreachable
	}
	return s.Store.UserByUID(ctx, uid)
}

func (s outageStore) UsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	if storeDown.Load() {
		return nil, errUnreachable
	}
	return s.Store.UsersByEmail(ctx, email)
}

func (s outageStore) SessionByID(ctx context.Context, id string) (storage.Session, error) {
	if storeDown.Load() {
		return storage.Session{}, errUnreachable
	}
	return s.Store.SessionByID(ctx, id)
}

func (s outageStore) ListAPIKeys(ctx context.Context, f storage.APIKeyFilter, p storage.Page) ([]storage.APIKey, string, error) {
	if storeDown.Load() {
		return nil, "", errUnreachable
	}
	return s.Store.ListAPIKeys(ctx, f, p)
}

// Through a real Caddy: while the store cannot answer, a key validated within
// stale_if_error and a token keep working; an unknown key, a login, a refresh and the
// management API get 503; when the store answers again, everything works with no restart.
func TestStoreOutageServesRecentCredentialsAndRecovers(t *testing.T) {
	site := newTestSite(t)
	port := site.loadWith(t, "\t\tstorage outage "+site.db+"\n\t\tcache_ttl 1s\n\t\tstale_if_error 1m", "ok")
	t.Cleanup(func() { storeDown.Store(false); caddy.Stop() })
	_, state := sharedStateFor(t, "sqlite:"+site.db+"|")
	key, password := outageFixture(t, state)
	gw := gateway{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	login := `{"emailId":"dev@acme.test","password":"` + password + `"}`

	gw.want(200, "", "GET", "/", "ApiKey", key)
	token := gw.token(login)
	time.Sleep(1100 * time.Millisecond) // past cache_ttl: the key's decision is stale

	storeDown.Store(true)
	unknown, _, _ := state.verifier.KeyTag().NewKey()
	forged, _, _ := authcore.NewLegacyKey()
	stale := staleServed(t)
	gw.want(200, "", "GET", "/", "ApiKey", key)
	gw.want(200, "", "GET", "/", "Authorization", token) // from the token's claims
	if n := staleServed(t) - stale; n != 2 {
		t.Fatalf("keygate_cache_requests_total{result=\"stale\"} grew by %v, want 2", n)
	}
	gw.want(503, "StoreUnavailable", "GET", "/", "ApiKey", unknown)
	gw.want(401, "CredentialInvalid", "GET", "/", "ApiKey", forged) // its tag says so, no store needed
	gw.want(503, "StoreUnavailable", "POST", "/v1/auth/authenticate", "", login)
	gw.want(503, "StoreUnavailable", "GET", "/v1/auth/refresh/"+token, "", "")
	gw.want(503, "StoreUnavailable", "GET", "/v1/apiKeys", "ApiKey", key)

	storeDown.Store(false)
	gw.want(401, "CredentialInvalid", "GET", "/", "ApiKey", unknown)
	gw.want(200, "", "GET", "/v1/apiKeys", "ApiKey", key)
	gw.want(200, "", "GET", "/", "Authorization", gw.token(login))
}

// staleServed reads keygate_cache_requests_total{result="stale"}.
func staleServed(t *testing.T) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(keygateMetrics().cacheRequests)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == "stale" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// outageFixture creates a user with a key and a password in the shared state's store.
func outageFixture(t *testing.T, state *sharedState) (key, password string) {
	t.Helper()
	ctx := t.Context()
	admin := manage.Operator{Service: state.service}
	if _, err := admin.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	password = "pw-dev-123"
	u, err := admin.CreateUser(ctx, manage.NewUser{TenantName: "acme", Email: "dev@acme.test", Role: storage.RoleUser, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateAPIKey(ctx, manage.NewAPIKey{User: u, Name: "outage", Expiry: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	return k.Key, password
}

// gateway sends requests to a running Caddy and checks the answers.
type gateway struct {
	t    *testing.T
	base string
}

// do sends a request with one header (or, for POST, a JSON body) and returns the status
// and the body's code and Authorization fields.
func (g gateway) do(method, path, header, value string) (int, map[string]any) {
	g.t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(value)
	}
	req, err := http.NewRequestWithContext(g.t.Context(), method, g.base+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	var fields map[string]any
	json.NewDecoder(res.Body).Decode(&fields)
	return res.StatusCode, fields
}

func (g gateway) want(status int, code, method, path, header, value string) {
	g.t.Helper()
	got, fields := g.do(method, path, header, value)
	if got != status || (code != "" && fields["code"] != code) {
		g.t.Fatalf("%s %s: got %d %v, want %d %s", method, path, got, fields, status, code)
	}
}

// token logs in with the JSON body login and returns the token.
func (g gateway) token(login string) string {
	g.t.Helper()
	status, fields := g.do(http.MethodPost, "/v1/auth/authenticate", "", login)
	token, _ := fields["Authorization"].(string)
	if status != http.StatusOK || token == "" {
		g.t.Fatalf("login: %d %v", status, fields)
	}
	return token
}
