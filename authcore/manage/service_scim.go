package manage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// SCIMTokenPrefix starts every SCIM token, so that one is told from an API key at a glance
// (and by secret scanners).
const SCIMTokenPrefix = "kgscim_"

// scimTokenLen is a SCIM token's length: the prefix and 32 random bytes, base64url.
var scimTokenLen = len(SCIMTokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// scimTouchEvery bounds how often a token's last use is written.
const scimTouchEvery = time.Minute

// SCIMProvider is the name the SCIM identity provider acts under (audited "idp:scim").
const SCIMProvider = "scim"

// RotateSCIMToken gives the tenant a new SCIM token, which replaces any earlier one at
// once, and returns it: it is shown this once, and only its digest is kept.
func (s *Service) RotateSCIMToken(ctx context.Context, a authcore.Actor, tenantUID string) (string, storage.SCIMToken, error) {
	if err := scimTokenAdmin(a, tenantUID); err != nil {
		return "", storage.SCIMToken{}, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", storage.SCIMToken{}, authcore.Unavailable(err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	token := SCIMTokenPrefix + secret
	digest := sha256.Sum256([]byte(token))
	t := storage.SCIMToken{
		TenantUID: tenantUID, Digest: digest[:], CreatedAt: s.clock(),
		Hint: SCIMTokenPrefix + secret[:4] + "…" + secret[len(secret)-4:],
	}
	ev := authcore.Audit{Action: "scim.token_rotate", Kind: "tenant", Target: tenantUID, Detail: t.Hint}
	if err := s.commit(ctx, a, "scim token", ev, func(tx storage.Tx) error { return tx.SetSCIMToken(ctx, t) }); err != nil {
		return "", storage.SCIMToken{}, err
	}
	return token, t, nil
}

// SCIMToken reads the tenant's SCIM token's metadata (never the secret); 404 when it
// has none.
func (s *Service) SCIMToken(ctx context.Context, a authcore.Actor, tenantUID string) (storage.SCIMToken, error) {
	if err := scimTokenAdmin(a, tenantUID); err != nil {
		return storage.SCIMToken{}, err
	}
	t, err := s.store.SCIMToken(ctx, tenantUID)
	if err != nil {
		return t, notFoundOr(err, "tenant %s has no SCIM token", tenantUID)
	}
	return t, nil
}

// DeleteSCIMToken ends the tenant's SCIM token: provisioning stops until a new one is made.
func (s *Service) DeleteSCIMToken(ctx context.Context, a authcore.Actor, tenantUID string) error {
	if err := scimTokenAdmin(a, tenantUID); err != nil {
		return err
	}
	ev := authcore.Audit{Action: "scim.token_delete", Kind: "tenant", Target: tenantUID}
	return s.commit(ctx, a, "SCIM token of tenant "+tenantUID, ev, func(tx storage.Tx) error { return tx.DeleteSCIMToken(ctx, tenantUID) })
}

// scimTokenAdmin allows the tenant's admins (and the operator), not its identity
// provider: a SCIM client must not mint its own credentials.
func scimTokenAdmin(a authcore.Actor, tenantUID string) error {
	if a.IsIdentityProvider() {
		return authcore.Forbidden("an identity provider cannot manage SCIM tokens")
	}
	return visibleTenant(a, tenantUID)
}

// SCIMActor is the identity provider whose SCIM token this is, acting in its tenant from
// ip. Every refusal is the same 401, whether a tenant exists or not; a store that cannot
// answer is 503. Tokens are looked up on every request (not cached), so a rotation or
// deletion holds on every node at once.
func (s *Service) SCIMActor(ctx context.Context, token, ip string) (authcore.Actor, error) {
	if len(token) != scimTokenLen || !strings.HasPrefix(token, SCIMTokenPrefix) {
		return authcore.Actor{}, authcore.ErrCredentialInvalid
	}
	digest := sha256.Sum256([]byte(token))
	t, err := s.store.SCIMTokenByDigest(ctx, digest[:])
	switch {
	case authcore.IsNotFound(err):
		return authcore.Actor{}, authcore.ErrCredentialInvalid
	case err != nil:
		return authcore.Actor{}, authcore.Unavailable(err)
	case subtle.ConstantTimeCompare(t.Digest, digest[:]) != 1:
		return authcore.Actor{}, authcore.ErrCredentialInvalid
	}
	if now := s.clock(); now.Sub(t.LastUsedAt) >= scimTouchEvery {
		_ = s.store.TouchSCIMToken(ctx, digest[:], now) // last use is a hint: a failed write must not refuse the push
	}
	a := authcore.IdentityProviderIn(t.TenantUID, SCIMProvider)
	a.IP = ip
	return a, nil
}

// UserByEmail finds the admin's tenant's user with that email; 404 when there is none.
func (s *Service) UserByEmail(ctx context.Context, a authcore.Actor, email string) (storage.User, error) {
	if err := requireAdmin(a); err != nil {
		return storage.User{}, err
	}
	users, err := s.store.UsersByEmail(ctx, email)
	if err != nil {
		return storage.User{}, authcore.Unavailable(err)
	}
	for _, u := range users {
		if u.TenantUID == a.TenantUID {
			return u, nil
		}
	}
	return storage.User{}, authcore.NotFound("user %s not found", email)
}

// ExternalIDs reads the identity provider's ids of the admin's tenant's users or teams.
// Records of other tenants are left out.
func (s *Service) ExternalIDs(ctx context.Context, a authcore.Actor, kind storage.ExternalKind, uids []string) (map[string]string, error) {
	if err := requireAdmin(a); err != nil {
		return nil, err
	}
	ids, err := s.store.ExternalIDs(ctx, kind, uids)
	if err != nil {
		return nil, authcore.Unavailable(err)
	}
	return ids, nil
}

// setExternalID records an identity provider's id inside tx, when the request sets one.
func setExternalID(ctx context.Context, tx storage.Tx, kind storage.ExternalKind, uid string, id *string) error {
	if id == nil {
		return nil
	}
	return tx.SetExternalID(ctx, kind, uid, *id)
}

// checkExternalID refuses an external id that is too long to keep.
func checkExternalID(id *string) error {
	if id != nil && len(*id) > maxExternalIDLen {
		return authcore.BadRequest("externalId must be at most %d bytes", maxExternalIDLen)
	}
	return nil
}

// maxExternalIDLen bounds an external id (Okta's and Entra's are tens of characters).
const maxExternalIDLen = 256
