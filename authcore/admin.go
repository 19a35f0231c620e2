package authcore

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/keygate/keygate/storage"
)

// Admin makes the changes operators ask for: tenants, users, projects and API keys. It
// validates input, keeps secrets out of the store, and invalidates the local cache (when
// it has one) before returning, so a revocation holds on the very next request.
type Admin struct {
	Store          storage.Store
	Auth           *Authenticator   // optional: the running gateway's cache
	Now            func() time.Time // default time.Now
	MaxKeyLifetime time.Duration    // default DefaultMaxKeyLifetime
	MaxKeysPerUser int              // 0: no limit
}

// DefaultMaxKeysPerUser is how many API keys a user may hold, as in Palette.
const DefaultMaxKeysPerUser = 20

func (ad *Admin) now() time.Time {
	if ad.Now != nil {
		return ad.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// CreateTenant creates a tenant with a unique name.
func (ad *Admin) CreateTenant(ctx context.Context, name string) (storage.Tenant, error) {
	if err := checkName("tenant name", name); err != nil {
		return storage.Tenant{}, err
	}
	t := storage.Tenant{UID: NewUID(), Name: name, CreatedAt: ad.now()}
	return t, storeError(ad.Store.CreateTenant(ctx, t), "tenant "+name)
}

// NewUser describes a user to create.
type NewUser struct {
	TenantName string
	Email      string
	FirstName  string
	LastName   string
	Role       storage.Role
	Password   string // empty: the user cannot log in with a password
}

// CreateUser creates a user in a tenant named by name.
func (ad *Admin) CreateUser(ctx context.Context, nu NewUser) (storage.User, error) {
	if err := checkEmail(nu.Email); err != nil {
		return storage.User{}, err
	}
	if !nu.Role.Valid() {
		return storage.User{}, badRequest("role %q is not %s or %s", nu.Role, storage.RoleTenantAdmin, storage.RoleUser)
	}
	t, err := ad.Store.TenantByName(ctx, nu.TenantName)
	if err != nil {
		return storage.User{}, storeError(err, "tenant "+nu.TenantName)
	}
	now := ad.now()
	u := storage.User{
		UID: NewUID(), TenantUID: t.UID, Email: strings.ToLower(nu.Email),
		FirstName: nu.FirstName, LastName: nu.LastName, Role: nu.Role,
		CreatedAt: now, UpdatedAt: now,
	}
	if nu.Password != "" {
		u.PasswordHash = HashPassword(nu.Password)
	}
	return u, storeError(ad.Store.CreateUser(ctx, u), "user "+u.Email+" in tenant "+t.Name)
}

// FindUser finds a user by email; tenantName may be empty when the email is in one
// tenant only.
func (ad *Admin) FindUser(ctx context.Context, email, tenantName string) (storage.User, error) {
	users, err := ad.Store.UsersByEmail(ctx, email)
	if err != nil {
		return storage.User{}, storeError(err, "user "+email)
	}
	var tenantUID string
	if tenantName != "" {
		t, err := ad.Store.TenantByName(ctx, tenantName)
		if err != nil {
			return storage.User{}, storeError(err, "tenant "+tenantName)
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
		return storage.User{}, notFound("user %s not found", email)
	case 1:
		return found[0], nil
	}
	return storage.User{}, badRequest("%s is a user in %d tenants; name the tenant", email, len(found))
}

// SetUserDisabled disables or re-enables a user; a disabled user's keys and tokens stop
// at once.
func (ad *Admin) SetUserDisabled(ctx context.Context, u storage.User, disabled bool) error {
	keys, err := userKeyRecords(ctx, ad.Store, u)
	if err != nil {
		return err
	}
	if err := ad.Store.SetUserDisabled(ctx, u.UID, disabled); err != nil {
		return storeError(err, "user "+u.Email)
	}
	ad.Auth.InvalidateUserAndKeys(u.UID, keys)
	return nil
}

// errKeyExpired refuses to revive an expired key.
func errKeyExpired(k storage.APIKey) *Error {
	return &Error{Status: http.StatusConflict, Code: "ApiKeyExpired", Message: "the key expired on " + k.ExpiresAt.Format(time.RFC3339) + "; an expired key cannot be re-activated or extended"}
}

// userKeyRecords lists every key of a user, so their cached decisions can be dropped.
func userKeyRecords(ctx context.Context, store storage.Store, u storage.User) ([]storage.APIKey, error) {
	var all []storage.APIKey
	p := storage.Page{Limit: MaxPageSize}
	for {
		keys, next, err := store.ListAPIKeys(ctx, storage.APIKeyFilter{TenantUID: u.TenantUID, UserUID: u.UID}, p)
		if err != nil {
			return nil, unavailable(err)
		}
		all = append(all, keys...)
		if next == "" {
			return all, nil
		}
		p.After = next
	}
}

// CreateProject creates a project in the tenant named tenantName.
func (ad *Admin) CreateProject(ctx context.Context, tenantName, name string) (storage.Project, error) {
	if err := checkName("project name", name); err != nil {
		return storage.Project{}, err
	}
	t, err := ad.Store.TenantByName(ctx, tenantName)
	if err != nil {
		return storage.Project{}, storeError(err, "tenant "+tenantName)
	}
	p := storage.Project{UID: NewUID(), TenantUID: t.UID, Name: name, CreatedAt: ad.now()}
	return p, storeError(ad.Store.CreateProject(ctx, p), "project "+name)
}

// AddProjectMember makes the user with email a member of the project.
func (ad *Admin) AddProjectMember(ctx context.Context, projectUID, email string) (storage.User, error) {
	p, err := ad.Store.ProjectByUID(ctx, projectUID)
	if err != nil {
		return storage.User{}, storeError(err, "project "+projectUID)
	}
	t, err := ad.Store.TenantByUID(ctx, p.TenantUID)
	if err != nil {
		return storage.User{}, storeError(err, "tenant of project "+projectUID)
	}
	u, err := ad.FindUser(ctx, email, t.Name)
	if err != nil {
		return storage.User{}, err
	}
	if err := ad.Store.AddProjectMember(ctx, p.UID, u.UID); err != nil {
		return u, storeError(err, "membership")
	}
	ad.Auth.InvalidateMembership(p.UID, u.UID)
	return u, nil
}

// NewAPIKey describes a key to create.
type NewAPIKey struct {
	User        storage.User
	Name        string
	Description string
	Expiry      string // a preset, date or time; see ParseExpiry
}

// CreatedAPIKey is a new key with its plaintext, which exists only here.
type CreatedAPIKey struct {
	Key    string
	Record storage.APIKey
}

// CreateAPIKey mints a key for a user. Only its digest is stored.
func (ad *Admin) CreateAPIKey(ctx context.Context, nk NewAPIKey) (CreatedAPIKey, error) {
	if err := checkName("key name", nk.Name); err != nil {
		return CreatedAPIKey{}, err
	}
	now := ad.now()
	maxLife := ad.MaxKeyLifetime
	if maxLife <= 0 {
		maxLife = DefaultMaxKeyLifetime
	}
	expires, err := ParseExpiry(nk.Expiry, now, maxLife)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	key, digest, hint := NewKey()
	rec := storage.APIKey{
		UID: NewUID(), TenantUID: nk.User.TenantUID, UserUID: nk.User.UID,
		Name: nk.Name, Description: nk.Description, Digest: digest[:], Hint: hint,
		ExpiresAt: expires, Active: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := ad.Store.CreateAPIKey(ctx, rec, ad.MaxKeysPerUser); err != nil {
		if errors.Is(err, storage.ErrLimitReached) {
			return CreatedAPIKey{}, keyLimitReached(nk.User, ad.MaxKeysPerUser)
		}
		return CreatedAPIKey{}, storeError(err, "api key")
	}
	return CreatedAPIKey{Key: key, Record: rec}, nil
}

// SetAPIKeyActive revokes or re-activates a key. Re-activation is refused once the key
// has expired.
func (ad *Admin) SetAPIKeyActive(ctx context.Context, uid string, active bool) (storage.APIKey, error) {
	k, err := ad.Store.APIKeyByUID(ctx, uid)
	if err != nil {
		return k, storeError(err, "api key "+uid)
	}
	if active && !k.ExpiresAt.After(ad.now()) {
		return k, errKeyExpired(k)
	}
	if err := ad.Store.SetAPIKeyActive(ctx, uid, active); err != nil {
		return k, storeError(err, "api key "+uid)
	}
	ad.Auth.InvalidateKeys(k)
	k.Active = active
	return k, nil
}
