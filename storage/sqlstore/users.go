package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

var (
	selectUser     = selectFrom("users", userColumns)
	insertUserStmt = insertInto("users", userColumns)
)

// CreateUser inserts u with its email lower-cased. ErrConflict when its uid or its email
// within the tenant is taken; ErrNotFound when the tenant does not exist.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertUser(ctx, tx, u) })
}

// insertUser inserts u and the tenant roles it holds directly: u.Roles, and Tenant Admin
// when u.Role is tenant-admin.
func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, u storage.User) error {
	email := normalizeEmail(u.Email)
	roles := u.Roles
	if u.Role == storage.RoleTenantAdmin {
		roles = append(slices.Clone(roles), storage.RoleUIDTenantAdmin)
	}
	roles = storage.SortedSet(roles)
	_, err := s.exec(ctx, tx, insertUserStmt,
		u.UID, u.TenantUID, email, u.FirstName, u.LastName, string(storage.LegacyRole(roles)), u.Disabled,
		u.PasswordHash, millis(u.CreatedAt), millis(u.UpdatedAt))
	if err == nil {
		if err := s.checkRoles(ctx, tx, u.TenantUID, storage.ScopeTenant, roles); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return s.writeUserRoles(ctx, tx, u.UID, roles)
	}
	return s.writeError(ctx, "create user", err, fmt.Sprintf("tenant %q", u.TenantUID),
		uniqueRule{
			fmt.Sprintf("email %q in tenant %q", email, u.TenantUID),
			"SELECT 1 FROM users WHERE tenant_uid = ? AND email = ?", []any{u.TenantUID, email},
		},
		uniqueRule{fmt.Sprintf("user uid %q", u.UID), "SELECT 1 FROM users WHERE uid = ?", []any{u.UID}},
	)
}

// normalizeEmail is how emails are stored and looked up, so that comparisons are
// case-insensitive without relying on database collations.
func normalizeEmail(email string) string { return strings.ToLower(email) }

// UserByUID returns the user with that uid.
func (s *Store) UserByUID(ctx context.Context, uid string) (storage.User, error) {
	u, err := scanUser(s.queryRow(ctx, s.reader(), selectUser+" WHERE uid = ?", uid))
	if err != nil {
		return storage.User{}, notFound(err, fmt.Sprintf("user %q", uid))
	}
	return s.withRoles(ctx, s.reader(), u, nil)
}

// LockedUser returns the user with that uid and, inside a transaction on a database with
// row locks, locks its row until the transaction ends: what the transaction then writes
// is based on the user as it is, not as an earlier read saw it.
func (s *Store) LockedUser(ctx context.Context, uid string) (storage.User, error) {
	u, err := scanUser(s.queryRow(ctx, s.reader(), s.forUpdate(selectUser+" WHERE uid = ?"), uid))
	if err != nil {
		return storage.User{}, notFound(err, fmt.Sprintf("user %q", uid))
	}
	return s.withRoles(ctx, s.reader(), u, nil)
}

// UsersByEmail returns the users with that email (any case) in every tenant, oldest
// first; none is an empty result, not an error.
func (s *Store) UsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	users, err := queryAll(ctx, s, s.reader(), "users by email", scanUser,
		selectUser+" WHERE email = ? ORDER BY created_at, uid", normalizeEmail(email))
	if err != nil {
		return nil, err
	}
	return users, s.fillUserRoles(ctx, s.reader(), users)
}

// SetUserDisabled sets the user's Disabled flag and, in the same transaction, records a
// ChangeUser for the user and a ChangeAPIKey for each of the user's keys, so that every
// cache drops them.
func (s *Store) SetUserDisabled(ctx context.Context, uid string, disabled bool) error {
	what := fmt.Sprintf("set user %q disabled", uid)
	return s.updateUser(ctx, what, uid, "disabled = ?", disabled)
}

// updateUser sets columns of a user (set is "col = ?, ..." with args) and updated_at, and
// records the change for the user and their keys, in one transaction. ErrNotFound when
// there is no such user.
func (s *Store) updateUser(ctx context.Context, what, uid, set string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.updateUserIn(ctx, tx, what, uid, set, args...) })
}

// updateUserIn is updateUser in the transaction tx.
func (s *Store) updateUserIn(ctx context.Context, tx *sql.Tx, what, uid, set string, args ...any) error {
	if err := s.lockUser(ctx, tx, uid, what); err != nil {
		return err // also the only place a missing user is noticed: the row is locked now
	}
	now := s.now()
	args = append(args, millis(now), uid)
	if _, err := s.exec(ctx, tx, "UPDATE users SET "+set+", updated_at = ? WHERE uid = ?", args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.recordUserChange(ctx, tx, what, uid, now)
}

// lockUser locks the user's row until the transaction ends, where the dialect can.
// Creating a key or session for a user takes a lock that conflicts with it (the foreign
// key check's), so under PostgreSQL's READ COMMITTED no key can be created between a
// change to the user and the listing of their keys that announces it: without this, a
// key committed in between would be cached elsewhere with the user's old state and never
// invalidated. ErrNotFound when there is no such user.
func (s *Store) lockUser(ctx context.Context, tx *sql.Tx, uid, what string) error {
	var one int
	if err := s.queryRow(ctx, tx, s.forUpdate("SELECT 1 FROM users WHERE uid = ?"), uid).Scan(&one); err != nil {
		return notFound(err, what)
	}
	return nil
}

// ActiveTenantAdmins counts the tenant's enabled tenant admins, after taking the tenant's
// admins lock where the dialect has transaction locks: transactions that each remove an
// admin then run one after the other (SQLite's single writer needs no lock), so the last
// one sees that it would leave none.
func (s *Store) ActiveTenantAdmins(ctx context.Context, tenantUID string) (int, error) {
	what := fmt.Sprintf("count admins of tenant %q", tenantUID)
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// A lock of its own, not the tenant row's: FOR UPDATE there would conflict with
		// the key-share locks that inserts referencing the tenant take.
		if err := s.lock(ctx, tx, "tenant-admins/"+tenantUID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM users u WHERE u.tenant_uid = ? AND u.disabled = ? AND ("+
			"EXISTS (SELECT 1 FROM user_roles r WHERE r.user_uid = u.uid AND r.role_uid = ?) OR "+
			"EXISTS (SELECT 1 FROM team_members m JOIN team_roles t ON t.team_uid = m.team_uid"+
			" WHERE m.user_uid = u.uid AND t.role_uid = ?))",
			tenantUID, false, storage.RoleUIDTenantAdmin, storage.RoleUIDTenantAdmin).Scan(&n)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
	return n, err
}

// recordUserChange records a ChangeUser for the user and a ChangeAPIKey for each of the
// user's keys, so that every cache drops them.
func (s *Store) recordUserChange(ctx context.Context, tx *sql.Tx, what, uid string, now time.Time) error {
	if err := s.recordChanges(ctx, tx, what, storage.ChangeUser, now, uid); err != nil {
		return err
	}
	digests, err := s.userKeyDigests(ctx, tx, uid)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.recordChanges(ctx, tx, what, storage.ChangeAPIKey, now, keyRefs(digests...)...)
}

// userKeyDigests reads the digests of the user's keys. The change rows are inserted from
// Go because hex-encoding a blob is not portable SQL.
func (s *Store) userKeyDigests(ctx context.Context, q querier, userUID string) ([][]byte, error) {
	return queryAll(ctx, s, q, "list key digests", scanValue[[]byte],
		"SELECT digest FROM api_keys WHERE user_uid = ? ORDER BY created_at, uid", userUID)
}

// errInvalidRole refuses a role Keygate does not know: a user holding one could match no
// rule, or a rule by accident.
var errInvalidRole = errors.New("invalid role")

// UpdateUser sets a user's names and role (uid, tenant and email stay) and, in the same
// transaction, records a ChangeUser and a ChangeAPIKey for each of the user's keys.
// ErrNotFound when there is no such user; an unknown role is refused.
func (s *Store) UpdateUser(ctx context.Context, uid, firstName, lastName string, role storage.Role) error {
	what := fmt.Sprintf("update user %q", uid)
	if !role.Valid() {
		return fmt.Errorf("%s: %w %q", what, errInvalidRole, role)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.updateUserIn(ctx, tx, what, uid, "first_name = ?, last_name = ?, role = ?", firstName, lastName, string(role)); err != nil {
			return err
		}
		// The role is the direct Tenant Admin grant: add or remove it, keep the rest.
		if role == storage.RoleTenantAdmin {
			_, err := s.exec(ctx, tx, "INSERT INTO user_roles (user_uid, role_uid, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
				uid, storage.RoleUIDTenantAdmin, millis(s.now()))
			return err
		}
		_, err := s.exec(ctx, tx, "DELETE FROM user_roles WHERE user_uid = ? AND role_uid = ?", uid, storage.RoleUIDTenantAdmin)
		return err
	})
}

// SetUserPassword sets the user's password hash, revokes their live sessions and deletes
// their pending password tokens, in one transaction with the changes that announce it. ErrNotFound when there is no such user.
func (s *Store) SetUserPassword(ctx context.Context, uid, passwordHash string, at time.Time) error {
	what := fmt.Sprintf("set user %q password", uid)
	if millis(at) == 0 {
		return fmt.Errorf("%s: %w", what, errZeroRevokeTime)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.updateUserIn(ctx, tx, what, uid, "password_hash = ?", passwordHash); err != nil {
			return err
		}
		if err := s.deleteUserPasswordTokens(ctx, tx, uid); err != nil { // a link handed out before must not undo this
			return fmt.Errorf("%s: %w", what, err)
		}
		revoked, err := queryAll(ctx, s, tx, "revoke sessions", scanSessionID,
			"UPDATE sessions SET revoked_at = ? WHERE user_uid = ? AND revoked_at = 0 RETURNING id", millis(at), uid)
		if err != nil || len(revoked) == 0 {
			return err
		}
		slices.Sort(revoked)
		return s.recordChanges(ctx, tx, what, storage.ChangeSession, s.now(), revoked...)
	})
}

// DeleteUser deletes a user with their keys, sessions and memberships in one transaction,
// recording a ChangeUser, a ChangeAPIKey per key and a ChangeSession per live session.
// The keys and sessions are deleted explicitly, with RETURNING, rather than left to the
// foreign keys' cascade, so that the changes name exactly the rows deleted. ErrNotFound
// when there is no such user (and then nothing is deleted or recorded).
func (s *Store) DeleteUser(ctx context.Context, uid string) error {
	what := fmt.Sprintf("delete user %q", uid)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUser(ctx, tx, uid, what); err != nil {
			return err
		}
		// Lock the keys in uid order, the order TouchAPIKeys locks them in, so the two
		// cannot deadlock (SQLite's single writer needs no row locks).
		if _, ok := s.d.(RowLocker); ok {
			if _, err := s.exec(ctx, tx, s.forUpdate("SELECT uid FROM api_keys WHERE user_uid = ? ORDER BY uid"), uid); err != nil {
				return fmt.Errorf("%s: lock keys: %w", what, err)
			}
		}
		digests, err := s.deleteUserKeys(ctx, tx, uid)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		live, err := s.deleteUserSessions(ctx, tx, uid)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := s.exec(ctx, tx, "DELETE FROM project_roles WHERE subject_kind = 'user' AND subject_uid = ?", uid); err != nil {
			return fmt.Errorf("%s: delete project roles: %w", what, err)
		}
		for _, table := range []string{"user_roles", "team_members"} {
			if _, err := s.exec(ctx, tx, "DELETE FROM "+table+" WHERE user_uid = ?", uid); err != nil {
				return fmt.Errorf("%s: delete %s: %w", what, table, err)
			}
		}
		if _, err := s.exec(ctx, tx, "DELETE FROM users WHERE uid = ?", uid); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		now := s.now()
		if err := s.recordChanges(ctx, tx, what, storage.ChangeUser, now, uid); err != nil {
			return err
		}
		if err := s.recordChanges(ctx, tx, what, storage.ChangeAPIKey, now, keyRefs(digests...)...); err != nil {
			return err
		}
		return s.recordChanges(ctx, tx, what, storage.ChangeSession, now, live...)
	})
}

// deleteUserKeys deletes the user's keys and returns their digests, sorted so that the
// changes are recorded in a stable order.
func (s *Store) deleteUserKeys(ctx context.Context, tx *sql.Tx, userUID string) ([][]byte, error) {
	digests, err := queryAll(ctx, s, tx, "delete api keys", scanValue[[]byte],
		"DELETE FROM api_keys WHERE user_uid = ? RETURNING digest", userUID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(digests, bytes.Compare)
	return digests, nil
}

// deleteUserSessions deletes the user's sessions and returns the ids of those that were
// live, sorted. Revoked ones were announced when they were revoked.
func (s *Store) deleteUserSessions(ctx context.Context, tx *sql.Tx, userUID string) ([]string, error) {
	deleted, err := queryAll(ctx, s, tx, "delete sessions", scanDeletedSession,
		"DELETE FROM sessions WHERE user_uid = ? RETURNING id, revoked_at", userUID)
	if err != nil {
		return nil, err
	}
	var live []string
	for _, d := range deleted {
		if d.revoked == 0 {
			live = append(live, d.id)
		}
	}
	slices.Sort(live)
	return live, nil
}

func scanSessionID(sc scanner) (string, error) {
	var id string
	err := sc.Scan(&id)
	return id, err
}

// deletedSession is a row that deleteUserSessions deleted.
type deletedSession struct {
	id      string
	revoked int64 // 0 while live
}

func scanDeletedSession(sc scanner) (deletedSession, error) {
	var d deletedSession
	err := sc.Scan(&d.id, &d.revoked)
	return d, err
}

// ListUsers returns one page of a tenant's users, ordered by creation time then uid, and
// the cursor of the next page ("" when this is the last). A malformed cursor is
// ErrBadCursor.
func (s *Store) ListUsers(ctx context.Context, tenantUID string, p storage.Page) ([]storage.User, string, error) {
	users, next, err := listPage(ctx, s, "list users", selectUser+" WHERE tenant_uid = ?", []any{tenantUID}, byCreated, p,
		scanUser, func(u storage.User) position { return position{millis(u.CreatedAt), u.UID} })
	if err != nil {
		return nil, "", err
	}
	return users, next, s.fillUserRoles(ctx, s.reader(), users)
}
