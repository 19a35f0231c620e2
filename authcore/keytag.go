package authcore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

// keyTagLen is the tag's length in base62 characters: 62^8 is about 2^47.6, so a
// guessed tag is right once in 2·10^14 tries, and each wrong one costs no store query.
const keyTagLen = 8

// KeyTagSecretLen is the length of the secret a store's first node makes.
const KeyTagSecretLen = 32

// keyTagModulus is 62^keyTagLen: a tag is the MAC's first 8 bytes modulo it, whose bias
// (2^64 is 84,700 times it) is far below what could help a forger.
const keyTagModulus = 62 * 62 * 62 * 62 * 62 * 62 * 62 * 62

// KeyTag makes and checks API key tags: the truncated HMAC-SHA-256, under the store's
// tag secret, of a key's prefix and random part. Any node holding the secret checks a
// key with no I/O, so a key made on another node a moment ago is accepted at once: there
// is nothing to propagate. It is safe for concurrent use.
type KeyTag struct {
	// The secret XORed with HMAC's inner and outer pads (RFC 2104), ready for each MAC:
	// computing on stack buffers keeps a check free of allocations.
	ipad, opad [sha256.BlockSize]byte
}

// NewKeyTag returns the KeyTag of secret, which must be 16 to 64 bytes.
func NewKeyTag(secret []byte) (*KeyTag, error) {
	if len(secret) < 16 || len(secret) > sha256.BlockSize {
		return nil, fmt.Errorf("key tag secret: %d bytes, want 16 to %d", len(secret), sha256.BlockSize)
	}
	t := &KeyTag{}
	copy(t.ipad[:], secret)
	copy(t.opad[:], secret)
	for i := range t.ipad {
		t.ipad[i] ^= 0x36
		t.opad[i] ^= 0x5c
	}
	return t, nil
}

// LoadKeyTag returns the KeyTag of store's tag secret, which the first caller on an
// empty store makes (at now) and stores; racing callers all get the one stored first.
func LoadKeyTag(ctx context.Context, store storage.Store, now time.Time) (*KeyTag, error) {
	candidate := make([]byte, KeyTagSecretLen)
	rand.Read(candidate) // never fails (crypto/rand panics on an unusable source)
	secret, err := store.KeyTagSecret(ctx, candidate, now.UTC())
	if err != nil {
		return nil, err
	}
	return NewKeyTag(secret)
}

// NewKey returns a fresh tagged API key, its digest and a non-secret hint.
func (t *KeyTag) NewKey() (key string, digest Digest, hint string) {
	var b strings.Builder
	b.Grow(KeyLen)
	b.WriteString(KeyPrefix)
	randomBase62(&b, keyRandomLen)
	var head [len(KeyPrefix) + keyRandomLen]byte
	copy(head[:], b.String())
	tag := t.tagOf(&head)
	b.Write(tag[:])
	return finishKey(&b)
}

// Carries reports whether key, which ParseKey accepted, holds the tag t makes for it.
// The comparison takes the same time wherever the tags differ.
func (t *KeyTag) Carries(key string) bool {
	if len(key) != KeyLen {
		return false
	}
	var head [len(KeyPrefix) + keyRandomLen]byte
	copy(head[:], key)
	want := t.tagOf(&head)
	return subtle.ConstantTimeCompare(want[:], []byte(key[len(head):len(head)+keyTagLen])) == 1
}

// tagOf is the tag of a key's prefix and random part: HMAC-SHA-256 in base62.
func (t *KeyTag) tagOf(head *[len(KeyPrefix) + keyRandomLen]byte) [keyTagLen]byte {
	var inner [sha256.BlockSize + len(head)]byte
	copy(inner[:], t.ipad[:])
	copy(inner[sha256.BlockSize:], head[:])
	innerSum := sha256.Sum256(inner[:])
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], t.opad[:])
	copy(outer[sha256.BlockSize:], innerSum[:])
	mac := sha256.Sum256(outer[:])
	n := binary.BigEndian.Uint64(mac[:8]) % keyTagModulus
	var out [keyTagLen]byte
	for i := keyTagLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return out
}
