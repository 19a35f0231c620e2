package authcore

import (
	"context"
	"errors"
	"time"

	"github.com/keygate/keygate/storage"
)

// Manager carries out management requests (keys, users, projects, audit) for an
// authenticated caller, applying policy: tenant admins act on everything in their tenant,
// everyone else on their own keys only. Records of other tenants, and other users' keys
// for non-admins, answer 404 as if they did not exist, so uids cannot be probed. Every
// change is audited, and turns off what it affects in the local cache before returning.
type Manager struct {
	Store          storage.Store
	Auth           *Authenticator
	Now            func() time.Time // default time.Now
	MaxKeyLifetime time.Duration    // default DefaultMaxKeyLifetime
	MaxKeysPerUser int              // 0: no limit
	// OnAudit, when set, is told of every recorded event (for the operator's log).
	OnAudit func(storage.AuditEvent)
}

// Actor is who asks, and from where.
type Actor struct {
	*Principal
	IP string
}

// MaxPageSize bounds a listing page.
const MaxPageSize = 50

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

func (m *Manager) admin() *Admin {
	return &Admin{Store: m.Store, Auth: m.Auth, Now: m.Now, MaxKeyLifetime: m.MaxKeyLifetime, MaxKeysPerUser: m.MaxKeysPerUser}
}

// page checks a listing request.
func page(limit int, cursor string) (storage.Page, error) {
	if limit < 0 || limit > MaxPageSize {
		return storage.Page{}, badRequest("limit must be between 1 and %d", MaxPageSize)
	}
	if limit == 0 {
		limit = MaxPageSize
	}
	return storage.Page{Limit: limit, After: cursor}, nil
}

// listError maps a listing's store error; a cursor the store cannot read is a 400.
func listError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, storage.ErrBadCursor) {
		return badRequest("continue is not a cursor this listing returned")
	}
	return unavailable(err)
}

// requireAdmin refuses callers who are not tenant admins.
func requireAdmin(a Actor) error {
	if !a.IsTenantAdmin() {
		return forbidden("only tenant admins may do this")
	}
	return nil
}

// audit records an event; a failure to record is reported, since an unaudited change
// must not look like a clean success.
func (m *Manager) audit(ctx context.Context, a Actor, action, kind, target, detail string) error {
	ev := storage.AuditEvent{
		ID: NewUID(), TenantUID: a.TenantUID, At: m.now(), ActorUID: a.UserUID, ActorEmail: a.Email,
		Action: action, TargetKind: kind, TargetUID: target, SourceIP: a.IP, Detail: detail,
	}
	if err := m.Store.AppendAudit(ctx, ev); err != nil {
		return unavailable(err)
	}
	if m.OnAudit != nil {
		m.OnAudit(ev)
	}
	return nil
}
