package sessions

import (
	"context"
	"fmt"
	"testing"

	"github.com/keygate/keygate/authcore"
)

// go test -run '^$' -bench . -benchmem ./authcore/sessions

// benchCalls runs call in the benchmark loop, each call required to end in want (nil:
// success). A warm call runs first where the benchmark measures a cached path.
func benchCalls(b *testing.B, warm bool, want error, call func(context.Context) error) {
	b.Helper()
	ctx := context.Background()
	if warm {
		call(ctx)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := call(ctx); err != want {
			b.Fatalf("got %v, want %v", err, want)
		}
	}
}

func BenchmarkAuthenticateAPIKeyCached(b *testing.B) {
	f := newFixture(b)
	key := f.mustKey(b, f.user, "30d").Key
	benchCalls(b, true, nil, func(ctx context.Context) error { _, err := f.auth.AuthenticateAPIKey(ctx, key); return err })
}

func BenchmarkRejectMalformedAPIKey(b *testing.B) {
	f := newFixture(b)
	bad := f.unknownKey()[:authcore.KeyLen-1] + "!"
	benchCalls(b, false, authcore.ErrCredentialMalformed, func(ctx context.Context) error { _, err := f.auth.AuthenticateAPIKey(ctx, bad); return err })
}

// BenchmarkRejectForgedAPIKey is a flood of well-formed keys the gateway did not make:
// each is new (nothing cached), and is refused on its tag with no store query. Compare
// it with BenchmarkRejectMalformedAPIKey: the tag check is the difference.
func BenchmarkRejectForgedAPIKey(b *testing.B) {
	f := newFixture(b)
	forged := make([]string, 4096)
	for i := range forged {
		forged[i], _, _ = authcore.NewLegacyKey() // the shape of a key, no tag: forged
	}
	i := 0
	benchCalls(b, false, authcore.ErrCredentialInvalid, func(ctx context.Context) error {
		i++
		_, err := f.auth.AuthenticateAPIKey(ctx, forged[i%len(forged)])
		return err
	})
	if n := f.store.count(); n != 0 {
		b.Fatalf("forged keys made %d store lookups, want none", n)
	}
}

func BenchmarkRejectUnknownAPIKeyCached(b *testing.B) {
	f := newFixture(b)
	unknown := f.unknownKey()
	benchCalls(b, true, authcore.ErrCredentialInvalid, func(ctx context.Context) error { _, err := f.auth.AuthenticateAPIKey(ctx, unknown); return err })
}

func BenchmarkAuthenticateTokenCached(b *testing.B) {
	f := newFixture(b)
	f.withPassword(b, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(b, "ann@acme.test", "pw-ann-123").Token
	benchCalls(b, true, nil, func(ctx context.Context) error { _, err := f.auth.AuthenticateToken(ctx, token); return err })
}

// BenchmarkVerifyTokenSignature is the first sight of a token: JWT parsing and HMAC.
func BenchmarkVerifyTokenSignature(b *testing.B) {
	f := newFixture(b)
	f.withPassword(b, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(b, "ann@acme.test", "pw-ann-123").Token
	benchCalls(b, false, nil, func(ctx context.Context) error { _, err := f.auth.TokenClaims(ctx, token); return err })
}

// BenchmarkLoginRefusedForBudget is a login of a flood beyond the hashing budget, from
// a new address for a new email each time: throttle bookkeeping and the refusal, no
// store read, no hash.
func BenchmarkLoginRefusedForBudget(b *testing.B) {
	f := newFixture(b)
	iss, _ := f.budgeted(tightBudget)
	for i := 0; ; i++ {
		if _, err := iss.Login(context.Background(), Login{Email: fmt.Sprintf("warm%d@x.test", i), Password: "guess", ClientIP: "198.51.100.1"}); authcore.AsError(err).Code == "LoginBusy" {
			break
		}
	}
	i := 0
	benchCalls(b, false, nil, func(ctx context.Context) error {
		i++
		_, err := iss.Login(ctx, Login{Email: fmt.Sprintf("flood%d@x.test", i), Password: "guess", ClientIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)})
		if authcore.AsError(err).Code != "LoginBusy" {
			return err
		}
		return nil
	})
}
