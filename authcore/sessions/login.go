package sessions

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
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
var errOrgRequired = &authcore.Error{Status: http.StatusBadRequest, Code: "OrgRequired", Message: "this email belongs to several organizations; name one in \"org\""}

// maxEmailLen is the longest email address SMTP allows; longer ones are refused early.
const maxEmailLen = 254

// Login checks an email and password and starts a session. Attempts are counted per
// account and per client network before the password is checked (so a concurrent burst
// cannot slip past the limit); a successful attempt is refunded. Past the limit the
// answer is 429 without the password being checked. An unknown email costs the same
// hashing as a wrong password and gets the same answer.
func (iss *Issuer) Login(ctx context.Context, l Login) (Issued, error) {
	issued, err := iss.login(ctx, l)
	iss.obs.Login(loginResult(err))
	if err == nil {
		iss.obs.TokenIssued("password")
	}
	return issued, err
}

func (iss *Issuer) login(ctx context.Context, l Login) (Issued, error) {
	if len(l.Email) > maxEmailLen {
		return Issued{}, authcore.ErrLoginFailed
	}
	account, client := protect.AccountKey(l.Email), protect.ClientKey(l.ClientIP)
	if wait, ok := iss.logins.Reserve(account); !ok {
		return Issued{}, authcore.TooManyRequests(wait)
	}
	if wait, ok := iss.clients.Reserve(client); !ok {
		iss.logins.Refund(account)
		return Issued{}, authcore.TooManyRequests(wait)
	}
	u, err := iss.checkPassword(ctx, l)
	if err != nil {
		return Issued{}, err // both attempts stay counted
	}
	iss.logins.Refund(account)
	iss.clients.Refund(client)
	return iss.startSession(ctx, userPrincipal(u), l.ClientIP, "password")
}

// record appends the audit event of a failed attempt, best effort: the answer is a
// refusal either way, and the store being down shows elsewhere.
func (iss *Issuer) record(ctx context.Context, tenantUID, actorUID, actorEmail, action, kind, target, ip, detail string) {
	_ = iss.store.AppendAudit(ctx, storage.AuditEvent{
		ID: authcore.NewUID(), TenantUID: tenantUID, At: iss.now().UTC().Truncate(time.Millisecond),
		ActorUID: actorUID, ActorEmail: actorEmail, Action: action, TargetKind: kind,
		TargetUID: target, SourceIP: ip, Detail: detail,
	})
}

// checkPassword finds the one user the login names and verifies its password.
func (iss *Issuer) checkPassword(ctx context.Context, l Login) (storage.User, error) {
	candidates, err := iss.loginCandidates(ctx, l)
	if err != nil {
		return storage.User{}, err
	}
	if err := iss.acquireHashSlot(ctx); err != nil {
		return storage.User{}, err
	}
	defer iss.releaseHashSlot()
	var matched []storage.User
	for _, u := range candidates {
		if protect.VerifyPassword(u.PasswordHash, l.Password) {
			matched = append(matched, u)
		}
	}
	if len(candidates) == 0 {
		protect.VerifyPassword("", l.Password) // the same cost as a wrong password
	}
	switch {
	case len(matched) == 0:
		for _, u := range candidates { // failures against known accounts are audited
			iss.record(ctx, u.TenantUID, u.UID, u.Email, "login.failure", "user", u.UID, l.ClientIP, "wrong password")
		}
		return storage.User{}, authcore.ErrLoginFailed
	case len(matched) > 1:
		return storage.User{}, errOrgRequired
	case matched[0].Disabled:
		return storage.User{}, authcore.ErrUserDisabled
	}
	return matched[0], nil
}

// acquireHashSlot bounds how many password hashes run at once: each takes 19 MiB, so
// a flood of logins for many accounts waits here instead of exhausting memory.
func (iss *Issuer) acquireHashSlot(ctx context.Context) error {
	select {
	case iss.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done(): // the client gave up while waiting: not a store outage
		return errHashBusy
	}
}

func (iss *Issuer) releaseHashSlot() { <-iss.hashSlots }

// errHashBusy answers a login that waited too long for a hashing slot.
var errHashBusy = &authcore.Error{Status: http.StatusServiceUnavailable, Code: "Busy", Message: "too many logins are being checked; try again shortly"}

// loginCandidates returns the users the email may mean, within org when it is given.
func (iss *Issuer) loginCandidates(ctx context.Context, l Login) ([]storage.User, error) {
	if l.Email == "" || l.Password == "" {
		return nil, nil
	}
	users, err := iss.store.UsersByEmail(ctx, l.Email)
	if err != nil {
		return nil, authcore.Unavailable(err)
	}
	if l.Org == "" {
		return users, nil
	}
	t, err := iss.store.TenantByName(ctx, l.Org)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil // answered like a wrong password: organizations cannot be probed
	}
	if err != nil {
		return nil, authcore.Unavailable(err)
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
func (iss *Issuer) LoginWithAPIKey(ctx context.Context, key, clientIP string) (Issued, error) {
	if err := iss.CheckClient(clientIP); err != nil {
		iss.obs.Login(loginResult(err))
		return Issued{}, err
	}
	p, err := iss.verifier.AuthenticateAPIKey(ctx, key)
	if err != nil {
		iss.noteRejection(clientIP, err)
		iss.obs.Login(loginResult(err))
		return Issued{}, err
	}
	issued, err := iss.startSession(ctx, p, clientIP, "api key "+p.KeyUID)
	iss.obs.Login(loginResult(err))
	if err == nil {
		iss.obs.TokenIssued("apikey")
	}
	return issued, err
}

// CheckClient answers 429 while a client is blocked for repeated failures.
func (iss *Issuer) CheckClient(ip string) error {
	if wait, blocked := iss.clients.Blocked(protect.ClientKey(ip)); blocked {
		return authcore.TooManyRequests(wait)
	}
	return nil
}

// noteRejection counts a rejected credential against its client when it looks like
// guessing: a malformed or unknown credential. Expired, revoked and disabled ones were
// genuine, and a burst of them after a token expires must not block a shared address.
func (iss *Issuer) noteRejection(ip string, err error) {
	if err == authcore.ErrCredentialInvalid || err == authcore.ErrCredentialMalformed {
		iss.clients.Fail(protect.ClientKey(ip))
	}
}

// ClientRejected is noteRejection for the handler's proxied requests.
func (iss *Issuer) ClientRejected(ip string, err error) { iss.noteRejection(ip, err) }

func userPrincipal(u storage.User) *authcore.Principal {
	p := authcore.UserPrincipal(u, "")
	return &p
}

// UserInfo is what GET /v1/users/info reports.
type UserInfo struct {
	OrgName   string `json:"orgName"`
	TenantUID string `json:"tenantUid"`
	UserUID   string `json:"userUid"`
}

// Info describes the caller.
func (iss *Issuer) Info(ctx context.Context, p *authcore.Principal) (UserInfo, error) {
	t, err := iss.store.TenantByUID(ctx, p.TenantUID)
	if err != nil {
		return UserInfo{}, authcore.StoreError(err, "tenant")
	}
	return UserInfo{OrgName: t.Name, TenantUID: t.UID, UserUID: p.UserUID}, nil
}

// loginResult names a login outcome for the Observer.
func loginResult(err error) string {
	switch e := authcore.AsError(err); {
	case err == nil:
		return "ok"
	case e.Status == 429, e == errHashBusy:
		return "throttled"
	case e == authcore.ErrUserDisabled:
		return "disabled"
	case e.Status >= 500:
		return "unavailable"
	case e.Status == 400:
		return "bad_request"
	}
	return "failed"
}
