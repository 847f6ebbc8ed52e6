//go:build tools

// runc for the local node's containerd; its own module (cgo, with Debian's libseccomp-dev).
package tools

import _ "github.com/opencontainers/runc"
