package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseWebhookPrivateTargets reads `webhook_private_targets allow|deny`.
func (a *App) parseWebhookPrivateTargets(d *caddyfile.Dispenser) error {
	s, err := oneArg(d)
	if err != nil {
		return err
	}
	if s != "allow" && s != "deny" {
		return d.Errf("webhook_private_targets must be allow or deny, not %q", s)
	}
	a.WebhookPrivateTargets = s
	return nil
}

// parseExpiryReminders reads `expiry_reminders <duration>...`, e.g. `expiry_reminders 14d 7d 1d`.
func (a *App) parseExpiryReminders(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Err("expiry_reminders needs one or more durations before expiry, e.g. `expiry_reminders 7d 1d`")
	}
	for _, s := range args {
		dur, err := caddy.ParseDuration(s)
		if err != nil || dur <= 0 {
			return d.Errf("expiry_reminders takes positive durations such as 7d or 12h, not %q", s)
		}
		a.ExpiryReminders = append(a.ExpiryReminders, caddy.Duration(dur))
	}
	return nil
}
