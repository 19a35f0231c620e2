package sessions

import (
	"context"
	"testing"

	"github.com/keygate/keygate/authcore"
)

// go test -run '^$' -bench . -benchmem ./authcore

func BenchmarkAuthenticateAPIKeyCached(b *testing.B) {
	f := newFixture(b)
	key := f.mustKey(b, f.user, "30d").Key
	ctx := context.Background()
	if _, err := f.auth.AuthenticateAPIKey(ctx, key); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.AuthenticateAPIKey(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRejectMalformedAPIKey(b *testing.B) {
	f := newFixture(b)
	key, _, _ := authcore.NewKey()
	bad := key[:len(key)-1] + "!"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.AuthenticateAPIKey(ctx, bad); err != authcore.ErrCredentialMalformed {
			b.Fatal(err)
		}
	}
}

func BenchmarkRejectUnknownAPIKeyCached(b *testing.B) {
	f := newFixture(b)
	unknown, _, _ := authcore.NewKey()
	ctx := context.Background()
	f.auth.AuthenticateAPIKey(ctx, unknown)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.AuthenticateAPIKey(ctx, unknown); err != authcore.ErrCredentialInvalid {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateTokenCached(b *testing.B) {
	f := newFixture(b)
	f.withPassword(b, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(b, "ann@acme.test", "pw-ann-123").Token
	ctx := context.Background()
	if _, err := f.auth.AuthenticateToken(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.AuthenticateToken(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyTokenSignature is the first sight of a token: JWT parsing and HMAC.
func BenchmarkVerifyTokenSignature(b *testing.B) {
	f := newFixture(b)
	f.withPassword(b, "acme", "ann@acme.test", "pw-ann-123")
	token := f.login(b, "ann@acme.test", "pw-ann-123").Token
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.TokenClaims(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}
