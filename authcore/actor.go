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
	if !a.operator {
		return a.UserUID, a.Email
	}
	if a.osUser == "" {
		return "operator", "operator"
	}
	return "operator", "operator:" + a.osUser
}
