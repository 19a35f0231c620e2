package tests

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/storage"
)

// checkBox is the open dialog's checkbox named name with that value.
func checkBox(name, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(fmt.Sprintf(`dialog[open] input[name=%q][value=%q]`, name, value)))
}

// A tenant admin creates a team on the Teams page, with a member and a role, sees it
// listed with both, edits its members and roles, and deletes it; each change holds on the
// member's next request.
func TestConsoleTenantAdminManagesTeams(t *testing.T) {
	g := startGateway(t, "{\n\t\trequire tenant.get\n\t}")
	s := g.seed(t)
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)
	devRoles := func() (int, string) {
		r := g.do(t, "/", map[string]string{"ApiKey": s.userKey})
		return r.status, r.echo.Header.Get("X-User-Tenant-Roles")
	}

	b.goTo(t, "Teams")
	b.do(t,
		chromedp.WaitVisible(chromedp.Search(`//main//p[normalize-space()="No teams yet"]`)),
		chromedp.Click(chromedp.ID("add-team")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "viewers"),
		checkBox("member", s.user.UID),
		checkBox("role", storage.RoleUIDTenantViewer),
		chromedp.Click(dialogButton("Create team")),
		chromedp.WaitVisible(chromedp.CSS(row("viewers"))),
	)
	members := get(t, b, chromedp.Text(chromedp.CSS(row("viewers")+" .team-members")))
	roles := get(t, b, chromedp.Text(chromedp.CSS(row("viewers")+" .team-roles")))
	if members != "dev@acme.test" || roles != "Tenant Viewer" {
		t.Fatalf("team row: members %q, roles %q", members, roles)
	}
	if code, got := devRoles(); code != http.StatusOK || got != "Tenant Viewer" {
		t.Fatalf("member after the console made the team: %d %q", code, got)
	}

	// Edit: the dialog shows the team as it is; swap the role and add lee.
	b.menu(t, "viewers", "Edit")
	b.do(t, chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")))
	if on := get(t, b, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('dialog[open] input[name=member][value=%q]').checked`, s.user.UID))); !on {
		t.Fatal("the edit dialog does not show the team's member checked")
	}
	b.do(t,
		checkBox("member", lee.UID),
		checkBox("role", storage.RoleUIDTenantViewer),
		checkBox("role", storage.RoleUIDTenantAdmin),
		chromedp.Click(dialogButton("Save team")),
	)
	b.waitFor(t, "the roles column to say Tenant Admin", fmt.Sprintf(`document.querySelector(%q)?.textContent === 'Tenant Admin'`, row("viewers")+" .team-roles"))
	if code, got := devRoles(); code != http.StatusOK || got != "Tenant Admin" {
		t.Fatalf("member after the console's edit: %d %q", code, got)
	}

	b.menu(t, "viewers", "Delete")
	b.do(t, chromedp.Click(dialogButton("Delete")), chromedp.WaitNotPresent(chromedp.CSS(row("viewers"))))
	if code, _ := devRoles(); code != http.StatusForbidden {
		t.Fatalf("member after the console deleted the team: %d, want 403", code)
	}
}
