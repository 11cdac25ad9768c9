//go:build tools

// The program this module builds: etcd's server, whose main package is the module root.
package tools

import _ "go.etcd.io/etcd/server/v3"
