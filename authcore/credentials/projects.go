package credentials

import (
	"context"
	"errors"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// AuthorizeProject checks that p may act in the project named by a ProjectUid header:
// the project must be in p's tenant and p hold a project role there (directly or through
// a team) or be a tenant admin. Unknown projects and other tenants' projects are refused
// alike, so uids cannot be probed.
func (v *Verifier) AuthorizeProject(ctx context.Context, p *authcore.Principal, projectUID string) error {
	_, err := v.ProjectRoles(ctx, p, projectUID)
	return err
}

// ProjectRoles is AuthorizeProject, also returning p's effective project roles there
// (uids, sorted; none for a tenant admin without a grant). The slice is shared with the
// cache: do not modify it.
func (v *Verifier) ProjectRoles(ctx context.Context, p *authcore.Principal, projectUID string) ([]string, error) {
	if !authcore.PlausibleUID(projectUID) {
		return nil, authcore.ErrProjectForbidden
	}
	slot := accessSlot(projectUID, p.UserUID)
	now := v.now().UnixNano()
	e, ok := v.access.get(slot, now)
	if !ok || e.projectUID != projectUID || e.userUID != p.UserUID {
		var err error
		if e, err = v.loadAccess(ctx, projectUID, p.UserUID, slot, now); err != nil {
			return nil, err
		}
	}
	if !e.found || e.access.TenantUID != p.TenantUID {
		return nil, authcore.ErrProjectForbidden
	}
	if e.access.Member || p.IsTenantAdmin() {
		return e.access.Roles, nil
	}
	return nil, authcore.ErrProjectForbidden
}

func (v *Verifier) loadAccess(ctx context.Context, projectUID, userUID string, slot uint64, now int64) (*accessEntry, error) {
	return v.access.load(ctx, slot, storage.MembershipRef(projectUID, userUID), now, func(e *accessEntry) bool { return e.projectUID == projectUID && e.userUID == userUID }, func(ctx context.Context) (*accessEntry, time.Duration, error) {
		var access storage.ProjectAccess
		err := v.timed("project_access", func() (err error) {
			access, err = v.store.ProjectAccess(ctx, projectUID, userUID)
			return err
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, 0, authcore.Unavailable(err)
		}
		e := &accessEntry{projectUID: projectUID, userUID: userUID, found: err == nil, access: access}
		if !e.found || !e.access.Member {
			return e, v.negativeTTL, nil
		}
		return e, v.cacheTTL, nil
	})
}
