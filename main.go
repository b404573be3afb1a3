// Command zaitaku is the desktop app staff use to work from home on their
// office PC. main only wires: flags → core client, OS keyring, autostart →
// the Fyne faces in app/ui. `go run .` opens the app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

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
	exe, _ := os.Executable()
	preset := presetProfile(f, exe, log)

	secrets := keyring.New(keyring.WithNotFound(core.ErrNoSecret))
	var launcher core.Launcher = rdpLauncher{}
	if f.rdpStub {
		launcher = stubLauncher{log: log}
	}
	deps := core.Deps{Secrets: secrets, Launcher: launcher, Log: log}
	ow, err := openOplog(dataDir, log)
	switch {
	case errors.Is(err, oplog.ErrLocked):
		if askToShow(dataDir) {
			return // the running app brought its window forward
		}
		fmt.Fprintln(os.Stderr, "Zaitaku is already running (see the system tray). / 在宅は既に起動しています（タスクトレイを確認してください）。")
		os.Exit(1)
	case err != nil:
		log.Error("operation log unavailable; operations are not recorded", "err", err)
	default:
		deps.Recorder, deps.OnSession, deps.BeforeLogout = ow.j, ow.onSession, ow.beforeLogout
		defer ow.close()
	}

	var logStatus func() ui.LogStatus
	if ow != nil {
		logStatus = ow.status
	}
	a := app.NewWithID(appID)
	u := ui.New(a, ui.Options{
		LogStatus:   logStatus,
		Version:     version,
		Lang:        f.lang,
		Preset:      preset,
		AutoConnect: f.connect,
		Autostart:   autostart.Entry{ID: appID, Name: "Zaitaku", Exec: exe, Args: []string{"-hidden"}},
		Logger:      log,
		NewClient: func(p ui.Profile) (ui.Client, error) {
			c, err := core.New(core.Config{
				BrokerURL: p.BrokerURL, Fingerprint: p.Fingerprint, DeviceName: p.DeviceName,
				DataDir: dataDir, Lang: f.lang,
			}, deps)
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
	listenForShow(dataDir, u, log)
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

// presetProfile is what first run starts from: the installer's preset file
// (ui.PresetPaths), overridden by flags and environment.
func presetProfile(f flags, exe string, log *slog.Logger) ui.Profile {
	p, err := ui.LoadPreset(ui.PresetPaths(exe)...)
	if err != nil {
		log.Error("installer preset ignored", "err", err)
	}
	if f.broker != "" {
		p.BrokerURL, p.Fingerprint = f.broker, f.fingerprint // a pin belongs to its broker
	} else if f.fingerprint != "" {
		p.Fingerprint = f.fingerprint
	}
	if f.device != "" {
		p.DeviceName = f.device
	}
	if p.DeviceName == "" && p.BrokerURL != "" && p.Fingerprint != "" {
		// Broker and pin both given: skip first run (the laptop is named
		// after the host). Without a pin, first run checks the certificate.
		p.DeviceName, _ = os.Hostname()
	}
	return p
}

// showSocket is where a running app listens for a second launch, so that
// clicking the desktop icon again brings the window back even when there is
// no tray host to click (some Linux desktops).
func showSocket(dataDir string) string { return filepath.Join(dataDir, "show.sock") }

// askToShow asks a running app to show its window; false if none answered.
func askToShow(dataDir string) bool {
	c, err := net.DialTimeout("unix", showSocket(dataDir), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte("show\n")) // the connection itself is the request
	return true
}

// listenForShow serves askToShow. The oplog lock guarantees we are the only
// instance, so a stale socket file from a crash is ours to replace.
func listenForShow(dataDir string, u *ui.UI, log *slog.Logger) {
	p := showSocket(dataDir)
	_ = os.Remove(p)
	l, err := net.Listen("unix", p)
	if err != nil {
		log.Warn("second-launch socket unavailable", "err", err)
		return
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = c.Read(make([]byte, 8))
			c.Close()
			log.Info("second launch: showing the window")
			fyne.Do(u.Show)
		}
	}()
}

// The faces drive *core.Client directly.
var _ ui.Client = (*core.Client)(nil)

// stubLauncher stands in for the RDP client in demos and screenshot tests
// (no xfreerdp, or no display for it): it opens one connection through the
// tunnel, sends the RDP connection request a real client sends first (so an
// office PC or freerdp-shadow-cli answers, and core sees the screen's bytes
// flow back), then holds the session until Disconnect.
type stubLauncher struct{ log *slog.Logger }

// x224Request is a TPKT + X.224 Connection Request with an RDP negotiation
// request for TLS|HYBRID (MS-RDPBCGR 2.2.1.1).
var x224Request = []byte{0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00}

func (s stubLauncher) Launch(ctx context.Context, t core.LaunchTarget) (int, error) {
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 1, fmt.Errorf("rdp stub: %w", err)
	}
	defer conn.Close()
	s.log.Info("rdp stub: session open", "target", addr, "user", t.User)
	if _, err := conn.Write(x224Request); err != nil {
		return 1, fmt.Errorf("rdp stub: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, conn) }()
	<-ctx.Done()
	return 0, nil
}
