package office_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/brokertest/headless"
	"github.com/zaitaku/zaitaku/broker/slots"
)

var jst = time.FixedZone("JST", 9*3600)

// wed1000 is a Wednesday, 10:00 in Japan: a working day.
var wed1000 = time.Date(2026, 6, 3, 10, 0, 0, 0, jst)

// browser is one headless Chromium on one page.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// startBrowser starts Chromium as the meeting tests do, without media.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	return &browser{t: t, ctx: headless.Start(t, "office", "")}
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (the page: %s)", what, err, b.glimpse())
	}
}

func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// text is what a CSS selector's elements show, joined by "|".
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := eval[string](b, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent).join("|")`, sel))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// until polls text(sel) until ok holds, for up to 20 seconds.
func (b *browser) until(what, sel string, ok func(string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := b.text(sel)
		if ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s shows %q (the page: %s)", what, sel, got, b.glimpse())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// glimpse is what a failing test says of the page: the connection
// line, the last messages shown (class, seq, text) and the page's own
// counters and errors.
func (b *browser) glimpse() string {
	s, err := eval[string](b, `JSON.stringify({conn: document.getElementById("conn")?.textContent,
		input: document.getElementById("input")?.value, focus: document.activeElement?.id,
		last: [...document.querySelectorAll("#messages .msg")].slice(-6).map(e => e.className + " " + (e.dataset.seq || "-") + " " + e.textContent),
		office: window.office})`)
	if err != nil {
		return err.Error()
	}
	return s
}

func (b *browser) errors() string {
	s, err := eval[string](b, `JSON.stringify(window.office ? window.office.errors : "no office")`)
	if err != nil {
		return err.Error()
	}
	return s
}

// screenshot writes the viewport to $ARTIFACTS_DIR/name.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(brokertest.ArtifactsDir(b.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// signIn opens the office page and signs in as the app does: staff ID,
// password and the one-time code of the broker's time.
func (b *browser) signIn(br *brokertest.Broker, u brokertest.User) { b.signInAt(br.URL, br, u) }

// signInAt is signIn with the broker reached at base.
func (b *browser) signInAt(base string, br *brokertest.Broker, u brokertest.User) {
	b.t.Helper()
	b.run("open the office page", chromedp.Navigate(base+"/office"), chromedp.WaitVisible(chromedp.ID("staff-id")))
	if got := b.text("#signin h1"); got != "サインイン" {
		b.t.Fatalf("sign-in page title %q, want サインイン (Japanese by default)", got)
	}
	b.run("sign in",
		chromedp.SendKeys(chromedp.ID("staff-id"), u.ID),
		chromedp.SendKeys(chromedp.ID("password"), u.Password),
		chromedp.SendKeys(chromedp.ID("otp"), br.Code(b.t, u)),
		chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.ID("app")))
}

// pressEnter presses Enter as a keyboard does: one key-down that carries
// its text (so that a handler's preventDefault keeps the new line out, as
// in a real browser), then the key-up; with shift, Shift+Enter.
func pressEnter(shift bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var mods int64
		if shift {
			mods = int64(chromedp.ModifierShift)
		}
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", Text: "\r", UnmodifiedText: "\r",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Modifiers: mods}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
		return err
	})
}

// person creates a member of staff with a Japanese name and reading.
func person(t *testing.T, b *brokertest.Broker, id, name, kana, dept string, roles ...api.Role) brokertest.User {
	t.Helper()
	u := b.CreateUser(t, id, roles...)
	if _, err := b.Services.Auth.UpdateUser(context.Background(), "test", id,
		api.UpdateUserRequest{Name: &name, Kana: &kana, Department: &dept}); err != nil {
		t.Fatal(err)
	}
	return u
}

// logBuffer keeps the broker's whole log, to look for tokens in it. A
// failed test leaves it in the artifacts and prints only its last lines,
// so that why the test failed stays near the end of what CI shows.
func logBuffer(t *testing.T) *brokertest.SyncBuffer {
	buf := &brokertest.SyncBuffer{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		s := buf.String()
		path := filepath.Join(brokertest.ArtifactsDir(t), "office", t.Name()+"-broker.log")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			_ = os.WriteFile(path, []byte(s), 0o644)
		}
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		t.Logf("the broker's log is in %s; its last lines:\n%s", path, strings.Join(lines[max(0, len(lines)-8):], "\n"))
	})
	return buf
}

// noTokensIn fails if an access or refresh token reached the log: the
// page's socket carries one in its address.
func noTokensIn(t *testing.T, log string) {
	t.Helper()
	for _, prefix := range []string{"zat_", "zrt_", "access_token="} {
		if i := strings.Index(log, prefix); i >= 0 {
			t.Errorf("the broker's log holds %q: %.120s", prefix, log[i:])
		}
	}
}

// frames collects a client's chat frames from its event socket.
func frames(t *testing.T, s *brokertest.Session) <-chan api.ChatMessage {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := s.DialEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); stream.Close() })
	// Subscribed once hello has come: what is sent after it arrives.
	if ev, err := stream.Next(ctx); err != nil || ev.Type != api.EventHello {
		t.Fatalf("event socket: %+v, %v", ev, err)
	}
	out := make(chan api.ChatMessage, 100)
	go func() {
		for {
			ev, err := stream.Next(ctx)
			if err != nil {
				return
			}
			if ev.Type == api.EventChatMessage {
				var m api.ChatMessage
				if json.Unmarshal(ev.Data, &m) == nil {
					out <- m
				}
			}
		}
	}()
	return out
}

func receive(t *testing.T, c <-chan api.ChatMessage, what string) api.ChatMessage {
	t.Helper()
	select {
	case m := <-c:
		return m
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no chat frame within 15 s", what)
	}
	return api.ChatMessage{}
}

// TestE2EOfficeChatPage: a member of staff at an office PC signs in to
// the office page with their one-time code, sees their section's channel
// with its unread count, reads, replies (Enter), writes two lines
// (Shift+Enter) that a colleague's client receives, receives a message
// live, sees 既読 1 once the colleague reads, searches in Japanese,
// finds a colleague by the reading of their name and gets 既読 on a
// direct message; they are オンライン while the page is open.
func TestE2EOfficeChatPage(t *testing.T) {
	logs := logBuffer(t)
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(wed1000)), brokertest.WithLog(logs))
	ctx := context.Background()
	sato := person(t, b, "sato", "佐藤 花子", "サトウ ハナコ", "総務課")
	tanaka := b.Login(t, person(t, b, "tanaka", "田中 一郎", "タナカ イチロウ", "総務課"))
	live := frames(t, tanaka)

	chans, err := tanaka.ChatChannels(ctx)
	if err != nil || len(chans.Channels) == 0 {
		t.Fatalf("tanaka's channels: %+v, %v", chans, err)
	}
	dept := chans.Channels[0]
	first, err := tanaka.ChatSend(ctx, dept.ID, api.ChatSendRequest{Key: "k1", Text: "おはようございます。本日の窓口当番は佐藤さんです。"})
	if err != nil {
		t.Fatal(err)
	}
	receive(t, live, "tanaka's own first message")

	page := startBrowser(t)
	page.signIn(b, sato)
	chanSel := fmt.Sprintf(`#channels .channel[data-id=%q]`, dept.ID)
	page.until("the section's channel with one unread", chanSel, func(s string) bool { return s == "総務課1" })
	if title, _ := eval[string](page, `document.title`); title != "(1) 在宅 オフィス" {
		t.Errorf("the tab's title with one unread: %q", title)
	}
	if hidden, _ := eval[bool](page, `document.getElementById("tab-super").hidden`); !hidden {
		t.Error("plain staff see the supervisor's tab")
	}
	if got := page.text("#me"); got != "佐藤 花子（総務課）" {
		t.Errorf("signed in as %q", got)
	}

	// Open it: the message, its day and time; the page reads it.
	page.run("open the channel", chromedp.Click(chromedp.CSS(chanSel)))
	page.until("the first message", "#messages .msg .text", func(s string) bool { return s == first.Text })
	if got := page.text("#messages .day"); got != "2026年6月3日（水）" {
		t.Errorf("day separator %q", got)
	}
	if got := page.text("#messages .msg .time"); got != "10:00" {
		t.Errorf("time %q", got)
	}
	page.until("no unread badge", chanSel+" .badge", func(s string) bool { return s == "" })
	if title, _ := eval[string](page, `document.title`); title != "在宅 オフィス" {
		t.Errorf("the tab's title with nothing unread: %q", title)
	}
	waitRead(t, tanaka, dept.ID, "sato", first.Seq)

	// Reply with Enter: the colleague's client receives it live, quoted.
	page.run("reply",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#messages .msg[data-seq="%d"] button.reply`, first.Seq))),
		chromedp.WaitVisible(chromedp.ID("replying")),
		chromedp.SendKeys(chromedp.ID("input"), "承知しました。"),
		pressEnter(false))
	reply := receive(t, live, "the page's reply")
	if reply.Text != "承知しました。" || reply.Sender != "sato" || reply.ReplyTo != first.Seq || reply.Quote == nil || reply.Quote.Text != first.Text {
		t.Fatalf("reply as received: %+v", reply)
	}
	page.until("the quote on the page", "#messages .msg.mine .quote", func(s string) bool { return s == "田中 一郎"+first.Text })

	// Shift+Enter is a new line, Enter sends both lines as one message.
	page.run("two lines",
		chromedp.SendKeys(chromedp.ID("input"), "一行目"),
		pressEnter(true),
		chromedp.SendKeys(chromedp.ID("input"), "二行目"),
		pressEnter(false))
	lines := receive(t, live, "the two lines")
	if lines.Text != "一行目\n二行目" {
		t.Fatalf("two lines arrived as %q", lines.Text)
	}
	if v, _ := eval[string](page, `document.getElementById("input").value`); v != "" {
		t.Errorf("the input keeps %q after sending", v)
	}

	// Each is stored once.
	h, err := tanaka.ChatAfter(ctx, dept.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Messages) != 3 {
		t.Fatalf("the channel holds %d entries, want 3: %+v", len(h.Messages), h.Messages)
	}

	// A message arrives live, and the open conversation reads it.
	liveMsg, err := tanaka.ChatSend(ctx, dept.ID, api.ChatSendRequest{Key: "k2", Text: "上海市役所との打ち合わせは14時からです"})
	if err != nil {
		t.Fatal(err)
	}
	receive(t, live, "tanaka's own live message")
	page.until("the live message", "#messages .msg .text", func(s string) bool { return strings.HasSuffix(s, "|"+liveMsg.Text) })
	waitRead(t, tanaka, dept.ID, "sato", liveMsg.Seq)

	// 既読 1 on the page's own messages once the colleague has read them.
	if got := page.text("#messages .msg.mine .receipt"); got != "" {
		t.Fatalf("receipts before anyone read: %q", got)
	}
	if _, err := tanaka.ChatMarkRead(ctx, dept.ID, liveMsg.Seq); err != nil {
		t.Fatal(err)
	}
	page.until("既読 1", "#messages .msg.mine .receipt", func(s string) bool { return s == "既読 1|既読 1" })
	page.screenshot("office-chat-ja.png")

	// Search finds unspaced Japanese, three characters or two, marked.
	for _, q := range []string{"市役所との", "上海"} {
		page.run("search "+q, chromedp.SetValue(chromedp.ID("search"), q), chromedp.Focus(chromedp.ID("search")), pressEnter(false))
		page.until("the hit for "+q, "#hits mark", func(s string) bool { return s == q })
		if got := page.text("#hits .text"); got != liveMsg.Text {
			t.Errorf("search %s: %q", q, got)
		}
	}
	page.screenshot("office-chat-search-ja.png")
	page.run("close the results", chromedp.Click(chromedp.ID("results-close")))

	// Find a colleague by the reading of their name; a direct message
	// gets 既読 when they read it.
	page.run("look up たなか", chromedp.SendKeys(chromedp.ID("people"), "たなか"))
	page.until("the colleague", "#people-results .person", func(s string) bool { return s == "田中 一郎総務課" })
	page.run("start a direct message", chromedp.Click(chromedp.CSS("#people-results .person")))
	page.until("the direct channel", "#conv-title", func(s string) bool { return s == "田中 一郎" })
	page.run("send directly", chromedp.SendKeys(chromedp.ID("input"), "資料を共有フォルダに置きました"), pressEnter(false))
	dm := receive(t, live, "the direct message")
	if dm.Text != "資料を共有フォルダに置きました" || dm.Channel == dept.ID {
		t.Fatalf("direct message as received: %+v", dm)
	}
	if _, err := tanaka.ChatMarkRead(ctx, dm.Channel, dm.Seq); err != nil {
		t.Fatal(err)
	}
	page.until("既読 on the direct message", "#messages .msg.mine .receipt", func(s string) bool { return s == "既読" })

	// The office page counts as the app for presence.
	if p, err := tanaka.ChatPresence(ctx, "", []string{"sato"}); err != nil || len(p.People) != 1 || p.People[0].State != api.PresenceOnline {
		t.Errorf("sato's presence with the page open: %+v, %v", p, err)
	}
	page.until("the colleague's presence", "#conv-presence", func(s string) bool { return s == "オンライン" })
	status := "午後は窓口"
	if _, err := tanaka.ChatSetStatus(ctx, api.ChatStatusRequest{Message: &status}); err != nil {
		t.Fatal(err)
	}
	page.until("the colleague's status, live", "#conv-presence", func(s string) bool { return s == "オンライン · 午後は窓口" })

	// English on request.
	page.run("English", chromedp.Click(chromedp.ID("lang")))
	page.until("English words", "#tab-chat", func(s string) bool { return s == "Chat" })
	page.until("English receipt", "#messages .msg.mine .receipt", func(s string) bool { return s == "Read" })
	page.screenshot("office-chat-en.png")
	page.run("日本語", chromedp.Click(chromedp.ID("lang")))

	if e := page.errors(); e != "[]" {
		t.Errorf("the page reported: %s", e)
	}

	// Signing out forgets the sign-in and closes the socket.
	page.run("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))
	waitPresence(t, tanaka, "sato", api.PresenceOffline)
	if got := page.text("#channels .channel"); got != "" {
		t.Errorf("after sign-out the page still lists %q", got)
	}
	noTokensIn(t, logs.String())
}

func waitRead(t *testing.T, s *brokertest.Session, channel, user string, seq int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := s.ChatReceipts(context.Background(), channel)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range r.Reads {
			if x.User == user && x.Seq >= seq {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's read marker in %s never reached %d: %+v", user, channel, seq, r.Reads)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitPresence(t *testing.T, s *brokertest.Session, user, state string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, err := s.ChatPresence(context.Background(), "", []string{user})
		if err == nil && len(p.People) == 1 && p.People[0].State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's presence: %+v, %v, want %s", user, p, err, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2EOfficeChatPageSupervisor: the section head at their office PC
// sees today's section (who teleworks, is connected, started when and
// where) and the requests waiting, approves one with a comment and
// declines another, in the office page.
func TestE2EOfficeChatPageSupervisor(t *testing.T) {
	logs := logBuffer(t)
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(wed1000)), brokertest.WithLog(logs))
	ctx := context.Background()
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	itDept := "情報政策課"
	if _, err := b.Services.Auth.UpdateUser(ctx, "test", "it-admin", api.UpdateUserRequest{Department: &itDept}); err != nil {
		t.Fatal(err)
	}
	suzuki := person(t, b, "suzuki", "鈴木 誠", "スズキ マコト", "総務課", api.RoleStaff, api.RoleSupervisor)
	person(t, b, "tanaka", "田中 一郎", "タナカ イチロウ", "総務課")
	person(t, b, "yamamoto", "山本 さくら", "ヤマモト サクラ", "総務課")
	person(t, b, "kobayashi", "小林 健", "コバヤシ ケン", "総務課")
	if _, err := it.SetTeleworkPolicy(ctx, api.TeleworkPolicy{Department: "総務課", Mode: api.TeleworkApproval}); err != nil {
		t.Fatal(err)
	}

	// 田中 teleworks today, approved, connected from home since 09:00.
	port := brokertest.OfficePC(t, brokertest.Echo)
	if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{ID: "pc-tanaka", Name: "田中のPC", Address: "127.0.0.1",
		RDPPort: port, MAC: "02:00:00:00:00:01", WakeAddr: "127.0.0.1", UserID: "tanaka"}); err != nil {
		t.Fatal(err)
	}
	tanakaUser, err := b.Services.Auth.GetUser(ctx, "tanaka")
	if err != nil {
		t.Fatal(err)
	}
	suzukiUser, err := b.Services.Auth.GetUser(ctx, "suzuki")
	if err != nil {
		t.Fatal(err)
	}
	today := wed1000.Format("2006-01-02")
	r, err := b.Services.Telework.Request(ctx, *tanakaUser, api.TeleworkRequestCreate{Dates: []string{today}, Reason: api.ReasonBCP})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Services.Telework.Decide(ctx, *suzukiUser, r.ID, api.TeleworkDecision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	sl, err := b.Services.Slots.Acquire(ctx, slots.Holder{UserID: "tanaka", SessionID: "sess-tanaka", DeviceID: "dev-tanaka"}, "laptop")
	if err != nil || sl.State != api.SlotGranted {
		t.Fatalf("tanaka's slot: %+v, %v", sl, err)
	}
	if _, err := b.Services.Telework.StartWork(ctx, *tanakaUser, api.TeleworkWorkStart{Place: api.PlaceHome}); err != nil {
		t.Fatal(err)
	}

	// Two requests wait: 山本's for today (a sick child), 小林's for two days.
	yamamoto, err := b.Services.Auth.GetUser(ctx, "yamamoto")
	if err != nil {
		t.Fatal(err)
	}
	sick, err := b.Services.Telework.Request(ctx, *yamamoto, api.TeleworkRequestCreate{Dates: []string{today}, Reason: api.ReasonChildcare,
		Note: "子どもが発熱したため、自宅で勤務します。"})
	if err != nil {
		t.Fatal(err)
	}
	kobayashi, err := b.Services.Auth.GetUser(ctx, "kobayashi")
	if err != nil {
		t.Fatal(err)
	}
	care, err := b.Services.Telework.Request(ctx, *kobayashi, api.TeleworkRequestCreate{Dates: []string{"2026-06-04", "2026-06-05"},
		Reason: api.ReasonCare, Half: api.HalfAfternoon})
	if err != nil {
		t.Fatal(err)
	}

	page := startBrowser(t)
	page.signIn(b, suzuki)
	page.run("open the section", chromedp.WaitVisible(chromedp.ID("tab-super")), chromedp.Click(chromedp.ID("tab-super")),
		chromedp.WaitVisible(chromedp.ID("super")))
	row := `#section-rows tr[data-user="tanaka"] td`
	page.until("田中's day", row, func(s string) bool {
		return s == "田中 一郎|テレワーク中|終日|接続中|10:00|—|自宅|0時間0分|終了未記録"
	})
	page.until("山本's day", `#section-rows tr[data-user="yamamoto"] td`, func(s string) bool {
		return s == "山本 さくら|オフライン|—|—|—|—|—|—|"
	})
	// The supervisor's own page counts as online.
	page.until("the supervisor online", `#section-rows tr[data-user="suzuki"] td.state`, func(s string) bool { return s == "オンライン" })
	sickSel := fmt.Sprintf(`#pending .request[data-id=%q]`, sick.ID)
	careSel := fmt.Sprintf(`#pending .request[data-id=%q]`, care.ID)
	page.until("the sick child's request", sickSel+" .req-head", func(s string) bool {
		return s == "山本 さくら2026年6月3日（水）育児当日申請"
	})
	page.until("the care request", careSel+" .req-head", func(s string) bool {
		return s == "小林 健2026年6月4日（木）、2026年6月5日（金）午後介護"
	})
	page.run("comment", chromedp.SendKeys(chromedp.CSS(sickSel+" textarea"), "お大事にしてください"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).dataset.drawn = "before"`, sickSel+" textarea")))
	// The view is drawn again while the comment is being typed (田中 ends
	// work: telework.work reaches the page): the comment stays.
	if _, err := b.Services.Telework.EndWork(ctx, *tanakaUser); err != nil {
		t.Fatal(err)
	}
	redrawn := fmt.Sprintf(`(() => { const c = document.querySelector(%q); return !!c && c.dataset.drawn !== "before" && c.value === "お大事にしてください"; })()`, sickSel+" textarea")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if ok, err := eval[bool](page, redrawn); err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pending request was not drawn again with its comment kept: %s", page.text(sickSel+" textarea"))
		}
	}
	page.screenshot("office-supervisor-ja.png")

	page.run("approve", chromedp.Click(chromedp.CSS(sickSel+" button.approve")))
	page.until("one request left", "#pending .request .req-head .name", func(s string) bool { return s == "小林 健" })
	page.run("decline", chromedp.SendKeys(chromedp.CSS(careSel+" textarea"), "6月5日は課内会議があります"),
		chromedp.Click(chromedp.CSS(careSel+" button.decline")))
	page.until("none left", "#pending .request", func(s string) bool { return s == "" })
	page.run("nothing waits", chromedp.WaitVisible(chromedp.ID("pending-none")))
	if got := page.text("#pending-none"); got != "承認待ちの申請はありません。" {
		t.Errorf("with nothing waiting the page says %q", got)
	}

	mine, err := b.Services.Telework.Mine(ctx, *yamamoto)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]api.TeleworkRequest{}
	for _, x := range mine.Requests {
		got[x.ID] = x
	}
	if x := got[sick.ID]; x.State != api.RequestApproved || x.DecidedBy != "suzuki" || x.Comment != "お大事にしてください" {
		t.Errorf("山本's request after approval: %+v", x)
	}
	theirs, err := b.Services.Telework.Mine(ctx, *kobayashi)
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs.Requests) != 1 || theirs.Requests[0].State != api.RequestDeclined || theirs.Requests[0].Comment != "6月5日は課内会議があります" {
		t.Errorf("小林's request after declining: %+v", theirs.Requests)
	}
	// 山本 now teleworks today: the section says so.
	page.until("山本 planned", `#section-rows tr[data-user="yamamoto"] td`, func(s string) bool {
		return strings.HasPrefix(s, "山本 さくら|オフライン|終日|")
	})
	// A new request reaches the open view by itself (telework.pending on
	// the socket), without a reload.
	next, err := b.Services.Telework.Request(ctx, *yamamoto, api.TeleworkRequestCreate{Dates: []string{"2026-06-08"}, Reason: api.ReasonChildcare})
	if err != nil {
		t.Fatal(err)
	}
	page.until("the new request, live", fmt.Sprintf(`#pending .request[data-id=%q] .req-head`, next.ID), func(s string) bool {
		return s == "山本 さくら2026年6月8日（月）育児"
	})
	page.screenshot("office-supervisor-decided-ja.png")
	if e := page.errors(); e != "[]" {
		t.Errorf("the page reported: %s", e)
	}
	noTokensIn(t, logs.String())
}

// TestE2EOfficeChatPageReconnect: the line between the office browser
// and the broker is cut again and again, sometimes held down while a
// colleague writes and while the page's user types; after each return
// the page shows every message exactly once, in order, and what was
// typed offline is stored once.
func TestE2EOfficeChatPageReconnect(t *testing.T) {
	logs := logBuffer(t)
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(wed1000)), brokertest.WithLog(logs))
	ctx := context.Background()
	sato := person(t, b, "sato", "佐藤 花子", "サトウ ハナコ", "総務課")
	tanakaU := person(t, b, "tanaka", "田中 一郎", "タナカ イチロウ", "総務課")
	tanaka := b.Login(t, tanakaU)
	chans, err := tanaka.ChatChannels(ctx)
	if err != nil || len(chans.Channels) == 0 {
		t.Fatalf("channels: %+v, %v", chans, err)
	}
	dept := chans.Channels[0].ID
	ln := newLine(t, b.URL)
	page := startBrowser(t)
	page.signInAt(ln.URL(), b, sato)
	page.run("open the channel", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#channels .channel[data-id=%q]`, dept))))
	connected := func(what string) {
		page.until(what, "#conn", func(s string) bool { return s == "接続中" })
	}
	connected("connected at first")

	rng := mrand.New(mrand.NewPCG(13, 18))
	sent, typed := 0, 0
	send := func(n int) {
		for range n {
			sent++
			if _, err := tanaka.ChatSend(ctx, dept, api.ChatSendRequest{Key: fmt.Sprintf("k%d", sent), Text: fmt.Sprintf("連絡 %d 件目", sent)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := range 10 {
		send(1 + rng.IntN(4))
		if round%2 == 0 {
			// Down for a while: a colleague writes, the user types.
			ln.cut(true)
			page.until("the page notices", "#conn", func(s string) bool { return s == "再接続しています…" })
			send(2 + rng.IntN(6))
			typed++
			page.run("type offline", chromedp.SendKeys(chromedp.ID("input"), fmt.Sprintf("圏外で入力 %d", typed)), pressEnter(false))
			page.until("shown as waiting", "#messages .msg.pending .state", func(s string) bool { return strings.Contains(s, "送信") })
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
			ln.up()
		} else {
			// A blip in the middle of a burst.
			// The blip ends within its round: one that came late would
			// fall into the next round's outage.
			after := time.Duration(rng.IntN(30)) * time.Millisecond
			blipped := make(chan struct{})
			go func() { time.Sleep(after); ln.cut(false); close(blipped) }()
			send(3 + rng.IntN(5))
			<-blipped
		}
	}
	connected("connected at the end")

	// What the broker holds, in order, and what the page shows, once the
	// page's outbox has delivered what was typed offline.
	held := func() ([]int64, map[string]int) {
		var seqs []int64
		texts := map[string]int{}
		for after := int64(0); ; {
			h, err := tanaka.ChatAfter(ctx, dept, after, 500)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range h.Messages {
				seqs = append(seqs, m.Seq)
				texts[m.Text]++
				after = m.Seq
			}
			if !h.More {
				return seqs, texts
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		want, texts := held()
		got, err := eval[[]int64](page, `[...document.querySelectorAll("#messages .msg[data-seq]")].map(e => Number(e.dataset.seq))`)
		if err != nil {
			t.Fatal(err)
		}
		pending := page.text("#messages .msg.pending")
		if len(want) > sent+typed {
			t.Fatalf("the channel holds %d messages, more than the %d sent and %d typed", len(want), sent, typed)
		}
		if len(want) == sent+typed && slices.Equal(got, want) && pending == "" {
			for i := 1; i <= typed; i++ {
				if n := texts[fmt.Sprintf("圏外で入力 %d", i)]; n != 1 {
					t.Errorf("typed offline message %d stored %d times", i, n)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page shows %v (pending %q), the broker holds %v (%d sent, %d typed; the page: %s)",
				got, pending, want, sent, typed, page.glimpse())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if e := page.errors(); e != "[]" {
		t.Errorf("the page reported: %s", e)
	}
	t.Logf("%d messages from the colleague and %d typed offline over 10 cuts, each shown once, in order", sent, typed)

	// Past the access token's life the page refreshes with its device
	// key and goes on: a send is answered, and after a cut the socket
	// comes back with the new token. The browser's clock moves with the
	// broker's (the page stamps its proof by the broker's time).
	b.Clock.Advance(auth.AccessTTL + time.Minute)
	if _, err := eval[bool](page, fmt.Sprintf(`(() => { const real = Date.now; Date.now = () => real() + %d; return true; })()`,
		(auth.AccessTTL+time.Minute).Milliseconds())); err != nil {
		t.Fatal(err)
	}
	tanaka = b.Login(t, tanakaU) // its own session ended with the clock's move too
	page.run("send after expiry", chromedp.SendKeys(chromedp.ID("input"), "期限切れの後の送信"), pressEnter(false))
	page.until("sent after expiry", "#messages .msg.mine:not(.pending) .text", func(s string) bool { return strings.HasSuffix(s, "|期限切れの後の送信") })
	if _, texts := held(); texts["期限切れの後の送信"] != 1 {
		t.Errorf("the message sent after expiry is stored %d times", texts["期限切れの後の送信"])
	}
	hellos, err := eval[int](page, `window.office.hellos`)
	if err != nil {
		t.Fatal(err)
	}
	ln.cut(false)
	page.until("a new socket", "#conn", func(string) bool {
		n, err := eval[int](page, `window.office.hellos`)
		return err == nil && n > hellos
	})
	connected("connected again with the refreshed token")
	late, err := tanaka.ChatSend(ctx, dept, api.ChatSendRequest{Key: "late", Text: "更新後も届きます"})
	if err != nil {
		t.Fatal(err)
	}
	page.until("live after the refresh", "#messages .msg .text", func(s string) bool { return strings.HasSuffix(s, "|"+late.Text) })

	// IT ends the sign-in: the page goes back to sign-in and says why.
	if err := b.Services.Auth.EndUserSessions(ctx, "it-admin", "sato"); err != nil {
		t.Fatal(err)
	}
	page.run("signed out by IT", chromedp.WaitVisible(chromedp.ID("signin")))
	if got := page.text("#signin-error"); !strings.Contains(got, "サインインが終了しました") {
		t.Errorf("after IT ended the sign-in the page says %q", got)
	}
	noTokensIn(t, logs.String())
}

// TestE2EOfficeChatPageFirstSignIn: a member of staff new to Zaitaku
// signs in at the office with the temporary password IT gave them: the
// page takes them through the forced password change and the one-time
// code enrollment (the key typed into an authenticator; the test
// computes its code from the key the page shows), then into chat, where
// a long channel opens at its newest 100 messages and pages in the rest.
func TestE2EOfficeChatPageFirstSignIn(t *testing.T) {
	logs := logBuffer(t)
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(wed1000)), brokertest.WithLog(logs))
	ctx := context.Background()
	if _, err := b.Services.Auth.CreateUser(ctx, "test", api.CreateUserRequest{ID: "ito", Name: "伊藤 新", Kana: "イトウ アラタ",
		Department: "総務課", Roles: []api.Role{api.RoleStaff}}); err != nil {
		t.Fatal(err)
	}
	const temporary, chosen = "Kari-Pass-2026", "Sakura-Hashi-77"
	if err := b.Services.Auth.SetUserPassword(ctx, "test", "ito", temporary, true); err != nil {
		t.Fatal(err)
	}
	tanaka := b.Login(t, person(t, b, "tanaka", "田中 一郎", "タナカ イチロウ", "総務課"))
	chans, err := tanaka.ChatChannels(ctx)
	if err != nil || len(chans.Channels) == 0 {
		t.Fatalf("channels: %+v, %v", chans, err)
	}
	dept := chans.Channels[0].ID
	for i := 1; i <= 130; i++ {
		if _, err := tanaka.ChatSend(ctx, dept, api.ChatSendRequest{Key: fmt.Sprintf("k%d", i), Text: fmt.Sprintf("過去の連絡 %d", i)}); err != nil {
			t.Fatal(err)
		}
	}

	page := startBrowser(t)
	page.run("open the office page", chromedp.Navigate(b.URL+"/office"), chromedp.WaitVisible(chromedp.ID("staff-id")))
	page.run("sign in with the temporary password",
		chromedp.SendKeys(chromedp.ID("staff-id"), "ito"),
		chromedp.SendKeys(chromedp.ID("password"), temporary),
		chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.ID("setup-password")))
	if got := page.text("#pw-rules"); !strings.Contains(got, "10文字以上") {
		t.Errorf("the password rules shown: %q", got)
	}
	// A password the policy refuses is refused with the catalogue's words.
	page.run("a weak password", chromedp.SendKeys(chromedp.ID("pw-old"), temporary), chromedp.SendKeys(chromedp.ID("pw-new"), "short"),
		chromedp.Click(chromedp.CSS("#pw-form button")))
	refusal := page.until("the refusal", "#pw-error", func(s string) bool { return s != "" })
	if !strings.Contains(refusal, "パスワード") {
		t.Errorf("a weak password is refused with %q, want the catalogue's Japanese", refusal)
	}
	page.run("a good password", chromedp.SetValue(chromedp.ID("pw-old"), temporary), chromedp.SetValue(chromedp.ID("pw-new"), chosen),
		chromedp.Click(chromedp.CSS("#pw-form button")), chromedp.WaitVisible(chromedp.ID("setup-totp")))
	secret := page.text("#totp-secret")
	if len(secret) < 16 {
		t.Fatalf("the enrollment key shown: %q", secret)
	}
	code, err := auth.TOTPCode(secret, b.Now())
	if err != nil {
		t.Fatal(err)
	}
	page.run("confirm the code", chromedp.SendKeys(chromedp.ID("totp-code"), code), chromedp.Click(chromedp.CSS("#totp-form button")),
		chromedp.WaitVisible(chromedp.ID("app")))
	u, err := b.Services.Auth.GetUser(ctx, "ito")
	if err != nil || !u.TOTPEnrolled || u.MustChangePassword {
		t.Fatalf("after the first sign-in: %+v, %v", u, err)
	}

	page.run("open the channel", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#channels .channel[data-id=%q]`, dept))))
	count := func() int {
		n, err := eval[int](page, `document.querySelectorAll("#messages .msg[data-seq]").length`)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	page.until("the newest 100", "#messages .msg .text", func(s string) bool { return strings.HasPrefix(s, "過去の連絡 31|") })
	if n := count(); n != 100 {
		t.Errorf("opened with %d messages, want the newest 100", n)
	}
	page.run("older", chromedp.WaitVisible(chromedp.ID("older")), chromedp.Click(chromedp.ID("older")))
	page.until("all 130", "#messages .msg .text", func(s string) bool { return strings.HasPrefix(s, "過去の連絡 1|過去の連絡 2|") })
	if n := count(); n != 130 {
		t.Errorf("after paging in: %d messages, want 130", n)
	}
	page.run("nothing older", chromedp.WaitNotVisible(chromedp.ID("older")))
	if e := page.errors(); e != "[]" {
		t.Errorf("the page reported: %s", e)
	}
	noTokensIn(t, logs.String())
}

// TestE2EOfficeChatPageDeviceKey: the page's device key outlives the tab
// (IndexedDB), so the browser is one enrolled device: signing in again
// from it proves the key, adds no device, and is not held to the
// per-address sign-in limit that an office network behind one address
// would reach, while a sign-in without that key is.
func TestE2EOfficeChatPageDeviceKey(t *testing.T) {
	logs := logBuffer(t)
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(wed1000)), brokertest.WithLog(logs),
		brokertest.WithRateLimits("1/10m", "off", ""))
	ctx := context.Background()
	sato := person(t, b, "sato", "佐藤 花子", "サトウ ハナコ", "総務課")
	page := startBrowser(t)
	page.signIn(b, sato) // the first, unproven: the address's one sign-in
	page.run("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))

	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	req := api.LoginRequest{StaffID: "sato", Password: sato.Password, OTP: b.Code(t, sato),
		Device: api.DeviceInfo{Name: "unknown", OS: "linux", PublicKey: stranger.Public().(ed25519.PublicKey)}}
	_, err := b.Client(t).Login(ctx, brokertest.Prove(req, stranger, b.Now()))
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests {
		t.Fatalf("a sign-in without the page's key after the limit: %v, want 429", err)
	}

	for i := range 3 {
		b.Clock.Advance(30 * time.Second) // a new one-time code
		page.run("open the page", chromedp.Navigate("about:blank"), chromedp.Navigate(b.URL+"/office"), chromedp.WaitVisible(chromedp.ID("staff-id")))
		// The browser's clock reads the broker's (a movable one here), as
		// the office PC's and the broker's agree in a city hall.
		skew := b.Now().Sub(time.Now()).Milliseconds()
		if _, err := eval[bool](page, fmt.Sprintf(`(() => { const real = Date.now; Date.now = () => real() + %d; return true; })()`, skew)); err != nil {
			t.Fatal(err)
		}
		page.run(fmt.Sprintf("sign in again (%d)", i+1),
			chromedp.SendKeys(chromedp.ID("staff-id"), sato.ID),
			chromedp.SendKeys(chromedp.ID("password"), sato.Password),
			chromedp.SendKeys(chromedp.ID("otp"), b.Code(t, sato)),
			chromedp.Click(chromedp.ID("signin-button")))
		page.until("signed in with the proven key", "#me", func(s string) bool {
			if s == "" {
				if msg := page.text("#signin-error"); msg != "" {
					t.Fatalf("sign-in %d refused: %s", i+1, msg)
				}
			}
			return s == "佐藤 花子（総務課）"
		})
		page.run("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))
	}
	devs, err := b.Services.Auth.ListDevices(ctx, "sato")
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].OS == "linux" {
		t.Errorf("sato's devices after four sign-ins from one browser: %+v, want the page's one", devs)
	}
	noTokensIn(t, logs.String())
}
