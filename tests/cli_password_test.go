package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// keygate user reset-password gives a user a new password, shown once when Keygate
// chose it, and ends the sessions made with the old one; the running gateway honours
// both at once, and the change is audited as the operator's.
func TestCLIResetPasswordEndsTheOldPasswordAndItsSessions(t *testing.T) {
	s, g := startCLIGateway(t)
	login := func(password string) (int, string) {
		res, token, _ := g.login(t, "", fmt.Sprintf(`{"emailId":"ann@acme.test","password":%q}`, password), nil)
		return res.StatusCode, token
	}

	s.ok("tenant", "create", "--name", "acme")
	s.okWith("old-password-1\n", "user", "create", "--tenant", "acme", "--email", "ann@acme.test", "--role", "user", "--password-stdin")
	status, oldToken := login("old-password-1")
	if status != http.StatusOK {
		t.Fatalf("login with the first password: %d", status)
	}

	var reset struct{ UID, EmailID, Password string }
	s.json(&reset, "user", "reset-password", "--email", "ann@acme.test", "--tenant", "acme")
	if len(reset.Password) < 20 || reset.EmailID != "ann@acme.test" {
		t.Fatalf("reset-password --json = %+v: want the new random password, once", reset)
	}
	if status, _ := login("old-password-1"); status != http.StatusUnauthorized {
		t.Errorf("the old password after the reset: %d, want 401", status)
	}
	eventually(t, "the old session ends on the gateway", func() bool {
		return g.do(t, "/orders", map[string]string{"Authorization": oldToken}).status == http.StatusUnauthorized
	})
	status, newToken := login(reset.Password)
	if status != http.StatusOK || g.do(t, "/orders", map[string]string{"Authorization": newToken}).status != http.StatusOK {
		t.Fatalf("login with the new password: %d", status)
	}

	// A password the operator types is set as it is and never printed back.
	out := s.okWith("chosen-password-2\n", "user", "reset-password", "--email", "ann@acme.test", "--password-stdin")
	if strings.Contains(out, "chosen-password-2") || !strings.Contains(out, "sessions have ended") {
		t.Errorf("reset-password --password-stdin printed %q", out)
	}
	if status, _ := login("chosen-password-2"); status != http.StatusOK {
		t.Errorf("login with the typed password: %d", status)
	}

	var audit cliItems[cliAuditItem]
	s.json(&audit, "audit", "list", "--tenant", "acme")
	resets := 0
	for _, it := range audit.Items {
		if it.Spec.Action == "user.password_reset" {
			resets++
		}
	}
	if resets != 2 {
		t.Errorf("audit holds %d user.password_reset rows, want 2: %+v", resets, audit.Items)
	}
	if r := s.run("user", "reset-password", "--email", "nobody@acme.test"); r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("reset-password of an unknown user: exit %d, stderr %q: want one line and a failure", r.code, r.stderr)
	}
}

// keygate tenant token-settings shows a tenant's token lifetime and sets it; the running
// gateway issues its next token for that long.
func TestCLITokenSettingsSetATenantsTokenLifetime(t *testing.T) {
	s, g := startCLIGateway(t)
	s.ok("tenant", "create", "--name", "acme")
	s.okWith("ann-password-1\n", "user", "create", "--tenant", "acme", "--email", "ann@acme.test", "--role", "user", "--password-stdin")

	var got struct {
		ExpiryTimeMinutes int
		Own               bool
	}
	s.json(&got, "tenant", "token-settings", "--name", "acme")
	if got.ExpiryTimeMinutes != 15 || got.Own {
		t.Fatalf("token-settings = %+v, want the gateway's 15 minutes", got)
	}
	if out := s.run("tenant", "token-settings", "--name", "acme", "--expiry-minutes", "5"); out.code == 0 || !strings.Contains(out.stderr, "15 to 1440") {
		t.Errorf("5 minutes: exit %d, %q", out.code, out.stderr)
	}
	s.json(&got, "tenant", "token-settings", "--name", "acme", "--expiry-minutes", "120")
	if got.ExpiryTimeMinutes != 120 || !got.Own {
		t.Fatalf("after setting 120: %+v", got)
	}
	_, token, _ := g.login(t, "", `{"emailId":"ann@acme.test","password":"ann-password-1"}`, nil)
	if d := tokenLifetime(t, token); d < 2*time.Hour || d > 2*time.Hour+time.Second {
		t.Errorf("a login after the CLI set 120 minutes: a token for %v", d)
	}
}
