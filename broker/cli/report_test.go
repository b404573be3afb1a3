package cli_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// TestReportCLI: IT reads the usage report and the what-if replay from
// the command line, as a table, as CSV for Excel, and as JSON. Three
// sessions on 2 March 2026 (JST): A 9:00-12:00, B 10:00-11:00, C
// 10:30-13:00. Peak 3 at 10:30; with a cap of 2, C waits until B ends at
// 11:00 (30 minutes); with a cap of 1, B waits until 12:00 and C until
// 13:00 (120 and 150 minutes).
func TestReportCLI(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	ctx := context.Background()
	b.CreateUser(t, "k1")
	jst := time.FixedZone("JST", 9*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, jst) }
	var ops []slots.Op
	for i, s := range [][4]int{{9, 0, 12, 0}, {10, 0, 11, 0}, {10, 30, 13, 0}} {
		r := slots.Record{ID: "s_" + string(rune('a'+i)), UserID: "k1", State: api.SlotGranted, RequestedAt: at(s[0], s[1]), GrantedAt: at(s[0], s[1])}
		ops = append(ops, slots.Op{End: &slots.Ended{Record: r, EndedAt: at(s[2], s[3]), Reason: "released"}})
	}
	if err := b.Store.Slots().ApplySlots(ctx, ops); err != nil {
		t.Fatal(err)
	}
	rng := []string{"--from", "2026-03-01", "--to", "2026-04-01"}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"month", append([]string{"admin", "report", "usage", "--period", "month"}, rng...), 0,
			[]string{"2026-03  (all)       3     6.5    3", "cap now: 140"}},
		{"csv", append([]string{"admin", "report", "usage", "--csv"}, rng...), 0,
			[]string{"\ufeff期間,開始日,所属,最大同時接続数", "2026-03-02,2026-03-02,全体,3,2026-03-02 10:30,6.50,3,3,1,3.00,0"}},
		{"what-if 2", append([]string{"admin", "report", "what-if", "--cap", "2"}, rng...), 0,
			[]string{"with a cap of 2, of 3 requests", "1 would have queued, 30m0s on average, 30m0s at most"}},
		{"what-if 1 json", append([]string{"admin", "report", "what-if", "--cap", "1", "--json"}, rng...), 0,
			[]string{`"queued": 2`, `"wait_total_seconds": 16200`, `"wait_max_seconds": 9000`}},
		{"what-if csv", append([]string{"admin", "report", "what-if", "--cap", "1", "--csv"}, rng...), 0,
			[]string{"\ufeff上限,日付,接続要求数,待機する要求数", "1,2026-03-02,3,2,270.00,135.00,150.00"}},
		{"what-if without cap", []string{"admin", "report", "what-if"}, 1, []string{"--cap"}},
		{"bad period", []string{"admin", "report", "usage", "--period", "year"}, 1, []string{"day, week or month"}},
		{"reversed range", []string{"admin", "report", "usage", "--from", "2026-04-01", "--to", "2026-03-01"}, 1, []string{"from must be before to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d: %s %s", code, tc.wantCode, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ReplaceAll(out+errs, "\r\n", "\n"), w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errs)
				}
			}
		})
	}
	// Logged in to the broker, the same commands ask its REST API (as
	// an auditor: reports are theirs to read) and print the same.
	r := newRemoteCLI(t, b)
	if _, errs, code := r.login(b.CreateUser(t, "kansa", api.RoleAuditor)); code != 0 {
		t.Fatalf("auditor login: %s", errs)
	}
	out, errs, code := r.run("", append([]string{"report", "what-if", "--cap", "1", "--csv"}, rng...)...)
	if code != 0 || !strings.Contains(out, "1,2026-03-02,3,2,270.00,135.00,150.00") {
		t.Errorf("what-if over REST: %d %q %q", code, out, errs)
	}
	out, errs, code = r.run("", append([]string{"report", "usage", "--period", "month"}, rng...)...)
	if code != 0 || !strings.Contains(out, "2026-03  (all)       3     6.5    3") {
		t.Errorf("usage over REST: %d %q %q", code, out, errs)
	}
	if _, errs, code = r.run("", "report", "usage", "--period", "year"); code != 1 || !strings.Contains(errs, "day, week or month") {
		t.Errorf("bad period over REST: %d %q", code, errs)
	}
	if _, err := os.Stat(r.data); err == nil {
		t.Error("a report over REST opened the local data directory")
	}
}
