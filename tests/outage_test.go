package tests

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// With traffic running, the database becomes unreachable: keys validated recently keep
// working (stale_if_error), as do unrevoked tokens; an unknown key, a login and the
// management API answer 503, never 401; when the database returns, everything works
// again with no restart.
func TestDatabaseOutage(t *testing.T) {
	dsn := pgtest.Schema(t)
	proxy := startCutProxy(t, databaseAddr(t, dsn))
	proxied := pgtest.WithParam(pgtest.WithParam(dsn, "host", "127.0.0.1"), "port", strconv.Itoa(proxy.Addr().Port))
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	// A short cache TTL, so that what keeps the key working during the outage is the
	// stale_if_error window and not a still-fresh entry.
	n := startNodes(t, proxied, upstream.URL, "cache_ttl 1s\n\t\tstale_if_error 1m")[0]
	c := seedCluster(t, dsn)
	devKey := c.key(t, c.dev).Key
	if got := n.status(t, "ApiKey", devKey); got != http.StatusOK {
		t.Fatalf("before the outage: %d, want 200", got)
	}
	_, token, raw := n.login(t, "", `{"emailId":"dev@acme.test","password":"`+nodeAdminPassword+`"}`, nil)
	if token == "" {
		t.Fatalf("login: %s", raw)
	}

	traffic := startTraffic(t, n, devKey)
	proxy.Cut()
	time.Sleep(1500 * time.Millisecond) // past the cache TTL: entries are stale now

	if got := n.status(t, "ApiKey", devKey); got != http.StatusOK {
		t.Errorf("recently validated key during the outage: %d, want 200", got)
	}
	if got := n.status(t, "Authorization", token); got != http.StatusOK {
		t.Errorf("token during the outage: %d, want 200", got)
	}
	unknown := unknownKeyOn(t, c.store)
	n.wantUnavailable(t, "unknown key", http.MethodGet, "/", map[string]string{"ApiKey": unknown}, "")
	n.wantUnavailable(t, "login", http.MethodPost, "/v1/auth/authenticate", nil,
		`{"emailId":"dev@acme.test","password":"`+nodeAdminPassword+`"}`)
	n.wantUnavailable(t, "management", http.MethodGet, "/v1/apiKeys", map[string]string{"ApiKey": devKey}, "")
	if ok, other := traffic.stop(); other != 0 {
		t.Errorf("during the outage the validated key got %d answers other than 200 (and %d 200s)", other, ok)
	}

	proxy.Restore()
	n.waitStatus(t, "ApiKey", unknown, http.StatusUnauthorized) // the store answers again
	fresh := c.key(t, c.dev).Key
	if got := n.status(t, "ApiKey", fresh); got != http.StatusOK {
		t.Errorf("key created after the outage: %d, want 200", got)
	}
	if res, body := n.call(t, http.MethodGet, "/v1/apiKeys", map[string]string{"ApiKey": devKey}, ""); res.StatusCode != http.StatusOK {
		t.Errorf("management after the outage: %d %s", res.StatusCode, body)
	}
}

// wantUnavailable checks that a request answers 503 StoreUnavailable.
func (n *node) wantUnavailable(t *testing.T, what, method, path string, header map[string]string, body string) {
	t.Helper()
	res, got := n.call(t, method, path, header, body)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(got, `"StoreUnavailable"`) {
		t.Errorf("%s during the outage: %d %s, want 503 StoreUnavailable", what, res.StatusCode, got)
	}
}

// databaseAddr is the host:port the DSN points at.
func databaseAddr(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
}

// traffic sends requests with one key in a loop and counts the answers.
type traffic struct {
	ok, other atomic.Int64
	done      chan struct{}
	wg        sync.WaitGroup
}

func startTraffic(t *testing.T, n *node, key string) *traffic {
	tr := &traffic{done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	tr.wg.Add(1)
	go func() {
		defer tr.wg.Done()
		for {
			select {
			case <-tr.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			req, _ := http.NewRequest(http.MethodGet, n.url+"/", nil)
			req.Header.Set("ApiKey", key)
			res, err := client.Do(req)
			if err == nil && res.StatusCode == http.StatusOK {
				tr.ok.Add(1)
			} else {
				tr.other.Add(1)
			}
			if err == nil {
				res.Body.Close()
			}
		}
	}()
	return tr
}

// stop ends the traffic and returns how many requests got 200 and how many did not.
func (tr *traffic) stop() (ok, other int64) {
	close(tr.done)
	tr.wg.Wait()
	return tr.ok.Load(), tr.other.Load()
}
