package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var (
	selectAPIKey     = "SELECT " + columns("", apiKeyColumns...) + " FROM api_keys"
	insertAPIKeyStmt = "INSERT INTO api_keys (" + columns("", apiKeyColumns...) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	selectKeyGrant   = "SELECT " + columns("k", apiKeyColumns...) + ", " + columns("u", userColumns...) +
		" FROM api_keys k JOIN users u ON u.uid = k.user_uid WHERE k.digest = ?"
)

// CreateAPIKey inserts k. ErrConflict when its uid or digest is taken; ErrNotFound when
// its user does not exist in its tenant.
func (s *Store) CreateAPIKey(ctx context.Context, k storage.APIKey) error {
	_, err := s.exec(ctx, s.db, insertAPIKeyStmt,
		k.UID, k.TenantUID, k.UserUID, k.Name, k.Description, k.Digest, k.Hint,
		millis(k.ExpiresAt), k.Active, millis(k.CreatedAt), millis(k.UpdatedAt))
	if err == nil {
		return nil
	}
	return s.writeError(ctx, "create api key", err, fmt.Sprintf("user %q in tenant %q", k.UserUID, k.TenantUID),
		uniqueRule{"api key digest", "SELECT 1 FROM api_keys WHERE digest = ?", []any{k.Digest}},
		uniqueRule{fmt.Sprintf("api key uid %q", k.UID), "SELECT 1 FROM api_keys WHERE uid = ?", []any{k.UID}},
	)
}

// APIKeyByUID returns the key with that uid.
func (s *Store) APIKeyByUID(ctx context.Context, uid string) (storage.APIKey, error) {
	var r apiKeyRow
	if err := s.queryRow(ctx, s.db, selectAPIKey+" WHERE uid = ?", uid).Scan(r.dest()...); err != nil {
		return storage.APIKey{}, notFound(err, fmt.Sprintf("api key %q", uid))
	}
	return r.apiKey(), nil
}

// KeyGrantByDigest loads a key and its owner in one query.
func (s *Store) KeyGrantByDigest(ctx context.Context, digest []byte) (storage.KeyGrant, error) {
	var (
		k apiKeyRow
		u userRow
	)
	if err := s.queryRow(ctx, s.db, selectKeyGrant, digest).Scan(append(k.dest(), u.dest()...)...); err != nil {
		// Never the digest in an error: it identifies a secret.
		return storage.KeyGrant{}, notFound(err, "api key by digest")
	}
	return storage.KeyGrant{Key: k.apiKey(), User: u.user()}, nil
}

// SetAPIKeyActive revokes or re-activates a key and records a ChangeAPIKey in the same
// transaction.
func (s *Store) SetAPIKeyActive(ctx context.Context, uid string, active bool) error {
	what := fmt.Sprintf("set api key %q active", uid)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var digest []byte
		// RETURNING (SQLite 3.35+, PostgreSQL) saves a second round trip for the digest.
		err := s.queryRow(ctx, tx, "UPDATE api_keys SET active = ?, updated_at = ? WHERE uid = ? RETURNING digest",
			active, millis(now), uid).Scan(&digest)
		if err != nil {
			return notFound(err, what)
		}
		if err := s.recordChange(ctx, tx, storage.ChangeAPIKey, hex.EncodeToString(digest), now); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}
