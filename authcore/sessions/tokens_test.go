package sessions

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

func (f *fixture) withPassword(t testing.TB, tenant, email, password string) storage.User {
	t.Helper()
	u, err := f.admin.CreateUser(context.Background(), manage.NewUser{TenantName: tenant, Email: email, Role: storage.RoleUser, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) login(t testing.TB, email, password string) Issued {
	t.Helper()
	issued, err := f.auth.Login(context.Background(), Login{Email: email, Password: password, ClientIP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return issued
}

func TestPasswordLoginIssuesAWorkingToken(t *testing.T) {
	f := newFixture(t)
	u := f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	issued := f.login(t, "Ann@Acme.test", "pw-ann-123")
	if !issued.ExpiresAt.Equal(f.clock.Now().Add(credentials.DefaultTokenTTL).Truncate(time.Second)) {
		t.Errorf("token expires %v, want 15 minutes from now", issued.ExpiresAt)
	}
	p, err := f.auth.AuthenticateToken(context.Background(), issued.Token)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserUID != u.UID || p.TenantUID != u.TenantUID || p.Method != authcore.MethodToken || p.SessionID == "" || p.Email != "ann@acme.test" {
		t.Fatalf("principal %+v", p)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	for name, l := range map[string]Login{
		"wrong password": {Email: "ann@acme.test", Password: "nope"},
		"unknown email":  {Email: "nobody@acme.test", Password: "pw-ann-123"},
		"unknown org":    {Email: "ann@acme.test", Password: "pw-ann-123", Org: "nowhere"},
		"empty":          {},
	} {
		l.ClientIP = "192.0.2.7"
		_, err := f.auth.Login(context.Background(), l)
		if err != authcore.ErrLoginFailed {
			t.Errorf("%s: got %v, want the common login failure", name, err)
		}
	}
}

func TestLoginThrottlesAnAccountWithoutCheckingThePassword(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	ctx := context.Background()
	try := func(pw, ip string) error {
		_, err := f.auth.Login(ctx, Login{Email: "ann@acme.test", Password: pw, ClientIP: ip})
		return err
	}
	for i := range 5 { // from different IPs: the account limit applies
		wantCode(t, try("wrong", "192.0.2."+string(rune('1'+i))), "CredentialInvalid")
	}
	err := try("wrong", "192.0.2.99")
	wantCode(t, err, "TooManyRequests")
	if authcore.AsError(err).Status != 429 || authcore.AsError(err).RetryAfter <= 0 || authcore.AsError(err).RetryAfter > time.Minute {
		t.Fatalf("throttled answer %+v", authcore.AsError(err))
	}
	wantCode(t, try("pw-ann-123", "192.0.2.99"), "TooManyRequests")
	f.clock.Advance(time.Minute)
	if err := try("pw-ann-123", "192.0.2.99"); err != nil {
		t.Fatalf("after the window the right password is refused: %v", err)
	}
}

func TestOrgPicksTheTenantWhenAnEmailIsInSeveral(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.admin.CreateTenant(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	f.withPassword(t, "acme", "sam@x.test", "same-pw-1")
	inBeta := f.withPassword(t, "beta", "sam@x.test", "same-pw-1")
	_, err := f.auth.Login(ctx, Login{Email: "sam@x.test", Password: "same-pw-1"})
	wantCode(t, err, "OrgRequired")
	issued, err := f.auth.Login(ctx, Login{Email: "sam@x.test", Password: "same-pw-1", Org: "beta"})
	if err != nil || issued.Principal.UserUID != inBeta.UID {
		t.Fatalf("login with org: %+v, %v", issued.Principal, err)
	}
}

func TestTokenExpiresAfterItsLifetime(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	issued := f.login(t, "ann@acme.test", "pw-ann-123")
	f.clock.Advance(credentials.DefaultTokenTTL - time.Second)
	if _, err := f.auth.AuthenticateToken(context.Background(), issued.Token); err != nil {
		t.Fatalf("token refused before expiry: %v", err)
	}
	f.clock.Advance(time.Second)
	wantCode(t, errOf(f.auth.AuthenticateToken(context.Background(), issued.Token)), "CredentialExpired")
	_, err := f.auth.Refresh(context.Background(), issued.Token, "192.0.2.9")
	wantCode(t, err, "CredentialExpired")
}

func TestTamperedAndForeignTokensAreRefused(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(t, "ann@acme.test", "pw-ann-123").Token
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forgedPayload := strings.Replace(string(payload), `"sub":"`, `"sub":"x`, 1)
	otherKey := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "keygate", "sub": f.user.UID, "sid": "s", "exp": f.clock.Now().Add(time.Hour).Unix()})
	foreign, _ := otherKey.SignedString([]byte("not the gateway's key"))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": "keygate", "sub": f.user.UID, "sid": "s", "exp": f.clock.Now().Add(time.Hour).Unix()})
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	for name, bad := range map[string]string{
		"payload changed":   parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forgedPayload)) + "." + parts[2],
		"signature changed": parts[0] + "." + parts[1] + "." + flipFirst(parts[2]),
		"foreign key":       foreign,
		"alg none":          unsigned,
	} {
		err := errOf(f.auth.AuthenticateToken(context.Background(), bad))
		if err == nil || authcore.AsError(err).Status != 401 {
			t.Errorf("%s: got %v, want 401", name, err)
		}
	}
	wantCode(t, errOf(f.auth.AuthenticateToken(context.Background(), "abc")), "CredentialMalformed")
}

// flipFirst changes the first character: a whole 6 bits of the signature (the last
// character would partly be padding bits that decode to the same bytes).
func flipFirst(s string) string {
	c := "A"
	if s[0] == 'A' {
		c = "B"
	}
	return c + s[1:]
}

func TestRefreshKeepsTheSessionAndRevocationEndsIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	first := f.login(t, "ann@acme.test", "pw-ann-123")
	f.clock.Advance(10 * time.Minute)
	second, err := f.auth.Refresh(ctx, first.Token, "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	if second.Token == first.Token || !second.ExpiresAt.After(first.ExpiresAt) || second.Principal.SessionID != first.Principal.SessionID {
		t.Fatalf("refresh gave %+v from %+v", second, first)
	}
	caller, err := f.auth.AuthenticateToken(ctx, second.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.auth.RevokeTokens(ctx, caller, "192.0.2.9", []string{first.Token}); err != nil {
		t.Fatal(err)
	}
	// Revoking one token ends its session, so the refreshed token stops too.
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, second.Token)), "CredentialRevoked")
	_, err = f.auth.Refresh(ctx, second.Token, "192.0.2.9")
	wantCode(t, err, "CredentialRevoked")
}

func TestOnlyTheOwnerOrTheirTenantAdminMayRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	f.withPassword(t, "acme", "bob@acme.test", "pw-bob-123")
	ann := f.login(t, "ann@acme.test", "pw-ann-123")
	bob := f.login(t, "bob@acme.test", "pw-bob-123")
	wantCode(t, f.auth.RevokeTokens(ctx, bob.Principal, "192.0.2.9", []string{ann.Token}), "Forbidden")
	wantCode(t, f.auth.RevokeTokens(ctx, bob.Principal, "192.0.2.9", []string{"garbage"}), "BadRequest")
	adminP := mustPrincipal(t, f, f.adminUser)
	if err := f.auth.RevokeTokens(ctx, adminP, "192.0.2.9", []string{ann.Token}); err != nil {
		t.Fatalf("tenant admin could not revoke: %v", err)
	}
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, ann.Token)), "CredentialRevoked")
	if err := f.auth.RevokeTokens(ctx, bob.Principal, "192.0.2.9", nil); err != nil { // logout
		t.Fatal(err)
	}
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, bob.Token)), "CredentialRevoked")
}

func TestDisablingAUserStopsTheirTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(t, "ann@acme.test", "pw-ann-123").Token
	if _, err := f.auth.AuthenticateToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := f.admin.SetUserDisabled(ctx, u, true); err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOf(f.auth.AuthenticateToken(ctx, token)), "UserDisabled")
	_, err := f.auth.Login(ctx, Login{Email: "ann@acme.test", Password: "pw-ann-123"})
	wantCode(t, err, "UserDisabled")
}

// A second gateway on the same store verifies the first one's tokens, and learns of
// revocations and disabled users through the store's change feed.
func TestTokensWorkAcrossAuthenticatorsSharingAStore(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(t, "ann@acme.test", "pw-ann-123").Token

	otherStore, err := sqlite.Open(ctx, sqlite.Options{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	defer otherStore.Close()
	other, err := newGateway(ctx, credentials.Config{Store: otherStore, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ready := make(chan struct{})
	go otherStore.Watch(ctx, func(c []storage.Change) {
		other.Apply(c)
		select {
		case <-ready:
		default:
			close(ready)
		}
	})
	<-ready

	p, err := other.AuthenticateToken(ctx, token)
	if err != nil || p.UserUID != u.UID {
		t.Fatalf("the other node refused the token: %v", err)
	}
	if err := f.auth.RevokeTokens(ctx, p, "192.0.2.9", []string{token}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return authcore.AsError(errOf(other.AuthenticateToken(ctx, token))).Code == "CredentialRevoked"
	})

	second := f.login(t, "ann@acme.test", "pw-ann-123").Token
	if _, err := other.AuthenticateToken(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := f.admin.SetUserDisabled(ctx, u, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return authcore.AsError(errOf(other.AuthenticateToken(ctx, second))).Code == "UserDisabled"
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestATokenIsRefreshableOnce: each refresh moves the session to its new token; a second
// refresh of the same token is reuse (two parties hold it), which ends the session.
func TestATokenIsRefreshableOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	first := f.login(t, "ann@acme.test", "pw-ann-123")
	second, err := f.auth.Refresh(ctx, first.Token, "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	third, err := f.auth.Refresh(ctx, second.Token, "192.0.2.9")
	if err != nil {
		t.Fatalf("refreshing the refreshed token: %v", err)
	}
	// A refreshed token still authenticates until it expires: requests in flight.
	if _, err := f.auth.AuthenticateToken(ctx, first.Token); err != nil {
		t.Fatalf("refreshed token refused before its expiry: %v", err)
	}

	_, err = f.auth.Refresh(ctx, first.Token, "198.51.100.7")
	wantCode(t, err, "TokenAlreadyRefreshed")
	for name, tok := range map[string]string{"reused": first.Token, "intermediate": second.Token, "newest": third.Token} {
		wantCode(t, errOf(f.auth.AuthenticateToken(ctx, tok)), "CredentialRevoked")
		if _, err := f.auth.Refresh(ctx, tok, "192.0.2.9"); err == nil {
			t.Errorf("%s token refreshed after reuse ended its session", name)
		}
	}
	events, _, err := f.store.ListAudit(ctx, f.user.TenantUID, storage.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Action == "session.revoke" && e.TargetUID == first.Principal.SessionID {
			if e.Detail != "token refreshed twice" || e.SourceIP != "198.51.100.7" {
				t.Errorf("reuse audit row = %+v, want detail %q from 198.51.100.7", e, "token refreshed twice")
			}
			return
		}
	}
	t.Errorf("no session.revoke audit row for the reused session in %+v", events)
}

// TestConcurrentRefreshesOfOneTokenEndTheSession: of two refreshes racing with one token
// (a thief and its owner), one gets a token and the other ends the session, so neither
// keeps it.
func TestConcurrentRefreshesOfOneTokenEndTheSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	first := f.login(t, "ann@acme.test", "pw-ann-123")
	const racers = 4
	results := make([]Issued, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.auth.Refresh(ctx, first.Token, "192.0.2.9")
		}()
	}
	wg.Wait()
	reused := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wantCode(t, errOf(f.auth.AuthenticateToken(ctx, results[i].Token)), "CredentialRevoked")
		case authcore.AsError(err).Code == "TokenAlreadyRefreshed":
			reused++
		default:
			wantCode(t, err, "CredentialRevoked") // the session ended while it ran
		}
	}
	if reused == 0 {
		t.Errorf("no refresh of %d saw the reuse: %v", racers, errs)
	}
}

// A burst of concurrent wrong passwords cannot slip past the limit before any of them is
// counted.
func TestConcurrentLoginBurstIsThrottled(t *testing.T) {
	f := newFixture(t)
	f.withPassword(t, "acme", "ann@acme.test", "pw-ann-123")
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			_, err := f.auth.Login(context.Background(), Login{Email: "ann@acme.test", Password: "wrong", ClientIP: "192.0.2.1"})
			mu.Lock()
			codes[authcore.AsError(err).Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes["CredentialInvalid"] != DefaultLoginFailures || codes["TooManyRequests"] != 30-DefaultLoginFailures {
		t.Fatalf("30 concurrent wrong passwords: %v, want %d checked and the rest throttled", codes, DefaultLoginFailures)
	}
}

// Logging in to one's own account with the same email in another tenant must not reset
// the count of guesses against the victim.
func TestSuccessElsewhereDoesNotResetTheCount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.admin.CreateTenant(ctx, "evil"); err != nil {
		t.Fatal(err)
	}
	f.withPassword(t, "acme", "sam@x.test", "victim-pw-1")
	f.withPassword(t, "evil", "sam@x.test", "attacker-pw")
	guesses := 0
	for range 20 {
		_, err := f.auth.Login(ctx, Login{Email: "sam@x.test", Password: "guess", Org: "acme", ClientIP: "198.51.100.1"})
		if authcore.AsError(err).Code == "TooManyRequests" {
			break
		}
		guesses++
		f.auth.Login(ctx, Login{Email: "sam@x.test", Password: "attacker-pw", Org: "evil", ClientIP: "198.51.100.2"})
	}
	if guesses > DefaultLoginFailures {
		t.Fatalf("%d guesses against the victim within one window, want at most %d", guesses, DefaultLoginFailures)
	}
}

func TestTokensSignedOtherwiseAreRefused(t *testing.T) {
	f := newFixture(t)
	kid, secret := f.signingKey(t)
	now := f.clock.Now()
	claims := func(iss string, ttl time.Duration) jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "sub": f.user.UID, "tid": f.user.TenantUID, "sid": "s1", "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	}
	sign := func(m jwt.SigningMethod, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for name, token := range map[string]string{
		"HS512 with the real key": sign(jwt.SigningMethodHS512, claims("keygate", time.Minute)),
		"another issuer":          sign(jwt.SigningMethodHS256, claims("someone-else", time.Minute)),
		"longer than token_ttl":   sign(jwt.SigningMethodHS256, claims("keygate", 24*time.Hour)),
		"no session":              sign(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "keygate", "sub": f.user.UID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}),
	} {
		if _, err := f.auth.AuthenticateToken(context.Background(), token); err == nil || authcore.AsError(err).Status != 401 {
			t.Errorf("%s: got %v, want 401", name, err)
		}
	}
	// The same claims, correctly signed, pass: the cases above fail for their one flaw.
	if _, err := f.auth.TokenClaims(context.Background(), sign(jwt.SigningMethodHS256, claims("keygate", time.Minute))); err != nil {
		t.Fatalf("a correctly signed token was refused: %v", err)
	}
}

// A token naming a key this node lacks, while the store cannot be read, may be fine: 503.
func TestUnknownSigningKeyDuringAnOutageIs503(t *testing.T) {
	f := newFixture(t)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "keygate", "sub": "u", "sid": "s", "iat": f.clock.Now().Unix(), "exp": f.clock.Now().Add(time.Minute).Unix()})
	tok.Header["kid"] = "added-by-another-node"
	token, _ := tok.SignedString([]byte("secret-of-another-node-0123456789"))
	f.clock.Advance(2 * credentials.KeyReloadInterval)
	f.store.Store.Close()
	wantCode(t, errOf(f.auth.AuthenticateToken(context.Background(), token)), "StoreUnavailable")
}
