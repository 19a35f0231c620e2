package sessions

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// lookupCounter counts the store reads a login makes to find its account.
type lookupCounter struct {
	storage.Store
	lookups atomic.Int64
}

func (s *lookupCounter) UsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	s.lookups.Add(1)
	return s.Store.UsersByEmail(ctx, email)
}

func (s *lookupCounter) TenantByName(ctx context.Context, name string) (storage.Tenant, error) {
	s.lookups.Add(1)
	return s.Store.TenantByName(ctx, name)
}

// tightBudget is a tenth of one core at 50 ms a hash: a burst of six logins from anyone,
// six more from trusted devices, and the fixture's clock stands still.
var tightBudget = protect.BudgetConfig{Share: 0.1, Procs: 1, HashCost: 50 * time.Millisecond}

// budgeted is the fixture's store and signing keys behind an Issuer with budget.
func (f *fixture) budgeted(budget protect.BudgetConfig) (*Issuer, *lookupCounter) {
	store := &lookupCounter{Store: f.store}
	return New(store, f.auth.Verifier, Config{Now: f.clock.Now, HashBudget: budget}), store
}

// flood spends the general budget with logins for made-up emails from made-up
// addresses, as a flood does, and returns how many it took.
func flood(t *testing.T, iss *Issuer) int {
	t.Helper()
	for i := range 1000 {
		_, err := iss.Login(context.Background(), Login{Email: fmt.Sprintf("flood%d@x.test", i), Password: "guess", ClientIP: fmt.Sprintf("203.0.%d.%d", i/256, i%256)})
		if authcore.AsError(err).Code == "LoginBusy" {
			return i
		}
		wantCode(t, err, "CredentialInvalid")
	}
	t.Fatal("the flood was never refused")
	return 0
}

// Beyond the budget a login is refused with 503 LoginBusy and a Retry-After, and the
// store is not asked about its email.
func TestLoginsBeyondTheBudgetAreRefusedWithoutAStoreRead(t *testing.T) {
	f := newFixture(t)
	iss, store := f.budgeted(tightBudget)
	if n := flood(t, iss); n != 6 {
		t.Fatalf("%d logins checked before the first refusal, want the burst of 6", n)
	}
	before := store.lookups.Load()
	for i := range 50 {
		_, err := iss.Login(context.Background(), Login{Email: fmt.Sprintf("more%d@x.test", i), Password: "guess", ClientIP: "198.51.100.1"})
		e := authcore.AsError(err)
		if e.Code != "LoginBusy" || e.Status != 503 || e.RetryAfter <= 0 || e.RetryAfter > 2*time.Second {
			t.Fatalf("login %d beyond the budget: %+v", i, e)
		}
	}
	if n := store.lookups.Load() - before; n != 0 {
		t.Fatalf("refused logins made %d store reads, want none", n)
	}
	f.clock.Advance(time.Second)
	if _, err := iss.Login(context.Background(), Login{Email: "later@x.test", Password: "guess", ClientIP: "198.51.100.1"}); err != authcore.ErrLoginFailed {
		t.Fatalf("a second later the budget has not refilled: %v", err)
	}
}

// A refusal for the budget is not a failed attempt: a flood naming a user's email does
// not lock the user out.
func TestBudgetRefusalsDoNotCountAgainstTheAccount(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	iss, _ := f.budgeted(tightBudget)
	flood(t, iss)
	for range 3 * DefaultLoginFailures {
		_, err := iss.Login(context.Background(), Login{Email: "ann@acme.test", Password: "guess", ClientIP: "203.0.113.9"})
		wantCode(t, err, "LoginBusy")
	}
	f.clock.Advance(10 * time.Second)
	if _, err := iss.Login(context.Background(), Login{Email: "ann@acme.test", Password: "pw-ann-123", ClientIP: "192.0.2.1"}); err != nil {
		t.Fatalf("after the flood the user is refused: %v", err)
	}
}

// Under the flood an unknown email and a known one (with its right password) get the
// same answer, and neither reaches the store: nothing on the refusal path depends on
// whether the account exists.
func TestUnknownAndKnownEmailsLookAlikeUnderTheFlood(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	iss, store := f.budgeted(tightBudget)
	flood(t, iss)
	before := store.lookups.Load()
	_, known := iss.Login(context.Background(), Login{Email: "ann@acme.test", Password: "pw-ann-123", ClientIP: "192.0.2.1"})
	_, unknown := iss.Login(context.Background(), Login{Email: "nobody@acme.test", Password: "pw-ann-123", ClientIP: "192.0.2.1"})
	k, u := authcore.AsError(known), authcore.AsError(unknown)
	if k.Code != "LoginBusy" || *k != *u {
		t.Fatalf("known email: %+v, unknown email: %+v, want the same LoginBusy", k, u)
	}
	if n := store.lookups.Load() - before; n != 0 {
		t.Fatalf("%d store reads for refused logins", n)
	}
}

// However many logins arrive at once, no more hashes run together than the cap, and
// those beyond the budget are refused rather than queued.
func TestConcurrentFloodIsCappedAndRefused(t *testing.T) {
	f := newFixture(t)
	iss, _ := f.budgeted(protect.BudgetConfig{Share: 0.5, Procs: 2, HashCost: 100 * time.Millisecond})
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			_, err := iss.Login(context.Background(), Login{Email: fmt.Sprintf("f%d@x.test", i), Password: "guess", ClientIP: fmt.Sprintf("203.0.113.%d", i)})
			mu.Lock()
			codes[authcore.AsError(err).Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	// 1 CPU-s/s, a quarter (0.25) for everyone: a burst of 6 hashes of 100 ms (more
	// than two seconds of the quarter, 0.5 s).
	if codes["CredentialInvalid"] != 6 || codes["LoginBusy"] != 54 {
		t.Fatalf("60 concurrent logins: %v, want 6 checked and 54 refused", codes)
	}
	if peak := iss.budget.Peak(); peak > iss.budget.Slots() || iss.budget.Slots() != 1 {
		t.Fatalf("%d hashes ran at once with %d slots, want at most ceil(0.5 × 2) = 1", peak, iss.budget.Slots())
	}
}

// loginWithDevice logs in on iss presenting cookie.
func loginWithDevice(iss *Issuer, email, password, org, cookie string) (Issued, error) {
	return iss.Login(context.Background(), Login{Email: email, Password: password, Org: org, ClientIP: "192.0.2.50", Device: cookie})
}

// deviceOf logs in and returns the device cookie the login gave.
func deviceOf(t *testing.T, iss *Issuer, email, password, org string) string {
	t.Helper()
	issued, err := loginWithDevice(iss, email, password, org, "")
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	if issued.Device == nil || issued.Device.Value == "" || !issued.Device.ExpiresAt.After(time.Now().Add(89*24*time.Hour)) {
		t.Fatalf("login %s gave device cookie %+v, want one for 90 days", email, issued.Device)
	}
	return issued.Device.Value
}

func TestDeviceCookieGetsInDuringTheFlood(t *testing.T) {
	f := newFixture(t)
	ann := f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	f.withPassword(t, "acme", "bob@acme.test", "pw-bob-123")
	iss, _ := f.budgeted(tightBudget)
	annDevice := deviceOf(t, iss, "ann@acme.test", "pw-ann-123", "")
	f.clock.Advance(2 * time.Second) // each first login, from a new browser, spends the general budget
	bobDevice := deviceOf(t, iss, "bob@acme.test", "pw-bob-123", "")
	f.clock.Advance(2 * time.Second)
	flood(t, iss)

	_, err := loginWithDevice(iss, "ann@acme.test", "pw-ann-123", "", "")
	wantCode(t, err, "LoginBusy") // without the cookie: one of the flood
	for name, cookie := range map[string]string{
		"another account's":          bobDevice,
		"tampered":                   tamper(annDevice),
		"signed with an unknown key": strings.Replace(annDevice, ".k1.", ".k9.", 1),
		"garbage":                    "d1.k1.x.y",
	} {
		_, err := loginWithDevice(iss, "ann@acme.test", "pw-ann-123", "", cookie)
		if authcore.AsError(err).Code != "LoginBusy" {
			t.Errorf("%s device cookie: %v, want LoginBusy like no cookie", name, err)
		}
	}
	issued, err := loginWithDevice(iss, "ann@acme.test", "pw-ann-123", "", annDevice)
	if err != nil || issued.Principal.UserUID != ann.UID {
		t.Fatalf("with her device cookie, ann's first attempt during the flood: %v", err)
	}
}

// tamper changes the cookie's account fields, keeping its MAC.
func tamper(cookie string) string {
	parts := strings.Split(cookie, ".")
	raw, _ := b64url.DecodeString(parts[2])
	parts[2] = b64url.EncodeToString([]byte(strings.Replace(string(raw), "|", "x|", 1)))
	return strings.Join(parts, ".")
}

// A guesser who locked the account out does not lock out its owner's browser.
func TestLockedAccountIsReachableWithItsDeviceCookie(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	iss, _ := f.budgeted(ampleBudget)
	device := deviceOf(t, iss, "ann@acme.test", "pw-ann-123", "")
	lockOut(t, iss, "ann@acme.test")
	_, err := loginWithDevice(iss, "ann@acme.test", "pw-ann-123", "", "")
	wantCode(t, err, "TooManyRequests")
	if _, err := loginWithDevice(iss, "ann@acme.test", "pw-ann-123", "", device); err != nil {
		t.Fatalf("the locked account with its device cookie: %v", err)
	}
}

// lockOut fails logins for email from many addresses until the account is blocked.
func lockOut(t *testing.T, iss *Issuer, email string) {
	t.Helper()
	for i := range DefaultLoginFailures {
		_, err := iss.Login(context.Background(), Login{Email: email, Password: "guess", ClientIP: fmt.Sprintf("203.0.113.%d", i)})
		wantCode(t, err, "CredentialInvalid")
	}
}

// A device cookie that keeps failing is locked out itself: then it is an unknown
// client again, subject to the account's lockout.
func TestDeviceCookieThatKeepsFailingIsLockedOut(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	iss, _ := f.budgeted(ampleBudget)
	device := deviceOf(t, iss, "ann@acme.test", "pw-ann-123", "")
	lockOut(t, iss, "ann@acme.test")
	for range DefaultLoginFailures {
		_, err := loginWithDevice(iss, "ann@acme.test", "guess", "", device)
		wantCode(t, err, "CredentialInvalid")
	}
	_, err := loginWithDevice(iss, "ann@acme.test", "pw-ann-123", "", device)
	wantCode(t, err, "TooManyRequests")
	f.clock.Advance(DefaultFailureWindow)
	if _, err := loginWithDevice(iss, "ann@acme.test", "pw-ann-123", "", device); err != nil {
		t.Fatalf("after the window the device is still locked: %v", err)
	}
}

// An email may be an account in several tenants. A device cookie won by logging in to
// one's own (the attacker's tenant) must not help guess the same email's password in
// another: it is for its own tenant only.
func TestDeviceCookieIsForItsTenantOnly(t *testing.T) {
	f := newFixture(t)
	if _, err := f.admin.CreateTenant(context.Background(), "evil"); err != nil {
		t.Fatal(err)
	}
	f.withPassword(t, "acme", "sam@x.test", "victim-pw-1")
	f.withPassword(t, "evil", "sam@x.test", "attacker-pw")
	iss, _ := f.budgeted(ampleBudget)
	attackers := deviceOf(t, iss, "sam@x.test", "attacker-pw", "evil")
	for _, org := range []string{"acme", ""} {
		_, err := loginWithDevice(iss, "sam@x.test", "victim-pw-1", org, attackers)
		wantCode(t, err, "CredentialInvalid")
	}
}

// A device cookie given by one node is honoured by another on the same store: its key
// comes from the signing keys every node reads there.
func TestDeviceCookieWorksOnEveryNode(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	iss, _ := f.budgeted(ampleBudget)
	device := deviceOf(t, iss, "ann@acme.test", "pw-ann-123", "")

	otherStore, err := sqlite.Open(context.Background(), sqlite.Options{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	defer otherStore.Close()
	other, err := newGateway(context.Background(), credentials.Config{Store: otherStore, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lockOut(t, other.Issuer, "ann@acme.test")
	if _, err := loginWithDevice(other.Issuer, "ann@acme.test", "pw-ann-123", "", device); err != nil {
		t.Fatalf("the other node refused the device cookie of the first: %v", err)
	}
}
