package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/keygate/keygate/caddymodule"
)

// gateway is a Caddy with Keygate, run in this process, in front of an upstream that
// answers "ok".
type gateway struct {
	url       string
	config    []byte
	noPreload []byte // config with preload_keys 0
	admin     string // the admin endpoint, for /metrics
	upstream  *httptest.Server
	client    *http.Client
}

// startGateway prepares the gateway on target; firstAnswer starts it.
func startGateway(target storeTarget) (*gateway, error) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	port, err := freePort()
	if err != nil {
		upstream.Close()
		return nil, err
	}
	adminPort, err := freePort()
	if err != nil {
		upstream.Close()
		return nil, err
	}
	caddyfile := `{
	admin 127.0.0.1:%d
	persist_config off
	auto_https off
	log {
		level ERROR
	}
	keygate {
		%s
		%s
	}
}
http://127.0.0.1:%d {
	keygate
	reverse_proxy %s
}
`
	adapt := func(extra string) ([]byte, error) {
		text := fmt.Sprintf(caddyfile, adminPort, target.caddyfileStorage(), extra, port, upstream.Listener.Addr())
		cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(text), nil)
		return cfg, err
	}
	cfg, err := adapt("")
	if err != nil {
		upstream.Close()
		return nil, fmt.Errorf("adapting the Caddyfile: %w", err)
	}
	noPreload, err := adapt("preload_keys 0")
	if err != nil {
		upstream.Close()
		return nil, fmt.Errorf("adapting the Caddyfile: %w", err)
	}
	return &gateway{
		url: fmt.Sprintf("http://127.0.0.1:%d/", port), config: cfg, noPreload: noPreload, upstream: upstream,
		admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort), client: &http.Client{Timeout: 10 * time.Second},
	}, nil
}

func (g *gateway) stop() {
	caddy.Stop()
	g.upstream.Close()
}

// firstAnswer loads the config and returns how long it took until key was answered 200:
// the start-up a restarted node's clients see.
func (g *gateway) firstAnswer(key string) (time.Duration, error) {
	start := time.Now()
	if err := caddy.Load(g.config, true); err != nil {
		return 0, fmt.Errorf("loading the config: %w", err)
	}
	for {
		err := g.get(key)
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("no 200 within 30 s of start: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// get sends one request with key and wants the upstream's 200.
func (g *gateway) get(key string) error {
	req, err := http.NewRequest(http.MethodGet, g.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("ApiKey", key)
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("a valid key was answered %d %q", resp.StatusCode, body)
	}
	return nil
}

// cacheMemory uses each of keys once and returns the live heap that grew by, per key,
// and the number of keys (all of them are cached: the cache holds 100,000).
func (g *gateway) cacheMemory(keys []string) (float64, int, error) {
	before := liveHeap()
	for _, k := range keys {
		if err := g.get(k); err != nil {
			return 0, 0, err
		}
	}
	// Usage times are flushed to the store in batches; let the batch the warm-up made go
	// before the heap is read, so that it is not counted as cache.
	time.Sleep(2 * time.Second)
	after := liveHeap()
	return float64(int64(after)-int64(before)) / float64(len(keys)), len(keys), nil
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// pacedRequests sends one request per key at rate per second, each for a key the
// gateway has not seen, and returns their latencies.
func (g *gateway) pacedRequests(keys []string, rate int) (latencies, error) {
	return paced(len(keys), rate, func(i int) error { return g.get(keys[i]) })
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
