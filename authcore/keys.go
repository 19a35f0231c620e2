package authcore

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"strings"
)

// API key format: "kg_" + a 40-character base62 body + a 6-character base62 CRC-32 of
// everything before it. The prefix lets secret scanners find leaked keys; the checksum
// rejects typos and garbage before any cache or store lookup, without any secret.
//
// The body of a key made now is 32 random characters (about 190 bits) and an 8-character
// tag that only the store's tag secret produces (see KeyTag), so a well-formed key that
// no store holds is refused with no lookup either. Legacy keys, made before tags, have
// 40 random characters: the same shape, so every client and scanner takes both.
const (
	KeyPrefix      = "kg_"
	keyBodyLen     = 40
	keyRandomLen   = keyBodyLen - keyTagLen
	keyChecksumLen = 6
	KeyLen         = len(KeyPrefix) + keyBodyLen + keyChecksumLen
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Digest is the SHA-256 of a key: the only form in which keys are stored or cached.
type Digest [sha256.Size]byte

// NewLegacyKey returns a key in the format before tags, its digest and hint. Keygate no
// longer makes such keys (KeyTag.NewKey does); tests and fixtures use it for the keys
// stores still hold from then.
func NewLegacyKey() (key string, digest Digest, hint string) {
	var b strings.Builder
	b.Grow(KeyLen)
	b.WriteString(KeyPrefix)
	randomBase62(&b, keyBodyLen)
	return finishKey(&b)
}

// finishKey appends the checksum to a key's prefix and body.
func finishKey(b *strings.Builder) (key string, digest Digest, hint string) {
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
	sum := checksumOf(key[:KeyLen-keyChecksumLen])
	if string(sum[:]) != key[KeyLen-keyChecksumLen:] {
		return Digest{}, false
	}
	// A stack copy keeps this path free of allocations.
	var buf [KeyLen]byte
	copy(buf[:], key)
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
	sum := checksumOf(s)
	return string(sum[:])
}

// crcTable is CRC-32 (IEEE)'s table: checksumOf runs it over a string itself, since
// hash/crc32 takes a []byte that escapes to the heap, an allocation per request.
var crcTable = crc32.MakeTable(crc32.IEEE)

// checksumOf is the CRC-32 (IEEE) of s in fixed-width base62.
func checksumOf(s string) [keyChecksumLen]byte {
	n := ^uint32(0)
	for i := 0; i < len(s); i++ {
		n = crcTable[byte(n)^s[i]] ^ n>>8
	}
	n = ^n
	var out [keyChecksumLen]byte
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
