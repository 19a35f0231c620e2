package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// rfc3339Millis is the wire contract's time format, as in 2031-01-01T00:00:00.000Z.
const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

// result is what a subcommand prints: a line for people, an object for --json.
type result struct {
	text string
	json any
}

func (r result) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r.json)
	}
	_, err := fmt.Fprintln(w, r.text)
	return err
}

// action is a RunE that checks the required flags, then runs fn on the store.
func (c *cli) action(required []string, fn func(ctx context.Context, ad manage.Operator) (result, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, required...); err != nil {
			return err
		}
		return c.run(fn)
	}
}

func (c *cli) tenantCommands() *cobra.Command {
	tenant := &cobra.Command{Use: "tenant", Short: "Manage tenants"}
	var name string
	create := &cobra.Command{
		Use: "create --name NAME", Short: "Create a tenant", Args: cobra.NoArgs,
		RunE: c.action([]string{"name"}, func(ctx context.Context, ad manage.Operator) (result, error) {
			t, err := ad.CreateTenant(ctx, name)
			return result{
				text: fmt.Sprintf("created tenant %s (uid %s)", t.Name, t.UID),
				json: map[string]any{"uid": t.UID, "name": t.Name},
			}, err
		}),
	}
	create.Flags().StringVar(&name, "name", "", "tenant name")
	tenant.AddCommand(create)
	return tenant
}

func (c *cli) userCommands() *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage users"}
	var tenantName, email, role, firstName, lastName string
	var passwordStdin bool
	create := &cobra.Command{
		Use: "create --tenant NAME --email E --role tenant-admin|user [--password-stdin]", Short: "Create a user", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "tenant", "email", "role"); err != nil {
				return err
			}
			var password string
			if passwordStdin {
				var err error
				if password, err = c.readPassword(); err != nil {
					return err
				}
			}
			return c.run(func(ctx context.Context, ad manage.Operator) (result, error) {
				u, err := ad.CreateUser(ctx, manage.NewUser{
					TenantName: tenantName, Email: email, Role: storage.Role(role),
					FirstName: firstName, LastName: lastName, Password: password,
				})
				return result{
					text: fmt.Sprintf("created %s %s in tenant %s (uid %s)", u.Role, u.Email, tenantName, u.UID),
					json: cliUserJSON(u),
				}, err
			})
		},
	}
	create.Flags().StringVar(&tenantName, "tenant", "", "tenant name")
	create.Flags().StringVar(&email, "email", "", "email address")
	create.Flags().StringVar(&role, "role", "", "tenant-admin or user")
	create.Flags().StringVar(&firstName, "first-name", "", "first name")
	create.Flags().StringVar(&lastName, "last-name", "", "last name")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read a login password from standard input")

	var disableTenant, disableEmail string
	disable := &cobra.Command{
		Use: "disable --email E [--tenant NAME]", Short: "Disable a user: their keys stop working at once", Args: cobra.NoArgs,
		RunE: c.action([]string{"email"}, func(ctx context.Context, ad manage.Operator) (result, error) {
			u, err := ad.FindUser(ctx, disableEmail, disableTenant)
			if err == nil {
				err = ad.SetUserDisabled(ctx, u, true)
				u.Disabled = true
			}
			return result{text: fmt.Sprintf("disabled %s (uid %s)", u.Email, u.UID), json: cliUserJSON(u)}, err
		}),
	}
	disable.Flags().StringVar(&disableEmail, "email", "", "email address")
	disable.Flags().StringVar(&disableTenant, "tenant", "", "tenant name, when the email is in several")
	user.AddCommand(create, disable)
	return user
}

func cliUserJSON(u storage.User) map[string]any {
	return map[string]any{
		"uid": u.UID, "emailId": u.Email, "tenantUid": u.TenantUID,
		"role": u.Role, "isActive": !u.Disabled,
	}
}

func (c *cli) projectCommands() *cobra.Command {
	project := &cobra.Command{Use: "project", Short: "Manage projects"}
	var tenantName, name string
	create := &cobra.Command{
		Use: "create --tenant NAME --name NAME", Short: "Create a project and print its uid", Args: cobra.NoArgs,
		RunE: c.action([]string{"tenant", "name"}, func(ctx context.Context, ad manage.Operator) (result, error) {
			p, err := ad.CreateProject(ctx, tenantName, name)
			return result{text: p.UID, json: map[string]any{"uid": p.UID, "name": p.Name, "tenantUid": p.TenantUID}}, err
		}),
	}
	create.Flags().StringVar(&tenantName, "tenant", "", "tenant name")
	create.Flags().StringVar(&name, "name", "", "project name")

	var projectUID, email string
	addMember := &cobra.Command{
		Use: "add-member --project UID --email E", Short: "Make a user a member of a project", Args: cobra.NoArgs,
		RunE: c.action([]string{"project", "email"}, func(ctx context.Context, ad manage.Operator) (result, error) {
			u, err := ad.AddProjectMember(ctx, projectUID, email)
			return result{
				text: fmt.Sprintf("%s is a member of project %s", u.Email, projectUID),
				json: map[string]any{"projectUid": projectUID, "userUid": u.UID},
			}, err
		}),
	}
	addMember.Flags().StringVar(&projectUID, "project", "", "project uid")
	addMember.Flags().StringVar(&email, "email", "", "email of the user")
	project.AddCommand(create, addMember)
	return project
}

func (c *cli) apikeyCommands() *cobra.Command {
	apikey := &cobra.Command{Use: "apikey", Short: "Manage API keys"}
	var email, tenantName, name, description, expires string
	create := &cobra.Command{
		Use:   "create --email E --name NAME [--description D] --expires 7d|30d|60d|90d|YYYY-MM-DD",
		Short: "Create an API key and print it (shown only once)", Args: cobra.NoArgs,
		RunE: c.action([]string{"email", "name", "expires"}, func(ctx context.Context, ad manage.Operator) (result, error) {
			u, err := ad.FindUser(ctx, email, tenantName)
			if err != nil {
				return result{}, err
			}
			k, err := ad.CreateAPIKey(ctx, manage.NewAPIKey{User: u, Name: name, Description: description, Expiry: expires})
			return result{
				text: k.Key,
				json: map[string]any{"apiKey": k.Key, "uid": k.Record.UID, "expiry": timeString(k.Record.ExpiresAt)},
			}, err
		}),
	}
	f := create.Flags()
	f.StringVar(&email, "email", "", "email of the key's user")
	f.StringVar(&tenantName, "tenant", "", "tenant name, when the email is in several")
	f.StringVar(&name, "name", "", "key name")
	f.StringVar(&description, "description", "", "key description")
	f.StringVar(&expires, "expires", "", "7d, 30d, 60d, 90d or a date YYYY-MM-DD")

	var uid string
	revoke := &cobra.Command{
		Use: "revoke --uid UID", Short: "Revoke an API key", Args: cobra.NoArgs,
		RunE: c.action([]string{"uid"}, func(ctx context.Context, ad manage.Operator) (result, error) {
			_, err := ad.SetAPIKeyActive(ctx, uid, false)
			return result{text: "revoked api key " + uid, json: map[string]any{"uid": uid, "isActive": false}}, err
		}),
	}
	revoke.Flags().StringVar(&uid, "uid", "", "uid of the key")
	apikey.AddCommand(create, revoke)
	return apikey
}
