// Reads env files with Docker Compose v2's own dotenv parser (compose-go, at the version Compose
// v2.24.6 pins, as in Ubuntu 24.04's docker-compose-v2), the way `docker compose --env-file` and
// `env_file:` read them. Prints the parsed variables as one JSON object per file on stdout. On a
// parse error it exits 1 and says only that the file does not parse: compose-go's error quotes
// file content, which may be a secret.
//
//	dotenv-check FILE...
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

func main() {
	for _, file := range os.Args[1:] {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dotenv-check: cannot open %s\n", file)
			os.Exit(2)
		}
		// No lookup: the rendered file never refers to the environment.
		vars, err := dotenv.ParseWithLookup(f, func(string) (string, bool) { return "", false })
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "dotenv-check: %s does not parse\n", file)
			os.Exit(1)
		}
		out, _ := json.Marshal(vars)
		fmt.Println(string(out))
	}
}
