package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/keygate/keygate/storage"
)

var roleColumns = []string{"uid", "tenant_uid", "name", "scope", "permissions", "created_at", "updated_at"}

// CreateRole inserts a custom role and records a ChangeRole for its tenant.
func (s *Store) CreateRole(ctx context.Context, r storage.RoleDef) error {
	what := fmt.Sprintf("create role %q", r.Name)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, insertInto("roles", roleColumns),
			r.UID, r.TenantUID, r.Name, string(r.Scope), strings.Join(storage.SortedSet(r.Permissions), ","),
			millis(r.CreatedAt), millis(r.UpdatedAt)); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, storage.ChangeRole, r.TenantUID, s.now())
	})
	if err == nil {
		return nil
	}
	return s.writeError(ctx, what, err, fmt.Sprintf("tenant %q", r.TenantUID),
		uniqueRule{fmt.Sprintf("role name %q in tenant %q", r.Name, r.TenantUID),
			"SELECT 1 FROM roles WHERE tenant_uid = ? AND name = ?", []any{r.TenantUID, r.Name}},
		uniqueRule{fmt.Sprintf("role uid %q", r.UID), "SELECT 1 FROM roles WHERE uid = ?", []any{r.UID}},
	)
}

// ListRoles returns the tenant's custom roles, oldest first (ties by uid).
func (s *Store) ListRoles(ctx context.Context, tenantUID string) ([]storage.RoleDef, error) {
	roles, err := queryAll(ctx, s, s.reader(), fmt.Sprintf("roles of tenant %q", tenantUID), scanRole,
		selectFrom("roles", roleColumns)+" WHERE tenant_uid = ? ORDER BY created_at, uid", tenantUID)
	if err != nil {
		return nil, err
	}
	if roles == nil {
		roles = []storage.RoleDef{}
	}
	return roles, nil
}

func scanRole(sc scanner) (storage.RoleDef, error) {
	var (
		r                storage.RoleDef
		scope, perms     string
		created, updated int64
	)
	err := sc.Scan(&r.UID, &r.TenantUID, &r.Name, &scope, &perms, &created, &updated)
	r.Scope = storage.RoleScope(scope)
	if perms != "" {
		r.Permissions = strings.Split(perms, ",")
	}
	r.CreatedAt, r.UpdatedAt = fromMillis(created), fromMillis(updated)
	return r, err
}

// checkRoles refuses, with ErrNotFound, a role uid that is neither a built-in role nor a
// custom role of the tenant, or that is not of scope.
func (s *Store) checkRoles(ctx context.Context, q querier, tenantUID string, scope storage.RoleScope, uids []string) error {
	for _, uid := range uids {
		if r, ok := storage.BuiltinRole(uid); ok {
			if r.Scope != scope {
				return fmt.Errorf("role %q is not of %s scope: %w", uid, scope, storage.ErrNotFound)
			}
			continue
		}
		var one int
		err := s.queryRow(ctx, q, "SELECT 1 FROM roles WHERE uid = ? AND tenant_uid = ? AND scope = ?",
			uid, tenantUID, string(scope)).Scan(&one)
		if err != nil {
			return notFound(err, fmt.Sprintf("%s role %q in tenant %q", scope, uid, tenantUID))
		}
	}
	return nil
}

// SetUserRoles replaces the user's direct tenant roles, keeps users.role in step, and
// records the change for the user and their keys, in one transaction.
func (s *Store) SetUserRoles(ctx context.Context, userUID string, roleUIDs []string) error {
	what := fmt.Sprintf("set roles of user %q", userUID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.setUserRolesIn(ctx, tx, what, userUID, storage.SortedSet(roleUIDs))
	})
}

func (s *Store) setUserRolesIn(ctx context.Context, tx *sql.Tx, what, userUID string, roles []string) error {
	var tenantUID string
	if err := s.queryRow(ctx, tx, s.forUpdate("SELECT tenant_uid FROM users WHERE uid = ?"), userUID).Scan(&tenantUID); err != nil {
		return notFound(err, what)
	}
	if err := s.checkRoles(ctx, tx, tenantUID, storage.ScopeTenant, roles); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.writeUserRoles(ctx, tx, userUID, roles); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.updateUserIn(ctx, tx, what, userUID, "role = ?", string(storage.LegacyRole(roles)))
}

// writeUserRoles replaces the user_roles rows of a user.
func (s *Store) writeUserRoles(ctx context.Context, tx *sql.Tx, userUID string, roles []string) error {
	if _, err := s.exec(ctx, tx, "DELETE FROM user_roles WHERE user_uid = ?", userUID); err != nil {
		return err
	}
	now := millis(s.now())
	for _, r := range roles {
		if _, err := s.exec(ctx, tx, "INSERT INTO user_roles (user_uid, role_uid, created_at) VALUES (?, ?, ?)", userUID, r, now); err != nil {
			return err
		}
	}
	return nil
}

// placeholders is "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// userRoleRow is one row of fillUserRoles' query: a role the user holds directly (team
// ""), or through a team (role "" for a team without roles).
type userRoleRow struct{ user, role, team string }

// fillUserRoles sets Roles, Teams and TenantRoles of users, in one query.
func (s *Store) fillUserRoles(ctx context.Context, q querier, users []storage.User) error {
	if len(users) == 0 {
		return nil
	}
	uids := make([]any, len(users))
	for i, u := range users {
		uids[i] = u.UID
	}
	in := placeholders(len(uids))
	rows, err := queryAll(ctx, s, q, "roles of users", func(sc scanner) (userRoleRow, error) {
		var r userRoleRow
		err := sc.Scan(&r.user, &r.role, &r.team)
		return r, err
	}, "SELECT user_uid, role_uid, '' FROM user_roles WHERE user_uid IN ("+in+")"+
		" UNION ALL SELECT m.user_uid, COALESCE(r.role_uid, ''), m.team_uid FROM team_members m"+
		" LEFT JOIN team_roles r ON r.team_uid = m.team_uid WHERE m.user_uid IN ("+in+")",
		append(uids, uids...)...)
	if err != nil {
		return err
	}
	byUser := map[string]*storage.User{}
	for i := range users {
		users[i].Roles, users[i].Teams, users[i].TenantRoles = nil, nil, nil
		byUser[users[i].UID] = &users[i]
	}
	for _, r := range rows {
		u := byUser[r.user]
		if r.team == "" {
			u.Roles = append(u.Roles, r.role)
		} else {
			u.Teams = append(u.Teams, r.team)
		}
		if r.role != "" {
			u.TenantRoles = append(u.TenantRoles, r.role)
		}
	}
	for _, u := range byUser {
		u.Roles, u.Teams, u.TenantRoles = storage.SortedSet(u.Roles), storage.SortedSet(u.Teams), storage.SortedSet(u.TenantRoles)
		u.Role = storage.LegacyRole(u.Roles)
	}
	return nil
}

// withRoles fills one user's roles after a lookup.
func (s *Store) withRoles(ctx context.Context, q querier, u storage.User, err error) (storage.User, error) {
	if err != nil {
		return u, err
	}
	users := []storage.User{u}
	if err := s.fillUserRoles(ctx, q, users); err != nil {
		return storage.User{}, err
	}
	return users[0], nil
}
