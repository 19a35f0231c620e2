package manage

import (
	"context"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// The ways an organisation's users sign in, Palette's authType.
const (
	AuthPassword = "password"
	AuthSSO      = "sso"
)

// Organization is how an organisation's users sign in, as the login page asks before
// any credential (Palette's v1LoginResponse and v1Organization).
type Organization struct {
	Name        string
	AuthType    string     // AuthPassword, or AuthSSO when single sign-on is enabled
	SSOLogins   []SSOLogin // the identity providers offered
	RedirectURL string     // where an SSO login starts (the handler fills it); "" for password logins
}

// SSOLogin is one identity provider an organisation offers.
type SSOLogin struct {
	Name, DisplayName, Logo, RedirectURI string
}

// Organization describes how the organisation named name signs in, to anyone. An
// unknown name gets the answer a password organisation gets: like a login, which
// answers an unknown organisation as a wrong password, it must not tell which names
// exist. An organisation with single sign-on enabled answers sso and its providers:
// that is what the lookup is for.
func (s *Service) Organization(ctx context.Context, name string) (Organization, error) {
	t, err := s.store.TenantByName(ctx, name)
	switch {
	case authcore.IsNotFound(err):
		return passwordOrganization(name), nil
	case err != nil:
		return Organization{}, authcore.Unavailable(err)
	}
	return s.organization(ctx, t)
}

// organization is how the tenant's users sign in.
func (s *Service) organization(ctx context.Context, t storage.Tenant) (Organization, error) {
	logins, err := s.ssoLogins(ctx, t)
	if err != nil || len(logins) == 0 {
		return passwordOrganization(t.Name), err
	}
	return Organization{Name: t.Name, AuthType: AuthSSO, SSOLogins: logins}, nil
}

func passwordOrganization(name string) Organization {
	return Organization{Name: name, AuthType: AuthPassword, SSOLogins: []SSOLogin{}}
}

// Organizations lists the organisations where the caller's email has an enabled
// account, oldest first: what a signed-in user may switch to. Without a credential (a
// nil principal) it lists none: the names of every tenant are not anyone's to read.
func (s *Service) Organizations(ctx context.Context, a authcore.Actor) ([]Organization, error) {
	orgs := []Organization{}
	if a.Principal == nil || a.Email == "" {
		return orgs, nil
	}
	users, err := s.store.UsersByEmail(ctx, a.Email)
	if err != nil {
		return nil, authcore.Unavailable(err)
	}
	for _, u := range users {
		if u.Disabled {
			continue
		}
		t, err := s.store.TenantByUID(ctx, u.TenantUID)
		if err != nil {
			return nil, authcore.StoreError(err, "tenant "+u.TenantUID)
		}
		o, err := s.organization(ctx, t)
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, o)
	}
	return orgs, nil
}
