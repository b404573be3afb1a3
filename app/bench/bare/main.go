// Command bare is the baseline for app.coldstart_vs_bare: the smallest Fyne
// program that opens a window with the same Japanese label the app's login
// screen shows, and reports readiness the same way the app does.
package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("jp.lg.zaitaku.bench")
	w := a.NewWindow("bare")
	w.SetContent(widget.NewLabel("サインイン"))
	w.Resize(fyne.NewSize(560, 720))
	if os.Getenv("ZAITAKU_BENCH_READY") != "" {
		a.Lifecycle().SetOnStarted(func() { fyne.Do(func() { fmt.Println("ZAITAKU_READY") }) })
	}
	w.ShowAndRun()
}
