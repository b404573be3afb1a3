package daemon_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/daemon"
)

// smallVolume mounts a small tmpfs at a new directory and returns it with
// a function that fills it up, as a volume that stops taking writes. It
// needs root (these machines and CI run as root).
func smallVolume(t *testing.T) (string, func()) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "zaitaku-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs (needs root, util-linux): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir, func() {
		f, err := os.Create(filepath.Join(dir, "filler"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		chunk := make([]byte, 1<<20)
		for {
			if _, err := f.Write(chunk); err != nil {
				return // full
			}
		}
	}
}

// readOnly remounts a volume read-only (nothing may be open on it).
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
}

// TestReadOnlyDatabaseNotReady: a broker whose database stops taking
// writes (its volume full) says so on /readyz, and one on a read-only
// volume refuses to start with a message that says what to check.
func TestReadOnlyDatabaseNotReady(t *testing.T) {
	vol, fill := smallVolume(t)
	ctx := context.Background()
	cfg := daemon.DefaultConfig()
	cfg.Data, cfg.Listen = filepath.Join(vol, "data"), "127.0.0.1:0"
	cfg.MeetUDP, cfg.MeetTURNTCP = "127.0.0.1:0", "127.0.0.1:0"
	log := slog.New(slog.DiscardHandler)
	b, err := daemon.Open(ctx, cfg, log, daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	readyz := func() int {
		rec := httptest.NewRecorder()
		b.Server.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code
	}
	if got := readyz(); got != http.StatusOK {
		t.Fatalf("/readyz on a writable database: %d", got)
	}
	fill()
	if got := readyz(); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz on a full volume: %d, want 503", got)
	}
	b.Close()
	readOnly(t, vol)

	_, err = daemon.Open(ctx, cfg, log, daemon.Options{})
	if err == nil || !strings.Contains(err.Error(), "not writable") || !strings.Contains(err.Error(), "read-write") {
		t.Fatalf("start on a read-only volume: %v", err)
	}
}

// TestStartupRefusesBadFlags: mistakes in -db and -listen are named as
// what they are, and nothing is created for them (a PostgreSQL URL whose
// server does not answer included).
func TestStartupRefusesBadFlags(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "never")
	cfg := daemon.DefaultConfig()
	cfg.Data, cfg.DB = dir, "postgres://x"
	if _, _, err := daemon.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("-db postgres://x: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("-db postgres://x created %s", dir)
	}
	for _, addr := range []string{"127.0.0.1:99999", "127.0.0.1", "127.0.0.1:http-ish"} {
		_, err := daemon.ParseServe([]string{"-listen", addr}, func(string) string { return "" }, nil)
		if err == nil || !strings.Contains(err.Error(), "-listen") || strings.Contains(err.Error(), "another broker") {
			t.Errorf("-listen %s: %v", addr, err)
		}
	}
}
