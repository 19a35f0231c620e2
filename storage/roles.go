package storage

import (
	"slices"
	"time"
)

// RoleScope is where a role applies: across its tenant, or in one project.
type RoleScope string

// The scopes of roles, as Palette names them.
const (
	ScopeTenant  RoleScope = "tenant"
	ScopeProject RoleScope = "project"
)

// RoleDef is a named set of permission strings at one scope. Built-in roles belong to no
// tenant (TenantUID ""), live in code (BuiltinRoles) and keep their uids forever; custom
// roles belong to one tenant and live in the store.
type RoleDef struct {
	UID         string
	TenantUID   string // "" for a built-in role
	Name        string
	Scope       RoleScope
	BuiltIn     bool
	Permissions []string // sorted, no duplicates
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// The built-in roles' uids. They never change: stores and clients keep them.
const (
	RoleUIDTenantAdmin   = "role-tenant-admin"
	RoleUIDTenantViewer  = "role-tenant-viewer"
	RoleUIDProjectAdmin  = "role-project-admin"
	RoleUIDProjectEditor = "role-project-editor"
	RoleUIDProjectViewer = "role-project-viewer"
)

// projectViewerPerms, projectEditorPerms and projectAdminPerms build on each other: each
// role may do what the one below it may.
var (
	projectViewerPerms = []string{
		"cloudaccount.get", "cloudaccount.list", "cluster.get", "cluster.list",
		"clusterProfile.get", "clusterProfile.list", "project.get",
	}
	projectEditorPerms = append(slices.Clone(projectViewerPerms),
		"cluster.create", "cluster.update", "clusterProfile.create", "clusterProfile.update")
	projectAdminPerms = append(slices.Clone(projectEditorPerms),
		"cloudaccount.create", "cloudaccount.delete", "cloudaccount.update",
		"cluster.delete", "clusterProfile.delete", "project.update")
	tenantViewerPerms = []string{
		"project.list", "role.get", "role.list", "team.get", "team.list", "tenant.get",
		"user.get", "user.list",
	}
	// A tenant admin may do everything in every project of the tenant, and manage it.
	tenantAdminPerms = append(append(slices.Clone(projectAdminPerms), tenantViewerPerms...),
		"apiKey.create", "apiKey.delete", "apiKey.get", "apiKey.list", "apiKey.update",
		"audit.get", "project.create", "project.delete", "role.create", "role.delete",
		"role.update", "team.create", "team.delete", "team.update", "tenant.update",
		"user.create", "user.delete", "user.update")
)

// BuiltinRoles are the roles every tenant has, tenant scope first.
var BuiltinRoles = []RoleDef{
	builtin(RoleUIDTenantAdmin, "Tenant Admin", ScopeTenant, tenantAdminPerms),
	builtin(RoleUIDTenantViewer, "Tenant Viewer", ScopeTenant, tenantViewerPerms),
	builtin(RoleUIDProjectAdmin, "Project Admin", ScopeProject, projectAdminPerms),
	builtin(RoleUIDProjectEditor, "Project Editor", ScopeProject, projectEditorPerms),
	builtin(RoleUIDProjectViewer, "Project Viewer", ScopeProject, projectViewerPerms),
}

func builtin(uid, name string, scope RoleScope, perms []string) RoleDef {
	return RoleDef{UID: uid, Name: name, Scope: scope, BuiltIn: true, Permissions: SortedSet(perms)}
}

// BuiltinRole returns the built-in role with that uid.
func BuiltinRole(uid string) (RoleDef, bool) {
	for _, r := range BuiltinRoles {
		if r.UID == uid {
			return r, true
		}
	}
	return RoleDef{}, false
}

// SortedSet returns the distinct values of s, sorted, as a new slice; nil for none.
func SortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// Team is a set of users of one tenant that hold its tenant-scope roles (and the project
// roles granted to it) together with their own.
type Team struct {
	UID       string
	TenantUID string
	Name      string   // unique within the tenant
	Users     []string // member uids, sorted
	Roles     []string // tenant-scope role uids, sorted
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProjectGrant is the project roles one user or one team holds in a project: exactly one
// of UserUID and TeamUID is set.
type ProjectGrant struct {
	ProjectUID string
	UserUID    string
	TeamUID    string
	Roles      []string // project-scope role uids, sorted
}

// LegacyRole is Keygate's older single role that holds a set of tenant role uids: an
// admin exactly when Tenant Admin is among them (spec.role and X-User-Role still say it).
func LegacyRole(roles []string) Role {
	if slices.Contains(roles, RoleUIDTenantAdmin) {
		return RoleTenantAdmin
	}
	return RoleUser
}
