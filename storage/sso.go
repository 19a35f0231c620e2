package storage

import (
	"context"
	"time"
)

// OIDCConfig is a tenant's single sign-on through an OpenID Provider: Palette's
// v1TenantOidcClientSpec, with Keygate's own choices of who may sign in that way.
type OIDCConfig struct {
	TenantUID string
	IssuerURL string
	ClientID  string
	// SealedSecret is the client secret as the service sealed it; the store never holds
	// it in plain text. Empty for a public client (PKCE only).
	SealedSecret    []byte
	CallbackURL     string
	LogoutURL       string
	Scopes          []string
	ScopesDelimiter string
	Enabled         bool     // Palette's isSsoEnabled: the organisation signs in this way
	DefaultTeams    []string // team uids every SSO user is a member of
	SyncTeams       bool     // groups that match no team create one
	// CACertificatePEM is the issuer's CA (PEM), for a provider with a private CA.
	CACertificatePEM   string
	InsecureSkipVerify bool
	Claims             OIDCClaims // where the ID token says who the user is
	UseUserInfo        bool       // also read the userinfo endpoint, with UserInfoClaims
	UserInfoClaims     OIDCClaims
	// CreateUsers lets a first sign-in create the user; LinkUsers lets it sign in an
	// existing user (one made with a password, or by an admin) with the same verified email.
	CreateUsers bool
	LinkUsers   bool
	UpdatedAt   time.Time
}

// OIDCClaims names the claims that carry a user's details (Palette's v1TenantOidcClaims);
// empty names mean the standard claims (email, given_name, family_name, groups).
type OIDCClaims struct {
	Email, FirstName, LastName, Teams string
}

// ExternalIdentity links a user to their account at an identity provider: the issuer's
// subject, which, unlike an email, the provider never gives to anyone else.
type ExternalIdentity struct {
	TenantUID string
	Issuer    string
	Subject   string
	UserUID   string
	CreatedAt time.Time
}

// SSOStore is what single sign-on reads and writes; Store and Tx both have it.
type SSOStore interface {
	// OIDCConfig returns the tenant's OIDC configuration; ErrNotFound when it has none.
	OIDCConfig(ctx context.Context, tenantUID string) (OIDCConfig, error)
	// SetOIDCConfig replaces the tenant's OIDC configuration; ErrNotFound for an unknown
	// tenant.
	SetOIDCConfig(ctx context.Context, c OIDCConfig) error
	// UserByIdentity returns the user linked to the issuer's subject in the tenant;
	// ErrNotFound when none is.
	UserByIdentity(ctx context.Context, tenantUID, issuer, subject string) (User, error)
	// LinkIdentity links the user to the issuer's subject; ErrConflict when the subject is
	// linked to a user of the tenant already, ErrNotFound for an unknown user.
	LinkIdentity(ctx context.Context, id ExternalIdentity) error
}
