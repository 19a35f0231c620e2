// Package caddymodule holds everything Caddy-facing in Keygate.
package caddymodule
