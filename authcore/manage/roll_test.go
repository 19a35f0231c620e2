package manage

import (
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

func TestParseOverlap(t *testing.T) {
	for in, want := range map[string]time.Duration{"": DefaultRollOverlap, "0s": 0, "0": 0, "90m": 90 * time.Minute, "168h": MaxRollOverlap} {
		if got, err := ParseOverlap(in); err != nil || got != want {
			t.Errorf("ParseOverlap(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"7d", "168h1s", "-1s", "soon", "24"} {
		if _, err := ParseOverlap(in); err == nil {
			t.Errorf("ParseOverlap(%q) accepted", in)
		}
	}
}

// The new key of a roll lives as long as the old one was made to, within the maximum a
// key may live now (which may have been lowered since), and the maximum for a key that
// never expired.
func TestRollKeepsTheLifetimeWithinTheMaximum(t *testing.T) {
	ctx := t.Context()
	store := openStore(t)
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewService(ServiceConfig{Store: store, Now: func() time.Time { return now }, MaxKeyLifetime: 90 * 24 * time.Hour})
	ad := Operator{Service: s, OSUser: "tester"}
	if _, err := ad.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	u, err := ad.CreateUser(ctx, NewUser{TenantName: "acme", Email: "dev@acme.test", Role: storage.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	made := now.Add(-time.Hour)
	for _, tc := range []struct {
		name    string
		expires time.Time
		want    time.Duration
	}{
		{"30 days", made.Add(30 * 24 * time.Hour), 30 * 24 * time.Hour},
		{"longer than allowed now", made.Add(200 * 24 * time.Hour), 90 * 24 * time.Hour},
		{"never expiring", time.Time{}, 90 * 24 * time.Hour},
	} {
		uid := authcore.NewUID()
		tag, err := s.keyTag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, digest, hint := tag.NewKey()
		if err := store.CreateAPIKey(ctx, storage.APIKey{UID: uid, TenantUID: u.TenantUID, UserUID: u.UID, Name: tc.name, Digest: digest[:], Hint: hint,
			ExpiresAt: tc.expires, Active: true, CreatedAt: made, UpdatedAt: made, Tagged: true}, 0); err != nil {
			t.Fatal(err)
		}
		rolled, err := ad.RollAPIKey(ctx, uid, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := rolled.Record.ExpiresAt.Sub(now); got != tc.want || rolled.Record.Name != tc.name || rolled.Record.RolledFrom != uid {
			t.Errorf("%s: the new key %+v lives %v, want %v", tc.name, rolled.Record, got, tc.want)
		}
		old, err := store.APIKeyByUID(ctx, uid)
		if want := now.Add(DefaultRollOverlap); err != nil || !old.ExpiresAt.Equal(want) || old.RolledTo != rolled.Record.UID {
			t.Errorf("%s: the old key %+v, %v; want it to end at %v", tc.name, old, err, want)
		}
	}
}
