package authcore

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/keygate/keygate/storage"
)

// FollowChanges keeps the caches in step with the store: every change any process or
// node commits drops the decisions it affects. It blocks until ctx ends.
func (a *Authenticator) FollowChanges(ctx context.Context) error {
	return a.store.Watch(ctx, a.Apply)
}

// Apply drops the cached decisions that changes, learnt from the store, affect.
func (a *Authenticator) Apply(changes []storage.Change) {
	for _, c := range changes {
		switch c.Kind {
		case storage.ChangeAPIKey:
			var d Digest
			if n, err := hex.Decode(d[:], []byte(c.Ref)); err == nil && n == len(d) {
				a.apiKeys.del(digestSlot(d))
			}
		case storage.ChangeMembership:
			if project, user, ok := strings.Cut(c.Ref, "/"); ok {
				a.access.del(accessSlot(project, user))
			}
		case storage.ChangeUser:
			a.forgetUser(c.Ref)
		case storage.ChangeProject:
			a.access.reset() // its decisions are keyed by user too; deletions are rare
		case storage.ChangeSession:
			a.revoked.add(c.Ref, a.now(), a.revocationMemory())
		case storage.ChangeResync:
			a.Reset()
		}
	}
	a.obs.Invalidations("remote", len(changes))
}

// InvalidateKey drops the cached decision for one key digest.
func (a *Authenticator) InvalidateKey(d Digest) {
	a.apiKeys.del(digestSlot(d))
	a.obs.Invalidations("local", 1)
}

// InvalidateKeys drops the cached decisions for keys. A nil Authenticator (the command
// line has no cache) does nothing.
func (a *Authenticator) InvalidateKeys(keys ...storage.APIKey) {
	if a == nil {
		return
	}
	for _, k := range keys {
		var d Digest
		copy(d[:], k.Digest)
		a.InvalidateKey(d)
	}
}

// InvalidateUserAndKeys drops a user's cached record (their tokens' view of them) and
// their keys' decisions.
func (a *Authenticator) InvalidateUserAndKeys(uid string, keys []storage.APIKey) {
	if a == nil {
		return
	}
	a.forgetUser(uid)
	a.obs.Invalidations("local", 1)
	a.InvalidateKeys(keys...)
}

// forgetUser drops a user's cached record and remembers, for a token's lifetime, that
// the user changed, so their tokens' claims are not trusted in an outage.
func (a *Authenticator) forgetUser(uid string) {
	a.changedUsers.add(uid, a.now(), a.revocationMemory())
	a.users.del(userSlot(uid))
}

// InvalidateMembership drops the cached project decision for one user and project.
func (a *Authenticator) InvalidateMembership(projectUID, userUID string) {
	if a != nil {
		a.access.del(accessSlot(projectUID, userUID))
		a.obs.Invalidations("local", 1)
	}
}

// InvalidateProjects drops every cached project decision, after a project is deleted.
func (a *Authenticator) InvalidateProjects() {
	if a != nil {
		a.access.reset()
		a.obs.Invalidations("local", 1)
	}
}

// Reset drops every cached decision and rereads the revoked sessions, after changes may
// have been missed.
func (a *Authenticator) Reset() {
	a.apiKeys.reset()
	a.access.reset()
	a.tokens.reset()
	a.users.reset()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	// On failure the set keeps what it had; the watcher retries and resyncs again.
	_ = a.loadRevokedSessions(ctx)
}
