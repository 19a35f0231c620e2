package sessions

import (
	"context"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/storage"
)

// Issued is a freshly issued token.
type Issued struct {
	Token     string
	ExpiresAt time.Time
	Principal *authcore.Principal
	Device    *DeviceCookie // from a password login: the client's device cookie
}

// issue signs a token for a session, valid for its tenant's token lifetime from now,
// with the session's newest token id as its jti.
func (iss *Issuer) issue(ctx context.Context, s storage.Session, p authcore.Principal) (Issued, error) {
	ttl, err := iss.TokenTTL(ctx, s.TenantUID)
	if err != nil {
		return Issued{}, err
	}
	now := iss.now()
	// JWT times are whole seconds: round up, so a token never lives less than its lifetime.
	expires := now.Add(ttl + time.Second - 1).Truncate(time.Second)
	signed, err := iss.verifier.SignToken(credentials.Claims{
		TenantUID: s.TenantUID,
		SessionID: s.ID,
		Role:      p.Role,
		Email:     p.Email,
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        s.TokenID,
			Subject:   s.UserUID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
		},
	})
	if err != nil {
		return Issued{}, err
	}
	p.Method, p.SessionID, p.KeyUID, p.ExpiresAt = authcore.MethodToken, s.ID, "", expires
	return Issued{Token: signed, ExpiresAt: expires, Principal: &p}, nil
}

// TokenTTL is how long the tenant's tokens live: its own authTokenSettings, read from the
// store at each login and refresh so that a change holds on every node at once, or the
// gateway's token_ttl.
func (iss *Issuer) TokenTTL(ctx context.Context, tenantUID string) (time.Duration, error) {
	ts, err := iss.store.TenantSettings(ctx, tenantUID)
	switch {
	case authcore.IsNotFound(err): // the tenant is gone: its users' sessions are too
		return 0, authcore.ErrCredentialRevoked
	case err != nil:
		return 0, authcore.Unavailable(err)
	case ts.TokenTTL > 0:
		return ts.TokenTTL, nil
	}
	return iss.tokenTTL, nil
}

// startSession records a new login for p, with its login.success audit row in the same
// transaction, and issues its first token.
func (iss *Issuer) startSession(ctx context.Context, p *authcore.Principal, clientIP, how string) (Issued, error) {
	now := iss.now().UTC().Truncate(time.Millisecond)
	s := storage.Session{ID: authcore.NewUID(), UserUID: p.UserUID, TenantUID: p.TenantUID, CreatedAt: now, TokenID: authcore.NewUID()}
	ev := authcore.AuditEvent(authcore.Actor{Principal: p, IP: clientIP}, authcore.Audit{Action: "login.success", Kind: "session", Target: s.ID, Detail: how}, now)
	_, err := authcore.CommitAudited(ctx, iss.store, func(tx storage.Tx) (storage.AuditEvent, error) {
		return ev, tx.CreateSession(ctx, s)
	})
	if err != nil {
		return Issued{}, authcore.StoreError(err, "user")
	}
	return iss.issue(ctx, s, *p)
}

// Refresh issues a new token, with a fresh lifetime, in the session of a valid token.
// It asks the store, not the cache, whether the session is still live. Only the
// session's newest token may be refreshed, once: refreshing an older one means two
// parties hold the session's tokens (OAuth 2.1's refresh token reuse), so it ends the
// session and answers ErrTokenAlreadyRefreshed. A refreshed token itself keeps working
// until it expires, for requests already in flight.
func (iss *Issuer) Refresh(ctx context.Context, token, clientIP string) (Issued, error) {
	p, tokenID, err := iss.verifier.TokenForRefresh(ctx, token)
	if err != nil {
		return Issued{}, err
	}
	s, err := iss.liveSession(ctx, p.SessionID)
	if err != nil {
		return Issued{}, err
	}
	s.TokenID = authcore.NewUID()
	if err := iss.store.RotateSessionToken(ctx, s.ID, tokenID, s.TokenID); err != nil {
		return Issued{}, iss.refreshRefused(ctx, p, clientIP, err)
	}
	issued, err := iss.issue(ctx, s, *p)
	if err == nil {
		iss.obs.TokenIssued("refresh")
	}
	return issued, err
}

// liveSession loads a session that may still issue tokens.
func (iss *Issuer) liveSession(ctx context.Context, id string) (storage.Session, error) {
	s, err := iss.store.SessionByID(ctx, id)
	switch {
	case authcore.IsNotFound(err): // pruned, or its user deleted
		return s, authcore.ErrCredentialRevoked
	case err != nil:
		return s, authcore.Unavailable(err)
	case !s.RevokedAt.IsZero():
		return s, authcore.ErrCredentialRevoked
	case iss.now().Sub(s.CreatedAt) >= MaxSessionAge:
		return s, authcore.ErrCredentialExpired // log in again
	}
	return s, nil
}

// refreshRefused answers a refresh whose token rotation the store refused with err. A
// conflict with the session still live is reuse: the session ends.
func (iss *Issuer) refreshRefused(ctx context.Context, p *authcore.Principal, clientIP string, err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound): // deleted meanwhile, with its user or pruned
		return authcore.ErrCredentialRevoked
	case !errors.Is(err, storage.ErrConflict):
		return authcore.Unavailable(err)
	}
	if _, err := iss.liveSession(ctx, p.SessionID); err != nil {
		return err // revoked meanwhile: not reuse
	}
	if err := iss.revokeSession(ctx, p, clientIP, p.SessionID, "token refreshed twice"); err != nil {
		return err
	}
	return authcore.ErrTokenAlreadyRefreshed
}

// RevokeTokens ends the sessions of tokens, expired or not. Users may revoke their own
// tokens, tenant admins any token of their tenant. With no tokens, it ends the caller's
// own session (a logout).
func (iss *Issuer) RevokeTokens(ctx context.Context, caller *authcore.Principal, clientIP string, tokens []string) error {
	if len(tokens) == 0 {
		if caller.SessionID == "" {
			return authcore.BadRequest("no tokens to revoke")
		}
		return iss.revokeSession(ctx, caller, clientIP, caller.SessionID, "")
	}
	var sessions []string
	for i, t := range tokens {
		c, err := iss.verifier.TokenClaims(ctx, t)
		if err != nil {
			return authcore.BadRequest("tokens[%d] is not a Keygate token", i)
		}
		own := c.Subject == caller.UserUID
		if !own && !(caller.IsTenantAdmin() && c.TenantUID == caller.TenantUID) {
			return authcore.Forbidden("tokens[%d] belongs to another user", i)
		}
		sessions = append(sessions, c.SessionID)
	}
	for _, s := range sessions {
		if err := iss.revokeSession(ctx, caller, clientIP, s, ""); err != nil {
			return err
		}
	}
	return nil
}

func (iss *Issuer) revokeSession(ctx context.Context, caller *authcore.Principal, clientIP, id, reason string) error {
	now := iss.now().UTC().Truncate(time.Millisecond)
	ev := authcore.AuditEvent(authcore.Actor{Principal: caller, IP: clientIP}, authcore.Audit{Action: "session.revoke", Kind: "session", Target: id, Detail: reason}, now)
	_, err := authcore.CommitAudited(ctx, iss.store, func(tx storage.Tx) (storage.AuditEvent, error) {
		return ev, tx.RevokeSession(ctx, id, now)
	})
	if err != nil {
		return authcore.StoreError(err, "session")
	}
	iss.verifier.NoteRevoked(id)
	return nil
}

// PruneSessions deletes sessions too old to be refreshed or to have a valid token.
func (iss *Issuer) PruneSessions(ctx context.Context) (int64, error) {
	return iss.store.PruneSessions(ctx, iss.now().Add(-MaxSessionAge-iss.tokenTTL-credentials.TokenSkew))
}
