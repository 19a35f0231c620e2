package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// behindProxy is a gateway that takes the client address from X-Forwarded-For sent by a
// proxy on the loopback, as a flood through a CDN or load balancer arrives.
const behindProxy = "trusted_proxies static 127.0.0.0/8"

// loginAs posts a password login from the address from, presenting a device cookie if
// one is given.
func (g *gateway) loginAs(t testing.TB, email, password, from, device string) (*http.Response, string) {
	header := map[string]string{"X-Forwarded-For": from}
	if device != "" {
		header["Cookie"] = "keygate_device=" + device
	}
	res, _, body := g.login(t, "", fmt.Sprintf(`{"emailId":%q,"password":%q}`, email, password), header)
	return res, body
}

// deviceCookieOf logs in and returns the device cookie the answer set.
func (g *gateway) deviceCookieOf(t *testing.T, email, password string) string {
	t.Helper()
	res, body := g.loginAs(t, email, password, "192.0.2.10", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == "keygate_device" {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/v1/auth/" || c.MaxAge < 89*24*3600 {
				t.Fatalf("device cookie %+v, want HttpOnly, Secure, SameSite=Strict, Path=/v1/auth/, 90 days", c)
			}
			return c.Value
		}
	}
	t.Fatalf("the login of %s set no device cookie: %v", email, res.Header["Set-Cookie"])
	return ""
}

// loginFlood sends logins for random emails from random addresses until stopped, and
// records what each refusal for the budget looked like.
type loginFlood struct {
	stop    context.CancelFunc
	done    sync.WaitGroup
	busy    atomic.Int64
	mu      sync.Mutex
	bad     []string        // refusals that broke the contract
	latency []time.Duration // of the refusals
}

func startLoginFlood(t *testing.T, g *gateway, workers int) *loginFlood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &loginFlood{stop: cancel}
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range workers {
		f.done.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				f.one(client, g, fmt.Sprintf("flood%d-%d@x.test", w, i), fmt.Sprintf("10.%d.%d.%d", w, i>>8&255, i&255))
			}
		})
	}
	t.Cleanup(f.end)
	return f
}

func (f *loginFlood) one(client *http.Client, g *gateway, email, from string) {
	req, _ := http.NewRequest(http.MethodPost, g.url+"/v1/auth/authenticate", strings.NewReader(fmt.Sprintf(`{"emailId":%q,"password":"guess"}`, email)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", from)
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return
	}
	var body struct{ Code string }
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	took := time.Since(start)
	if res.StatusCode != http.StatusServiceUnavailable {
		return
	}
	f.busy.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = append(f.latency, took)
	if body.Code != "LoginBusy" || res.Header.Get("Retry-After") == "" {
		f.bad = append(f.bad, fmt.Sprintf("code %q, Retry-After %q", body.Code, res.Header.Get("Retry-After")))
	}
}

func (f *loginFlood) end() {
	f.stop()
	f.done.Wait()
}

// During a flood of logins from many addresses, logins beyond the hashing budget are
// refused at once with 503 LoginBusy and Retry-After; a user whose browser holds a
// device cookie still gets in at the first attempt; a cookie of another account, or a
// tampered one, does not help; and an unknown email is answered like a known one.
func TestLoginFloodIsRefusedAndDeviceCookiesGetIn(t *testing.T) {
	g := startGatewayServers(t, behindProxy, "login_cpu_share 0.05", "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	g.passwordUser(t, "bob@acme.test", "pw-bob-123")
	ann, bob := g.deviceCookieOf(t, "ann@acme.test", "pw-ann-123"), g.deviceCookieOf(t, "bob@acme.test", "pw-bob-123")

	flood := startLoginFlood(t, g, 6)
	eventually(t, "the flood refused", func() bool { return flood.busy.Load() >= 50 })

	for _, u := range []struct{ email, password, device string }{{"ann@acme.test", "pw-ann-123", ann}, {"bob@acme.test", "pw-bob-123", bob}} {
		if res, body := g.loginAs(t, u.email, u.password, "192.0.2.10", u.device); res.StatusCode != http.StatusOK {
			t.Fatalf("%s with a device cookie, the first attempt during the flood: %d %s", u.email, res.StatusCode, body)
		}
	}
	for name, cookie := range map[string]string{"bob's": bob, "tampered": ann[:len(ann)-2] + "AA", "none": ""} {
		refused := 0
		for range 5 {
			if res, _ := g.loginAs(t, "ann@acme.test", "pw-ann-123", "192.0.2.10", cookie); res.StatusCode == http.StatusServiceUnavailable {
				refused++
			}
		}
		if refused < 4 {
			t.Errorf("with %s device cookie ann got past the flood %d times in 5", name, 5-refused)
		}
	}
	sameAnswers := 0
	for i := range 10 {
		from := fmt.Sprintf("198.51.100.%d", i)
		known, knownBody := g.loginAs(t, "ann@acme.test", "not-her-password", from, "")
		unknown, unknownBody := g.loginAs(t, "nobody@acme.test", "not-her-password", from, "")
		if known.StatusCode == unknown.StatusCode && known.StatusCode == http.StatusServiceUnavailable {
			sameAnswers++
			if withoutRef(knownBody) != withoutRef(unknownBody) || known.Header.Get("Retry-After") == "" || unknown.Header.Get("Retry-After") == "" {
				t.Errorf("known email: %s (Retry-After %q), unknown: %s (Retry-After %q)", knownBody, known.Header.Get("Retry-After"), unknownBody, unknown.Header.Get("Retry-After"))
			}
		}
	}
	if sameAnswers < 8 {
		t.Errorf("only %d of 10 known and unknown email pairs were both refused during the flood", sameAnswers)
	}

	flood.end()
	flood.mu.Lock()
	defer flood.mu.Unlock()
	if len(flood.bad) > 0 {
		t.Fatalf("%d refusals broke the contract, e.g. %s", len(flood.bad), flood.bad[0])
	}
	slices.Sort(flood.latency)
	p99 := flood.latency[len(flood.latency)*99/100]
	t.Logf("%d refusals; p50 %v, p99 %v (over loopback HTTP, with the flood's own load)", len(flood.latency), flood.latency[len(flood.latency)/2], p99)
	if p99 > time.Second { // loose on a shared machine: queued refusals would take seconds
		t.Fatalf("refusals waited: p99 %v", p99)
	}
}

// withoutRef drops the request id from an error body, which differs between any two.
func withoutRef(body string) string {
	var e map[string]any
	json.Unmarshal([]byte(body), &e)
	delete(e, "ref")
	b, _ := json.Marshal(e)
	return string(b)
}

// A guesser who locks an account out does not lock out its owner's browser; a device
// cookie used to guess is locked out itself.
func TestDeviceCookieOutlastsTheAccountLockoutButNotItsOwn(t *testing.T) {
	g := startGatewayServers(t, behindProxy, "", "")
	g.seed(t)
	g.passwordUser(t, "ann@acme.test", "pw-ann-123")
	ann := g.deviceCookieOf(t, "ann@acme.test", "pw-ann-123")
	for i := range 5 {
		g.loginAs(t, "ann@acme.test", "guess", fmt.Sprintf("203.0.113.%d", i), "")
	}
	if res, body := g.loginAs(t, "ann@acme.test", "pw-ann-123", "192.0.2.10", ""); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the locked account without a device cookie: %d %s, want 429", res.StatusCode, body)
	}
	if res, body := g.loginAs(t, "ann@acme.test", "pw-ann-123", "192.0.2.10", ann); res.StatusCode != http.StatusOK {
		t.Fatalf("the locked account with its device cookie: %d %s", res.StatusCode, body)
	}
	for i := range 5 {
		if res, body := g.loginAs(t, "ann@acme.test", "guess", "192.0.2.10", ann); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d with the device cookie: %d %s", i+1, res.StatusCode, body)
		}
	}
	if res, body := g.loginAs(t, "ann@acme.test", "pw-ann-123", "192.0.2.10", ann); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the device cookie after 5 failures: %d %s, want 429", res.StatusCode, body)
	}
}
