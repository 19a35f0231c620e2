package credentials

import (
	"crypto/sha256"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Tokens are HS256 JWTs: {"kid"} in the header, and iss, sub (user uid), tid (tenant
// uid), sid (session id), jti (unique per token), iat and exp in the claims, plus the
// user's role and email at issue (used only while the store cannot answer: see
// claimsPrincipal). HMAC keeps verification local and cheap; the verified result is
// cached under the token's digest, so a token seen before costs one SHA-256 and a cache
// lookup.
const (
	tokenIssuer = "keygate"
	// maxTokenLen rejects absurd inputs before hashing or parsing them.
	maxTokenLen = 2048
	// DefaultTokenTTL is how long an Authorization token lives.
	DefaultTokenTTL = 15 * time.Minute
	// TokenSkew allows for clocks and configurations that differ a little between nodes.
	TokenSkew = time.Minute
)

// Claims are a token's claims, as sessions issue them and the Verifier reads them.
type Claims struct {
	TenantUID string `json:"tid"`
	SessionID string `json:"sid"`
	// Role and Email are absent from tokens issued before they were added.
	Role  storage.Role `json:"role,omitempty"`
	Email string       `json:"email,omitempty"`
	jwt.RegisteredClaims
}

// tokenDigest hashes a token of at most maxTokenLen bytes from a stack copy: converting
// the string to a slice would allocate on every request, cached or not.
func tokenDigest(token string) authcore.Digest {
	var buf [maxTokenLen]byte
	n := copy(buf[:], token)
	return sha256.Sum256(buf[:n])
}
