package authcore

import (
	"context"
	"strings"

	"github.com/keygate/keygate/storage"
)

// UserRequest creates or edits a user. On edit, empty fields stay as they are; Active,
// when set, enables or disables the user.
type UserRequest struct {
	Email     string
	FirstName string
	LastName  string
	Role      storage.Role
	Password  string
	Active    *bool
}

// CreateUser adds a user to the admin's tenant.
func (m *Manager) CreateUser(ctx context.Context, a Actor, r UserRequest) (storage.User, error) {
	if err := requireAdmin(a); err != nil {
		return storage.User{}, err
	}
	t, err := m.Store.TenantByUID(ctx, a.TenantUID)
	if err != nil {
		return storage.User{}, storeError(err, "tenant")
	}
	if err := checkOptionalName("spec.firstName", r.FirstName); err != nil {
		return storage.User{}, err
	}
	if err := checkOptionalName("spec.lastName", r.LastName); err != nil {
		return storage.User{}, err
	}
	u, err := m.admin().CreateUser(ctx, NewUser{TenantName: t.Name, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName, Role: r.Role, Password: r.Password})
	if err != nil {
		return u, err
	}
	return u, m.audit(ctx, a, "user.create", "user", u.UID, u.Email)
}

// visibleUser loads a user of the admin's tenant, or answers 404.
func (m *Manager) visibleUser(ctx context.Context, a Actor, uid string) (storage.User, error) {
	if err := requireAdmin(a); err != nil {
		return storage.User{}, err
	}
	u, err := m.Store.UserByUID(ctx, uid)
	if err != nil || u.TenantUID != a.TenantUID {
		return storage.User{}, notFoundOr(err, "user %s not found", uid)
	}
	return u, nil
}

// GetUser reads a user of the admin's tenant.
func (m *Manager) GetUser(ctx context.Context, a Actor, uid string) (storage.User, error) {
	return m.visibleUser(ctx, a, uid)
}

// Me reads the caller's own user, whatever their role.
func (m *Manager) Me(ctx context.Context, a Actor) (storage.User, error) {
	u, err := m.Store.UserByUID(ctx, a.UserUID)
	if err != nil {
		return storage.User{}, storeError(err, "user "+a.UserUID)
	}
	return u, nil
}

// ListUsers lists the admin's tenant's users.
func (m *Manager) ListUsers(ctx context.Context, a Actor, limit int, cursor string) ([]storage.User, string, error) {
	if err := requireAdmin(a); err != nil {
		return nil, "", err
	}
	p, err := page(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	users, next, err := m.Store.ListUsers(ctx, a.TenantUID, p)
	return users, next, listError(err)
}

// UpdateUser changes names, role or status. A demoted admin's keys and tokens lose admin
// rights, and a disabled user's stop working, on the next request.
func (m *Manager) UpdateUser(ctx context.Context, a Actor, uid string, r UserRequest) (storage.User, error) {
	u, err := m.visibleUser(ctx, a, uid)
	if err != nil {
		return u, err
	}
	if r.Email != "" && !strings.EqualFold(r.Email, u.Email) {
		return u, badRequest("a user's email cannot be changed")
	}
	if r.Password != "" {
		return u, badRequest("a password cannot be changed here")
	}
	if uid == a.UserUID && (r.Role == storage.RoleUser || (r.Active != nil && !*r.Active)) {
		return u, badRequest("tenant admins cannot demote or disable themselves")
	}
	first, last, role := pick(r.FirstName, u.FirstName), pick(r.LastName, u.LastName), u.Role
	if r.Role != "" {
		if !r.Role.Valid() {
			return u, badRequest("spec.role %q is not %s or %s", r.Role, storage.RoleTenantAdmin, storage.RoleUser)
		}
		role = r.Role
	}
	if err := checkOptionalName("spec.firstName", first); err != nil {
		return u, err
	}
	if err := checkOptionalName("spec.lastName", last); err != nil {
		return u, err
	}
	var changed []string
	if first != u.FirstName || last != u.LastName || role != u.Role {
		keys, err := userKeyRecords(ctx, m.Store, u)
		if err != nil {
			return u, err
		}
		if err := m.Store.UpdateUser(ctx, uid, first, last, role); err != nil {
			return u, storeError(err, "user "+uid)
		}
		if role != u.Role { // names are not part of any decision; a role is
			m.Auth.InvalidateUserAndKeys(uid, keys)
			changed = append(changed, "role "+string(role))
		}
		if first != u.FirstName || last != u.LastName {
			changed = append(changed, "names")
		}
		u.FirstName, u.LastName, u.Role = first, last, role
	}
	if r.Active != nil && *r.Active == u.Disabled {
		if err := m.admin().SetUserDisabled(ctx, u, !*r.Active); err != nil {
			return u, err
		}
		u.Disabled = !*r.Active
		changed = append(changed, map[bool]string{true: "disabled", false: "enabled"}[u.Disabled])
	}
	return u, m.audit(ctx, a, "user.update", "user", uid, u.Email+": "+strings.Join(changed, ", "))
}

// DeleteUser removes a user with their keys, sessions and memberships.
func (m *Manager) DeleteUser(ctx context.Context, a Actor, uid string) error {
	u, err := m.visibleUser(ctx, a, uid)
	if err != nil {
		return err
	}
	if uid == a.UserUID {
		return badRequest("tenant admins cannot delete themselves")
	}
	keys, err := userKeyRecords(ctx, m.Store, u)
	if err != nil {
		return err
	}
	if err := m.Store.DeleteUser(ctx, uid); err != nil {
		return storeError(err, "user "+uid)
	}
	m.Auth.InvalidateUserAndKeys(uid, keys)
	return m.audit(ctx, a, "user.delete", "user", uid, u.Email)
}

func pick(v, old string) string {
	if v == "" {
		return old
	}
	return v
}

func checkOptionalName(field, v string) error {
	if len([]rune(v)) > maxNameLen {
		return badRequest("%s must be at most %d characters", field, maxNameLen)
	}
	return nil
}
