package sqlite_test

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
	"github.com/keygate/keygate/storage/sqlstore"
)

// mustRecord runs op and checks that it recorded exactly want, in order.
func mustRecord(t *testing.T, s *sqlite.Store, what string, op func() error, want ...string) {
	t.Helper()
	seq := latestSeq(t, s)
	if err := op(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := changesSince(t, s, seq); !slices.Equal(got, want) {
		t.Errorf("changes recorded by %s = %q, want %q", what, got, want)
	}
}

// mustRecordNothing runs op, which must fail with target, and checks that it recorded
// nothing.
func mustRecordNothing(t *testing.T, s *sqlite.Store, what string, target error, op func() error) {
	t.Helper()
	seq := latestSeq(t, s)
	if err := op(); !errors.Is(err, target) {
		t.Errorf("%s = %v, want %v", what, err, target)
	}
	if got := changesSince(t, s, seq); len(got) != 0 {
		t.Errorf("%s recorded %q", what, got)
	}
}

// TestManagementChanges pins exactly what each new write records, and that refused ones
// record nothing.
func TestManagementChanges(t *testing.T) {
	ctx := context.Background()
	s, k, k2 := openWithTwoKeys(t)
	for _, sess := range []storage.Session{
		{ID: "s-live", UserUID: "u-alice", TenantUID: "t-alice", CreatedAt: t0},
		{ID: "s-revoked", UserUID: "u-alice", TenantUID: "t-alice", CreatedAt: t0, RevokedAt: t0.Add(time.Minute)},
	} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"p1", "p2"} {
		if err := s.CreateProject(ctx, storage.Project{UID: p, TenantUID: "t-alice", Name: p, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddProjectMember(ctx, p, "u-alice"); err != nil {
			t.Fatal(err)
		}
	}

	mustRecord(t, s, "UpdateAPIKey", func() error { return s.UpdateAPIKey(ctx, k.UID, "n", "d", t0) }, "apikey "+ref(k))
	mustRecord(t, s, "TouchAPIKeys", func() error { return s.TouchAPIKeys(ctx, map[string]time.Time{k.UID: t0}) })
	mustRecord(t, s, "AppendAudit", func() error {
		return s.AppendAudit(ctx, storage.AuditEvent{ID: "e1", TenantUID: "t-alice", At: t0})
	})
	mustRecord(t, s, "UpdateUser", func() error { return s.UpdateUser(ctx, "u-alice", "A", "B", storage.RoleTenantAdmin) },
		"user u-alice", "apikey "+ref(k), "apikey "+ref(k2))
	mustRecord(t, s, "RemoveProjectMember", func() error { return s.RemoveProjectMember(ctx, "p1", "u-alice") },
		"membership p1/u-alice")
	mustRecord(t, s, "DeleteProject", func() error { return s.DeleteProject(ctx, "p1") }, "project p1")
	mustRecord(t, s, "DeleteAPIKey", func() error { return s.DeleteAPIKey(ctx, k2.UID) }, "apikey "+ref(k2))
	// The revoked session was announced when it was revoked; memberships go with the
	// user's ChangeUser.
	mustRecord(t, s, "DeleteUser", func() error { return s.DeleteUser(ctx, "u-alice") },
		"user u-alice", "apikey "+ref(k), "session s-live")

	for name, op := range map[string]func() error{
		"UpdateAPIKey(unknown)":        func() error { return s.UpdateAPIKey(ctx, "nope", "n", "d", t0) },
		"DeleteAPIKey(deleted)":        func() error { return s.DeleteAPIKey(ctx, k2.UID) },
		"UpdateUser(deleted)":          func() error { return s.UpdateUser(ctx, "u-alice", "A", "B", storage.RoleUser) },
		"DeleteUser(deleted)":          func() error { return s.DeleteUser(ctx, "u-alice") },
		"RemoveProjectMember(removed)": func() error { return s.RemoveProjectMember(ctx, "p2", "u-alice") },
		"DeleteProject(deleted)":       func() error { return s.DeleteProject(ctx, "p1") },
	} {
		mustRecordNothing(t, s, name, storage.ErrNotFound, op)
	}
	var n int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM project_roles").Scan(&n); err != nil || n != 0 {
		t.Errorf("project_roles has %d rows (%v) after deleting its only user, want 0", n, err)
	}
}

// TestUpdateUserInvalidRole: a role Keygate does not know is refused, not as
// ErrNotFound, and nothing changes.
func TestUpdateUserInvalidRole(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite.Options{Path: tempPath(t)})
	mustSeed(t, s, "alice")
	for _, role := range []storage.Role{"", "root", "Tenant-Admin"} {
		seq := latestSeq(t, s)
		err := s.UpdateUser(ctx, "u-alice", "A", "B", role)
		if err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("UpdateUser(role %q) = %v, want an error other than ErrNotFound", role, err)
		}
		if got := changesSince(t, s, seq); len(got) != 0 {
			t.Errorf("UpdateUser(role %q) recorded %q", role, got)
		}
	}
	u, err := s.UserByUID(ctx, "u-alice")
	if err != nil || u.Role != storage.RoleUser || u.FirstName != "" {
		t.Errorf("user after refused updates = %+v, %v; want unchanged", u, err)
	}
}

// TestManagementErrorMessages: errors say what was missing or conflicted, and a key's
// digest never appears in one.
func TestManagementErrorMessages(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite.Options{Path: tempPath(t)})
	k := mustSeed(t, s, "alice")
	if err := s.AppendAudit(ctx, storage.AuditEvent{ID: "e1", TenantUID: "t-alice", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(ctx, storage.Project{UID: "p1", TenantUID: "t-alice", Name: "p", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err    error
		target error
		want   string
	}{
		{s.AppendAudit(ctx, storage.AuditEvent{ID: "e2"}, storage.AuditEvent{ID: "e1"}), storage.ErrConflict, `audit event id "e1" taken`},
		{s.AppendAudit(ctx, storage.AuditEvent{ID: "e3"}, storage.AuditEvent{ID: "e3"}), storage.ErrConflict, `event id "e3" given twice`},
		{s.UpdateAPIKey(ctx, "nope", "n", "d", t0), storage.ErrNotFound, `api key "nope"`},
		{s.DeleteAPIKey(ctx, "nope"), storage.ErrNotFound, `api key "nope"`},
		{s.UpdateUser(ctx, "nope", "a", "b", storage.RoleUser), storage.ErrNotFound, `user "nope"`},
		{s.DeleteUser(ctx, "nope"), storage.ErrNotFound, `user "nope"`},
		{s.RemoveProjectMember(ctx, "p1", "u-alice"), storage.ErrNotFound, `user "u-alice" from project "p1": not a member`},
		{s.DeleteProject(ctx, "nope"), storage.ErrNotFound, `project "nope"`},
		{func() error { _, err := s.ProjectMembers(ctx, "nope"); return err }(), storage.ErrNotFound, `project "nope"`},
	} {
		if !errors.Is(c.err, c.target) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v: want %v saying %q", c.err, c.target, c.want)
		}
	}
	// Errors about a key, even when it exists, never carry its digest.
	if err := s.DeleteAPIKey(ctx, k.UID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{s.DeleteAPIKey(ctx, k.UID), s.UpdateAPIKey(ctx, k.UID, "", "", t0)} {
		if err == nil || strings.Contains(err.Error(), ref(k)) || strings.Contains(err.Error(), hex.EncodeToString(k.Digest[:8])) {
			t.Errorf("error %v: want an error without the digest", err)
		}
	}
}

// TestBadCursorError: the error is ErrBadCursor alone, without the cursor given (a client
// could put anything there) and without ErrNotFound.
func TestBadCursorError(t *testing.T) {
	s := open(t, sqlite.Options{Path: tempPath(t)})
	mustSeed(t, s, "alice")
	const cursor = "<script>secret-looking-junk</script>"
	_, _, err := s.ListUsers(context.Background(), "t-alice", storage.Page{After: cursor})
	if !errors.Is(err, sqlstore.ErrBadCursor) || !errors.Is(err, storage.ErrBadCursor) ||
		errors.Is(err, storage.ErrNotFound) || strings.Contains(err.Error(), "junk") {
		t.Errorf("ListUsers(bad cursor) = %v, want ErrBadCursor (by either name) without the cursor", err)
	}
	if errors.Unwrap(sqlstore.ErrBadCursor) != nil {
		t.Error("ErrBadCursor wraps another error")
	}
}

// TestPageLimitNotCapped: the store applies no maximum (callers cap), and a limit at the
// top of int's range does not overflow into "no limit" or an error.
func TestPageLimitNotCapped(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite.Options{Path: tempPath(t)})
	const n = 260
	var events []storage.AuditEvent
	for i := range n {
		events = append(events, storage.AuditEvent{ID: "e" + strings.Repeat("x", i), TenantUID: "t1", At: t0})
	}
	if err := s.AppendAudit(ctx, events...); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{n, n + 1, 1 << 40, int(^uint(0) >> 1)} {
		got, next, err := s.ListAudit(ctx, "t1", storage.Page{Limit: limit})
		if err != nil || len(got) != n || next != "" {
			t.Errorf("ListAudit(limit %d) = %d events, cursor %q, %v; want all %d and no cursor", limit, len(got), next, err, n)
		}
	}
	got, next, err := s.ListAudit(ctx, "t1", storage.Page{Limit: n - 1})
	if err != nil || len(got) != n-1 || next == "" {
		t.Errorf("ListAudit(limit %d) = %d events, cursor %q, %v; want %d and a cursor", n-1, len(got), next, err, n-1)
	}
}
