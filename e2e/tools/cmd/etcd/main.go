// etcd for the local control plane: etcd's own main, built here because its module's replaces
// keep `go install` from building it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
