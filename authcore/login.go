package authcore

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/keygate/keygate/storage"
)

// Login is a password login request.
type Login struct {
	Email    string
	Password string
	Org      string // tenant name; optional when the email is in one tenant only
	ClientIP string
}

// errOrgRequired answers a correct password for an email in several tenants.
var errOrgRequired = &Error{Status: http.StatusBadRequest, Code: "OrgRequired", Message: "this email belongs to several organizations; name one in \"org\""}

// Login checks an email and password and starts a session. Failures are counted per
// account and per client IP; past the limit the answer is 429 without the password being
// checked. An unknown email costs the same hashing as a wrong password and gets the same
// answer.
func (a *Authenticator) Login(ctx context.Context, l Login) (Issued, error) {
	account := "account:" + strings.ToLower(l.Email)
	if err := a.throttled(account, "ip:"+l.ClientIP); err != nil {
		return Issued{}, err
	}
	candidates, err := a.loginCandidates(ctx, l)
	if err != nil {
		return Issued{}, err
	}
	var matched []storage.User
	for _, u := range candidates {
		if VerifyPassword(u.PasswordHash, l.Password) {
			matched = append(matched, u)
		}
	}
	if len(candidates) == 0 {
		VerifyPassword("", l.Password) // the same cost as a wrong password
	}
	switch len(matched) {
	case 0:
		a.logins.Fail(account)
		a.clients.Fail("ip:" + l.ClientIP)
		return Issued{}, ErrLoginFailed
	case 1:
	default:
		return Issued{}, errOrgRequired
	}
	a.logins.Clear(account)
	u := matched[0]
	if u.Disabled {
		return Issued{}, ErrUserDisabled
	}
	return a.startSession(ctx, userPrincipal(u))
}

// loginCandidates returns the users the email may mean, within org when it is given.
func (a *Authenticator) loginCandidates(ctx context.Context, l Login) ([]storage.User, error) {
	if l.Email == "" || l.Password == "" {
		return nil, nil
	}
	users, err := a.store.UsersByEmail(ctx, l.Email)
	if err != nil {
		return nil, unavailable(err)
	}
	if l.Org == "" {
		return users, nil
	}
	t, err := a.store.TenantByName(ctx, l.Org)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil // answered like a wrong password: organizations cannot be probed
	}
	if err != nil {
		return nil, unavailable(err)
	}
	var inOrg []storage.User
	for _, u := range users {
		if u.TenantUID == t.UID {
			inOrg = append(inOrg, u)
		}
	}
	return inOrg, nil
}

// LoginWithAPIKey exchanges a valid API key for a token in a new session.
func (a *Authenticator) LoginWithAPIKey(ctx context.Context, key, clientIP string) (Issued, error) {
	if err := a.throttled("ip:" + clientIP); err != nil {
		return Issued{}, err
	}
	p, err := a.AuthenticateAPIKey(ctx, key)
	if err != nil {
		if AsError(err).Status == http.StatusUnauthorized {
			a.clients.Fail("ip:" + clientIP)
		}
		return Issued{}, err
	}
	return a.startSession(ctx, p)
}

// throttled answers 429 if any key is blocked.
func (a *Authenticator) throttled(keys ...string) error {
	for _, k := range keys {
		t := a.clients
		if strings.HasPrefix(k, "account:") {
			t = a.logins
		}
		if wait, blocked := t.Blocked(k); blocked {
			return tooManyRequests(wait)
		}
	}
	return nil
}

// CheckClient answers 429 while a client IP is blocked for repeated failures.
func (a *Authenticator) CheckClient(ip string) error { return a.throttled("ip:" + ip) }

// ClientFailed counts a rejected credential from a client IP.
func (a *Authenticator) ClientFailed(ip string) { a.clients.Fail("ip:" + ip) }

func userPrincipal(u storage.User) *Principal {
	return &Principal{UserUID: u.UID, Email: u.Email, TenantUID: u.TenantUID, Role: u.Role}
}

// UserInfo is what GET /v1/users/info reports.
type UserInfo struct {
	OrgName   string `json:"orgName"`
	TenantUID string `json:"tenantUid"`
	UserUID   string `json:"userUid"`
}

// Info describes the caller.
func (a *Authenticator) Info(ctx context.Context, p *Principal) (UserInfo, error) {
	t, err := a.store.TenantByUID(ctx, p.TenantUID)
	if err != nil {
		return UserInfo{}, storeError(err, "tenant")
	}
	return UserInfo{OrgName: t.Name, TenantUID: t.UID, UserUID: p.UserUID}, nil
}
