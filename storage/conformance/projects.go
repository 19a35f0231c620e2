package conformance

import (
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var projectTests = []suiteTest{
	{"Project/RoundTrip", testProjectRoundTrip},
	{"Project/NotFound", testProjectNotFound},
	{"Project/DuplicateUID", testProjectDuplicateUID},
	{"Project/UnknownTenant", testProjectUnknownTenant},
	{"Project/Access", testProjectAccess},
	{"Project/AddMemberIdempotent", testAddMemberIdempotent},
	{"Project/AddMemberUnknown", testAddMemberUnknown},
	{"Project/AddMemberCrossTenant", testAddMemberCrossTenant},
}

func testProjectRoundTrip(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	want := mustProject(t, s, tn.UID, "Default")
	got, err := s.ProjectByUID(ctx(t), want.UID)
	mustOK(t, "ProjectByUID", err)
	sameRecord(t, "ProjectByUID", got, want)
}

func testProjectNotFound(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	mustProject(t, s, tn.UID, "Default")
	_, err := s.ProjectByUID(ctx(t), "no-such-project")
	wantErr(t, "ProjectByUID(unknown)", err, storage.ErrNotFound)
}

func testProjectDuplicateUID(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	first := mustProject(t, s, tn.UID, "first")
	dup := storage.Project{UID: first.UID, TenantUID: tn.UID, Name: "second", CreatedAt: t0}
	wantErr(t, "CreateProject(same uid)", s.CreateProject(ctx(t), dup), storage.ErrConflict)
	got, err := s.ProjectByUID(ctx(t), first.UID)
	mustOK(t, "ProjectByUID", err)
	sameRecord(t, "ProjectByUID after a refused duplicate", got, first)
}

func testProjectUnknownTenant(t *testing.T, s storage.Store) {
	p := storage.Project{UID: newUID("project"), TenantUID: "no-such-tenant", Name: "p", CreatedAt: t0}
	wantErr(t, "CreateProject(unknown tenant)", s.CreateProject(ctx(t), p), storage.ErrNotFound)
	_, err := s.ProjectByUID(ctx(t), p.UID)
	wantErr(t, "ProjectByUID of the refused project", err, storage.ErrNotFound)
}

// checkAccess asserts what ProjectAccess says of user in project.
func checkAccess(t *testing.T, s storage.Store, p storage.Project, userUID string, member bool) {
	t.Helper()
	got, err := s.ProjectAccess(ctx(t), p.UID, userUID)
	mustOK(t, "ProjectAccess", err)
	want := storage.ProjectAccess{TenantUID: p.TenantUID, Member: member}
	if got != want {
		t.Errorf("ProjectAccess(%s, %s) = %+v, want %+v", p.UID, userUID, got, want)
	}
}

func testProjectAccess(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	p := mustProject(t, s, tn.UID, "p")
	q := mustProject(t, s, tn.UID, "q")
	member := mustUser(t, s, tn.UID, "member@example.com", 0)
	outsider := mustUser(t, s, tn.UID, "outsider@example.com", 0)
	mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, member.UID))

	checkAccess(t, s, p, member.UID, true)
	checkAccess(t, s, p, outsider.UID, false)
	checkAccess(t, s, q, member.UID, false) // membership is per project
	checkAccess(t, s, p, "no-such-user", false)
	_, err := s.ProjectAccess(ctx(t), "no-such-project", member.UID)
	wantErr(t, "ProjectAccess(unknown project)", err, storage.ErrNotFound)
}

func testAddMemberIdempotent(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	p := mustProject(t, s, tn.UID, "p")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	for range 3 {
		mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, u.UID))
		checkAccess(t, s, p, u.UID, true)
	}
}

func testAddMemberUnknown(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	p := mustProject(t, s, tn.UID, "p")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	wantErr(t, "AddProjectMember(unknown project)",
		s.AddProjectMember(ctx(t), "no-such-project", u.UID), storage.ErrNotFound)
	wantErr(t, "AddProjectMember(unknown user)",
		s.AddProjectMember(ctx(t), p.UID, "no-such-user"), storage.ErrNotFound)
	checkAccess(t, s, p, "no-such-user", false)
}

func testAddMemberCrossTenant(t *testing.T, s storage.Store) {
	a := mustTenant(t, s, "a")
	b := mustTenant(t, s, "b")
	p := mustProject(t, s, a.UID, "p")
	stranger := mustUser(t, s, b.UID, "stranger@example.com", time.Second)
	wantErr(t, "AddProjectMember(user of another tenant)",
		s.AddProjectMember(ctx(t), p.UID, stranger.UID), storage.ErrNotFound)
	checkAccess(t, s, p, stranger.UID, false)
}
