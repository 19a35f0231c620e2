package credentials

import (
	"context"
	"errors"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// AuthenticateAPIKey resolves a presented API key. Errors are *Error values: a rejected
// credential (401) or ErrStoreUnavailable (503). A well-formed key with neither a valid
// tag nor a place among the legacy keys is refused without a cache or store lookup, so
// a flood of forged keys costs no store query and displaces no cached key.
func (v *Verifier) AuthenticateAPIKey(ctx context.Context, key string) (*authcore.Principal, error) {
	if key == "" {
		return nil, authcore.ErrCredentialMissing
	}
	digest, ok := authcore.ParseKey(key)
	if !ok {
		return nil, authcore.ErrCredentialMalformed
	}
	if !v.tag.Carries(key) && !v.legacy.mayHold(digest) {
		// Forged: the same answer as an unknown key, so a client learns nothing of why.
		v.obs.CacheResult("forged")
		return nil, authcore.ErrCredentialInvalid
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
