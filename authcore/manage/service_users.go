package manage

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

// UserRequest creates or edits a user. On edit, empty fields stay as they are; Active,
// when set, enables or disables the user.
type UserRequest struct {
	Email     string
	FirstName string
	LastName  string
	Role      storage.Role
	Password  string // on create only; empty: the user gets an activation link instead
	Active    *bool
	// Roles are tenant roles held directly: on create in addition to Role (which may
	// then be empty); on edit they replace the user's when SetRoles is true.
	Roles    []string
	SetRoles bool
	// Teams are the teams a new user joins, in the create's transaction (create only).
	Teams []string
	// ExactNames takes an edit's names as given, empty clearing them (Palette's PUT),
	// rather than keeping a name left empty.
	ExactNames bool
	// SSO makes a user who signs in through the tenant's identity provider: created
	// without a password, they get no activation link (create only).
	SSO bool
	// ExternalID, when set, is the identity provider's id of the user (SCIM's
	// externalId), recorded in the change's transaction; "" forgets it.
	ExternalID *string
}

// errLastAdmin refuses a change that would leave a tenant without an enabled admin:
// nobody but the operator could then manage it.
var errLastAdmin = &authcore.Error{Status: http.StatusConflict, Code: "LastTenantAdmin",
	Message: "the tenant must keep at least one enabled tenant admin"}

// CreateUser adds a user to the actor's tenant.
func (s *Service) CreateUser(ctx context.Context, a authcore.Actor, r UserRequest) (storage.User, error) {
	if err := requireAdmin(a); err != nil {
		return storage.User{}, err
	}
	if err := authcore.CheckEmail(r.Email); err != nil {
		return storage.User{}, err
	}
	if r.Role == "" { // Palette's v1UserEntity names roles, not a role
		r.Role = storage.RoleUser
	}
	if !r.Role.Valid() {
		return storage.User{}, authcore.BadRequest("role %q is not %s or %s", r.Role, storage.RoleTenantAdmin, storage.RoleUser)
	}
	if err := checkNames(r.FirstName, r.LastName); err != nil {
		return storage.User{}, err
	}
	if err := s.checkRoles(ctx, a, storage.ScopeTenant, "spec.roles", r.Roles); err != nil {
		return storage.User{}, err
	}
	if err := checkExternalID(r.ExternalID); err != nil {
		return storage.User{}, err
	}
	now := s.clock()
	u := storage.User{
		UID: authcore.NewUID(), TenantUID: a.TenantUID, Email: strings.ToLower(r.Email),
		FirstName: r.FirstName, LastName: r.LastName, Role: r.Role, CreatedAt: now, UpdatedAt: now,
		Roles: storage.SortedSet(r.Roles),
	}
	if slices.Contains(u.Roles, storage.RoleUIDTenantAdmin) {
		u.Role = storage.RoleTenantAdmin
	}
	if r.Active != nil { // an identity provider may create a user it has deactivated
		u.Disabled = !*r.Active
	}
	if r.Password != "" {
		u.PasswordHash = protect.HashPassword(r.Password)
	}
	err := s.commit(ctx, a, "user "+u.Email, authcore.Audit{Action: "user.create", Kind: "user", Target: u.UID, Detail: u.Email}, func(tx storage.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := joinTeams(ctx, tx, a, u.UID, r.Teams); err != nil {
			return err
		}
		if err := setExternalID(ctx, tx, storage.ExternalUser, u.UID, r.ExternalID); err != nil {
			return err
		}
		if r.SSO {
			return nil
		}
		return s.activateLater(ctx, tx, u)
	})
	return u, err
}

// joinTeams adds the user to each team of the actor's tenant, inside tx; a team of
// another tenant, or none, is 404.
func joinTeams(ctx context.Context, tx storage.Tx, a authcore.Actor, userUID string, teams []string) error {
	for _, uid := range storage.SortedSet(teams) {
		t, err := tx.TeamByUID(ctx, uid)
		if err != nil || t.TenantUID != a.TenantUID {
			return notFoundOr(err, "team %s not found", uid)
		}
		t.Users = storage.SortedSet(append(t.Users, userUID))
		if err := tx.UpdateTeam(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// activateLater gives a user created without a password an activation link, with which
// they choose one (Palette mails it; Keygate shows it to the tenant admins). Without a
// link key (the command line) the user gets none.
func (s *Service) activateLater(ctx context.Context, tx storage.Tx, u storage.User) error {
	if u.PasswordHash != "" || s.linkKey == nil {
		return nil
	}
	pt, err := s.newPasswordToken(u)
	if err != nil {
		return err
	}
	return tx.CreatePasswordToken(ctx, pt)
}

// visibleUser loads a user of the admin's tenant, or answers 404.
func (s *Service) visibleUser(ctx context.Context, a authcore.Actor, uid string) (storage.User, error) {
	if err := requireAdmin(a); err != nil {
		return storage.User{}, err
	}
	u, err := s.store.UserByUID(ctx, uid)
	if err != nil || u.TenantUID != a.TenantUID {
		return storage.User{}, notFoundOr(err, "user %s not found", uid)
	}
	return u, nil
}

// GetUser reads a user of the admin's tenant, or the caller themselves.
func (s *Service) GetUser(ctx context.Context, a authcore.Actor, uid string) (storage.User, error) {
	return s.selfOrVisibleUser(ctx, a, uid)
}

// selfOrVisibleUser is the caller's own user, whatever their role, or else visibleUser.
func (s *Service) selfOrVisibleUser(ctx context.Context, a authcore.Actor, uid string) (storage.User, error) {
	if uid != "" && uid == a.UserUID {
		u, err := s.store.UserByUID(ctx, uid)
		if err != nil {
			return u, notFoundOr(err, "user %s not found", uid)
		}
		return u, nil
	}
	return s.visibleUser(ctx, a, uid)
}

// Me reads the caller's own user, whatever their role.
func (s *Service) Me(ctx context.Context, a authcore.Actor) (storage.User, error) {
	u, err := s.store.UserByUID(ctx, a.UserUID)
	if err != nil {
		return storage.User{}, authcore.StoreError(err, "user "+a.UserUID)
	}
	return u, nil
}

// ListUsers lists the admin's tenant's users.
func (s *Service) ListUsers(ctx context.Context, a authcore.Actor, limit int, cursor string) ([]storage.User, string, error) {
	return adminListing(a, limit, cursor, func(p storage.Page) ([]storage.User, string, error) {
		return s.store.ListUsers(ctx, a.TenantUID, p)
	})
}

// UpdateUser changes names, role or status, in one transaction that reads the user
// locked, so that an edit cannot undo a concurrent one. A demoted admin's keys and tokens
// lose admin rights, and a disabled user's stop working, on the next request; a change
// that would leave the tenant without an enabled admin is refused.
func (s *Service) UpdateUser(ctx context.Context, a authcore.Actor, uid string, r UserRequest) (storage.User, error) {
	u, err := s.selfOrVisibleUser(ctx, a, uid)
	if err != nil {
		return u, err
	}
	if _, err := checkEdit(a, u, r); err != nil { // bad input answers before any write
		return u, err
	}
	if r.SetRoles {
		if err := s.checkRoles(ctx, a, storage.ScopeTenant, "spec.roles", r.Roles); err != nil {
			return u, err
		}
	}
	keys, err := userKeyRecords(ctx, s.store, u)
	if err != nil {
		return u, err
	}
	externalChange, err := s.externalIDChange(ctx, a, uid, r.ExternalID)
	if err != nil {
		return u, err
	}
	var before, after storage.User
	err = s.commitFound(ctx, a, "user "+uid, func(tx storage.Tx) (authcore.Audit, error) {
		if before, err = lockVisibleUser(ctx, tx, a, uid); err != nil {
			return authcore.Audit{}, err
		}
		if after, err = checkEdit(a, before, r); err != nil {
			return authcore.Audit{}, err
		}
		changed := userChanges(before, after)
		if externalChange {
			changed = append(changed, "externalId")
			if err := setExternalID(ctx, tx, storage.ExternalUser, uid, r.ExternalID); err != nil {
				return authcore.Audit{}, err
			}
		}
		if len(changed) == 0 {
			return authcore.Audit{}, errNoChange
		}
		if err := applyUserEdit(ctx, tx, before, after); err != nil {
			return authcore.Audit{}, err
		}
		detail := before.Email + ": " + strings.Join(changed, ", ")
		ev := authcore.Audit{Action: "user.update", Kind: "user", Target: uid, Detail: detail}
		if !slices.Equal(before.Roles, after.Roles) { // any role may carry Tenant Admin's rights, and teams too
			return ev, keepsSomeAdmin(ctx, tx, before.TenantUID)
		}
		return ev, keepsAnAdmin(ctx, tx, before, after)
	})
	switch {
	case err == errNoChange:
		return before, nil
	case err != nil:
		return u, err
	}
	if after.Role != before.Role || after.Disabled != before.Disabled || !slices.Equal(before.Roles, after.Roles) { // names are part of no decision
		s.caches.InvalidateUserAndKeys(uid, keys)
	}
	return after, nil
}

// externalIDChange reports whether the edit sets another external id than the user's.
func (s *Service) externalIDChange(ctx context.Context, a authcore.Actor, uid string, id *string) (bool, error) {
	if id == nil {
		return false, nil
	}
	if err := checkExternalID(id); err != nil {
		return false, err
	}
	ids, err := s.ExternalIDs(ctx, a, storage.ExternalUser, []string{uid})
	return err == nil && ids[uid] != *id, err
}

// errNoChange rolls back an edit that changes nothing, so that it leaves no audit row.
var errNoChange = &authcore.Error{Code: "NoChange"}

// lockVisibleUser reads a user of the actor's tenant inside tx, locked; else 404.
func lockVisibleUser(ctx context.Context, tx storage.Tx, a authcore.Actor, uid string) (storage.User, error) {
	u, err := tx.LockedUser(ctx, uid)
	if err == nil && u.TenantUID != a.TenantUID {
		err = storage.ErrNotFound
	}
	return u, err
}

// checkEdit is u with r's edits applied, checked, and allowed to the actor: tenant admins
// cannot demote or disable themselves, and other users may change only their own names.
func checkEdit(a authcore.Actor, u storage.User, r UserRequest) (storage.User, error) {
	next, err := editedUser(u, r)
	switch {
	case err != nil || u.UID != a.UserUID:
	case !a.IsTenantAdmin() && (next.Role != u.Role || next.Disabled != u.Disabled || !slices.Equal(next.Roles, u.Roles)):
		err = authcore.Forbidden("users may change only their own names")
	case a.IsTenantAdmin() && (next.Role != storage.RoleTenantAdmin || next.Disabled):
		err = authcore.BadRequest("tenant admins cannot demote or disable themselves")
	}
	return next, err
}

// editedUser is u with r's edits applied and checked.
func editedUser(u storage.User, r UserRequest) (storage.User, error) {
	if r.Email != "" && !strings.EqualFold(r.Email, u.Email) {
		return u, authcore.BadRequest("a user's email cannot be changed")
	}
	if r.Password != "" {
		return u, authcore.BadRequest("a password cannot be changed here")
	}
	if r.Role != "" && !r.Role.Valid() {
		return u, authcore.BadRequest("spec.role %q is not %s or %s", r.Role, storage.RoleTenantAdmin, storage.RoleUser)
	}
	next := u
	next.FirstName, next.LastName = pick(r.FirstName, u.FirstName), pick(r.LastName, u.LastName)
	if r.ExactNames {
		next.FirstName, next.LastName = r.FirstName, r.LastName
	}
	if r.Role != "" {
		next.Role = r.Role
	}
	if r.SetRoles {
		next.Roles = storage.SortedSet(r.Roles)
		next.Role = storage.LegacyRole(next.Roles)
	}
	if r.Active != nil {
		next.Disabled = !*r.Active
	}
	return next, checkNames(next.FirstName, next.LastName)
}

// userChanges names what an edit changes, for the audit row.
func userChanges(u, next storage.User) []string {
	var changed []string
	if next.Role != u.Role {
		changed = append(changed, "role "+string(next.Role))
	}
	if !slices.Equal(next.Roles, u.Roles) {
		changed = append(changed, "roles "+strings.Join(next.Roles, ","))
	}
	if next.FirstName != u.FirstName || next.LastName != u.LastName {
		changed = append(changed, "names")
	}
	if next.Disabled != u.Disabled {
		changed = append(changed, map[bool]string{true: "disabled", false: "enabled"}[next.Disabled])
	}
	return changed
}

func applyUserEdit(ctx context.Context, tx storage.Tx, u, next storage.User) error {
	if next.FirstName != u.FirstName || next.LastName != u.LastName || next.Role != u.Role {
		if err := tx.UpdateUser(ctx, u.UID, next.FirstName, next.LastName, next.Role); err != nil {
			return err
		}
	}
	if !slices.Equal(next.Roles, u.Roles) { // after UpdateUser, which sets the Tenant Admin grant alone
		if err := tx.SetUserRoles(ctx, u.UID, next.Roles); err != nil {
			return err
		}
	}
	if next.Disabled != u.Disabled {
		return tx.SetUserDisabled(ctx, u.UID, next.Disabled)
	}
	return nil
}

// keepsAnAdmin refuses, inside the transaction that made it, a change that took an
// enabled admin away and left the tenant none.
func keepsAnAdmin(ctx context.Context, tx storage.Tx, before, after storage.User) error {
	wasAdmin := before.Role == storage.RoleTenantAdmin && !before.Disabled
	isAdmin := after.Role == storage.RoleTenantAdmin && !after.Disabled
	if !wasAdmin || isAdmin {
		return nil
	}
	n, err := tx.ActiveTenantAdmins(ctx, before.TenantUID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errLastAdmin
	}
	return nil
}

// ResetPassword gives a user of the admin's tenant a new password and ends every session
// made with the old one, in one transaction with its audit row. An empty password is
// replaced by a random one; the password is returned to be handed over once, and only
// its hash is kept. (It is hashed before the transaction: hashing takes tens of
// milliseconds, which SQLite's one writer should not wait for.)
func (s *Service) ResetPassword(ctx context.Context, a authcore.Actor, uid, password string) (string, error) {
	if err := requireAdmin(a); err != nil {
		return "", err
	}
	if password == "" {
		password = authcore.RandomPassword()
	}
	hash := protect.HashPassword(password)
	err := s.commitFound(ctx, a, "user "+uid, func(tx storage.Tx) (authcore.Audit, error) {
		u, err := lockVisibleUser(ctx, tx, a, uid)
		if err != nil {
			return authcore.Audit{}, err
		}
		ev := authcore.Audit{Action: "user.password_reset", Kind: "user", Target: u.UID, Detail: u.Email}
		return ev, tx.SetUserPassword(ctx, u.UID, hash, s.clock())
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// SetUserDisabled disables or re-enables a user; a disabled user's keys and tokens stop
// at once.
func (s *Service) SetUserDisabled(ctx context.Context, a authcore.Actor, uid string, disabled bool) (storage.User, error) {
	active := !disabled
	return s.UpdateUser(ctx, a, uid, UserRequest{Active: &active})
}

// DeleteUser removes a user with their keys, sessions and memberships, unless they are
// the tenant's last enabled admin.
func (s *Service) DeleteUser(ctx context.Context, a authcore.Actor, uid string) error {
	u, err := s.visibleUser(ctx, a, uid)
	if err != nil {
		return err
	}
	if uid == a.UserUID {
		return authcore.BadRequest("tenant admins cannot delete themselves")
	}
	keys, err := userKeyRecords(ctx, s.store, u)
	if err != nil {
		return err
	}
	err = s.commitFound(ctx, a, "user "+uid, func(tx storage.Tx) (authcore.Audit, error) {
		before, err := lockVisibleUser(ctx, tx, a, uid)
		if err != nil {
			return authcore.Audit{}, err
		}
		if err := tx.DeleteUser(ctx, uid); err != nil {
			return authcore.Audit{}, err
		}
		gone := before
		gone.Disabled = true
		return authcore.Audit{Action: "user.delete", Kind: "user", Target: uid, Detail: before.Email}, keepsAnAdmin(ctx, tx, before, gone)
	})
	if err == nil {
		s.caches.InvalidateUserAndKeys(uid, keys)
	}
	return err
}

// FindUser finds a user by email, for the operator: in the tenant named tenantName, or
// in any tenant when it is empty and the email is in one tenant only.
func (s *Service) FindUser(ctx context.Context, a authcore.Actor, email, tenantName string) (storage.User, error) {
	if err := requireOperator(a); err != nil {
		return storage.User{}, err
	}
	users, err := s.store.UsersByEmail(ctx, email)
	if err != nil {
		return storage.User{}, authcore.StoreError(err, "user "+email)
	}
	var tenantUID string
	if tenantName != "" {
		t, err := s.store.TenantByName(ctx, tenantName)
		if err != nil {
			return storage.User{}, authcore.StoreError(err, "tenant "+tenantName)
		}
		tenantUID = t.UID
	}
	var found []storage.User
	for _, u := range users {
		if tenantUID == "" || u.TenantUID == tenantUID {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return storage.User{}, authcore.NotFound("user %s not found", email)
	case 1:
		return found[0], nil
	}
	return storage.User{}, authcore.BadRequest("%s is a user in %d tenants; name the tenant", email, len(found))
}

// userKeyRecords lists every key of a user, so their cached decisions can be dropped.
func userKeyRecords(ctx context.Context, store storage.Store, u storage.User) ([]storage.APIKey, error) {
	var all []storage.APIKey
	p := storage.Page{Limit: MaxPageSize}
	for {
		keys, next, err := store.ListAPIKeys(ctx, storage.APIKeyFilter{TenantUID: u.TenantUID, UserUID: u.UID}, p)
		if err != nil {
			return nil, authcore.Unavailable(err)
		}
		all = append(all, keys...)
		if next == "" {
			return all, nil
		}
		p.After = next
	}
}

func pick(v, old string) string {
	if v == "" {
		return old
	}
	return v
}

func checkNames(first, last string) error {
	if err := checkOptionalName("spec.firstName", first); err != nil {
		return err
	}
	return checkOptionalName("spec.lastName", last)
}

func checkOptionalName(field, v string) error {
	if len([]rune(v)) > authcore.MaxNameLen {
		return authcore.BadRequest("%s must be at most %d characters", field, authcore.MaxNameLen)
	}
	return nil
}
