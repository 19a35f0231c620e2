package storage

import "time"

// SCIMToken is a tenant's SCIM bearer token: what its identity provider presents to push
// users and groups. A tenant has at most one; a new one replaces the old at once. Only
// Digest identifies the secret; the token itself is never stored.
type SCIMToken struct {
	TenantUID  string
	Digest     []byte // SHA-256 of the token; unique
	Hint       string // a non-secret reminder such as "kgscim_AbCd…wXyZ"
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used; recorded at most about once a minute
}

// ExternalKind says which records an external id belongs to.
type ExternalKind string

// The kinds of record an identity provider names with its own ids (SCIM's externalId).
const (
	ExternalUser ExternalKind = "user"
	ExternalTeam ExternalKind = "team"
)

// Valid reports whether k is one of the known kinds.
func (k ExternalKind) Valid() bool { return k == ExternalUser || k == ExternalTeam }
