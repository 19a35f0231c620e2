package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

var scimTokenColumns = []string{"tenant_uid", "digest", "hint", "created_at", "last_used_at"}

var selectSCIMToken = selectFrom("scim_tokens", scimTokenColumns)

func scanSCIMToken(sc scanner) (storage.SCIMToken, error) {
	var t storage.SCIMToken
	var created, used int64
	err := sc.Scan(&t.TenantUID, &t.Digest, &t.Hint, &created, &used)
	t.CreatedAt, t.LastUsedAt = fromMillis(created), fromMillis(used)
	return t, err
}

// SetSCIMToken replaces the tenant's SCIM token with t, in one transaction, so that the
// old one stops as the new one starts.
func (s *Store) SetSCIMToken(ctx context.Context, t storage.SCIMToken) error {
	what := fmt.Sprintf("set scim token of tenant %q", t.TenantUID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM scim_tokens WHERE tenant_uid = ?", t.TenantUID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err := s.exec(ctx, tx, insertInto("scim_tokens", scimTokenColumns),
			t.TenantUID, t.Digest, t.Hint, millis(t.CreatedAt), millis(t.LastUsedAt))
		if err != nil {
			return s.writeError(ctx, what, err, fmt.Sprintf("tenant %q", t.TenantUID),
				uniqueRule{"scim token digest", "SELECT 1 FROM scim_tokens WHERE digest = ?", []any{t.Digest}})
		}
		return nil
	})
}

// SCIMToken returns the tenant's SCIM token.
func (s *Store) SCIMToken(ctx context.Context, tenantUID string) (storage.SCIMToken, error) {
	t, err := scanSCIMToken(s.queryRow(ctx, s.reader(), selectSCIMToken+" WHERE tenant_uid = ?", tenantUID))
	return t, notFoundOrNil(err, fmt.Sprintf("scim token of tenant %q", tenantUID))
}

// SCIMTokenByDigest returns the SCIM token with that digest.
func (s *Store) SCIMTokenByDigest(ctx context.Context, digest []byte) (storage.SCIMToken, error) {
	t, err := scanSCIMToken(s.queryRow(ctx, s.reader(), selectSCIMToken+" WHERE digest = ?", digest))
	return t, notFoundOrNil(err, "scim token")
}

// DeleteSCIMToken deletes the tenant's SCIM token.
func (s *Store) DeleteSCIMToken(ctx context.Context, tenantUID string) error {
	what := fmt.Sprintf("delete scim token of tenant %q", tenantUID)
	res, err := s.exec(ctx, s.writer(), "DELETE FROM scim_tokens WHERE tenant_uid = ?", tenantUID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return mustAffect(res, what)
}

// TouchSCIMToken records the token's last use.
func (s *Store) TouchSCIMToken(ctx context.Context, digest []byte, at time.Time) error {
	if _, err := s.exec(ctx, s.writer(), "UPDATE scim_tokens SET last_used_at = ? WHERE digest = ?", millis(at), digest); err != nil {
		return fmt.Errorf("touch scim token: %w", err)
	}
	return nil
}

// externalTable is where the external ids of kind are kept, and its key column.
func externalTable(kind storage.ExternalKind) (table, key string, err error) {
	switch kind {
	case storage.ExternalUser:
		return "scim_user_ids", "user_uid", nil
	case storage.ExternalTeam:
		return "scim_team_ids", "team_uid", nil
	}
	return "", "", fmt.Errorf("external id: unknown kind %q", kind)
}

// SetExternalID records (or, with "", forgets) the external id of a user or team.
func (s *Store) SetExternalID(ctx context.Context, kind storage.ExternalKind, uid, externalID string) error {
	table, key, err := externalTable(kind)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("set external id of %s %q", kind, uid)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM "+table+" WHERE "+key+" = ?", uid); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if externalID == "" {
			return s.mustExist(ctx, tx, what, kind, uid)
		}
		_, err := s.exec(ctx, tx, "INSERT INTO "+table+" ("+key+", external_id) VALUES (?, ?)", uid, externalID)
		if err != nil {
			return s.writeError(ctx, what, err, fmt.Sprintf("%s %q", kind, uid))
		}
		return nil
	})
}

// mustExist is ErrNotFound when the user or team uid does not exist.
func (s *Store) mustExist(ctx context.Context, tx *sql.Tx, what string, kind storage.ExternalKind, uid string) error {
	table := map[storage.ExternalKind]string{storage.ExternalUser: "users", storage.ExternalTeam: "teams"}[kind]
	var one int
	return notFoundOrNil(s.queryRow(ctx, tx, "SELECT 1 FROM "+table+" WHERE uid = ?", uid).Scan(&one), what)
}

// ExternalIDs returns the external ids of the records of kind among uids that have one.
func (s *Store) ExternalIDs(ctx context.Context, kind storage.ExternalKind, uids []string) (map[string]string, error) {
	table, key, err := externalTable(kind)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), 200)]
		uids = uids[len(chunk):]
		args := make([]any, len(chunk))
		for i, uid := range chunk {
			args[i] = uid
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		pairs, err := queryAll(ctx, s, s.reader(), "external ids", scanPair,
			"SELECT "+key+", external_id FROM "+table+" WHERE "+key+" IN ("+marks+")", args...)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			ids[p[0]] = p[1]
		}
	}
	return ids, nil
}

func scanPair(sc scanner) ([2]string, error) {
	var p [2]string
	err := sc.Scan(&p[0], &p[1])
	return p, err
}

// notFoundOrNil is notFound, or nil for no error.
func notFoundOrNil(err error, what string) error {
	if err == nil {
		return nil
	}
	return notFound(err, what)
}
