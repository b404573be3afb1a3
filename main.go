// Command zaitaku is the desktop app staff use to work from home on their
// office PC. main only wires: flags → core client, OS keyring, autostart →
// the Fyne faces in app/ui. `go run .` opens the app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/app/ui"
	"github.com/zaitaku/zaitaku/platform/autostart"
	"github.com/zaitaku/zaitaku/platform/keyring"
)

// appID must match FyneApp.toml: preferences and the keyring are filed under it.
const appID = "jp.lg.zaitaku"

// version is set by the build (-ldflags "-X main.version=...").
var version = "0.1.0"

type flags struct {
	broker, fingerprint, device, lang, data string
	connect, hidden, rdpStub                bool
}

func parseFlags() flags {
	var f flags
	flag.StringVar(&f.broker, "broker", os.Getenv("ZAITAKU_BROKER"), "broker address, e.g. https://zaitaku.example.lg.jp:8443 (env ZAITAKU_BROKER)")
	flag.StringVar(&f.fingerprint, "fingerprint", os.Getenv("ZAITAKU_FINGERPRINT"), "SHA-256 fingerprint of the broker's self-signed certificate (env ZAITAKU_FINGERPRINT)")
	flag.StringVar(&f.device, "device", "", "name of this laptop as IT sees it (default: host name)")
	flag.StringVar(&f.lang, "lang", "", "ja or en (default: saved choice, then the OS language)")
	flag.StringVar(&f.data, "data", "", "per-user data directory (default: OS config dir/zaitaku)")
	flag.BoolVar(&f.connect, "connect", false, "connect to the office PC as soon as signed in")
	flag.BoolVar(&f.hidden, "hidden", false, "start in the tray without opening the window (used at OS sign-in)")
	flag.BoolVar(&f.rdpStub, "rdp-stub", os.Getenv("ZAITAKU_RDP_STUB") == "1",
		"demo/test only: a stand-in RDP client that stays open until Disconnect (env ZAITAKU_RDP_STUB=1)")
	flag.Parse()
	return f
}

func main() {
	f := parseFlags()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	core.Version = version

	dataDir := f.data
	if dataDir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			base = os.TempDir()
		}
		dataDir = filepath.Join(base, "zaitaku")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		log.Error("data dir", "dir", dataDir, "err", err)
	}
	device := f.device
	if device == "" && f.broker != "" {
		device, _ = os.Hostname() // with a preset broker there is no first-run screen to ask
	}

	secrets := keyring.New(keyring.WithNotFound(core.ErrNoSecret))
	var launcher core.Launcher = rdpLauncher{}
	if f.rdpStub {
		launcher = stubLauncher{log: log}
	}
	deps := core.Deps{Secrets: secrets, Launcher: launcher, Log: log}
	ow, err := openOplog(dataDir, log)
	switch {
	case errors.Is(err, oplog.ErrLocked):
		fmt.Fprintln(os.Stderr, "Zaitaku is already running (see the system tray). / 在宅は既に起動しています（タスクトレイを確認してください）。")
		os.Exit(1)
	case err != nil:
		log.Error("operation log unavailable; operations are not recorded", "err", err)
	default:
		deps.Recorder, deps.OnSession = ow.j, ow.onSession
		defer ow.close()
	}
	exe, _ := os.Executable()

	a := app.NewWithID(appID)
	u := ui.New(a, ui.Options{
		Version:     version,
		Lang:        f.lang,
		Preset:      ui.Profile{BrokerURL: f.broker, Fingerprint: f.fingerprint, DeviceName: device},
		AutoConnect: f.connect,
		Autostart:   autostart.Entry{ID: appID, Name: "Zaitaku", Exec: exe, Args: []string{"-hidden"}},
		Logger:      log,
		NewClient: func(p ui.Profile) (ui.Client, error) {
			c, err := core.New(core.Config{
				BrokerURL: p.BrokerURL, Fingerprint: p.Fingerprint, DeviceName: p.DeviceName,
				DataDir: dataDir, Lang: f.lang,
			}, deps)
			if err != nil {
				return nil, err
			}
			return coreClient{c}, nil
		},
	})
	u.Start()
	if os.Getenv("ZAITAKU_BENCH_READY") != "" {
		// make bench measures process start → this line (app/bench).
		a.Lifecycle().SetOnStarted(func() { fyne.Do(func() { fmt.Println("ZAITAKU_READY") }) })
	}
	if f.hidden {
		a.Run()
		return
	}
	u.ShowAndRun()
}

// coreClient adapts *core.Client to ui.Client while app/core grows its
// connection methods: it forwards Connect/Disconnect when core has them.
type coreClient struct{ *core.Client }

func (c coreClient) Connect() {
	if cc, ok := any(c.Client).(interface{ Connect() }); ok {
		cc.Connect()
	}
}

func (c coreClient) Disconnect() {
	if cc, ok := any(c.Client).(interface{ Disconnect() }); ok {
		cc.Disconnect()
	}
}

// stubLauncher stands in for the RDP client in demos and screenshot tests
// (no office PC, no xfreerdp): the "session" lasts until Disconnect.
type stubLauncher struct{ log *slog.Logger }

func (s stubLauncher) Launch(ctx context.Context, t core.LaunchTarget) (int, error) {
	s.log.Info("rdp stub: session open", "target", fmt.Sprintf("%s:%d", t.Host, t.Port),
		"user", strings.TrimSpace(t.User))
	<-ctx.Done()
	return 0, nil
}
