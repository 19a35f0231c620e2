package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keygate/keygate/storage"
)

var (
	selectUser     = "SELECT " + columns("", userColumns...) + " FROM users"
	insertUserStmt = "INSERT INTO users (" + columns("", userColumns...) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

// CreateUser inserts u with its email lower-cased. ErrConflict when its uid or its email
// within the tenant is taken; ErrNotFound when the tenant does not exist.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	return s.insertUser(ctx, s.db, u)
}

func (s *Store) insertUser(ctx context.Context, q querier, u storage.User) error {
	email := normalizeEmail(u.Email)
	_, err := s.exec(ctx, q, insertUserStmt,
		u.UID, u.TenantUID, email, u.FirstName, u.LastName, string(u.Role), u.Disabled,
		u.PasswordHash, millis(u.CreatedAt), millis(u.UpdatedAt))
	if err == nil {
		return nil
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
	var r userRow
	if err := s.queryRow(ctx, s.db, selectUser+" WHERE uid = ?", uid).Scan(r.dest()...); err != nil {
		return storage.User{}, notFound(err, fmt.Sprintf("user %q", uid))
	}
	return r.user(), nil
}

// UsersByEmail returns the users with that email (any case) in every tenant, oldest
// first; none is an empty result, not an error.
func (s *Store) UsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	rows, err := s.query(ctx, s.db, selectUser+" WHERE email = ? ORDER BY created_at, uid", normalizeEmail(email))
	if err != nil {
		return nil, fmt.Errorf("users by email: %w", err)
	}
	defer rows.Close()
	var users []storage.User
	for rows.Next() {
		var r userRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fmt.Errorf("users by email: %w", err)
		}
		users = append(users, r.user())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users by email: %w", err)
	}
	return users, nil
}

// SetUserDisabled sets the user's Disabled flag and, in the same transaction, records a
// ChangeUser for the user and a ChangeAPIKey for each of the user's keys, so that every
// cache drops them.
func (s *Store) SetUserDisabled(ctx context.Context, uid string, disabled bool) error {
	what := fmt.Sprintf("set user %q disabled", uid)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := s.exec(ctx, tx, "UPDATE users SET disabled = ?, updated_at = ? WHERE uid = ?",
			disabled, millis(now), uid)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := mustAffect(res, what); err != nil {
			return err
		}
		if err := s.recordChange(ctx, tx, storage.ChangeUser, uid, now); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		digests, err := s.userKeyDigests(ctx, tx, uid)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, d := range digests {
			if err := s.recordChange(ctx, tx, storage.ChangeAPIKey, hex.EncodeToString(d), now); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		return nil
	})
}

// userKeyDigests reads the digests of the user's keys. The change rows are inserted from
// Go because hex-encoding a blob is not portable SQL.
func (s *Store) userKeyDigests(ctx context.Context, q querier, userUID string) ([][]byte, error) {
	rows, err := s.query(ctx, q, "SELECT digest FROM api_keys WHERE user_uid = ? ORDER BY created_at, uid", userUID)
	if err != nil {
		return nil, fmt.Errorf("list key digests: %w", err)
	}
	defer rows.Close()
	var digests [][]byte
	for rows.Next() {
		var d []byte
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list key digests: %w", err)
		}
		digests = append(digests, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list key digests: %w", err)
	}
	return digests, nil
}
