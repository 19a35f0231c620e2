package conformance

import (
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

// barrier commits one more change (a fresh key of u, revoked) and waits for it. Changes
// come in Seq order, so every change committed before it has then been received.
func (r *recorder) barrier(t *testing.T, s storage.Store, u storage.User) {
	t.Helper()
	k := mustKey(t, s, u)
	mustOK(t, "SetAPIKeyActive(barrier)", s.SetAPIKeyActive(ctx(t), k.UID, false))
	r.mustSee(t, storage.ChangeAPIKey, keyRef(k))
}

// mark returns how many changes have been received so far, for since.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// since returns the changes received after mark.
func (r *recorder) since(mark int) []storage.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]storage.Change(nil), r.seen[mark:]...)
}

func testWatchAPIKeyUpdatedDeleted(t *testing.T, s storage.Store) {
	_, u, r := watchFixture(t, s)
	k := mustKey(t, s, u)
	mustOK(t, "UpdateAPIKey", s.UpdateAPIKey(ctx(t), k.UID, "renamed", "", time.Time{}))
	first := r.mustSee(t, storage.ChangeAPIKey, keyRef(k))
	mustOK(t, "DeleteAPIKey", s.DeleteAPIKey(ctx(t), k.UID))
	second := r.mustSee(t, storage.ChangeAPIKey, keyRef(k))
	if second.Seq <= first.Seq {
		t.Errorf("DeleteAPIKey change seq %d <= UpdateAPIKey's %d", second.Seq, first.Seq)
	}
}

func testWatchUserUpdated(t *testing.T, s storage.Store) {
	tn, _, r := watchFixture(t, s)
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k1, k2 := mustKey(t, s, u), mustKey(t, s, u)
	mustOK(t, "UpdateUser", s.UpdateUser(ctx(t), u.UID, "A", "B", storage.RoleTenantAdmin))
	r.mustSeeAll(t,
		storage.Change{Kind: storage.ChangeUser, Ref: u.UID},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k1)},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k2)})
}

// testWatchUserDeleted: deleting a user announces the user, each key and each live
// session; a session revoked earlier was announced then and is not announced again.
func testWatchUserDeleted(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k1, k2 := mustKey(t, s, u), mustKey(t, s, u)
	live1, live2 := mustSession(t, s, u, 0), mustSession(t, s, u, time.Second)
	revoked := mustSession(t, s, u, 2*time.Second)
	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), revoked.ID, t0.Add(time.Hour)))
	p := mustProject(t, s, tn.UID, "p")
	mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, u.UID))
	probeUser := mustUser(t, s, tn.UID, "probe@example.com", 0)
	r := startWatch(t, s)
	r.ready(t, s, mustKey(t, s, probeUser))

	mustOK(t, "DeleteUser", s.DeleteUser(ctx(t), u.UID))
	r.mustSeeAll(t,
		storage.Change{Kind: storage.ChangeUser, Ref: u.UID},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k1)},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k2)},
		storage.Change{Kind: storage.ChangeSession, Ref: live1.ID},
		storage.Change{Kind: storage.ChangeSession, Ref: live2.ID})
	r.barrier(t, s, probeUser)
	if r.sawRef(revoked.ID) {
		t.Errorf("DeleteUser announced session %s, which was revoked before", revoked.ID)
	}
}

// testWatchUserPasswordSet: a new password announces the user, each key and each session
// it ended; a session revoked earlier is not announced again.
func testWatchUserPasswordSet(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k := mustKey(t, s, u)
	live := mustSession(t, s, u, 0)
	revoked := mustSession(t, s, u, time.Second)
	mustOK(t, "RevokeSession", s.RevokeSession(ctx(t), revoked.ID, t0.Add(time.Hour)))
	probeUser := mustUser(t, s, tn.UID, "probe@example.com", 0)
	r := startWatch(t, s)
	r.ready(t, s, mustKey(t, s, probeUser))

	mustOK(t, "SetUserPassword", s.SetUserPassword(ctx(t), u.UID, "", t0.Add(2*time.Hour)))
	r.mustSeeAll(t,
		storage.Change{Kind: storage.ChangeUser, Ref: u.UID},
		storage.Change{Kind: storage.ChangeAPIKey, Ref: keyRef(k)},
		storage.Change{Kind: storage.ChangeSession, Ref: live.ID})
	r.barrier(t, s, probeUser)
	if r.sawRef(revoked.ID) {
		t.Errorf("SetUserPassword announced session %s, which was revoked before", revoked.ID)
	}
}

func testWatchMemberRemoved(t *testing.T, s storage.Store) {
	tn, _, r := watchFixture(t, s)
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	p := mustProject(t, s, tn.UID, "p")
	ref := storage.MembershipRef(p.UID, u.UID)
	mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, u.UID))
	added := r.mustSee(t, storage.ChangeMembership, ref)
	mustOK(t, "RemoveProjectMember", s.RemoveProjectMember(ctx(t), p.UID, u.UID))
	removed := r.mustSee(t, storage.ChangeMembership, ref)
	if removed.Seq <= added.Seq {
		t.Errorf("RemoveProjectMember change seq %d <= AddProjectMember's %d", removed.Seq, added.Seq)
	}
}

func testWatchProjectDeleted(t *testing.T, s storage.Store) {
	tn, u, r := watchFixture(t, s)
	p := mustProject(t, s, tn.UID, "p")
	mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, u.UID))
	mustOK(t, "DeleteProject", s.DeleteProject(ctx(t), p.UID))
	r.mustSee(t, storage.ChangeProject, p.UID)
}

// testWatchNothingWithoutChange: touching keys, auditing and pruning sessions announce
// nothing, and neither do refused writes. Everything received between the start and a
// barrier is checked, apart from the fixture's own probe.
func testWatchNothingWithoutChange(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k := mustKey(t, s, u)
	p := mustProject(t, s, tn.UID, "p")
	mustSession(t, s, u, 0)
	probeUser := mustUser(t, s, tn.UID, "probe@example.com", 0)
	probe := mustKey(t, s, probeUser)
	r := startWatch(t, s)
	r.ready(t, s, probe)
	mark := r.mark()

	mustOK(t, "TouchAPIKeys", s.TouchAPIKeys(ctx(t), map[string]time.Time{k.UID: t0.Add(time.Hour)}))
	mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), newEvent(tn.UID, t0)))
	if _, err := s.PruneSessions(ctx(t), t0.Add(time.Hour)); err != nil {
		t.Fatalf("PruneSessions: %v", err)
	}
	for name, err := range map[string]error{
		"UpdateAPIKey(unknown)":        s.UpdateAPIKey(ctx(t), "no-such-key", "n", "d", t0),
		"DeleteAPIKey(unknown)":        s.DeleteAPIKey(ctx(t), "no-such-key"),
		"UpdateUser(unknown)":          s.UpdateUser(ctx(t), "no-such-user", "a", "b", storage.RoleUser),
		"DeleteUser(unknown)":          s.DeleteUser(ctx(t), "no-such-user"),
		"RemoveProjectMember(not one)": s.RemoveProjectMember(ctx(t), p.UID, u.UID),
		"DeleteProject(unknown)":       s.DeleteProject(ctx(t), "no-such-project"),
	} {
		wantErr(t, name, err, storage.ErrNotFound)
	}
	r.barrier(t, s, probeUser)
	changes := r.since(mark)
	for _, c := range changes[:len(changes)-1] { // the last is the barrier's
		if c.Ref != keyRef(probe) && c.Kind != storage.ChangeResync {
			t.Errorf("unexpected change %+v", c)
		}
	}
}
