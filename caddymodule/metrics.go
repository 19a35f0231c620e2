package caddymodule

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/authcore"
)

// metrics are Keygate's Prometheus collectors. They are created once per process and
// registered on every config's registry (Caddy makes a new one per config), so the
// series survive reloads and appear at Caddy's metrics endpoint. No label carries a
// user, key, token or address: every label has a small fixed set of values.
type metrics struct {
	authRequests  *prometheus.CounterVec
	authDuration  *prometheus.HistogramVec
	cacheRequests *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
	logins        *prometheus.CounterVec
	tokensIssued  *prometheus.CounterVec
	invalidations *prometheus.CounterVec
	changeFeedUp  *prometheus.GaugeVec
	webhooks      *prometheus.CounterVec
	preloaded     *prometheus.GaugeVec

	// The children the request path uses, remembered (see children).
	authRequestsBy  *children[[2]string, prometheus.Counter]
	authDurationBy  *children[string, prometheus.Observer]
	cacheRequestsBy *children[string, prometheus.Counter]
}

var keygateMetrics = sync.OnceValue(func() *metrics {
	m := &metrics{
		authRequests: counter("auth_requests_total",
			"Authentication decisions on proxied requests, by credential method and result.", "method", "result"),
		authDuration: histogram("auth_duration_seconds",
			"Time spent authenticating a proxied request, by credential method.",
			[]float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 1e-3, 1e-2, 0.1, 1}, "method"),
		cacheRequests: counter("cache_requests_total",
			"Credential cache lookups (API keys and tokens), by result; stale: a decision past its TTL used because the store could not answer; forged: a well-formed API key refused on its tag, with no lookup.", "result"),
		storeDuration: histogram("store_duration_seconds",
			"Store queries made on behalf of requests, by operation.", prometheus.ExponentialBuckets(5e-5, 4, 9), "op"),
		logins:        counter("logins_total", "Logins at the authenticate endpoint, by result.", "result"),
		tokensIssued:  counter("tokens_issued_total", "Authorization tokens issued, by how they were obtained.", "via"),
		invalidations: counter("invalidations_total", "Cached decisions dropped, by where the change came from.", "source"),
		webhooks: counter("webhook_deliveries_total",
			"Webhook delivery attempts made by this node, by outcome: delivered (2xx), retry (failed, will be tried again), failed (retries ran out after 24h).", "outcome"),
		preloaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "preloaded_keys",
			Help: "API keys the node's last preload put into its cache (recently used keys, at start and after each resync; preload_keys)."}, nil),
		changeFeedUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "change_feed_up",
			Help: "1 while this node listens to the store's change feed (PostgreSQL LISTEN), 0 while it has lost it; absent for SQLite, which has no feed to lose."}, []string{"storage"}),
	}
	m.authRequestsBy = newChildren(func(l [2]string) prometheus.Counter { return m.authRequests.WithLabelValues(l[0], l[1]) })
	m.authDurationBy = newChildren(func(method string) prometheus.Observer { return m.authDuration.WithLabelValues(method) })
	m.cacheRequestsBy = newChildren(func(result string) prometheus.Counter { return m.cacheRequests.WithLabelValues(result) })
	return m
})

// metricsNamespace prefixes every metric's name.
const metricsNamespace = "keygate"

func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels)
}

func histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: name, Help: help, Buckets: buckets}, labels)
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.authRequests, m.authDuration, m.cacheRequests, m.storeDuration, m.logins, m.tokensIssued, m.invalidations, m.changeFeedUp, m.webhooks, m.preloaded}
}

// register adds the collectors to a config's registry; a registry that has them already
// (the same config provisioning twice) is fine.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return err
			}
		}
	}
	return nil
}

// webhookOutcome counts one delivery attempt.
func (m *metrics) webhookOutcome(outcome string) { m.webhooks.WithLabelValues(outcome).Inc() }

// The authcore.Observer side: called on the request path, so it only increments.

func (m *metrics) CacheResult(result string) { m.cacheRequestsBy.get(result).Inc() }

func (m *metrics) StoreQuery(op string, d time.Duration) {
	m.storeDuration.WithLabelValues(op).Observe(d.Seconds())
}

func (m *metrics) Login(result string)    { m.logins.WithLabelValues(result).Inc() }
func (m *metrics) TokenIssued(via string) { m.tokensIssued.WithLabelValues(via).Inc() }
func (m *metrics) Invalidations(source string, n int) {
	m.invalidations.WithLabelValues(source).Add(float64(n))
}

// changeFeed records whether this node hears the change feed of a storage backend.
func (m *metrics) changeFeed(storage string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.changeFeedUp.WithLabelValues(storage).Set(v)
}

// observeAuth records one authentication decision on a proxied request.
func (m *metrics) observeAuth(method, result string, d time.Duration) {
	m.authRequestsBy.get([2]string{method, result}).Inc()
	m.authDurationBy.get(method).Observe(d.Seconds())
}

// authResult names a decision for the result label.
func authResult(err error) string {
	if err == nil {
		return "ok"
	}
	switch authcore.AsError(err).Code {
	case "CredentialMissing":
		return "missing"
	case "CredentialMalformed":
		return "malformed"
	case "CredentialExpired":
		return "expired"
	case "CredentialRevoked":
		return "revoked"
	case "UserDisabled":
		return "disabled"
	case "Forbidden", "CsrfHeaderMissing":
		return "forbidden"
	case "TooManyRequests":
		return "throttled"
	case "StoreUnavailable":
		return "unavailable"
	}
	return "invalid"
}

var _ authcore.Observer = (*metrics)(nil)
