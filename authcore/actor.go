package authcore

import "github.com/keygate/keygate/storage"

// Actor is who asks the Service for something, and from where: an authenticated
// principal, or the operator (the command line, the first start).
type Actor struct {
	*Principal
	IP string
	// operator is set for the operator, and osUser names its OS user ("" if unknown).
	operator bool
	osUser   string
	// idp names the identity provider acting (SCIM, an SSO sign-in's team sync); "" if none.
	idp string
	// system is set for Keygate's own scheduled work.
	system bool
}

// MethodOperator marks the principal of an operator actor.
const MethodOperator Method = "operator"

// OperatorIn is the operator acting in a tenant. Policy allows it everything a tenant
// admin may do there and more (it has no user of its own to protect); the audit log names
// it as the operator, with the OS user where known.
func OperatorIn(tenantUID, osUser string) Actor {
	return Actor{
		Principal: &Principal{
			TenantUID: tenantUID, Role: storage.RoleTenantAdmin, TenantRoles: []string{storage.RoleUIDTenantAdmin},
			Method: MethodOperator,
		},
		operator: true, osUser: osUser,
	}
}

// IdentityProviderIn is a tenant's identity provider acting in it: a SCIM push, or the
// team memberships an SSO sign-in sets from its groups claim. Policy allows it what a
// tenant admin may do to users and teams there; the audit log names it "idp:"+name.
func IdentityProviderIn(tenantUID, name string) Actor {
	return Actor{
		Principal: &Principal{
			TenantUID: tenantUID, Role: storage.RoleTenantAdmin, TenantRoles: []string{storage.RoleUIDTenantAdmin},
			Method: MethodIdentityProvider,
		},
		idp: name,
	}
}

// SystemIn is Keygate itself acting in a tenant, on a schedule (an expiry reminder); the
// audit log names it "system".
func SystemIn(tenantUID string) Actor {
	return Actor{Principal: &Principal{TenantUID: tenantUID, Method: MethodSystem}, idp: "", system: true}
}

// MethodSystem marks the principal of the system actor.
const MethodSystem Method = "system"

// MethodIdentityProvider marks the principal of an identity provider actor.
const MethodIdentityProvider Method = "idp"

// IsIdentityProvider reports whether the actor is a tenant's identity provider.
func (a Actor) IsIdentityProvider() bool { return a.idp != "" }

// In is the same actor acting in another tenant: the operator, in a tenant it creates.
func (a Actor) In(tenantUID string) Actor {
	p := *a.Principal
	p.TenantUID = tenantUID
	a.Principal = &p
	return a
}

// IsOperator reports whether the actor is the operator.
func (a Actor) IsOperator() bool { return a.operator }

// auditIdentity is how the audit log names the actor.
func (a Actor) auditIdentity() (uid, email string) {
	if a.idp != "" {
		return "idp", "idp:" + a.idp
	}
	if a.system {
		return "system", "system"
	}
	if !a.operator {
		return a.UserUID, a.Email
	}
	if a.osUser == "" {
		return "operator", "operator"
	}
	return "operator", "operator:" + a.osUser
}
