// Command keygate is Caddy with the Keygate modules plugged in. Keygate's commands are
// at its top level ("keygate apikey list") as well as under Caddy's subcommand
// ("keygate keygate apikey list", the form a Caddy built with Keygate has).
package main

import (
	"os"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules, as in Caddy's own main.go.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/keygate/keygate/caddymodule"
)

func main() {
	os.Args = caddymodule.WithTopLevelCommands(os.Args)
	caddycmd.Main()
}
