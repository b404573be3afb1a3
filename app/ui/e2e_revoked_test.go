package ui_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2ERevokedLaptop runs the lost-laptop response with the real app
// binary under Xvfb, a real broker (demo data) and a real gnome-keyring.
// A connected app first sees BCP mode announced (the line on its home
// screen); then IT revokes the laptop: the app is cut off within seconds,
// its journal reaches the broker (the device's timeline shows the app's
// own "device.revoked"), its keyring entries are gone, and its next start
// shows the revoked screen. Screenshots: app-bcp-ja.png,
// app-revoked-ja.png, app-revoked-en.png.
func TestE2ERevokedLaptop(t *testing.T) {
	needDisplayTools(t)
	art := brokertest.ArtifactsDir(t)
	bin := buildApp(t)
	b := demoBroker(t)
	ctx := context.Background()
	adm := b.Signin(t, "it-e2e", api.RoleAdmin)

	kr := keyringtest.Start(t)
	display := uitest.StartXvfb(t, 1024, 800)
	home := t.TempDir()
	env := appEnv(kr, display, home)
	run := func(lang string, extra ...string) *appProc {
		args := append([]string{"-broker", b.URL, "-pin", b.Pin, "-lang", lang,
			"-device", "e2e-lost", "-data", filepath.Join(home, "data")}, extra...)
		return startApp(t, bin, env, display, args...)
	}
	shot := func(p *appProc, name string) {
		path := filepath.Join(art, name)
		uitest.Screenshot(t, display, p.win, path)
		t.Logf("screenshot %s", path)
	}

	app := run("ja", "-connect")
	app.waitLog(t, "phase=signed_out", 20*time.Second)
	signIn(t, display, app, "yamada", nil)
	app.waitLog(t, "phase=connected", 60*time.Second)

	capN := 200
	if _, err := adm.ConfigureBCP(ctx, api.BCPConfigUpdate{Cap: &capN, Departments: &[]string{"危機管理課"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.SwitchBCP(ctx, true, "震度6弱の地震のため、災害対応業務を優先します"); err != nil {
		t.Fatal(err)
	}
	app.waitLog(t, "bcp mode\" on=true", 10*time.Second)
	time.Sleep(time.Second)
	shot(app, "app-bcp-ja.png")

	devs, err := adm.Devices(ctx, "yamada")
	if err != nil || len(devs.Devices) != 1 {
		t.Fatalf("yamada's laptops: %+v %v", devs, err)
	}
	dev := devs.Devices[0]
	for _, key := range []string{"refresh-token", "device-key", "device-id", "staff-id"} {
		if ok, err := kr.Has("zaitaku", key); err != nil || !ok {
			t.Fatalf("keyring entry %q before the revocation: %v %v", key, ok, err)
		}
	}

	var rev api.DeviceRevocation
	if err := adm.Do(ctx, "POST", "/admin/v1/devices/"+dev.ID+"/revoke", nil, &rev); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	if list, err := adm.Sessions(ctx); err != nil || len(list.Sessions) != 0 {
		t.Fatalf("live sessions after the revocation: %+v %v", list, err)
	}
	app.waitLog(t, "msg=\"revoked screen\"", 10*time.Second)
	t.Logf("the app showed the revoked screen %s after the revocation", time.Since(cut).Round(time.Millisecond))
	app.waitLog(t, "wiped=true", 60*time.Second)
	time.Sleep(time.Second)
	shot(app, "app-revoked-ja.png")

	var tl api.OplogTimeline
	if err := adm.Do(ctx, "GET", rev.Timeline, nil, &tl); err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, ev := range tl.Events {
		types[ev.Type]++
	}
	for _, typ := range []string{"app.start", "login.ok", "slot.granted", "device.revoked"} {
		if types[typ] == 0 {
			t.Errorf("the journal that reached the broker lacks %s: %v", typ, types)
		}
	}
	for _, key := range []string{"refresh-token", "device-key", "device-id", "staff-id"} {
		if ok, err := kr.Has("zaitaku", key); err != nil || ok {
			t.Errorf("keyring entry %q after the wipe: %v %v", key, ok, err)
		}
	}
	app.stop(t)

	// The next start, in English: the revoked screen, nothing in the keyring.
	app = run("en")
	app.waitLog(t, "wiped=true", 20*time.Second)
	time.Sleep(time.Second)
	shot(app, "app-revoked-en.png")
	for _, key := range []string{"refresh-token", "device-key", "device-id", "staff-id"} {
		if ok, err := kr.Has("zaitaku", key); err != nil || ok {
			t.Errorf("keyring entry %q after a restart of the revoked app: %v %v", key, ok, err)
		}
	}
	if types["device.revoked"] > 1 {
		t.Errorf("the revocation recorded %d times", types["device.revoked"])
	}
}
