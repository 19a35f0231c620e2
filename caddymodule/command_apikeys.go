package caddymodule

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/authcore/manage"
)

func (c *cli) apikeyCommands() *cobra.Command {
	return c.command("apikey", "Manage API keys", []verb{
		{name: "create", short: "Create an API key and print it (shown only once)",
			required: []string{"email", "name", "expires"}, optional: []string{"tenant", "description"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				u, err := in.user(ctx, ad)
				if err != nil {
					return result{}, err
				}
				k, err := ad.CreateAPIKey(ctx, manage.NewAPIKey{User: u, Name: in.s("name"), Description: in.s("description"), Expiry: in.s("expires")})
				return result{
					text: k.Key,
					json: map[string]any{"apiKey": k.Key, "uid": k.Record.UID, "expiry": timeString(k.Record.ExpiresAt)},
				}, err
			}},
		{name: "list", short: "List the keys of a user, of a tenant, or of every tenant", optional: []string{"email", "tenant"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				keys, err := ad.ListAPIKeys(ctx, in.s("email"), in.s("tenant"))
				if err != nil {
					return result{}, err
				}
				names, err := tenantNames(ctx, ad)
				return listResult(keys, []string{"UID", "NAME", "USER", "TENANT", "ACTIVE", "EXPIRES", "LAST USED"}, func(v manage.KeyView) []string {
					k := v.Key
					return []string{k.UID, k.Name, v.Owner.Email, names[k.TenantUID], keyState(cliKeyToJSON(v)), timeString(k.ExpiresAt), timeString(k.LastUsedAt)}
				}, cliKeyToJSON), err
			}},
		{name: "show", short: "Show an API key (never the key itself)", required: []string{"uid"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				v, err := ad.GetAPIKey(ctx, in.s("uid"))
				return keyResult(v, ""), err
			}},
		{name: "edit", short: "Change a key's name, description or expiry", required: []string{"uid"}, optional: []string{"name", "description", "expires"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				e := manage.APIKeyEdit{Name: in.s("name"), Expiry: in.s("expires")}
				if in.given("description") {
					d := in.s("description")
					e.Description = &d
				}
				if e.Name == "" && e.Expiry == "" && e.Description == nil {
					return result{}, errors.New("give --name, --description or --expires")
				}
				v, err := ad.EditAPIKey(ctx, in.s("uid"), e)
				return keyResult(v, "edited"), err
			}},
		{name: "roll", short: "Replace an API key with a new one and print it (shown only once); the old one works for the overlap",
			required: []string{"uid"}, optional: []string{"overlap"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				k, err := ad.RollAPIKey(ctx, in.s("uid"), in.s("overlap"))
				return result{
					text: k.Key,
					json: map[string]any{"apiKey": k.Key, "uid": k.Record.UID, "rolledFrom": k.Record.RolledFrom, "expiry": timeString(k.Record.ExpiresAt)},
				}, err
			}},
		keySwitch("revoke", "Revoke an API key", false),
		keySwitch("activate", "Re-activate a revoked API key (not an expired one)", true),
		{name: "delete", short: "Delete an API key", required: []string{"uid"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				uid := in.s("uid")
				return result{text: "deleted api key " + uid, json: uidAnswer{UID: uid}}, ad.DeleteAPIKey(ctx, uid)
			}},
	})
}

// keyResult is a key as show prints it, or for a change (did) one line.
func keyResult(v manage.KeyView, did string) result {
	j := cliKeyToJSON(v)
	if did != "" {
		return result{text: fmt.Sprintf("%s api key %s (%s)", did, v.Key.UID, v.Key.Name), json: j}
	}
	k := v.Key
	return result{text: fields(
		"uid", k.UID, "name", k.Name, "description", k.Description, "key", k.Hint,
		"user", v.Owner.Email, "user uid", v.Owner.UID, "tenant uid", k.TenantUID, "state", keyState(j),
		"expires", timeString(k.ExpiresAt), "created", timeString(k.CreatedAt),
		"updated", timeString(k.UpdatedAt), "last used", timeString(k.LastUsedAt),
		"rolled from", k.RolledFrom, "rolled to", k.RolledTo,
	), json: j}
}

// keyState is "active", "revoked" or "expired".
func keyState(j cliKey) string {
	switch {
	case j.Status.IsExpired:
		return "expired"
	case !j.Status.IsActive:
		return "revoked"
	}
	return "active"
}

// keySwitch revokes (or re-activates) the key --uid names.
func keySwitch(name, short string, active bool) verb {
	return verb{name: name, short: short, required: []string{"uid"},
		run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
			uid := in.s("uid")
			_, err := ad.SetAPIKeyActive(ctx, uid, active)
			return result{text: name + "d api key " + uid, json: map[string]any{"uid": uid, "isActive": active}}, err
		}}
}
