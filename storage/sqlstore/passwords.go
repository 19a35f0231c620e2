package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var passwordTokenColumns = []string{"id", "tenant_uid", "user_uid", "digest", "created_at", "expires_at"}

var (
	selectPasswordToken     = selectFrom("password_tokens", passwordTokenColumns)
	insertPasswordTokenStmt = insertInto("password_tokens", passwordTokenColumns)
)

type passwordTokenRow struct {
	t                storage.PasswordToken
	created, expires int64
}

func (r *passwordTokenRow) dest() []any {
	return []any{&r.t.ID, &r.t.TenantUID, &r.t.UserUID, &r.t.Digest, &r.created, &r.expires}
}

func scanPasswordToken(sc scanner) (storage.PasswordToken, error) {
	var r passwordTokenRow
	err := sc.Scan(r.dest()...)
	r.t.CreatedAt, r.t.ExpiresAt = fromMillis(r.created), fromMillis(r.expires)
	return r.t, err
}

// CreatePasswordToken replaces the user's pending token with t, in one transaction.
// ErrNotFound when the user is not in t's tenant; ErrConflict when t's id or digest is
// taken.
func (s *Store) CreatePasswordToken(ctx context.Context, t storage.PasswordToken) error {
	what := fmt.Sprintf("create password token of user %q", t.UserUID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM password_tokens WHERE user_uid = ?", t.UserUID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err := s.exec(ctx, tx, insertPasswordTokenStmt,
			t.ID, t.TenantUID, t.UserUID, t.Digest, millis(t.CreatedAt), millis(t.ExpiresAt))
		if err == nil {
			return nil
		}
		return s.writeError(ctx, what, err, fmt.Sprintf("user %q in tenant %q", t.UserUID, t.TenantUID),
			uniqueRule{fmt.Sprintf("password token id %q", t.ID), "SELECT 1 FROM password_tokens WHERE id = ?", []any{t.ID}},
			uniqueRule{"password token digest", "SELECT 1 FROM password_tokens WHERE digest = ?", []any{t.Digest}},
		)
	})
}

// TakePasswordToken deletes the token with that digest, with RETURNING so that of two
// concurrent takes exactly one gets it, and returns it. ErrNotFound when there is none.
// (A user has one token at most: the UNIQUE on user_uid keeps it so.)
func (s *Store) TakePasswordToken(ctx context.Context, digest []byte) (storage.PasswordToken, error) {
	taken, err := queryAll(ctx, s, s.writer(), "take password token", scanPasswordToken,
		"DELETE FROM password_tokens WHERE digest = ? RETURNING "+columns("", passwordTokenColumns...), digest)
	switch {
	case err != nil:
		return storage.PasswordToken{}, err
	case len(taken) == 0:
		return storage.PasswordToken{}, fmt.Errorf("take password token: %w", storage.ErrNotFound)
	}
	return taken[0], nil
}

// PasswordTokens returns a tenant's pending tokens, oldest first.
func (s *Store) PasswordTokens(ctx context.Context, tenantUID string) ([]storage.PasswordToken, error) {
	tokens, err := queryAll(ctx, s, s.reader(), "list password tokens", scanPasswordToken,
		selectPasswordToken+" WHERE tenant_uid = ? ORDER BY created_at, id", tenantUID)
	if tokens == nil && err == nil {
		tokens = []storage.PasswordToken{}
	}
	return tokens, err
}

// deleteUserPasswordTokens deletes the user's pending tokens inside tx.
func (s *Store) deleteUserPasswordTokens(ctx context.Context, tx *sql.Tx, userUID string) error {
	if _, err := s.exec(ctx, tx, "DELETE FROM password_tokens WHERE user_uid = ?", userUID); err != nil {
		return fmt.Errorf("delete password tokens: %w", err)
	}
	return nil
}
