// Command zaitaku is the desktop app staff use to work from home on their
// office PC. main only wires: flags → core client, OS keyring, RDP client
// (app/launcher), operation log (app/oplog), second-launch socket
// (app/instance), autostart → the Fyne faces in app/ui. `go run .` opens
// the app.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/instance"
	"github.com/zaitaku/zaitaku/app/launcher"
	"github.com/zaitaku/zaitaku/app/oplog"
	"github.com/zaitaku/zaitaku/app/ui"
	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/platform/autostart"
	"github.com/zaitaku/zaitaku/platform/browser"
	"github.com/zaitaku/zaitaku/platform/font"
	"github.com/zaitaku/zaitaku/platform/keyring"
)

// appID must match FyneApp.toml: preferences and the keyring are filed under it.
const appID = "jp.lg.zaitaku"

// version is set by the build (-ldflags "-X main.version=...").
var version = "0.1.0"

// updateRoots are the self-update's root public keys (minisign "RW..."
// lines, comma-separated), set by the release build from
// ZAITAKU_UPDATE_ROOTS (-ldflags "-X main.updateRoots=..."). A build
// without them does not update itself.
var updateRoots = ""

// updateEvery is the time between update checks after the first.
const updateEvery = 4 * time.Hour

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
	if exe := run(parseFlags()); exe != "" {
		// A restart into a new version, or back into the old one after a
		// failed start: the journal and the second-launch socket are
		// closed by now, so the new process can take them.
		cmd := exec.Command(exe, os.Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "Zaitaku could not restart itself; start it again. / 在宅を再起動できませんでした。もう一度起動してください。", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "zaitaku: restarted as %s, pid %d\n", exe, cmd.Process.Pid)
	}
}

// run is the app's life; it returns the binary to start after it, if any.
func run(f flags) (restart string) {
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
	// Work on the office PC counts as input for chat's idle detection.
	deps := core.Deps{Secrets: keyring.New(keyring.WithNotFound(core.ErrNoSecret)), Launcher: launch, Browser: browser.Opener{}, Log: log, Events: chats,
		Activity: chats.Activity}
	onSession := []func(core.Session){func(s core.Session) { chats.Start(s.API, s.UserID, s.Done) }}
	var logStatus func() oplog.Status
	ol, err := oplog.Start(filepath.Join(dataDir, "oplog"), log)
	switch {
	case errors.Is(err, oplog.ErrLocked):
		if instance.AskToShow(dataDir) {
			return "" // the running app brought its window forward
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

	// Self-update: first thing after the journal (which records it) and
	// before any window, a new version begins its trial or, having failed
	// to reach its sign-in window last time, is rolled back.
	upd, updSource := startUpdater(dataDir, exe, deps.Recorder, log)
	if upd != nil {
		switch s, err := upd.Updater().Startup(); {
		case err != nil:
			log.Error("update startup", "err", err)
		case s == update.StartRolledBack:
			log.Warn("the new version failed to start last time; the previous version is back and starts now")
			return exe
		case s == update.StartTrial:
			log.Info("update trial: this version must reach its sign-in window within a minute")
		}
	}
	var restartExe string

	// Fyne makes its cache folder with a single mkdir: on a fresh account
	// with no cache root yet it logs an error and caches nothing.
	if dir, err := os.UserCacheDir(); err == nil {
		_ = os.MkdirAll(dir, 0o700)
	}
	a := app.NewWithID(appID)
	var u *ui.UI // NewClient runs only once u is set: from u.Start
	opts := ui.Options{
		LogStatus:   logStatus,
		BoldFont:    font.JapaneseBold,
		Version:     version,
		Lang:        f.lang,
		Preset:      preset,
		AutoConnect: f.connect,
		Autostart:   autostart.Entry{ID: appID, Name: "Zaitaku", Exec: exe, Args: []string{"-hidden"}},
		Logger:      log,
		Chat:        chats,
		Restart:     func() { restartExe = exe },
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
			if upd != nil {
				// Update checks are anonymous, over the client's pinned TLS;
				// the laptop's key places it in staged rollouts.
				updSource.set(c)
				upd.Kick()
			}
			return c, nil
		},
	}
	if upd != nil {
		opts.Updates = upd
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go upd.Run(ctx)
	}
	u = ui.New(a, opts)
	u.Start()
	if l, err := instance.Listen(dataDir, func() { fyne.Do(u.Show) }, log); err != nil {
		log.Warn("second-launch socket unavailable", "err", err)
	} else {
		defer l.Close()
	}
	benchReady := os.Getenv("ZAITAKU_BENCH_READY") != ""
	// The app brought to the front is its user at the laptop (idle
	// detection for 離席中; the chat window's typing counts too).
	a.Lifecycle().SetOnEnteredForeground(chats.Activity)
	a.Lifecycle().SetOnStarted(func() {
		if benchReady {
			// make bench measures process start → this line (app/bench).
			fyne.Do(func() { fmt.Println("ZAITAKU_READY") })
		}
		u.Started()
		if upd != nil {
			// The sign-in window is up: a new version on trial stays.
			if err := upd.Updater().Confirm(); err != nil {
				log.Error("update confirm", "err", err)
			} else {
				log.Info("reached sign-in window", "version", version)
			}
		}
	})
	if f.hidden {
		a.Run()
	} else {
		u.ShowAndRun()
	}
	return restartExe
}

// startUpdater builds the self-update, or nil (with the reason logged)
// when this build trusts no root key.
func startUpdater(dataDir, exe string, rec update.Recorder, log *slog.Logger) (*update.Agent, *updateBroker) {
	var roots []string
	for _, r := range strings.Split(updateRoots, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roots = append(roots, r)
		}
	}
	if len(roots) == 0 {
		log.Info("self-update off: this build trusts no update root key (release builds set ZAITAKU_UPDATE_ROOTS)")
		return nil, nil
	}
	src := &updateBroker{}
	u, err := update.New(update.Config{Source: src, Roots: roots, StateDir: dataDir, Exe: exe, Version: version,
		Device: src.device, Recorder: rec})
	if err != nil {
		log.Error("self-update off", "err", err)
		return nil, nil
	}
	return update.NewAgent(u, updateEvery), src
}

// updateBroker is the broker of the client in use, for the updater.
type updateBroker struct {
	update.Switch
	mu sync.Mutex
	c  *core.Client
}

func (b *updateBroker) set(c *core.Client) {
	b.mu.Lock()
	b.c = c
	b.mu.Unlock()
	b.Switch.Set(c.API())
}

// device is the laptop's place in staged rollouts: its device key,
// which stays across sign-ins and sign-outs.
func (b *updateBroker) device() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c == nil {
		return ""
	}
	return hex.EncodeToString(b.c.DeviceKey())
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
