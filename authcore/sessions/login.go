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
	Device   string // the device cookie the client presented, if any
}

// errOrgRequired answers a correct password for an email in several tenants.
var errOrgRequired = &authcore.Error{Status: http.StatusBadRequest, Code: "OrgRequired", Message: "this email belongs to several organizations; name one in \"org\""}

// maxEmailLen is the longest email address SMTP allows; longer ones are refused early.
const maxEmailLen = 254

// Login checks an email and password and starts a session. Before any store read it
// counts the attempt (per account and per client network, or per device when the login
// presents a device cookie for the account), so a concurrent burst cannot slip past the
// limit, and takes the hash's cost from the CPU budget; past a limit the answer is 429,
// past the budget 503 LoginBusy, neither having looked up the email or hashed. An
// attempt that succeeds, or is refused for the budget, is refunded. An unknown email
// costs the same hashing as a wrong password and gets the same answer.
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
	a, err := iss.admit(ctx, l)
	if err != nil {
		return Issued{}, err
	}
	u, err := iss.checkPassword(ctx, l, a)
	if err == errClientGone {
		a.refund() // nothing was checked
	}
	if err != nil {
		return Issued{}, err // the attempt stays counted
	}
	a.refund()
	issued, err := iss.startSession(ctx, userPrincipal(u), l.ClientIP, "password")
	if err == nil {
		issued.Device = iss.newDevice(u.Email, u.TenantUID)
	}
	return issued, err
}

// attempt is an admitted login: what it was counted against, and its hashing ticket.
type attempt struct {
	device *device // nil: an unknown client
	ticket *protect.Ticket
	refund func() // gives the counted attempt back
}

// admit counts a login and takes its hash from the budget, reading no account (the
// shared counts, when the store has them, are written by digest alike for every email):
// the answer cannot depend on whether the email is an account. A trusted device is
// counted against itself alone; a locked one is treated as unknown, as OWASP has it.
func (iss *Issuer) admit(ctx context.Context, l Login) (*attempt, error) {
	if d := iss.trustedDevice(l.Device, l.Email); d != nil {
		ticket, refund, err := iss.counted(ctx, true, errDeviceLocked, protect.Count{Throttle: iss.devices, Key: d.key})
		if err != errDeviceLocked {
			return &attempt{device: d, ticket: ticket, refund: refund}, err
		}
	}
	ticket, refund, err := iss.counted(ctx, false, nil, iss.accountAndClient(l.Email, l.ClientIP)...)
	return &attempt{ticket: ticket, refund: refund}, err
}

// errDeviceLocked tells admit that a device is past its limit: the login goes on as an
// unknown client's.
var errDeviceLocked = errors.New("device locked")

// counted counts an attempt against counts and takes its hash from the budget: first on
// this node, then, once the budget has admitted it, in the shared counts, so that a
// login refused for the gateway's load (503 LoginBusy, which gives its attempt back)
// writes nothing. Past a limit the answer is locked, or 429 when locked is nil. trusted
// is the budget's share for a trusted device. refund gives the attempt back.
func (iss *Issuer) counted(ctx context.Context, trusted bool, locked error, counts ...protect.Count) (*protect.Ticket, func(), error) {
	blocked := func(wait time.Duration) error {
		if locked != nil {
			return locked
		}
		return authcore.TooManyRequests(wait)
	}
	if wait, ok := protect.ReserveLocal(counts...); !ok {
		return nil, nil, blocked(wait)
	}
	ticket, wait, ok := iss.budget.Admit(trusted)
	if !ok {
		protect.RefundLocal(counts...) // refused for the gateway's load, not the client's guesses
		return nil, nil, authcore.LoginBusy(wait)
	}
	if wait, ok := protect.ReserveShared(ctx, counts...); !ok {
		ticket.Release()
		return nil, nil, blocked(wait)
	}
	return ticket, func() { protect.Refund(ctx, counts...) }, nil
}

// accountAndClient are the counts of an untrusted attempt: its account (an email) and its
// client's network, written together in one write of the shared counts.
func (iss *Issuer) accountAndClient(email, clientIP string) []protect.Count {
	return []protect.Count{{Throttle: iss.logins, Key: protect.AccountKey(email)}, {Throttle: iss.clients, Key: protect.ClientKey(clientIP)}}
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

// checkPassword finds the one user the login names and verifies its password, within
// the tenant of its trusted device if it has one.
func (iss *Issuer) checkPassword(ctx context.Context, l Login, a *attempt) (storage.User, error) {
	candidates, err := iss.loginCandidates(ctx, l)
	if err == nil && a.device != nil {
		candidates = inTenant(candidates, a.device.tenantUID)
	}
	if err != nil {
		a.ticket.Release()
		return storage.User{}, err
	}
	matched, err := iss.verifyCandidates(ctx, a.ticket, candidates, l.Password)
	if err != nil {
		return storage.User{}, err
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

// verifyCandidates hashes the password against each candidate, or once against nothing
// when there are none: the same cost as a wrong password.
func (iss *Issuer) verifyCandidates(ctx context.Context, t *protect.Ticket, candidates []storage.User, password string) ([]storage.User, error) {
	if len(candidates) == 0 {
		candidates = []storage.User{{}} // an empty hash never matches
	}
	var matched []storage.User
	for _, u := range candidates {
		ok := false
		if !t.Hash(ctx, func() { ok = protect.VerifyPassword(u.PasswordHash, password) }) {
			t.Release()
			return nil, errClientGone // the client gave up while waiting: not a store outage
		}
		if ok {
			matched = append(matched, u)
		}
	}
	return matched, nil
}

// errClientGone answers a login whose client left while it waited for a hashing slot.
var errClientGone = authcore.LoginBusy(time.Second)

func inTenant(users []storage.User, tenantUID string) []storage.User {
	var in []storage.User
	for _, u := range users {
		if u.TenantUID == tenantUID {
			in = append(in, u)
		}
	}
	return in
}

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
	return inTenant(users, t.UID), nil
}

// LoginWithAPIKey exchanges a valid API key for a token in a new session.
func (iss *Issuer) LoginWithAPIKey(ctx context.Context, key, clientIP string) (Issued, error) {
	if err := iss.CheckClient(clientIP); err != nil {
		iss.obs.Login(loginResult(err))
		return Issued{}, err
	}
	p, err := iss.verifier.AuthenticateAPIKey(ctx, key)
	if err != nil {
		iss.noteRejection(ctx, clientIP, err)
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

// LoginWithSSO starts a session for a user the organisation's identity provider signed
// in (the management service found, linked or created them, and set their teams).
func (iss *Issuer) LoginWithSSO(ctx context.Context, u storage.User, clientIP string) (Issued, error) {
	if u.Disabled {
		return Issued{}, authcore.ErrLoginFailed
	}
	issued, err := iss.startSession(ctx, userPrincipal(u), clientIP, "sso")
	iss.obs.Login(loginResult(err))
	if err == nil {
		iss.obs.TokenIssued("sso")
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
// The count is this node's alone: keys and tokens cannot be guessed, so the limit is
// about load, and a write to the shared counts for each would let a flood of forged keys
// from many addresses cost the database a write per request. Passwords, which can be
// guessed, are counted cluster-wide (admit, Guarded).
func (iss *Issuer) noteRejection(_ context.Context, ip string, err error) {
	if err == authcore.ErrCredentialInvalid || err == authcore.ErrCredentialMalformed {
		iss.clients.FailLocal(protect.ClientKey(ip))
	}
}

// ClientRejected is noteRejection for the handler's proxied requests: it writes nothing
// to the store, for a rejected credential or an accepted one.
func (iss *Issuer) ClientRejected(ip string, err error) {
	iss.noteRejection(context.Background(), ip, err)
}

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
	case e.Status == 429:
		return "throttled"
	case e.Code == "LoginBusy":
		return "busy"
	case e == authcore.ErrUserDisabled:
		return "disabled"
	case e.Status >= 500:
		return "unavailable"
	case e.Status == 400:
		return "bad_request"
	}
	return "failed"
}
