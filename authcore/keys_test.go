package authcore

import (
	"strings"
	"testing"
)

func TestNewKeyParsesAndDigestMatches(t *testing.T) {
	key, digest, hint := NewKey()
	if len(key) != KeyLen || !strings.HasPrefix(key, KeyPrefix) {
		t.Fatalf("key %q has the wrong shape", key)
	}
	got, ok := ParseKey(key)
	if !ok || got != digest {
		t.Fatalf("ParseKey(new key) = %x, %v; want %x, true", got, ok, digest)
	}
	if strings.Contains(hint, key[len(KeyPrefix)+4:len(key)-6]) {
		t.Fatalf("hint %q reveals the secret part of the key", hint)
	}
}

func TestKeysAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k, _, _ := NewKey()
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
	}
}

func TestParseKeyRejectsEverySingleCharacterTypo(t *testing.T) {
	key, _, _ := NewKey()
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
	key, _, _ := NewKey()
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

func FuzzParseKey(f *testing.F) {
	key, _, _ := NewKey()
	f.Add(key)
	f.Add("kg_")
	f.Fuzz(func(t *testing.T, s string) {
		if _, ok := ParseKey(s); ok && (len(s) != KeyLen || !strings.HasPrefix(s, KeyPrefix)) {
			t.Fatalf("accepted %q", s)
		}
	})
}
