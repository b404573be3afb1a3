// Command zaitaku is the desktop app staff use to work from home on their
// office PC. main only wires: flags → core client, OS keyring, RDP client
// (app/launcher), operation log (app/oplog), second-launch socket
// (app/instance), autostart → the Fyne faces in app/ui. `go run .` opens
// the app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/instance"
	"github.com/zaitaku/zaitaku/app/launcher"
	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/app/ui"
	"github.com/zaitaku/zaitaku/platform/autostart"
	"github.com/zaitaku/zaitaku/platform/font"
	"github.com/zaitaku/zaitaku/platform/keyring"
)

// appID must match FyneApp.toml: preferences and the keyring are filed under it.
const appID = "jp.lg.zaitaku"

// version is set by the build (-ldflags "-X main.version=...").
var version = "0.1.0"

type flags struct {
	broker, pins, fingerprint, device, lang, data string
	connect, hidden, rdpStub                      bool
}

func parseFlags() flags {
	var f flags
	flag.StringVar(&f.broker, "broker", os.Getenv("ZAITAKU_BROKER"), "broker address, e.g. https://zaitaku.example.lg.jp:8443 (env ZAITAKU_BROKER)")
	flag.StringVar(&f.pins, "pin", os.Getenv("ZAITAKU_PIN"), "the broker's key pin(s), sha256/..., comma-separated, as the broker prints at start (env ZAITAKU_PIN)")
	flag.StringVar(&f.fingerprint, "fingerprint", os.Getenv("ZAITAKU_FINGERPRINT"), "SHA-256 fingerprint of the broker's certificate, the earlier form of -pin: the first contact turns it into a key pin (env ZAITAKU_FINGERPRINT)")
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
	exe, _ := os.Executable()
	preset := presetProfile(f, exe, log)

	var launch core.Launcher = launcher.OS{}
	if f.rdpStub {
		launch = launcher.StandIn{Log: log}
	}
	// Chat rides core's event socket and lives in memory only (app/chat).
	chats := chat.New(chat.Options{Log: log})
	deps := core.Deps{Secrets: keyring.New(keyring.WithNotFound(core.ErrNoSecret)), Launcher: launch, Log: log, Events: chats}
	onSession := []func(core.Session){func(s core.Session) { chats.Start(s.API, s.UserID, s.Done) }}
	var logStatus func() oplog.Status
	ol, err := oplog.Start(filepath.Join(dataDir, "oplog"), log)
	switch {
	case errors.Is(err, oplog.ErrLocked):
		if instance.AskToShow(dataDir) {
			return // the running app brought its window forward
		}
		fmt.Fprintln(os.Stderr, "Zaitaku is already running (see the system tray). / 在宅は既に起動しています（タスクトレイを確認してください）。")
		os.Exit(1)
	case err != nil:
		log.Error("operation log unavailable; operations are not recorded", "err", err)
	default:
		defer ol.Close()
		deps.Recorder, deps.BeforeLogout, logStatus = ol, ol.BeforeLogout, ol.Status
		// A revoked laptop sends its journal as evidence, then wipes it.
		deps.Revoked = func(ctx context.Context, e core.Evidence) error {
			return ol.Evidence(ctx, e.DeviceID, e.Upload, e.Sign)
		}
		onSession = append(onSession, func(s core.Session) { ol.StartSession(s.API, s.DeviceID, s.Sign, s.Done) })
	}
	deps.OnSession = func(s core.Session) {
		for _, f := range onSession {
			f(s)
		}
	}

	a := app.NewWithID(appID)
	var u *ui.UI // NewClient runs only once u is set: from u.Start
	u = ui.New(a, ui.Options{
		LogStatus:   logStatus,
		BoldFont:    font.JapaneseBold,
		Version:     version,
		Lang:        f.lang,
		Preset:      preset,
		AutoConnect: f.connect,
		Autostart:   autostart.Entry{ID: appID, Name: "Zaitaku", Exec: exe, Args: []string{"-hidden"}},
		Logger:      log,
		Chat:        chats,
		NewClient: func(p ui.Profile) (ui.Client, error) {
			d := deps
			d.PinLearned = func(pin string) { u.PinLearned(p.BrokerURL, pin) }
			c, err := core.New(core.Config{
				BrokerURL: p.BrokerURL, Pins: p.PinList(), Fingerprint: p.Fingerprint, TrustSystemRoots: p.TrustOS,
				DeviceName: p.DeviceName, DataDir: dataDir, Version: version,
			}, d)
			if errors.Is(err, keyring.ErrUnavailable) {
				return nil, fmt.Errorf("%w: %w", ui.ErrNoKeyring, err)
			}
			if err != nil {
				return nil, err
			}
			return c, nil
		},
	})
	u.Start()
	if l, err := instance.Listen(dataDir, func() { fyne.Do(u.Show) }, log); err != nil {
		log.Warn("second-launch socket unavailable", "err", err)
	} else {
		defer l.Close()
	}
	benchReady := os.Getenv("ZAITAKU_BENCH_READY") != ""
	a.Lifecycle().SetOnStarted(func() {
		if benchReady {
			// make bench measures process start → this line (app/bench).
			fyne.Do(func() { fmt.Println("ZAITAKU_READY") })
		}
		u.Started()
	})
	if f.hidden {
		a.Run()
		return
	}
	u.ShowAndRun()
}

// presetProfile is what first run starts from: the installer's preset file
// (ui.PresetPaths), overridden by flags and environment.
func presetProfile(f flags, exe string, log *slog.Logger) ui.Profile {
	p, err := ui.LoadPreset(ui.PresetPaths(exe)...)
	if err != nil {
		log.Error("installer preset ignored", "err", err)
	}
	if f.broker != "" {
		// A pin belongs to its broker.
		p.BrokerURL, p.Pins, p.Fingerprint, p.TrustOS = f.broker, f.pins, f.fingerprint, false
	} else {
		if f.pins != "" {
			p.Pins = f.pins
		}
		if f.fingerprint != "" {
			p.Fingerprint = f.fingerprint
		}
	}
	if f.device != "" {
		p.DeviceName = f.device
	}
	if p.DeviceName == "" && p.BrokerURL != "" && (p.Pins != "" || p.Fingerprint != "" || p.TrustOS) {
		// Broker and pin both given: skip first run (the laptop is named
		// after the host). Without a pin, first run checks the certificate.
		p.DeviceName, _ = os.Hostname()
	}
	return p
}

// The faces drive *core.Client directly.
var _ ui.Client = (*core.Client)(nil)
