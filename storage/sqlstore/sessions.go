package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/storage"
)

var (
	selectSession     = selectFrom("sessions", sessionColumns)
	insertSessionStmt = insertInto("sessions", sessionColumns)
)

// errZeroRevokeTime refuses RevokeSession at the zero time, which is stored as 0, the
// value that means "live": the call would report success and revoke nothing.
var errZeroRevokeTime = errors.New("zero revocation time")

// CreateSession inserts sess. ErrConflict when its id is taken; ErrNotFound when its user
// does not exist in its tenant. A session created with RevokedAt set is stored revoked
// (no change is recorded: nothing can have cached it yet).
func (s *Store) CreateSession(ctx context.Context, sess storage.Session) error {
	_, err := s.exec(ctx, s.writer(), insertSessionStmt,
		sess.ID, sess.UserUID, sess.TenantUID, millis(sess.CreatedAt), millis(sess.RevokedAt), sess.TokenID)
	if err == nil {
		return nil
	}
	return s.writeError(ctx, "create session", err, fmt.Sprintf("user %q in tenant %q", sess.UserUID, sess.TenantUID),
		uniqueRule{fmt.Sprintf("session id %q", sess.ID), "SELECT 1 FROM sessions WHERE id = ?", []any{sess.ID}},
	)
}

// SessionByID returns the session with that id; RevokedAt is zero while it is live.
func (s *Store) SessionByID(ctx context.Context, id string) (storage.Session, error) {
	var r sessionRow
	if err := s.queryRow(ctx, s.reader(), selectSession+" WHERE id = ?", id).Scan(r.dest()...); err != nil {
		return storage.Session{}, notFound(err, fmt.Sprintf("session %q", id))
	}
	return r.session(), nil
}

// RotateSessionToken moves a live session's newest token from from to to, in one
// conditional UPDATE, so of two refreshes of the same token exactly one succeeds.
// ErrConflict when from is not the newest token or the session is revoked; ErrNotFound
// when there is no such session. It records no change: the old token stays valid until
// it expires, so no cache needs to drop anything.
func (s *Store) RotateSessionToken(ctx context.Context, id, from, to string) error {
	what := fmt.Sprintf("rotate token of session %q", id)
	res, err := s.exec(ctx, s.writer(),
		"UPDATE sessions SET token_id = ? WHERE id = ? AND revoked_at = 0 AND (token_id = ? OR token_id = '')",
		to, id, from)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := mustAffect(res, what); err == nil || !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	var one int
	if err := s.queryRow(ctx, s.reader(), "SELECT 1 FROM sessions WHERE id = ?", id).Scan(&one); err != nil {
		return notFound(err, what)
	}
	return fmt.Errorf("%s: not its newest token, or revoked: %w", what, storage.ErrConflict)
}

// RevokeSession sets the session's revoked_at to at and records a ChangeSession in the
// same transaction. Revoking a revoked session keeps the first revoked_at, succeeds and
// records nothing (nothing changed: watchers were told the first time). ErrNotFound when
// there is no such session.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	what := fmt.Sprintf("revoke session %q", id)
	if millis(at) == 0 {
		return fmt.Errorf("%s: %w", what, errZeroRevokeTime)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// "revoked_at = 0" in the update itself makes concurrent revocations safe on
		// PostgreSQL too: the loser re-checks the row after the winner commits.
		res, err := s.exec(ctx, tx, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0",
			millis(at), id)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("%s: rows affected: %w", what, err)
		}
		if n == 0 {
			// Already revoked, or no such session.
			var one int
			if err := s.queryRow(ctx, tx, "SELECT 1 FROM sessions WHERE id = ?", id).Scan(&one); err != nil {
				return notFound(err, what)
			}
			return nil
		}
		return s.recordChanges(ctx, tx, what, storage.ChangeSession, s.now(), id)
	})
}

// RevokedSessionsSince returns the ids of the sessions revoked at or after since, in no
// particular order; none is an empty result, not an error.
func (s *Store) RevokedSessionsSince(ctx context.Context, since time.Time) ([]string, error) {
	// revoked_at <> 0 keeps live sessions out when since is the zero time (stored as 0).
	return queryAll(ctx, s, s.reader(), "revoked sessions", scanValue[string],
		"SELECT id FROM sessions WHERE revoked_at >= ? AND revoked_at <> 0", millis(since))
}

// PruneSessions deletes the sessions created before before, live or revoked, and reports
// how many it deleted. It records no change: it is meant for sessions older than any
// token they could have issued.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	return s.execCount(ctx, s.writer(), "prune sessions", "DELETE FROM sessions WHERE created_at < ?", millis(before))
}
