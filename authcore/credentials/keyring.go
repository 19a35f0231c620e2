package credentials

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keygate/keygate/storage"
)

// keyring holds the token signing keys. Every node reads them from the store; the newest
// signs, all verify, so a key can be rotated by adding a new one.
type keyring struct {
	store storage.Store
	now   func() time.Time

	mu         sync.RWMutex
	keys       map[string][]byte
	signKID    string
	firstKID   string // the oldest key's: what LastingDerivedKey derives from
	lastReload time.Time
	reloading  sync.Mutex // one reload at a time
}

// errKeyringUnavailable: a token names a key this node does not have and the store
// could not be asked for it. The token may be fine, so this is a 503, not a 401.
var errKeyringUnavailable = errors.New("token signing keys could not be read")

// KeyReloadInterval bounds how often an unknown key id makes the keyring reread the
// store, so a flood of forged key ids costs at most one query a second.
const KeyReloadInterval = time.Second

func loadKeyring(ctx context.Context, store storage.Store, now func() time.Time) (*keyring, error) {
	k := &keyring{store: store, now: now}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	if k.signKID != "" {
		return k, nil
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	err := store.CreateSigningKey(ctx, storage.SigningKey{KID: firstSigningKID, Secret: secret, CreatedAt: now().UTC()})
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		return nil, fmt.Errorf("creating a token signing key: %w", err)
	}
	// Nodes starting together on an empty store all try to create the first key under the
	// same id: one succeeds, the others get ErrConflict, and all sign with that one. (With
	// random ids each could sign with a key the others had not read yet.)
	return k, k.reload(ctx)
}

// firstSigningKID is the id of the first signing key of a store. Key ids are public.
const firstSigningKID = "k1"

func (k *keyring) reload(ctx context.Context) error {
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		k.mu.Lock()
		k.lastReload = k.now() // a failing store is asked again only after the interval
		k.mu.Unlock()
		return fmt.Errorf("loading token signing keys: %w", err)
	}
	keys := make(map[string][]byte, len(stored))
	newest, oldest := "", ""
	for _, sk := range stored { // oldest first
		keys[sk.KID] = sk.Secret
		newest = sk.KID
		if oldest == "" {
			oldest = sk.KID
		}
	}
	k.mu.Lock()
	k.keys, k.signKID, k.firstKID, k.lastReload = keys, newest, oldest, k.now()
	k.mu.Unlock()
	return nil
}

// signing returns the key that signs new tokens.
func (k *keyring) signing() (string, []byte) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.signKID, k.keys[k.signKID]
}

// verifying returns the key with id kid, rereading the store (at most once a second)
// for a key another node may have added since. It fails with errKeyringUnavailable when
// that reread fails.
func (k *keyring) verifying(ctx context.Context, kid string) ([]byte, bool, error) {
	if key, ok, stale := k.lookup(kid); ok || !stale {
		return key, ok, nil
	}
	k.reloading.Lock()
	defer k.reloading.Unlock()
	if key, ok, stale := k.lookup(kid); ok || !stale { // another request just reloaded
		return key, ok, nil
	}
	if err := k.reload(ctx); err != nil {
		return nil, false, fmt.Errorf("%w: %w", errKeyringUnavailable, err)
	}
	key, ok, _ := k.lookup(kid)
	return key, ok, nil
}

func (k *keyring) lookup(kid string) (key []byte, ok, stale bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok = k.keys[kid]
	return key, ok, k.now().Sub(k.lastReload) >= KeyReloadInterval
}
