package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/authcore/sessions"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// benchHandler is a provisioned handler over a real SQLite store, without a server, so
// the benchmarks time ServeHTTP alone:
//
//	go test -run '^$' -bench ServeHTTP -benchmem ./caddymodule
func benchHandler(b *testing.B) (*Handler, string, string) {
	return benchHandlerWith(b, protect.BudgetConfig{})
}

// benchHandlerWith is benchHandler with the given password hashing budget.
func benchHandlerWith(b *testing.B, budget protect.BudgetConfig) (*Handler, string, string) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "kg.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	verifier, err := credentials.New(ctx, credentials.Config{Store: store, Observer: keygateMetrics()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(verifier.Close)
	issuer := sessions.New(store, verifier, sessions.Config{Observer: keygateMetrics(), ClientFailures: 1 << 30, HashBudget: budget})
	svc := manage.NewService(manage.ServiceConfig{Store: store, Caches: verifier})
	admin := manage.Operator{Service: svc}
	if _, err := admin.CreateTenant(ctx, "acme"); err != nil {
		b.Fatal(err)
	}
	u, err := admin.CreateUser(ctx, manage.NewUser{TenantName: "acme", Email: "dev@acme.test", Role: storage.RoleUser, Password: "pw-dev-123"})
	if err != nil {
		b.Fatal(err)
	}
	k, err := admin.CreateAPIKey(ctx, manage.NewAPIKey{User: u, Name: "bench", Expiry: "30d"})
	if err != nil {
		b.Fatal(err)
	}
	issued, err := issuer.Login(ctx, sessions.Login{Email: "dev@acme.test", Password: "pw-dev-123", ClientIP: "192.0.2.1"})
	if err != nil {
		b.Fatal(err)
	}
	h := &Handler{verifier: verifier, issuer: issuer, service: svc, metrics: keygateMetrics(), logger: zap.NewNop()}
	h.identity = newIdentityHeaders(nil)
	h.authPrefix, h.apiPrefix = "/v1/auth/", "/v1/"
	return h, k.Key, issued.Token
}

// request is what Caddy hands a handler: a replacer and vars in the context.
func benchRequest(header string, value string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/orders?page=2", nil)
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "192.0.2.1"})
	r = r.WithContext(ctx)
	r.Header.Set(header, value)
	return r
}

type nextOK struct{}

func (nextOK) ServeHTTP(http.ResponseWriter, *http.Request) error { return nil }

// statusWriter records the status and discards the body, reusing its header map.
type statusWriter struct {
	h    http.Header
	code int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusWriter) WriteHeader(code int)        { w.code = code }

func benchServe(b *testing.B, h *Handler, header, value string, want int) {
	r := benchRequest(header, value)
	w := &statusWriter{h: http.Header{}}
	vals := []string{value}
	b.ReportAllocs()
	for b.Loop() {
		r.Header[http.CanonicalHeaderKey(header)] = vals // the handler removed it last time
		w.code = http.StatusOK
		clear(w.h)
		if err := h.ServeHTTP(w, r, nextOK{}); err != nil || w.code != want {
			b.Fatalf("status %d, err %v", w.code, err)
		}
	}
}

func BenchmarkServeHTTPCachedAPIKey(b *testing.B) {
	h, key, _ := benchHandler(b)
	benchServe(b, h, "ApiKey", key, http.StatusOK)
}

func BenchmarkServeHTTPCachedToken(b *testing.B) {
	h, _, token := benchHandler(b)
	benchServe(b, h, "Authorization", token, http.StatusOK)
}

func BenchmarkServeHTTPRejectMalformedKey(b *testing.B) {
	h, _, _ := benchHandler(b)
	benchServe(b, h, "ApiKey", "kg_not-a-key", http.StatusUnauthorized)
}

func BenchmarkServeHTTPRejectUnknownKey(b *testing.B) {
	h, _, _ := benchHandler(b)
	unknown, _, _ := h.verifier.KeyTag().NewKey() // a key this gateway could have made: a deleted one
	benchServe(b, h, "ApiKey", unknown, http.StatusUnauthorized)
}

// BenchmarkServeHTTPLoginRefusedForBudget is a login of a flood once password hashing is
// at its budget: the JSON body read, the throttles, the 503 LoginBusy. No hash, no store.
func BenchmarkServeHTTPLoginRefusedForBudget(b *testing.B) {
	// One hash costs a second of a budget of a thousandth of a CPU: once the burst is
	// spent, the budget is in debt for the rest of the benchmark.
	h, _, _ := benchHandlerWith(b, protect.BudgetConfig{Share: 0.001, Procs: 1, HashCost: time.Second})
	w := &statusWriter{h: http.Header{}}
	login := func(email string) error {
		body := `{"emailId":"` + email + `","password":"guess"}`
		r := benchRequest("Content-Type", "application/json")
		r.Method, r.URL.Path, r.Body, r.ContentLength = http.MethodPost, "/v1/auth/authenticate", io.NopCloser(strings.NewReader(body)), int64(len(body))
		clear(w.h)
		return h.ServeHTTP(w, r, nextOK{})
	}
	for i := range 20 { // spend the burst, each guess for its own email (no account lockout)
		if login(fmt.Sprintf("burst%d@x.test", i)); w.code == http.StatusServiceUnavailable {
			break
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := login("flood@x.test"); err != nil || w.code != http.StatusServiceUnavailable || w.h.Get("Retry-After") == "" {
			b.Fatalf("status %d, Retry-After %q, err %v", w.code, w.h.Get("Retry-After"), err)
		}
	}
}

// BenchmarkServeHTTPRejectForgedKey: a well-formed key without this gateway's tag,
// refused on it with no cache or store lookup.
func BenchmarkServeHTTPRejectForgedKey(b *testing.B) {
	h, _, _ := benchHandler(b)
	forged, _, _ := authcore.NewLegacyKey()
	benchServe(b, h, "ApiKey", forged, http.StatusUnauthorized)
}
