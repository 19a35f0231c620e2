package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
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
	// MaxTokenTTL is the longest a tenant's own token lifetime may be: tokens issued for
	// longer than it (or TokenTTL, if longer) are refused, and revocations are remembered
	// that long. Default: TokenTTL.
	MaxTokenTTL time.Duration
	Now         func() time.Time  // the clock; injected by tests
	Observer    authcore.Observer // metrics; default none
}

func (cfg *Config) applyDefaults() {
	authcore.SetDefault(&cfg.CacheMaxEntries, DefaultCacheMaxEntries)
	authcore.SetDefault(&cfg.CacheTTL, DefaultCacheTTL)
	authcore.SetDefault(&cfg.NegativeCacheTTL, DefaultNegativeCacheTTL)
	if cfg.StaleIfError == 0 { // negative means off: not a default to fill in
		cfg.StaleIfError = DefaultStaleIfError
	}
	authcore.SetDefault(&cfg.TokenTTL, DefaultTokenTTL)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = authcore.NopObserver{}
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
	// tag checks new keys' tags; legacy may hold the keys made before tags. A key that
	// is neither is forged, refused with no cache or store lookup.
	tag    *authcore.KeyTag
	legacy *legacyKeys
	access *decisionCache[*accessEntry]
	tokens *decisionCache[*tokenEntry]
	users  *decisionCache[*userEntry]
	roles  roleCatalogs

	keys    *keyring
	revoked revokedSessions
	// changedUsers holds the users changed (disabled, role, deleted) within a token's
	// lifetime, whose tokens' claims may therefore be out of date: see claimsPrincipal.
	changedUsers revokedSessions
	usage        usageLog
}

// New builds a Verifier. It reads the token signing keys (creating the first one), the
// API key tag secret (creating it), the legacy keys' digests and recent session
// revocations from the store. Close releases it.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("credentials: a store is required")
	}
	cfg.applyDefaults()
	v := &Verifier{
		store:       cfg.Store,
		cacheTTL:    cfg.CacheTTL,
		negativeTTL: cfg.NegativeCacheTTL,
		tokenTTL:    max(cfg.TokenTTL, cfg.MaxTokenTTL),
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
	if v.tag, err = authcore.LoadKeyTag(ctx, cfg.Store, cfg.Now()); err != nil {
		v.Close()
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if v.legacy, err = loadLegacyKeys(ctx, cfg.Store); err != nil {
		v.Close()
		return nil, fmt.Errorf("credentials: loading legacy key digests: %w", err)
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
	// Unknown keys that carry a valid tag (deleted ones) are kept apart from known keys.
	if v.apiKeys, err = newDecisionCache[*keyEntry](cfg.CacheMaxEntries, unknownKeyEntries(cfg.CacheMaxEntries), stale, onStale); err != nil {
		return err
	}
	if v.access, err = newDecisionCache[*accessEntry](cfg.CacheMaxEntries, 0, stale, onStale); err != nil {
		return err
	}
	// A verified token is cached until it expires and never reloaded.
	if v.tokens, err = newDecisionCache[*tokenEntry](cfg.CacheMaxEntries, 0, 0, nil); err != nil {
		return err
	}
	v.users, err = newDecisionCache[*userEntry](cfg.CacheMaxEntries, 0, stale, onStale)
	return err
}

// unknownKeyEntries sizes the cache of unknown keys: an eighth of the known keys', at
// least 64 (and no more than the known keys'). Only keys once made here (deleted ones)
// and the rare forged key the legacy filter lets through reach it.
func unknownKeyEntries(maxEntries int64) int64 {
	return min(max(maxEntries/8, 64), max(maxEntries, 1))
}

// KeyTag is what tags the keys this Verifier accepts: the management service makes keys
// with it.
func (v *Verifier) KeyTag() *authcore.KeyTag { return v.tag }

// Close releases the caches. The store is not closed: its owner does that.
func (v *Verifier) Close() {
	v.apiKeys.close()
	v.access.close()
	v.tokens.close()
	v.users.close()
}

// timed runs a store query for a request and reports its duration.
func (v *Verifier) timed(op string, query func() error) error {
	start := time.Now()
	err := query()
	v.obs.StoreQuery(op, time.Since(start))
	return err
}
