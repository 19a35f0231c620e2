package authcore

import "github.com/keygate/keygate/storage"

// Actor is who asks the Service for something, and from where: an authenticated
// principal, or the operator (the command line, the first start).
type Actor struct {
	*Principal
	IP string
	// Operator is the operator's OS user ("" if unknown) when the actor is the operator.
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
		Principal: &Principal{TenantUID: tenantUID, Role: storage.RoleTenantAdmin, Method: MethodOperator},
		operator:  true, osUser: osUser,
	}
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

// requireAdmin refuses actors who are not tenant admins (or the operator).
func requireAdmin(a Actor) error {
	if !a.IsTenantAdmin() {
		return Forbidden("only tenant admins may do this")
	}
	return nil
}

// requireOperator refuses everyone but the operator.
func requireOperator(a Actor) error {
	if !a.operator {
		return Forbidden("only the operator may do this")
	}
	return nil
}
