package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var (
	selectSigningKeys    = selectFrom("signing_keys", signingKeyColumns) + " ORDER BY created_at, kid"
	insertSigningKeyStmt = insertInto("signing_keys", signingKeyColumns)
)

// errEmptySecret refuses a signing key without a secret: an empty HMAC key would let
// anyone forge tokens.
var errEmptySecret = errors.New("empty secret")

// SigningKeys returns every token signing key, oldest first (ties by kid).
func (s *Store) SigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return queryAll(ctx, s, s.reader(), "signing keys", scanSigningKey, selectSigningKeys)
}

// CreateSigningKey inserts k; ErrConflict when its kid is taken. A key without a secret
// is refused. Errors never carry the secret.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	op := fmt.Sprintf("create signing key %q", k.KID)
	if len(k.Secret) == 0 {
		return fmt.Errorf("%s: %w", op, errEmptySecret)
	}
	_, err := s.exec(ctx, s.writer(), insertSigningKeyStmt, k.KID, k.Secret, millis(k.CreatedAt))
	if err == nil {
		return nil
	}
	return s.writeError(ctx, op, err, "",
		uniqueRule{"kid", "SELECT 1 FROM signing_keys WHERE kid = ?", []any{k.KID}},
	)
}
