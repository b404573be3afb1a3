package ui

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// assertMarkup compares the canvas, rendered as Fyne's markup, with
// testdata/name; -update rewrites it. The markup pins layout and texts, so a
// change to a screen shows up in review as a diff.
func assertMarkup(t *testing.T, name string, c fyne.Canvas) {
	t.Helper()
	got := test.RenderToMarkup(c)
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		failed := filepath.Join("testdata", "failed", name)
		_ = os.MkdirAll(filepath.Dir(failed), 0o755)
		_ = os.WriteFile(failed, []byte(got), 0o644)
		t.Errorf("%s differs from the golden file; see %s (go test -run %s -update to accept)", path, failed, t.Name())
	}
}

func TestGoldenScreens(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() fyne.CanvasObject
	}{
		{"home_connected_ja.xml", func() fyne.CanvasObject {
			st := readyState()
			st.Phase, st.Since = core.Connected, testNow.Add(-(12*time.Minute + 34*time.Second))
			return makeHome(i18n.New("ja"), st, testNow, homeActions{}).root
		}},
		{"home_ready_awake_ja.xml", func() fyne.CanvasObject {
			st := readyState()
			st.Terminal = &core.Terminal{ID: "t1", Name: "総務課-01", State: core.TerminalAwake, SeenAt: testNow.Add(-time.Minute)}
			return makeHome(i18n.New("ja"), st, testNow, homeActions{}).root
		}},
		{"home_queued_en.xml", func() fyne.CanvasObject {
			st := readyState()
			st.Phase, st.Queue, st.QueueETA = core.Queued, 3, 4*time.Minute
			return makeHome(i18n.New("en"), st, testNow, homeActions{}).root
		}},
		{"login_en.xml", func() fyne.CanvasObject {
			return makeLogin(i18n.New("en"), loginView{Broker: "https://zaitaku.example.lg.jp:8443", StaffID: "k1024", Remember: true},
				loginActions{}).root
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			test.NewTempApp(t)
			w := test.NewWindow(tc.make())
			defer w.Close()
			w.Resize(fyne.NewSize(560, 720))
			assertMarkup(t, tc.name, w.Canvas())
		})
	}
}
