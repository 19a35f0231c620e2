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
