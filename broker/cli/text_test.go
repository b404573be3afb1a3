package cli_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// rawControl reports a raw control or bidi character in CLI output (tabs
// and newlines are the table's own).
func rawControl(s string) (rune, bool) {
	for _, c := range s {
		if c == '\t' || c == '\n' {
			continue
		}
		if unicode.IsControl(c) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) {
			return c, true
		}
	}
	return 0, false
}

// TestControlCharactersRefused: names and device names with control or
// bidi characters are refused at input with an error naming the field;
// uploaded log fields, evidence that must not be lost, are kept but the
// CLI prints them escaped, as it does any hostile name already stored.
func TestControlCharactersRefused(t *testing.T) {
	var db *daemon.Broker
	b := brokertest.Start(t, brokertest.WithSetup(func(d *daemon.Broker) { db = d }))
	dir := db.Cfg.Data
	ctx := context.Background()
	adm := b.Signin(t, "cc-admin", api.RoleAdmin)
	hostile := []string{"\x1b[2J", "bell\a", "row\rforged", "nul\x00", "abc\u202egnp.exe"}
	for _, h := range hostile {
		if _, err := adm.CreateUser(ctx, api.CreateUserRequest{ID: "cc01", Name: "山田" + h, Department: "総務課"}); api.AsError(err) == nil ||
			api.AsError(err).Code != api.CodeValidation || !strings.Contains(api.AsError(err).Detail, "name") {
			t.Errorf("user name %q: %v", h, err)
		}
		if _, err := adm.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-cc", Name: "PC" + h, Address: "127.0.0.1"}); api.AsError(err) == nil ||
			api.AsError(err).Code != api.CodeValidation {
			t.Errorf("terminal name %q: %v", h, err)
		}
		u := b.CreateUser(t, "cc-"+strings.Map(func(r rune) rune {
			if r < 'a' || r > 'z' {
				return -1
			}
			return r
		}, h)+"x")
		_, key, _ := ed25519.GenerateKey(nil)
		_, err := b.Client(t).Login(ctx, api.LoginRequest{StaffID: u.ID, Password: u.Password, OTP: b.Code(t, u),
			Device: api.DeviceInfo{Name: "laptop" + h, OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
		if e := api.AsError(err); e == nil || e.Code != api.CodeValidation || !strings.Contains(e.Detail, "device.name") {
			t.Errorf("device name %q: %v", h, err)
		}
	}

	// A hostile device name stored before validation existed, and uploaded
	// fields with terminal escapes: kept, and printed escaped.
	s := b.Signin(t, "cc-staff")
	dev := s.Login.Device.ID
	if _, err := db.Store.W.Exec(`UPDATE devices SET name=? WHERE id=?`, "evil\x1b[2J\rID\tUSER", dev); err != nil {
		t.Fatal(err)
	}
	ev := []api.OplogEvent{{Seq: 1, At: time.Now().UnixMilli(), Type: "app.start", Fields: map[string]string{"note": "\x1b[2J\u202eevil"}, Prev: make([]byte, 32)}}
	if _, err := s.UploadOplog(ctx, api.OplogBatch{DeviceID: dev, Events: ev,
		Signature: ed25519.Sign(s.Key, api.OplogBatchDigest(dev, ev))}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"admin", "devices", "list"}, {"admin", "oplog", "search", "--user", "cc-staff"}, {"admin", "oplog", "timeline", dev}} {
		out, errs, code := run(t, dir, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		if c, bad := rawControl(out + errs); bad {
			t.Errorf("%v printed a raw %U:\n%s", args, c, out)
		}
		if args[1] == "devices" && !strings.Contains(out, `evil\x1b[2J\x0dID`) {
			t.Errorf("devices list does not show the name escaped:\n%s", out)
		}
		if args[2] == "search" && !strings.Contains(out, `\x1b[2J\u202eevil`) {
			t.Errorf("oplog search does not show the field escaped:\n%s", out)
		}
	}
}
