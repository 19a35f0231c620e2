package manage

import (
	"context"
	"slices"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// ListRoles lists the roles of the actor's tenant: the built-in ones, then its custom
// ones, oldest first. Every user may read them (Palette's clients look role names up).
func (s *Service) ListRoles(ctx context.Context, a authcore.Actor) ([]storage.RoleDef, error) {
	custom, err := s.store.ListRoles(ctx, a.TenantUID)
	if err != nil {
		return nil, authcore.Unavailable(err)
	}
	return append(append([]storage.RoleDef(nil), storage.BuiltinRoles...), custom...), nil
}

// RoleRequest is a custom role to create.
type RoleRequest struct {
	Name        string
	Scope       storage.RoleScope
	Permissions []string
}

// CreateRole adds a custom role, made of permission strings, to the admin's tenant.
func (s *Service) CreateRole(ctx context.Context, a authcore.Actor, r RoleRequest) (storage.RoleDef, error) {
	if err := requireAdmin(a); err != nil {
		return storage.RoleDef{}, err
	}
	if err := authcore.CheckName("metadata.name", r.Name); err != nil {
		return storage.RoleDef{}, err
	}
	if r.Scope != storage.ScopeTenant && r.Scope != storage.ScopeProject {
		return storage.RoleDef{}, authcore.BadRequest("spec.scope %q is not tenant or project", r.Scope)
	}
	if len(r.Permissions) == 0 {
		return storage.RoleDef{}, authcore.BadRequest("spec.permissions must name at least one permission")
	}
	for _, p := range r.Permissions {
		if err := authcore.CheckPermission(p); err != nil {
			return storage.RoleDef{}, err
		}
	}
	for _, b := range storage.BuiltinRoles {
		if strings.EqualFold(b.Name, r.Name) {
			return storage.RoleDef{}, authcore.Conflict("role %q is built in", b.Name)
		}
	}
	now := s.clock()
	role := storage.RoleDef{
		UID: authcore.NewUID(), TenantUID: a.TenantUID, Name: r.Name, Scope: r.Scope,
		Permissions: storage.SortedSet(r.Permissions), CreatedAt: now, UpdatedAt: now,
	}
	err := s.commit(ctx, a, "role "+r.Name, authcore.Audit{Action: "role.create", Kind: "role", Target: role.UID, Detail: r.Name}, func(tx storage.Tx) error {
		return tx.CreateRole(ctx, role)
	})
	if err == nil {
		s.caches.InvalidateRoles(a.TenantUID)
	}
	return role, err
}

// SetUserRoles replaces the tenant roles a user of the admin's tenant holds directly.
// The change holds on the user's very next request: their cached record and keys are
// dropped here, and on other nodes through the change feed.
func (s *Service) SetUserRoles(ctx context.Context, a authcore.Actor, uid string, roles []string) (storage.User, error) {
	u, err := s.visibleUser(ctx, a, uid)
	if err != nil {
		return u, err
	}
	keys, err := userKeyRecords(ctx, s.store, u)
	if err != nil {
		return u, err
	}
	roles = storage.SortedSet(roles)
	err = s.commitFound(ctx, a, "user "+uid, func(tx storage.Tx) (authcore.Audit, error) {
		if _, err := lockVisibleUser(ctx, tx, a, uid); err != nil {
			return authcore.Audit{}, err
		}
		if err := tx.SetUserRoles(ctx, uid, roles); err != nil {
			return authcore.Audit{}, err
		}
		ev := authcore.Audit{Action: "user.roles", Kind: "user", Target: uid, Detail: u.Email + ": " + strings.Join(roles, ",")}
		return ev, keepsSomeAdmin(ctx, tx, u.TenantUID)
	})
	if err != nil {
		return u, err
	}
	s.caches.InvalidateUserAndKeys(uid, keys)
	return s.store.UserByUID(ctx, uid)
}

// keepsSomeAdmin refuses, inside the transaction that made it, a change after which the
// tenant has no enabled user holding Tenant Admin (directly or through a team).
func keepsSomeAdmin(ctx context.Context, tx storage.Tx, tenantUID string) error {
	n, err := tx.ActiveTenantAdmins(ctx, tenantUID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errLastAdmin
	}
	return nil
}

// checkRoles accepts role uids that name roles of scope in the actor's tenant, before
// any write: an unknown role is 404 and a role of the other scope 400, each naming field.
func (s *Service) checkRoles(ctx context.Context, a authcore.Actor, scope storage.RoleScope, field string, uids []string) error {
	if len(uids) == 0 {
		return nil
	}
	roles, err := s.ListRoles(ctx, a)
	if err != nil {
		return err
	}
	for _, uid := range uids {
		i := slices.IndexFunc(roles, func(r storage.RoleDef) bool { return r.UID == uid })
		switch {
		case i < 0:
			return authcore.NotFound("%s: role %s not found", field, uid)
		case roles[i].Scope != scope:
			return authcore.BadRequest("%s: %s (%s) is a %s role; a %s role is needed here", field, roles[i].Name, uid, roles[i].Scope, scope)
		}
	}
	return nil
}
