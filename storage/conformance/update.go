package conformance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/keygate/keygate/storage"
)

var updateTests = []suiteTest{
	{"Update/CommitsTogether", testUpdateCommitsTogether},
	{"Update/FailedAuditUndoesTheChange", testUpdateFailedAuditUndoesTheChange},
	{"Update/CallbackErrorUndoesEverything", testUpdateCallbackError},
	{"Update/ReadsItsOwnChanges", testUpdateReadsItsOwnChanges},
	{"ActiveTenantAdmins/Count", testActiveTenantAdmins},
	{"ActiveTenantAdmins/ConcurrentDemotionsKeepOne", testConcurrentDemotionsKeepOne},
}

func auditCount(t *testing.T, s storage.Store, tenantUID string, want int) {
	t.Helper()
	got, _, err := s.ListAudit(ctx(t), tenantUID, storage.Page{Limit: 50})
	mustOK(t, "ListAudit", err)
	if len(got) != want {
		t.Errorf("ListAudit = %d events, want %d: %+v", len(got), want, got)
	}
}

func testUpdateCommitsTogether(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	k := mustKey(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0))
	mustOK(t, "Update", s.Update(ctx(t), func(tx storage.Tx) error {
		if err := tx.SetAPIKeyActive(ctx(t), k.UID, false); err != nil {
			return err
		}
		return tx.AppendAudit(ctx(t), newEvent(tn.UID, t0))
	}))
	got, err := s.APIKeyByUID(ctx(t), k.UID)
	mustOK(t, "APIKeyByUID", err)
	if got.Active {
		t.Error("key active after a committed revocation")
	}
	auditCount(t, s, tn.UID, 1)
}

// testUpdateFailedAuditUndoesTheChange: an audit row that cannot be written (its id is
// taken) takes the change made before it in the same Update with it.
func testUpdateFailedAuditUndoesTheChange(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	k := mustKey(t, s, mustUser(t, s, tn.UID, "alice@example.com", 0))
	taken := newEvent(tn.UID, t0)
	mustOK(t, "AppendAudit", s.AppendAudit(ctx(t), taken))
	err := s.Update(ctx(t), func(tx storage.Tx) error {
		if err := tx.SetAPIKeyActive(ctx(t), k.UID, false); err != nil {
			return err
		}
		return tx.AppendAudit(ctx(t), taken)
	})
	wantErr(t, "Update with a failing audit row", err, storage.ErrConflict)
	got, err := s.APIKeyByUID(ctx(t), k.UID)
	mustOK(t, "APIKeyByUID", err)
	if !got.Active {
		t.Error("the revocation was applied although its audit row failed")
	}
	auditCount(t, s, tn.UID, 1)
}

func testUpdateCallbackError(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	refused := errors.New("refused by policy")
	err := s.Update(ctx(t), func(tx storage.Tx) error {
		if err := tx.CreateAPIKey(ctx(t), newKey(u), 0); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx(t), newEvent(tn.UID, t0)); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Update = %v, want the callback's error", err)
	}
	keys, _, err := s.ListAPIKeys(ctx(t), storage.APIKeyFilter{TenantUID: tn.UID}, storage.Page{Limit: 50})
	mustOK(t, "ListAPIKeys", err)
	if len(keys) != 0 {
		t.Errorf("keys after a failed Update = %v, want none", keys)
	}
	auditCount(t, s, tn.UID, 0)
}

func testUpdateReadsItsOwnChanges(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	mustOK(t, "Update", s.Update(ctx(t), func(tx storage.Tx) error {
		if err := tx.UpdateUser(ctx(t), u.UID, "A", "B", storage.RoleTenantAdmin); err != nil {
			return err
		}
		got, err := tx.UserByUID(ctx(t), u.UID)
		if err != nil || got.Role != storage.RoleTenantAdmin {
			return fmt.Errorf("UserByUID inside the Update = %+v, %v; want the new role", got, err)
		}
		return nil
	}))
}

func testActiveTenantAdmins(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	other := mustTenant(t, s, "other")
	a1 := mustUser(t, s, tn.UID, "a1@example.com", 0)
	a2 := mustUser(t, s, tn.UID, "a2@example.com", 0)
	mustUser(t, s, tn.UID, "user@example.com", 0)
	o := mustUser(t, s, other.UID, "o@example.com", 0)
	for _, u := range []storage.User{a1, a2, o} {
		mustOK(t, "UpdateUser", s.UpdateUser(ctx(t), u.UID, u.FirstName, u.LastName, storage.RoleTenantAdmin))
	}
	mustOK(t, "SetUserDisabled", s.SetUserDisabled(ctx(t), a2.UID, true))
	n, err := s.ActiveTenantAdmins(ctx(t), tn.UID)
	if err != nil || n != 1 {
		t.Errorf("ActiveTenantAdmins = %d, %v; want 1 (one disabled, one plain user, one of another tenant)", n, err)
	}
}

// testConcurrentDemotionsKeepOne: pairs of admins demote each other at the same moment,
// each refusing to leave the tenant without an enabled admin; one of each pair remains.
func testConcurrentDemotionsKeepOne(t *testing.T, s storage.Store) {
	errLastAdmin := errors.New("would leave no admin")
	for round := range 10 {
		tn := mustTenant(t, s, fmt.Sprintf("acme-%d", round))
		admins := [2]storage.User{mustUser(t, s, tn.UID, "a@example.com", 0), mustUser(t, s, tn.UID, "b@example.com", 0)}
		for _, u := range admins {
			mustOK(t, "UpdateUser", s.UpdateUser(ctx(t), u.UID, u.FirstName, u.LastName, storage.RoleTenantAdmin))
		}
		// Which of the two is refused does not matter: what remains does.
		AtOnce(len(admins), func(i int) error {
			other := admins[1-i]
			return s.Update(ctx(t), func(tx storage.Tx) error {
				if err := tx.UpdateUser(ctx(t), other.UID, other.FirstName, other.LastName, storage.RoleUser); err != nil {
					return err
				}
				if n, err := tx.ActiveTenantAdmins(ctx(t), tn.UID); err != nil || n == 0 {
					return errors.Join(err, errLastAdmin)
				}
				return nil
			})
		})
		if n, err := s.ActiveTenantAdmins(ctx(t), tn.UID); err != nil || n != 1 {
			t.Fatalf("round %d: %d admins after two concurrent demotions (%v), want 1", round, n, err)
		}
	}
}
