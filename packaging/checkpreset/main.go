// Command checkpreset reads a zaitaku-app.json the way the app does
// (ui.LoadPreset) before the release recipe puts it in a package, so a
// typo in IT's preset fails the build, not every laptop's first start.
//
//	go run ./packaging/checkpreset zaitaku-app.json
package main

import (
	"fmt"
	"os"

	"github.com/zaitaku/zaitaku/app/ui"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: checkpreset zaitaku-app.json")
		os.Exit(2)
	}
	p, err := ui.LoadPreset(os.Args[1])
	if err == nil && p.BrokerURL == "" {
		err = fmt.Errorf("%s: no \"broker\" address (or the file is missing)", os.Args[1])
	}
	if err == nil && p.Pins == "" && p.Fingerprint == "" && !p.TrustOS {
		err = fmt.Errorf("%s: no \"pins\": laptops would refuse the broker (or set \"trust_os_store\" for a certificate from a real CA)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkpreset:", err)
		os.Exit(1)
	}
	fmt.Printf("preset: broker %s, pins %s\n", p.BrokerURL, p.Pins)
}
