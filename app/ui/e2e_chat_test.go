package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2EChatScreenshot runs the real app binary under its own Xvfb
// against a real broker with demo staff who have been chatting: the
// department channel holds a question and yamada's quoted reply, edited
// (編集済み) and read by the supervisor (既読 1); a direct conversation
// with sato, in a meeting (会議中, a red dot) with a status message, and
// a group hold unread messages; the department's presence is counted
// under its title and yamada's own (オンライン) above the list. yamada signs in through the window and opens chat from the
// home screen; the window goes to $ARTIFACTS_DIR/app-chat-ja.png.
func TestE2EChatScreenshot(t *testing.T) {
	needDisplayTools(t)
	art := brokertest.ArtifactsDir(t)
	bin := buildApp(t)
	b := demoBroker(t)
	seedChat(t, b.Services.Chat, b.Services.Auth)

	kr := keyringtest.Start(t)
	display := uitest.StartXvfb(t, 1280, 900)
	home := t.TempDir()
	env := appEnv(kr, display, home)
	app := startApp(t, bin, env, display, "-broker", b.URL, "-pin", b.Pin, "-lang", "ja",
		"-device", "e2e-chat", "-data", filepath.Join(home, "data"))
	app.waitLog(t, "phase=signed_out", 20*time.Second)
	time.Sleep(time.Second)
	signIn(t, display, app, "yamada", nil)
	app.waitLog(t, "phase=ready", 20*time.Second)
	time.Sleep(1500 * time.Millisecond) // chat catches up; the button shows the count
	uitest.Screenshot(t, display, app.win, filepath.Join(art, "app-home-chat-ja.png"))

	// The chat button is the leftmost of the three at the top right.
	w := windowWidth(t, display, app.win)
	uitest.Click(t, display, app.win, w-chatButtonOffset, 27)
	win := waitSecondWindow(t, display, app, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // read marker, receipts, fonts
	path := filepath.Join(art, "app-chat-ja.png")
	uitest.Screenshot(t, display, win, path)
	t.Logf("screenshot %s", path)
	if st, err := os.Stat(path); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", path, err)
	}
}

// chatButtonOffset is the chat button's centre from the window's right
// edge, left of Settings and Help (measured on the Japanese home screen).
const chatButtonOffset = 275

// seedChat gives the demo staff a morning of chat: the department's
// question and yamada's reply (read by tanaka), a direct message from
// sato and group messages, one mentioning yamada.
func seedChat(t *testing.T, c *chat.Service, users interface {
	GetUser(ctx context.Context, id string) (*api.User, error)
}) {
	t.Helper()
	ctx := context.Background()
	u := func(id string) api.User {
		x, err := users.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return *x
	}
	yamada, tanaka, sato := u("yamada"), u("tanaka"), u("sato")
	must := func(m api.ChatMessage, err error) api.ChatMessage {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	l, err := c.Channels(ctx, tanaka)
	if err != nil || len(l.Channels) == 0 {
		t.Fatalf("tanaka's channels: %+v %v", l, err)
	}
	dept := l.Channels[0].ID
	q := must(c.Send(ctx, tanaka, dept, api.ChatSendRequest{Key: "e2e-1", Text: "おはようございます。明日の窓口当番はどなたかお願いできますか？"}))
	r := must(c.Send(ctx, yamada, dept, api.ChatSendRequest{Key: "e2e-2", Text: "私が担当します。午後は会議のため、午前のみでお願いします。", ReplyTo: q.Seq}))
	// yamada corrects it within the edit window: （編集済み）.
	must(c.Edit(ctx, yamada, dept, r.Seq, api.ChatEditRequest{Key: "e2e-2e", Text: "私が担当します。午後は予算ヒアリングのため、午前のみでお願いします。"}))
	if _, err := c.MarkRead(ctx, tanaka, dept, r.Seq); err != nil {
		t.Fatal(err)
	}
	must(c.Send(ctx, tanaka, dept, api.ChatSendRequest{Key: "e2e-3", Text: "ありがとうございます。よろしくお願いします。"}))

	dm, err := c.Direct(ctx, yamada, api.ChatDirectRequest{User: "sato"})
	if err != nil {
		t.Fatal(err)
	}
	d := must(c.Send(ctx, yamada, dm.ID, api.ChatSendRequest{Key: "e2e-4", Text: "住民税の資料を共有フォルダに置きました。"}))
	if _, err := c.MarkRead(ctx, sato, dm.ID, d.Seq); err != nil {
		t.Fatal(err)
	}
	must(c.Send(ctx, sato, dm.ID, api.ChatSendRequest{Key: "e2e-5", Text: "確認しました。14時に電話してもよいですか？"}))

	// sato is in a meeting (as broker/meet tells chat when he joins one)
	// with a status message; tanaka is not signed in: オフライン.
	status := "15時まで予算ヒアリング"
	if _, err := c.SetStatus(ctx, sato, api.ChatStatusRequest{Message: &status}); err != nil {
		t.Fatal(err)
	}
	c.Attending("sato", true)

	g, err := c.CreateGroup(ctx, sato, api.ChatCreateGroup{Name: "予算要求チーム", Members: []string{"yamada", "tanaka"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"来年度の予算要求の締切は金曜です。", "様式は前年と同じです。", "@yamada 総務課分の取りまとめをお願いします。"} {
		from := sato
		if i == 2 {
			from = tanaka
		}
		must(c.Send(ctx, from, g.ID, api.ChatSendRequest{Key: "e2e-g" + strings.Repeat("x", i), Text: text}))
	}
}

// waitSecondWindow waits for a window of the app other than its main one.
func waitSecondWindow(t *testing.T, display string, app *appProc, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, _ := uitest.X(display, "xdotool", "search", "--onlyvisible", "--pid", strconv.Itoa(app.cmd.Process.Pid))
		for _, w := range strings.Fields(out) {
			if w != app.win {
				return w
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second window (chat) within %v; log:\n%s", timeout, app.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
