package credentials

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// FollowChanges keeps the caches in step with the store: every change any process or
// node commits drops the decisions it affects. It blocks until ctx ends.
func (v *Verifier) FollowChanges(ctx context.Context) error {
	return v.store.Watch(ctx, v.Apply)
}

// Apply drops the cached decisions that changes, learnt from the store, affect.
func (v *Verifier) Apply(changes []storage.Change) {
	for _, c := range changes {
		switch c.Kind {
		case storage.ChangeAPIKey:
			var d authcore.Digest
			if n, err := hex.Decode(d[:], []byte(c.Ref)); err == nil && n == len(d) {
				v.apiKeys.del(digestSlot(d))
			}
		case storage.ChangeMembership:
			if project, user, ok := strings.Cut(c.Ref, "/"); ok {
				v.access.del(accessSlot(project, user))
			}
		case storage.ChangeUser:
			v.forgetUser(c.Ref)
		case storage.ChangeProject:
			v.access.reset() // its decisions are keyed by user too; deletions are rare
		case storage.ChangeRole:
			v.roles.drop(c.Ref)
		case storage.ChangeSession:
			v.revoked.add(c.Ref, v.now(), v.revocationMemory())
		case storage.ChangeResync:
			v.Reset()
		}
	}
	v.obs.Invalidations("remote", len(changes))
}

// InvalidateKey drops the cached decision for one key digest.
func (v *Verifier) InvalidateKey(d authcore.Digest) {
	v.apiKeys.del(digestSlot(d))
	v.obs.Invalidations("local", 1)
}

// InvalidateKeys drops the cached decisions for keys. A nil Verifier (the command
// line has no cache) does nothing.
func (v *Verifier) InvalidateKeys(keys ...storage.APIKey) {
	if v == nil {
		return
	}
	for _, k := range keys {
		var d authcore.Digest
		copy(d[:], k.Digest)
		v.InvalidateKey(d)
	}
}

// InvalidateUserAndKeys drops a user's cached record (their tokens' view of them) and
// their keys' decisions.
func (v *Verifier) InvalidateUserAndKeys(uid string, keys []storage.APIKey) {
	if v == nil {
		return
	}
	v.forgetUser(uid)
	v.obs.Invalidations("local", 1)
	v.InvalidateKeys(keys...)
}

// forgetUser drops a user's cached record and remembers, for a token's lifetime, that
// the user changed, so their tokens' claims are not trusted in an outage.
func (v *Verifier) forgetUser(uid string) {
	v.changedUsers.add(uid, v.now(), v.revocationMemory())
	v.users.del(userSlot(uid))
}

// InvalidateMembership drops the cached project decision for one user and project.
func (v *Verifier) InvalidateMembership(projectUID, userUID string) {
	if v != nil {
		v.access.del(accessSlot(projectUID, userUID))
		v.obs.Invalidations("local", 1)
	}
}

// InvalidateRoles drops a tenant's cached role catalogue, after one of its roles changed.
func (v *Verifier) InvalidateRoles(tenantUID string) {
	if v != nil {
		v.roles.drop(tenantUID)
		v.obs.Invalidations("local", 1)
	}
}

// InvalidateProjects drops every cached project decision, after a project is deleted.
func (v *Verifier) InvalidateProjects() {
	if v != nil {
		v.access.reset()
		v.obs.Invalidations("local", 1)
	}
}

// Reset drops every cached decision and rereads the revoked sessions, after changes may
// have been missed.
func (v *Verifier) Reset() {
	v.apiKeys.reset()
	v.access.reset()
	v.tokens.reset()
	v.users.reset()
	v.roles.reset()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	// On failure the set keeps what it had; the watcher retries and resyncs again.
	_ = v.loadRevokedSessions(ctx)
}
