package authcore

import (
	"context"
	"time"

	"github.com/keygate/keygate/storage"
)

// Audit describes the audit row of a change.
type Audit struct {
	Action, Kind, Target, Detail string
}

// CommitAudited runs change and appends event in one store transaction: a change is
// never applied without its record, nor recorded without being applied. It is the one
// transaction shape of every audited change.
func CommitAudited(ctx context.Context, store storage.Store, event storage.AuditEvent, change func(tx storage.Tx) error) error {
	return store.Update(ctx, func(tx storage.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, event)
	})
}

// AuditEvent is the audit row of ev, done by a at at.
func AuditEvent(a Actor, ev Audit, at time.Time) storage.AuditEvent {
	uid, email := a.auditIdentity()
	return storage.AuditEvent{
		ID: NewUID(), TenantUID: a.TenantUID, At: at, ActorUID: uid, ActorEmail: email,
		Action: ev.Action, TargetKind: ev.Kind, TargetUID: ev.Target, SourceIP: a.IP, Detail: ev.Detail,
	}
}
