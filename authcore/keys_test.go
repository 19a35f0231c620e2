package authcore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

func testKeyTag(t testing.TB, secret string) *KeyTag {
	t.Helper()
	tag, err := NewKeyTag([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func TestNewKeyParsesAndDigestMatches(t *testing.T) {
	tag := testKeyTag(t, "a tag secret of 32 bytes, or so.")
	for name, newKey := range map[string]func() (string, Digest, string){"tagged": tag.NewKey, "legacy": NewLegacyKey} {
		key, digest, hint := newKey()
		if len(key) != KeyLen || !strings.HasPrefix(key, KeyPrefix) {
			t.Fatalf("%s key %q has the wrong shape", name, key)
		}
		got, ok := ParseKey(key)
		if !ok || got != digest {
			t.Fatalf("ParseKey(new %s key) = %x, %v; want %x, true", name, got, ok, digest)
		}
		if strings.Contains(hint, key[len(KeyPrefix)+4:len(key)-6]) {
			t.Fatalf("hint %q reveals the secret part of the %s key", hint, name)
		}
	}
}

func TestKeysAreDistinct(t *testing.T) {
	tag := testKeyTag(t, "a tag secret of 32 bytes, or so.")
	seen := map[string]bool{}
	for range 1000 {
		k, _, _ := tag.NewKey()
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
	}
}

// The tag is what lets a node refuse a forged key without asking the store: only the
// secret makes it, and it covers every random character.
func TestKeyTagCarriesOnlyItsOwnTags(t *testing.T) {
	tag := testKeyTag(t, "a tag secret of 32 bytes, or so.")
	other := testKeyTag(t, "another secret of 32 bytes or so")
	key, _, _ := tag.NewKey()
	if !tag.Carries(key) {
		t.Fatalf("a key made with a tag does not carry it")
	}
	if other.Carries(key) {
		t.Fatalf("a key carries the tag of a secret it was not made with")
	}
	for range 100 {
		if legacy, _, _ := NewLegacyKey(); tag.Carries(legacy) {
			t.Fatalf("legacy key %q carries a tag", legacy)
		}
	}
	// Any change to the random part, with the checksum made to match (as a forger can),
	// leaves the tag wrong.
	for i := len(KeyPrefix); i < len(KeyPrefix)+keyRandomLen; i++ {
		c := byte('0')
		if key[i] == c {
			c = 'z'
		}
		forged := withChecksum(key[:i] + string(c) + key[i+1:])
		if _, ok := ParseKey(forged); !ok {
			t.Fatalf("forged key %q does not parse", forged)
		}
		if tag.Carries(forged) {
			t.Fatalf("a key changed at %d still carries its tag", i)
		}
	}
}

// withChecksum replaces a key's checksum with the right one.
func withChecksum(key string) string {
	body := key[:KeyLen-keyChecksumLen]
	return body + checksum(body)
}

// The tag is HMAC-SHA-256 as crypto/hmac computes it, so its strength is HMAC's.
func TestKeyTagIsHMACSHA256(t *testing.T) {
	secret := []byte("a tag secret of 32 bytes, or so.")
	tag := testKeyTag(t, string(secret))
	key, _, _ := tag.NewKey()
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(key[:len(KeyPrefix)+keyRandomLen]))
	n := binary.BigEndian.Uint64(m.Sum(nil)[:8]) % keyTagModulus
	want := make([]byte, keyTagLen)
	for i := keyTagLen - 1; i >= 0; i-- {
		want[i] = base62[n%62]
		n /= 62
	}
	if got := key[len(KeyPrefix)+keyRandomLen : KeyLen-keyChecksumLen]; got != string(want) {
		t.Fatalf("tag = %q, want HMAC-SHA-256's %q", got, want)
	}
}

func TestNewKeyTagRefusesShortAndLongSecrets(t *testing.T) {
	for _, n := range []int{0, 15, 65} {
		if _, err := NewKeyTag(make([]byte, n)); err == nil {
			t.Errorf("NewKeyTag accepted a %d-byte secret", n)
		}
	}
}

func TestParseKeyRejectsEverySingleCharacterTypo(t *testing.T) {
	key, _, _ := testKeyTag(t, "a tag secret of 32 bytes, or so.").NewKey()
	for i := len(KeyPrefix); i < len(key); i++ {
		for _, c := range []byte("0aZ") {
			if key[i] == c {
				continue
			}
			typo := key[:i] + string(c) + key[i+1:]
			if _, ok := ParseKey(typo); ok {
				t.Fatalf("typo at %d (%q) accepted", i, typo)
			}
		}
	}
}

func TestParseKeyRejectsWrongShapes(t *testing.T) {
	key, _, _ := NewLegacyKey()
	for name, bad := range map[string]string{
		"empty":        "",
		"short":        key[:len(key)-1],
		"long":         key + "a",
		"other prefix": "gh_" + key[3:],
		"symbol":       key[:10] + "-" + key[11:],
		"non-ascii":    key[:10] + "é" + key[12:],
	} {
		if _, ok := ParseKey(bad); ok {
			t.Errorf("%s: ParseKey(%q) accepted", name, bad)
		}
	}
}

// FuzzParseKey: nothing but a well-formed key parses, and checking the tag of anything
// never panics and accepts only the one tag made for a key's random part.
func FuzzParseKey(f *testing.F) {
	tag := testKeyTag(f, "a tag secret of 32 bytes, or so.")
	key, _, _ := tag.NewKey()
	legacy, _, _ := NewLegacyKey()
	f.Add(key)
	f.Add(legacy)
	f.Add("kg_")
	f.Fuzz(func(t *testing.T, s string) {
		_, ok := ParseKey(s)
		if ok && (len(s) != KeyLen || !strings.HasPrefix(s, KeyPrefix)) {
			t.Fatalf("accepted %q", s)
		}
		if !tag.Carries(s) {
			return
		}
		var head [len(KeyPrefix) + keyRandomLen]byte
		copy(head[:], s)
		if want := tag.tagOf(&head); len(s) != KeyLen || s[len(head):len(head)+keyTagLen] != string(want[:]) {
			t.Fatalf("%q carries a tag that is not its own", s)
		}
	})
}

// checksumOf is the CRC-32 that hash/crc32 computes: keys made before it checksum alike.
func TestChecksumIsCRC32(t *testing.T) {
	for _, s := range []string{"", "kg_", "kg_0123456789abcdefghijABCDEFGHIJ0123456789"} {
		n := crc32.ChecksumIEEE([]byte(s))
		var want [keyChecksumLen]byte
		for i := keyChecksumLen - 1; i >= 0; i-- {
			want[i] = base62[n%62]
			n /= 62
		}
		if got := checksumOf(s); got != want {
			t.Errorf("checksumOf(%q) = %q, want %q", s, got, want)
		}
	}
}
