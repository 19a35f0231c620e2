package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/keygate/keygate/storage"
)

var (
	oidcConfigColumns = []string{"tenant_uid", "settings", "sealed_secret", "updated_at"}
	identityColumns   = []string{"tenant_uid", "issuer", "subject", "user_uid", "created_at"}
)

// oidcSettings is the JSON of an OIDCConfig's settings column: everything but the tenant,
// the sealed secret and the time, which have columns of their own.
type oidcSettings struct {
	IssuerURL          string             `json:"issuerUrl"`
	ClientID           string             `json:"clientId"`
	CallbackURL        string             `json:"callbackUrl"`
	LogoutURL          string             `json:"logoutUrl"`
	Scopes             []string           `json:"scopes"`
	ScopesDelimiter    string             `json:"scopesDelimiter"`
	Enabled            bool               `json:"enabled"`
	DefaultTeams       []string           `json:"defaultTeams"`
	SyncTeams          bool               `json:"syncTeams"`
	CACertificatePEM   string             `json:"caCertificatePem"`
	InsecureSkipVerify bool               `json:"insecureSkipVerify"`
	Claims             storage.OIDCClaims `json:"claims"`
	UseUserInfo        bool               `json:"useUserInfo"`
	UserInfoClaims     storage.OIDCClaims `json:"userInfoClaims"`
	CreateUsers        bool               `json:"createUsers"`
	LinkUsers          bool               `json:"linkUsers"`
}

func settingsOf(c storage.OIDCConfig) oidcSettings {
	return oidcSettings{
		IssuerURL: c.IssuerURL, ClientID: c.ClientID, CallbackURL: c.CallbackURL, LogoutURL: c.LogoutURL,
		Scopes: c.Scopes, ScopesDelimiter: c.ScopesDelimiter, Enabled: c.Enabled, DefaultTeams: c.DefaultTeams,
		SyncTeams: c.SyncTeams, CACertificatePEM: c.CACertificatePEM, InsecureSkipVerify: c.InsecureSkipVerify,
		Claims: c.Claims, UseUserInfo: c.UseUserInfo, UserInfoClaims: c.UserInfoClaims,
		CreateUsers: c.CreateUsers, LinkUsers: c.LinkUsers,
	}
}

func (o oidcSettings) config(tenantUID string) storage.OIDCConfig {
	return storage.OIDCConfig{
		TenantUID: tenantUID, IssuerURL: o.IssuerURL, ClientID: o.ClientID, CallbackURL: o.CallbackURL,
		LogoutURL: o.LogoutURL, Scopes: o.Scopes, ScopesDelimiter: o.ScopesDelimiter, Enabled: o.Enabled,
		DefaultTeams: o.DefaultTeams, SyncTeams: o.SyncTeams, CACertificatePEM: o.CACertificatePEM,
		InsecureSkipVerify: o.InsecureSkipVerify, Claims: o.Claims, UseUserInfo: o.UseUserInfo,
		UserInfoClaims: o.UserInfoClaims, CreateUsers: o.CreateUsers, LinkUsers: o.LinkUsers,
	}
}

// OIDCConfig returns the tenant's OIDC configuration; ErrNotFound when it has none.
func (s *Store) OIDCConfig(ctx context.Context, tenantUID string) (storage.OIDCConfig, error) {
	var raw string
	var sealed []byte
	var updated int64
	err := s.queryRow(ctx, s.reader(), "SELECT settings, sealed_secret, updated_at FROM oidc_configs WHERE tenant_uid = ?",
		tenantUID).Scan(&raw, &sealed, &updated)
	if err != nil {
		return storage.OIDCConfig{}, notFound(err, fmt.Sprintf("oidc config of tenant %q", tenantUID))
	}
	var o oidcSettings
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return storage.OIDCConfig{}, fmt.Errorf("oidc config of tenant %q: %w", tenantUID, err)
	}
	c := o.config(tenantUID)
	c.SealedSecret, c.UpdatedAt = sealed, fromMillis(updated)
	return c, nil
}

// SetOIDCConfig replaces the tenant's OIDC configuration; ErrNotFound for an unknown
// tenant.
func (s *Store) SetOIDCConfig(ctx context.Context, c storage.OIDCConfig) error {
	what := fmt.Sprintf("set oidc config of tenant %q", c.TenantUID)
	raw, err := json.Marshal(settingsOf(c))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	sealed := c.SealedSecret
	if sealed == nil {
		sealed = []byte{}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM oidc_configs WHERE tenant_uid = ?", c.TenantUID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err := s.exec(ctx, tx, insertInto("oidc_configs", oidcConfigColumns), c.TenantUID, string(raw), sealed, millis(c.UpdatedAt))
		if err != nil {
			return s.writeError(ctx, what, err, fmt.Sprintf("tenant %q", c.TenantUID))
		}
		return nil
	})
}

// UserByIdentity returns the user linked to the issuer's subject in the tenant;
// ErrNotFound when none is.
func (s *Store) UserByIdentity(ctx context.Context, tenantUID, issuer, subject string) (storage.User, error) {
	var uid string
	err := s.queryRow(ctx, s.reader(), "SELECT user_uid FROM user_identities WHERE tenant_uid = ? AND issuer = ? AND subject = ?",
		tenantUID, issuer, subject).Scan(&uid)
	if err != nil {
		return storage.User{}, notFound(err, fmt.Sprintf("user of identity %q at %q", subject, issuer))
	}
	return s.UserByUID(ctx, uid)
}

// LinkIdentity links the user to the issuer's subject; ErrConflict when the subject is
// linked already, ErrNotFound for an unknown user.
func (s *Store) LinkIdentity(ctx context.Context, id storage.ExternalIdentity) error {
	what := fmt.Sprintf("link user %q to an identity at %q", id.UserUID, id.Issuer)
	_, err := s.exec(ctx, s.writer(), insertInto("user_identities", identityColumns),
		id.TenantUID, id.Issuer, id.Subject, id.UserUID, millis(id.CreatedAt))
	if err != nil {
		return s.writeError(ctx, what, err, fmt.Sprintf("user %q", id.UserUID),
			uniqueRule{fmt.Sprintf("identity at %q", id.Issuer), "SELECT 1 FROM user_identities WHERE tenant_uid = ? AND issuer = ? AND subject = ?",
				[]any{id.TenantUID, id.Issuer, id.Subject}})
	}
	return nil
}
