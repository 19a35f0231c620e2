package authcore

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/keygate/keygate/storage"
)

// Defaults for Config's zero values.
const (
	DefaultCacheMaxEntries  = 100_000
	DefaultCacheTTL         = 5 * time.Minute
	DefaultNegativeCacheTTL = 30 * time.Second
	// loadTimeout bounds one store lookup shared by every request waiting on it.
	loadTimeout = 5 * time.Second
)

// Config configures an Authenticator. Zero values mean the defaults above.
type Config struct {
	Store            storage.Store
	CacheMaxEntries  int64
	CacheTTL         time.Duration
	NegativeCacheTTL time.Duration
	Now              func() time.Time // the clock; injected by tests
}

// Authenticator turns presented credentials into principals, through a cache in front of
// the store. It is safe for concurrent use.
type Authenticator struct {
	store       storage.Store
	cacheTTL    time.Duration
	negativeTTL time.Duration
	now         func() time.Time

	keys   *decisionCache[*keyEntry]
	access *decisionCache[*accessEntry]
	flight singleflight.Group

	storeLookups atomic.Int64
}

// NewAuthenticator builds an Authenticator; Close releases its caches.
func NewAuthenticator(cfg Config) (*Authenticator, error) {
	if cfg.Store == nil {
		return nil, errors.New("authcore: a store is required")
	}
	if cfg.CacheMaxEntries <= 0 {
		cfg.CacheMaxEntries = DefaultCacheMaxEntries
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.NegativeCacheTTL <= 0 {
		cfg.NegativeCacheTTL = DefaultNegativeCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	keys, err := newDecisionCache[*keyEntry](cfg.CacheMaxEntries)
	if err != nil {
		return nil, fmt.Errorf("authcore: key cache: %w", err)
	}
	access, err := newDecisionCache[*accessEntry](cfg.CacheMaxEntries)
	if err != nil {
		keys.close()
		return nil, fmt.Errorf("authcore: project cache: %w", err)
	}
	return &Authenticator{
		store:       cfg.Store,
		cacheTTL:    cfg.CacheTTL,
		negativeTTL: cfg.NegativeCacheTTL,
		now:         cfg.Now,
		keys:        keys,
		access:      access,
	}, nil
}

// Close releases the caches. The store is not closed: its owner does that.
func (a *Authenticator) Close() {
	a.keys.close()
	a.access.close()
}

// StoreLookups counts the queries this Authenticator has made to the store.
func (a *Authenticator) StoreLookups() int64 { return a.storeLookups.Load() }

// keyEntry is a cached lookup of one key digest: the key's state at load time, or the
// fact that no such key exists. The decision is made against the clock on every use.
type keyEntry struct {
	digest    Digest
	found     bool
	active    bool
	disabled  bool
	principal Principal
}

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
	slot := digestSlot(digest)
	if e, ok := a.keys.get(slot); ok && e.matches(digest) {
		return e.decide(a.now())
	}
	e, err := a.loadKey(ctx, digest, slot)
	if err != nil {
		return nil, err
	}
	return e.decide(a.now())
}

func (e *keyEntry) matches(d Digest) bool {
	return subtle.ConstantTimeCompare(e.digest[:], d[:]) == 1
}

// loadKey fetches a digest from the store once however many requests want it at the
// same moment, and caches the answer.
func (a *Authenticator) loadKey(ctx context.Context, digest Digest, slot uint64) (*keyEntry, error) {
	v, err, _ := a.flight.Do(string(digest[:]), func() (any, error) {
		// A request that missed just before the previous load finished lands here:
		// the answer is cached by now.
		if e, ok := a.keys.get(slot); ok && e.matches(digest) {
			return e, nil
		}
		since := a.keys.generation()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		a.storeLookups.Add(1)
		grant, err := a.store.KeyGrantByDigest(ctx, digest[:])
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, ErrStoreUnavailable
		}
		e := newKeyEntry(digest, grant, err == nil)
		a.keys.set(slot, e, a.keyTTL(e), since)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*keyEntry), nil
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
func (a *Authenticator) keyTTL(e *keyEntry) time.Duration {
	if !e.found {
		return a.negativeTTL
	}
	ttl := a.cacheTTL
	if left := e.principal.ExpiresAt.Sub(a.now()); !e.principal.ExpiresAt.IsZero() && left > 0 && left < ttl {
		ttl = left
	}
	return ttl
}

// digestSlot is the cache key of a digest: its first 8 bytes, already uniformly random.
func digestSlot(d Digest) uint64 { return binary.LittleEndian.Uint64(d[:8]) }
