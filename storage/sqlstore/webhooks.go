package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

var (
	webhookColumns = []string{
		"uid", "tenant_uid", "url", "description", "event_types", "sealed_secret", "created_at", "updated_at",
	}
	deliveryColumns = []string{
		"uid", "endpoint_uid", "tenant_uid", "event_id", "event_type", "payload", "created_at", "status",
		"attempts", "next_attempt_at", "last_attempt_at", "last_status", "last_error",
	}
	selectWebhook  = selectFrom("webhook_endpoints", webhookColumns)
	selectDelivery = selectFrom("webhook_deliveries", deliveryColumns)
)

// eventTypesColumn is how an endpoint's types are kept: ",a,b," so that one LIKE matches a
// type on either database; "" for every type.
func eventTypesColumn(types []string) string {
	if len(types) == 0 {
		return ""
	}
	return "," + strings.Join(types, ",") + ","
}

func scanWebhook(sc scanner) (storage.WebhookEndpoint, error) {
	var w storage.WebhookEndpoint
	var types string
	var created, updated int64
	err := sc.Scan(&w.UID, &w.TenantUID, &w.URL, &w.Description, &types, &w.SealedSecret, &created, &updated)
	if t := strings.Trim(types, ","); t != "" {
		w.EventTypes = strings.Split(t, ",")
	}
	w.CreatedAt, w.UpdatedAt = fromMillis(created), fromMillis(updated)
	return w, err
}

func scanDelivery(sc scanner) (storage.WebhookDelivery, error) {
	var d storage.WebhookDelivery
	var created, next, last int64
	var status string
	err := sc.Scan(&d.UID, &d.EndpointUID, &d.TenantUID, &d.EventID, &d.EventType, &d.Payload, &created, &status,
		&d.Attempts, &next, &last, &d.LastStatus, &d.LastError)
	d.Status = storage.DeliveryStatus(status)
	d.CreatedAt, d.NextAttemptAt, d.LastAttemptAt = fromMillis(created), fromMillis(next), fromMillis(last)
	return d, err
}

// CreateWebhook adds an endpoint; ErrNotFound for an unknown tenant, ErrConflict for a
// uid taken.
func (s *Store) CreateWebhook(ctx context.Context, w storage.WebhookEndpoint) error {
	what := fmt.Sprintf("create webhook %q", w.UID)
	_, err := s.exec(ctx, s.writer(), insertInto("webhook_endpoints", webhookColumns), w.UID, w.TenantUID, w.URL,
		w.Description, eventTypesColumn(w.EventTypes), w.SealedSecret, millis(w.CreatedAt), millis(w.CreatedAt))
	if err != nil {
		return s.writeError(ctx, what, err, fmt.Sprintf("tenant %q", w.TenantUID),
			uniqueRule{fmt.Sprintf("webhook uid %q", w.UID), "SELECT 1 FROM webhook_endpoints WHERE uid = ?", []any{w.UID}})
	}
	return nil
}

// DeleteWebhook deletes an endpoint; its deliveries go with it.
func (s *Store) DeleteWebhook(ctx context.Context, uid string) error {
	what := fmt.Sprintf("delete webhook %q", uid)
	res, err := s.exec(ctx, s.writer(), "DELETE FROM webhook_endpoints WHERE uid = ?", uid)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return mustAffect(res, what)
}

// WebhookByUID returns one endpoint.
func (s *Store) WebhookByUID(ctx context.Context, uid string) (storage.WebhookEndpoint, error) {
	w, err := scanWebhook(s.queryRow(ctx, s.reader(), selectWebhook+" WHERE uid = ?", uid))
	return w, notFoundOrNil(err, fmt.Sprintf("webhook %q", uid))
}

// ListWebhooks returns a tenant's endpoints, oldest first.
func (s *Store) ListWebhooks(ctx context.Context, tenantUID string) ([]storage.WebhookEndpoint, error) {
	return queryAll(ctx, s, s.reader(), "list webhooks", scanWebhook,
		selectWebhook+" WHERE tenant_uid = ? ORDER BY created_at, uid", tenantUID)
}

// ListDeliveries returns an endpoint's newest deliveries first.
func (s *Store) ListDeliveries(ctx context.Context, endpointUID string, limit int) ([]storage.WebhookDelivery, error) {
	return queryAll(ctx, s, s.reader(), "list webhook deliveries", scanDelivery,
		selectDelivery+" WHERE endpoint_uid = ? ORDER BY created_at DESC, uid DESC LIMIT ?", endpointUID, limit)
}

// EnqueueEvent writes one pending delivery of ev per endpoint of its tenant taking its
// type, in one statement: the endpoints read are those of this transaction.
func (s *Store) EnqueueEvent(ctx context.Context, ev storage.Event) error {
	_, err := s.exec(ctx, s.writer(), `INSERT INTO webhook_deliveries
		(uid, endpoint_uid, tenant_uid, event_id, event_type, payload, created_at, status, next_attempt_at)
		SELECT ? || '.' || uid, uid, tenant_uid, ?, ?, ?, ?, 'pending', ? FROM webhook_endpoints
		WHERE tenant_uid = ? AND (event_types = '' OR event_types LIKE '%,' || ? || ',%')`,
		ev.ID, ev.ID, ev.Type, ev.Payload, millis(ev.At), millis(ev.At), ev.TenantUID, ev.Type)
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", ev.Type, err)
	}
	return nil
}

// ClaimDeliveries leases due deliveries. The conditions are repeated outside the
// subquery so that, on PostgreSQL, a node whose UPDATE waited on another's claim rechecks
// them on the claimed row and skips it.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int, skip ...string) ([]storage.WebhookDelivery, error) {
	n := millis(now)
	due, dueArgs := "status = 'pending' AND next_attempt_at <= ? AND lease_until <= ?", []any{n, n}
	if len(skip) > 0 {
		due += " AND endpoint_uid NOT IN (" + placeholders(len(skip)) + ")"
		for _, uid := range skip {
			dueArgs = append(dueArgs, uid)
		}
	}
	// Most polls find nothing due: ask the read pool first, so that an idle node's poll
	// is one indexed read and never a write (nor, on SQLite, a turn of the one writer).
	var one int
	switch err := s.queryRow(ctx, s.reader(), "SELECT 1 FROM webhook_deliveries WHERE "+due+" LIMIT 1", dueArgs...).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	args := append(append(append([]any{millis(leaseUntil)}, dueArgs...), dueArgs...), limit)
	out, err := queryAll(ctx, s, s.writer(), "claim webhook deliveries", scanDelivery,
		"UPDATE webhook_deliveries SET lease_until = ? WHERE "+due+" AND uid IN (SELECT uid FROM webhook_deliveries WHERE "+
			due+" ORDER BY next_attempt_at LIMIT ?) RETURNING "+columns("", deliveryColumns...), args...)
	sort.Slice(out, func(i, j int) bool { return out[i].NextAttemptAt.Before(out[j].NextAttemptAt) })
	return out, err
}

// FinishAttempt records an attempt and ends its lease.
func (s *Store) FinishAttempt(ctx context.Context, d storage.WebhookDelivery) error {
	_, err := s.exec(ctx, s.writer(), `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,
		last_attempt_at = ?, last_status = ?, last_error = ?, lease_until = 0 WHERE uid = ?`,
		string(d.Status), d.Attempts, millis(d.NextAttemptAt), millis(d.LastAttemptAt), d.LastStatus, d.LastError, d.UID)
	if err != nil {
		return fmt.Errorf("finish webhook delivery: %w", err)
	}
	return nil
}

// MarkReminded inserts the reminder's row unless it is there.
func (s *Store) MarkReminded(ctx context.Context, keyUID string, threshold time.Duration, at time.Time) (bool, error) {
	n, err := s.execCount(ctx, s.writer(), "mark key reminder",
		"INSERT INTO key_reminders (key_uid, threshold, sent_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		keyUID, int64(threshold/time.Second), millis(at))
	return n == 1, err
}

// KeysToRemind returns active keys expiring in (from, to] still owed threshold's reminder.
func (s *Store) KeysToRemind(ctx context.Context, threshold time.Duration, from, to time.Time, limit int) ([]storage.APIKey, error) {
	return queryAll(ctx, s, s.reader(), "api keys to remind", scanAPIKey,
		selectAPIKey+` WHERE active AND expires_at > ? AND expires_at <= ? AND expires_at - created_at > ?
		AND (rolled_to = '' OR ? = 0)
		AND NOT EXISTS (SELECT 1 FROM key_reminders r WHERE r.key_uid = api_keys.uid AND r.threshold = ?)
		ORDER BY expires_at, uid LIMIT ?`,
		millis(from), millis(to), threshold.Milliseconds(), threshold.Milliseconds(), int64(threshold/time.Second), limit)
}

// PruneDeliveries deletes finished deliveries made before before.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	return s.execCount(ctx, s.writer(), "prune webhook deliveries",
		"DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?", millis(before))
}
