//go:build tools

// containerd 2.x for the local node; its own module because its dependencies differ from
// Kubernetes 1.37's (go build github.com/containerd/containerd/v2/cmd/containerd ...).
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
