package caddymodule

import (
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("keygate", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("keygate", parseHandlerDirective)
	// Authentication belongs with Caddy's other auth handlers: after request rewriting,
	// before anything that responds, so a site block needs no `order` line.
	httpcaddyfile.RegisterDirectiveOrder("keygate", httpcaddyfile.After, "forward_auth")
}

// parseGlobalOption sets up the keygate app from the global options block. Syntax:
//
//	keygate {
//		storage sqlite [<path>]
//		cache_max_entries <n>
//		cache_ttl <duration>
//		negative_cache_ttl <duration>
//		stale_if_error <duration>|off
//		max_key_lifetime <duration>
//		max_keys_per_user <n>|0
//		token_ttl <duration>
//		login_failure_limit <n>
//		client_failure_limit <n>
//		failure_window <duration>
//		login_cpu_share <share, 0 < share <= 1>
//		bootstrap_admin <email> [<password>]
//		sso <organisation> { ... }
//		webhook_private_targets allow|deny
//		webhook_timeout <duration>
//		expiry_reminders <duration>...
//		preload_keys <n>|0
//	}
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("the keygate global option is given twice; merge the two blocks")
	}
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "keygate", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler; see parseGlobalOption.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	options := a.options()
	seen := map[string]bool{}
	for d.NextBlock(0) {
		sub := d.Val()
		if seen[sub] && sub != "sso" { // sso comes once per organisation
			return d.Errf("keygate option %q is given twice", sub)
		}
		seen[sub] = true
		i := slices.IndexFunc(options, func(o appOption) bool { return o.name == sub })
		if i < 0 {
			names := make([]string, len(options))
			for i, o := range options {
				names[i] = o.name
			}
			return d.Errf("unknown keygate option %q (want %s)", sub, alternatives(names))
		}
		if err := options[i].parse(d); err != nil {
			return err
		}
	}
	return nil
}

// appOption is a keygate global option and how it sets a.
type appOption struct {
	name  string
	parse func(d *caddyfile.Dispenser) error
}

// options are the keygate global options, in the order messages list them.
func (a *App) options() []appOption {
	return []appOption{
		{"storage", a.parseStorage},
		{"cache_max_entries", func(d *caddyfile.Dispenser) error { return parsePositiveInt(d, &a.CacheMaxEntries) }},
		{"cache_ttl", func(d *caddyfile.Dispenser) error { return parseDuration(d, &a.CacheTTL) }},
		{"negative_cache_ttl", func(d *caddyfile.Dispenser) error { return parseDuration(d, &a.NegativeCacheTTL) }},
		{"stale_if_error", func(d *caddyfile.Dispenser) error { return parseDurationOrOff(d, &a.StaleIfError) }},
		{"max_key_lifetime", func(d *caddyfile.Dispenser) error { return parseDuration(d, &a.MaxKeyLifetime) }},
		{"max_keys_per_user", func(d *caddyfile.Dispenser) error { return parseKeyLimit(d, &a.MaxKeysPerUser) }},
		{"token_ttl", func(d *caddyfile.Dispenser) error { return parseDuration(d, &a.TokenTTL) }},
		{"login_failure_limit", func(d *caddyfile.Dispenser) error { return parsePositiveInt(d, &a.LoginFailureLimit) }},
		{"client_failure_limit", func(d *caddyfile.Dispenser) error { return parsePositiveInt(d, &a.ClientFailureLimit) }},
		{"failure_window", func(d *caddyfile.Dispenser) error { return parseDuration(d, &a.FailureWindow) }},
		{"login_cpu_share", func(d *caddyfile.Dispenser) error { return parseShare(d, &a.LoginCPUShare) }},
		{"bootstrap_admin", a.parseBootstrapAdmin},
		{"sso", a.parseSSO},
		{"webhook_private_targets", a.parseWebhookPrivateTargets},
		{"webhook_timeout", func(d *caddyfile.Dispenser) error { return parseDuration(d, &a.WebhookTimeout) }},
		{"expiry_reminders", a.parseExpiryReminders},
		{"preload_keys", func(d *caddyfile.Dispenser) error { return parseCountOrOff(d, &a.PreloadKeys, "0 for none") }},
	}
}

func (a *App) parseStorage(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.Err("storage needs a backend, e.g. `storage sqlite /var/lib/keygate/keygate.db`")
	}
	backend := d.Val()
	if _, err := caddy.GetModule("keygate.storage." + backend); err != nil {
		return d.Errf("unknown storage backend %q (this build has: %s)", backend, strings.Join(storageBackends(), ", "))
	}
	mod, err := caddyfile.UnmarshalModule(d, "keygate.storage."+backend)
	if err != nil {
		return err // it names the backend, or the token and line at fault
	}
	a.StorageRaw = caddyconfig.JSONModuleObject(mod, "backend", backend, nil)
	return nil
}

// storageBackends names the keygate.storage modules compiled in.
func storageBackends() []string {
	var names []string
	for _, m := range caddy.GetModules("keygate.storage") {
		names = append(names, m.ID.Name())
	}
	return names
}

func (a *App) parseBootstrapAdmin(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return d.Err("bootstrap_admin takes an email and optionally a password, e.g. `bootstrap_admin admin@example.com {env.KEYGATE_ADMIN_PASSWORD}`")
	}
	a.BootstrapAdmin = &BootstrapAdmin{Email: args[0]}
	if len(args) == 2 {
		a.BootstrapAdmin.Password = args[1]
	}
	return nil
}

// oneArg reads an option's one argument.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	var s string
	if !d.Args(&s) || d.NextArg() {
		return "", d.ArgErr()
	}
	return s, nil
}

func parsePositiveInt[T int | int64](d *caddyfile.Dispenser, dst *T) error {
	option := d.Val()
	s, err := oneArg(d)
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return d.Errf("%s must be a positive whole number, not %q", option, s)
	}
	*dst = T(n)
	return nil
}

// parseShare reads a share of the CPUs: a number more than 0 and at most 1.
func parseShare(d *caddyfile.Dispenser, dst *float64) error {
	option := d.Val()
	s, err := oneArg(d)
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f <= 1) {
		return d.Errf("%s must be a share of the CPUs, more than 0 and at most 1 (e.g. 0.1), not %q", option, s)
	}
	*dst = f
	return nil
}

// parseKeyLimit reads max_keys_per_user: a whole number, 0 for no limit.
func parseKeyLimit(d *caddyfile.Dispenser, dst **int) error {
	return parseCountOrOff(d, dst, "0 for no limit")
}

// parseCountOrOff reads a whole number where 0 has a meaning of its own (zero says which).
func parseCountOrOff(d *caddyfile.Dispenser, dst **int, zero string) error {
	option := d.Val()
	s, err := oneArg(d)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return d.Errf("%s must be a whole number, %s, not %q", option, zero, s)
	}
	*dst = &n
	return nil
}

func parseDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	return parseDurationArg(d, dst, false)
}

// parseDurationOrOff is parseDuration that also takes "off", stored as -1 (negative
// means off in the JSON config, where 0 means the default).
func parseDurationOrOff(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	return parseDurationArg(d, dst, true)
}

// parseDurationArg reads a positive duration, or "off" too when orOff.
func parseDurationArg(d *caddyfile.Dispenser, dst *caddy.Duration, orOff bool) error {
	s, err := oneArg(d)
	if err != nil {
		return err
	}
	if orOff && s == "off" {
		*dst = -1
		return nil
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur <= 0 {
		if orOff {
			return d.Errf("%q is not a positive duration such as 30s or 5m, or off", s)
		}
		return d.Errf("%q is not a positive duration such as 30s or 5m", s)
	}
	*dst = caddy.Duration(dur)
	return nil
}

// UnmarshalCaddyfile sets up the SQLite backend. Syntax: `storage sqlite [<path>]`.
func (s *SQLiteStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the backend name, "sqlite"
	if d.NextArg() {
		s.Path = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(0) {
		return d.Errf("storage sqlite takes only a path, not a block (found %q)", d.Val())
	}
	return nil
}

// parseHandlerDirective sets up the keygate handler. Syntax:
//
//	keygate {
//		forward_credentials
//		endpoints off
//		auth_prefix <path>
//		api_prefix <path>
//		scim_prefix <path>
//		console off|<path>
//		require <permission>...
//		headers {
//			user_uid|user_email|tenant_uid|user_role|auth_method|api_key_uid|project_uid|tenant_roles|project_roles <name>
//		}
//	}
func parseHandlerDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next()
	file, line := h.File(), h.Line()
	h.Reset()
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	warnIfAccessLogLeaks(h, file, line)
	return handler, nil
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler; see parseHandlerDirective.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch sub := d.Val(); sub {
		case "forward_credentials":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.ForwardCredentials = true
		case "headers":
			if err := h.parseHeaders(d); err != nil {
				return err
			}
		case "endpoints":
			if !d.Args(&h.Endpoints) || d.NextArg() || h.Endpoints != "off" {
				return d.Err("endpoints takes one argument: off")
			}
		case "auth_prefix":
			if !d.Args(&h.AuthPrefix) || d.NextArg() || !strings.HasPrefix(h.AuthPrefix, "/") {
				return d.Err("auth_prefix takes one path, e.g. /v1/auth/")
			}
		case "api_prefix":
			if !d.Args(&h.APIPrefix) || d.NextArg() || !strings.HasPrefix(h.APIPrefix, "/") {
				return d.Err("api_prefix takes one path, e.g. /v1/")
			}
		case "scim_prefix":
			if !d.Args(&h.SCIMPrefix) || d.NextArg() || !strings.HasPrefix(h.SCIMPrefix, "/") {
				return d.Err("scim_prefix takes one path, e.g. /scim/v2/")
			}
		case "console":
			if err := h.parseConsole(d); err != nil {
				return err
			}
		case "require":
			perms := d.RemainingArgs()
			if len(perms) == 0 {
				return d.Err("require takes one or more permissions, e.g. require cluster.get")
			}
			h.Require = append(h.Require, perms...)
		default:
			return d.Errf("unknown keygate subdirective %q (want forward_credentials, headers, endpoints, auth_prefix, api_prefix, scim_prefix, console or require)", sub)
		}
	}
	return nil
}

func (h *Handler) parseHeaders(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.Errf("headers takes a block, not %q", d.Val())
	}
	if h.Headers == nil {
		h.Headers = new(IdentityHeaders)
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		ih, ok := identityKey(d.Val())
		if !ok {
			return d.Errf("unknown identity header %q (want %s)", d.Val(), identityKeys())
		}
		field := ih.field(h.Headers)
		if !d.Args(field) || d.NextArg() {
			return d.ArgErr()
		}
		if !validHeaderName(*field) {
			return d.Errf("%q is not a valid header name", *field)
		}
	}
	return nil
}

// alternatives lists names for a message: "a, b or c".
func alternatives(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*SQLiteStorage)(nil)
)
