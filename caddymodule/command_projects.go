package caddymodule

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

func (c *cli) projectCommands() *cobra.Command {
	return c.command("project", "Manage projects", []verb{
		{name: "create", short: "Create a project and print its uid", required: []string{"tenant", "name"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				p, err := ad.CreateProject(ctx, in.s("tenant"), in.s("name"))
				return result{text: p.UID, json: map[string]any{"uid": p.UID, "name": p.Name, "tenantUid": p.TenantUID}}, err
			}},
		{name: "list", short: "List the projects of a tenant", required: []string{"tenant"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				ps, err := ad.ListProjects(ctx, in.s("tenant"))
				return listResult(ps, []string{"UID", "NAME", "CREATED"}, func(p storage.Project) []string {
					return []string{p.UID, p.Name, timeString(p.CreatedAt)}
				}, cliProjectToJSON), err
			}},
		{name: "show", short: "Show a project with its members' uids", required: []string{"project"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				v, err := ad.GetProject(ctx, in.s("project"))
				p, members := v.Project, append([]string{}, v.Members...)
				j := cliProjectToJSON(p)
				j.Spec = &cliProjectSpec{Members: members}
				return result{text: fields(
					"uid", p.UID, "name", p.Name, "tenant uid", p.TenantUID,
					"created", timeString(p.CreatedAt), "members", strings.Join(members, ", "),
				), json: j}, err
			}},
		{name: "delete", short: "Delete a project and its memberships", required: []string{"project"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				uid := in.s("project")
				return result{text: "deleted project " + uid, json: uidAnswer{UID: uid}}, ad.DeleteProject(ctx, uid)
			}},
		memberSwitch("add-member", "Make a user a member of a project", "is a member of", manage.Operator.AddProjectMember),
		memberSwitch("remove-member", "End a user's membership of a project", "is no longer a member of", manage.Operator.RemoveProjectMember),
	})
}

// memberSwitch adds the user --email names to the project --project names, or removes them.
func memberSwitch(name, short, is string, set func(manage.Operator, context.Context, string, string) (storage.User, error)) verb {
	return verb{name: name, short: short, required: []string{"project", "email"},
		run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
			projectUID := in.s("project")
			u, err := set(ad, ctx, projectUID, in.s("email"))
			return result{
				text: fmt.Sprintf("%s %s project %s", u.Email, is, projectUID),
				json: map[string]any{"projectUid": projectUID, "userUid": u.UID},
			}, err
		}}
}

func (c *cli) auditCommands() *cobra.Command {
	return c.command("audit", "Read the audit log", []verb{
		{name: "list", short: "List a tenant's audit events, newest first", required: []string{"tenant"}, optional: []string{"since", "limit"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				since, limit, err := auditWindow(in.s("since"), in.s("limit"))
				if err != nil {
					return result{}, err
				}
				events, err := ad.ListAudit(ctx, in.s("tenant"), since, limit)
				return listResult(events, []string{"TIME", "ACTION", "ACTOR", "TARGET", "DETAIL"}, func(e storage.AuditEvent) []string {
					return []string{timeString(e.At), e.Action, e.ActorEmail, e.TargetKind + " " + e.TargetUID, e.Detail}
				}, auditToJSON), err
			}},
	})
}

// auditWindow reads --since (an RFC 3339 time, or none) and --limit (a positive number,
// default manage.MaxPageSize).
func auditWindow(sinceFlag, limitFlag string) (time.Time, int, error) {
	var since time.Time
	if sinceFlag != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, sinceFlag); err != nil {
			return since, 0, fmt.Errorf("--since %q is not an RFC 3339 time such as 2031-01-02T15:04:05Z", sinceFlag)
		}
	}
	limit := manage.MaxPageSize
	if limitFlag != "" {
		n, err := strconv.Atoi(limitFlag)
		if err != nil || n < 1 {
			return since, 0, fmt.Errorf("--limit %q is not a positive number", limitFlag)
		}
		limit = n
	}
	return since, limit, nil
}

// cliProjectJSON is how the CLI prints a project: its metadata and, from show, the uids
// of its members (users holding project roles there directly).
type cliProjectJSON struct {
	Metadata objectMeta      `json:"metadata"`
	Spec     *cliProjectSpec `json:"spec,omitempty"`
}

type cliProjectSpec struct {
	Members []string `json:"members"`
}

func cliProjectToJSON(p storage.Project) cliProjectJSON {
	return cliProjectJSON{Metadata: projectMeta(p)}
}
