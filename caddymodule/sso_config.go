package caddymodule

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// SSOOrganization is one organisation's OIDC sign-in set in the configuration file,
// for operators who configure by file. It takes the place of what the tenant's admins
// set through the API (which then answers 409 for it), whenever a tenant of that name
// exists, and holds from each config load.
type SSOOrganization struct {
	// Issuer is the OpenID Provider's issuer URL. Required.
	Issuer string `json:"issuer"`
	// ClientID is Keygate's client at the provider. Required.
	ClientID string `json:"client_id"`
	// ClientSecret is the client's secret; placeholders such as {env.X} are replaced.
	// Default: none (a public client, PKCE only).
	ClientSecret string `json:"client_secret,omitempty"`
	// Scopes asked for, always with openid. Default: openid email profile.
	Scopes []string `json:"scopes,omitempty"`
	// TeamsClaim is the claim listing the user's groups. Default: groups.
	TeamsClaim string `json:"teams_claim,omitempty"`
	// DefaultTeams are uids of teams every SSO user is a member of. Default: none.
	DefaultTeams []string `json:"default_teams,omitempty"`
	// SyncTeams makes groups that match no team create one. Default: false.
	SyncTeams bool `json:"sync_teams,omitempty"`
	// NoCreateUsers refuses a first sign-in of someone without an account. Default:
	// false (the sign-in creates the user).
	NoCreateUsers bool `json:"no_create_users,omitempty"`
	// LinkExistingUsers lets a sign-in use an account made otherwise (a password user)
	// with the same verified email. Default: false.
	LinkExistingUsers bool `json:"link_existing_users,omitempty"`
	// CallbackURL is the exact redirect URI registered at the provider. Default: this
	// gateway's {auth_prefix}org/{org}/oidc/callback as requests reach it.
	CallbackURL string `json:"callback_url,omitempty"`
	// LogoutURL is where the provider sends the browser after a sign-out. Default: none.
	LogoutURL string `json:"logout_url,omitempty"`
}

// validate checks one organisation's settings.
func (o *SSOOrganization) validate(org string) error {
	if o == nil {
		return fmt.Errorf("keygate: sso %s: no settings", org)
	}
	if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("keygate: sso %s: issuer must be the provider's issuer URL, not %q", org, o.Issuer)
	}
	if o.ClientID == "" {
		return fmt.Errorf("keygate: sso %s: client_id is required", org)
	}
	return nil
}

// fileOIDC is the file's organisations as the management service takes them.
func (a *App) fileOIDC() map[string]manage.FileOIDC {
	repl := caddy.NewReplacer()
	out := make(map[string]manage.FileOIDC, len(a.SSO))
	for org, o := range a.SSO {
		out[org] = manage.FileOIDC{
			OIDCConfig: storage.OIDCConfig{
				IssuerURL: o.Issuer, ClientID: o.ClientID, Scopes: o.Scopes, Enabled: true,
				Claims: storage.OIDCClaims{Teams: o.TeamsClaim}, DefaultTeams: o.DefaultTeams, SyncTeams: o.SyncTeams,
				CreateUsers: !o.NoCreateUsers, LinkUsers: o.LinkExistingUsers, CallbackURL: o.CallbackURL, LogoutURL: o.LogoutURL,
			},
			ClientSecret: repl.ReplaceAll(o.ClientSecret, ""),
		}
	}
	return out
}

// parseSSO reads `sso <org> { issuer …; client_id …; … }`.
func (a *App) parseSSO(d *caddyfile.Dispenser) error {
	var org string
	if !d.Args(&org) || d.NextArg() {
		return d.Err("sso takes the organization's name and a block, e.g. `sso acme { issuer https://idp.example.com; client_id keygate }`")
	}
	if _, dup := a.SSO[org]; dup {
		return d.Errf("sso %s is given twice", org)
	}
	o := &SSOOrganization{}
	for d.NextBlock(1) {
		if err := o.parseSetting(d); err != nil {
			return err
		}
	}
	if err := o.validate(org); err != nil {
		return d.Err(err.Error())
	}
	if a.SSO == nil {
		a.SSO = map[string]*SSOOrganization{}
	}
	a.SSO[org] = o
	return nil
}

var errSSOSetting = errors.New("want issuer, client_id, client_secret, scopes, teams_claim, default_teams, sync_teams, no_create_users, link_existing_users, callback_url or logout_url")

func (o *SSOOrganization) parseSetting(d *caddyfile.Dispenser) error {
	name := d.Val()
	one := func(dst *string) error {
		v, err := oneArg(d)
		*dst = v
		return err
	}
	flag := func(dst *bool) error {
		if d.NextArg() {
			return d.ArgErr()
		}
		*dst = true
		return nil
	}
	switch name {
	case "issuer":
		return one(&o.Issuer)
	case "client_id":
		return one(&o.ClientID)
	case "client_secret":
		return one(&o.ClientSecret)
	case "teams_claim":
		return one(&o.TeamsClaim)
	case "callback_url":
		return one(&o.CallbackURL)
	case "logout_url":
		return one(&o.LogoutURL)
	case "scopes":
		o.Scopes = d.RemainingArgs()
		return nil
	case "default_teams":
		o.DefaultTeams = d.RemainingArgs()
		return nil
	case "sync_teams":
		return flag(&o.SyncTeams)
	case "no_create_users":
		return flag(&o.NoCreateUsers)
	case "link_existing_users":
		return flag(&o.LinkExistingUsers)
	}
	return d.Errf("unknown sso setting %q (%v)", name, errSSOSetting)
}
