// Command broker is the Zaitaku broker: `broker serve` (the default) and the
// IT commands `broker admin ...`.
package main

import (
	"os"

	"github.com/zaitaku/zaitaku/broker/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
