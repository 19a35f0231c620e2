package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var (
	selectAudit     = selectFrom("audit_events", auditColumns)
	insertAuditStmt = insertInto("audit_events", auditColumns)
)

// AppendAudit inserts events in one transaction: all of them or, on error, none.
// ErrConflict when an event's id is taken or given twice. Events reference no other
// record, so that they outlive the users and keys they name.
func (s *Store) AppendAudit(ctx context.Context, events ...storage.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	// A duplicate within the batch would otherwise be reported without its id: the
	// conflict lookup runs outside the failed transaction and cannot see the first copy.
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if seen[e.ID] {
			return fmt.Errorf("append audit: event id %q given twice: %w", e.ID, storage.ErrConflict)
		}
		seen[e.ID] = true
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.d.Rebind(insertAuditStmt))
		if err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
		defer stmt.Close()
		for _, e := range events {
			_, err := stmt.ExecContext(ctx, e.ID, e.TenantUID, millis(e.At), e.ActorUID, e.ActorEmail,
				e.Action, e.TargetKind, e.TargetUID, e.SourceIP, e.Detail)
			if err != nil {
				return s.writeError(ctx, "append audit", err, "",
					uniqueRule{fmt.Sprintf("audit event id %q", e.ID), "SELECT 1 FROM audit_events WHERE id = ?", []any{e.ID}},
				)
			}
		}
		return nil
	})
}

// ListAudit returns one page of a tenant's events, newest first (ties by id, descending),
// and the cursor of the next, older page ("" when this is the last). Events appended
// while paging are newer than the first page and so never show up in later pages. A
// malformed cursor is ErrBadCursor.
func (s *Store) ListAudit(ctx context.Context, tenantUID string, p storage.Page) ([]storage.AuditEvent, string, error) {
	return listPage(ctx, s, "list audit events", selectAudit+" WHERE tenant_uid = ?", []any{tenantUID}, byAtDesc, p,
		scanAuditEvent, func(e storage.AuditEvent) position { return position{millis(e.At), e.ID} })
}
