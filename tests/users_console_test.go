package tests

import (
	"context"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/storage"
)

// The console's Users page names each user's tenant roles and teams, and a tenant admin
// edits a user's tenant roles there; the change reaches the store.
func TestConsoleUsersShowsRolesAndTeamsAndEditsRoles(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	team := g.storedTeam(t, s.tenant.UID, "ops")
	team.Users = []string{s.user.UID}
	if err := g.store.UpdateTeam(context.Background(), team); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)
	b.goTo(t, "Users")
	b.waitFor(t, "dev's team", `document.querySelector('tr[data-email="dev@acme.test"] .col-teams')?.textContent === 'ops'`)
	b.waitFor(t, "lee's roles", `document.querySelector('tr[data-email="lee@acme.test"] .col-roles')?.textContent === 'Tenant Admin'`)

	b.menu(t, "dev@acme.test", "Edit roles")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS(`dialog[open] label[for="role-`+storage.RoleUIDTenantViewer+`"]`)),
		chromedp.Click(chromedp.CSS(`dialog[open] label[for="role-`+storage.RoleUIDTenantViewer+`"]`)),
		chromedp.Click(dialogButton("Save roles")),
	)
	b.waitFor(t, "dev's roles to say Tenant Viewer", `document.querySelector('tr[data-email="dev@acme.test"] .col-roles')?.textContent === 'Tenant Viewer'`)
	if u := g.userByEmail(t, "dev@acme.test"); !slices.Equal(u.Roles, []string{storage.RoleUIDTenantViewer}) || !slices.Equal(u.Teams, []string{team.UID}) {
		t.Errorf("stored dev after the console's edit: roles %v, teams %v", u.Roles, u.Teams)
	}
}
