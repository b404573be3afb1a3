// Package keyringtest starts a private Secret Service for tests: its own
// dbus session bus and gnome-keyring-daemon under a temporary HOME, so a test
// never reads or writes the developer's real keyring.
package keyringtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Env is the environment a process needs to reach the private keyring.
type Env struct {
	Home        string // temporary HOME holding .local/share/keyrings
	RuntimeDir  string // XDG_RUNTIME_DIR for the daemon's control socket
	BusAddress  string // DBUS_SESSION_BUS_ADDRESS
	KeyringPass string
}

// Vars returns the variables as KEY=VALUE, for exec.Cmd.Env.
func (e Env) Vars() []string {
	return []string{
		"HOME=" + e.Home,
		"XDG_RUNTIME_DIR=" + e.RuntimeDir,
		"XDG_DATA_HOME=" + filepath.Join(e.Home, ".local", "share"),
		"XDG_CONFIG_HOME=" + filepath.Join(e.Home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(e.Home, ".cache"),
		"DBUS_SESSION_BUS_ADDRESS=" + e.BusAddress,
	}
}

// Setenv points the test process itself at the keyring (t.Setenv restores
// the old values). Call it before the first keyring access: the dbus
// session connection is shared and made once per process.
func (e Env) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range e.Vars() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Start starts dbus-daemon and an unlocked gnome-keyring-daemon and stops
// them when the test ends. A missing binary fails the test with the Debian
// package to install (never a skip: see DESIGN.md).
func Start(t testing.TB) Env {
	t.Helper()
	for bin, pkg := range map[string]string{"dbus-daemon": "dbus", "gnome-keyring-daemon": "gnome-keyring"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install the Debian package %q (make deps)", bin, pkg)
		}
	}
	root := t.TempDir()
	env := Env{
		Home:        filepath.Join(root, "home"),
		RuntimeDir:  filepath.Join(root, "run"),
		KeyringPass: "keyringtest",
	}
	for _, d := range []string{filepath.Join(env.Home, ".local", "share", "keyrings"), env.RuntimeDir} {
		// gnome-keyring refuses a keyrings directory others can read.
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	base := append(os.Environ(), env.Vars()[:5]...)

	ctx, cancel := context.WithCancel(context.Background())
	bus := exec.CommandContext(ctx, "dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1")
	bus.Env = base
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bus.Stderr = nil
	if err := bus.Start(); err != nil {
		cancel()
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = bus.Wait() })
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case env.BusAddress = <-addr:
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon printed no address in 10s")
	}
	if env.BusAddress == "" {
		t.Fatal("dbus-daemon printed an empty address")
	}

	gk := exec.CommandContext(ctx, "gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground")
	gk.Env = append(base, "DBUS_SESSION_BUS_ADDRESS="+env.BusAddress)
	gk.Stdin = strings.NewReader(env.KeyringPass) // --unlock reads the password from stdin
	var gkOut strings.Builder
	gk.Stdout, gk.Stderr = &gkOut, &gkOut
	if err := gk.Start(); err != nil {
		t.Fatalf("start gnome-keyring-daemon: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = gk.Wait() })

	// Ready when org.freedesktop.secrets is owned on the bus.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if owned(env) {
			return env
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnome-keyring-daemon did not register org.freedesktop.secrets in 15s; output:\n%s", gkOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func owned(env Env) bool {
	cmd := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+env.BusAddress)
	out, err := cmd.Output()
	return err == nil && strings.Contains(string(out), "boolean true")
}

// String describes the environment for logs.
func (e Env) String() string { return fmt.Sprintf("keyring bus %s home %s", e.BusAddress, e.Home) }

// Has reports whether the private keyring holds an entry for service and
// user (go-keyring's attribute names), asking the Secret Service over dbus
// from outside the process that wrote it.
func (e Env) Has(service, user string) (bool, error) {
	cmd := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
		"/org/freedesktop/secrets", "org.freedesktop.Secret.Service.SearchItems",
		"dict:string:string:service,"+service+",username,"+user)
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+e.BusAddress)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("search keyring: %w: %s", err, out)
	}
	return strings.Contains(string(out), "object path \"/org/freedesktop/secrets/collection/"), nil
}
