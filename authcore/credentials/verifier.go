package credentials

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Defaults for Config's zero values.
const (
	DefaultCacheMaxEntries  = 100_000
	DefaultCacheTTL         = 5 * time.Minute
	DefaultNegativeCacheTTL = 30 * time.Second
	DefaultStaleIfError     = time.Minute
	// loadTimeout bounds one store lookup shared by every request waiting on it.
	loadTimeout = 5 * time.Second
)

// Config configures a Verifier. Zero values mean the defaults above.
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
	// TokenTTL is how long the tokens to verify live. Default: DefaultTokenTTL.
	TokenTTL time.Duration
	Now      func() time.Time  // the clock; injected by tests
	Observer authcore.Observer // metrics; default none
}

func (cfg *Config) applyDefaults() {
	setDefault(&cfg.CacheMaxEntries, DefaultCacheMaxEntries)
	setDefault(&cfg.CacheTTL, DefaultCacheTTL)
	setDefault(&cfg.NegativeCacheTTL, DefaultNegativeCacheTTL)
	if cfg.StaleIfError == 0 { // negative means off: not a default to fill in
		cfg.StaleIfError = DefaultStaleIfError
	}
	setDefault(&cfg.TokenTTL, DefaultTokenTTL)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = authcore.NopObserver{}
	}
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Verifier turns presented credentials (API keys, tokens) into principals, through
// caches in front of the store, and checks ProjectUid against them. It keeps the token
// signing keys and the recently revoked sessions every token check consults. It is safe
// for concurrent use.
type Verifier struct {
	store       storage.Store
	cacheTTL    time.Duration
	negativeTTL time.Duration
	tokenTTL    time.Duration
	staleOK     bool // StaleIfError is on
	now         func() time.Time
	obs         authcore.Observer

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
}

// New builds a Verifier. It reads the token signing keys (creating the first one) and
// recent session revocations from the store. Close releases it.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("credentials: a store is required")
	}
	cfg.applyDefaults()
	v := &Verifier{
		store:       cfg.Store,
		cacheTTL:    cfg.CacheTTL,
		negativeTTL: cfg.NegativeCacheTTL,
		tokenTTL:    cfg.TokenTTL,
		staleOK:     cfg.StaleIfError > 0,
		now:         cfg.Now,
		obs:         cfg.Observer,
	}
	if err := v.openCaches(cfg); err != nil {
		v.Close()
		return nil, fmt.Errorf("credentials: cache: %w", err)
	}
	var err error
	if v.keys, err = loadKeyring(ctx, cfg.Store, cfg.Now); err != nil {
		v.Close()
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if err := v.loadRevokedSessions(ctx); err != nil {
		v.Close()
		return nil, fmt.Errorf("credentials: loading revoked sessions: %w", err)
	}
	return v, nil
}

func (v *Verifier) openCaches(cfg Config) error {
	var err error
	stale, onStale := cfg.StaleIfError, func() { v.obs.CacheResult("stale") }
	if v.apiKeys, err = newDecisionCache[*keyEntry](cfg.CacheMaxEntries, stale, onStale); err != nil {
		return err
	}
	if v.access, err = newDecisionCache[*accessEntry](cfg.CacheMaxEntries, stale, onStale); err != nil {
		return err
	}
	// A verified token is cached until it expires and never reloaded.
	if v.tokens, err = newDecisionCache[*tokenEntry](cfg.CacheMaxEntries, 0, nil); err != nil {
		return err
	}
	v.users, err = newDecisionCache[*userEntry](cfg.CacheMaxEntries, stale, onStale)
	return err
}

// Close releases the caches. The store is not closed: its owner does that.
func (v *Verifier) Close() {
	v.apiKeys.close()
	v.access.close()
	v.tokens.close()
	v.users.close()
}

// keyEntry is a cached lookup of one key digest: the key's state at load time, or the
// fact that no such key exists. The decision is made against the clock on every use.
type keyEntry struct {
	digest    authcore.Digest
	found     bool
	active    bool
	disabled  bool
	principal authcore.Principal
	lastNoted atomic.Int64 // Unix seconds of the last use passed to the usage log
}

// positive: a key that exists may be served stale; an unknown one may not.
func (e *keyEntry) positive() bool { return e.found }

func (e *keyEntry) decide(now time.Time) (*authcore.Principal, error) {
	switch {
	case !e.found:
		return nil, authcore.ErrCredentialInvalid
	case !e.active:
		return nil, authcore.ErrCredentialRevoked
	case !e.principal.ExpiresAt.IsZero() && !now.Before(e.principal.ExpiresAt):
		return nil, authcore.ErrCredentialExpired
	case e.disabled:
		return nil, authcore.ErrUserDisabled
	}
	return &e.principal, nil
}

// AuthenticateAPIKey resolves a presented API key. Errors are *Error values: a rejected
// credential (401) or ErrStoreUnavailable (503).
func (v *Verifier) AuthenticateAPIKey(ctx context.Context, key string) (*authcore.Principal, error) {
	if key == "" {
		return nil, authcore.ErrCredentialMissing
	}
	digest, ok := authcore.ParseKey(key)
	if !ok {
		return nil, authcore.ErrCredentialMalformed
	}
	now := v.now() // the one clock read: freshness, expiry and the usage log
	slot := digestSlot(digest)
	e, ok := v.apiKeys.get(slot, now.UnixNano())
	switch {
	case ok && e.matches(digest) && e.found:
		v.obs.CacheResult("hit")
	case ok && e.matches(digest):
		v.obs.CacheResult("negative_hit")
	default:
		v.obs.CacheResult("miss")
		var err error
		if e, err = v.loadKey(ctx, digest, slot, now); err != nil {
			return nil, err
		}
	}
	p, err := e.decide(now)
	if err == nil {
		v.noteUse(e, now)
	}
	return p, err
}

func (e *keyEntry) matches(d authcore.Digest) bool {
	return subtle.ConstantTimeCompare(e.digest[:], d[:]) == 1
}

// loadKey fetches a digest from the store once however many requests want it at the
// same moment, and caches the answer.
func (v *Verifier) loadKey(ctx context.Context, digest authcore.Digest, slot uint64, now time.Time) (*keyEntry, error) {
	return v.apiKeys.load(ctx, slot, string(digest[:]), now.UnixNano(), func(e *keyEntry) bool { return e.matches(digest) }, func(ctx context.Context) (*keyEntry, time.Duration, error) {
		var grant storage.KeyGrant
		err := v.timed("key_lookup", func() (err error) {
			grant, err = v.store.KeyGrantByDigest(ctx, digest[:])
			return err
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, 0, authcore.Unavailable(err)
		}
		e := newKeyEntry(digest, grant, err == nil)
		return e, v.keyTTL(e, now), nil
	})
}

func newKeyEntry(digest authcore.Digest, g storage.KeyGrant, found bool) *keyEntry {
	e := &keyEntry{digest: digest, found: found}
	if !found {
		return e
	}
	e.active, e.disabled = g.Key.Active, g.User.Disabled
	e.principal = authcore.Principal{
		UserUID:   g.User.UID,
		Email:     g.User.Email,
		TenantUID: g.User.TenantUID,
		Role:      g.User.Role,
		Method:    authcore.MethodAPIKey,
		KeyUID:    g.Key.UID,
		ExpiresAt: g.Key.ExpiresAt,
	}
	return e
}

// keyTTL caches unknown keys briefly, and a usable key no longer than it stays valid.
func (v *Verifier) keyTTL(e *keyEntry, now time.Time) time.Duration {
	if !e.found {
		return v.negativeTTL
	}
	ttl := v.cacheTTL
	if left := e.principal.ExpiresAt.Sub(now); !e.principal.ExpiresAt.IsZero() && left > 0 && left < ttl {
		ttl = left
	}
	return ttl
}

// digestSlot is the cache key of a digest: its first 8 bytes, already uniformly random.
func digestSlot(d authcore.Digest) uint64 { return binary.LittleEndian.Uint64(d[:8]) }

// timed runs a store query for a request and reports its duration.
func (v *Verifier) timed(op string, query func() error) error {
	start := time.Now()
	err := query()
	v.obs.StoreQuery(op, time.Since(start))
	return err
}
