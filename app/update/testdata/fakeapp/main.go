// Command fakeapp stands in for the app binary in TestE2ESelfUpdate: it
// prints the version it was built with, which is all the test needs to
// see which binary runs (the Fyne app would take minutes to build).
package main

import "fmt"

var version = "dev"

func main() { fmt.Println(version) }
