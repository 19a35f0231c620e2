package credentials

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// AuthenticateToken resolves an Authorization token (without any "Bearer " prefix).
func (v *Verifier) AuthenticateToken(ctx context.Context, token string) (*authcore.Principal, error) {
	e, now, err := v.verifiedToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return v.tokenPrincipal(ctx, e, now)
}

// verifiedToken returns the token's verified claims, from the cache or by checking its
// signature, and the time it was looked up at.
func (v *Verifier) verifiedToken(ctx context.Context, token string) (*tokenEntry, time.Time, error) {
	if token == "" {
		return nil, time.Time{}, authcore.ErrCredentialMissing
	}
	if len(token) > maxTokenLen || strings.Count(token, ".") != 2 {
		return nil, time.Time{}, authcore.ErrCredentialMalformed
	}
	digest := tokenDigest(token)
	slot := digestSlot(digest)
	now := v.now() // the one clock read of a cached token: freshness, expiry, the user
	if e, ok := v.tokens.get(slot, now.UnixNano()); ok && e.matches(digest) {
		v.obs.CacheResult("hit")
		return e, now, nil
	}
	v.obs.CacheResult("miss")
	since := v.tokens.gen.Load()
	claims, err := v.parseToken(ctx, token, true)
	if err != nil {
		return nil, now, err
	}
	e := newTokenEntry(digest, claims)
	v.tokens.set(slot, e, e.expiresAt.Sub(now), since, now.UnixNano())
	return e, now, nil
}

// tokenPrincipal checks a verified token against the clock, revocations and its user's
// current state.
func (v *Verifier) tokenPrincipal(ctx context.Context, e *tokenEntry, now time.Time) (*authcore.Principal, error) {
	if !now.Before(e.expiresAt) {
		return nil, authcore.ErrCredentialExpired
	}
	if v.revoked.has(e.sessionID) {
		return nil, authcore.ErrCredentialRevoked
	}
	u, err := v.loadUser(ctx, e.userUID, now)
	if err != nil {
		return v.claimsPrincipal(e, err)
	}
	if !u.found || u.user.TenantUID != e.tenantUID {
		return nil, authcore.ErrCredentialInvalid
	}
	if u.user.Disabled {
		return nil, authcore.ErrUserDisabled
	}
	p := authcore.UserPrincipal(u.user, authcore.MethodToken)
	p.SessionID, p.ExpiresAt = e.sessionID, e.expiresAt
	return &p, nil
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
func (v *Verifier) claimsPrincipal(e *tokenEntry, err error) (*authcore.Principal, error) {
	if !v.staleOK || !isUnavailable(err) || !e.role.Valid() || v.changedUsers.has(e.userUID) {
		return nil, err
	}
	v.obs.CacheResult("stale")
	p := &authcore.Principal{
		UserUID: e.userUID, Email: e.email, TenantUID: e.tenantUID, Role: e.role,
		Method: authcore.MethodToken, SessionID: e.sessionID, ExpiresAt: e.expiresAt,
	}
	if e.role == storage.RoleTenantAdmin { // the claims name no other role
		p.TenantRoles = []string{storage.RoleUIDTenantAdmin}
	}
	return p, nil
}

// parseToken verifies a token's signature and issuer, and its expiry when checkExpiry.
func (v *Verifier) parseToken(ctx context.Context, token string, checkExpiry bool) (*Claims, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(v.now),
	}
	if !checkExpiry {
		opts = append(opts, jwt.WithoutClaimsValidation())
	}
	claims := new(Claims)
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok, err := v.keys.verifying(ctx, kid)
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
		return nil, authcore.Unavailable(err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, authcore.ErrCredentialExpired
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, authcore.ErrCredentialMalformed
	case err != nil:
		return nil, authcore.ErrCredentialInvalid
	case !checkExpiry && claims.Issuer != tokenIssuer:
		return nil, authcore.ErrCredentialInvalid
	case claims.Subject == "" || claims.SessionID == "" || claims.ExpiresAt == nil || claims.IssuedAt == nil:
		return nil, authcore.ErrCredentialInvalid
	case checkExpiry && claims.ExpiresAt.Sub(claims.IssuedAt.Time) > v.tokenTTL+TokenSkew:
		// Issued for longer than this gateway allows, e.g. before token_ttl was lowered:
		// revocations of its session may no longer be remembered.
		return nil, authcore.ErrCredentialExpired
	}
	return claims, nil
}

// SignToken signs c with the newest signing key, naming it in the token's kid header,
// as issued by Keygate.
func (v *Verifier) SignToken(c Claims) (string, error) {
	c.Issuer = tokenIssuer
	kid, key := v.keys.signing()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = kid
	return t.SignedString(key)
}

// TokenForRefresh verifies a token about to be refreshed: the principal it acts as now,
// and its id (jti), which must be its session's newest token's.
func (v *Verifier) TokenForRefresh(ctx context.Context, token string) (*authcore.Principal, string, error) {
	e, now, err := v.verifiedToken(ctx, token)
	if err != nil {
		return nil, "", err
	}
	p, err := v.tokenPrincipal(ctx, e, now)
	if err != nil {
		return nil, "", err
	}
	return p, e.tokenID, nil
}

// TokenClaims checks a token's signature and reads its claims, expired or not: for
// revoking a token, which its owner may do after it expired.
func (v *Verifier) TokenClaims(ctx context.Context, token string) (*Claims, error) {
	return v.parseToken(ctx, token, false)
}
