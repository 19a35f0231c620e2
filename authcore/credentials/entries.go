package credentials

import (
	"crypto/subtle"
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// keyEntry is a cached lookup of one key digest: the key's state at load time, or the
// fact that no such key exists. The decision is made against the clock on every use.
type keyEntry struct {
	digest    authcore.Digest
	found     bool
	active    bool
	disabled  bool
	principal authcore.Principal
	lastNoted atomic.Int64 // Unix seconds of the last use passed to the usage log
}

// positive: a key that exists may be served stale; an unknown one may not.
func (e *keyEntry) positive() bool { return e.found }

func (e *keyEntry) decide(now time.Time) (*authcore.Principal, error) {
	switch {
	case !e.found:
		return nil, authcore.ErrCredentialInvalid
	case !e.active:
		return nil, authcore.ErrCredentialRevoked
	case !e.principal.ExpiresAt.IsZero() && !now.Before(e.principal.ExpiresAt):
		return nil, authcore.ErrCredentialExpired
	case e.disabled:
		return nil, authcore.ErrUserDisabled
	}
	return &e.principal, nil
}

func (e *keyEntry) matches(d authcore.Digest) bool {
	return subtle.ConstantTimeCompare(e.digest[:], d[:]) == 1
}

func newKeyEntry(digest authcore.Digest, g storage.KeyGrant, found bool) *keyEntry {
	e := &keyEntry{digest: digest, found: found}
	if !found {
		return e
	}
	e.active, e.disabled = g.Key.Active, g.User.Disabled
	e.principal = authcore.UserPrincipal(g.User, authcore.MethodAPIKey)
	e.principal.KeyUID, e.principal.ExpiresAt = g.Key.UID, g.Key.ExpiresAt
	return e
}

// digestSlot is the cache key of a digest: its first 8 bytes, already uniformly random.
func digestSlot(d authcore.Digest) uint64 { return binary.LittleEndian.Uint64(d[:8]) }

// tokenEntry is a verified token, cached under its digest.
type tokenEntry struct {
	digest    authcore.Digest
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

func (e *tokenEntry) matches(d authcore.Digest) bool { return e.digest == d }

func newTokenEntry(d authcore.Digest, c *Claims) *tokenEntry {
	return &tokenEntry{
		digest: d, userUID: c.Subject, tenantUID: c.TenantUID, sessionID: c.SessionID,
		tokenID: c.ID, role: c.Role, email: c.Email, expiresAt: c.ExpiresAt.Time,
	}
}

// userEntry is a cached user record, so a token can act with its user's current role and
// status without a store query per request.
type userEntry struct {
	uid   string
	found bool
	user  storage.User
}

// positive: a user that exists may be served stale; an unknown uid may not.
func (e *userEntry) positive() bool { return e.found }

var userSeed = maphash.MakeSeed()

func userSlot(uid string) uint64 { return maphash.String(userSeed, uid) }

// accessEntry is a cached answer to "may this user act in this project?".
type accessEntry struct {
	projectUID string
	userUID    string
	found      bool // whether the project exists
	access     storage.ProjectAccess
}

// positive: the answer for a project that exists may be served stale (member or not:
// a tenant admin needs no membership); an unknown project's may not.
func (e *accessEntry) positive() bool { return e.found }

var accessSeed = maphash.MakeSeed()

func accessSlot(projectUID, userUID string) uint64 {
	var h maphash.Hash
	h.SetSeed(accessSeed)
	h.WriteString(projectUID)
	h.WriteByte('/')
	h.WriteString(userUID)
	return h.Sum64()
}
