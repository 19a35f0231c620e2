package tests

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue reads one sample from a Prometheus text exposition; -1 when absent.
func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func scrape(t *testing.T, adminPort int) string {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// Keygate's metrics appear at Caddy's metrics endpoint after traffic, and keep counting
// across a config reload.
func TestMetricsAppearAndSurviveAReload(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	upstream := startEchoUpstream(t)
	adminPort, port := freePort(t), freePort(t)
	config := func(body string) string {
		return fmt.Sprintf("{\n\tadmin 127.0.0.1:%d\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\treverse_proxy %s\n}\n# %s\n",
			adminPort, filepath.Join(dir, "kg.db"), port, upstream, body)
	}
	loadCaddyfile(t, config("one"))
	t.Cleanup(stopCaddy)
	g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port), dbPath: filepath.Join(dir, "kg.db")}
	g.admin, g.store = openAdmin(t, g.dbPath)
	s := g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")

	for range 3 {
		g.do(t, "/", map[string]string{"ApiKey": s.userKey})
	}
	g.do(t, "/", map[string]string{"ApiKey": "kg_nope"})
	g.login(t, "", `{"emailId":"ann@acme.test","password":"wrong"}`, nil)
	_, token, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"pw-ann-123"}`, nil)
	g.do(t, "/", map[string]string{"Authorization": token})

	text := scrape(t, adminPort)
	for series, atLeast := range map[string]float64{
		`keygate_auth_requests_total{method="apikey",result="ok"}`:        3,
		`keygate_auth_requests_total{method="apikey",result="malformed"}`: 1,
		`keygate_auth_requests_total{method="token",result="ok"}`:         1,
		`keygate_cache_requests_total{result="hit"}`:                      2,
		`keygate_cache_requests_total{result="miss"}`:                     2,
		`keygate_store_duration_seconds_count{op="key_lookup"}`:           1,
		`keygate_logins_total{result="failed"}`:                           1,
		`keygate_logins_total{result="ok"}`:                               1,
		`keygate_tokens_issued_total{via="password"}`:                     1,
		`keygate_auth_duration_seconds_count{method="apikey"}`:            4,
	} {
		if v := metricValue(t, text, series); v < atLeast {
			t.Errorf("%s = %v, want at least %v", series, v, atLeast)
		}
	}
	for _, secret := range []string{s.userKey, token, "pw-ann-123", s.user.UID} {
		if strings.Contains(text, secret) {
			t.Errorf("the metrics carry %q", secret)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "keygate_") && strings.Contains(line, "127.0.0.1") {
			t.Errorf("a Keygate series carries the client address: %s", line)
		}
	}

	before := metricValue(t, text, `keygate_auth_requests_total{method="apikey",result="ok"}`)
	loadCaddyfile(t, config("two")) // a reload: a new config, a new metrics registry
	sent := requestAcrossReload(t, g.url, s.userKey)
	after := metricValue(t, scrape(t, adminPort), `keygate_auth_requests_total{method="apikey",result="ok"}`)
	if after < before+1 || after > before+float64(sent) {
		t.Fatalf("after a reload the counter is %v, want %v (one more per request sent: %d)", after, before+1, sent)
	}
}

// requestAcrossReload sends a keyed GET until one is answered 200, returning how many
// were sent. A connection made in the moment of a reload can be closed by the old
// server without an answer (Caddy's doing; a client retries such a GET), and the old
// server may have counted it.
func requestAcrossReload(t *testing.T, url, key string) int {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	for sent := 1; ; sent++ {
		req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
		req.Header.Set("ApiKey", key)
		res, err := client.Do(withTest(req, t))
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("after a reload a valid key got %d", res.StatusCode)
			}
			return sent
		}
		if sent == 3 {
			t.Fatalf("after a reload: %v", err)
		}
	}
}
