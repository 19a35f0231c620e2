package sessions

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/credentials"
)

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
