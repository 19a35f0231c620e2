package credentials

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Keys for other MACs than tokens' (device cookies) are derived from the token signing
// keys, so they live in the store too: every node accepts every node's, and they rotate
// with the signing keys. Each purpose gets its own key, so a MAC made for one can never
// pass as another's, nor as a token signature.

// DerivedKey returns the key for purpose derived from the newest signing key, and that
// signing key's id.
func (v *Verifier) DerivedKey(purpose string) (kid string, key []byte) {
	kid, secret := v.keys.signing()
	return kid, derive(secret, purpose)
}

// DerivedKeyFor returns the key for purpose derived from the signing key kid, if this
// node holds it. It never asks the store: it is used before a login is admitted.
func (v *Verifier) DerivedKeyFor(purpose, kid string) ([]byte, bool) {
	v.keys.mu.RLock()
	secret, ok := v.keys.keys[kid]
	v.keys.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return derive(secret, purpose), true
}

func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("keygate derived key: " + purpose))
	return m.Sum(nil)
}

// LastingDerivedKey returns the key for purpose derived from the oldest signing key: for
// MACs that must be made again, alike, long after (password links shown to admins until
// they expire), which a rotation of the signing key must not change.
func (v *Verifier) LastingDerivedKey(purpose string) []byte {
	v.keys.mu.RLock()
	secret := v.keys.keys[v.keys.firstKID]
	v.keys.mu.RUnlock()
	return derive(secret, purpose)
}
