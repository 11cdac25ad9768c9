//go:build tools

// The programs this module builds; `go build k8s.io/kubernetes/cmd/...` needs them in the module graph.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
