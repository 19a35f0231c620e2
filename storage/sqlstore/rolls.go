package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/storage"
)

// rollFrom ends the old key of a roll, if it may be rolled: live (active, not expired at
// the roll, the zero time never expiring) and not rolled before. Checking in the UPDATE
// itself, rather than after a read, makes two concurrent rolls, or a roll and a
// revocation, serialise on the row: the second sees the first's change and matches
// nothing.
const rollFrom = "UPDATE api_keys SET rolled_to = ?, updated_at = ?," +
	" expires_at = CASE WHEN expires_at <> 0 AND expires_at < ? THEN expires_at ELSE ? END" +
	" WHERE uid = ? AND rolled_to = '' AND active AND (expires_at = 0 OR expires_at > ?) RETURNING digest"

// RollAPIKey replaces the key from with to in one transaction (see storage.Store): the
// old key is ended first, so that a roll it refuses counts nothing, then the new key is
// inserted under the user's key limit (counted with the old key, which it still holds), and a ChangeAPIKey is recorded for the old key,
// whose expiry may have moved earlier.
func (s *Store) RollAPIKey(ctx context.Context, from string, expiresBy time.Time, to storage.APIKey, maxPerUser int) error {
	what := fmt.Sprintf("roll api key %q", from)
	to.RolledFrom = from
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The user's row first, then the key's: the order DeleteUser locks them in.
		if err := s.lockUser(ctx, tx, to.UserUID, fmt.Sprintf("user %q", to.UserUID)); err != nil {
			return err
		}
		now := s.now()
		var digest []byte
		by := millis(expiresBy)
		err := s.queryRow(ctx, tx, rollFrom, to.UID, millis(now), by, by, from, millis(to.CreatedAt)).Scan(&digest)
		if errors.Is(err, sql.ErrNoRows) {
			return s.whyNotRolled(ctx, tx, what, from)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if maxPerUser > 0 {
			if err := s.checkKeyLimit(ctx, tx, to.UserUID, maxPerUser); err != nil {
				return err
			}
		}
		if err := s.insertKey(ctx, tx, to); err != nil {
			return err
		}
		return s.recordChanges(ctx, tx, what, storage.ChangeAPIKey, now, keyRefs(digest)...)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrLimitReached), errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrConflict):
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.writeError(ctx, what, err, fmt.Sprintf("user %q in tenant %q", to.UserUID, to.TenantUID),
		uniqueRule{"api key digest", "SELECT 1 FROM api_keys WHERE digest = ?", []any{to.Digest}},
		uniqueRule{fmt.Sprintf("api key uid %q", to.UID), "SELECT 1 FROM api_keys WHERE uid = ?", []any{to.UID}},
	)
}

// whyNotRolled is the error of a roll whose old key matched nothing: ErrNotFound when
// there is no such key, else ErrConflict (revoked, expired or rolled already).
func (s *Store) whyNotRolled(ctx context.Context, tx *sql.Tx, what, uid string) error {
	var one int
	err := s.queryRow(ctx, tx, "SELECT 1 FROM api_keys WHERE uid = ?", uid).Scan(&one)
	if err != nil {
		return notFound(err, what)
	}
	return fmt.Errorf("%s: revoked, expired or rolled already: %w", what, storage.ErrConflict)
}
