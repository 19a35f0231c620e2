package caddymodule

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

func (c *cli) teamCommands() *cobra.Command {
	return c.command("team", "Manage teams: users holding tenant roles together", []verb{
		{name: "list", short: "List the teams of a tenant with their members and roles", required: []string{"tenant"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				teams, err := ad.ListTeams(ctx, in.s("tenant"))
				return listResult(teams, []string{"UID", "NAME", "MEMBERS", "ROLES"}, func(v manage.TeamView) []string {
					return []string{v.Team.UID, v.Team.Name, orNone(v.Emails), orNone(v.Roles)}
				}, teamViewJSON), err
			}},
		{name: "create", short: "Create a team and print its uid", required: []string{"tenant", "name"}, optional: []string{"members", "roles"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				v, err := ad.CreateTeam(ctx, manage.NewTeam{
					TenantName: in.s("tenant"), Name: in.s("name"), Emails: commaList(in.s("members")), Roles: commaList(in.s("roles")),
				})
				return result{text: v.Team.UID, json: teamViewJSON(v)}, err
			}},
		{name: "set", short: "Replace a team's name, members or roles (those given)", required: []string{"team"}, optional: []string{"name", "members", "roles"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				var e manage.TeamEdit
				if in.given("name") {
					e.Name = new(in.s("name"))
				}
				if in.given("members") {
					e.Emails = new(commaList(in.s("members")))
				}
				if in.given("roles") {
					e.Roles = new(commaList(in.s("roles")))
				}
				if e == (manage.TeamEdit{}) {
					return result{}, fmt.Errorf("give --name, --members or --roles")
				}
				v, err := ad.SetTeam(ctx, in.s("team"), e)
				return result{text: fmt.Sprintf("team %s (uid %s): members %s; roles %s", v.Team.Name, v.Team.UID,
					orNone(v.Emails), orNone(v.Roles)), json: teamViewJSON(v)}, err
			}},
		{name: "delete", short: "Delete a team: its members lose its roles at once", required: []string{"team"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				uid := in.s("team")
				return result{text: "deleted team " + uid, json: uidAnswer{UID: uid}}, ad.DeleteTeam(ctx, uid)
			}},
	})
}

func (c *cli) roleCommands() *cobra.Command {
	return c.command("role", "List and create roles", []verb{
		{name: "list", short: "List a tenant's roles, built-in then custom, with scope and permissions", required: []string{"tenant"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				roles, err := ad.ListRoles(ctx, in.s("tenant"))
				return listResult(roles, []string{"UID", "NAME", "SCOPE", "TYPE", "PERMISSIONS"}, func(r storage.RoleDef) []string {
					return []string{r.UID, r.Name, string(r.Scope), roleToJSON(r).Spec.Type, strings.Join(r.Permissions, ",")}
				}, roleToJSON), err
			}},
		{name: "create", short: "Create a custom role from permission strings and print its uid",
			required: []string{"tenant", "name", "scope", "permissions"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				r, err := ad.CreateRole(ctx, in.s("tenant"), manage.RoleRequest{
					Name: in.s("name"), Scope: storage.RoleScope(in.s("scope")), Permissions: commaList(in.s("permissions")),
				})
				return result{text: r.UID, json: roleToJSON(r)}, err
			}},
	})
}

// teamViewJSON is a team in the REST API's shape.
func teamViewJSON(v manage.TeamView) teamJSON { return teamToJSON(v.Team) }

// commaList splits a flag's comma-separated values, dropping blanks; none for "".
func commaList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}
