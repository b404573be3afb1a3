package cli_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/cli"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

func run(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "ZAITAKU_DATA" {
			return dir
		}
		return ""
	}
	code := cli.Main(args, env, &out, &errb)
	return out.String(), errb.String(), code
}

// TestBootstrapFirstAdmin: on a fresh data directory, IT creates the first
// admin from the command line and signs in with the temporary password.
func TestBootstrapFirstAdmin(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	out, errs, code := run(t, dir, "admin", "users", "create", "it01", "--admin", "--name", "情報 太郎", "--department", "情報政策課")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errs)
	}
	m := regexp.MustCompile(`temporary password: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no temporary password in %q", out)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	resp, err := b.Client(t).Login(context.Background(), api.LoginRequest{StaffID: "it01", Password: m[1],
		Device: api.DeviceInfo{Name: "it laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
	if err != nil || resp.Stage != api.StageChangePassword || !resp.User.HasRole(api.RoleAdmin) {
		t.Fatalf("first sign-in: %v %+v", err, resp)
	}

	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"duplicate", []string{"admin", "users", "create", "it01"}, 1, "already exists"},
		{"list", []string{"admin", "users", "list"}, 0, "it01"},
		{"bad id", []string{"admin", "users", "create", "a b"}, 1, "id: use letters"},
		{"unknown command", []string{"admin", "users", "explode"}, 2, "unknown command"},
		{"unlock unknown", []string{"admin", "users", "unlock", "nobody"}, 1, "nobody"},
		{"otp of a real account is refused", []string{"admin", "users", "otp-code", "it01"}, 1, "not a demo account"},
		{"policy relax without reason", []string{"admin", "policy", "set", "--change", `{"require_totp":false}`}, 1, "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.wantOut) {
				t.Fatalf("code %d out %q err %q; want %d and %q", code, out, errs, tc.wantCode, tc.wantOut)
			}
		})
	}
}

func TestDemoSeedIsIdempotent(t *testing.T) {
	var db *daemon.Broker
	b := brokertest.Start(t, brokertest.WithSetup(func(d *daemon.Broker) { db = d }))
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := daemon.SeedDemo(ctx, db.Services, nil); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
	}
	code, err := db.Services.Auth.DemoOTPCode(ctx, "yamada")
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	resp, err := b.Client(t).Login(ctx, api.LoginRequest{StaffID: "yamada", Password: daemon.DemoPassword, OTP: code,
		Device: api.DeviceInfo{Name: "demo", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
	if err != nil || resp.Stage != api.StageOK {
		t.Fatalf("demo sign-in: %v", err)
	}
}
