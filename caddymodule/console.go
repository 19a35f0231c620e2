package caddymodule

import (
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/keygate/keygate/console"
)

// defaultConsolePrefix is where the web console is served unless configured otherwise.
const defaultConsolePrefix = "/console/"

// provisionConsole builds the console's handler, unless it is off. Without the endpoints
// there is nothing for the console to call, so it is off then too; a console prefix set
// together with `endpoints off` is a contradiction worth reporting.
func (h *Handler) provisionConsole() error {
	if h.Console == "off" {
		return nil
	}
	if h.Endpoints == "off" {
		if h.ConsolePrefix != "" {
			return fmt.Errorf("keygate: console_prefix %q is set, but endpoints are off and the console needs them; set console off", h.ConsolePrefix)
		}
		return nil
	}
	h.consolePrefix = withSlashes(h.ConsolePrefix, defaultConsolePrefix)
	p := h.consolePrefix
	if p == "/" || strings.ContainsAny(p, "{} \t\n?#%") || path.Clean(p)+"/" != p {
		return fmt.Errorf("keygate: console prefix %q must be a clean path below / without braces, spaces, %%, ? or #", p)
	}
	for _, other := range []string{h.authPrefix, h.apiPrefix} {
		if strings.HasPrefix(p, other) || strings.HasPrefix(other, p) {
			return fmt.Errorf("keygate: console prefix %q overlaps the endpoint prefix %q; move one of them", p, other)
		}
	}
	h.consoleBase = strings.TrimSuffix(p, "/")
	var err error
	h.console, err = console.Handler(console.Config{Prefix: p, AuthPrefix: h.authPrefix, APIPrefix: h.apiPrefix})
	return err
}

func (h *Handler) validateConsole() error {
	if h.Console != "" && h.Console != "off" {
		return fmt.Errorf("keygate: console must be \"off\" or unset, not %q (set console_prefix to move it)", h.Console)
	}
	return nil
}

// servesConsole reports whether r is for the console: its prefix, or the prefix without
// the final slash (redirected). The console needs no credential: it is static files,
// and everything it shows comes from the authenticated API.
func (h *Handler) servesConsole(r *http.Request) bool {
	if h.console == nil {
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, h.consolePrefix) || p == h.consoleBase
}

// parseConsole reads `console off` or `console <path>`.
func (h *Handler) parseConsole(d *caddyfile.Dispenser) error {
	var arg string
	if !d.Args(&arg) || d.NextArg() {
		return d.Err("console takes one argument: off, or the path to serve the web console at, e.g. /console/")
	}
	switch {
	case arg == "off":
		h.Console, h.ConsolePrefix = "off", ""
	case strings.HasPrefix(arg, "/") && arg != "/":
		h.Console, h.ConsolePrefix = "", arg
	default:
		return d.Errf("console takes off or a path below / such as /console/, not %q", arg)
	}
	return nil
}
