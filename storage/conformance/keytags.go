package conformance

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/keygate/keygate/storage"
)

var keyTagTests = []suiteTest{
	{"KeyTagSecret/FirstStoredWins", testKeyTagSecretFirstStoredWins},
	{"KeyTagSecret/RacingNodesGetOne", testKeyTagSecretRacing},
	{"KeyTagSecret/EmptyRefused", testKeyTagSecretEmptyRefused},
	{"LegacyKeyDigests/OnlyUntagged", testLegacyKeyDigestsOnlyUntagged},
}

// tagSecret is a 32-byte secret derived from seed, with NUL and high bytes that text
// handling would mangle.
func tagSecret(seed string) []byte {
	s := sha256.Sum256([]byte(seed))
	return append([]byte{0, 0xff}, s[2:]...)
}

func testKeyTagSecretFirstStoredWins(t *testing.T, s storage.Store) {
	first, second := tagSecret("first"), tagSecret("second")
	got, err := s.KeyTagSecret(ctx(t), first, t0)
	mustOK(t, "KeyTagSecret(empty store)", err)
	if !bytes.Equal(got, first) {
		t.Fatalf("KeyTagSecret on an empty store returned another secret than its candidate")
	}
	got, err = s.KeyTagSecret(ctx(t), second, t0)
	mustOK(t, "KeyTagSecret(again)", err)
	if !bytes.Equal(got, first) {
		t.Fatalf("KeyTagSecret with a secret stored returned its new candidate, want the stored one")
	}
}

// Nodes starting together on an empty store must all tag with the same secret, or keys
// made on one would be refused on another.
func testKeyTagSecretRacing(t *testing.T, s storage.Store) {
	const n = 8
	got := make([][]byte, n)
	errs := AtOnce(n, func(i int) (err error) {
		got[i], err = s.KeyTagSecret(ctx(t), tagSecret(newUID("node")), t0)
		return err
	})
	for i, err := range errs {
		mustOK(t, "KeyTagSecret", err)
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("racing KeyTagSecret calls returned different secrets (call %d and call 0)", i)
		}
	}
}

func testKeyTagSecretEmptyRefused(t *testing.T, s storage.Store) {
	if _, err := s.KeyTagSecret(ctx(t), nil, t0); err == nil {
		t.Fatal("KeyTagSecret stored an empty secret: every tag would be forgeable")
	}
	want := tagSecret("after")
	got, err := s.KeyTagSecret(ctx(t), want, t0)
	mustOK(t, "KeyTagSecret", err)
	if !bytes.Equal(got, want) {
		t.Fatal("after a refused empty secret, KeyTagSecret did not store the next candidate")
	}
}

func testLegacyKeyDigestsOnlyUntagged(t *testing.T, s storage.Store) {
	got, err := s.LegacyKeyDigests(ctx(t))
	mustOK(t, "LegacyKeyDigests(empty store)", err)
	if len(got) != 0 {
		t.Fatalf("LegacyKeyDigests on an empty store = %d digests, want none", len(got))
	}
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "a@acme.test", 0)
	var want [][]byte
	for i := range 4 {
		k := newKey(u)
		k.Tagged = i%2 == 0
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), k, 0))
		if !k.Tagged {
			want = append(want, k.Digest)
		}
	}
	got, err = s.LegacyKeyDigests(ctx(t))
	mustOK(t, "LegacyKeyDigests", err)
	slices.SortFunc(got, bytes.Compare)
	slices.SortFunc(want, bytes.Compare)
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("LegacyKeyDigests = %x, want the untagged keys' %x", got, want)
	}
}
