package sqlstore

import (
	"context"
	"fmt"
	"time"
)

var secretColumns = []string{"name", "secret", "created_at"}

// keyTagSecretName is the secrets row that keys API key tags.
const keyTagSecretName = "api_key_tag"

var (
	insertSecretIfAbsent = insertInto("secrets", secretColumns) + " ON CONFLICT (name) DO NOTHING"
	selectSecret         = "SELECT secret FROM secrets WHERE name = ?"
	selectLegacyDigests  = "SELECT digest FROM api_keys WHERE NOT tagged" // api_keys_untagged covers it
)

// KeyTagSecret returns the stored key tag secret, storing candidate first if there is
// none. ON CONFLICT DO NOTHING makes the insert atomic on both backends: a racing caller
// waits for the first insert and then reads its secret. Both statements run on the
// writer, so SQLite reads what it just wrote. Errors never carry the secret.
func (s *Store) KeyTagSecret(ctx context.Context, candidate []byte, at time.Time) ([]byte, error) {
	const op = "key tag secret"
	if len(candidate) == 0 {
		return nil, fmt.Errorf("%s: %w", op, errEmptySecret)
	}
	if _, err := s.exec(ctx, s.writer(), insertSecretIfAbsent, keyTagSecretName, candidate, millis(at)); err != nil {
		return nil, fmt.Errorf("%s: store: %w", op, err)
	}
	var secret []byte
	if err := s.queryRow(ctx, s.writer(), selectSecret, keyTagSecretName).Scan(&secret); err != nil {
		return nil, fmt.Errorf("%s: read: %w", op, err)
	}
	return secret, nil
}

// LegacyKeyDigests returns the digests of untagged keys: an index-only read of
// api_keys_untagged, which holds no tagged key.
func (s *Store) LegacyKeyDigests(ctx context.Context) ([][]byte, error) {
	return queryAll(ctx, s, s.reader(), "legacy key digests", func(sc scanner) ([]byte, error) {
		var d []byte
		err := sc.Scan(&d)
		return d, err
	}, selectLegacyDigests)
}
