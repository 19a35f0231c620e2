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

// CommitAudited runs change and appends the audit row it returns in one store
// transaction: a change is never applied without its record, nor recorded without being
// applied. change may read what it changes inside the transaction and describe what it
// found. When the row's action is an event (EventOf), the event's webhook deliveries are
// written in the same transaction (the outbox): a change is never lost to receivers, even
// if the process dies before delivering it. It is the one transaction shape of every
// audited change.
func CommitAudited(ctx context.Context, store storage.Store, change func(tx storage.Tx) (storage.AuditEvent, error)) (storage.AuditEvent, error) {
	return commitAudited(ctx, store, nil, change)
}

// CommitKeyEvent is CommitAudited for a change whose event describes key (the expiry
// reminders).
func CommitKeyEvent(ctx context.Context, store storage.Store, key EventKey, change func(tx storage.Tx) (storage.AuditEvent, error)) (storage.AuditEvent, error) {
	return commitAudited(ctx, store, &key, change)
}

func commitAudited(ctx context.Context, store storage.Store, key *EventKey, change func(tx storage.Tx) (storage.AuditEvent, error)) (storage.AuditEvent, error) {
	var event storage.AuditEvent
	err := store.Update(ctx, func(tx storage.Tx) error {
		var err error
		if event, err = change(tx); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, event); err != nil {
			return err
		}
		if ev, ok := EventOf(event, key); ok {
			return tx.EnqueueEvent(ctx, ev)
		}
		return nil
	})
	return event, err
}

// AuditEvent is the audit row of ev, done by a at at.
func AuditEvent(a Actor, ev Audit, at time.Time) storage.AuditEvent {
	uid, email := a.auditIdentity()
	return storage.AuditEvent{
		ID: NewUID(), TenantUID: a.TenantUID, At: at, ActorUID: uid, ActorEmail: email,
		Action: ev.Action, TargetKind: ev.Kind, TargetUID: ev.Target, SourceIP: a.IP, Detail: ev.Detail,
	}
}
