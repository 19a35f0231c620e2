package authcore

import (
	"crypto/rand"
	"encoding/hex"
)

// NewUID returns a 24-character hex uid, the shape Palette uses for its resources.
func NewUID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PlausibleUID rejects values that cannot be a uid before they cost a lookup.
func PlausibleUID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isBase62(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// IsGeneratedUID reports whether s has the shape NewUID gives (24 lowercase hex digits),
// the shape of every uid Keygate makes; the routes use it to tell a record of Keygate's
// from a name of Palette's that Keygate does not serve.
func IsGeneratedUID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
