package conformance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/keygate/keygate/storage"
)

var miscTests = []suiteTest{
	{"ConcurrentWrites", testConcurrentWrites},
	{"Ping", testPing},
	{"ClosedStoreIsUnavailable", testClosedStore},
}

// testConcurrentWrites checks that writes from many goroutines at once all succeed (a
// backend must wait for its locks, not fail) and all land.
func testConcurrentWrites(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	const workers, each = 8, 5
	errs := AtOnce(workers, func(w int) error {
		var errs []error
		for i := range each {
			errs = append(errs, concurrentWrite(t, s, tn, fmt.Sprintf("w%d-%d@example.com", w, i)))
		}
		return errors.Join(errs...)
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for w := range workers {
		for i := range each {
			users, err := s.UsersByEmail(ctx(t), fmt.Sprintf("w%d-%d@example.com", w, i))
			if err != nil || len(users) != 1 {
				t.Errorf("UsersByEmail(w%d-%d) = %d users, %v; want 1", w, i, len(users), err)
			}
		}
	}
}

// concurrentWrite creates a user with a key and revokes it, reporting the first error.
func concurrentWrite(t *testing.T, s storage.Store, tn storage.Tenant, email string) error {
	u := newUser(tn.UID, email, 0)
	if err := s.CreateUser(ctx(t), u); err != nil {
		return fmt.Errorf("CreateUser(%s): %w", email, err)
	}
	k := newKey(u)
	if err := s.CreateAPIKey(ctx(t), k, 0); err != nil {
		return fmt.Errorf("CreateAPIKey(%s): %w", email, err)
	}
	if err := s.SetAPIKeyActive(ctx(t), k.UID, false); err != nil {
		return fmt.Errorf("SetAPIKeyActive(%s): %w", email, err)
	}
	return nil
}

func testPing(t *testing.T, s storage.Store) {
	mustOK(t, "Ping", s.Ping(ctx(t)))
}

// testClosedStore checks that a store that cannot answer says so with an error that is
// not ErrNotFound, since callers would take that as "credential unknown".
func testClosedStore(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	k := mustKey(t, s, u)
	mustOK(t, "Close", s.Close())
	if err := s.Ping(ctx(t)); err == nil {
		t.Error("Ping after Close = nil, want an error")
	}
	_, err := s.KeyGrantByDigest(ctx(t), k.Digest)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("KeyGrantByDigest after Close = %v, want an error other than ErrNotFound", err)
	}
	_, err = s.TenantByUID(ctx(t), tn.UID)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("TenantByUID after Close = %v, want an error other than ErrNotFound", err)
	}
}
