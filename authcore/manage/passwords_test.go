package manage

import (
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
)

// passwordFixture is a tenant with an admin and a user without a password, on a
// service with a link key and a clock the test moves.
type passwordFixture struct {
	svc   *Service
	store storage.Store
	clock *time.Time
	admin authcore.Actor
	user  storage.User
}

func newPasswordFixture(t *testing.T) *passwordFixture {
	t.Helper()
	store := openStore(t)
	clock := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &passwordFixture{store: store, clock: &clock}
	f.svc = NewService(ServiceConfig{Store: store, Now: func() time.Time { return *f.clock }, LinkKey: []byte("link key of the test")})
	op := Operator{Service: f.svc}
	tn, err := op.CreateTenant(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := op.CreateUser(t.Context(), NewUser{TenantName: "acme", Email: "admin@acme.test", Role: storage.RoleTenantAdmin, Password: "admin-password"})
	if err != nil {
		t.Fatal(err)
	}
	f.admin = authcore.Actor{Principal: &authcore.Principal{UserUID: admin.UID, Email: admin.Email, TenantUID: tn.UID, Role: storage.RoleTenantAdmin}}
	if f.user, err = f.svc.CreateUser(t.Context(), f.admin, UserRequest{Email: "ann@acme.test", Role: storage.RoleUser}); err != nil {
		t.Fatal(err)
	}
	return f
}

// link is the user's pending link token, as an admin is shown it ("" if none).
func (f *passwordFixture) link(t *testing.T, uid string) string {
	t.Helper()
	links, err := f.svc.ActivationLinks(t.Context(), f.admin)
	if err != nil {
		t.Fatal(err)
	}
	return links[uid]
}

func (f *passwordFixture) passwordIs(t *testing.T, uid, pw string) bool {
	t.Helper()
	u, err := f.store.UserByUID(t.Context(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return protect.VerifyPassword(u.PasswordHash, pw)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := authcore.AsError(err); err == nil || got.Code != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func TestACreatedUserActivatesTheirPasswordOnceWithinADay(t *testing.T) {
	f := newPasswordFixture(t)
	ctx := t.Context()
	link := f.link(t, f.user.UID)
	if link == "" {
		t.Fatal("a user created without a password has no activation link")
	}
	// Stored as a digest only: the token is in no column of the store.
	pending, _ := f.store.PasswordTokens(ctx, f.user.TenantUID)
	if len(pending) != 1 || strings.Contains(string(pending[0].Digest), link) || pending[0].ID == link {
		t.Fatalf("pending tokens %+v", pending)
	}
	wantCode(t, "a forged token", f.svc.ActivatePassword(ctx, "192.0.2.1", link+"x", "chosen-password", protect.Direct{}), "ResourceNotFound")
	wantCode(t, "a short password", f.svc.ActivatePassword(ctx, "192.0.2.1", link, "short", protect.Direct{}), "BadRequest")
	if err := f.svc.ActivatePassword(ctx, "192.0.2.1", link, "chosen-password", protect.Direct{}); err != nil {
		t.Fatalf("activation: %v", err)
	}
	if !f.passwordIs(t, f.user.UID, "chosen-password") {
		t.Error("the activated password is not the user's")
	}
	wantCode(t, "the link used again", f.svc.ActivatePassword(ctx, "192.0.2.1", link, "another-password", protect.Direct{}), "ResourceNotFound")
	if f.link(t, f.user.UID) != "" || !f.passwordIs(t, f.user.UID, "chosen-password") {
		t.Error("a used link is still shown, or its second use changed the password")
	}

	// A reset link expires after a day: shown until then, refused from then on.
	if err := f.svc.StartPasswordReset(ctx, f.admin, f.user.UID); err != nil {
		t.Fatal(err)
	}
	reset := f.link(t, f.user.UID)
	*f.clock = f.clock.Add(ActivationLifetime - time.Second)
	if f.link(t, f.user.UID) != reset {
		t.Error("the reset link is not shown within its day")
	}
	*f.clock = f.clock.Add(time.Second)
	if f.link(t, f.user.UID) != "" {
		t.Error("an expired link is still shown")
	}
	wantCode(t, "an expired link", f.svc.ActivatePassword(ctx, "192.0.2.1", reset, "late-password", protect.Direct{}), "ResourceNotFound")
	if !f.passwordIs(t, f.user.UID, "chosen-password") {
		t.Error("an expired link changed the password")
	}
}

func TestAResetRequestKeepsThePendingLinkAndRevealsNothing(t *testing.T) {
	f := newPasswordFixture(t)
	ctx := t.Context()
	first := f.link(t, f.user.UID)
	for _, email := range []string{"ann@acme.test", "nobody@acme.test", "not an email"} {
		if err := f.svc.RequestPasswordReset(ctx, "192.0.2.1", email); err != nil {
			t.Errorf("RequestPasswordReset(%q): %v", email, err)
		}
	}
	if f.link(t, f.user.UID) != first {
		t.Error("a request replaced the link an admin may have handed out")
	}
	// The admin has no pending link; a request gives them one, audited without an actor.
	if f.link(t, f.admin.UserUID) != "" {
		t.Fatal("the admin has a link already")
	}
	*f.clock = f.clock.Add(time.Second) // the newest audit row is this one
	if err := f.svc.RequestPasswordReset(ctx, "192.0.2.1", "ADMIN@acme.test"); err != nil || f.link(t, f.admin.UserUID) == "" {
		t.Fatalf("a request for the admin: %v, link %q", err, f.link(t, f.admin.UserUID))
	}
	events, _, _ := f.store.ListAudit(ctx, f.user.TenantUID, storage.Page{Limit: 1})
	if len(events) != 1 || events[0].Action != "user.password_reset_request" || events[0].ActorUID != "" || events[0].SourceIP != "192.0.2.1" {
		t.Errorf("audit %+v", events)
	}
	// Without a link key (the command line) no link can be made.
	cli := NewService(ServiceConfig{Store: f.store})
	wantCode(t, "a reset on the command line", cli.StartPasswordReset(ctx, authcore.OperatorIn(f.user.TenantUID, ""), f.user.UID), "PasswordLinksUnavailable")
}

func TestAPasswordChangeNeedsTheCurrentPasswordAndEndsSessions(t *testing.T) {
	f := newPasswordFixture(t)
	ctx := t.Context()
	s := storage.Session{ID: "s1", UserUID: f.admin.UserUID, TenantUID: f.admin.TenantUID, CreatedAt: *f.clock}
	if err := f.store.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	// By email: an unknown email and a wrong password answer alike.
	unknown := f.svc.ChangePasswordByEmail(ctx, "ip", "nobody@acme.test", "admin-password", "new-password-1", protect.Direct{})
	wrong := f.svc.ChangePasswordByEmail(ctx, "ip", "admin@acme.test", "wrong-password", "new-password-1", protect.Direct{})
	if unknown == nil || authcore.AsError(unknown) != authcore.AsError(wrong) {
		t.Fatalf("unknown email %v, wrong password %v: want the same refusal", unknown, wrong)
	}
	if err := f.svc.ChangePasswordByEmail(ctx, "ip", "admin@acme.test", "admin-password", "new-password-1", protect.Direct{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.SessionByID(ctx, "s1"); got.RevokedAt.IsZero() || !f.passwordIs(t, f.admin.UserUID, "new-password-1") {
		t.Errorf("after the change: session %+v, new password set %v", got, f.passwordIs(t, f.admin.UserUID, "new-password-1"))
	}
	// By uid: one's own only; another user of an admin's tenant is 403, an unknown uid 404.
	wantCode(t, "wrong current password", f.svc.ChangeOwnPassword(ctx, f.admin, f.admin.UserUID, "admin-password", "new-password-2", protect.Direct{}), "CredentialInvalid")
	if err := f.svc.ChangeOwnPassword(ctx, f.admin, f.admin.UserUID, "new-password-1", "new-password-2", protect.Direct{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "another user's", f.svc.ChangeOwnPassword(ctx, f.admin, f.user.UID, "x", "new-password-3", protect.Direct{}), "Forbidden")
	wantCode(t, "an unknown uid", f.svc.ChangeOwnPassword(ctx, f.admin, "no-such-user", "x", "new-password-3", protect.Direct{}), "ResourceNotFound")
	// A change voids a pending link: it must not undo the change.
	if err := f.svc.StartPasswordReset(ctx, f.admin, f.admin.UserUID); err != nil {
		t.Fatal(err)
	}
	link := f.link(t, f.admin.UserUID)
	if err := f.svc.ChangePasswordByEmail(ctx, "ip", "admin@acme.test", "new-password-2", "new-password-3", protect.Direct{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "a link from before the change", f.svc.ActivatePassword(ctx, "ip", link, "link-password", protect.Direct{}), "ResourceNotFound")
}

func TestTenantTokenSettingsAreTheTenantAdmins(t *testing.T) {
	f := newPasswordFixture(t)
	ctx := t.Context()
	tenant := f.admin.TenantUID
	if got, err := f.svc.TokenSettings(ctx, f.admin, tenant); err != nil || got.TTL != defaultTokenTTL || got.Own {
		t.Fatalf("unset settings = %+v, %v", got, err)
	}
	for _, bad := range []time.Duration{14 * time.Minute, 1441 * time.Minute, 90 * time.Second} {
		wantCode(t, bad.String(), f.svc.SetTokenTTL(ctx, f.admin, tenant, bad), "BadRequest")
	}
	if err := f.svc.SetTokenTTL(ctx, f.admin, tenant, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.TokenSettings(ctx, f.admin, tenant); got.TTL != time.Hour || !got.Own {
		t.Errorf("settings = %+v, want an hour of the tenant's own", got)
	}
	user := authcore.Actor{Principal: &authcore.Principal{UserUID: f.user.UID, TenantUID: tenant, Role: storage.RoleUser}}
	wantCode(t, "a user", f.svc.SetTokenTTL(ctx, user, tenant, time.Hour), "Forbidden")
	_, err := f.svc.TokenSettings(ctx, f.admin, "other-tenant")
	wantCode(t, "another tenant", err, "ResourceNotFound")
}
