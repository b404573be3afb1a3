package cli_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestLockedUserListedAsLocked: an account locked after failed sign-ins
// reads as locked in IT's list, with the command that unlocks it.
func TestLockedUserListedAsLocked(t *testing.T) {
	var dir string
	// The real clock: the CLI reads the lock against the time of day.
	b := brokertest.Start(t, brokertest.WithRealClock(), brokertest.WithSetup(func(d *daemon.Broker) { dir = d.Cfg.Data }))
	u := b.CreateUser(t, "lock01")
	_, key, _ := ed25519.GenerateKey(nil)
	for range 6 {
		_, _ = b.Client(t).Login(context.Background(), api.LoginRequest{StaffID: u.ID, Password: "wrong-Password-1", OTP: "000000",
			Device: api.DeviceInfo{Name: "laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
	}
	out, errs, code := run(t, dir, "admin", "users", "list")
	if code != 0 {
		t.Fatalf("users list: %d %s", code, errs)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "lock01 ") && (!strings.Contains(line, "locked until") || !strings.Contains(line, "users unlock lock01")) {
			t.Fatalf("locked user listed as %q", line)
		}
	}
	if out, _, _ := run(t, dir, "admin", "users", "unlock", "lock01"); !strings.Contains(out, "done") {
		t.Fatalf("unlock: %q", out)
	}
	out, _, _ = run(t, dir, "admin", "users", "list")
	if !strings.Contains(out, "lock01") || strings.Contains(out, "locked until") {
		t.Fatalf("after unlock:\n%s", out)
	}
}
