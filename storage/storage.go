// Package storage defines what Keygate keeps and the interface every backend implements.
//
// It holds plain records, sentinel errors and change notifications; it knows nothing of
// HTTP, Caddy or caching. Backends live in the sub-packages (sqlite, postgres) and share
// their SQL through sqlstore; storage/conformance is the test suite all of them pass.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them (errors.Is works); any other error from a Store
// means the store could not answer and callers must treat it as unavailable, never as
// "credential unknown".
var (
	// ErrNotFound: the record asked for does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a uniqueness rule was broken (a tenant name, a user's email within a
	// tenant, a key digest, a uid).
	ErrConflict = errors.New("storage: conflict")
	// ErrBadCursor: a Page.After that no listing of this backend returned.
	ErrBadCursor = errors.New("storage: bad page cursor")
	// ErrLimitReached: the write would take a record past a limit the caller set (the
	// number of API keys a user may hold).
	ErrLimitReached = errors.New("storage: limit reached")
)

// Role is the legacy summary of a user's direct tenant roles: tenant-admin when they hold
// the built-in Tenant Admin role (RoleUIDTenantAdmin) themselves, else user. What a user
// may do is given by their roles (User.Roles, User.TenantRoles); Role stays for callers
// and clients that know only the two.
type Role string

// The roles Keygate knows.
const (
	RoleTenantAdmin Role = "tenant-admin"
	RoleUser        Role = "user"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleTenantAdmin || r == RoleUser }

// Tenant is an organisation; every other record belongs to exactly one.
type Tenant struct {
	UID       string
	Name      string // unique across the store
	CreatedAt time.Time
}

// User is a person (or robot account) in one tenant. Emails are unique per tenant,
// compared case-insensitively (backends store them lower-cased).
type User struct {
	UID       string
	TenantUID string
	Email     string
	FirstName string
	LastName  string
	// Role is tenant-admin exactly when Roles holds RoleUIDTenantAdmin. A create with
	// RoleTenantAdmin grants that role in addition to Roles.
	Role         Role
	Disabled     bool
	PasswordHash string // an encoded argon2id hash; empty means password login is off
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Roles are the tenant-scope roles the user holds directly (uids, sorted).
	Roles []string
	// Teams are the uids of the teams the user is a member of, sorted; filled by reads.
	Teams []string
	// TenantRoles are the user's effective tenant-scope roles: Roles and their teams'
	// roles (uids, sorted); filled by reads.
	TenantRoles []string
}

// Project is a scope inside a tenant that requests select with the ProjectUid header.
type Project struct {
	UID       string
	TenantUID string
	Name      string
	// Annotations are Palette's metadata.annotations: free-form labels, none when nil.
	Annotations map[string]string
	CreatedAt   time.Time
}

// APIKey is a long-lived credential. Only Digest identifies the secret; the plaintext is
// never stored.
type APIKey struct {
	UID         string
	TenantUID   string
	UserUID     string
	Name        string
	Description string
	Digest      []byte // SHA-256 of the key; unique
	Hint        string // a non-secret reminder such as "kg_AbCd…wXyZ"
	ExpiresAt   time.Time
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastUsedAt  time.Time // zero until first used; recorded at most about once a minute
	// Tagged: the key carries a tag made with the store's key tag secret (every key
	// Keygate creates now). False for legacy keys, made before tags, which nodes load
	// at start (LegacyKeyDigests) to tell them from forged ones.
	Tagged bool
	// RolledFrom is the uid of the key this one replaced in a roll (RollAPIKey); "" for
	// a key created on its own. The uid stays when that key is deleted: it is history.
	RolledFrom string
	// RolledTo is the uid of the key that replaced this one in a roll; "" until then.
	RolledTo string
}

// KeyGrant is an API key together with its owner: what the request path needs to decide,
// loaded in one query.
type KeyGrant struct {
	Key  APIKey
	User User
}

// PasswordToken is a pending activation or reset of a user's password: whoever presents
// the token sets the password, once, before ExpiresAt. Only Digest identifies the secret;
// the token itself is never stored (the service derives it from ID with a key of its own
// to show it again). A user has at most one: a new one replaces the old.
type PasswordToken struct {
	ID        string
	TenantUID string
	UserUID   string
	Digest    []byte // SHA-256 of the token; unique
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TenantSettings are a tenant's own settings. Zero values mean the gateway's defaults.
type TenantSettings struct {
	TenantUID string
	TokenTTL  time.Duration // lifetime of the tenant's tokens; 0: the gateway's token_ttl
	UpdatedAt time.Time
}

// ProjectAccess is what the request path needs to check a ProjectUid header.
type ProjectAccess struct {
	TenantUID string // the project's tenant
	Member    bool   // whether the user holds a project role there (Roles is not empty)
	// Roles are the user's effective project roles there: their own and their teams'
	// (uids, sorted).
	Roles []string
}

// SigningKey is a secret that signs and verifies Authorization tokens. Every node reads
// the same keys from the store, so a token issued by one node verifies on all of them.
type SigningKey struct {
	KID       string // key id, carried in each token's header
	Secret    []byte // HMAC-SHA-256 key, 32 bytes
	CreatedAt time.Time
}

// Session is one login. Its tokens, each short-lived, carry its id; revoking the session
// stops all of them, including ones refreshed from it.
type Session struct {
	ID        string
	UserUID   string
	TenantUID string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the session is live
	// TokenID is the jti of the session's newest token: the only one that may be
	// refreshed. Empty for sessions made before it was recorded (their first refresh,
	// from any of their tokens, sets it).
	TokenID string
}

// Page asks for one page of a listing: at most Limit items after the opaque cursor After
// ("" for the first page). Listings are ordered by creation time then uid, so a cursor
// stays valid, and no item is seen twice, while items are added.
type Page struct {
	Limit int
	After string
}

// APIKeyFilter selects the keys a listing returns.
type APIKeyFilter struct {
	TenantUID string // required
	UserUID   string // optional: only this user's keys
}

// AuditEvent is one recorded action: a mutation, a login, a revocation.
type AuditEvent struct {
	ID         string
	TenantUID  string
	At         time.Time
	ActorUID   string // empty for a failed login by an unknown user
	ActorEmail string
	Action     string // e.g. "apikey.create", "login.failure"
	TargetKind string // "apikey", "user", "project", "membership", "session"
	TargetUID  string
	SourceIP   string
	Detail     string // short, never a secret
}

// ChangeKind says what a Change invalidates.
type ChangeKind string

// The kinds of change the gateway reacts to.
const (
	// ChangeAPIKey: the key whose hex-encoded digest is Ref changed (revoked, deleted,
	// edited, or its owner changed). Drop it from caches.
	ChangeAPIKey ChangeKind = "apikey"
	// ChangeMembership: membership of user in project changed; Ref is "projectUID/userUID".
	ChangeMembership ChangeKind = "membership"
	// ChangeUser: the user whose uid is Ref changed (disabled, enabled, role, deleted).
	// Drop cached user records; their keys are announced separately as ChangeAPIKey.
	ChangeUser ChangeKind = "user"
	// ChangeSession: the session whose id is Ref was revoked.
	ChangeSession ChangeKind = "session"
	// ChangeProject: the project whose uid is Ref was deleted. Drop every cached project
	// decision for it.
	ChangeProject ChangeKind = "project"
	// ChangeRole: a custom role of the tenant whose uid is Ref was created or changed.
	// Drop the tenant's cached role catalogue.
	ChangeRole ChangeKind = "role"
	// ChangeResync: changes may have been missed (a watcher fell behind the retained log or
	// lost its connection). Drop every cached decision.
	ChangeResync ChangeKind = "resync"
)

// Change is one committed change that can turn a credential off or change what it may do.
// Backends record changes in the same transaction as the write that causes them.
type Change struct {
	Seq  int64 // increasing; 0 for ChangeResync
	Kind ChangeKind
	Ref  string
}

// MembershipRef is the Ref of a ChangeMembership.
func MembershipRef(projectUID, userUID string) string { return projectUID + "/" + userUID }

// Tx is one transaction of a Store's Update: the changes made through it and the audit
// rows appended with them commit together, or none of them does. Reads through it see
// its own changes. Each method means what the Store method of the same name does.
type Tx interface {
	Bootstrap(ctx context.Context, tenant Tenant, admin User) (bool, error)
	CreateTenant(ctx context.Context, t Tenant) error

	CreateUser(ctx context.Context, u User) error
	UserByUID(ctx context.Context, uid string) (User, error)
	// LockedUser is UserByUID, and keeps the user from changing until the transaction
	// ends, so that a change computed from it cannot undo a concurrent one.
	LockedUser(ctx context.Context, uid string) (User, error)
	SetUserDisabled(ctx context.Context, uid string, disabled bool) error
	UpdateUser(ctx context.Context, uid, firstName, lastName string, role Role) error
	SetUserPassword(ctx context.Context, uid, passwordHash string, at time.Time) error
	DeleteUser(ctx context.Context, uid string) error
	// ActiveTenantAdmins counts the tenant's enabled tenant admins. It holds the tenant's
	// admins lock until the transaction ends, so that two transactions that each remove an admin run
	// one after the other and the second sees the first's change.
	ActiveTenantAdmins(ctx context.Context, tenantUID string) (int, error)

	SetUserRoles(ctx context.Context, userUID string, roleUIDs []string) error

	CreateRole(ctx context.Context, r RoleDef) error
	ListRoles(ctx context.Context, tenantUID string) ([]RoleDef, error)

	CreateTeam(ctx context.Context, t Team) error
	// TeamByUID is the Store's, and keeps the team from changing until the transaction
	// ends, so that a change computed from it (a member added) cannot undo a concurrent one.
	TeamByUID(ctx context.Context, uid string) (Team, error)
	UpdateTeam(ctx context.Context, t Team) error
	DeleteTeam(ctx context.Context, uid string) error

	CreateProject(ctx context.Context, p Project) error
	AddProjectMember(ctx context.Context, projectUID, userUID string) error
	RemoveProjectMember(ctx context.Context, projectUID, userUID string) error
	SetProjectRoles(ctx context.Context, g ProjectGrant) error
	DeleteProject(ctx context.Context, uid string) error
	ProjectByUID(ctx context.Context, uid string) (Project, error)
	ProjectGrants(ctx context.Context, projectUID string) ([]ProjectGrant, error)
	UpdateProject(ctx context.Context, uid, name string, annotations map[string]string) error

	CreateAPIKey(ctx context.Context, k APIKey, maxPerUser int) error
	APIKeyByUID(ctx context.Context, uid string) (APIKey, error)
	SetAPIKeyActive(ctx context.Context, uid string, active bool) error
	UpdateAPIKey(ctx context.Context, uid, name, description string, expiresAt time.Time) error
	DeleteAPIKey(ctx context.Context, uid string) error
	RollAPIKey(ctx context.Context, from string, expiresBy time.Time, to APIKey, maxPerUser int) error

	CreateSession(ctx context.Context, s Session) error
	RevokeSession(ctx context.Context, id string, at time.Time) error

	CreatePasswordToken(ctx context.Context, t PasswordToken) error
	// TakePasswordToken deletes the token with that digest, and every other of its user,
	// and returns it (expired or not); ErrNotFound when no token has that digest. Of two
	// transactions taking the same token, one gets ErrNotFound.
	TakePasswordToken(ctx context.Context, digest []byte) (PasswordToken, error)

	SetTenantSettings(ctx context.Context, s TenantSettings) error

	SetSCIMToken(ctx context.Context, t SCIMToken) error
	DeleteSCIMToken(ctx context.Context, tenantUID string) error
	SetExternalID(ctx context.Context, kind ExternalKind, uid, externalID string) error

	AppendAudit(ctx context.Context, events ...AuditEvent) error

	SSOStore
	WebhookTx
}

// Store is everything Keygate keeps. Implementations are safe for concurrent use by many
// goroutines and, for the shared backends, by many processes.
//
// Callers choose uids and creation times (so that an injected clock reaches the store);
// backends set UpdatedAt on updates. Times are kept to the millisecond, in UTC.
// Lookups return ErrNotFound when there is no such record, and so do creates that name
// an unknown tenant or owner. Writes are transactional: when
// a write returns nil it is durable, and nothing of a failed write remains.
type Store interface {
	// Bootstrap creates tenant and its first admin user in one transaction, only if the
	// store holds no tenant yet. It reports whether it created them.
	Bootstrap(ctx context.Context, tenant Tenant, admin User) (bool, error)

	CreateTenant(ctx context.Context, t Tenant) error
	TenantByUID(ctx context.Context, uid string) (Tenant, error)
	TenantByName(ctx context.Context, name string) (Tenant, error)
	// ListTenants returns every tenant, oldest first (ties by uid); an empty list when
	// there are none. Tenants are few (organisations), so it does not page.
	ListTenants(ctx context.Context) ([]Tenant, error)

	CreateUser(ctx context.Context, u User) error
	UserByUID(ctx context.Context, uid string) (User, error)
	// UsersByEmail returns the users with that email in every tenant, oldest first; an
	// empty list (not ErrNotFound) when there are none.
	UsersByEmail(ctx context.Context, email string) ([]User, error)
	// SetUserDisabled enables or disables a user and records a ChangeUser for the user
	// and a ChangeAPIKey for each of the user's keys.
	SetUserDisabled(ctx context.Context, uid string, disabled bool) error
	// UpdateUser changes a user's names and role (uid, tenant and email stay) and records
	// a ChangeUser and a ChangeAPIKey for each of the user's keys.
	UpdateUser(ctx context.Context, uid, firstName, lastName string, role Role) error
	// SetUserPassword replaces a user's password hash ("" turns password login off) and
	// revokes the user's live sessions at at, recording a ChangeUser, a ChangeAPIKey per
	// key and a ChangeSession per session revoked: logins made with the old password end.
	// It deletes the user's pending password tokens too: a link handed out before the
	// change must not undo it.
	SetUserPassword(ctx context.Context, uid, passwordHash string, at time.Time) error
	// DeleteUser deletes a user with their keys, sessions, memberships and password
	// tokens, recording a ChangeUser, a ChangeAPIKey per key and a ChangeSession per live
	// session first.
	DeleteUser(ctx context.Context, uid string) error
	// ListUsers returns a tenant's users, oldest first, and the cursor of the next page
	// ("" when there is none).
	ListUsers(ctx context.Context, tenantUID string, p Page) ([]User, string, error)

	// SetUserRoles replaces the tenant-scope roles a user holds directly (built-in ones,
	// or custom ones of the user's tenant: else ErrNotFound) and records a ChangeUser and
	// a ChangeAPIKey for each of the user's keys.
	SetUserRoles(ctx context.Context, userUID string, roleUIDs []string) error

	// CreateRole adds a custom role to its tenant and records a ChangeRole; ErrConflict
	// when its uid or its name within the tenant is taken.
	CreateRole(ctx context.Context, r RoleDef) error
	// ListRoles returns the tenant's custom roles, oldest first (the built-in ones are
	// BuiltinRoles). Roles are few, so it does not page.
	ListRoles(ctx context.Context, tenantUID string) ([]RoleDef, error)

	// CreateTeam adds a team with its members and roles; members must be users of the
	// team's tenant and roles tenant-scope ones it may hold (else ErrNotFound);
	// ErrConflict when its uid or name within the tenant is taken. Like every team
	// change it records, for each user whose roles it changes, a ChangeUser, a
	// ChangeAPIKey per key and a ChangeMembership per project the team holds roles in.
	CreateTeam(ctx context.Context, t Team) error
	TeamByUID(ctx context.Context, uid string) (Team, error)
	// ListTeams returns a tenant's teams, oldest first, paginated like ListUsers.
	ListTeams(ctx context.Context, tenantUID string, p Page) ([]Team, string, error)
	// UpdateTeam replaces a team's name, members and roles (uid and tenant stay).
	UpdateTeam(ctx context.Context, t Team) error
	// DeleteTeam deletes a team with its memberships and project grants.
	DeleteTeam(ctx context.Context, uid string) error

	CreateProject(ctx context.Context, p Project) error
	ProjectByUID(ctx context.Context, uid string) (Project, error)
	// UpdateProject replaces the project's name and annotations; ErrNotFound when there
	// is no such project.
	UpdateProject(ctx context.Context, uid, name string, annotations map[string]string) error
	// SetProjectRoles replaces the project roles the grant's user or team holds in the
	// project (none removes them). Project, subject and custom roles must be of one
	// tenant, roles of project scope (else ErrNotFound). It records a ChangeMembership
	// for the user, or for each member of the team.
	SetProjectRoles(ctx context.Context, g ProjectGrant) error
	// ProjectGrants returns who holds roles in the project: users first, then teams, each
	// by uid. ErrNotFound when the project does not exist.
	ProjectGrants(ctx context.Context, projectUID string) ([]ProjectGrant, error)
	// UserProjectGrants returns the user's project roles: their own grants (UserUID set)
	// and their teams' (TeamUID set), by project uid.
	UserProjectGrants(ctx context.Context, userUID string) ([]ProjectGrant, error)
	// AddProjectMember grants the user Project Editor in the project unless they hold a
	// project role there already; that is not an error.
	// The user and project must be in the same tenant (else ErrNotFound).
	AddProjectMember(ctx context.Context, projectUID, userUID string) error
	// ProjectAccess returns the project's tenant and the user's effective roles there;
	// ErrNotFound when the project does not exist.
	ProjectAccess(ctx context.Context, projectUID, userUID string) (ProjectAccess, error)
	// RemoveProjectMember removes the project roles the user holds there directly and
	// records a ChangeMembership; ErrNotFound when there were none.
	RemoveProjectMember(ctx context.Context, projectUID, userUID string) error
	// ProjectMembers returns the uids of the users holding project roles there directly.
	ProjectMembers(ctx context.Context, projectUID string) ([]string, error)
	// DeleteProject deletes a project and its memberships and records a ChangeProject.
	DeleteProject(ctx context.Context, uid string) error
	// ListProjects returns a tenant's projects, oldest first, paginated like ListUsers.
	ListProjects(ctx context.Context, tenantUID string, p Page) ([]Project, string, error)
	// UserProjects returns the projects a user holds a role in, directly or through a
	// team, oldest first.
	UserProjects(ctx context.Context, userUID string) ([]Project, error)

	// CreateAPIKey inserts k. With maxPerUser > 0 it refuses, with ErrLimitReached, a key
	// that would give its user more than maxPerUser keys; the count and the insert are one
	// transaction, so concurrent creates cannot pass the limit together.
	CreateAPIKey(ctx context.Context, k APIKey, maxPerUser int) error
	APIKeyByUID(ctx context.Context, uid string) (APIKey, error)
	// KeyGrantByDigest loads a key and its owner by the key's digest.
	KeyGrantByDigest(ctx context.Context, digest []byte) (KeyGrant, error)
	// RecentKeyGrants loads up to limit active keys, with their owners, that were last
	// used at or after since and expire after now (or never), most recently used first:
	// what a node that starts preloads into its cache.
	RecentKeyGrants(ctx context.Context, since, now time.Time, limit int) ([]KeyGrant, error)
	// SetAPIKeyActive revokes or re-activates a key and records a ChangeAPIKey.
	SetAPIKeyActive(ctx context.Context, uid string, active bool) error
	// UpdateAPIKey changes a key's name, description and expiry and records a
	// ChangeAPIKey.
	UpdateAPIKey(ctx context.Context, uid, name, description string, expiresAt time.Time) error
	// DeleteAPIKey deletes a key and records a ChangeAPIKey.
	DeleteAPIKey(ctx context.Context, uid string) error
	// RollAPIKey replaces the key from with to, a new key of the same user, in one
	// transaction: it inserts to with RolledFrom set to from (under maxPerUser, as
	// CreateAPIKey), and sets from's RolledTo to to.UID and its expiry to expiresBy unless
	// it expires earlier already, recording a ChangeAPIKey for from. ErrNotFound when
	// there is no key from; ErrConflict when from is revoked, has expired by
	// to.CreatedAt or was rolled already (so of two concurrent rolls of one key, one
	// wins), or when to's uid or digest is taken.
	RollAPIKey(ctx context.Context, from string, expiresBy time.Time, to APIKey, maxPerUser int) error
	// ListAPIKeys returns the keys f selects, oldest first, paginated like ListUsers.
	ListAPIKeys(ctx context.Context, f APIKeyFilter, p Page) ([]APIKey, string, error)
	// TouchAPIKeys records when keys were last used, in one transaction; keys that no
	// longer exist are skipped. It records no change: last use does not affect access.
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error

	// AppendAudit records events in one transaction.
	AppendAudit(ctx context.Context, events ...AuditEvent) error
	// ListAudit returns a tenant's events, newest first, paginated like ListUsers but in
	// the other direction.
	ListAudit(ctx context.Context, tenantUID string, p Page) ([]AuditEvent, string, error)

	// SigningKeys returns every token signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// CreateSigningKey adds a key; ErrConflict when its KID exists.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// KeyTagSecret returns the store's API key tag secret, storing candidate (made at at)
	// as that secret if the store holds none yet. Storing is insert-if-absent, so callers
	// racing on an empty store all get the one that was stored first. Errors never carry
	// the secret.
	KeyTagSecret(ctx context.Context, candidate []byte, at time.Time) ([]byte, error)
	// LegacyKeyDigests returns the digests of the keys that are not Tagged, in no order.
	LegacyKeyDigests(ctx context.Context) ([][]byte, error)

	// CreateSession records a new login; ErrNotFound for an unknown user.
	CreateSession(ctx context.Context, s Session) error
	SessionByID(ctx context.Context, id string) (Session, error)
	// RotateSessionToken makes to the session's newest token, in place of from, if from is
	// its newest token (or none is recorded) and the session is live. ErrConflict when it
	// is not (from was refreshed already, or the session was revoked); ErrNotFound when
	// there is no such session.
	RotateSessionToken(ctx context.Context, id, from, to string) error
	// RevokeSession marks a session revoked at at (if it is not already) and records a
	// ChangeSession. Revoking a revoked session is not an error.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokedSessionsSince returns the ids of sessions revoked at or after since.
	RevokedSessionsSince(ctx context.Context, since time.Time) ([]string, error)
	// PruneSessions deletes sessions created before before (whatever their state) and
	// returns how many it deleted.
	PruneSessions(ctx context.Context, before time.Time) (int64, error)

	// CreatePasswordToken records a pending password activation, replacing any earlier
	// one of the same user; ErrNotFound when the user is not in that tenant, ErrConflict
	// when the digest or id is taken.
	CreatePasswordToken(ctx context.Context, t PasswordToken) error
	// PasswordTokens returns a tenant's pending tokens, expired ones included, oldest first.
	PasswordTokens(ctx context.Context, tenantUID string) ([]PasswordToken, error)

	// TenantSettings returns a tenant's settings: zero values (with TenantUID set) when
	// none were set; ErrNotFound for an unknown tenant.
	TenantSettings(ctx context.Context, tenantUID string) (TenantSettings, error)
	// SetTenantSettings replaces a tenant's settings; ErrNotFound for an unknown tenant.
	SetTenantSettings(ctx context.Context, s TenantSettings) error

	SSOStore
	WebhookStore
	// SetSCIMToken makes t its tenant's SCIM token, replacing any earlier one;
	// ErrNotFound for an unknown tenant, ErrConflict when the digest is taken.
	SetSCIMToken(ctx context.Context, t SCIMToken) error
	// SCIMToken returns a tenant's SCIM token; ErrNotFound when it has none.
	SCIMToken(ctx context.Context, tenantUID string) (SCIMToken, error)
	// SCIMTokenByDigest returns the SCIM token with that digest; ErrNotFound when none.
	SCIMTokenByDigest(ctx context.Context, digest []byte) (SCIMToken, error)
	// DeleteSCIMToken deletes a tenant's SCIM token; ErrNotFound when it has none.
	DeleteSCIMToken(ctx context.Context, tenantUID string) error
	// TouchSCIMToken records when the token with that digest was last used; none is not
	// an error (it was rotated meanwhile). It records no change.
	TouchSCIMToken(ctx context.Context, digest []byte, at time.Time) error
	// SetExternalID records the identity provider's id of a user or team ("" forgets
	// it); ErrNotFound when there is no such record. The id goes with its record.
	SetExternalID(ctx context.Context, kind ExternalKind, uid, externalID string) error
	// ExternalIDs returns the external ids of those records of kind that have one.
	ExternalIDs(ctx context.Context, kind ExternalKind, uids []string) (map[string]string, error)

	// Update runs fn in one transaction: if fn returns nil every change made through tx
	// commits, else none does. fn must not use the Store itself for writes (a backend
	// with one writer would wait on its own transaction) nor keep tx after returning.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// ActiveTenantAdmins counts the tenant's enabled users holding Tenant Admin, directly
	// or through a team.
	ActiveTenantAdmins(ctx context.Context, tenantUID string) (int, error)

	// Watch calls fn with each batch of changes committed after Watch began, by this
	// process or any other sharing the store, in Seq order, until ctx ends. Its first
	// batch is one ChangeResync, delivered once Watch has taken its position: anything
	// cached before then may predate a change Watch will not report. Later, when changes
	// may have been missed, fn again gets a batch holding one ChangeResync. Watch returns
	// ctx.Err() when ctx ends; fn is never called concurrently with itself.
	Watch(ctx context.Context, fn func([]Change)) error

	// Ping reports whether the store can answer.
	Ping(ctx context.Context) error
	Close() error
}
