package conformance

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

// t0 has sub-millisecond digits and a non-UTC zone, so that the suite checks that stores
// keep times to the millisecond and return them in UTC.
var t0 = time.Date(2024, 3, 1, 12, 30, 45, 123_456_789, time.FixedZone("UTC+2", 2*3600))

var uidCounter atomic.Int64

// newUID returns a uid unique within the test binary.
func newUID(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, uidCounter.Add(1))
}

func newTenant(name string) storage.Tenant {
	return storage.Tenant{UID: newUID("tenant"), Name: name, CreatedAt: t0}
}

// newUser returns a user created age after t0, every field set.
func newUser(tenantUID, email string, age time.Duration) storage.User {
	uid := newUID("user")
	return storage.User{
		UID:          uid,
		TenantUID:    tenantUID,
		Email:        email,
		FirstName:    "First " + uid,
		LastName:     "Last " + uid,
		Role:         storage.RoleUser,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$" + uid,
		CreatedAt:    t0.Add(age),
		UpdatedAt:    t0.Add(age + 1500*time.Millisecond),
	}
}

// newKey returns an active key of u, every field set.
func newKey(u storage.User) storage.APIKey {
	uid := newUID("key")
	digest := sha256.Sum256([]byte(uid))
	return storage.APIKey{
		UID:         uid,
		TenantUID:   u.TenantUID,
		UserUID:     u.UID,
		Name:        "name " + uid,
		Description: "description " + uid,
		Digest:      digest[:],
		Hint:        "kg_" + uid[len(uid)-4:] + "…",
		ExpiresAt:   t0.Add(30 * 24 * time.Hour),
		Active:      true,
		CreatedAt:   t0.Add(time.Minute),
		UpdatedAt:   t0.Add(2 * time.Minute),
		Tagged:      true,
	}
}

func mustTenant(t *testing.T, s storage.Store, name string) storage.Tenant {
	t.Helper()
	tn := newTenant(name)
	if err := s.CreateTenant(ctx(t), tn); err != nil {
		t.Fatalf("CreateTenant(%q): %v", name, err)
	}
	return tn
}

func mustUser(t *testing.T, s storage.Store, tenantUID, email string, age time.Duration) storage.User {
	t.Helper()
	u := newUser(tenantUID, email, age)
	if err := s.CreateUser(ctx(t), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

func mustKey(t *testing.T, s storage.Store, u storage.User) storage.APIKey {
	t.Helper()
	k := newKey(u)
	if err := s.CreateAPIKey(ctx(t), k, 0); err != nil {
		t.Fatalf("CreateAPIKey for %s: %v", u.UID, err)
	}
	return k
}

func mustProject(t *testing.T, s storage.Store, tenantUID, name string) storage.Project {
	t.Helper()
	p := storage.Project{UID: newUID("project"), TenantUID: tenantUID, Name: name, CreatedAt: t0}
	if err := s.CreateProject(ctx(t), p); err != nil {
		t.Fatalf("CreateProject(%q): %v", name, err)
	}
	return p
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", op, err, target)
	}
}

func mustOK(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// sameRecord compares two records field by field: times must be equal to the
// millisecond (want is truncated) and in UTC, byte slices equal, everything else ==.
func sameRecord(t *testing.T, what string, got, want any) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Type() != wv.Type() {
		t.Fatalf("%s: comparing %s with %s", what, gv.Type(), wv.Type())
	}
	for i := range gv.NumField() {
		field := what + "." + gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch w := w.(type) {
		case time.Time:
			g := g.(time.Time)
			w = w.Truncate(time.Millisecond)
			if !g.Equal(w) || g.Location() != time.UTC || g.IsZero() != w.IsZero() {
				t.Errorf("%s = %v, want %v (in UTC)", field, g, w.UTC())
			}
		case []byte:
			if !bytes.Equal(g.([]byte), w) {
				t.Errorf("%s = %x, want %x", field, g, w)
			}
		case map[string]string: // none is none, nil or empty
			if !maps.Equal(g.(map[string]string), w) {
				t.Errorf("%s = %q, want %q", field, g, w)
			}
		case []string: // none is none, nil or empty
			if !slices.Equal(g.([]string), w) {
				t.Errorf("%s = %q, want %q", field, g, w)
			}
		default:
			if g != w {
				t.Errorf("%s = %#v, want %#v", field, g, w)
			}
		}
	}
}

// lowerEmail is what a store returns for u, a user in no team: its email lower-cased,
// and the Tenant Admin role held directly when its Role says tenant-admin.
func lowerEmail(u storage.User) storage.User {
	u.Email = strings.ToLower(u.Email)
	if u.Role == storage.RoleTenantAdmin {
		u.Roles = storage.SortedSet(append(slices.Clone(u.Roles), storage.RoleUIDTenantAdmin))
	} else {
		u.Roles = slices.DeleteFunc(slices.Clone(u.Roles), func(r string) bool { return r == storage.RoleUIDTenantAdmin })
	}
	u.TenantRoles = u.Roles
	return u
}

// newSession returns a live session of u, created age after t0.
func newSession(u storage.User, age time.Duration) storage.Session {
	id := newUID("session")
	return storage.Session{ID: id, UserUID: u.UID, TenantUID: u.TenantUID, CreatedAt: t0.Add(age), TokenID: "jti-" + id}
}

func mustSession(t *testing.T, s storage.Store, u storage.User, age time.Duration) storage.Session {
	t.Helper()
	sess := newSession(u, age)
	if err := s.CreateSession(ctx(t), sess); err != nil {
		t.Fatalf("CreateSession for %s: %v", u.UID, err)
	}
	return sess
}

// newSigningKey returns a key created age after t0, with a 32-byte secret derived from
// its kid.
func newSigningKey(age time.Duration) storage.SigningKey {
	kid := newUID("kid")
	secret := sha256.Sum256([]byte("secret " + kid))
	return storage.SigningKey{KID: kid, Secret: secret[:], CreatedAt: t0.Add(age)}
}
