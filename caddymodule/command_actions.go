package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// rfc3339Millis is the wire contract's time format, as in 2031-01-01T00:00:00.000Z.
const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

// result is what a subcommand prints: a line (or a table) for people, an object for
// --json.
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

// verb is one subcommand, such as "user show": its flags (all strings, but for the
// booleans named in bools) and what it does with their values.
type verb struct {
	name, short string
	required    []string
	optional    []string
	bools       []string
	run         func(ctx context.Context, ad manage.Operator, in input) (result, error)
}

// input is a subcommand's flag values.
type input struct{ cmd *cobra.Command }

func (in input) s(name string) string   { v, _ := in.cmd.Flags().GetString(name); return v }
func (in input) b(name string) bool     { v, _ := in.cmd.Flags().GetBool(name); return v }
func (in input) given(name string) bool { return in.cmd.Flags().Changed(name) }
func (in input) user(ctx context.Context, ad manage.Operator) (storage.User, error) {
	return ad.FindUser(ctx, in.s("email"), in.s("tenant"))
}

// flagHelp is each flag's placeholder in a usage line and its help; %s is the noun of
// the command group (for --name).
var flagHelp = map[string][2]string{
	"tenant":         {"NAME", "tenant name (when an email is in several tenants, the one to use)"},
	"email":          {"E", "email address of the user"},
	"name":           {"NAME", "%s name"},
	"role":           {"tenant-admin|user", "tenant-admin or user"},
	"first-name":     {"F", "first name"},
	"last-name":      {"L", "last name"},
	"password-stdin": {"", "read a login password from standard input"},
	"project":        {"UID", "project uid"},
	"uid":            {"UID", "uid of the key"},
	"description":    {"D", "key description"},
	"expires":        {"7d|30d|60d|90d|YYYY-MM-DD", "7d, 30d, 60d, 90d, a date YYYY-MM-DD or an RFC 3339 time"},
	"overlap":        {"DURATION", "how long the old key keeps working, a duration from 0s to 168h (default 24h)"},
	"since":          {"RFC3339", "only events at or after this time, as in 2031-01-02T15:04:05Z"},
	"limit":          {"N", "at most N events, newest first (default 50)"},
	"team":           {"UID", "team uid"},
	"webhook":        {"UID", "webhook receiver uid"},
	"members":        {"E,E", "the members' emails, comma-separated (\"\" for none)"},
	"roles":          {"R,R", "tenant role names or uids, comma-separated (\"\" for none)"},
	"scope":          {"tenant|project", "where the role applies"},
	"permissions":    {"P,P", "permission strings, comma-separated, as in cluster.get,cluster.list"},
}

// command builds the cobra command of group (as "user") with its verbs.
func (c *cli) command(group, short string, verbs []verb) *cobra.Command {
	parent := &cobra.Command{Use: group, Short: short}
	for _, v := range verbs {
		use := []string{v.name}
		cmd := &cobra.Command{Short: v.short, Args: cobra.NoArgs}
		for i, names := range [][]string{v.required, v.optional, v.bools} {
			for _, n := range names {
				h := flagHelp[n]
				help := strings.ReplaceAll(h[1], "%s", group)
				switch i {
				case 0:
					use = append(use, "--"+n+" "+h[0])
				case 1:
					use = append(use, "[--"+n+" "+h[0]+"]")
				case 2:
					use = append(use, "[--"+n+"]")
					cmd.Flags().Bool(n, false, help)
					continue
				}
				cmd.Flags().String(n, "", help)
			}
		}
		cmd.Use = strings.Join(use, " ")
		run := v.run
		cmd.RunE = func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, v.required...); err != nil {
				return err
			}
			return c.run(func(ctx context.Context, ad manage.Operator) (result, error) {
				return run(ctx, ad, input{cmd})
			})
		}
		parent.AddCommand(cmd)
	}
	return parent
}

func (c *cli) tenantCommands() *cobra.Command {
	return c.command("tenant", "Manage tenants", []verb{
		{name: "create", short: "Create a tenant", required: []string{"name"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				t, err := ad.CreateTenant(ctx, in.s("name"))
				return result{
					text: fmt.Sprintf("created tenant %s (uid %s)", t.Name, t.UID),
					json: map[string]any{"uid": t.UID, "name": t.Name},
				}, err
			}},
		{name: "list", short: "List every tenant",
			run: func(ctx context.Context, ad manage.Operator, _ input) (result, error) {
				ts, err := ad.ListTenants(ctx)
				return listResult(ts, []string{"UID", "NAME", "CREATED"}, func(t storage.Tenant) []string {
					return []string{t.UID, t.Name, timeString(t.CreatedAt)}
				}, tenantToJSON), err
			}},
		{name: "token-settings", short: "Show, or with --expiry-minutes set (15 to 1440), how long a tenant's tokens live",
			required: []string{"name"}, optional: []string{"expiry-minutes"},
			run: tokenSettings},
	})
}

// tokenSettings shows a tenant's token lifetime, setting it first when asked to.
func tokenSettings(ctx context.Context, ad manage.Operator, in input) (result, error) {
	if m := in.s("expiry-minutes"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			return result{}, fmt.Errorf("--expiry-minutes must be a whole number of minutes, not %q", m)
		}
		if err := ad.SetTokenTTL(ctx, in.s("name"), time.Duration(n)*time.Minute); err != nil {
			return result{}, err
		}
	}
	ts, err := ad.TokenSettings(ctx, in.s("name"))
	minutes := int(math.Ceil(ts.TTL.Minutes()))
	source := "the gateway's token_ttl"
	if ts.Own {
		source = "the tenant's own setting"
	}
	return result{
		text: fmt.Sprintf("tokens of tenant %s live %d minutes (%s)", in.s("name"), minutes, source),
		json: map[string]any{"expiryTimeMinutes": minutes, "own": ts.Own},
	}, err
}

func (c *cli) userCommands() *cobra.Command {
	return c.command("user", "Manage users", []verb{
		{name: "create", short: "Create a user",
			required: []string{"tenant", "email", "role"}, optional: []string{"first-name", "last-name"}, bools: []string{"password-stdin"},
			run: c.createUser},
		{name: "list", short: "List the users of a tenant, or of every tenant", optional: []string{"tenant"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				users, err := ad.ListUsers(ctx, in.s("tenant"))
				if err != nil {
					return result{}, err
				}
				names, err := tenantNames(ctx, ad)
				return listResult(users, []string{"UID", "EMAIL", "TENANT", "ROLE", "ACTIVE", "NAME"}, func(u storage.User) []string {
					return []string{u.UID, u.Email, names[u.TenantUID], string(u.Role), yesNo(!u.Disabled), fullName(u.FirstName, u.LastName)}
				}, cliUserToJSON), err
			}},
		{name: "show", short: "Show a user", required: []string{"email"}, optional: []string{"tenant"},
			run: userChange(func(ctx context.Context, _ manage.Operator, u storage.User, _ input) (storage.User, string, error) {
				return u, "", nil
			})},
		{name: "update", short: "Change a user's names", required: []string{"email"}, optional: []string{"tenant", "first-name", "last-name"},
			run: userChange(func(ctx context.Context, ad manage.Operator, u storage.User, in input) (storage.User, string, error) {
				if in.s("first-name") == "" && in.s("last-name") == "" {
					return u, "", fmt.Errorf("give --first-name or --last-name")
				}
				u, err := ad.UpdateUser(ctx, u, manage.UserRequest{FirstName: in.s("first-name"), LastName: in.s("last-name")})
				return u, fmt.Sprintf("updated %s (uid %s)", u.Email, u.UID), err
			})},
		{name: "set-role", short: "Make a user a tenant admin or a user", required: []string{"email", "role"}, optional: []string{"tenant"},
			run: userChange(func(ctx context.Context, ad manage.Operator, u storage.User, in input) (storage.User, string, error) {
				u, err := ad.UpdateUser(ctx, u, manage.UserRequest{Role: storage.Role(in.s("role"))})
				return u, fmt.Sprintf("%s is now %s (uid %s)", u.Email, u.Role, u.UID), err
			})},
		{name: "reset-password", short: "Give a user a new password (random unless --password-stdin) and end their sessions",
			required: []string{"email"}, optional: []string{"tenant"}, bools: []string{"password-stdin"},
			run: c.resetPassword},
		userSwitch("disable", "Disable a user: their keys stop working at once", true),
		userSwitch("enable", "Re-enable a disabled user", false),
		{name: "delete", short: "Delete a user with their keys, sessions and memberships", required: []string{"email"}, optional: []string{"tenant"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				u, err := in.user(ctx, ad)
				if err == nil {
					err = ad.DeleteUser(ctx, u)
				}
				return result{text: fmt.Sprintf("deleted user %s (uid %s)", u.Email, u.UID), json: uidAnswer{UID: u.UID}}, err
			}},
	})
}

func (c *cli) createUser(ctx context.Context, ad manage.Operator, in input) (result, error) {
	var password string
	if in.b("password-stdin") {
		var err error
		if password, err = c.readPassword(); err != nil {
			return result{}, err
		}
	}
	u, err := ad.CreateUser(ctx, manage.NewUser{
		TenantName: in.s("tenant"), Email: in.s("email"), Role: storage.Role(in.s("role")),
		FirstName: in.s("first-name"), LastName: in.s("last-name"), Password: password,
	})
	return result{
		text: fmt.Sprintf("created %s %s in tenant %s (uid %s)", u.Role, u.Email, in.s("tenant"), u.UID),
		json: cliUserJSON(u),
	}, err
}

// resetPassword prints the new password only when Keygate chose it: one the operator
// typed is theirs already, and echoing it would put it in a terminal's scrollback.
func (c *cli) resetPassword(ctx context.Context, ad manage.Operator, in input) (result, error) {
	u, err := in.user(ctx, ad)
	if err != nil {
		return result{}, err
	}
	var given string
	if in.b("password-stdin") {
		if given, err = c.readPassword(); err != nil {
			return result{}, err
		}
	}
	password, err := ad.ResetPassword(ctx, u, given)
	text := fmt.Sprintf("reset the password of %s (uid %s); their sessions have ended", u.Email, u.UID)
	answer := map[string]any{"uid": u.UID, "emailId": u.Email}
	if given == "" {
		text += "\nnew password (shown once): " + password
		answer["password"] = password
	}
	return result{text: text, json: answer}, err
}

// userChange is a verb on the user --email (and --tenant) name: change returns the user
// as they now are and a line saying what it did ("" for a read, which shows the user).
func userChange(change func(ctx context.Context, ad manage.Operator, u storage.User, in input) (storage.User, string, error)) func(context.Context, manage.Operator, input) (result, error) {
	return func(ctx context.Context, ad manage.Operator, in input) (result, error) {
		u, err := in.user(ctx, ad)
		if err != nil {
			return result{}, err
		}
		u, text, err := change(ctx, ad, u, in)
		if err != nil {
			return result{}, err
		}
		if text == "" {
			text = fields(
				"uid", u.UID, "email", u.Email, "tenant uid", u.TenantUID, "role", string(u.Role),
				"active", yesNo(!u.Disabled), "first name", u.FirstName, "last name", u.LastName,
				"created", timeString(u.CreatedAt), "updated", timeString(u.UpdatedAt),
			)
		}
		return result{text: text, json: cliUserToJSON(u)}, nil
	}
}

// userSwitch disables (or re-enables) the user --email names.
func userSwitch(name, short string, disabled bool) verb {
	return verb{name: name, short: short, required: []string{"email"}, optional: []string{"tenant"},
		run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
			u, err := in.user(ctx, ad)
			if err == nil {
				err = ad.SetUserDisabled(ctx, u, disabled)
				u.Disabled = disabled
			}
			return result{text: fmt.Sprintf("%sd %s (uid %s)", name, u.Email, u.UID), json: cliUserJSON(u)}, err
		}}
}

// cliUserJSON is what user create, disable and enable print: a flat summary.
func cliUserJSON(u storage.User) map[string]any {
	return map[string]any{
		"uid": u.UID, "emailId": u.Email, "tenantUid": u.TenantUID,
		"role": u.Role, "isActive": !u.Disabled,
	}
}
