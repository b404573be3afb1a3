package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// TestSegmentsCLI: IT puts a PC in the My Number segment and registers a
// satellite office from the command line, next to a running broker.
func TestSegmentsCLI(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	b.CreateUser(t, "yamada")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"create", []string{"admin", "terminals", "create", "pc-mn", "--name", "市民課-番号", "--address", "127.0.0.1", "--user", "yamada"}, 0, "created pc-mn"},
		{"no reason", []string{"admin", "terminals", "segment", "pc-mn", "mynumber"}, 1, "reason"},
		{"unknown segment", []string{"admin", "terminals", "segment", "--reason", "x", "pc-mn", "secret"}, 1, "lgwan, mynumber or internet"},
		{"segment", []string{"admin", "terminals", "segment", "--reason", "番号系端末", "pc-mn", "mynumber"}, 0, "pc-mn is in the mynumber segment"},
		{"list shows it", []string{"admin", "terminals", "list"}, 0, "mynumber"},
		{"pool refused", []string{"admin", "terminals", "create", "--pool", "--segment", "mynumber", "pool-mn", "--name", "共用", "--address", "127.0.0.1"}, 1, "shared pool"},
		{"set office", []string{"admin", "satellite", "set", "--name", "北サテライトオフィス", "kita", "192.0.2.0/28", "198.51.100.7"}, 0, "198.51.100.7/32"},
		{"bad range", []string{"admin", "satellite", "set", "--name", "x", "bad", "192.0.2.0/33"}, 1, "ranges[0]"},
		{"too wide", []string{"admin", "satellite", "set", "--name", "x", "wide", "10.0.0.0/4"}, 1, "too wide"},
		{"office list", []string{"admin", "satellite", "list"}, 0, "北サテライトオフィス"},
		{"delete", []string{"admin", "satellite", "delete", "kita"}, 0, ""},
		{"delete again", []string{"admin", "satellite", "delete", "kita"}, 1, "kita"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.wantOut) {
				t.Errorf("exit %d, want %d; output %q %q, want %q", code, tc.wantCode, out, errs, tc.wantOut)
			}
		})
	}
	pc, err := b.Services.Terminals.Get(context.Background(), "pc-mn")
	if err != nil || pc.Segment != api.SegmentMyNumber {
		t.Fatalf("the broker's PC after the CLI: %+v %v", pc, err)
	}
	page, err := b.Services.Oplog.Search(context.Background(), oplog.Query{Type: "admin.terminal_segment_set", Limit: 10})
	if err != nil || len(page.Events) != 1 || page.Events[0].Fields["reason"] != "番号系端末" || page.Events[0].Fields["from"] != "lgwan" {
		t.Fatalf("segment change in the operation log: %+v %v", page.Events, err)
	}
}
