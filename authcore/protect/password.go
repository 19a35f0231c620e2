package protect

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Password hashing: argon2id with OWASP's recommended minimum (19 MiB of memory, two
// passes, one lane), a 16-byte random salt and a 32-byte hash, stored in the PHC string
// format so that parameters can be raised later without breaking existing hashes.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC-encoded argon2id hash of password.
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(sum))
}

// VerifyPassword reports whether password matches encoded, comparing in constant time.
// An empty or unparsable hash never matches, but costs the same as a real check so that
// callers can use it for unknown users without revealing that they are unknown.
func VerifyPassword(encoded, password string) bool {
	p, err := parsePHC(encoded)
	if err != nil {
		p, _ = parsePHC(dummyHash())
		p.hash[0] ^= 0xff // the dummy must not match whatever was typed
		argonCompare(p, password)
		return false
	}
	return argonCompare(p, password)
}

func argonCompare(p phc, password string) bool {
	sum := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return subtle.ConstantTimeCompare(sum, p.hash) == 1
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, hash   []byte
}

var errBadHash = errors.New("authcore: not an argon2id hash")

func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, errBadHash
	}
	var err error
	if p.salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, errBadHash
	}
	if p.hash, err = b64.DecodeString(parts[5]); err != nil || len(p.hash) == 0 {
		return p, errBadHash
	}
	return p, nil
}

var dummyHash = sync.OnceValue(func() string { return HashPassword("keygate-dummy-password") })
