package manage

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/sso"
	"github.com/keygate/keygate/storage"
)

// OIDCSettings is a tenant's OIDC sign-in as its admins read and write it: the stored
// configuration without its secret.
type OIDCSettings struct {
	storage.OIDCConfig // SealedSecret is never read from, nor given back
	// ClientSecret is write-only: on a write, empty keeps the stored secret (so that what
	// a read returned can be written back); it is never returned.
	ClientSecret string
	// ClearSecret, on a write, removes the stored secret (a public client).
	ClearSecret bool
	// HasClientSecret, on a read, says whether a secret is stored.
	HasClientSecret bool
	// FromFile: the configuration comes from the gateway's configuration file, which
	// the API cannot change.
	FromFile bool
}

// FileOIDC is an organisation's OIDC configuration from the gateway's configuration
// file, which takes the place of the store's and which the API cannot change.
type FileOIDC struct {
	storage.OIDCConfig
	ClientSecret string
}

// SetFileOIDC replaces the OIDC settings the configuration file sets, by organisation
// (tenant) name: they take the place of the store's for those tenants, whenever such a
// tenant exists. Each config load calls it; the new settings count as changed then.
func (s *Service) SetFileOIDC(byOrg map[string]FileOIDC) {
	now := s.clock()
	m := make(map[string]FileOIDC, len(byOrg))
	for name, f := range byOrg {
		f.UpdatedAt = now
		m[name] = f
	}
	s.fileOIDC.Store(&m)
}

// fileOIDCOf is the file's settings for the tenant, if it sets any.
func (s *Service) fileOIDCOf(t storage.Tenant) (FileOIDC, bool) {
	m := s.fileOIDC.Load()
	if m == nil {
		return FileOIDC{}, false
	}
	f, ok := (*m)[t.Name]
	f.TenantUID = t.UID
	return f, ok
}

// fileOIDCOfUID is fileOIDCOf for a tenant uid, reading the tenant only when the file
// sets any organisation's sign-in.
func (s *Service) fileOIDCOfUID(ctx context.Context, tenantUID string) (FileOIDC, bool, error) {
	if m := s.fileOIDC.Load(); m == nil || len(*m) == 0 {
		return FileOIDC{}, false, nil
	}
	t, err := s.store.TenantByUID(ctx, tenantUID)
	if err != nil {
		return FileOIDC{}, false, authcore.StoreError(err, "tenant "+tenantUID)
	}
	f, ok := s.fileOIDCOf(t)
	return f, ok, nil
}

// errSecretsOff refuses to store a client secret where the service has no key to seal
// it with (the command line).
var errSecretsOff = &authcore.Error{Status: http.StatusServiceUnavailable, Code: "SecretsUnavailable",
	Message: "client secrets cannot be sealed here"}

// OIDCSettings reads the tenant's OIDC configuration (tenant admins and the operator);
// a tenant without one gets the defaults, disabled.
func (s *Service) OIDCSettings(ctx context.Context, a authcore.Actor, tenantUID string) (OIDCSettings, error) {
	if err := visibleTenant(a, tenantUID); err != nil {
		return OIDCSettings{}, err
	}
	t, err := s.store.TenantByUID(ctx, tenantUID)
	if err != nil {
		return OIDCSettings{}, authcore.StoreError(err, "tenant "+tenantUID)
	}
	c, fromFile, err := s.oidcConfig(ctx, t)
	switch {
	case authcore.IsNotFound(err):
		return OIDCSettings{OIDCConfig: storage.OIDCConfig{TenantUID: tenantUID, Scopes: sso.Scopes(nil), CreateUsers: true}}, nil
	case err != nil:
		return OIDCSettings{}, authcore.Unavailable(err)
	}
	out := OIDCSettings{OIDCConfig: c, HasClientSecret: len(c.SealedSecret) > 0, FromFile: fromFile}
	out.SealedSecret = nil
	return out, nil
}

// SetOIDCSettings replaces the tenant's OIDC configuration, audited without its secret.
// It holds from the next sign-in on every node: sign-ins read it from the store.
func (s *Service) SetOIDCSettings(ctx context.Context, a authcore.Actor, tenantUID string, r OIDCSettings) error {
	if err := visibleTenant(a, tenantUID); err != nil {
		return err
	}
	if _, fromFile, err := s.fileOIDCOfUID(ctx, tenantUID); err != nil {
		return err
	} else if fromFile {
		return authcore.Conflict("this organization's single sign-on is set in the gateway's configuration file; change it there")
	}
	c, err := s.checkOIDC(ctx, a, r)
	if err != nil {
		return err
	}
	c.TenantUID, c.UpdatedAt = tenantUID, s.clock()
	detail := fmt.Sprintf("issuer %s, client %s, enabled %t", c.IssuerURL, c.ClientID, c.Enabled)
	return s.commit(ctx, a, "tenant "+tenantUID, authcore.Audit{Action: "tenant.oidc_config", Kind: "tenant", Target: tenantUID, Detail: detail}, func(tx storage.Tx) error {
		if c.SealedSecret, err = s.nextSecret(ctx, tx, tenantUID, r); err != nil {
			return err
		}
		return tx.SetOIDCConfig(ctx, c)
	})
}

// nextSecret is the sealed secret a write leaves stored: the new one, none, or the one
// stored already.
func (s *Service) nextSecret(ctx context.Context, tx storage.Tx, tenantUID string, r OIDCSettings) ([]byte, error) {
	switch {
	case r.ClearSecret:
		return nil, nil
	case r.ClientSecret != "":
		if s.secretKey == nil {
			return nil, errSecretsOff
		}
		return sso.SealSecret(s.secretKey, tenantUID, r.ClientSecret)
	}
	old, err := tx.OIDCConfig(ctx, tenantUID)
	if authcore.IsNotFound(err) {
		return nil, nil
	}
	return old.SealedSecret, err
}

// checkOIDC refuses a configuration that cannot work, naming the field; it returns the
// configuration to store.
func (s *Service) checkOIDC(ctx context.Context, a authcore.Actor, r OIDCSettings) (storage.OIDCConfig, error) {
	c := r.OIDCConfig
	c.SealedSecret = nil
	if len(r.ClientSecret) > 1024 {
		return c, authcore.BadRequest("clientSecret must be at most 1024 characters")
	}
	if c.Enabled || c.IssuerURL != "" {
		if err := checkIssuer(c.IssuerURL); err != nil {
			return c, err
		}
	}
	if c.Enabled && c.ClientID == "" {
		return c, authcore.BadRequest("clientId is required to enable single sign-on")
	}
	for field, u := range map[string]string{"callbackUrl": c.CallbackURL, "logoutUrl": c.LogoutURL} {
		if err := checkOptionalURL(field, u); err != nil {
			return c, err
		}
	}
	c.Scopes = sso.Scopes(c.Scopes)
	c.DefaultTeams = storage.SortedSet(c.DefaultTeams)
	for _, uid := range c.DefaultTeams {
		if t, err := s.store.TeamByUID(ctx, uid); err != nil || t.TenantUID != a.TenantUID {
			return c, notFoundOr(err, "defaultTeams: team %s not found", uid)
		}
	}
	return c, nil
}

// checkIssuer accepts an https issuer, or http on a loopback address (a provider on the
// same machine, as in tests and development).
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return authcore.BadRequest("issuerUrl must be the provider's issuer, an absolute https URL")
	}
	if u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname()) {
		return nil
	}
	return authcore.BadRequest("issuerUrl must use https (http only on a loopback address)")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkOptionalURL(field, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return authcore.BadRequest("%s must be an absolute http or https URL", field)
	}
	return nil
}

// SSOConfig is the organisation's sign-in configuration with its secret unsealed, for
// a sign-in to start or finish; 404 when the organisation has no single sign-on on.
func (s *Service) SSOConfig(ctx context.Context, orgName string) (sso.Config, error) {
	t, err := s.store.TenantByName(ctx, orgName)
	if err != nil {
		return sso.Config{}, notFoundOr(err, "single sign-on is not enabled for organization %q", orgName)
	}
	c, _, err := s.oidcConfig(ctx, t)
	if err != nil || !c.Enabled {
		return sso.Config{}, notFoundOr(err, "single sign-on is not enabled for organization %q", orgName)
	}
	out := sso.Config{OIDCConfig: c}
	if f, ok := s.fileOIDCOf(t); ok {
		out.ClientSecret = f.ClientSecret
		return out, nil
	}
	if len(c.SealedSecret) > 0 {
		if s.secretKey == nil {
			return sso.Config{}, errSecretsOff
		}
		if out.ClientSecret, err = sso.OpenSecret(s.secretKey, t.UID, c.SealedSecret); err != nil {
			return sso.Config{}, errSecretsOff.WithCause(err)
		}
	}
	return out, nil
}

// oidcConfig is the tenant's configuration: the file's when it has one, else the
// store's.
func (s *Service) oidcConfig(ctx context.Context, t storage.Tenant) (storage.OIDCConfig, bool, error) {
	if f, ok := s.fileOIDCOf(t); ok {
		return f.OIDCConfig, true, nil
	}
	c, err := s.store.OIDCConfig(ctx, t.UID)
	return c, false, err
}

// ssoLogins are the identity providers the organisation offers, none without SSO.
func (s *Service) ssoLogins(ctx context.Context, t storage.Tenant) ([]SSOLogin, error) {
	c, _, err := s.oidcConfig(ctx, t)
	switch {
	case authcore.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, authcore.Unavailable(err)
	case !c.Enabled:
		return nil, nil
	}
	return []SSOLogin{{Name: SSOLoginOIDC, DisplayName: providerName(c.IssuerURL)}}, nil
}

// SSOLoginOIDC names the OIDC sign-in among an organisation's SSO logins.
const SSOLoginOIDC = "oidc"

// providerName is how the console names a provider: its issuer's host.
func providerName(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return "your identity provider"
	}
	host := u.Hostname()
	for _, known := range []struct{ suffix, name string }{
		{"accounts.google.com", "Google"}, {"login.microsoftonline.com", "Microsoft"}, {".okta.com", "Okta"},
	} {
		if host == known.suffix || strings.HasSuffix(host, known.suffix) {
			return known.name
		}
	}
	return host
}
