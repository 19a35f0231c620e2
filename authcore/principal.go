package authcore

import (
	"slices"
	"time"

	"github.com/keygate/keygate/storage"
)

// Method is how a principal authenticated.
type Method string

// Authentication methods, as reported in X-Auth-Method.
const (
	MethodAPIKey Method = "apikey"
	MethodToken  Method = "token"
)

// Principal is who a request acts as. Principals handed out by the Authenticator are
// shared with the cache: treat them as read-only.
type Principal struct {
	UserUID   string
	Email     string
	TenantUID string
	// Role is tenant-admin when TenantRoles holds the built-in Tenant Admin role.
	Role storage.Role
	// TenantRoles are the user's effective tenant-scope roles (uids, sorted): their own
	// and their teams', as of when the credential was last checked against the store.
	TenantRoles []string
	Method      Method
	KeyUID      string    // the API key used, for MethodAPIKey
	SessionID   string    // the login session, for MethodToken
	ExpiresAt   time.Time // when the credential stops working
}

// EffectiveRole is the Role of a principal holding tenantRoles: the management policy's
// "tenant admin" is whoever holds Tenant Admin, directly or through a team.
func EffectiveRole(tenantRoles []string) storage.Role {
	if slices.Contains(tenantRoles, storage.RoleUIDTenantAdmin) {
		return storage.RoleTenantAdmin
	}
	return storage.RoleUser
}

// UserPrincipal is the principal of user u, authenticated by method.
func UserPrincipal(u storage.User, method Method) Principal {
	return Principal{
		UserUID: u.UID, Email: u.Email, TenantUID: u.TenantUID, Method: method,
		Role: EffectiveRole(u.TenantRoles), TenantRoles: u.TenantRoles,
	}
}

// IsTenantAdmin reports whether the principal administers its tenant.
func (p *Principal) IsTenantAdmin() bool { return p.Role == storage.RoleTenantAdmin }
