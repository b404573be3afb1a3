package chat_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestChatExportAndRetention: IT exports a channel for an inquiry as CSV
// (Japanese headers, BOM, earlier texts included, formulas defused), and
// the export is recorded with its reason; entries past IT's retention
// are purged, and an app resuming from before the purge goes on from
// what is left.
func TestChatExportAndRetention(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	admin := b.Signin(t, "it-admin", api.RoleAdmin)
	g := channels[1]
	for i, text := range []string{"窓口の件です", "=HYPERLINK(\"http://x\")", "訂正前"} {
		if _, err := alice.ChatSend(ctx, g, api.ChatSendRequest{Key: fmt.Sprint("x", i), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.ChatEdit(ctx, g, 3, api.ChatEditRequest{Key: "e", Text: "訂正後"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ChatDelete(ctx, g, 1); err != nil {
		t.Fatal(err)
	}

	var list api.ChatChannelList
	if err := admin.Do(ctx, "GET", "/admin/v1/chat/channels", nil, &list); err != nil || len(list.Channels) != 3 {
		t.Fatalf("IT's channel list: %+v %v", list, err)
	}
	// Refusals come as error answers, not as a cut stream.
	err := admin.Do(ctx, "POST", "/admin/v1/chat/channels/"+g+"/export", api.ChatExportRequest{}, nil)
	wantCode(t, "export without a reason", err, api.CodeValidation)
	err = admin.Do(ctx, "POST", "/admin/v1/chat/channels/nope/export", api.ChatExportRequest{Reason: "照会"}, nil)
	wantCode(t, "export of no channel", err, api.CodeChatNoChannel)

	var out bytes.Buffer
	req, _ := admin.NewRequest(ctx, "POST", "/admin/v1/chat/channels/"+g+"/export", api.ChatExportRequest{Reason: "情報公開請求 第12号"})
	resp, err := admin.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = out.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), out.String())
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("\ufeff")) {
		t.Error("no BOM: Excel would misread the Japanese")
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out.Bytes(), []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "チャンネル" || rows[0][5] != "本文" {
		t.Errorf("header %v", rows[0])
	}
	body := out.String()
	for _, want := range []string{"窓口の件です", "'=HYPERLINK", "訂正前", "訂正後", "編集前の本文", "削除済み", "2026-04-01 18:"} {
		if !strings.Contains(body, want) {
			t.Errorf("the export lacks %q:\n%s", want, body)
		}
	}
	// 5 entries, and the earlier texts of the edited and the deleted message.
	if len(rows) != 1+5+2 {
		t.Errorf("%d rows, want 8:\n%s", len(rows), body)
	}
	// English headers and UTC on request: 18:xx in Japan is 09:xx UTC.
	req, _ = admin.NewRequest(ctx, "POST", "/admin/v1/chat/channels/"+g+"/export?lang=en&tz=UTC", api.ChatExportRequest{Reason: "inquiry 12 (English copy)"})
	resp, err = admin.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var en bytes.Buffer
	_, _ = en.ReadFrom(resp.Body)
	resp.Body.Close()
	enRows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(en.Bytes(), []byte("\ufeff")))).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("English export: %d %v", resp.StatusCode, err)
	}
	if enRows[0][0] != "Channel" || enRows[0][4] != "Time (UTC)" || len(enRows) != len(rows) ||
		!strings.Contains(en.String(), "earlier text") || !strings.Contains(en.String(), "deleted") || !strings.Contains(en.String(), "2026-04-01 09:") {
		t.Errorf("English/UTC export:\n%s", en.String())
	}
	var n int
	if err := b.Store.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM oplog_events WHERE type = 'admin.chat_exported'
		AND user_id = 'it-admin' AND fields LIKE '%情報公開請求 第12号%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the export is recorded %d times (%v), want once with its reason", n, err)
	}

	// Retention: 30 days; what is older goes, the sequence goes on.
	days := 30
	if err := admin.Do(ctx, "PATCH", "/admin/v1/chat/policy", api.ChatPolicyUpdate{RetentionDays: &days, Reason: "規程改正"}, nil); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(31 * 24 * time.Hour)
	// A month on, both sign in again (the refresh token has lapsed).
	alice, bob = b.LoginWithKey(t, alice.User, alice.Key), b.LoginWithKey(t, bob.User, bob.Key)
	r := newReceiver(t, bob) // an app that saw nothing yet
	r.purged = true
	if _, err := alice.ChatSend(ctx, g, api.ChatSendRequest{Key: "after", Text: "一か月後"}); err != nil {
		t.Fatal(err)
	}
	purged, err := b.Services.Chat.Purge(ctx)
	if err != nil || purged == 0 {
		t.Fatalf("purge: %d %v", purged, err)
	}
	if err := r.feed.Catchup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.got[g]; len(got) != 1 || got[0].Text != "一か月後" || got[0].Seq != 6 || r.feed.Last()[g] != 6 {
		t.Errorf("after the purge bob's app shows %+v", got)
	}
}
