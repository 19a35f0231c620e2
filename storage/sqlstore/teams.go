package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/keygate/keygate/storage"
)

var teamColumns = []string{"uid", "tenant_uid", "name", "created_at", "updated_at"}

func scanTeam(sc scanner) (storage.Team, error) {
	var (
		t                storage.Team
		created, updated int64
	)
	err := sc.Scan(&t.UID, &t.TenantUID, &t.Name, &created, &updated)
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	return t, err
}

// CreateTeam inserts a team with its members and roles and announces the change for its
// members, in one transaction.
func (s *Store) CreateTeam(ctx context.Context, t storage.Team) error {
	what := fmt.Sprintf("create team %q", t.Name)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, insertInto("teams", teamColumns),
			t.UID, t.TenantUID, t.Name, millis(t.CreatedAt), millis(t.UpdatedAt)); err != nil {
			return err
		}
		return s.writeTeam(ctx, tx, what, t, nil)
	})
	if err == nil || !s.d.IsForeignKeyViolation(err) && !s.d.IsUniqueViolation(err) {
		return err
	}
	return s.writeError(ctx, what, err, fmt.Sprintf("tenant %q", t.TenantUID),
		uniqueRule{fmt.Sprintf("team name %q in tenant %q", t.Name, t.TenantUID),
			"SELECT 1 FROM teams WHERE tenant_uid = ? AND name = ?", []any{t.TenantUID, t.Name}},
		uniqueRule{fmt.Sprintf("team uid %q", t.UID), "SELECT 1 FROM teams WHERE uid = ?", []any{t.UID}},
	)
}

// writeTeam replaces a team's members and roles with t's (after checking them) and
// records, for every user in before or t.Users, a ChangeUser with their keys and a
// ChangeMembership per project the team holds roles in.
func (s *Store) writeTeam(ctx context.Context, tx *sql.Tx, what string, t storage.Team, before []string) error {
	t.Users, t.Roles = storage.SortedSet(t.Users), storage.SortedSet(t.Roles)
	if err := s.checkRoles(ctx, tx, t.TenantUID, storage.ScopeTenant, t.Roles); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, u := range t.Users {
		var one int
		if err := s.queryRow(ctx, tx, "SELECT 1 FROM users WHERE uid = ? AND tenant_uid = ?", u, t.TenantUID).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("%s: user %q in tenant %q", what, u, t.TenantUID))
		}
	}
	for _, table := range []string{"team_members", "team_roles"} {
		if _, err := s.exec(ctx, tx, "DELETE FROM "+table+" WHERE team_uid = ?", t.UID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	for _, u := range t.Users {
		if _, err := s.exec(ctx, tx, "INSERT INTO team_members (team_uid, user_uid) VALUES (?, ?)", t.UID, u); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	for _, r := range t.Roles {
		if _, err := s.exec(ctx, tx, "INSERT INTO team_roles (team_uid, role_uid) VALUES (?, ?)", t.UID, r); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return s.announceTeam(ctx, tx, what, t.UID, storage.SortedSet(append(slices.Clone(before), t.Users...)))
}

// announceTeam records the changes a team change makes for users.
func (s *Store) announceTeam(ctx context.Context, tx *sql.Tx, what, teamUID string, users []string) error {
	projects, err := queryAll(ctx, s, tx, what, scanValue[string],
		"SELECT DISTINCT project_uid FROM project_roles WHERE subject_kind = 'team' AND subject_uid = ? ORDER BY project_uid", teamUID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	now := s.now()
	for _, u := range users {
		if err := s.recordUserChange(ctx, tx, what, u, now); err != nil {
			return err
		}
		for _, p := range projects {
			if err := s.recordChange(ctx, tx, storage.ChangeMembership, storage.MembershipRef(p, u), now); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
	}
	return nil
}

// teamMembers reads the uids of a team's members, sorted.
func (s *Store) teamMembers(ctx context.Context, q querier, teamUID string) ([]string, error) {
	return queryAll(ctx, s, q, "team members", scanValue[string],
		"SELECT user_uid FROM team_members WHERE team_uid = ? ORDER BY user_uid", teamUID)
}

// fillTeams sets the members and roles of teams.
func (s *Store) fillTeams(ctx context.Context, q querier, teams []storage.Team) error {
	for i := range teams {
		users, err := s.teamMembers(ctx, q, teams[i].UID)
		if err != nil {
			return err
		}
		roles, err := queryAll(ctx, s, q, "team roles", scanValue[string],
			"SELECT role_uid FROM team_roles WHERE team_uid = ? ORDER BY role_uid", teams[i].UID)
		if err != nil {
			return err
		}
		teams[i].Users, teams[i].Roles = users, roles
	}
	return nil
}

// TeamByUID returns the team with that uid, with its members and roles.
func (s *Store) TeamByUID(ctx context.Context, uid string) (storage.Team, error) {
	query := selectFrom("teams", teamColumns) + " WHERE uid = ?"
	if s.tx != nil {
		// Read to be changed: a member added to what was read must not undo a
		// concurrent change of the team.
		query = s.forUpdate(query)
	}
	t, err := scanTeam(s.queryRow(ctx, s.reader(), query, uid))
	if err != nil {
		return storage.Team{}, notFound(err, fmt.Sprintf("team %q", uid))
	}
	teams := []storage.Team{t}
	if err := s.fillTeams(ctx, s.reader(), teams); err != nil {
		return storage.Team{}, err
	}
	return teams[0], nil
}

// ListTeams returns one page of a tenant's teams, oldest first.
func (s *Store) ListTeams(ctx context.Context, tenantUID string, p storage.Page) ([]storage.Team, string, error) {
	teams, next, err := listPage(ctx, s, "list teams", selectFrom("teams", teamColumns)+" WHERE tenant_uid = ?", []any{tenantUID}, byCreated, p,
		scanTeam, func(t storage.Team) position { return position{millis(t.CreatedAt), t.UID} })
	if err != nil {
		return nil, "", err
	}
	return teams, next, s.fillTeams(ctx, s.reader(), teams)
}

// UpdateTeam replaces a team's name, members and roles, announcing the change for its
// members before and after. ErrNotFound when there is no such team.
func (s *Store) UpdateTeam(ctx context.Context, t storage.Team) error {
	what := fmt.Sprintf("update team %q", t.UID)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var tenantUID string
		if err := s.queryRow(ctx, tx, s.forUpdate("SELECT tenant_uid FROM teams WHERE uid = ?"), t.UID).Scan(&tenantUID); err != nil {
			return notFound(err, what)
		}
		t.TenantUID = tenantUID
		before, err := s.teamMembers(ctx, tx, t.UID)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := s.exec(ctx, tx, "UPDATE teams SET name = ?, updated_at = ? WHERE uid = ?", t.Name, millis(s.now()), t.UID); err != nil {
			return err
		}
		return s.writeTeam(ctx, tx, what, t, before)
	})
	if err != nil && s.d.IsUniqueViolation(err) {
		return fmt.Errorf("%s: team name %q taken: %w", what, t.Name, storage.ErrConflict)
	}
	return err
}

// DeleteTeam deletes a team, its memberships, roles and project grants, announcing the
// change for its members. ErrNotFound when there is no such team.
func (s *Store) DeleteTeam(ctx context.Context, uid string) error {
	what := fmt.Sprintf("delete team %q", uid)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := s.queryRow(ctx, tx, s.forUpdate("SELECT 1 FROM teams WHERE uid = ?"), uid).Scan(&one); err != nil {
			return notFound(err, what)
		}
		members, err := s.teamMembers(ctx, tx, uid)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		// Announce before the grants go: announceTeam reads the team's projects.
		if err := s.announceTeam(ctx, tx, what, uid, members); err != nil {
			return err
		}
		for _, stmt := range []string{
			"DELETE FROM project_roles WHERE subject_kind = 'team' AND subject_uid = ?",
			"DELETE FROM team_members WHERE team_uid = ?",
			"DELETE FROM team_roles WHERE team_uid = ?",
			"DELETE FROM teams WHERE uid = ?",
		} {
			if _, err := s.exec(ctx, tx, stmt, uid); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		return nil
	})
}
