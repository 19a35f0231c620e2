package credentials

import (
	"context"
	"time"
)

// NoteRevoked makes this node refuse the session's tokens at once, before the change
// feed reports the revocation.
func (v *Verifier) NoteRevoked(sessionID string) {
	v.revoked.add(sessionID, v.now(), v.revocationMemory())
}

// revocationMemory is how far back revocations matter: the token lifetime plus a margin
// for clock skew between nodes.
func (v *Verifier) revocationMemory() time.Duration { return v.tokenTTL + TokenSkew }

// loadRevokedSessions reads the revocations that still matter from the store.
func (v *Verifier) loadRevokedSessions(ctx context.Context) error {
	now := v.now()
	ids, err := v.store.RevokedSessionsSince(ctx, now.Add(-v.revocationMemory()))
	if err != nil {
		return err
	}
	v.revoked.merge(ids, now, v.revocationMemory())
	return nil
}
