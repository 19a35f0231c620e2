package tests

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkGateway measures whole requests through one in-process Caddy, from a
// keep-alive client to a small upstream: plain reverse_proxy (the baseline) against
// Keygate with a cached API key, a cached token, and a rejected malformed key. Compare
// ns/op with the baseline of the same run:
//
//	go test -run '^$' -bench Gateway -benchtime 20000x ./tests
func BenchmarkGateway(b *testing.B) {
	dir := b.TempDir()
	b.Setenv("XDG_DATA_HOME", dir)
	// The same small answer whatever the request carries, so only the gateway differs.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	defer upstream.Close()
	plain, gated := freePort(b), freePort(b)
	loadCaddyfile(b, fmt.Sprintf(`{
	admin off
	persist_config off
	keygate {
		storage sqlite %s/kg.db
		# Measure the reject path itself, not the throttle that soon answers a flood.
		client_failure_limit 1000000000
	}
}
http://127.0.0.1:%d {
	reverse_proxy %s
}
http://127.0.0.1:%d {
	keygate
	reverse_proxy %s
}
`, dir, plain, upstream.Listener.Addr(), gated, upstream.Listener.Addr()))
	defer stopCaddy()

	g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", gated), dbPath: dir + "/kg.db"}
	g.admin, g.store = openAdmin(b, g.dbPath)
	s := g.seed(b)
	g.passwordUser(b, "ann@acme.test", "pw-ann-123")
	_, token, _ := g.login(b, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	run := func(b *testing.B, url string, header map[string]string, want int) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		for b.Loop() {
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != want {
				b.Fatalf("status %d, want %d", res.StatusCode, want)
			}
		}
	}
	b.Run("reverse_proxy", func(b *testing.B) { run(b, fmt.Sprintf("http://127.0.0.1:%d/", plain), nil, 200) })
	b.Run("keygate_apikey", func(b *testing.B) { run(b, g.url+"/", map[string]string{"ApiKey": s.userKey}, 200) })
	b.Run("keygate_token", func(b *testing.B) { run(b, g.url+"/", map[string]string{"Authorization": token}, 200) })
	b.Run("keygate_malformed", func(b *testing.B) {
		run(b, g.url+"/", map[string]string{"ApiKey": strings.Repeat("x", 49)}, 401)
	})
}
