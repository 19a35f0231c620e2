// Package sessions logs users in (by password or API key), refreshes their tokens once
// each, and ends their sessions; it throttles failed attempts per account and per client
// network. Tokens are signed and verified through a credentials.Verifier.
package sessions

import (
	"context"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

// Defaults for Config's zero values.
const (
	DefaultLoginFailures  = 5
	DefaultClientFailures = 20
	DefaultFailureWindow  = time.Minute
	// MaxSessionAge bounds how long a login can be kept alive by refreshing.
	MaxSessionAge = 7 * 24 * time.Hour
)

// Config configures an Issuer. Zero values mean the defaults.
type Config struct {
	// TokenTTL is how long a token lives. Default: credentials.DefaultTokenTTL.
	TokenTTL time.Duration
	// LoginFailures blocks an account after this many failed logins in FailureWindow.
	// These counts are every node's together when the store has storage.FailureCounts.
	LoginFailures int
	// ClientFailures blocks a client IP after this many rejected credentials (logins or
	// proxied requests) in FailureWindow.
	ClientFailures int
	FailureWindow  time.Duration
	// HashBudget is the CPU password hashing may use; logins beyond it are refused at
	// once with 503 LoginBusy. Default: protect.DefaultCPUShare of GOMAXPROCS. Its clock
	// defaults to Now.
	HashBudget protect.BudgetConfig
	Now        func() time.Time  // the clock; injected by tests
	Observer   authcore.Observer // metrics; default none
}

// Issuer starts, refreshes and ends sessions. It is safe for concurrent use.
type Issuer struct {
	store    storage.Store
	verifier *credentials.Verifier
	tokenTTL time.Duration
	now      func() time.Time
	obs      authcore.Observer
	logins   *protect.Throttle // per account
	clients  *protect.Throttle // per client network
	devices  *protect.Throttle // per trusted device
	budget   *protect.Budget
}

// New returns the Issuer of sessions in store, whose tokens verifier signs and checks.
func New(store storage.Store, verifier *credentials.Verifier, cfg Config) *Issuer {
	authcore.SetDefault(&cfg.TokenTTL, credentials.DefaultTokenTTL)
	authcore.SetDefault(&cfg.LoginFailures, DefaultLoginFailures)
	authcore.SetDefault(&cfg.ClientFailures, DefaultClientFailures)
	authcore.SetDefault(&cfg.FailureWindow, DefaultFailureWindow)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = authcore.NopObserver{}
	}
	if cfg.HashBudget.Now == nil {
		cfg.HashBudget.Now = cfg.Now
	}
	iss := &Issuer{
		store: store, verifier: verifier, tokenTTL: cfg.TokenTTL, now: cfg.Now, obs: cfg.Observer,
		logins:  protect.NewThrottle(cfg.LoginFailures, cfg.FailureWindow, cfg.Now),
		clients: protect.NewThrottle(cfg.ClientFailures, cfg.FailureWindow, cfg.Now),
		devices: protect.NewThrottle(cfg.LoginFailures, cfg.FailureWindow, cfg.Now),
		budget:  protect.NewBudget(cfg.HashBudget),
	}
	if counts, ok := store.(storage.FailureCounts); ok { // shared by every node on the store
		shared := sharedCounts{counts}
		iss.logins.Share("login", shared)
		iss.clients.Share("client", shared)
		iss.devices.Share("device", shared)
	}
	return iss
}

// sharedCounts is a store's FailureCounts as the throttles take them.
type sharedCounts struct{ store storage.FailureCounts }

func (c sharedCounts) AddFailures(ctx context.Context, now time.Time, adds []protect.SharedAdd) ([]protect.SharedTally, error) {
	in := make([]storage.FailureAdd, len(adds))
	for i, a := range adds {
		in[i] = storage.FailureAdd{Key: a.Key, Delta: a.Delta, Window: a.Window}
	}
	tallies, err := c.store.AddFailures(ctx, now, in)
	if err != nil {
		return nil, err
	}
	out := make([]protect.SharedTally, len(tallies))
	for i, t := range tallies {
		out[i] = protect.SharedTally{Count: t.Count, Start: t.Start}
	}
	return out, nil
}
