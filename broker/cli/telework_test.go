package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestHRExportCLI: IT sets a department's policy and a holiday and
// exports HR's record from the command line beside a running broker,
// which applies the policy at the next slot request.
func TestHRExportCLI(t *testing.T) {
	var dir string
	jst := time.FixedZone("JST", 9*3600)
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }),
		brokertest.WithClock(brokertest.NewClock(time.Date(2026, 6, 3, 9, 0, 0, 0, jst))))
	ctx := context.Background()
	alice := b.Signin(t, "alice")
	if _, err := alice.StartWork(ctx, api.PlaceHome); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(8*time.Hour + 30*time.Minute)
	alice = b.Login(t, alice.User)
	if _, err := alice.EndWork(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"policy", []string{"admin", "telework", "policy", "--mode", "approval", "--hours", "07:00-22:00", "総務課"}, 0, `"mode": "approval"`},
		{"bad policy", []string{"admin", "telework", "policy", "--mode", "sometimes", "総務課"}, 1, "mode"},
		{"policies", []string{"admin", "telework", "policies"}, 0, "07:00-22:00"},
		{"holiday", []string{"admin", "telework", "holiday", "--municipal", "2026-06-15", "市制記念日"}, 0, ""},
		{"holidays", []string{"admin", "telework", "holidays"}, 0, "市制記念日"},
		{"export without range", []string{"admin", "telework", "export"}, 1, "from"},
		{"export", []string{"admin", "telework", "export", "--from", "2026-06-01", "--to", "2026-06-30"}, 0,
			"2026-06-03,alice,Test alice,総務課,—,,,09:00,17:30,0,510,8:30,在宅,予定超過・承認なし"},
		{"export in English and UTC", []string{"admin", "telework", "export", "--from", "2026-06-01", "--to", "2026-06-30", "--lang", "en", "--tz", "UTC"}, 0,
			"2026-06-03,alice,Test alice,総務課,—,,,00:00,08:30,0,510,8:30,home,\"overtime, unplanned\""},
		{"export header in English", []string{"admin", "telework", "export", "--from", "2026-06-01", "--to", "2026-06-30", "--lang", "en"}, 0,
			"Date,Staff ID,Name,Department,Plan,Planned start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.wantOut) {
				t.Errorf("exit %d, want %d; output %q %q, want %q", code, tc.wantCode, out, errs, tc.wantOut)
			}
		})
	}
	_, err := alice.RequestSlot(ctx, api.SlotRequest{})
	if e := api.AsError(err); e == nil || e.Code != api.CodeTeleworkApprovalRequired {
		t.Errorf("slot after the CLI's policy: %v", err)
	}
}
