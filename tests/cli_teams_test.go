package tests

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/keygate/keygate/storage"
)

// keygate role list|create and team list|create|set|delete: roles by name or uid,
// members by email, tables for people and the REST shapes with --json, each change
// audited as the operator's, and a team's roles reaching the running gateway.
func TestCLITeamsAndRoles(t *testing.T) {
	s, g := startCLIGateway(t)
	s.ok("tenant", "create", "--name", "acme")
	s.ok("user", "create", "--tenant", "acme", "--email", "boss@acme.test", "--role", "tenant-admin")
	s.ok("user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user")

	// Roles: the built-in ones, then a custom one.
	readerUID := strings.TrimSpace(s.ok("role", "create", "--tenant", "acme", "--name", "Auditor", "--scope", "tenant", "--permissions", "audit.get, tenant.get"))
	var roles cliItems[paletteRole]
	s.json(&roles, "role", "list", "--tenant", "acme")
	if len(roles.Items) != len(storage.BuiltinRoles)+1 || roles.Items[0].Metadata.UID != storage.RoleUIDTenantAdmin {
		t.Fatalf("role list --json = %+v", roles.Items)
	}
	custom := roles.Items[len(roles.Items)-1]
	if custom.Metadata.UID != readerUID || custom.Spec.Scope != "tenant" || custom.Spec.Type != "custom" || !slices.Equal(custom.Spec.Permissions, []string{"audit.get", "tenant.get"}) {
		t.Errorf("custom role = %+v", custom)
	}
	wantTable(t, s.ok("role", "list", "--tenant", "acme"), []string{"UID", "NAME", "SCOPE", "TYPE", "PERMISSIONS"}, len(storage.BuiltinRoles)+1)

	// Teams: created with members by email and roles by name.
	teamUID := strings.TrimSpace(s.ok("team", "create", "--tenant", "acme", "--name", "auditors", "--members", "dev@acme.test", "--roles", "Auditor,tenant viewer"))
	var teams cliItems[paletteTeam]
	s.json(&teams, "team", "list", "--tenant", "acme")
	if len(teams.Items) != 1 || teams.Items[0].Metadata.UID != teamUID || len(teams.Items[0].Spec.Users) != 1 ||
		!slices.Equal(teams.Items[0].Spec.Roles, storage.SortedSet([]string{readerUID, storage.RoleUIDTenantViewer})) {
		t.Fatalf("team list --json = %+v", teams.Items)
	}
	out := s.ok("team", "list", "--tenant", "acme")
	wantTable(t, out, []string{"UID", "NAME", "MEMBERS", "ROLES"}, 1)
	if !strings.Contains(out, "dev@acme.test") || !strings.Contains(out, "Tenant Viewer") {
		t.Errorf("team list printed\n%s", out)
	}

	// The running gateway sees the team's roles on the dev's key.
	var created struct{ APIKey, UID string }
	s.json(&created, "apikey", "create", "--email", "dev@acme.test", "--name", "ci", "--expires", "30d")
	roleHeader := func() string {
		r := g.do(t, "/", map[string]string{"ApiKey": created.APIKey})
		if r.status != http.StatusOK {
			return ""
		}
		return r.echo.Header.Get("X-User-Tenant-Roles")
	}
	eventually(t, "the team's roles upstream", func() bool { return strings.Contains(roleHeader(), "Tenant Viewer") })

	// set replaces only what is given; an empty --members empties the team.
	if out := s.ok("team", "set", "--team", teamUID, "--members", ""); !strings.Contains(out, "members none") || !strings.Contains(out, "Auditor") {
		t.Errorf("team set --members '' printed %q", out)
	}
	eventually(t, "the roles gone upstream", func() bool { return roleHeader() == "" })
	var team paletteTeam
	s.json(&team, "team", "set", "--team", teamUID, "--name", "audit", "--roles", storage.RoleUIDTenantViewer)
	if team.Metadata.Name != "audit" || len(team.Spec.Users) != 0 || !slices.Equal(team.Spec.Roles, []string{storage.RoleUIDTenantViewer}) {
		t.Errorf("team set --json = %+v", team)
	}

	// Bad input: one line, non-zero exit.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"team", "create", "--tenant", "acme", "--name", "x", "--members", "nobody@acme.test"}, "nobody@acme.test"},
		{[]string{"team", "create", "--tenant", "acme", "--name", "x", "--roles", "Project Editor"}, "project role"},
		{[]string{"team", "create", "--tenant", "acme", "--name", "x", "--roles", "No Such Role"}, "No Such Role"},
		{[]string{"team", "set", "--team", teamUID}, "--name, --members or --roles"},
		{[]string{"team", "delete", "--team", "no-such-team"}, "not found"},
		{[]string{"role", "create", "--tenant", "acme", "--name", "y", "--scope", "galaxy", "--permissions", "a.b"}, "spec.scope"},
	} {
		r := s.run(c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want a failure naming %q on one line", c.args, r.code, r.stderr, c.want)
		}
	}

	if out := s.ok("team", "delete", "--team", teamUID); !strings.Contains(out, teamUID) {
		t.Errorf("team delete printed %q", out)
	}
	s.json(&teams, "team", "list", "--tenant", "acme")
	if len(teams.Items) != 0 {
		t.Errorf("teams after delete: %+v", teams.Items)
	}
	var audit cliItems[cliAuditItem]
	s.json(&audit, "audit", "list", "--tenant", "acme")
	actions := operatorActions(t, audit.Items)
	for _, a := range []string{"role.create", "team.create", "team.update", "team.delete"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit actions %q lack %s", actions, a)
		}
	}
}
