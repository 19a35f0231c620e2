package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var (
	selectProject     = selectFrom("projects", projectColumns)
	insertProjectStmt = insertInto("projects", projectColumns)
)

// CreateProject inserts p. ErrConflict when its uid is taken; ErrNotFound when its tenant
// does not exist.
func (s *Store) CreateProject(ctx context.Context, p storage.Project) error {
	_, err := s.exec(ctx, s.writer(), insertProjectStmt,
		p.UID, p.TenantUID, p.Name, millis(p.CreatedAt), encodeAnnotations(p.Annotations))
	if err == nil {
		return nil
	}
	return s.writeError(ctx, "create project", err, fmt.Sprintf("tenant %q", p.TenantUID),
		uniqueRule{fmt.Sprintf("project uid %q", p.UID), "SELECT 1 FROM projects WHERE uid = ?", []any{p.UID}},
	)
}

// ProjectByUID returns the project with that uid.
func (s *Store) ProjectByUID(ctx context.Context, uid string) (storage.Project, error) {
	project, err := scanProject(s.queryRow(ctx, s.reader(), selectProject+" WHERE uid = ?", uid))
	if err != nil {
		return storage.Project{}, notFound(err, fmt.Sprintf("project %q", uid))
	}
	return project, nil
}

// AddProjectMember grants the user Project Editor in the project, unless they hold a
// project role there already (then nothing changes), and records a ChangeMembership.
// ErrNotFound when either does not exist or they are in different tenants.
func (s *Store) AddProjectMember(ctx context.Context, projectUID, userUID string) error {
	what := fmt.Sprintf("add user %q to project %q", userUID, projectUID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.projectSubject(ctx, tx, projectUID, storage.ProjectGrant{UserUID: userUID}); err != nil {
			return notFound(err, what+": no such project and user in one tenant")
		}
		held, err := s.subjectProjectRoles(ctx, tx, projectUID, userUID)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if len(held) > 0 {
			return nil // already a member: nothing changed, nothing to announce
		}
		return s.writeProjectRoles(ctx, tx, what, storage.ProjectGrant{
			ProjectUID: projectUID, UserUID: userUID, Roles: []string{storage.RoleUIDProjectEditor},
		}, []string{userUID})
	})
}

// ProjectAccess returns the project's tenant and the user's effective roles there (their
// own and their teams'); ErrNotFound when the project does not exist.
func (s *Store) ProjectAccess(ctx context.Context, projectUID, userUID string) (storage.ProjectAccess, error) {
	var a storage.ProjectAccess
	err := s.queryRow(ctx, s.reader(), "SELECT tenant_uid FROM projects WHERE uid = ?", projectUID).Scan(&a.TenantUID)
	if err != nil {
		return storage.ProjectAccess{}, notFound(err, fmt.Sprintf("project %q", projectUID))
	}
	roles, err := queryAll(ctx, s, s.reader(), fmt.Sprintf("roles of user %q in project %q", userUID, projectUID), scanValue[string],
		"SELECT role_uid FROM project_roles WHERE project_uid = ? AND subject_kind = 'user' AND subject_uid = ?"+
			" UNION SELECT r.role_uid FROM project_roles r JOIN team_members m ON m.team_uid = r.subject_uid"+
			" WHERE r.project_uid = ? AND r.subject_kind = 'team' AND m.user_uid = ?",
		projectUID, userUID, projectUID, userUID)
	if err != nil {
		return storage.ProjectAccess{}, err
	}
	a.Roles = storage.SortedSet(roles)
	a.Member = len(a.Roles) > 0
	return a, nil
}

// RemoveProjectMember removes the user's own project roles there and records a
// ChangeMembership in the same transaction. ErrNotFound when the user held none (or
// either does not exist).
func (s *Store) RemoveProjectMember(ctx context.Context, projectUID, userUID string) error {
	what := fmt.Sprintf("remove user %q from project %q", userUID, projectUID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM project_roles WHERE project_uid = ? AND subject_kind = 'user' AND subject_uid = ?",
			projectUID, userUID)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := mustAffect(res, what+": not a member"); err != nil {
			return err
		}
		if err := s.recordChange(ctx, tx, storage.ChangeMembership, storage.MembershipRef(projectUID, userUID), s.now()); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// ProjectMembers returns the uids of the users holding project roles there directly, in
// the order they were granted (ties by uid); none is an empty result. ErrNotFound when
// the project does not exist.
func (s *Store) ProjectMembers(ctx context.Context, projectUID string) ([]string, error) {
	what := fmt.Sprintf("members of project %q", projectUID)
	// The LEFT JOIN yields one row with a NULL member for a project without members, and
	// no row for an unknown project: one query tells the two apart.
	members, err := queryAll(ctx, s, s.reader(), what, scanValue[sql.NullString],
		"SELECT m.subject_uid FROM projects p LEFT JOIN project_roles m ON m.project_uid = p.uid AND m.subject_kind = 'user'"+
			" WHERE p.uid = ? GROUP BY m.subject_uid ORDER BY MIN(m.created_at), m.subject_uid", projectUID)
	if err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	uids := []string{}
	for _, uid := range members {
		if uid.Valid {
			uids = append(uids, uid.String)
		}
	}
	return uids, nil
}

// DeleteProject deletes a project and its memberships and records a ChangeProject (Ref:
// the project uid) in the same transaction. No ChangeMembership is recorded for the
// memberships: ChangeProject already drops every cached decision about the project.
// ErrNotFound when there is no such project.
func (s *Store) DeleteProject(ctx context.Context, uid string) error {
	what := fmt.Sprintf("delete project %q", uid)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Explicitly rather than by the foreign key's cascade, so as not to depend on it.
		if _, err := s.exec(ctx, tx, "DELETE FROM project_roles WHERE project_uid = ?", uid); err != nil {
			return fmt.Errorf("%s: delete project roles: %w", what, err)
		}
		res, err := s.exec(ctx, tx, "DELETE FROM projects WHERE uid = ?", uid)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := mustAffect(res, what); err != nil {
			return err
		}
		if err := s.recordChange(ctx, tx, storage.ChangeProject, uid, s.now()); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// ListProjects returns one page of a tenant's projects, ordered by creation time then
// uid, and the cursor of the next page ("" when this is the last). A malformed cursor is
// ErrBadCursor.
func (s *Store) ListProjects(ctx context.Context, tenantUID string, p storage.Page) ([]storage.Project, string, error) {
	return listPage(ctx, s, "list projects", selectProject+" WHERE tenant_uid = ?", []any{tenantUID}, byCreated, p,
		scanProject, func(p storage.Project) position { return position{millis(p.CreatedAt), p.UID} })
}

// UserProjects returns the projects the user holds a role in, directly or through a team, oldest first (ties by uid);
// none (or an unknown user) is an empty result, not an error.
func (s *Store) UserProjects(ctx context.Context, userUID string) ([]storage.Project, error) {
	what := fmt.Sprintf("projects of user %q", userUID)
	projects, err := queryAll(ctx, s, s.reader(), what, scanProject,
		"SELECT "+columns("p", projectColumns...)+" FROM projects p WHERE p.uid IN ("+
			"SELECT project_uid FROM project_roles WHERE subject_kind = 'user' AND subject_uid = ?"+
			" UNION SELECT r.project_uid FROM project_roles r JOIN team_members m ON m.team_uid = r.subject_uid"+
			" WHERE r.subject_kind = 'team' AND m.user_uid = ?) ORDER BY p.created_at, p.uid", userUID, userUID)
	if err != nil {
		return nil, err
	}
	if projects == nil {
		projects = []storage.Project{} // none is an empty slice, never nil
	}
	return projects, nil
}

// UpdateProject replaces the project's name and annotations. ErrNotFound when there is
// no such project.
func (s *Store) UpdateProject(ctx context.Context, uid, name string, annotations map[string]string) error {
	what := fmt.Sprintf("update project %q", uid)
	res, err := s.exec(ctx, s.writer(), "UPDATE projects SET name = ?, annotations = ? WHERE uid = ?", name, encodeAnnotations(annotations), uid)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return mustAffect(res, what)
}
