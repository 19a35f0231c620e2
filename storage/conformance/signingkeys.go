package conformance

import (
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var signingKeyTests = []suiteTest{
	{"SigningKey/RoundTripOldestFirst", testSigningKeyRoundTrip},
	{"SigningKey/DuplicateKID", testSigningKeyDuplicateKID},
}

// kids lists the KIDs of keys, in order.
func kids(keys []storage.SigningKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.KID
	}
	return out
}

func testSigningKeyRoundTrip(t *testing.T, s storage.Store) {
	keys, err := s.SigningKeys(ctx(t))
	mustOK(t, "SigningKeys(empty store)", err)
	if len(keys) != 0 {
		t.Fatalf("SigningKeys on an empty store = %v, want none", kids(keys))
	}

	// Created newest first, so that insertion order and age order differ. The middle
	// one's secret has NUL and high bytes at both ends, which text handling would mangle.
	newest, middle, oldest := newSigningKey(2*time.Hour), newSigningKey(time.Hour), newSigningKey(0)
	middle.Secret = append([]byte{0, 0xff, 0}, middle.Secret[3:29]...)
	middle.Secret = append(middle.Secret, 0x80, 0, 0xfe, 0)
	for _, k := range []storage.SigningKey{newest, middle, oldest} {
		mustOK(t, "CreateSigningKey", s.CreateSigningKey(ctx(t), k))
	}
	keys, err = s.SigningKeys(ctx(t))
	mustOK(t, "SigningKeys", err)
	want := []storage.SigningKey{oldest, middle, newest}
	if len(keys) != len(want) {
		t.Fatalf("SigningKeys = %v, want %v", kids(keys), kids(want))
	}
	for i := range want {
		sameRecord(t, "SigningKeys", keys[i], want[i])
	}
}

func testSigningKeyDuplicateKID(t *testing.T, s storage.Store) {
	first := newSigningKey(0)
	mustOK(t, "CreateSigningKey", s.CreateSigningKey(ctx(t), first))
	dup := newSigningKey(time.Hour)
	dup.KID = first.KID
	wantErr(t, "CreateSigningKey(same kid)", s.CreateSigningKey(ctx(t), dup), storage.ErrConflict)
	keys, err := s.SigningKeys(ctx(t))
	mustOK(t, "SigningKeys", err)
	if len(keys) != 1 {
		t.Fatalf("SigningKeys after a refused duplicate = %v, want only %s", kids(keys), first.KID)
	}
	sameRecord(t, "SigningKeys after a refused duplicate", keys[0], first)
}
