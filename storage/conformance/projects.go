package conformance

import (
	"fmt"
	"reflect"
	"slices"
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
	{"Project/RemoveMember", testRemoveMember},
	{"Project/Members", testProjectMembers},
	{"Project/Delete", testProjectDelete},
	{"Project/UserProjects", testUserProjects},
	{"Project/Update", testProjectUpdate},
}

// testProjectUpdate: a new name and annotations show on the next read, in listings too,
// keep the rest, and are undone with the transaction that made them; an unknown project
// is ErrNotFound.
func testProjectUpdate(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	p := storage.Project{UID: newUID("project"), TenantUID: tn.UID, Name: "before", Annotations: map[string]string{"owner": "a"}, CreatedAt: t0}
	mustOK(t, "CreateProject with annotations", s.CreateProject(ctx(t), p))
	got, err := s.ProjectByUID(ctx(t), p.UID)
	mustOK(t, "ProjectByUID", err)
	sameRecord(t, "ProjectByUID of a project with annotations", got, p)
	p.Name, p.Annotations = "after", map[string]string{"cost-centre": "42", "note": `"quoted", {braced}`}
	mustOK(t, "UpdateProject", s.UpdateProject(ctx(t), p.UID, p.Name, p.Annotations))
	got, err = s.ProjectByUID(ctx(t), p.UID)
	mustOK(t, "ProjectByUID", err)
	sameRecord(t, "ProjectByUID after UpdateProject", got, p)
	listed, _, err := s.ListProjects(ctx(t), tn.UID, storage.Page{Limit: 10})
	mustOK(t, "ListProjects", err)
	if len(listed) != 1 {
		t.Fatalf("ListProjects = %d projects, want 1", len(listed))
	}
	sameRecord(t, "ListProjects after UpdateProject", listed[0], p)
	undone := fmt.Errorf("undo")
	err = s.Update(ctx(t), func(tx storage.Tx) error {
		if err := tx.UpdateProject(ctx(t), p.UID, "rolled back", nil); err != nil {
			return err
		}
		return undone
	})
	wantErr(t, "Update(UpdateProject, then fail)", err, undone)
	got, err = s.ProjectByUID(ctx(t), p.UID)
	mustOK(t, "ProjectByUID", err)
	sameRecord(t, "ProjectByUID after a rolled-back update", got, p)
	mustOK(t, "UpdateProject(no annotations)", s.UpdateProject(ctx(t), p.UID, p.Name, nil))
	got, err = s.ProjectByUID(ctx(t), p.UID)
	mustOK(t, "ProjectByUID", err)
	p.Annotations = nil
	sameRecord(t, "ProjectByUID after the annotations were removed", got, p)
	wantErr(t, "UpdateProject(unknown)", s.UpdateProject(ctx(t), "no-such-project", "x", nil), storage.ErrNotFound)
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
	if member {
		want.Roles = []string{storage.RoleUIDProjectEditor} // what AddProjectMember grants
	}
	if !reflect.DeepEqual(got, want) {
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

// mustMembers checks ProjectMembers, in any order.
func mustMembers(t *testing.T, s storage.Store, p storage.Project, want ...string) {
	t.Helper()
	got, err := s.ProjectMembers(ctx(t), p.UID)
	mustOK(t, "ProjectMembers", err)
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("ProjectMembers(%s) = %v, want %v", p.UID, got, want)
	}
}

// projectsWithMembers is tenant acme with projects p and q and users u and v, where u is a
// member of both projects and v of p only.
type projectsWithMembers struct {
	tn   storage.Tenant
	p, q storage.Project
	u, v storage.User
}

func mustProjectsWithMembers(t *testing.T, s storage.Store) projectsWithMembers {
	t.Helper()
	var f projectsWithMembers
	f.tn = mustTenant(t, s, "acme")
	f.p, f.q = mustProject(t, s, f.tn.UID, "p"), mustProject(t, s, f.tn.UID, "q")
	f.u, f.v = mustUser(t, s, f.tn.UID, "alice@example.com", 0), mustUser(t, s, f.tn.UID, "bob@example.com", 0)
	for _, m := range [][2]string{{f.p.UID, f.u.UID}, {f.p.UID, f.v.UID}, {f.q.UID, f.u.UID}} {
		mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), m[0], m[1]))
	}
	return f
}

func testRemoveMember(t *testing.T, s storage.Store) {
	f := mustProjectsWithMembers(t, s)
	p, q, u, v := f.p, f.q, f.u, f.v
	mustOK(t, "RemoveProjectMember", s.RemoveProjectMember(ctx(t), p.UID, u.UID))
	checkAccess(t, s, p, u.UID, false)
	checkAccess(t, s, p, v.UID, true)
	checkAccess(t, s, q, u.UID, true)
	mustMembers(t, s, p, v.UID)

	for name, m := range map[string][2]string{
		"again":           {p.UID, u.UID},
		"unknown project": {"no-such-project", u.UID},
		"unknown user":    {p.UID, "no-such-user"},
	} {
		wantErr(t, "RemoveProjectMember("+name+")", s.RemoveProjectMember(ctx(t), m[0], m[1]), storage.ErrNotFound)
	}
	// A removed member can be added back.
	mustOK(t, "AddProjectMember again", s.AddProjectMember(ctx(t), p.UID, u.UID))
	checkAccess(t, s, p, u.UID, true)
}

func testProjectMembers(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	p, empty := mustProject(t, s, tn.UID, "p"), mustProject(t, s, tn.UID, "empty")
	var uids []string
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		u := mustUser(t, s, tn.UID, email, 0)
		mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, u.UID))
		uids = append(uids, u.UID)
	}
	mustUser(t, s, tn.UID, "outsider@example.com", 0)
	mustMembers(t, s, p, uids...)
	mustMembers(t, s, empty)
	_, err := s.ProjectMembers(ctx(t), "no-such-project")
	wantErr(t, "ProjectMembers(unknown)", err, storage.ErrNotFound)
}

func testProjectDelete(t *testing.T, s storage.Store) {
	f := mustProjectsWithMembers(t, s)
	tn, p, q, u, v := f.tn, f.p, f.q, f.u, f.v
	mustOK(t, "DeleteProject", s.DeleteProject(ctx(t), p.UID))

	_, err := s.ProjectByUID(ctx(t), p.UID)
	wantErr(t, "ProjectByUID after DeleteProject", err, storage.ErrNotFound)
	_, err = s.ProjectAccess(ctx(t), p.UID, u.UID)
	wantErr(t, "ProjectAccess after DeleteProject", err, storage.ErrNotFound)
	_, err = s.ProjectMembers(ctx(t), p.UID)
	wantErr(t, "ProjectMembers after DeleteProject", err, storage.ErrNotFound)
	wantErr(t, "AddProjectMember after DeleteProject", s.AddProjectMember(ctx(t), p.UID, u.UID), storage.ErrNotFound)
	projects, _, err := s.ListProjects(ctx(t), tn.UID, storage.Page{})
	mustOK(t, "ListProjects", err)
	if !slices.Equal(projectUIDs(projects), []string{q.UID}) {
		t.Errorf("ListProjects after DeleteProject = %v, want [%s]", projectUIDs(projects), q.UID)
	}
	for _, user := range []storage.User{u, v} {
		projects, err := s.UserProjects(ctx(t), user.UID)
		mustOK(t, "UserProjects", err)
		if slices.Contains(projectUIDs(projects), p.UID) {
			t.Errorf("UserProjects(%s) after DeleteProject = %v, still lists %s", user.UID, projectUIDs(projects), p.UID)
		}
		_, err = s.UserByUID(ctx(t), user.UID)
		mustOK(t, "UserByUID after DeleteProject", err) // members stay
	}
	checkAccess(t, s, q, u.UID, true)
	mustMembers(t, s, q, u.UID)

	wantErr(t, "DeleteProject again", s.DeleteProject(ctx(t), p.UID), storage.ErrNotFound)
	wantErr(t, "DeleteProject(unknown)", s.DeleteProject(ctx(t), "no-such-project"), storage.ErrNotFound)
}

// testUserProjects: the projects a user is a member of, oldest first (ties by uid), and
// only those.
func testUserProjects(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "alice@example.com", 0)
	loner := mustUser(t, s, tn.UID, "bob@example.com", 0)
	var mine []storage.Project
	for i, age := range []time.Duration{3, 1, 2, 1} {
		p := storage.Project{UID: newUID("project"), TenantUID: tn.UID, Name: fmt.Sprintf("p%d", i), CreatedAt: t0.Add(age * time.Minute)}
		mustOK(t, "CreateProject", s.CreateProject(ctx(t), p))
		mustOK(t, "AddProjectMember", s.AddProjectMember(ctx(t), p.UID, u.UID))
		mine = append(mine, p)
	}
	mustProject(t, s, tn.UID, "not mine")
	want := byCreated(mine, func(p storage.Project) time.Time { return p.CreatedAt }, projectUID)
	got, err := s.UserProjects(ctx(t), u.UID)
	mustOK(t, "UserProjects", err)
	if !slices.Equal(projectUIDs(got), projectUIDs(want)) {
		t.Fatalf("UserProjects = %v, want %v", projectUIDs(got), projectUIDs(want))
	}
	for i := range want {
		sameRecord(t, fmt.Sprintf("UserProjects[%d]", i), got[i], want[i])
	}
	for name, uid := range map[string]string{"user without projects": loner.UID, "unknown user": "no-such-user"} {
		got, err := s.UserProjects(ctx(t), uid)
		mustOK(t, "UserProjects("+name+")", err)
		if len(got) != 0 {
			t.Errorf("UserProjects(%s) = %v, want none", name, projectUIDs(got))
		}
	}
}
