package sessions

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

// A tenant's own token lifetime holds for its logins and refreshes; other tenants keep
// the gateway's.
func TestATenantsTokenLifetimeHoldsForItsLoginsAndRefreshes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.withPassword(t, "acme", "ann@acme.test", "ann-password")
	if _, err := f.admin.CreateTenant(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	f.withPassword(t, "beta", "bob@beta.test", "bob-password")
	if err := f.store.SetTenantSettings(ctx, storage.TenantSettings{TenantUID: f.user.TenantUID, TokenTTL: time.Hour, UpdatedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	// The keygate app's verifier accepts tokens as long as a tenant may set.
	gw, err := newGateway(ctx, credentials.Config{Store: f.store, Now: f.clock.Now, MaxTokenTTL: manage.MaxTenantTokenTTL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	f.auth = gw
	ann := f.login(t, "ann@acme.test", "ann-password")
	if got := ann.ExpiresAt.Sub(f.clock.Now()); got != time.Hour {
		t.Errorf("acme's token lives %v, want its hour", got)
	}
	refreshed, err := f.auth.Refresh(ctx, ann.Token, "192.0.2.1")
	if err != nil || refreshed.ExpiresAt.Sub(f.clock.Now()) != time.Hour {
		t.Errorf("refreshed: %v, lives %v; want an hour", err, refreshed.ExpiresAt.Sub(f.clock.Now()))
	}
	if bob := f.login(t, "bob@beta.test", "bob-password"); bob.ExpiresAt.Sub(f.clock.Now()) != 15*time.Minute {
		t.Errorf("beta's token lives %v, want the gateway's 15m", bob.ExpiresAt.Sub(f.clock.Now()))
	}
}

// A guarded password check counts like a login: failures against the account until it
// is blocked, a success refunded, every hash from the budget.
func TestGuardedChecksAreCountedLikeLogins(t *testing.T) {
	f := newFixture(t)
	iss, _ := f.budgeted(ampleBudget)
	ctx := context.Background()
	wrong := func(h protect.Hasher) error {
		if ok, err := h.Verify(ctx, "", "guess"); err != nil || ok {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
		return authcore.ErrLoginFailed
	}
	for range DefaultLoginFailures - 1 {
		if err := iss.Guarded(ctx, "ann@acme.test", "192.0.2.1", wrong); err != authcore.ErrLoginFailed {
			t.Fatalf("a wrong guess: %v", err)
		}
	}
	// A success gives its attempt back, so one more failure is still allowed after it.
	if err := iss.Guarded(ctx, "ann@acme.test", "192.0.2.1", func(protect.Hasher) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := iss.Guarded(ctx, "ann@acme.test", "192.0.2.1", wrong); err != authcore.ErrLoginFailed {
		t.Fatalf("the last allowed guess: %v", err)
	}
	ran := false
	err := iss.Guarded(ctx, "ann@acme.test", "192.0.2.2", func(protect.Hasher) error { ran = true; return nil })
	if authcore.AsError(err).Status != 429 || ran {
		t.Fatalf("past the account's limit: %v (check ran: %v), want 429 before any check", err, ran)
	}
	// The same limit holds for password logins: they share the account's count.
	if _, err := iss.Login(ctx, Login{Email: "ann@acme.test", Password: "x", ClientIP: "192.0.2.3"}); authcore.AsError(err).Status != 429 {
		t.Errorf("a login after the guarded guesses: %v, want 429", err)
	}

	// Beyond the budget the check does not run: 503 LoginBusy.
	tight, _ := f.budgeted(protect.BudgetConfig{Share: 0.1, Procs: 1, HashCost: time.Second})
	for range 6 { // the burst
		_ = tight.Guarded(ctx, "", "198.51.100.1", func(h protect.Hasher) error { _, err := h.Hash(ctx, "new-password"); return err })
	}
	err = tight.Guarded(ctx, "", "198.51.100.2", func(protect.Hasher) error { t.Error("a check ran beyond the budget"); return nil })
	if authcore.AsError(err).Code != "LoginBusy" {
		t.Errorf("beyond the budget: %v, want LoginBusy", err)
	}
}
