package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

// millis is how every time is stored: Unix milliseconds, with 0 for the zero time, which
// is portable across SQLite and PostgreSQL and keeps sorting and comparing trivial.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis, in UTC.
func fromMillis(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row of rows with scan, in order, and closes rows. It returns nil
// when there are no rows; the value scan returns with an error is dropped.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var items []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

// queryAll runs query on q and reads every row with scan (see collect); what names the
// query in its errors.
func queryAll[T any](ctx context.Context, s *Store, q querier, what string, scan func(scanner) (T, error),
	query string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, q, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	items, err := collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return items, nil
}

// scanValue reads a row of one column.
func scanValue[T any](sc scanner) (T, error) {
	var v T
	err := sc.Scan(&v)
	return v, err
}

// columns prefixes each name with alias (for joins) and joins them with commas.
func columns(alias string, names ...string) string {
	if alias == "" {
		return strings.Join(names, ", ")
	}
	return alias + "." + strings.Join(names, ", "+alias+".")
}

// selectFrom is a SELECT of the columns named, in order, from table.
func selectFrom(table string, names []string) string {
	return "SELECT " + columns("", names...) + " FROM " + table
}

// insertInto is an INSERT of one row into table: the columns named, a placeholder each.
func insertInto(table string, names []string) string {
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ")
	return "INSERT INTO " + table + " (" + columns("", names...) + ") VALUES (" + placeholders + ")"
}

var tenantColumns = []string{"uid", "name", "created_at"}

type tenantRow struct {
	t       storage.Tenant
	created int64
}

func (r *tenantRow) dest() []any { return []any{&r.t.UID, &r.t.Name, &r.created} }

func (r *tenantRow) tenant() storage.Tenant {
	r.t.CreatedAt = fromMillis(r.created)
	return r.t
}

var userColumns = []string{
	"uid", "tenant_uid", "email", "first_name", "last_name", "role", "disabled",
	"password_hash", "created_at", "updated_at",
}

type userRow struct {
	u                storage.User
	role             string
	created, updated int64
}

func (r *userRow) dest() []any {
	return []any{
		&r.u.UID, &r.u.TenantUID, &r.u.Email, &r.u.FirstName, &r.u.LastName, &r.role,
		&r.u.Disabled, &r.u.PasswordHash, &r.created, &r.updated,
	}
}

func (r *userRow) user() storage.User {
	r.u.Role = storage.Role(r.role)
	r.u.CreatedAt = fromMillis(r.created)
	r.u.UpdatedAt = fromMillis(r.updated)
	return r.u
}

func scanUser(sc scanner) (storage.User, error) {
	var r userRow
	err := sc.Scan(r.dest()...)
	return r.user(), err
}

var projectColumns = []string{"uid", "tenant_uid", "name", "created_at", "annotations"}

type projectRow struct {
	p           storage.Project
	created     int64
	annotations string
}

func (r *projectRow) dest() []any {
	return []any{&r.p.UID, &r.p.TenantUID, &r.p.Name, &r.created, &r.annotations}
}

func (r *projectRow) project() (storage.Project, error) {
	r.p.CreatedAt = fromMillis(r.created)
	var err error
	r.p.Annotations, err = decodeAnnotations(r.annotations)
	return r.p, err
}

func scanProject(sc scanner) (storage.Project, error) {
	var r projectRow
	if err := sc.Scan(r.dest()...); err != nil {
		return storage.Project{}, err
	}
	return r.project()
}

// encodeAnnotations and decodeAnnotations keep annotations as a JSON object; none is
// "{}" and reads back as nil.
func encodeAnnotations(a map[string]string) string {
	if len(a) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(a) // a map of strings always marshals
	return string(b)
}

func decodeAnnotations(s string) (map[string]string, error) {
	var a map[string]string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, fmt.Errorf("project annotations: %w", err)
	}
	if len(a) == 0 {
		return nil, nil
	}
	return a, nil
}

var apiKeyColumns = []string{
	"uid", "tenant_uid", "user_uid", "name", "description", "digest", "hint", "expires_at",
	"active", "created_at", "updated_at", "last_used_at", "tagged", "rolled_from", "rolled_to",
}

type apiKeyRow struct {
	k                                   storage.APIKey
	expires, created, updated, lastUsed int64
}

func (r *apiKeyRow) dest() []any {
	return []any{
		&r.k.UID, &r.k.TenantUID, &r.k.UserUID, &r.k.Name, &r.k.Description, &r.k.Digest,
		&r.k.Hint, &r.expires, &r.k.Active, &r.created, &r.updated, &r.lastUsed, &r.k.Tagged,
		&r.k.RolledFrom, &r.k.RolledTo,
	}
}

func (r *apiKeyRow) apiKey() storage.APIKey {
	r.k.ExpiresAt = fromMillis(r.expires)
	r.k.CreatedAt = fromMillis(r.created)
	r.k.UpdatedAt = fromMillis(r.updated)
	r.k.LastUsedAt = fromMillis(r.lastUsed)
	return r.k
}

func scanAPIKey(sc scanner) (storage.APIKey, error) {
	var r apiKeyRow
	err := sc.Scan(r.dest()...)
	return r.apiKey(), err
}

var signingKeyColumns = []string{"kid", "secret", "created_at"}

type signingKeyRow struct {
	k       storage.SigningKey
	created int64
}

func (r *signingKeyRow) dest() []any { return []any{&r.k.KID, &r.k.Secret, &r.created} }

func (r *signingKeyRow) signingKey() storage.SigningKey {
	r.k.CreatedAt = fromMillis(r.created)
	return r.k
}

func scanSigningKey(sc scanner) (storage.SigningKey, error) {
	var r signingKeyRow
	err := sc.Scan(r.dest()...)
	return r.signingKey(), err
}

var sessionColumns = []string{"id", "user_uid", "tenant_uid", "created_at", "revoked_at", "token_id"}

type sessionRow struct {
	s                storage.Session
	created, revoked int64
}

func (r *sessionRow) dest() []any {
	return []any{&r.s.ID, &r.s.UserUID, &r.s.TenantUID, &r.created, &r.revoked, &r.s.TokenID}
}

func (r *sessionRow) session() storage.Session {
	r.s.CreatedAt = fromMillis(r.created)
	r.s.RevokedAt = fromMillis(r.revoked)
	return r.s
}

var auditColumns = []string{
	"id", "tenant_uid", "at", "actor_uid", "actor_email", "action", "target_kind",
	"target_uid", "source_ip", "detail",
}

type auditRow struct {
	e  storage.AuditEvent
	at int64
}

func (r *auditRow) dest() []any {
	return []any{
		&r.e.ID, &r.e.TenantUID, &r.at, &r.e.ActorUID, &r.e.ActorEmail, &r.e.Action,
		&r.e.TargetKind, &r.e.TargetUID, &r.e.SourceIP, &r.e.Detail,
	}
}

func (r *auditRow) event() storage.AuditEvent {
	r.e.At = fromMillis(r.at)
	return r.e
}

func scanAuditEvent(sc scanner) (storage.AuditEvent, error) {
	var r auditRow
	err := sc.Scan(r.dest()...)
	return r.event(), err
}
