// etcd for the node image's etcd image: the etcd binary's main package lives in
// etcd's root module, whose go.mod replaces its sibling modules with ../ paths,
// so it cannot be built from the module proxy; this is its main function, which
// only calls the server module's etcdmain.Main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
