package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keygate/keygate/storage"
)

var (
	selectAPIKey     = selectFrom("api_keys", apiKeyColumns)
	insertAPIKeyStmt = insertInto("api_keys", apiKeyColumns)
	selectKeyGrant   = "SELECT " + columns("k", apiKeyColumns...) + ", " + columns("u", userColumns...) +
		" FROM api_keys k JOIN users u ON u.uid = k.user_uid WHERE k.digest = ?"
)

// CreateAPIKey inserts k. ErrConflict when its uid or digest is taken; ErrNotFound when
// its user does not exist in its tenant; ErrLimitReached when maxPerUser > 0 and the user
// holds that many keys already. The count runs in the insert's transaction with the
// user's row locked (SQLite's single writer needs no lock), so two creates cannot both
// pass the limit.
func (s *Store) CreateAPIKey(ctx context.Context, k storage.APIKey, maxPerUser int) error {
	const op = "create api key"
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if maxPerUser > 0 {
			if err := s.checkKeyLimit(ctx, tx, k.UserUID, maxPerUser); err != nil {
				return err
			}
		}
		return s.insertKey(ctx, tx, k)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrLimitReached), errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("%s: %w", op, err)
	}
	return s.writeError(ctx, op, err, fmt.Sprintf("user %q in tenant %q", k.UserUID, k.TenantUID),
		uniqueRule{"api key digest", "SELECT 1 FROM api_keys WHERE digest = ?", []any{k.Digest}},
		uniqueRule{fmt.Sprintf("api key uid %q", k.UID), "SELECT 1 FROM api_keys WHERE uid = ?", []any{k.UID}},
	)
}

// insertKey inserts k in tx.
func (s *Store) insertKey(ctx context.Context, tx *sql.Tx, k storage.APIKey) error {
	_, err := s.exec(ctx, tx, insertAPIKeyStmt,
		k.UID, k.TenantUID, k.UserUID, k.Name, k.Description, k.Digest, k.Hint,
		millis(k.ExpiresAt), k.Active, millis(k.CreatedAt), millis(k.UpdatedAt), millis(k.LastUsedAt), k.Tagged,
		k.RolledFrom, k.RolledTo)
	return err
}

// checkKeyLimit returns ErrLimitReached when the user holds max keys or more, after
// locking the user's row so that the count holds until the transaction ends.
func (s *Store) checkKeyLimit(ctx context.Context, tx *sql.Tx, userUID string, max int) error {
	if err := s.lockUser(ctx, tx, userUID, fmt.Sprintf("user %q", userUID)); err != nil {
		return err
	}
	var n int
	if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM api_keys WHERE user_uid = ?", userUID).Scan(&n); err != nil {
		return fmt.Errorf("count keys of user %q: %w", userUID, err)
	}
	if n >= max {
		return fmt.Errorf("user %q holds %d api keys, the limit: %w", userUID, n, storage.ErrLimitReached)
	}
	return nil
}

// APIKeyByUID returns the key with that uid.
func (s *Store) APIKeyByUID(ctx context.Context, uid string) (storage.APIKey, error) {
	k, err := scanAPIKey(s.queryRow(ctx, s.reader(), selectAPIKey+" WHERE uid = ?", uid))
	if err != nil {
		return storage.APIKey{}, notFound(err, fmt.Sprintf("api key %q", uid))
	}
	return k, nil
}

// KeyGrantByDigest loads a key and its owner in one query.
func (s *Store) KeyGrantByDigest(ctx context.Context, digest []byte) (storage.KeyGrant, error) {
	var (
		k apiKeyRow
		u userRow
	)
	if err := s.queryRow(ctx, s.reader(), selectKeyGrant, digest).Scan(append(k.dest(), u.dest()...)...); err != nil {
		// Never the digest in an error: it identifies a secret.
		return storage.KeyGrant{}, notFound(err, "api key by digest")
	}
	user, err := s.withRoles(ctx, s.reader(), u.user(), nil)
	if err != nil {
		return storage.KeyGrant{}, err
	}
	return storage.KeyGrant{Key: k.apiKey(), User: user}, nil
}

// RecentKeyGrants loads recently used keys with their owners: one query for the keys and
// users, then the roles of their users in batches.
func (s *Store) RecentKeyGrants(ctx context.Context, since, now time.Time, limit int) ([]storage.KeyGrant, error) {
	rows, err := s.query(ctx, s.reader(), "SELECT "+columns("k", apiKeyColumns...)+", "+columns("u", userColumns...)+
		" FROM api_keys k JOIN users u ON u.uid = k.user_uid WHERE k.active AND k.last_used_at >= ? AND (k.expires_at = 0 OR k.expires_at > ?)"+
		" ORDER BY k.last_used_at DESC, k.uid LIMIT ?", millis(since), millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("recent api keys: %w", err)
	}
	grants, err := collect(rows, func(sc scanner) (storage.KeyGrant, error) {
		var k apiKeyRow
		var u userRow
		err := sc.Scan(append(k.dest(), u.dest()...)...)
		return storage.KeyGrant{Key: k.apiKey(), User: u.user()}, err
	})
	if err != nil {
		return nil, fmt.Errorf("recent api keys: %w", err)
	}
	users := map[string]storage.User{}
	for _, g := range grants {
		users[g.User.UID] = g.User
	}
	list := make([]storage.User, 0, len(users))
	for _, u := range users {
		list = append(list, u)
	}
	const batch = 500 // well within both databases' limits on placeholders
	for i := 0; i < len(list); i += batch {
		if err := s.fillUserRoles(ctx, s.reader(), list[i:min(i+batch, len(list))]); err != nil {
			return nil, err
		}
	}
	for _, u := range list {
		users[u.UID] = u
	}
	for i := range grants {
		grants[i].User = users[grants[i].User.UID]
	}
	return grants, nil
}

// SetAPIKeyActive revokes or re-activates a key and records a ChangeAPIKey in the same
// transaction.
func (s *Store) SetAPIKeyActive(ctx context.Context, uid string, active bool) error {
	return s.updateKey(ctx, fmt.Sprintf("set api key %q active", uid), uid, "active = ?", active)
}

// updateKey sets columns of a key (set is "col = ?, ..." with args) and updated_at, and
// records a ChangeAPIKey, in one transaction. ErrNotFound when there is no such key.
func (s *Store) updateKey(ctx context.Context, what, uid, set string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var digest []byte
		// RETURNING (SQLite 3.35+, PostgreSQL) saves a second round trip for the digest.
		err := s.queryRow(ctx, tx, "UPDATE api_keys SET "+set+", updated_at = ? WHERE uid = ? RETURNING digest",
			append(slices.Clip(args), millis(now), uid)...).Scan(&digest)
		if err != nil {
			return notFound(err, what)
		}
		return s.recordChanges(ctx, tx, what, storage.ChangeAPIKey, now, keyRefs(digest)...)
	})
}

// UpdateAPIKey sets a key's name, description and expiry (the zero time: never expires)
// and records a ChangeAPIKey in the same transaction. ErrNotFound when there is no such
// key.
func (s *Store) UpdateAPIKey(ctx context.Context, uid, name, description string, expiresAt time.Time) error {
	return s.updateKey(ctx, fmt.Sprintf("update api key %q", uid), uid,
		"name = ?, description = ?, expires_at = ?", name, description, millis(expiresAt))
}

// DeleteAPIKey deletes a key and records a ChangeAPIKey in the same transaction.
// ErrNotFound when there is no such key.
func (s *Store) DeleteAPIKey(ctx context.Context, uid string) error {
	what := fmt.Sprintf("delete api key %q", uid)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var digest []byte
		if err := s.queryRow(ctx, tx, "DELETE FROM api_keys WHERE uid = ? RETURNING digest", uid).Scan(&digest); err != nil {
			return notFound(err, what)
		}
		return s.recordChanges(ctx, tx, what, storage.ChangeAPIKey, s.now(), keyRefs(digest)...)
	})
}

// ListAPIKeys returns one page of the keys of f.TenantUID (only f.UserUID's when set),
// ordered by creation time then uid, and the cursor of the next page ("" when this is
// the last). A malformed cursor is ErrBadCursor.
func (s *Store) ListAPIKeys(ctx context.Context, f storage.APIKeyFilter, p storage.Page) ([]storage.APIKey, string, error) {
	q, args := selectAPIKey+" WHERE tenant_uid = ?", []any{f.TenantUID}
	if f.UserUID != "" {
		q, args = q+" AND user_uid = ?", append(args, f.UserUID)
	}
	return listPage(ctx, s, "list api keys", q, args, byCreated, p,
		scanAPIKey, func(k storage.APIKey) position { return position{millis(k.CreatedAt), k.UID} })
}

// TouchAPIKeys moves each key's last use forward to the time given, in one transaction:
// an earlier (or equal) time leaves it as it is, and uids of keys that no longer exist
// are skipped. It records no change and leaves UpdatedAt alone: last use is not an edit
// and does not affect access.
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	// A fixed order makes concurrent calls lock rows in the same order, so that they
	// cannot deadlock on databases with row locks.
	uids := make([]string, 0, len(lastUsed))
	for uid := range lastUsed {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.d.Rebind(
			"UPDATE api_keys SET last_used_at = ? WHERE uid = ? AND last_used_at < ?"))
		if err != nil {
			return fmt.Errorf("touch api keys: %w", err)
		}
		defer stmt.Close()
		for _, uid := range uids {
			at := millis(lastUsed[uid])
			if at == 0 {
				continue // the zero time is "never used": never a move forward
			}
			if _, err := stmt.ExecContext(ctx, at, uid, at); err != nil {
				return fmt.Errorf("touch api key %q: %w", uid, err)
			}
		}
		return nil
	})
}
