package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestTerminalsCapSessionsCLI: IT registers and pairs office PCs, sets the
// cap and ends a session from the command line, next to a running broker.
func TestTerminalsCapSessionsCLI(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	ctx := context.Background()
	b.CreateUser(t, "yamada")
	b.CreateUser(t, "sato")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"create paired", []string{"admin", "terminals", "create", "pc-01", "--name", "総務課-01", "--address", "127.0.0.1", "--port", "13389",
			"--mac", "02:00:00:00:00:01", "--user", "yamada"}, 0, "created pc-01"},
		{"create pool", []string{"admin", "terminals", "create", "--pool", "pool-01", "--name", "共用-01", "--address", "127.0.0.1"}, 0, "created pool-01"},
		{"create without name", []string{"admin", "terminals", "create", "--address", "127.0.0.1"}, 1, "name"},
		{"bad mac", []string{"admin", "terminals", "create", "--name", "x", "--address", "127.0.0.1", "--mac", "zz"}, 1, "mac"},
		{"pair", []string{"admin", "terminals", "pair", "pc-01", "sato"}, 0, "paired pc-01 with sato"},
		{"pair unknown user", []string{"admin", "terminals", "pair", "pc-01", "nobody"}, 1, "staff ID"},
		{"list", []string{"admin", "terminals", "list"}, 0, "(pool)"},
		{"cap show", []string{"admin", "cap", "show"}, 0, `"cap": 140`},
		{"cap set", []string{"admin", "cap", "set", "1", "--idle", "45"}, 0, `"idle_minutes": 45`},
		{"cap set not a number", []string{"admin", "cap", "set", "many"}, 1, "cap"},
		{"cap set too big", []string{"admin", "cap", "set", "200000"}, 1, "cap"},
		{"end unknown", []string{"admin", "sessions", "end", "s_nope"}, 1, "slot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.wantOut) {
				t.Errorf("exit %d, want %d; output %q %q, want %q", code, tc.wantCode, out, errs, tc.wantOut)
			}
		})
	}
	// The running broker applies the cap on its next sweep.
	m := b.Services.Slots
	if err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if p := m.Policy(); p.Cap != 1 || p.IdleMinutes != 45 {
		t.Fatalf("broker's policy after the CLI: %+v", p)
	}
	sato := b.Login(t, brokertest.User{ID: "sato", Password: brokertest.Password, TOTPSecret: "JBSWY3DPEHPK3PXPAAAAAAAAAAAAAAAA"})
	s, err := sato.RequestSlot(ctx, api.SlotRequest{})
	if err != nil || s.State != api.SlotGranted || s.Terminal.ID != "pc-01" {
		t.Fatalf("sato: %+v %v", s, err)
	}
	out, errs, code := run(t, dir, "admin", "sessions", "list")
	if code != 0 || !strings.Contains(out, s.ID) || !strings.Contains(out, "granted") {
		t.Fatalf("sessions list: %d %q %q", code, out, errs)
	}
	if out, errs, code := run(t, dir, "admin", "sessions", "end", s.ID, "--reason", "点検"); code != 0 {
		t.Fatalf("sessions end: %d %q %q", code, out, errs)
	}
	if err := m.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sato.MySlot(ctx); api.AsError(err) == nil || api.AsError(err).Code != api.CodeSlotNotFound {
		t.Errorf("sato's slot after the CLI ended it: %v", err)
	}
}
