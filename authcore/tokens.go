package authcore

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

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
	// MaxSessionAge bounds how long a login can be kept alive by refreshing.
	MaxSessionAge = 7 * 24 * time.Hour
	// tokenSkew allows for clocks and configurations that differ a little between nodes.
	tokenSkew = time.Minute
)

type tokenClaims struct {
	TenantUID string `json:"tid"`
	SessionID string `json:"sid"`
	// Role and Email are absent from tokens issued before they were added.
	Role  storage.Role `json:"role,omitempty"`
	Email string       `json:"email,omitempty"`
	jwt.RegisteredClaims
}

// tokenEntry is a verified token, cached under its digest.
type tokenEntry struct {
	digest    Digest
	userUID   string
	tenantUID string
	sessionID string
	tokenID   string       // the jti: only a session's newest token may be refreshed
	role      storage.Role // as claimed at issue; "" if not claimed
	email     string
	expiresAt time.Time
}

// positive: a verified token is cached until it expires and never reloaded, so there is
// no failed reload to stand in for.
func (e *tokenEntry) positive() bool { return false }

// Issued is a freshly issued token.
type Issued struct {
	Token     string
	ExpiresAt time.Time
	Principal *Principal
}

// AuthenticateToken resolves an Authorization token (without any "Bearer " prefix).
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*Principal, error) {
	e, now, err := a.verifiedToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return a.tokenPrincipal(ctx, e, now)
}

// verifiedToken returns the token's verified claims, from the cache or by checking its
// signature, and the time it was looked up at.
func (a *Authenticator) verifiedToken(ctx context.Context, token string) (*tokenEntry, time.Time, error) {
	if token == "" {
		return nil, time.Time{}, ErrCredentialMissing
	}
	if len(token) > maxTokenLen || strings.Count(token, ".") != 2 {
		return nil, time.Time{}, ErrCredentialMalformed
	}
	digest := tokenDigest(token)
	slot := digestSlot(digest)
	now := a.now() // the one clock read of a cached token: freshness, expiry, the user
	if e, ok := a.tokens.get(slot, now.UnixNano()); ok && e.matches(digest) {
		a.obs.CacheResult("hit")
		return e, now, nil
	}
	a.obs.CacheResult("miss")
	since := a.tokens.gen.Load()
	claims, err := a.parseToken(ctx, token, true)
	if err != nil {
		return nil, now, err
	}
	e := newTokenEntry(digest, claims)
	a.tokens.set(slot, e, e.expiresAt.Sub(now), since, now.UnixNano())
	return e, now, nil
}

func (e *tokenEntry) matches(d Digest) bool { return e.digest == d }

func newTokenEntry(d Digest, c *tokenClaims) *tokenEntry {
	return &tokenEntry{
		digest: d, userUID: c.Subject, tenantUID: c.TenantUID, sessionID: c.SessionID,
		tokenID: c.ID, role: c.Role, email: c.Email, expiresAt: c.ExpiresAt.Time,
	}
}

// tokenPrincipal checks a verified token against the clock, revocations and its user's
// current state.
func (a *Authenticator) tokenPrincipal(ctx context.Context, e *tokenEntry, now time.Time) (*Principal, error) {
	if !now.Before(e.expiresAt) {
		return nil, ErrCredentialExpired
	}
	if a.revoked.has(e.sessionID) {
		return nil, ErrCredentialRevoked
	}
	u, err := a.loadUser(ctx, e.userUID, now)
	if err != nil {
		return a.claimsPrincipal(e, err)
	}
	if !u.found || u.user.TenantUID != e.tenantUID {
		return nil, ErrCredentialInvalid
	}
	if u.user.Disabled {
		return nil, ErrUserDisabled
	}
	return &Principal{
		UserUID: u.user.UID, Email: u.user.Email, TenantUID: u.user.TenantUID, Role: u.user.Role,
		Method: MethodToken, SessionID: e.sessionID, ExpiresAt: e.expiresAt,
	}, nil
}

// claimsPrincipal stands in for the user's current record when loading it failed with
// err because the store cannot answer, and the record is not cached, not even stale: the
// token's own claims say who the user was when it was issued or refreshed. That is
// acceptable because the token lives at most token_ttl (15 minutes by default) and was
// issued to an enabled user; the store cannot change while it is down; revoked sessions
// are still refused (the check above needs no store); and a user this node saw change
// within a token's lifetime (changedUsers) gets no fallback, as its claims may be out of
// date. Tokens without the claims (issued before they existed) still get 503, as does
// every token with stale_if_error off.
func (a *Authenticator) claimsPrincipal(e *tokenEntry, err error) (*Principal, error) {
	if !a.staleOK || !isUnavailable(err) || !e.role.Valid() || a.changedUsers.has(e.userUID) {
		return nil, err
	}
	a.obs.CacheResult("stale")
	return &Principal{
		UserUID: e.userUID, Email: e.email, TenantUID: e.tenantUID, Role: e.role,
		Method: MethodToken, SessionID: e.sessionID, ExpiresAt: e.expiresAt,
	}, nil
}

// parseToken verifies a token's signature and issuer, and its expiry when checkExpiry.
func (a *Authenticator) parseToken(ctx context.Context, token string, checkExpiry bool) (*tokenClaims, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.now),
	}
	if !checkExpiry {
		opts = append(opts, jwt.WithoutClaimsValidation())
	}
	claims := new(tokenClaims)
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok, err := a.keys.verifying(ctx, kid)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("unknown signing key")
		}
		return key, nil
	}, opts...)
	switch {
	case errors.Is(err, errKeyringUnavailable):
		return nil, Unavailable(err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrCredentialExpired
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, ErrCredentialMalformed
	case err != nil:
		return nil, ErrCredentialInvalid
	case !checkExpiry && claims.Issuer != tokenIssuer:
		return nil, ErrCredentialInvalid
	case claims.Subject == "" || claims.SessionID == "" || claims.ExpiresAt == nil || claims.IssuedAt == nil:
		return nil, ErrCredentialInvalid
	case checkExpiry && claims.ExpiresAt.Sub(claims.IssuedAt.Time) > a.tokenTTL+tokenSkew:
		// Issued for longer than this gateway allows, e.g. before token_ttl was lowered:
		// revocations of its session may no longer be remembered.
		return nil, ErrCredentialExpired
	}
	return claims, nil
}

// issue signs a token for a session, valid for the token lifetime from now, with the
// session's newest token id as its jti.
func (a *Authenticator) issue(s storage.Session, p Principal) (Issued, error) {
	now := a.now()
	// JWT times are whole seconds: round up, so a token never lives less than token_ttl.
	expires := now.Add(a.tokenTTL + time.Second - 1).Truncate(time.Second)
	kid, key := a.keys.signing()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{
		TenantUID: s.TenantUID,
		SessionID: s.ID,
		Role:      p.Role,
		Email:     p.Email,
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        s.TokenID,
			Issuer:    tokenIssuer,
			Subject:   s.UserUID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
		},
	})
	t.Header["kid"] = kid
	signed, err := t.SignedString(key)
	if err != nil {
		return Issued{}, err
	}
	p.Method, p.SessionID, p.KeyUID, p.ExpiresAt = MethodToken, s.ID, "", expires
	return Issued{Token: signed, ExpiresAt: expires, Principal: &p}, nil
}

// startSession records a new login for p, with its login.success audit row in the same
// transaction, and issues its first token.
func (a *Authenticator) startSession(ctx context.Context, p *Principal, clientIP, how string) (Issued, error) {
	now := a.now().UTC().Truncate(time.Millisecond)
	s := storage.Session{ID: NewUID(), UserUID: p.UserUID, TenantUID: p.TenantUID, CreatedAt: now, TokenID: NewUID()}
	ev := auditEvent(Actor{Principal: p, IP: clientIP}, audit{"login.success", "session", s.ID, how}, now)
	err := commitAudited(ctx, a.store, ev, func(tx storage.Tx) error { return tx.CreateSession(ctx, s) })
	if err != nil {
		return Issued{}, StoreError(err, "user")
	}
	return a.issue(s, *p)
}

// Refresh issues a new token, with a fresh lifetime, in the session of a valid token.
// It asks the store, not the cache, whether the session is still live. Only the
// session's newest token may be refreshed, once: refreshing an older one means two
// parties hold the session's tokens (OAuth 2.1's refresh token reuse), so it ends the
// session and answers ErrTokenAlreadyRefreshed. A refreshed token itself keeps working
// until it expires, for requests already in flight.
func (a *Authenticator) Refresh(ctx context.Context, token, clientIP string) (Issued, error) {
	e, now, err := a.verifiedToken(ctx, token)
	if err != nil {
		return Issued{}, err
	}
	p, err := a.tokenPrincipal(ctx, e, now)
	if err != nil {
		return Issued{}, err
	}
	s, err := a.liveSession(ctx, p.SessionID)
	if err != nil {
		return Issued{}, err
	}
	s.TokenID = NewUID()
	if err := a.store.RotateSessionToken(ctx, s.ID, e.tokenID, s.TokenID); err != nil {
		return Issued{}, a.refreshRefused(ctx, p, clientIP, err)
	}
	issued, err := a.issue(s, *p)
	if err == nil {
		a.obs.TokenIssued("refresh")
	}
	return issued, err
}

// liveSession loads a session that may still issue tokens.
func (a *Authenticator) liveSession(ctx context.Context, id string) (storage.Session, error) {
	s, err := a.store.SessionByID(ctx, id)
	switch {
	case IsNotFound(err): // pruned, or its user deleted
		return s, ErrCredentialRevoked
	case err != nil:
		return s, Unavailable(err)
	case !s.RevokedAt.IsZero():
		return s, ErrCredentialRevoked
	case a.now().Sub(s.CreatedAt) >= MaxSessionAge:
		return s, ErrCredentialExpired // log in again
	}
	return s, nil
}

// refreshRefused answers a refresh whose token rotation the store refused with err. A
// conflict with the session still live is reuse: the session ends.
func (a *Authenticator) refreshRefused(ctx context.Context, p *Principal, clientIP string, err error) error {
	if !errors.Is(err, storage.ErrConflict) {
		return StoreError(err, "session")
	}
	if _, err := a.liveSession(ctx, p.SessionID); err != nil {
		return err // revoked meanwhile: not reuse
	}
	if err := a.revokeSession(ctx, p, clientIP, p.SessionID, "token refreshed twice"); err != nil {
		return err
	}
	return ErrTokenAlreadyRefreshed
}

// RevokeTokens ends the sessions of tokens, expired or not. Users may revoke their own
// tokens, tenant admins any token of their tenant. With no tokens, it ends the caller's
// own session (a logout).
func (a *Authenticator) RevokeTokens(ctx context.Context, caller *Principal, clientIP string, tokens []string) error {
	if len(tokens) == 0 {
		if caller.SessionID == "" {
			return BadRequest("no tokens to revoke")
		}
		return a.revokeSession(ctx, caller, clientIP, caller.SessionID, "")
	}
	var sessions []string
	for i, t := range tokens {
		c, err := a.parseToken(ctx, t, false)
		if err != nil {
			return BadRequest("tokens[%d] is not a Keygate token", i)
		}
		own := c.Subject == caller.UserUID
		if !own && !(caller.IsTenantAdmin() && c.TenantUID == caller.TenantUID) {
			return Forbidden("tokens[%d] belongs to another user", i)
		}
		sessions = append(sessions, c.SessionID)
	}
	for _, s := range sessions {
		if err := a.revokeSession(ctx, caller, clientIP, s, ""); err != nil {
			return err
		}
	}
	return nil
}

func (a *Authenticator) revokeSession(ctx context.Context, caller *Principal, clientIP, id, reason string) error {
	now := a.now().UTC().Truncate(time.Millisecond)
	ev := auditEvent(Actor{Principal: caller, IP: clientIP}, audit{"session.revoke", "session", id, reason}, now)
	err := commitAudited(ctx, a.store, ev, func(tx storage.Tx) error { return tx.RevokeSession(ctx, id, now) })
	if err != nil {
		return StoreError(err, "session")
	}
	a.revoked.add(id, a.now(), a.revocationMemory())
	return nil
}

// PruneSessions deletes sessions too old to be refreshed or to have a valid token.
func (a *Authenticator) PruneSessions(ctx context.Context) (int64, error) {
	return a.store.PruneSessions(ctx, a.now().Add(-MaxSessionAge-a.tokenTTL-tokenSkew))
}

// tokenDigest hashes a token of at most maxTokenLen bytes from a stack copy: converting
// the string to a slice would allocate on every request, cached or not.
func tokenDigest(token string) Digest {
	var buf [maxTokenLen]byte
	n := copy(buf[:], token)
	return sha256.Sum256(buf[:n])
}
