package manage

import (
	"context"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Operator is the Service as the operator uses it from the command line, where tenants
// are named by name and users by email. It only translates those names to the uids the
// Service takes: every change goes through the Service with an operator actor, so it is
// checked and audited like any other.
type Operator struct {
	Service *Service
	OSUser  string // named in the audit log; "" if unknown
}

func (o Operator) in(tenantUID string) authcore.Actor {
	return authcore.OperatorIn(tenantUID, o.OSUser)
}

// NewUser describes a user to create in a tenant named by name.
type NewUser struct {
	TenantName string
	Email      string
	FirstName  string
	LastName   string
	Role       storage.Role
	Password   string // empty: the user cannot log in with a password
}

// NewAPIKey describes a key to create.
type NewAPIKey struct {
	User        storage.User
	Name        string
	Description string
	Expiry      string // a preset, date or time; see ParseExpiry
}

// CreateTenant creates a tenant.
func (o Operator) CreateTenant(ctx context.Context, name string) (storage.Tenant, error) {
	return o.Service.CreateTenant(ctx, o.in(""), name)
}

// CreateUser creates a user in the tenant nu names.
func (o Operator) CreateUser(ctx context.Context, nu NewUser) (storage.User, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), nu.TenantName)
	if err != nil {
		return storage.User{}, err
	}
	return o.Service.CreateUser(ctx, o.in(t.UID), UserRequest{
		Email: nu.Email, FirstName: nu.FirstName, LastName: nu.LastName, Role: nu.Role, Password: nu.Password,
	})
}

// FindUser finds a user by email; tenantName may be empty when the email is in one
// tenant only.
func (o Operator) FindUser(ctx context.Context, email, tenantName string) (storage.User, error) {
	return o.Service.FindUser(ctx, o.in(""), email, tenantName)
}

// SetUserDisabled disables or re-enables a user.
func (o Operator) SetUserDisabled(ctx context.Context, u storage.User, disabled bool) error {
	_, err := o.Service.SetUserDisabled(ctx, o.in(u.TenantUID), u.UID, disabled)
	return err
}

// CreateProject creates a project in the tenant named tenantName.
func (o Operator) CreateProject(ctx context.Context, tenantName, name string) (storage.Project, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return storage.Project{}, err
	}
	return o.Service.CreateProject(ctx, o.in(t.UID), ProjectRequest{Name: name})
}

// AddProjectMember makes the user with email, in the project's tenant, a member of it.
func (o Operator) AddProjectMember(ctx context.Context, projectUID, email string) (storage.User, error) {
	return o.setMember(ctx, projectUID, email, true)
}

// RemoveProjectMember ends the membership of the user with email in the project.
func (o Operator) RemoveProjectMember(ctx context.Context, projectUID, email string) (storage.User, error) {
	return o.setMember(ctx, projectUID, email, false)
}

func (o Operator) setMember(ctx context.Context, projectUID, email string, member bool) (storage.User, error) {
	tenantUID, err := o.projectTenant(ctx, projectUID)
	if err != nil {
		return storage.User{}, err
	}
	users, err := o.Service.store.UsersByEmail(ctx, email)
	if err != nil {
		return storage.User{}, authcore.Unavailable(err)
	}
	for _, u := range users {
		if u.TenantUID == tenantUID {
			return u, o.Service.SetMember(ctx, o.in(tenantUID), projectUID, u.UID, member)
		}
	}
	return storage.User{}, authcore.NotFound("user %s not found in the project's tenant", email)
}

// projectTenant is the uid of the project's tenant, in which the operator acts on it.
func (o Operator) projectTenant(ctx context.Context, projectUID string) (string, error) {
	p, err := o.Service.store.ProjectByUID(ctx, projectUID)
	if err != nil {
		return "", authcore.StoreError(err, "project "+projectUID)
	}
	return p.TenantUID, nil
}

// keyTenant is the uid of the key's tenant, in which the operator acts on it.
func (o Operator) keyTenant(ctx context.Context, uid string) (string, error) {
	k, err := o.Service.store.APIKeyByUID(ctx, uid)
	if err != nil {
		return "", authcore.StoreError(err, "api key "+uid)
	}
	return k.TenantUID, nil
}

// CreateAPIKey mints a key for a user. Only its digest is stored.
func (o Operator) CreateAPIKey(ctx context.Context, nk NewAPIKey) (CreatedAPIKey, error) {
	return o.Service.CreateKey(ctx, o.in(nk.User.TenantUID), KeyRequest{
		Name: nk.Name, Description: nk.Description, UserUID: nk.User.UID, Expiry: nk.Expiry,
	})
}

// RollAPIKey replaces a key with a new one (see Service.RollKey); overlap is how long the
// old key keeps working, "" for DefaultRollOverlap.
func (o Operator) RollAPIKey(ctx context.Context, uid, overlap string) (CreatedAPIKey, error) {
	tenantUID, err := o.keyTenant(ctx, uid)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	return o.Service.RollKey(ctx, o.in(tenantUID), uid, overlap)
}

// SetAPIKeyActive revokes or re-activates a key, and returns it as it now is.
func (o Operator) SetAPIKeyActive(ctx context.Context, uid string, active bool) (storage.APIKey, error) {
	tenantUID, err := o.keyTenant(ctx, uid)
	if err != nil {
		return storage.APIKey{}, err
	}
	if err := o.Service.SetKeyActive(ctx, o.in(tenantUID), uid, active); err != nil {
		return storage.APIKey{}, err
	}
	v, err := o.Service.GetKey(ctx, o.in(tenantUID), uid)
	return v.Key, err
}

// Bootstrap creates tenant "default" with its first admin on an empty store.
// The password is asked for only when the store needs it.
func (o Operator) Bootstrap(ctx context.Context, email string, password func() (string, error)) (bool, error) {
	return o.Service.Bootstrap(ctx, o.in(""), email, password)
}

// ListTenants lists every tenant, oldest first.
func (o Operator) ListTenants(ctx context.Context) ([]storage.Tenant, error) {
	return o.Service.ListTenants(ctx, o.in(""))
}

// ListUsers lists the users of the tenant named tenantName, or of every tenant when it is
// empty.
func (o Operator) ListUsers(ctx context.Context, tenantName string) ([]storage.User, error) {
	return perTenant(ctx, o, tenantName, func(a authcore.Actor, limit int, cursor string) ([]storage.User, string, error) {
		return o.Service.ListUsers(ctx, a, limit, cursor)
	})
}

// UpdateUser edits a user's names, role or status (see Service.UpdateUser) and returns
// the user as they now are.
func (o Operator) UpdateUser(ctx context.Context, u storage.User, r UserRequest) (storage.User, error) {
	return o.Service.UpdateUser(ctx, o.in(u.TenantUID), u.UID, r)
}

// ResetPassword gives u a new password (a random one when password is empty), returned
// once, and ends u's sessions.
func (o Operator) ResetPassword(ctx context.Context, u storage.User, password string) (string, error) {
	return o.Service.ResetPassword(ctx, o.in(u.TenantUID), u.UID, password)
}

// DeleteUser deletes a user with their keys, sessions and memberships.
func (o Operator) DeleteUser(ctx context.Context, u storage.User) error {
	return o.Service.DeleteUser(ctx, o.in(u.TenantUID), u.UID)
}

// ListProjects lists the projects of the tenant named tenantName.
func (o Operator) ListProjects(ctx context.Context, tenantName string) ([]storage.Project, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return nil, err
	}
	return everyPage(func(limit int, cursor string) ([]storage.Project, string, error) {
		return o.Service.ListProjects(ctx, o.in(t.UID), limit, cursor)
	}, nil)
}

// GetProject reads a project with its members.
func (o Operator) GetProject(ctx context.Context, uid string) (ProjectView, error) {
	tenantUID, err := o.projectTenant(ctx, uid)
	if err != nil {
		return ProjectView{}, err
	}
	return o.Service.GetProject(ctx, o.in(tenantUID), uid)
}

// DeleteProject deletes a project and its memberships.
func (o Operator) DeleteProject(ctx context.Context, uid string) error {
	tenantUID, err := o.projectTenant(ctx, uid)
	if err != nil {
		return err
	}
	return o.Service.DeleteProject(ctx, o.in(tenantUID), uid)
}

// ListAPIKeys lists the keys of the user with email (in the tenant named tenantName when
// the email is in several), else of the tenant named tenantName, else of every tenant.
func (o Operator) ListAPIKeys(ctx context.Context, email, tenantName string) ([]KeyView, error) {
	if email == "" {
		return perTenant(ctx, o, tenantName, func(a authcore.Actor, limit int, cursor string) ([]KeyView, string, error) {
			return o.Service.ListKeys(ctx, a, "", limit, cursor)
		})
	}
	u, err := o.FindUser(ctx, email, tenantName)
	if err != nil {
		return nil, err
	}
	return everyPage(func(limit int, cursor string) ([]KeyView, string, error) {
		return o.Service.ListKeys(ctx, o.in(u.TenantUID), u.UID, limit, cursor)
	}, nil)
}

// GetAPIKey reads a key with its owner.
func (o Operator) GetAPIKey(ctx context.Context, uid string) (KeyView, error) {
	tenantUID, err := o.keyTenant(ctx, uid)
	if err != nil {
		return KeyView{}, err
	}
	return o.Service.GetKey(ctx, o.in(tenantUID), uid)
}

// APIKeyEdit changes a key: an empty Name or Expiry, or a nil Description, keeps what
// the key has.
type APIKeyEdit struct {
	Name        string
	Description *string
	Expiry      string // a preset, date or time; see ParseExpiry
}

// EditAPIKey edits a key and returns it as it now is.
func (o Operator) EditAPIKey(ctx context.Context, uid string, e APIKeyEdit) (KeyView, error) {
	v, err := o.GetAPIKey(ctx, uid)
	if err != nil {
		return v, err
	}
	r := KeyRequest{Name: pick(e.Name, v.Key.Name), Description: v.Key.Description, Expiry: e.Expiry}
	if e.Description != nil {
		r.Description = *e.Description
	}
	a := o.in(v.Key.TenantUID)
	if err := o.Service.UpdateKey(ctx, a, uid, r); err != nil {
		return v, err
	}
	return o.Service.GetKey(ctx, a, uid)
}

// DeleteAPIKey deletes a key; it stops working on the next request.
func (o Operator) DeleteAPIKey(ctx context.Context, uid string) error {
	tenantUID, err := o.keyTenant(ctx, uid)
	if err != nil {
		return err
	}
	return o.Service.DeleteKey(ctx, o.in(tenantUID), uid)
}

// ListAudit lists the audit events of the tenant named tenantName, newest first: those
// at or after since (all when it is zero), at most limit of them (all when it is 0).
func (o Operator) ListAudit(ctx context.Context, tenantName string, since time.Time, limit int) ([]storage.AuditEvent, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return nil, err
	}
	n := 0
	return everyPage(func(pageSize int, cursor string) ([]storage.AuditEvent, string, error) {
		return o.Service.ListAudit(ctx, o.in(t.UID), pageSize, cursor)
	}, func(e storage.AuditEvent) bool {
		n++
		return !e.At.Before(since) && (limit == 0 || n <= limit)
	})
}

// perTenant collects a listing over the tenant named tenantName, or every tenant when it
// is empty, acting in each.
func perTenant[T any](ctx context.Context, o Operator, tenantName string, list func(a authcore.Actor, limit int, cursor string) ([]T, string, error)) ([]T, error) {
	var tenants []storage.Tenant
	if tenantName == "" {
		var err error
		if tenants, err = o.ListTenants(ctx); err != nil {
			return nil, err
		}
	} else {
		t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
		if err != nil {
			return nil, err
		}
		tenants = []storage.Tenant{t}
	}
	all := []T{}
	for _, t := range tenants {
		items, err := everyPage(func(limit int, cursor string) ([]T, string, error) {
			return list(o.in(t.UID), limit, cursor)
		}, nil)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	return all, nil
}

// everyPage collects a listing page by page, up to the first item keep refuses (keep
// nil: every item).
func everyPage[T any](list func(limit int, cursor string) ([]T, string, error), keep func(T) bool) ([]T, error) {
	all := []T{}
	cursor := ""
	for {
		items, next, err := list(MaxPageSize, cursor)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if keep != nil && !keep(it) {
				return all, nil
			}
			all = append(all, it)
		}
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

// TokenSettings reads how long the tokens of the tenant named tenantName live.
func (o Operator) TokenSettings(ctx context.Context, tenantName string) (TokenSettings, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return TokenSettings{}, err
	}
	return o.Service.TokenSettings(ctx, o.in(t.UID), t.UID)
}

// SetTokenTTL sets how long the tokens of the tenant named tenantName live.
func (o Operator) SetTokenTTL(ctx context.Context, tenantName string, ttl time.Duration) error {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return err
	}
	return o.Service.SetTokenTTL(ctx, o.in(t.UID), t.UID, ttl)
}
