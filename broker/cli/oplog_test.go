package cli_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestOplogCommands: IT searches, exports, follows a laptop's timeline
// and manages legal holds from the command line, next to a running broker.
func TestOplogCommands(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	staff := b.Signin(t, "yamada")
	dev := staff.Login.Device.ID
	var prev [32]byte
	evs := make([]api.OplogEvent, 3)
	for i, typ := range []string{"app.start", "login.ok", "rdp.exit"} {
		evs[i] = api.OplogEvent{Seq: int64(i + 1), At: b.Now().UnixMilli(), Type: typ, Fields: map[string]string{"code": "0"}, Prev: bytes.Clone(prev[:])}
		prev = evs[i].Hash()
	}
	if _, err := staff.UploadOplog(context.Background(), api.OplogBatch{DeviceID: dev, Events: evs,
		Signature: ed25519.Sign(staff.Key, api.OplogBatchDigest(dev, evs))}); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(t.TempDir(), "yamada.csv")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"search by user", []string{"admin", "oplog", "search", "--user", "yamada"}, 0, "rdp.exit"},
		{"search by type as JSON", []string{"admin", "oplog", "search", "--type", "login.ok", "--json"}, 0, `"type": "login.ok"`},
		{"bad date", []string{"admin", "oplog", "search", "--from", "yesterday"}, 1, "--from: use 2026-04-01"},
		{"export CSV to a file", []string{"admin", "oplog", "export", "--device", dev, "--out", csvPath}, 0, "exported 3 events"},
		{"export JSON Lines", []string{"admin", "oplog", "export", "--device", dev, "--format", "jsonl"}, 0, `"seq":3`},
		{"export CSV in Japanese and JST", []string{"admin", "oplog", "export", "--device", dev}, 0, "日時 (JST),職員番号,所属"},
		{"export CSV in English and UTC", []string{"admin", "oplog", "export", "--device", dev, "--lang", "en", "--tz", "UTC"}, 0, "Time (UTC),Staff ID,Department"},
		{"export unknown zone", []string{"admin", "oplog", "export", "--tz", "PST"}, 1, "JST (the default) or UTC"},
		{"export unknown format", []string{"admin", "oplog", "export", "--format", "xls"}, 1, "csv or format=jsonl"},
		{"timeline", []string{"admin", "oplog", "timeline", dev}, 0, "no findings"},
		{"timeline of nothing", []string{"admin", "oplog", "timeline"}, 1, "one device ID"},
		{"findings", []string{"admin", "oplog", "findings"}, 0, "every chain is intact"},
		{"hold without reason", []string{"admin", "oplog", "hold", "yamada"}, 1, "reason"},
		{"hold", []string{"admin", "oplog", "hold", "--reason", "案件 2026-17", "yamada"}, 0, "hold placed on user yamada"},
		{"holds", []string{"admin", "oplog", "holds"}, 0, "案件 2026-17"},
		{"unhold", []string{"admin", "oplog", "unhold", "user", "yamada"}, 0, "released"},
		{"unhold again", []string{"admin", "oplog", "unhold", "user", "yamada"}, 1, "Not found"},
		{"retention", []string{"admin", "oplog", "retention"}, 0, "1825 days"},
		{"retention change", []string{"admin", "oplog", "retention", "--days", "3650", "--reason", "10年保存に変更"}, 0, "3650 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("exit %d (want %d)\nout: %s\nerr: %s\nwant %q", code, tc.wantCode, out, errs, tc.want)
			}
		})
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) || bytes.Count(data, []byte("\r\n")) != 4 {
		t.Fatalf("CSV file: %q", data)
	}
	// The CLI's own actions are in the same chain as the broker's.
	out, _, code := run(t, dir, "admin", "oplog", "search", "--device", api.OplogBrokerDevice, "--type", "oplog.exported")
	if code != 0 || !strings.Contains(out, "oplog.exported") {
		t.Fatalf("export not audited: %s", out)
	}
}
