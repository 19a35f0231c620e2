package manage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

// ActivationLifetime is how long an activation or reset link works, as in Palette.
const ActivationLifetime = 24 * time.Hour

// Password length bounds for new passwords. The upper one keeps a hash's input, and a
// request body, small; argon2id does not care.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

// errActivationInvalid answers a link that is unknown, used or expired: the three look
// alike, so a link's history cannot be probed.
var errActivationInvalid = &authcore.Error{Status: http.StatusNotFound, Code: "ResourceNotFound",
	Message: "the password link is not valid: it was used or replaced, or it expired; ask a tenant admin for a new one"}

// errLinksOff answers a reset where the service has no key to make links with (the
// command line: `keygate user reset-password` sets a password instead).
var errLinksOff = &authcore.Error{Status: http.StatusServiceUnavailable, Code: "PasswordLinksUnavailable",
	Message: "password links cannot be made here"}

// CheckNewPassword refuses a password too short or too long to be set, naming the
// request's field. Callers that count attempts check it first: a typo in a new password
// is not a guess at the current one.
func CheckNewPassword(field, pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLen || len(pw) > MaxPasswordLen {
		return authcore.BadRequest("%s must be %d to %d characters", field, MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// activationToken is the secret of the stored token id: an HMAC of it under the link key.
// The store holds only its digest; the service can show it again from the id.
func (s *Service) activationToken(id string) string {
	mac := hmac.New(sha256.New, s.linkKey)
	mac.Write([]byte("keygate password token\x00" + id))
	return id + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// activationDigest is the stored digest of a presented token, or false for a token this
// service did not make: a forged one is refused before any store read or hash.
func (s *Service) activationDigest(token string) ([]byte, bool) {
	id, _, ok := strings.Cut(token, ".")
	if !ok || s.linkKey == nil || !authcore.PlausibleUID(id) || !hmac.Equal([]byte(s.activationToken(id)), []byte(token)) {
		return nil, false
	}
	d := sha256.Sum256([]byte(token))
	return d[:], true
}

// newPasswordToken is a fresh token record for u, valid ActivationLifetime from now.
func (s *Service) newPasswordToken(u storage.User) (storage.PasswordToken, error) {
	if s.linkKey == nil {
		return storage.PasswordToken{}, errLinksOff
	}
	now := s.clock()
	pt := storage.PasswordToken{ID: authcore.NewUID(), TenantUID: u.TenantUID, UserUID: u.UID, CreatedAt: now, ExpiresAt: now.Add(ActivationLifetime)}
	d := sha256.Sum256([]byte(s.activationToken(pt.ID)))
	pt.Digest = d[:]
	return pt, nil
}

// StartPasswordReset gives a user of the admin's tenant a new activation link, replacing
// any earlier one, valid for ActivationLifetime. The current password keeps working until
// the link is used: whoever asks for a reset cannot lock the user out by asking.
func (s *Service) StartPasswordReset(ctx context.Context, a authcore.Actor, uid string) error {
	if err := requireAdmin(a); err != nil {
		return err
	}
	return s.commitFound(ctx, a, "user "+uid, func(tx storage.Tx) (authcore.Audit, error) {
		u, err := lockVisibleUser(ctx, tx, a, uid)
		if err != nil {
			return authcore.Audit{}, err
		}
		pt, err := s.newPasswordToken(u)
		if err != nil {
			return authcore.Audit{}, err
		}
		return authcore.Audit{Action: "user.password_reset_start", Kind: "user", Target: u.UID, Detail: u.Email}, tx.CreatePasswordToken(ctx, pt)
	})
}

// RequestPasswordReset is anyone's request to reset the password of email, made from
// ip: each enabled account with that email, in any tenant, that has no link pending
// gets one, which its tenant admins see (there is no mail server to send it). A pending
// link is kept, so that asking again cannot replace the one an admin handed out. It
// tells the caller nothing: an unknown email is no error.
func (s *Service) RequestPasswordReset(ctx context.Context, ip, email string) error {
	if len(email) > maxEmailLen || authcore.CheckEmail(email) != nil {
		return nil
	}
	users, err := s.store.UsersByEmail(ctx, email)
	if err != nil {
		return authcore.Unavailable(err)
	}
	for _, u := range users {
		if u.Disabled {
			continue
		}
		if err := s.requestReset(ctx, ip, u); err != nil {
			return err
		}
	}
	return nil
}

// maxEmailLen is the longest email address SMTP allows.
const maxEmailLen = 254

func (s *Service) requestReset(ctx context.Context, ip string, u storage.User) error {
	pending, err := s.store.PasswordTokens(ctx, u.TenantUID)
	if err != nil {
		return authcore.Unavailable(err)
	}
	for _, pt := range pending {
		if pt.UserUID == u.UID && s.clock().Before(pt.ExpiresAt) {
			return nil
		}
	}
	pt, err := s.newPasswordToken(u)
	if err != nil {
		return err
	}
	// Nobody signed in: the row names no actor, only the address the request came from.
	anonymous := authcore.Actor{Principal: &authcore.Principal{TenantUID: u.TenantUID}, IP: ip}
	ev := authcore.Audit{Action: "user.password_reset_request", Kind: "user", Target: u.UID, Detail: u.Email}
	return s.commit(ctx, anonymous, "user "+u.UID, ev, func(tx storage.Tx) error { return tx.CreatePasswordToken(ctx, pt) })
}

// ActivatePassword sets the password of the user whose link token is, and ends every
// session of theirs, in one transaction that takes the token, so that it works once.
// An unknown, used or expired token answers 404 ResourceNotFound. The new password is
// hashed through h before the transaction (SQLite's one writer must not wait for it),
// and only for a token this service made.
func (s *Service) ActivatePassword(ctx context.Context, ip, token, password string, h protect.Hasher) error {
	if err := CheckNewPassword("password", password); err != nil {
		return err
	}
	digest, ok := s.activationDigest(token)
	if !ok {
		return errActivationInvalid
	}
	hash, err := h.Hash(ctx, password)
	if err != nil {
		return err
	}
	_, err = authcore.CommitAudited(ctx, s.store, func(tx storage.Tx) (storage.AuditEvent, error) {
		pt, err := tx.TakePasswordToken(ctx, digest)
		if err != nil {
			return storage.AuditEvent{}, err
		}
		if !s.clock().Before(pt.ExpiresAt) {
			return storage.AuditEvent{}, errActivationInvalid // rolled back: the expired token stays, useless
		}
		u, err := tx.LockedUser(ctx, pt.UserUID)
		if err != nil {
			return storage.AuditEvent{}, err
		}
		if err := tx.SetUserPassword(ctx, u.UID, hash, s.clock()); err != nil {
			return storage.AuditEvent{}, err
		}
		self := authcore.Actor{Principal: userPrincipal(u), IP: ip}
		return authcore.AuditEvent(self, authcore.Audit{Action: "user.password_activate", Kind: "user", Target: u.UID, Detail: u.Email}, s.clock()), nil
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return errActivationInvalid
	case err != nil:
		return authcore.StoreError(err, "password link")
	}
	return nil // the sessions' revocation reaches every node's verifier through the change feed
}

// ChangeOwnPassword replaces the caller's own password, given the current one, and ends
// their other sessions (the one making the change included: its token was issued under
// the old password). Another user of an admin's tenant answers 403 (admins start a
// reset instead); any other uid 404. A wrong current password answers like a failed
// login. The hashes run through h.
func (s *Service) ChangeOwnPassword(ctx context.Context, a authcore.Actor, uid, current, next string, h protect.Hasher) error {
	if uid != a.UserUID {
		if _, err := s.visibleUser(ctx, a, uid); err != nil {
			if authcore.AsError(err).Status >= http.StatusInternalServerError {
				return err
			}
			return authcore.NotFound("user %s not found", uid) // a user asking of another: as if none
		}
		return authcore.Forbidden("users change only their own password; tenant admins start a reset with PATCH users/{uid}/password/reset")
	}
	u, err := s.store.UserByUID(ctx, uid)
	if err != nil {
		return authcore.StoreError(err, "user "+uid)
	}
	return s.changePassword(ctx, a.IP, []storage.User{u}, current, next, h)
}

// ChangePasswordByEmail is Palette's change of password by email and current password,
// made without a credential: the one enabled account of that email whose password is
// current gets next. An unknown email costs the same hash as a wrong password and gets
// the same answer. An email and password matching accounts in several tenants answers
// 400: each is changed signed in, with ChangeOwnPassword.
func (s *Service) ChangePasswordByEmail(ctx context.Context, ip, email, current, next string, h protect.Hasher) error {
	var users []storage.User
	if len(email) <= maxEmailLen && email != "" {
		var err error
		if users, err = s.store.UsersByEmail(ctx, email); err != nil {
			return authcore.Unavailable(err)
		}
	}
	return s.changePassword(ctx, ip, users, current, next, h)
}

// errSeveralAccounts answers a change by email whose password is right in several tenants.
var errSeveralAccounts = &authcore.Error{Status: http.StatusBadRequest, Code: "OrgRequired",
	Message: "this email and password belong to accounts in several organizations; sign in to one and change it there"}

// changePassword sets next as the password of the one candidate whose password is
// current, checked through h (once against nothing when there is no candidate, at the
// same cost), and ends the user's sessions, with its audit row.
func (s *Service) changePassword(ctx context.Context, ip string, candidates []storage.User, current, next string, h protect.Hasher) error {
	if err := CheckNewPassword("newPassword", next); err != nil {
		return err
	}
	matched, err := verifyAgainst(ctx, h, candidates, current)
	switch {
	case err != nil:
		return err
	case len(matched) == 0:
		return authcore.ErrLoginFailed
	case len(matched) > 1:
		return errSeveralAccounts
	case matched[0].Disabled:
		return authcore.ErrUserDisabled
	}
	u := matched[0]
	hash, err := h.Hash(ctx, next)
	if err != nil {
		return err
	}
	self := authcore.Actor{Principal: userPrincipal(u), IP: ip}
	return s.commit(ctx, self, "user "+u.UID, authcore.Audit{Action: "user.password_change", Kind: "user", Target: u.UID, Detail: u.Email}, func(tx storage.Tx) error {
		return tx.SetUserPassword(ctx, u.UID, hash, s.clock())
	})
}

// verifyAgainst returns the candidates whose password is password.
func verifyAgainst(ctx context.Context, h protect.Hasher, candidates []storage.User, password string) ([]storage.User, error) {
	if len(candidates) == 0 {
		candidates = []storage.User{{}} // an empty hash never matches, at a real hash's cost
	}
	var matched []storage.User
	for _, u := range candidates {
		ok, err := h.Verify(ctx, u.PasswordHash, password)
		if err != nil {
			return nil, err
		}
		if ok && password != "" {
			matched = append(matched, u)
		}
	}
	return matched, nil
}

// ActivationLinks returns, for a tenant admin, the pending unexpired link token of each
// user of their tenant that has one, by user uid; for anyone else nothing.
func (s *Service) ActivationLinks(ctx context.Context, a authcore.Actor) (map[string]string, error) {
	if !a.IsTenantAdmin() || s.linkKey == nil {
		return nil, nil
	}
	pending, err := s.store.PasswordTokens(ctx, a.TenantUID)
	if err != nil {
		return nil, authcore.Unavailable(err)
	}
	links := make(map[string]string, len(pending))
	now := s.clock()
	for _, pt := range pending {
		if now.Before(pt.ExpiresAt) {
			links[pt.UserUID] = s.activationToken(pt.ID)
		}
	}
	return links, nil
}

func userPrincipal(u storage.User) *authcore.Principal {
	return &authcore.Principal{UserUID: u.UID, Email: u.Email, TenantUID: u.TenantUID, Role: u.Role}
}
