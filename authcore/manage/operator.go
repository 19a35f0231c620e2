package manage

import (
	"context"

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
	return o.Service.CreateProject(ctx, o.in(t.UID), name)
}

// AddProjectMember makes the user with email, in the project's tenant, a member of it.
func (o Operator) AddProjectMember(ctx context.Context, projectUID, email string) (storage.User, error) {
	p, err := o.Service.store.ProjectByUID(ctx, projectUID)
	if err != nil {
		return storage.User{}, authcore.StoreError(err, "project "+projectUID)
	}
	users, err := o.Service.store.UsersByEmail(ctx, email)
	if err != nil {
		return storage.User{}, authcore.Unavailable(err)
	}
	for _, u := range users {
		if u.TenantUID == p.TenantUID {
			return u, o.Service.SetMember(ctx, o.in(p.TenantUID), p.UID, u.UID, true)
		}
	}
	return storage.User{}, authcore.NotFound("user %s not found in the project's tenant", email)
}

// CreateAPIKey mints a key for a user. Only its digest is stored.
func (o Operator) CreateAPIKey(ctx context.Context, nk NewAPIKey) (CreatedAPIKey, error) {
	return o.Service.CreateKey(ctx, o.in(nk.User.TenantUID), KeyRequest{
		Name: nk.Name, Description: nk.Description, UserUID: nk.User.UID, Expiry: nk.Expiry,
	})
}

// SetAPIKeyActive revokes or re-activates a key, and returns it as it now is.
func (o Operator) SetAPIKeyActive(ctx context.Context, uid string, active bool) (storage.APIKey, error) {
	k, err := o.Service.store.APIKeyByUID(ctx, uid)
	if err != nil {
		return k, authcore.StoreError(err, "api key "+uid)
	}
	if err := o.Service.SetKeyActive(ctx, o.in(k.TenantUID), uid, active); err != nil {
		return k, err
	}
	k.Active = active
	return k, nil
}

// Bootstrap creates tenant "default" with its first admin on an empty store.
// The password is asked for only when the store needs it.
func (o Operator) Bootstrap(ctx context.Context, email string, password func() (string, error)) (bool, error) {
	return o.Service.Bootstrap(ctx, o.in(""), email, password)
}
