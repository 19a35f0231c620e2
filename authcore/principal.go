package authcore

import (
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
	Role      storage.Role
	Method    Method
	KeyUID    string    // the API key used, for MethodAPIKey
	SessionID string    // the login session, for MethodToken
	ExpiresAt time.Time // when the credential stops working
}

// IsTenantAdmin reports whether the principal administers its tenant.
func (p *Principal) IsTenantAdmin() bool { return p.Role == storage.RoleTenantAdmin }
