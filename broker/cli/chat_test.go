package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestChatCLI: IT lists the channels and exports one for an inquiry from
// the command line, next to a running broker; the export is recorded.
func TestChatCLI(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	ctx := context.Background()
	alice := b.Signin(t, "alice")
	b.CreateUser(t, "bob")
	g, err := alice.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "窓口応援", Members: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ChatSend(ctx, g.ID, api.ChatSendRequest{Key: "k1", Text: "@bob 明日の窓口をお願いします"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"channels", []string{"admin", "chat", "channels"}, 0, "窓口応援"},
		{"export without reason", []string{"admin", "chat", "export", g.ID}, 1, "reason"},
		{"export unknown", []string{"admin", "chat", "export", "--reason", "照会", "nope"}, 1, "not a member"},
		{"export", []string{"admin", "chat", "export", "--reason", "照会 第3号", g.ID}, 0, "明日の窓口をお願いします"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.wantOut) {
				t.Errorf("exit %d, want %d; output %q %q, want %q", code, tc.wantCode, out, errs, tc.wantOut)
			}
		})
	}
	var n int
	if err := b.Store.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM oplog_events WHERE type = 'admin.chat_exported'
		AND fields LIKE '%照会 第3号%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the CLI export is recorded %d times (%v), want once", n, err)
	}
}
