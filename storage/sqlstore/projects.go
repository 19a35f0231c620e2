package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var selectProject = "SELECT " + columns("", projectColumns...) + " FROM projects"

// CreateProject inserts p. ErrConflict when its uid is taken; ErrNotFound when its tenant
// does not exist.
func (s *Store) CreateProject(ctx context.Context, p storage.Project) error {
	_, err := s.exec(ctx, s.db, "INSERT INTO projects (uid, tenant_uid, name, created_at) VALUES (?, ?, ?, ?)",
		p.UID, p.TenantUID, p.Name, millis(p.CreatedAt))
	if err == nil {
		return nil
	}
	return s.writeError(ctx, "create project", err, fmt.Sprintf("tenant %q", p.TenantUID),
		uniqueRule{fmt.Sprintf("project uid %q", p.UID), "SELECT 1 FROM projects WHERE uid = ?", []any{p.UID}},
	)
}

// ProjectByUID returns the project with that uid.
func (s *Store) ProjectByUID(ctx context.Context, uid string) (storage.Project, error) {
	var r projectRow
	if err := s.queryRow(ctx, s.db, selectProject+" WHERE uid = ?", uid).Scan(r.dest()...); err != nil {
		return storage.Project{}, notFound(err, fmt.Sprintf("project %q", uid))
	}
	return r.project(), nil
}

// AddProjectMember makes the user a member of the project and records a ChangeMembership.
// Adding an existing member changes nothing. ErrNotFound when either does not exist or
// they are in different tenants.
func (s *Store) AddProjectMember(ctx context.Context, projectUID, userUID string) error {
	what := fmt.Sprintf("add user %q to project %q", userUID, projectUID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := s.queryRow(ctx, tx,
			"SELECT 1 FROM projects p JOIN users u ON u.tenant_uid = p.tenant_uid WHERE p.uid = ? AND u.uid = ?",
			projectUID, userUID).Scan(&one)
		if err != nil {
			return notFound(err, what+": no such project and user in one tenant")
		}
		now := s.now()
		res, err := s.exec(ctx, tx,
			"INSERT INTO project_members (project_uid, user_uid, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			projectUID, userUID, millis(now))
		if err != nil {
			return s.writeError(ctx, what, err, "project or user")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("%s: rows affected: %w", what, err)
		}
		if n == 0 {
			return nil // already a member: nothing changed, nothing to announce
		}
		if err := s.recordChange(ctx, tx, storage.ChangeMembership, storage.MembershipRef(projectUID, userUID), now); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// ProjectAccess returns the project's tenant and whether the user is a member, in one
// query; ErrNotFound when the project does not exist.
func (s *Store) ProjectAccess(ctx context.Context, projectUID, userUID string) (storage.ProjectAccess, error) {
	var (
		a      storage.ProjectAccess
		member sql.NullString // NULL when the LEFT JOIN found no membership
	)
	err := s.queryRow(ctx, s.db,
		"SELECT p.tenant_uid, m.user_uid FROM projects p"+
			" LEFT JOIN project_members m ON m.project_uid = p.uid AND m.user_uid = ?"+
			" WHERE p.uid = ?",
		userUID, projectUID).Scan(&a.TenantUID, &member)
	if err != nil {
		return storage.ProjectAccess{}, notFound(err, fmt.Sprintf("project %q", projectUID))
	}
	a.Member = member.Valid
	return a, nil
}
