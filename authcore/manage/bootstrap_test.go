package manage

import (
	"errors"
	"testing"

	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

func TestBootstrapAsksForThePasswordOnlyUntilTheTenantExists(t *testing.T) {
	ctx := t.Context()
	store := openStore(t)
	ad := Operator{Service: NewService(ServiceConfig{Store: store}), OSUser: "ops"}

	Unavailable := errors.New("no password yet")
	if _, err := ad.Bootstrap(ctx, "admin@example.com", func() (string, error) { return "", Unavailable }); !errors.Is(err, Unavailable) {
		t.Fatalf("a failing password source: %v", err)
	}
	asked := 0
	password := func() (string, error) { asked++; return "first-admin-pw", nil }
	for start, want := range []bool{true, false, false} {
		if created, err := ad.Bootstrap(ctx, "admin@example.com", password); err != nil || created != want {
			t.Fatalf("start %d: created %v, %v; want %v", start+1, created, err, want)
		}
	}
	if asked != 1 {
		t.Fatalf("the password was asked for (and hashed) %d times in three starts, want once", asked)
	}
	users, err := store.UsersByEmail(ctx, "admin@example.com")
	if err != nil || len(users) != 1 || !protect.VerifyPassword(users[0].PasswordHash, "first-admin-pw") {
		t.Fatalf("bootstrap admins %+v (%v)", users, err)
	}
	// The one bootstrap that happened is audited, as the operator's.
	events, _, err := store.ListAudit(ctx, users[0].TenantUID, storage.Page{Limit: 50})
	if err != nil || len(events) != 1 || events[0].Action != "tenant.bootstrap" || events[0].ActorEmail != "operator:ops" {
		t.Fatalf("audit after three starts = %+v (%v), want one tenant.bootstrap by operator:ops", events, err)
	}
}
