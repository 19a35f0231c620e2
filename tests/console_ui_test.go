package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// A user creates a key in the console, copies it, uses it, revokes, re-activates, edits
// and deletes it; the gateway follows each step.
func TestConsoleKeyLifecycle(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	g.expiredKey(t, ann, "old", "")
	b := newBrowser(t, 1280, 800)
	b.allowClipboard(t, g.url)
	b.login(t, g, ann.Email)

	// An expired key says so, and cannot be re-activated: the item is disabled, with a
	// tooltip saying why.
	if got := b.status(t, "old"); got != "Expired" {
		t.Fatalf("expired key's status %q", got)
	}
	b.do(t, chromedp.Click(chromedp.CSS(`button[aria-label="Actions for old"]`)), chromedp.WaitVisible(menuItem("Re-activate")))
	item := get(t, b, chromedp.Attributes(menuItem("Re-activate")))
	if item["aria-disabled"] != "true" || !strings.Contains(item["title"], "cannot be re-activated") {
		t.Fatalf("Re-activate of an expired key: %v", item)
	}
	b.do(t, press("Escape"), chromedp.WaitNotPresent(menuItem("Re-activate")))
	b.waitFor(t, "Escape to give focus back to the menu button", `document.activeElement?.getAttribute('aria-label') === 'Actions for old'`)

	// The wizard: details, the 7-day preset, then the key shown once.
	b.do(t,
		chromedp.Click(chromedp.ID("add-key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "laptop"),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=description]"), "Ann's laptop"),
		chromedp.Click(choice("7 days")),
		chromedp.Click(dialogButton("Create key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] .key-output")),
	)
	if text := get(t, b, chromedp.Text(chromedp.CSS("dialog[open]"))); !strings.Contains(text, "It will not be shown again") {
		t.Fatalf("the one-time display lacks the warning: %q", text)
	}
	key := get(t, b, chromedp.Value(chromedp.CSS("dialog[open] .key-output")))
	if _, ok := authcore.ParseKey(key); !ok {
		t.Fatalf("the wizard shows %q, not a key", key)
	}
	b.do(t, chromedp.Click(chromedp.CSS("dialog[open] .copy-btn")))
	b.waitFor(t, "the copy button to say Copied", `document.querySelector('dialog[open] .copy-label')?.textContent === 'Copied'`)
	copied, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || copied != key {
		t.Fatalf("clipboard holds %q (%v), want the key", copied, err)
	}

	// The copied key works through the gateway, as Ann.
	if r := g.do(t, "/", map[string]string{"ApiKey": copied}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Email") != ann.Email {
		t.Fatalf("the copied key: %d %s", r.status, r.body)
	}
	b.do(t, chromedp.Click(dialogButton("Done")), chromedp.WaitVisible(chromedp.CSS(row("laptop"))))
	if got := b.status(t, "laptop"); got != "Active" {
		t.Fatalf("new key's status %q", got)
	}
	b.checkExpiry(t, "laptop", 7)

	// Revoke in the table: Inactive, and refused.
	b.menu(t, "laptop", "Revoke")
	b.waitStatus(t, "laptop", "Inactive")
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusUnauthorized || r.err.Code != "CredentialRevoked" {
		t.Fatalf("revoked key: %d %s", r.status, r.body)
	}

	// Re-activate with the keyboard alone: Enter opens the menu on its first item (Edit),
	// ArrowDown reaches Re-activate, Enter picks it.
	b.do(t,
		chromedp.Focus(chromedp.CSS(`button[aria-label="Actions for laptop"]`)),
		press("Enter"),
		chromedp.WaitVisible(menuItem("Re-activate")),
		press("ArrowDown"),
		press("Enter"),
	)
	b.waitStatus(t, "laptop", "Active")
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK {
		t.Fatalf("re-activated key: %d %s", r.status, r.body)
	}

	// Edit: a new name, and a date from the date picker, which is the start of that
	// day in the browser's time zone (this process's).
	day := time.Now().AddDate(0, 0, 45)
	b.menu(t, "laptop", "Edit")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.Clear(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "laptop-2"),
		chromedp.Click(choice("Custom")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[type=date]")),
		chromedp.SetValue(chromedp.CSS("dialog[open] input[type=date]"), day.Format(time.DateOnly)),
		chromedp.Click(dialogButton("Save")),
		chromedp.WaitVisible(chromedp.CSS(row("laptop-2"))),
	)
	attr := get(t, b, chromedp.AttributeValue(chromedp.CSS(row("laptop-2")+" time"), "datetime"))
	if exp, err := time.Parse(time.RFC3339, attr.Value); err != nil || !exp.Equal(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.Local)) {
		t.Fatalf("after picking %s the key expires %s (%v)", day.Format(time.DateOnly), attr.Value, err)
	}

	// Delete, after confirming.
	b.menu(t, "laptop-2", "Delete")
	b.do(t, chromedp.Click(dialogButton("Delete")), chromedp.WaitNotPresent(chromedp.CSS(row("laptop-2"))))
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted key: %d %s", r.status, r.body)
	}
}

// checkExpiry checks that a key's expiration date is days from now.
func (b *tab) checkExpiry(t *testing.T, name string, days int) {
	t.Helper()
	attr := get(t, b, chromedp.AttributeValue(chromedp.CSS(row(name)+" time"), "datetime"))
	exp, err := time.Parse(time.RFC3339, attr.Value)
	if want := time.Now().AddDate(0, 0, days); err != nil || exp.Sub(want).Abs() > time.Minute {
		t.Fatalf("%s expires %q (%v), want about %s", name, attr.Value, err, want)
	}
}

// expiredKey stores a key of u that expired an hour ago.
func (g *gateway) expiredKey(t *testing.T, u storage.User, name, description string) {
	t.Helper()
	_, digest, hint := taggedKeyOn(t, g.store)
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	if err := g.store.CreateAPIKey(context.Background(), storage.APIKey{UID: authcore.NewUID(), TenantUID: u.TenantUID, UserUID: u.UID, Name: name, Description: description,
		Digest: digest[:], Hint: hint, ExpiresAt: past, Active: true, CreatedAt: past.Add(-time.Hour), UpdatedAt: past, Tagged: true}, 0); err != nil {
		t.Fatal(err)
	}
}

// A tenant admin sees every key of the tenant, filters by user, revokes another user's
// key, and creates a key for a user picked from the drop-down.
func TestConsoleTenantAdminManagesOtherUsersKeys(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t) // dev@acme.test with a key named e2e
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	annKey := g.mustKey(t, ann, "30d").Key
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)

	b.goTo(t, "API Keys")
	// The heading shows before the listing arrives.
	b.waitFor(t, "the tenant's keys to be listed", `document.querySelectorAll("#keys-table tbody tr").length >= 2`)
	if n := b.count(t, "#keys-table tbody tr"); n != 2 {
		t.Fatalf("the tenant's key table has %d rows, want dev's and ann's keys", n)
	}
	b.do(t, selectOption("#user-filter", s.user.UID))
	b.waitFor(t, "the filter to leave dev's key alone", `(() => {
		const users = [...document.querySelectorAll('#keys-table tbody .col-user')].map((td) => td.textContent);
		return users.length === 1 && users[0] === 'dev@acme.test';
	})()`)

	b.menu(t, "e2e", "Revoke")
	b.waitStatus(t, "e2e", "Inactive")
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey}); r.err.Code != "CredentialRevoked" {
		t.Fatalf("dev's key after the admin revoked it: %d %s", r.status, r.body)
	}
	if r := g.do(t, "/", map[string]string{"ApiKey": annKey}); r.status != http.StatusOK {
		t.Fatalf("ann's key was affected: %d", r.status)
	}

	// A key for Ann, picked from the wizard's user drop-down.
	b.do(t,
		chromedp.Click(chromedp.ID("add-key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] select[name=user]")),
		selectOption("dialog[open] select[name=user]", ann.UID),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "for-ann"),
		chromedp.Click(dialogButton("Create key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] .key-output")),
	)
	key := get(t, b, chromedp.Value(chromedp.CSS("dialog[open] .key-output")))
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Email") != ann.Email {
		t.Fatalf("the key made for ann: %d %s", r.status, r.body)
	}
	b.do(t, chromedp.Click(dialogButton("Done")))
	b.checkExpiry(t, "for-ann", 30) // the wizard's default; the table now shows ann's keys
	if v := get(t, b, chromedp.Value(chromedp.ID("user-filter"))); v != ann.UID {
		t.Fatalf("after creating ann's key the filter shows %q", v)
	}
}

// A tenant admin adds, promotes, disables, re-enables and deletes users, makes a project
// with a member, and reads the audit log newest first, page by page.
func TestConsoleTenantAdminManagesUsersProjectsAndAudit(t *testing.T) {
	g := startGatewayWith(t, "max_keys_per_user 0", "") // 30 keys of one user below

	s := g.seed(t)
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	leeKey := g.mustKey(t, lee, "30d").Key
	for i := 0; i < 30; i++ { // enough audit events for a second page
		if code := g.api(t, leeKey, "POST", "/v1/apiKeys", keyBody(fmt.Sprintf("bulk-%d", i), "expiryPreset", "7d", ""), nil); code != http.StatusCreated {
			t.Fatalf("creating key %d: %d", i, code)
		}
	}
	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)

	b.goTo(t, "Users")
	b.do(t,
		chromedp.Click(chromedp.ID("add-user")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=email]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=email]"), "new@acme.test"),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=first]"), "New"),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=last]"), "Person"),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=password]"), "new-person-pw-1"),
		chromedp.Click(dialogButton("Create user")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-email="new@acme.test"]`)),
	)
	b.menu(t, "new@acme.test", "Change role")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("dialog[open] select[name=role]")),
		selectOption("dialog[open] select[name=role]", "tenant-admin"),
		chromedp.Click(dialogButton("Change role")),
	)
	b.waitFor(t, "the role column to say Tenant admin", `document.querySelector('tr[data-email="new@acme.test"] .col-role')?.textContent === 'Tenant admin'`)
	if u := g.userByEmail(t, "new@acme.test"); u.Role != storage.RoleTenantAdmin || u.FirstName != "New" {
		t.Fatalf("stored user after the console's changes: %+v", u)
	}

	b.menu(t, "dev@acme.test", "Disable")
	b.waitFor(t, "dev to show as Disabled", `document.querySelector('tr[data-email="dev@acme.test"] .col-status')?.textContent === 'Disabled'`)
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey}); r.err.Code != "UserDisabled" {
		t.Fatalf("disabled user's key: %d %s", r.status, r.body)
	}
	b.menu(t, "dev@acme.test", "Enable")
	b.waitFor(t, "dev to show as Active", `document.querySelector('tr[data-email="dev@acme.test"] .col-status')?.textContent === 'Active'`)
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey}); r.status != http.StatusOK {
		t.Fatalf("re-enabled user's key: %d %s", r.status, r.body)
	}
	b.menu(t, "new@acme.test", "Delete")
	b.do(t, chromedp.Click(dialogButton("Delete")), chromedp.WaitNotPresent(chromedp.CSS(`tr[data-email="new@acme.test"]`)))

	b.goTo(t, "Projects")
	b.do(t,
		chromedp.Click(chromedp.ID("add-project")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "payments"),
		chromedp.Click(dialogButton("Create project")),
		chromedp.WaitVisible(chromedp.CSS(row("payments"))),
	)
	project := get(t, b, chromedp.AttributeValue(chromedp.CSS(row("payments")), "data-uid")).Value
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey, "ProjectUid": project}); r.status != http.StatusForbidden {
		t.Fatalf("non-member: %d", r.status)
	}
	// Grant dev a project role (Palette's PUT projects/{uid}/users), see it in the table,
	// and remove it again: each holds on dev's next request.
	b.menu(t, "payments", "Project roles")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("dialog[open] select[name=member]")),
		selectOption("dialog[open] select[name=member]", s.user.UID),
		selectOption("dialog[open] select[name=role]", storage.RoleUIDProjectEditor),
		chromedp.Click(dialogButton("Grant role")),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open] button[aria-label="Remove dev@acme.test"]`)),
		chromedp.Click(dialogButton("Done")),
	)
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey, "ProjectUid": project}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Project-Roles") != "Project Editor" {
		t.Fatalf("role granted in the console: %d %q %s", r.status, r.echo.Header.Get("X-User-Project-Roles"), r.body)
	}
	b.waitFor(t, "the table to show dev's project role", `document.querySelector('`+row("payments")+` .col-grants li[data-user="`+s.user.UID+`"]')?.textContent.includes('Project Editor')`)
	b.menu(t, "payments", "Project roles")
	b.do(t,
		chromedp.Click(chromedp.CSS(`dialog[open] button[aria-label="Remove dev@acme.test"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`dialog[open] button[aria-label="Remove dev@acme.test"]`)),
		chromedp.Click(dialogButton("Done")),
	)
	if r := g.do(t, "/", map[string]string{"ApiKey": s.userKey, "ProjectUid": project}); r.status != http.StatusForbidden {
		t.Fatalf("role removed in the console: %d", r.status)
	}
	b.waitFor(t, "the table to show nobody in payments", `document.querySelector('`+row("payments")+` .col-grants')?.textContent === 'Nobody yet'`)

	// A team's grant is shown by the team's name (the team and grant made through the
	// store, so that lee's change stays the newest audit entry).
	team := storage.Team{UID: authcore.NewUID(), TenantUID: s.tenant.UID, Name: "ops", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := g.store.CreateTeam(context.Background(), team); err != nil {
		t.Fatal(err)
	}
	if err := g.store.SetProjectRoles(context.Background(), storage.ProjectGrant{ProjectUID: project, TeamUID: team.UID, Roles: []string{storage.RoleUIDProjectViewer}}); err != nil {
		t.Fatal(err)
	}
	b.do(t, chromedp.Reload())
	b.waitFor(t, "the table to show the ops team's role", `document.querySelector('`+row("payments")+` .col-grants li[data-team="`+team.UID+`"]')?.textContent === 'Team ops: Project Viewer'`)

	b.goTo(t, "Audit log")
	first := get(t, b, chromedp.Text(chromedp.CSS("#audit-table tbody tr:first-child")))
	if !strings.Contains(first, "project.users") || !strings.Contains(first, lee.Email) {
		t.Fatalf("newest audit entry %q, want lee's project.users", first)
	}
	if n := b.count(t, "#audit-table tbody tr"); n != 25 {
		t.Fatalf("first audit page has %d rows", n)
	}
	b.do(t, chromedp.Click(chromedp.ID("audit-older")))
	b.waitFor(t, "the second page", `document.querySelector('.pager-info')?.textContent === 'Page 2'`)
	if text := get(t, b, chromedp.Text(chromedp.CSS("#audit-table"))); !strings.Contains(text, "apikey.create") || strings.Contains(text, "membership.add") {
		t.Fatalf("second audit page: %q", text)
	}
	b.do(t, chromedp.Click(chromedp.ID("audit-newer")))
	b.waitFor(t, "back on the first page", `document.querySelector('.pager-info')?.textContent === 'Page 1'`)
}

// userByEmail reads the one user with that email from the store.
func (g *gateway) userByEmail(t *testing.T, email string) storage.User {
	t.Helper()
	users, err := g.store.UsersByEmail(context.Background(), email)
	if err != nil || len(users) != 1 {
		t.Fatalf("users %s: %v %v", email, users, err)
	}
	return users[0]
}

// A plain user is not offered the tenant pages, and typing their address gets the API's
// refusal, shown as such.
func TestConsolePlainUserCannotReachTenantPages(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	annKey := g.mustKey(t, ann, "30d").Key
	b := newBrowser(t, 1280, 800)
	b.login(t, g, ann.Email)
	if hidden := get(t, b, chromedp.Evaluate[bool](`document.getElementById('tenant-nav').hidden`)); !hidden {
		t.Fatal("a plain user is offered Tenant Settings")
	}
	for _, page := range []string{"tenant/keys", "tenant/users", "tenant/teams", "tenant/projects", "tenant/audit"} {
		b.do(t, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/%s'`, page)))
		b.waitFor(t, page+" to show the refusal", `document.querySelector('.error-page h1')?.textContent === 'Tenant Settings are not available'`)
		if msg := get(t, b, chromedp.Text(chromedp.CSS(".error-page [role=alert] .api-message"))); !strings.EqualFold(msg, "only tenant admins may do this") {
			t.Fatalf("%s shows %q, want the API's message", page, msg)
		}
		b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/keys'`), chromedp.WaitVisible(chromedp.Search(`//main//h1[normalize-space()="My API Keys"]`)))
	}
	for _, path := range []string{"/v1/users", "/v1/audit"} {
		if code := g.api(t, annKey, "GET", path, "", nil); code != http.StatusForbidden {
			t.Errorf("GET %s as a plain user: %d, want 403", path, code)
		}
	}
}

// Failed logins show the API's message, throttling says how long to wait, an email in
// several organizations asks for one, and signing out ends the session on the gateway.
func TestConsoleLoginMessagesOrganizationAndLogout(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	if _, err := g.admin.CreateTenant(context.Background(), "beta"); err != nil {
		t.Fatal(err)
	}
	g.consoleUser(t, "acme", "sam@x.test", storage.RoleUser)
	g.consoleUser(t, "beta", "sam@x.test", storage.RoleUser)
	b := newBrowser(t, 1280, 800)
	b.do(t, chromedp.Navigate(g.url+"/console/"), chromedp.WaitVisible(chromedp.ID("login-email")))

	attempt := func(email, password string) string {
		t.Helper()
		b.do(t,
			chromedp.SetValue(chromedp.ID("login-email"), email),
			chromedp.SetValue(chromedp.ID("login-password"), password),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('login-error').textContent = ''`),
			chromedp.Focus(chromedp.ID("login-password")),
			press("Enter"),
		)
		b.waitFor(t, "a login answer", `document.getElementById('login-error').textContent !== '' || !document.getElementById('app-view').hidden`)
		return get(t, b, chromedp.TextContent(chromedp.ID("login-error")))
	}
	if msg := attempt(ann.Email, "wrong-password"); msg != "the email, password or organization is not valid" {
		t.Fatalf("failed login shows %q, want the API's message", msg)
	}
	var throttled string
	for i := 0; i < 6 && throttled == ""; i++ {
		if msg := attempt(ann.Email, "wrong-password"); strings.HasPrefix(msg, "Too many") {
			throttled = msg
		}
	}
	if !regexp.MustCompile(`^Too many attempts, try again in \d+ seconds?\.$`).MatchString(throttled) {
		t.Fatalf("throttled login shows %q", throttled)
	}

	// sam@x.test is in acme and beta: the console asks which.
	if msg := attempt("sam@x.test", consolePassword); !strings.Contains(msg, "several organizations") {
		t.Fatalf("ambiguous email shows %q", msg)
	}
	b.do(t,
		chromedp.WaitVisible(chromedp.ID("login-org")),
		chromedp.SendKeys(chromedp.ID("login-org"), "beta"),
		chromedp.SetValue(chromedp.ID("login-password"), consolePassword),
		chromedp.Focus(chromedp.ID("login-org")),
		press("Enter"),
		chromedp.WaitVisible(chromedp.ID("app-view")),
	)
	if org := get(t, b, chromedp.Text(chromedp.ID("account-org"))); org != "beta" {
		t.Fatalf("signed in to %q, want beta", org)
	}

	// The session is an HttpOnly, SameSite=Strict cookie; signing out revokes its token.
	c := b.tokenCookie(t, g.url)
	if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie %+v, want HttpOnly and SameSite=Strict", c)
	}
	if r := g.do(t, "/", map[string]string{"Authorization": c.Value}); r.status != http.StatusOK {
		t.Fatalf("the session's token before sign-out: %d", r.status)
	}
	b.do(t, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-view")))
	if msg := get(t, b, chromedp.Text(chromedp.ID("login-notice"))); msg != "You have signed out." {
		t.Fatalf("after sign-out the page says %q", msg)
	}
	if r := g.do(t, "/", map[string]string{"Authorization": c.Value}); r.err.Code != "CredentialRevoked" {
		t.Fatalf("the session's token after sign-out: %d %s", r.status, r.body)
	}
	if b.tokenCookie(t, g.url) != nil {
		t.Fatal("the cookie outlived the sign-out")
	}
	b.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("login-email")))
}

// While the page is open the console renews the token cookie before it expires, so the
// session outlives the first token.
func TestConsoleKeepsTheSessionFresh(t *testing.T) {
	g := startGatewayWith(t, "token_ttl 3s", "")
	g.seed(t)
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	b := newBrowser(t, 1280, 800)
	b.login(t, g, ann.Email)
	first := b.tokenCookie(t, g.url).Value
	time.Sleep(4500 * time.Millisecond) // past the first token's 3 s
	if r := g.do(t, "/", map[string]string{"Authorization": first}); r.err.Code != "CredentialExpired" {
		t.Fatalf("the first token after 4.5 s: %d %s", r.status, r.body)
	}
	now := b.tokenCookie(t, g.url)
	if now == nil || now.Value == first {
		t.Fatal("the cookie was not renewed")
	}
	// A reload finds the session alive and signed in.
	b.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.Search(`//main//h1[normalize-space()="My API Keys"]`)))
	if hidden := get(t, b, chromedp.Evaluate[bool](`document.getElementById('login-view').hidden`)); !hidden {
		t.Fatal("the reloaded page asks to sign in")
	}
}

// TestConsoleScreenshots writes the README's screenshots of the key table and the
// creation wizard (go test ./tests -run ConsoleScreenshots -update-screenshots), and a
// phone-width view to the temporary directory for a look.
func TestConsoleScreenshots(t *testing.T) {
	if !*updateScreenshots {
		t.Skip("run with -update-screenshots to rewrite docs/console-*.png")
	}
	g := startGateway(t, "")
	g.seed(t)
	ctx := context.Background()
	lee, err := g.admin.CreateUser(ctx, manage.NewUser{TenantName: "acme", Email: "lee.chen@acme.test", FirstName: "Lee", LastName: "Chen", Role: storage.RoleTenantAdmin, Password: consolePassword})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	used := map[string]time.Time{}
	for _, k := range []struct {
		name, description, expiry string
		lastUsed                  time.Duration
		revoked                   bool
	}{
		{"backup-job", "Nightly database backup", "7d", 0, false},
		{"laptop", "Local development", "30d", 26 * time.Hour, true},
		{"terraform", "Infrastructure provisioning", "60d", 3 * time.Hour, false},
		{"ci-pipeline", "GitHub Actions deploy job", "90d", 2 * time.Minute, false},
	} {
		made, err := g.admin.CreateAPIKey(ctx, manage.NewAPIKey{User: lee, Name: k.name, Description: k.description, Expiry: k.expiry})
		if err != nil {
			t.Fatal(err)
		}
		if k.lastUsed > 0 {
			used[made.Record.UID] = now.Add(-k.lastUsed)
		}
		if k.revoked {
			if err := g.store.SetAPIKeyActive(ctx, made.Record.UID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	g.expiredKey(t, lee, "grafana-exporter", "Metrics scraper (retired)")
	if err := g.store.TouchAPIKeys(ctx, used); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS(row("ci-pipeline"))),
		chromedp.Click(chromedp.CSS(`button[aria-label="Actions for terraform"]`)),
		chromedp.WaitVisible(menuItem("Revoke")),
		chromedp.Sleep(300*time.Millisecond),
	)
	writeScreenshot(t, b, "../docs/console-keys.png")
	b.do(t,
		press("Escape"),
		chromedp.Click(chromedp.ID("add-key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "release-bot"),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=description]"), "Publishes tagged releases"),
		chromedp.Click(choice("60 days")),
		chromedp.Focus(chromedp.CSS("dialog[open] input[name=description]")),
		chromedp.Sleep(300*time.Millisecond),
	)
	writeScreenshot(t, b, "../docs/console-create.png")
	b.do(t, chromedp.Click(dialogButton("Create key")), chromedp.WaitVisible(chromedp.CSS("dialog[open] .key-output")), chromedp.Sleep(300*time.Millisecond))
	writeScreenshot(t, b, filepath.Join(os.TempDir(), "console-key-once.png"))
	b.do(t, chromedp.Click(dialogButton("Done")))
	for _, page := range []string{"tenant/keys", "tenant/users", "tenant/projects", "tenant/audit"} {
		b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/`+page+`'`), chromedp.Sleep(500*time.Millisecond))
		writeScreenshot(t, b, filepath.Join(os.TempDir(), "console-"+strings.ReplaceAll(page, "/", "-")+".png"))
	}
	b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/keys'`), chromedp.EmulateViewport(390, 844), chromedp.Sleep(300*time.Millisecond))
	writeScreenshot(t, b, filepath.Join(os.TempDir(), "console-phone.png"))
	b.do(t, chromedp.Evaluate[chromedp.Void](`location.hash = '#/tenant/keys'`), chromedp.WaitVisible(chromedp.ID("user-filter")), chromedp.Sleep(300*time.Millisecond))
	writeScreenshot(t, b, filepath.Join(os.TempDir(), "console-phone-tenant.png"))
	b.do(t, chromedp.Click(chromedp.ID("add-key")), chromedp.Click(choice("Custom")), chromedp.Sleep(300*time.Millisecond))
	writeScreenshot(t, b, filepath.Join(os.TempDir(), "console-phone-create.png"))
	b.do(t, chromedp.Click(dialogButton("Cancel")), chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-email")), chromedp.EmulateViewport(1280, 800), chromedp.Sleep(300*time.Millisecond))
	writeScreenshot(t, b, filepath.Join(os.TempDir(), "console-login.png"))
}

func writeScreenshot(t *testing.T, b *tab, path string) {
	t.Helper()
	png := get(t, b, chromedp.CaptureScreenshot())
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// The console renews the cookie one refresh at a time, in a tab and across tabs: the
// gateway ends a session whose token is refreshed twice, so two renewals that send the
// same cookie would sign the user out.
func TestConsoleRenewsTheCookieOneAtATime(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	b := newBrowser(t, 1280, 800)
	b.login(t, g, ann.Email)
	other := b.newTab(t)
	other.do(t, chromedp.Navigate(g.url+"/console/"), chromedp.WaitVisible(chromedp.Search(`//main//h1[normalize-space()="My API Keys"]`)))
	const outcome = `.then(() => 'ok', e => 'refused: ' + (e.status || e))`

	// Two renewals asked for at once in one tab (a timer, and the tab coming back).
	twice := `import('./js/session.js').then(m => Promise.all([m.resume(), m.resume()]))` + outcome
	if got := get(t, b, chromedp.Evaluate[string](twice, chromedp.EvalAwaitPromise)); got != "ok" {
		t.Fatalf("two renewals at once in one tab: %s", got)
	}
	// One renewal in each tab, on one signal.
	for _, tb := range []*tab{b, other} {
		tb.do(t, chromedp.Evaluate[chromedp.Void](`window.renewed = new Promise(done => {
			new BroadcastChannel('keygate-test').onmessage = () => import('./js/session.js').then(m => m.resume())`+outcome+`.then(done);
		})`))
	}
	b.do(t, chromedp.Evaluate[chromedp.Void](`new BroadcastChannel('keygate-test').postMessage('renew')`))
	for i, tb := range []*tab{b, other} {
		if got := get(t, tb, chromedp.Evaluate[string](`window.renewed`, chromedp.EvalAwaitPromise)); got != "ok" {
			t.Fatalf("tab %d renewing together with the other: %s", i, got)
		}
	}
	if r := g.do(t, "/", map[string]string{"Authorization": b.tokenCookie(t, g.url).Value}); r.status != http.StatusOK {
		t.Fatalf("the session after the renewals: %d %s", r.status, r.body)
	}
}

// A tenant admin starts a password reset in the console, sees the activation link, and
// whoever opens it sets the password there, once.
func TestConsoleAdminResetsAPasswordAndTheLinkSetsIt(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)
	b.goTo(t, "Users")
	b.menu(t, s.user.Email, "Reset password")
	b.waitFor(t, "dev's row to show the pending link", `document.querySelector('tr[data-email="dev@acme.test"] .col-status')?.textContent.includes('Activation pending')`)
	b.menu(t, s.user.Email, "Activation link")
	link := get(t, b, chromedp.Value(chromedp.ID("activation-link")))
	if !strings.HasPrefix(link, g.url+"/console/#/activate/") {
		t.Fatalf("the console shows link %q", link)
	}
	b.do(t, chromedp.Click(dialogButton("Done")))

	other := b.newTab(t)
	other.do(t,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("activate-view")),
		chromedp.SendKeys(chromedp.ID("activate-password"), "dev-chosen-pw-1"),
		chromedp.SendKeys(chromedp.ID("activate-confirm"), "dev-chosen-pw-1"),
		chromedp.Click(chromedp.Search(`//form[@id="activate-form"]//button[normalize-space()="Set password"]`)),
		chromedp.WaitVisible(chromedp.ID("login-notice")),
	)
	if url := get(t, other, chromedp.Evaluate[string](`location.href`)); strings.Contains(url, "activate") {
		t.Errorf("the token stays in the address: %s", url)
	}
	if st := g.loginStatus(t, s.user.Email, "dev-chosen-pw-1"); st != http.StatusOK {
		t.Errorf("login with the password set through the link: %d", st)
	}
	// Used once: the link now says it is not valid.
	other.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("activate-view")),
		chromedp.SendKeys(chromedp.ID("activate-password"), "dev-chosen-pw-2"),
		chromedp.SendKeys(chromedp.ID("activate-confirm"), "dev-chosen-pw-2"),
		chromedp.Click(chromedp.Search(`//form[@id="activate-form"]//button[normalize-space()="Set password"]`)),
		chromedp.WaitVisible(chromedp.ID("activate-error")))
	if text := other.pageText(t); !strings.Contains(text, "not valid") {
		t.Errorf("a used link's page says %q", text)
	}
}
