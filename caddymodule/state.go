package caddymodule

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/authcore/sessions"
	"github.com/keygate/keygate/authcore/sso"
	"github.com/keygate/keygate/authcore/webhooks"
	"github.com/keygate/keygate/storage"
)

// statePool shares one sharedState per store and cache settings across config reloads.
var statePool = caddy.NewUsagePool()

// sharedState outlives any one config: the open store, the cache in front of it, and the
// goroutine that follows the store's changes.
type sharedState struct {
	store     storage.Store
	verifier  *credentials.Verifier
	issuer    *sessions.Issuer
	service   *manage.Service
	sso       *sso.RelyingParty
	webhooks  *webhooks.Dispatcher
	reminders *webhooks.Reminders
	stopWatch context.CancelFunc
	watchDone chan struct{}
	maintDone chan struct{}
	// deliverDone is closed once the webhook dispatcher and the reminders have stopped.
	deliverDone chan struct{}
	// preloadKeys bounds the keys preload loads; preloading is set while one runs.
	preloadKeys int
	preloading  atomic.Bool
}

// The shared state's parts, for the handlers of this config.

func (a *App) verifier() *credentials.Verifier { return a.state.verifier }
func (a *App) issuer() *sessions.Issuer        { return a.state.issuer }
func (a *App) service() *manage.Service        { return a.state.service }
func (a *App) relyingParty() *sso.RelyingParty { return a.state.sso }

func newSharedState(a *App, logger *zap.Logger) (*sharedState, error) {
	store, err := a.backend.OpenStore(context.Background())
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	observer := &outageObserver{metrics: keygateMetrics(), logger: logger}
	verifier, err := credentials.New(context.Background(), credentials.Config{
		Store:            store,
		CacheMaxEntries:  a.CacheMaxEntries,
		CacheTTL:         time.Duration(a.CacheTTL),
		NegativeCacheTTL: time.Duration(a.NegativeCacheTTL),
		StaleIfError:     time.Duration(a.StaleIfError),
		TokenTTL:         time.Duration(a.TokenTTL),
		MaxTokenTTL:      manage.MaxTenantTokenTTL, // a tenant's authTokenSettings may be this long
		Observer:         observer,
		Now:              clockNow,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	dispatcher := webhooks.NewDispatcher(webhooks.Config{
		Store: store, SecretKey: verifier.LastingDerivedKey(oidcSecretPurpose), Now: clockNow,
		AllowPrivate: a.WebhookPrivateTargets == "allow", Timeout: time.Duration(a.WebhookTimeout),
		Outcome: keygateMetrics().webhookOutcome,
		OnError: func(err error) { logger.Warn("webhook deliveries", zap.Error(err)) },
	})
	audit := logAudit(logger)
	s := &sharedState{
		store: store, verifier: verifier, webhooks: dispatcher, preloadKeys: a.preloadKeys(),
		// A change committed here is delivered at once, not at the next poll.
		service:   a.newService(store, verifier, func(ev storage.AuditEvent) { audit(ev); dispatcher.Wake() }),
		reminders: webhooks.NewReminders(store, clockNow, durations(a.ExpiryReminders)),
		sso:       sso.NewRelyingParty(clockNow),
		issuer: sessions.New(store, verifier, sessions.Config{
			TokenTTL:       time.Duration(a.TokenTTL),
			LoginFailures:  a.LoginFailureLimit,
			ClientFailures: a.ClientFailureLimit,
			FailureWindow:  time.Duration(a.FailureWindow),
			HashBudget:     protect.BudgetConfig{Share: a.LoginCPUShare},
			Observer:       observer,
			Now:            clockNow,
		}),
	}
	if err := bootstrap(manage.Operator{Service: s.service, OSUser: osUser()}, a.BootstrapAdmin, logger); err != nil {
		s.close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch, s.watchDone, s.maintDone, s.deliverDone = cancel, make(chan struct{}), make(chan struct{}), make(chan struct{})
	go s.followChanges(ctx, logger)
	go s.maintain(ctx, logger)
	go s.deliver(ctx, logger)
	return s, nil
}

// Maintenance intervals: last-use times are written in batches, old sessions pruned.
const (
	usageFlushInterval = 30 * time.Second
	sessionPruneEvery  = time.Hour
)

// maintain writes key last-use times and prunes sessions off the request path, and
// flushes the last-use times once more when the state is destroyed.
func (s *sharedState) maintain(ctx context.Context, logger *zap.Logger) {
	defer close(s.maintDone)
	flush := time.NewTicker(usageFlushInterval)
	defer flush.Stop()
	prune := time.NewTicker(sessionPruneEvery)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.verifier.FlushUsage(final); err != nil {
				logger.Warn("writing API key last-use times at shutdown failed", zap.Error(err))
			}
			return
		case <-flush.C:
			if err := s.verifier.FlushUsage(ctx); err != nil {
				logger.Warn("writing API key last-use times failed; will retry", zap.Error(err))
			}
		case <-prune.C:
			if n, err := s.webhooks.Prune(ctx); err != nil {
				logger.Warn("pruning old webhook deliveries failed", zap.Error(err))
			} else if n > 0 {
				logger.Debug("pruned old webhook deliveries", zap.Int64("count", n))
			}
			if n, err := s.issuer.PruneSessions(ctx); err != nil {
				logger.Warn("pruning old sessions failed", zap.Error(err))
			} else if n > 0 {
				logger.Debug("pruned old sessions", zap.Int64("count", n))
			}
		}
	}
}

// deliver runs the webhook dispatcher, and sweeps for due expiry reminders, until the
// state is destroyed.
func (s *sharedState) deliver(ctx context.Context, logger *zap.Logger) {
	defer close(s.deliverDone)
	done := make(chan struct{})
	go func() { defer close(done); s.webhooks.Run(ctx) }()
	defer func() { <-done }()
	sweep := time.NewTicker(reminderSweepEvery())
	defer sweep.Stop()
	for {
		if n, err := s.reminders.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("sending API key expiry reminders failed; will retry", zap.Error(err))
		} else if n > 0 {
			s.webhooks.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
		}
	}
}

// durations is ds as time.Durations.
func durations(ds []caddy.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = time.Duration(d)
	}
	return out
}

// followChanges keeps the cache in step with the store until the state is destroyed.
func (s *sharedState) followChanges(ctx context.Context, logger *zap.Logger) {
	defer close(s.watchDone)
	for ctx.Err() == nil {
		err := s.store.Watch(ctx, func(changes []storage.Change) {
			s.verifier.Apply(changes)
			logApplied(logger, changes)
			if slices.ContainsFunc(changes, func(c storage.Change) bool { return c.Kind == storage.ChangeResync }) {
				go s.preload(ctx, logger) // the cache was just emptied, and the feed has its position
			}
		})
		if ctx.Err() != nil {
			return
		}
		// Changes may be missed while not watching, but the cache is not dropped here:
		// every Watch starts with a ChangeResync once it has its position again, which
		// drops it then. Dropping it now, as the store goes down, would throw away the
		// decisions stale_if_error exists to keep serving during the outage.
		logger.Warn("watching the store for changes failed; retrying", zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// preloadWindow is how recently a key must have been used to be preloaded.
const preloadWindow = time.Hour

// preload loads the recently used keys into the cache, one preload at a time.
func (s *sharedState) preload(ctx context.Context, logger *zap.Logger) {
	if s.preloadKeys <= 0 || !s.preloading.CompareAndSwap(false, true) {
		return
	}
	defer s.preloading.Store(false)
	start := time.Now()
	n, err := s.verifier.Warm(ctx, clockNow().Add(-preloadWindow), s.preloadKeys)
	if err != nil {
		if ctx.Err() == nil {
			logger.Warn("preloading recently used API keys failed; they are looked up as requests come", zap.Error(err))
		}
		return
	}
	keygateMetrics().preloaded.WithLabelValues().Set(float64(n))
	logger.Info("preloaded recently used API keys", zap.Int("keys", n), zap.Duration("took", time.Since(start)))
}

// logApplied logs, at debug level, the changes of other nodes (and processes) this node
// has just applied to its caches, with the moment it did: what a measurement of
// revocation delay from inside the nodes reads (tests/bench/nodes). Sequence numbers
// only: a change's ref may name a key's digest.
func logApplied(logger *zap.Logger, changes []storage.Change) {
	ce := logger.Check(zap.DebugLevel, "applied changes from the change feed")
	if ce == nil {
		return
	}
	seqs := make([]int64, len(changes))
	for i, c := range changes {
		seqs[i] = c.Seq
	}
	ce.Write(zap.Int64s("seqs", seqs), zap.Int64("applied_unix_nano", time.Now().UnixNano()))
}

// Destruct implements caddy.Destructor: the last config using the state is gone.
func (s *sharedState) Destruct() error {
	s.stopWatch()
	<-s.watchDone
	<-s.maintDone
	<-s.deliverDone
	return s.close()
}

func (s *sharedState) close() error {
	s.verifier.Close()
	return s.store.Close()
}

// outageObserver is the metrics, plus a warning, at most once a minute, while cached
// decisions are served stale because the store cannot answer.
type outageObserver struct {
	*metrics
	logger       *zap.Logger
	lastWarn     atomic.Int64 // Unix seconds
	lastBusyWarn atomic.Int64
}

// staleWarnEvery spaces the warnings: an outage under load serves stale on every request.
const staleWarnEvery = time.Minute

// Login warns, at most once a minute, while logins are refused at the hashing budget:
// a flood refuses thousands a second, and a warning for each would cost more than the
// refusal.
func (o *outageObserver) Login(result string) {
	o.metrics.Login(result)
	if result != "busy" {
		return
	}
	now, last := time.Now().Unix(), o.lastBusyWarn.Load()
	if now-last >= int64(staleWarnEvery/time.Second) && o.lastBusyWarn.CompareAndSwap(last, now) {
		o.logger.Warn("password hashing is at its CPU budget (login_cpu_share): refusing logins with 503 LoginBusy, except from browsers with a device cookie")
	}
}

func (o *outageObserver) CacheResult(result string) {
	o.metrics.CacheResult(result)
	if result != "stale" {
		return
	}
	now, last := time.Now().Unix(), o.lastWarn.Load()
	if now-last >= int64(staleWarnEvery/time.Second) && o.lastWarn.CompareAndSwap(last, now) {
		o.logger.Warn("the store cannot answer: serving credentials validated within stale_if_error; unknown ones get 503")
	}
}

// logAudit logs each management change at info level: the lifecycle events operators
// follow (keys created and revoked, users disabled, ...). Audit details hold no secret.
func logAudit(logger *zap.Logger) func(storage.AuditEvent) {
	return func(ev storage.AuditEvent) {
		fields := []zap.Field{
			zap.String("action", ev.Action), zap.String("user_uid", ev.ActorUID),
			zap.String("tenant_uid", ev.TenantUID), zap.String(ev.TargetKind+"_uid", ev.TargetUID),
		}
		if ev.TargetKind == "apikey" {
			fields[3] = zap.String("key_uid", ev.TargetUID)
		}
		logger.Info("management change", fields...)
	}
}
