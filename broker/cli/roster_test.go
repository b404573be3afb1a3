package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestRosterCLI: IT loads a Shift_JIS roster from the command line next
// to a running broker: dry run, import, the same again, a future date,
// the list, a cancel, and a file with problems, each named.
func TestRosterCLI(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	tmp := t.TempDir()
	file := func(name, text string) string {
		sjis, err := japanese.ShiftJIS.NewEncoder().String(text)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(sjis), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	roster := file("名簿.csv", "職員番号,氏名,カナ,所属,端末名,IPアドレス\r\n"+
		"k1,山田 花子,ヤマダ ハナコ,総務課,pc-1,10.0.0.1\r\nk2,佐藤 一郎,サトウ イチロウ,税務課,,\r\n")
	moved := file("異動.csv", "職員番号,氏名,カナ,所属\r\nk1,山田 花子,ヤマダ ハナコ,税務課\r\nk2,佐藤 一郎,サトウ イチロウ,税務課\r\n")
	bad := file("bad.csv", "職員番号,氏名,所属,端末名,MACアドレス\r\nk3,鈴木,総務課,pc-3,00:11\r\n")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"dry run", []string{"roster", "import", roster, "--dry-run"}, 0, "2 added, 0 moved"},
		{"dry run changes nothing", []string{"users", "list"}, 0, ""},
		{"import", []string{"roster", "import", roster}, 0, "applied"},
		{"the same again", []string{"roster", "import", roster}, 0, "0 added, 0 moved, 0 changed, 2 unchanged"},
		{"transfers on a later day", []string{"roster", "import", moved, "--effective", "2099-04-01"}, 0, "pending: it takes effect on 2099-04-01"},
		{"named encoding", []string{"roster", "import", moved, "--dry-run", "--encoding", "shift_jis"}, 0, "1 moved"},
		{"wrong encoding", []string{"roster", "import", moved, "--dry-run", "--encoding", "utf-8"}, 1, "not valid UTF-8"},
		{"problems", []string{"roster", "import", bad}, 1, "problem: line 2, column 5 (MACアドレス)"},
		{"list", []string{"roster", "list"}, 0, "pending"},
		{"cancel unknown", []string{"roster", "cancel", "ri_nope"}, 1, "no roster import ri_nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, append([]string{"admin"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.want) {
				t.Errorf("exit %d, want %d; output %q %q, want %q", code, tc.wantCode, out, errs, tc.want)
			}
			if tc.name == "dry run changes nothing" && strings.Contains(out, "k1") {
				t.Errorf("users after the dry run: %s", out)
			}
		})
	}
	ctx := context.Background()
	if u, err := b.Services.Auth.GetUser(ctx, "k1"); err != nil || u.Kana != "ヤマダ ハナコ" || u.Department != "総務課" {
		t.Fatalf("k1: %+v %v", u, err)
	}
	out, _, _ := run(t, dir, "admin", "roster", "list")
	id := regexp.MustCompile(`ri_[0-9a-f]+(\s+)pending`).FindString(out)
	id = strings.Fields(id + " x")[0]
	if out, errs, code := run(t, dir, "admin", "roster", "cancel", id); code != 0 {
		t.Fatalf("cancel %q: %d %q %q", id, code, out, errs)
	}
	if out, _, _ := run(t, dir, "admin", "roster", "list"); !strings.Contains(out, "cancelled") {
		t.Errorf("list after cancel: %s", out)
	}
	if u, _ := b.Services.Auth.GetUser(ctx, "k1"); u.Department != "総務課" {
		t.Errorf("k1 after a cancelled transfer: %s", u.Department)
	}
}
