package authcore

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

// Defaults for Config's zero values.
const (
	DefaultCacheMaxEntries  = 100_000
	DefaultCacheTTL         = 5 * time.Minute
	DefaultNegativeCacheTTL = 30 * time.Second
	DefaultLoginFailures    = 5
	DefaultClientFailures   = 20
	DefaultFailureWindow    = time.Minute
	DefaultStaleIfError     = time.Minute
	// loadTimeout bounds one store lookup shared by every request waiting on it.
	loadTimeout = 5 * time.Second
)

// Config configures an Authenticator. Zero values mean the defaults above.
type Config struct {
	Store            storage.Store
	CacheMaxEntries  int64
	CacheTTL         time.Duration
	NegativeCacheTTL time.Duration
	// StaleIfError is how long past CacheTTL a decision the store gave about something
	// that exists (a key, a user, a project's access answer) may still be used, and only
	// when reloading it fails because the store cannot answer. It also lets a token whose
	// user is not cached act on its own claims while the store cannot answer. Zero means
	// DefaultStaleIfError; a negative value turns both off, so every store error is 503.
	StaleIfError time.Duration
	TokenTTL     time.Duration
	// LoginFailures blocks an account after this many failed logins in FailureWindow.
	LoginFailures int
	// ClientFailures blocks a client IP after this many rejected credentials (logins or
	// proxied requests) in FailureWindow.
	ClientFailures int
	FailureWindow  time.Duration
	Now            func() time.Time // the clock; injected by tests
	Observer       Observer         // metrics; default none
}

func (cfg *Config) applyDefaults() {
	setDefault(&cfg.CacheMaxEntries, DefaultCacheMaxEntries)
	setDefault(&cfg.CacheTTL, DefaultCacheTTL)
	setDefault(&cfg.NegativeCacheTTL, DefaultNegativeCacheTTL)
	if cfg.StaleIfError == 0 { // negative means off: not a default to fill in
		cfg.StaleIfError = DefaultStaleIfError
	}
	setDefault(&cfg.TokenTTL, DefaultTokenTTL)
	setDefault(&cfg.LoginFailures, DefaultLoginFailures)
	setDefault(&cfg.ClientFailures, DefaultClientFailures)
	setDefault(&cfg.FailureWindow, DefaultFailureWindow)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Authenticator turns presented credentials into principals, through a cache in front of
// the store. It is safe for concurrent use.
type Authenticator struct {
	store       storage.Store
	cacheTTL    time.Duration
	negativeTTL time.Duration
	tokenTTL    time.Duration
	staleOK     bool // StaleIfError is on
	now         func() time.Time
	obs         Observer

	apiKeys *decisionCache[*keyEntry]
	access  *decisionCache[*accessEntry]
	tokens  *decisionCache[*tokenEntry]
	users   *decisionCache[*userEntry]

	keys    *keyring
	revoked revokedSessions
	// changedUsers holds the users changed (disabled, role, deleted) within a token's
	// lifetime, whose tokens' claims may therefore be out of date: see claimsPrincipal.
	changedUsers revokedSessions
	usage        usageLog
	logins       *protect.Throttle // per account
	clients      *protect.Throttle // per client network
	hashSlots    chan struct{}
}

// NewAuthenticator builds an Authenticator. It reads the token signing keys (creating
// the first one) and recent session revocations from the store. Close releases it.
func NewAuthenticator(ctx context.Context, cfg Config) (*Authenticator, error) {
	if cfg.Store == nil {
		return nil, errors.New("authcore: a store is required")
	}
	cfg.applyDefaults()
	a := &Authenticator{
		store:       cfg.Store,
		cacheTTL:    cfg.CacheTTL,
		negativeTTL: cfg.NegativeCacheTTL,
		tokenTTL:    cfg.TokenTTL,
		staleOK:     cfg.StaleIfError > 0,
		now:         cfg.Now,
		obs:         cfg.Observer,
		logins:      protect.NewThrottle(cfg.LoginFailures, cfg.FailureWindow, cfg.Now),
		clients:     protect.NewThrottle(cfg.ClientFailures, cfg.FailureWindow, cfg.Now),
		hashSlots:   make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}
	var err error
	stale, onStale := cfg.StaleIfError, func() { a.obs.CacheResult("stale") }
	if a.apiKeys, err = newDecisionCache[*keyEntry](cfg.CacheMaxEntries, stale, onStale); err == nil {
		if a.access, err = newDecisionCache[*accessEntry](cfg.CacheMaxEntries, stale, onStale); err == nil {
			// A verified token is cached until it expires and never reloaded.
			if a.tokens, err = newDecisionCache[*tokenEntry](cfg.CacheMaxEntries, 0, nil); err == nil {
				a.users, err = newDecisionCache[*userEntry](cfg.CacheMaxEntries, stale, onStale)
			}
		}
	}
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("authcore: cache: %w", err)
	}
	if a.keys, err = loadKeyring(ctx, cfg.Store, cfg.Now); err != nil {
		a.Close()
		return nil, fmt.Errorf("authcore: %w", err)
	}
	if err := a.loadRevokedSessions(ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("authcore: loading revoked sessions: %w", err)
	}
	return a, nil
}

// Close releases the caches. The store is not closed: its owner does that.
func (a *Authenticator) Close() {
	a.apiKeys.close()
	a.access.close()
	a.tokens.close()
	a.users.close()
}

// keyEntry is a cached lookup of one key digest: the key's state at load time, or the
// fact that no such key exists. The decision is made against the clock on every use.
type keyEntry struct {
	digest    Digest
	found     bool
	active    bool
	disabled  bool
	principal Principal
	lastNoted atomic.Int64 // Unix seconds of the last use passed to the usage log
}

// positive: a key that exists may be served stale; an unknown one may not.
func (e *keyEntry) positive() bool { return e.found }

func (e *keyEntry) decide(now time.Time) (*Principal, error) {
	switch {
	case !e.found:
		return nil, ErrCredentialInvalid
	case !e.active:
		return nil, ErrCredentialRevoked
	case !e.principal.ExpiresAt.IsZero() && !now.Before(e.principal.ExpiresAt):
		return nil, ErrCredentialExpired
	case e.disabled:
		return nil, ErrUserDisabled
	}
	return &e.principal, nil
}

// AuthenticateAPIKey resolves a presented API key. Errors are *Error values: a rejected
// credential (401) or ErrStoreUnavailable (503).
func (a *Authenticator) AuthenticateAPIKey(ctx context.Context, key string) (*Principal, error) {
	if key == "" {
		return nil, ErrCredentialMissing
	}
	digest, ok := ParseKey(key)
	if !ok {
		return nil, ErrCredentialMalformed
	}
	now := a.now() // the one clock read: freshness, expiry and the usage log
	slot := digestSlot(digest)
	e, ok := a.apiKeys.get(slot, now.UnixNano())
	switch {
	case ok && e.matches(digest) && e.found:
		a.obs.CacheResult("hit")
	case ok && e.matches(digest):
		a.obs.CacheResult("negative_hit")
	default:
		a.obs.CacheResult("miss")
		var err error
		if e, err = a.loadKey(ctx, digest, slot, now); err != nil {
			return nil, err
		}
	}
	p, err := e.decide(now)
	if err == nil {
		a.noteUse(e, now)
	}
	return p, err
}

func (e *keyEntry) matches(d Digest) bool {
	return subtle.ConstantTimeCompare(e.digest[:], d[:]) == 1
}

// loadKey fetches a digest from the store once however many requests want it at the
// same moment, and caches the answer.
func (a *Authenticator) loadKey(ctx context.Context, digest Digest, slot uint64, now time.Time) (*keyEntry, error) {
	return a.apiKeys.load(ctx, slot, string(digest[:]), now.UnixNano(), func(e *keyEntry) bool { return e.matches(digest) }, func(ctx context.Context) (*keyEntry, time.Duration, error) {
		var grant storage.KeyGrant
		err := a.timed("key_lookup", func() (err error) {
			grant, err = a.store.KeyGrantByDigest(ctx, digest[:])
			return err
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, 0, Unavailable(err)
		}
		e := newKeyEntry(digest, grant, err == nil)
		return e, a.keyTTL(e, now), nil
	})
}

func newKeyEntry(digest Digest, g storage.KeyGrant, found bool) *keyEntry {
	e := &keyEntry{digest: digest, found: found}
	if !found {
		return e
	}
	e.active, e.disabled = g.Key.Active, g.User.Disabled
	e.principal = Principal{
		UserUID:   g.User.UID,
		Email:     g.User.Email,
		TenantUID: g.User.TenantUID,
		Role:      g.User.Role,
		Method:    MethodAPIKey,
		KeyUID:    g.Key.UID,
		ExpiresAt: g.Key.ExpiresAt,
	}
	return e
}

// keyTTL caches unknown keys briefly, and a usable key no longer than it stays valid.
func (a *Authenticator) keyTTL(e *keyEntry, now time.Time) time.Duration {
	if !e.found {
		return a.negativeTTL
	}
	ttl := a.cacheTTL
	if left := e.principal.ExpiresAt.Sub(now); !e.principal.ExpiresAt.IsZero() && left > 0 && left < ttl {
		ttl = left
	}
	return ttl
}

// digestSlot is the cache key of a digest: its first 8 bytes, already uniformly random.
func digestSlot(d Digest) uint64 { return binary.LittleEndian.Uint64(d[:8]) }
