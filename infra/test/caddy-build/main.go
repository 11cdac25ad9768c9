// Caddy at the version docker/compose.yaml runs (caddy:2.10-alpine), with its standard modules,
// built from the Go module proxy for the tests: `caddy validate`, `caddy adapt` and a live Caddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
