package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keygate/keygate/storage"
)

// subjectKind is project_roles.subject_kind for a grant.
func subjectKind(g storage.ProjectGrant) (kind, uid string) {
	if g.TeamUID != "" {
		return "team", g.TeamUID
	}
	return "user", g.UserUID
}

// projectSubject checks that the grant's project and user or team exist in one tenant
// and returns the tenant's uid; sql.ErrNoRows when they do not.
func (s *Store) projectSubject(ctx context.Context, q querier, projectUID string, g storage.ProjectGrant) (string, error) {
	table, uid := "users", g.UserUID
	if g.TeamUID != "" {
		table, uid = "teams", g.TeamUID
	}
	var tenantUID string
	err := s.queryRow(ctx, q, "SELECT p.tenant_uid FROM projects p JOIN "+table+" x ON x.tenant_uid = p.tenant_uid"+
		" WHERE p.uid = ? AND x.uid = ?", projectUID, uid).Scan(&tenantUID)
	return tenantUID, err
}

// subjectProjectRoles reads the roles a user or team holds directly in a project.
func (s *Store) subjectProjectRoles(ctx context.Context, q querier, projectUID, subjectUID string) ([]string, error) {
	return queryAll(ctx, s, q, "project roles", scanValue[string],
		"SELECT role_uid FROM project_roles WHERE project_uid = ? AND subject_uid = ? ORDER BY role_uid", projectUID, subjectUID)
}

// SetProjectRoles replaces the project roles of the grant's user or team in its project
// and records a ChangeMembership for each user it affects, in one transaction.
func (s *Store) SetProjectRoles(ctx context.Context, g storage.ProjectGrant) error {
	kind, uid := subjectKind(g)
	what := fmt.Sprintf("set roles of %s %q in project %q", kind, uid, g.ProjectUID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		tenantUID, err := s.projectSubject(ctx, tx, g.ProjectUID, g)
		if err != nil {
			return notFound(err, what+": no such project and "+kind+" in one tenant")
		}
		g.Roles = storage.SortedSet(g.Roles)
		if err := s.checkRoles(ctx, tx, tenantUID, storage.ScopeProject, g.Roles); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		affected := []string{g.UserUID}
		if g.TeamUID != "" {
			if affected, err = s.teamMembers(ctx, tx, g.TeamUID); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		return s.writeProjectRoles(ctx, tx, what, g, affected)
	})
}

// writeProjectRoles replaces the grant's rows and announces the change for affected.
func (s *Store) writeProjectRoles(ctx context.Context, tx *sql.Tx, what string, g storage.ProjectGrant, affected []string) error {
	kind, uid := subjectKind(g)
	if _, err := s.exec(ctx, tx, "DELETE FROM project_roles WHERE project_uid = ? AND subject_uid = ?", g.ProjectUID, uid); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	now := s.now()
	for _, r := range g.Roles {
		if _, err := s.exec(ctx, tx, "INSERT INTO project_roles (project_uid, subject_kind, subject_uid, role_uid, created_at) VALUES (?, ?, ?, ?, ?)",
			g.ProjectUID, kind, uid, r, millis(now)); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	refs := make([]string, len(affected))
	for i, u := range affected {
		refs[i] = storage.MembershipRef(g.ProjectUID, u)
	}
	return s.recordChanges(ctx, tx, what, storage.ChangeMembership, now, refs...)
}

// grantRow is one row of project_roles.
type grantRow struct{ project, kind, subject, role string }

func scanGrantRow(sc scanner) (grantRow, error) {
	var r grantRow
	err := sc.Scan(&r.project, &r.kind, &r.subject, &r.role)
	return r, err
}

// groupGrants folds rows ordered by project, kind and subject into grants.
func groupGrants(rows []grantRow) []storage.ProjectGrant {
	grants := []storage.ProjectGrant{}
	for _, r := range rows {
		n := len(grants)
		if n == 0 || grants[n-1].ProjectUID != r.project || (grants[n-1].UserUID+grants[n-1].TeamUID) != r.subject {
			g := storage.ProjectGrant{ProjectUID: r.project}
			if r.kind == "team" {
				g.TeamUID = r.subject
			} else {
				g.UserUID = r.subject
			}
			grants = append(grants, g)
			n++
		}
		grants[n-1].Roles = append(grants[n-1].Roles, r.role)
	}
	return grants
}

// ProjectGrants returns who holds roles in the project: users first, then teams, each by
// uid, their roles sorted. ErrNotFound when the project does not exist.
func (s *Store) ProjectGrants(ctx context.Context, projectUID string) ([]storage.ProjectGrant, error) {
	var one int
	if err := s.queryRow(ctx, s.reader(), "SELECT 1 FROM projects WHERE uid = ?", projectUID).Scan(&one); err != nil {
		return nil, notFound(err, fmt.Sprintf("project %q", projectUID))
	}
	// 'team' sorts after 'user' only in reverse: order kinds explicitly.
	rows, err := queryAll(ctx, s, s.reader(), fmt.Sprintf("grants of project %q", projectUID), scanGrantRow,
		"SELECT project_uid, subject_kind, subject_uid, role_uid FROM project_roles WHERE project_uid = ?"+
			" ORDER BY CASE subject_kind WHEN 'user' THEN 0 ELSE 1 END, subject_uid, role_uid", projectUID)
	if err != nil {
		return nil, err
	}
	return groupGrants(rows), nil
}

// UserProjectGrants returns the user's own project grants and their teams', by project
// uid (the user's own before their teams', teams by uid).
func (s *Store) UserProjectGrants(ctx context.Context, userUID string) ([]storage.ProjectGrant, error) {
	rows, err := queryAll(ctx, s, s.reader(), fmt.Sprintf("project grants of user %q", userUID), scanGrantRow,
		"SELECT project_uid, subject_kind, subject_uid, role_uid FROM project_roles WHERE subject_kind = 'user' AND subject_uid = ?"+
			" UNION ALL SELECT r.project_uid, r.subject_kind, r.subject_uid, r.role_uid FROM project_roles r"+
			" JOIN team_members m ON m.team_uid = r.subject_uid WHERE r.subject_kind = 'team' AND m.user_uid = ?"+
			" ORDER BY 1, 2 DESC, 3, 4", userUID, userUID)
	if err != nil {
		return nil, err
	}
	return groupGrants(rows), nil
}
