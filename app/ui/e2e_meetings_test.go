package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2EMeetingsScreenshot runs the real app binary under its own Xvfb
// against a real broker where yamada's department has a meeting running
// ("meet now" by yamada himself, so he is offered a guest link) and two
// scheduled, one of them running. yamada signs in through the window and
// opens 会議 from the home screen; the window goes to
// $ARTIFACTS_DIR/app-meetings-ja.png.
func TestE2EMeetingsScreenshot(t *testing.T) {
	needDisplayTools(t)
	art := brokertest.ArtifactsDir(t)
	bin := buildApp(t)
	b := demoBroker(t)
	ctx := context.Background()
	yamada, err := b.Services.Auth.GetUser(ctx, "yamada")
	if err != nil {
		t.Fatal(err)
	}
	tanaka, err := b.Services.Auth.GetUser(ctx, "tanaka")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Services.Meet.Create(ctx, *yamada, "窓口応援の打合せ"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	running, err := b.Services.Schedule.Create(ctx, *tanaka, api.CreateMeetingRequest{Title: "課内定例会議",
		StartsAt: now.Add(-10 * time.Minute), EndsAt: now.Add(50 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Services.Meet.ForMeeting(ctx, running); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Services.Schedule.Create(ctx, *yamada, api.CreateMeetingRequest{Title: "株式会社サンプルとの打合せ",
		StartsAt: now.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	kr := keyringtest.Start(t)
	display := uitest.StartXvfb(t, 1280, 900)
	home := t.TempDir()
	env := append(appEnv(kr, display, home), "TZ=Asia/Tokyo")
	app := startApp(t, bin, env, display, "-broker", b.URL, "-pin", b.Pin, "-lang", "ja",
		"-device", "e2e-meet", "-data", filepath.Join(home, "data"))
	app.waitLog(t, "phase=signed_out", 20*time.Second)
	time.Sleep(time.Second)
	signIn(t, display, app, "yamada", nil)
	app.waitLog(t, "phase=ready", 20*time.Second)
	time.Sleep(1500 * time.Millisecond)
	uitest.Screenshot(t, display, app.win, filepath.Join(art, "app-home-meetings-ja.png"))

	w := windowWidth(t, display, app.win)
	uitest.Click(t, display, app.win, w-meetingsButtonOffset, 27)
	time.Sleep(2 * time.Second) // the list is read
	path := filepath.Join(art, "app-meetings-ja.png")
	uitest.Screenshot(t, display, app.win, path)
	t.Logf("screenshot %s", path)
	if st, err := os.Stat(path); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", path, err)
	}
}

// meetingsButtonOffset is the 会議 button's centre from the window's
// right edge, left of chat (measured on the Japanese home screen).
const meetingsButtonOffset = 300
