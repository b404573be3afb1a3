// Command broker is the Zaitaku broker: `broker serve` (the default) and the
// IT commands `broker admin ...`.
package main

import (
	"os"

	"github.com/zaitaku/zaitaku/broker/admin"
)

func main() {
	os.Exit(admin.Main(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
