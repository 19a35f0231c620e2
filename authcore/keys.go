package authcore

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"strings"
)

// API key format: "kg_" + 40 base62 characters of randomness (about 238 bits) + a
// 6-character base62 CRC-32 of everything before it. The prefix lets secret scanners find
// leaked keys; the checksum rejects typos and garbage before any cache or store lookup.
const (
	KeyPrefix      = "kg_"
	keyBodyLen     = 40
	keyChecksumLen = 6
	KeyLen         = len(KeyPrefix) + keyBodyLen + keyChecksumLen
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Digest is the SHA-256 of a key: the only form in which keys are stored or cached.
type Digest [sha256.Size]byte

// NewKey returns a fresh random API key, its digest and a non-secret hint.
func NewKey() (key string, digest Digest, hint string) {
	var b strings.Builder
	b.Grow(KeyLen)
	b.WriteString(KeyPrefix)
	randomBase62(&b, keyBodyLen)
	b.WriteString(checksum(b.String()))
	key = b.String()
	return key, sha256.Sum256([]byte(key)), KeyHint(key)
}

// ParseKey checks a presented key's shape and checksum and returns its digest. It does
// no I/O, so malformed keys cost nothing downstream.
func ParseKey(key string) (Digest, bool) {
	if len(key) != KeyLen || !strings.HasPrefix(key, KeyPrefix) {
		return Digest{}, false
	}
	for i := len(KeyPrefix); i < len(key); i++ {
		if !isBase62(key[i]) {
			return Digest{}, false
		}
	}
	// A stack copy keeps this path free of allocations.
	var buf [KeyLen]byte
	copy(buf[:], key)
	sum := checksumOf(buf[:KeyLen-keyChecksumLen])
	if string(sum[:]) != key[KeyLen-keyChecksumLen:] {
		return Digest{}, false
	}
	return sha256.Sum256(buf[:]), true
}

// KeyHint is what listings show instead of the key: the prefix, four characters, an
// ellipsis and the last four characters (checksum characters, so nothing secret).
func KeyHint(key string) string {
	if len(key) < len(KeyPrefix)+8 {
		return KeyPrefix + "…"
	}
	return key[:len(KeyPrefix)+4] + "…" + key[len(key)-4:]
}

func checksum(s string) string {
	sum := checksumOf([]byte(s))
	return string(sum[:])
}

// checksumOf is the CRC-32 of b in fixed-width base62.
func checksumOf(b []byte) [keyChecksumLen]byte {
	var out [keyChecksumLen]byte
	n := crc32.ChecksumIEEE(b)
	for i := keyChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return out
}

// randomBase62 appends n uniformly random base62 characters, rejecting bytes >= 248 so
// that every character is equally likely.
func randomBase62(b *strings.Builder, n int) {
	buf := make([]byte, n*2)
	for n > 0 {
		rand.Read(buf) // never fails (crypto/rand panics on an unusable source)
		for _, c := range buf {
			if c >= 248 || n == 0 {
				continue
			}
			b.WriteByte(base62[c%62])
			n--
		}
	}
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// RandomPassword returns a password of 24 base62 characters (about 143 bits).
func RandomPassword() string {
	var b strings.Builder
	randomBase62(&b, 24)
	return b.String()
}
