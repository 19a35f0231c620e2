// Command keygate is Caddy with the Keygate modules plugged in.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules, as in Caddy's own main.go.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/keygate/keygate/caddymodule"
)

func main() {
	caddycmd.Main()
}
