package office_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// pressKey presses one key without text (Escape, ArrowUp) as a keyboard
// does: key-down, then key-up.
func pressKey(key string, code int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeRawKeyDown, Key: key, Code: key,
			WindowsVirtualKeyCode: code, NativeVirtualKeyCode: code}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := down
		up.Type = input.DispatchKeyEventTypeKeyUp
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
		return err
	})
}

// open reports whether a dialog of the page is shown.
func (b *browser) open(id string) bool {
	b.t.Helper()
	v, err := eval[bool](b, fmt.Sprintf(`document.getElementById(%q).open`, id))
	if err != nil {
		b.t.Fatalf("dialog %s: %v", id, err)
	}
	return v
}

// nextOf waits for the next chat frame of a kind (message, edit, delete).
func nextOf(t *testing.T, c <-chan api.ChatMessage, kind, what string) api.ChatMessage {
	t.Helper()
	for {
		m := receive(t, c, what)
		if m.Kind == kind {
			return m
		}
	}
}

// TestE2EOfficeChatPageManage: what the app's chat window offers beyond
// messages, at the office PC, by keyboard where a keyboard is the way:
// edit one's message (its 編集 button, and ↑ in the empty input) and
// save it with Enter, stop with Esc, delete after a question; make a
// group with a colleague found by the reading of their name, add a
// member of another section to it, mute it (no badge, out of the tab's
// count), set one's status message and 離席中, and leave the group. A
// message past IT's edit window, which the page still offered to edit,
// is refused in the catalogue's words and its buttons go. Each change
// is what the broker and the colleague's client see.
func TestE2EOfficeChatPageManage(t *testing.T) {
	logs := logBuffer(t)
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(wed1000)), brokertest.WithLog(logs))
	ctx := context.Background()
	satoU := person(t, b, "sato", "佐藤 花子", "サトウ ハナコ", "総務課")
	tanaka := b.Login(t, person(t, b, "tanaka", "田中 一郎", "タナカ イチロウ", "総務課"))
	person(t, b, "suzuki", "鈴木 次郎", "スズキ ジロウ", "税務課")
	admin := b.Login(t, person(t, b, "it-admin", "情報 管理", "ジョウホウ カンリ", "情報政策課", api.RoleAdmin))
	live := frames(t, tanaka)
	chans, err := tanaka.ChatChannels(ctx)
	if err != nil || len(chans.Channels) == 0 {
		t.Fatalf("tanaka's channels: %+v, %v", chans, err)
	}
	dept := chans.Channels[0].ID
	// sato's own view of the broker (another device of hers), to read
	// what only she can: her mute.
	satoAPI := b.Login(t, satoU)
	b.Clock.Advance(30 * time.Second) // a one-time code of its own for the page

	page := startBrowser(t)
	page.signIn(b, satoU)
	page.until("her own line", "#self-line", func(s string) bool { return s == "佐藤 花子 · オンライン" })
	page.run("open the section's channel", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#channels .channel[data-id=%q]`, dept))))
	page.until("the conversation", "#conv-title", func(s string) bool { return s == "総務課" })
	page.until("the members button", "#members-open", func(s string) bool { return s == "メンバー（2 人）" })

	// Edit with the message's own button, save with Enter.
	page.run("send", chromedp.SendKeys(chromedp.ID("input"), "会議は14時から会議室Aです"), pressEnter(false))
	first := nextOf(t, live, api.ChatKindMessage, "the first message")
	mine := fmt.Sprintf(`#messages .msg[data-seq="%d"]`, first.Seq)
	page.until("its edit button", mine+" button.edit", func(s string) bool { return s == "編集" })
	page.run("edit it", chromedp.Click(chromedp.CSS(mine+" button.edit")), chromedp.WaitVisible(chromedp.ID("editing")))
	if v, _ := eval[string](page, `document.getElementById("input").value`); v != first.Text {
		t.Errorf("editing puts %q in the input, want the message", v)
	}
	if got := page.text("#editing-text") + "|" + page.text("#send") + "|" + page.text("#enter-hint"); got != "メッセージを編集中: "+first.Text+"|保存|Enter で保存、Esc で編集をやめる" {
		t.Errorf("while editing the page says %q", got)
	}
	page.run("save the edit", chromedp.SetValue(chromedp.ID("input"), "会議は14時から会議室Bです"), chromedp.Focus(chromedp.ID("input")), pressEnter(false))
	edit := nextOf(t, live, api.ChatKindEdit, "the edit")
	if edit.Target != first.Seq || edit.Text != "会議は14時から会議室Bです" || edit.Sender != "sato" {
		t.Fatalf("the edit as the colleague received it: %+v", edit)
	}
	page.until("the edited message", mine+" .text", func(s string) bool { return s == edit.Text })
	page.until("edited mark", mine+" .edited", func(s string) bool { return s == "（編集済み）" })
	if hidden, _ := eval[bool](page, `document.getElementById("editing").hidden`); !hidden || page.text("#send") != "送信" {
		t.Errorf("after saving the page is still editing (button %q)", page.text("#send"))
	}

	// ↑ in the empty input edits the newest; Esc stops; delete asks first.
	page.run("send a slip", chromedp.SendKeys(chromedp.ID("input"), "誤って送信しました"), pressEnter(false))
	slip := nextOf(t, live, api.ChatKindMessage, "the slip")
	slipSel := fmt.Sprintf(`#messages .msg[data-seq="%d"]`, slip.Seq)
	page.until("the slip on the page", slipSel+" .text", func(s string) bool { return s == slip.Text })
	page.run("↑ edits it", chromedp.Focus(chromedp.ID("input")), pressKey("ArrowUp", 38), chromedp.WaitVisible(chromedp.ID("editing")))
	if v, _ := eval[string](page, `document.getElementById("input").value`); v != slip.Text {
		t.Errorf("↑ put %q in the input, want the newest message", v)
	}
	page.run("Esc stops", pressKey("Escape", 27), chromedp.WaitNotVisible(chromedp.ID("editing")))
	if v, _ := eval[string](page, `document.getElementById("input").value`); v != "" {
		t.Errorf("after Esc the input keeps %q", v)
	}
	page.run("delete it", chromedp.Click(chromedp.CSS(slipSel+" button.delete")), chromedp.WaitVisible(chromedp.ID("dlg-confirm")))
	if got := page.text("#confirm-text"); got != "このメッセージを削除しますか？削除したことは相手にも表示されます。" {
		t.Errorf("the question: %q", got)
	}
	page.run("confirm", chromedp.Click(chromedp.ID("confirm-ok")), chromedp.WaitNotVisible(chromedp.ID("dlg-confirm")))
	del := nextOf(t, live, api.ChatKindDelete, "the delete")
	if del.Target != slip.Seq {
		t.Fatalf("deleted %+v, want seq %d", del, slip.Seq)
	}
	page.until("deleted on the page", slipSel+" .text", func(s string) bool { return s == "このメッセージは削除されました" })
	if got := page.text(slipSel + " button"); got != "" {
		t.Errorf("a deleted message offers %q", got)
	}

	// A group: a name, a colleague found by reading; Enter in the search
	// looks up and does not make the group.
	page.run("new group", chromedp.Click(chromedp.ID("group-new")), chromedp.WaitVisible(chromedp.ID("dlg-group")))
	if got := page.text("#group-title"); got != "グループを作る" {
		t.Errorf("dialog title %q", got)
	}
	page.run("no name", chromedp.Focus(chromedp.ID("group-name")), pressEnter(false))
	page.until("name needed", "#group-error", func(s string) bool { return s == "グループ名を入力してください。" })
	page.run("a name, nobody", chromedp.SendKeys(chromedp.ID("group-name"), "窓口応援"), pressEnter(false))
	page.until("members needed", "#group-error", func(s string) bool { return s == "メンバーを一人以上選んでください。" })
	page.run("look up たなか", chromedp.SendKeys(chromedp.ID("group-find"), "たなか"), pressEnter(false))
	page.until("found", "#group-results .pick", func(s string) bool { return s == "田中 一郎総務課" })
	if !page.open("dlg-group") {
		t.Fatal("Enter in the colleague search closed the dialog")
	}
	// Space ticks, as on any checkbox.
	page.run("tick", chromedp.Focus(chromedp.CSS(`#group-results input[data-id="tanaka"]`)), chromedp.KeyEvent(" "))
	page.until("chosen", "#group-chosen", func(s string) bool { return s == "メンバー: 田中 一郎" })
	page.run("create", chromedp.Click(chromedp.ID("group-save")), chromedp.WaitNotVisible(chromedp.ID("dlg-group")))
	page.until("the group opens", "#conv-title", func(s string) bool { return s == "窓口応援" })
	page.until("its members", "#members-open", func(s string) bool { return s == "メンバー（2 人）" })
	tl, err := tanaka.ChatChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	group := ""
	for _, c := range tl.Channels {
		if c.Kind == api.ChatGroup && c.Name == "窓口応援" {
			group = c.ID
		}
	}
	if group == "" {
		t.Fatalf("tanaka is not in the group: %+v", tl.Channels)
	}
	groupSel := fmt.Sprintf(`#channels .channel[data-id=%q]`, group)

	// Add a colleague of another section to it.
	page.run("members", chromedp.Click(chromedp.ID("members-open")), chromedp.WaitVisible(chromedp.ID("dlg-group")))
	page.until("the members listed", "#group-members .member .name", func(s string) bool { return s == "佐藤 花子（自分）|田中 一郎" })
	if got := page.text("#group-title") + "|" + page.text("#group-save"); got != "窓口応援 のメンバー|追加" {
		t.Errorf("the members dialog: %q", got)
	}
	page.run("look up すずき", chromedp.SendKeys(chromedp.ID("group-find"), "すずき"), pressEnter(false))
	page.until("found", "#group-results .pick", func(s string) bool { return s == "鈴木 次郎税務課" })
	page.run("look up たなか, already in", chromedp.SetValue(chromedp.ID("group-find"), "たなか"), chromedp.Focus(chromedp.ID("group-find")), pressEnter(false))
	page.until("already in", "#group-results .pick", func(s string) bool { return s == "田中 一郎総務課参加済み" })
	page.run("look up すずき again", chromedp.SetValue(chromedp.ID("group-find"), "すずき"), chromedp.Focus(chromedp.ID("group-find")), pressEnter(false))
	page.until("found", "#group-results .pick", func(s string) bool { return s == "鈴木 次郎税務課" })
	page.run("tick", chromedp.Click(chromedp.CSS(`#group-results input[data-id="suzuki"]`)))
	page.until("chosen", "#group-chosen", func(s string) bool { return s == "追加する人: 鈴木 次郎" })
	page.run("add", chromedp.Click(chromedp.ID("group-save")))
	page.until("added", "#group-chosen", func(s string) bool { return s == "追加しました: 鈴木 次郎" })
	page.until("three members", "#group-members .member .name", func(s string) bool { return s == "佐藤 花子（自分）|田中 一郎|鈴木 次郎" })
	page.until("the header counts three", "#members-open", func(s string) bool { return s == "メンバー（3 人）" })
	page.screenshot("office-chat-group-ja.png")
	if g, err := tanaka.ChatChannel(ctx, group); err != nil || !slices.Equal(g.Members, []string{"sato", "suzuki", "tanaka"}) {
		t.Errorf("the group's members at the broker: %+v, %v", g, err)
	}
	page.run("Esc closes the dialog", pressKey("Escape", 27), chromedp.WaitNotVisible(chromedp.ID("dlg-group")))

	// Mute it: a muted mark and no badge, out of the tab's count.
	page.run("mute", chromedp.Click(chromedp.ID("mute")))
	page.until("unmute offered", "#mute", func(s string) bool { return s == "通知をオン" })
	if l, err := satoAPI.ChatChannels(ctx); err != nil || !muted(l, group) {
		t.Errorf("the group is not muted at the broker: %+v, %v", l, err)
	}
	page.run("back to the section", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#channels .channel[data-id=%q]`, dept))))
	page.until("section open", "#conv-title", func(s string) bool { return s == "総務課" })
	if _, err := tanaka.ChatSend(ctx, group, api.ChatSendRequest{Key: "g1", Text: "窓口の応援、ありがとうございます"}); err != nil {
		t.Fatal(err)
	}
	nextOf(t, live, api.ChatKindMessage, "tanaka's group message")
	page.until("the muted group's line", groupSel, func(s string) bool { return s == "窓口応援通知オフ" })
	if title, _ := eval[string](page, `document.title`); title != "在宅 オフィス" {
		t.Errorf("a muted channel counts in the tab's title: %q", title)
	}

	// One's status: a message and 離席中.
	page.run("status", chromedp.Click(chromedp.ID("status-open")), chromedp.WaitVisible(chromedp.ID("dlg-status")))
	page.run("type it", chromedp.SendKeys(chromedp.ID("status-text"), "午後は窓口"), chromedp.Click(chromedp.ID("status-away")),
		chromedp.Focus(chromedp.ID("status-text")), pressEnter(false), chromedp.WaitNotVisible(chromedp.ID("dlg-status")))
	page.until("her own line", "#self-line", func(s string) bool { return s == "佐藤 花子 · 離席中 · 午後は窓口" })
	if p, err := tanaka.ChatPresence(ctx, "", []string{"sato"}); err != nil || len(p.People) != 1 ||
		p.People[0].State != api.PresenceAway || p.People[0].Status != "午後は窓口" {
		t.Errorf("sato as tanaka sees her: %+v, %v", p, err)
	}
	page.screenshot("office-chat-manage-ja.png")
	// Back at her desk; the message stays.
	page.run("status again", chromedp.Click(chromedp.ID("status-open")), chromedp.WaitVisible(chromedp.ID("dlg-status")))
	if v, _ := eval[string](page, `document.getElementById("status-text").value`); v != "午後は窓口" {
		t.Errorf("the dialog opens with %q", v)
	}
	page.run("here", chromedp.Click(chromedp.ID("status-here")), chromedp.Click(chromedp.ID("status-save")), chromedp.WaitNotVisible(chromedp.ID("dlg-status")))
	page.until("here again", "#self-line", func(s string) bool { return s == "佐藤 花子 · オンライン · 午後は窓口" })
	waitPresence(t, tanaka, "sato", api.PresenceOnline)

	// IT shortens the edit window to a minute; two minutes on, the page
	// (which read 60 at sign-in) still offers 編集, the broker refuses in
	// the catalogue's words, and the page takes the new window.
	one := 1
	if err := admin.Do(ctx, "PATCH", "/admin/v1/chat/policy", api.ChatPolicyUpdate{EditWindowMinutes: &one, Reason: "運用の見直し"}, nil); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(2 * time.Minute)
	page.run("edit an old message", chromedp.Click(chromedp.CSS(mine+" button.edit")), chromedp.WaitVisible(chromedp.ID("editing")),
		chromedp.SetValue(chromedp.ID("input"), "会議は15時からです"), chromedp.Focus(chromedp.ID("input")), pressEnter(false))
	page.until("refused", "#send-error", func(s string) bool {
		return strings.HasPrefix(s, "このメッセージは編集・削除できる期限を過ぎました。訂正は新しいメッセージで送ってください。")
	})
	page.until("no edit offered any more", "#messages .msg button.edit", func(s string) bool { return s == "" })
	if v, _ := eval[string](page, `document.getElementById("input").value`); v != "会議は15時からです" {
		t.Errorf("the refused correction is not kept to send anew: %q", v)
	}
	if h, err := tanaka.ChatAfter(ctx, dept, first.Seq, 100); err != nil || len(h.Messages) != 3 {
		t.Errorf("entries after the first: %+v, %v (want the edit, the slip, its delete)", h, err)
	}
	if _, err := eval[bool](page, `(() => { document.getElementById("input").value = ""; return true; })()`); err != nil {
		t.Fatal(err)
	}

	// English on request.
	page.run("English", chromedp.Click(chromedp.ID("lang")))
	page.until("English words", "#group-new", func(s string) bool { return s == "New group" })
	page.until("English own line", "#self-line", func(s string) bool { return s == "佐藤 花子 · Online · 午後は窓口" })
	page.until("English mute mark", groupSel, func(s string) bool { return s == "窓口応援Muted" })
	page.run("the group in English", chromedp.Click(chromedp.CSS(groupSel)))
	page.until("English tools", "#conv-tools", func(s string) bool {
		return strings.Contains(s, "Members (3)") && strings.Contains(s, "Unmute") && strings.Contains(s, "Leave group")
	})
	page.screenshot("office-chat-manage-en.png")
	page.run("日本語", chromedp.Click(chromedp.ID("lang")))

	// Leave the group, after a question; it goes from the list.
	page.run("leave", chromedp.Click(chromedp.ID("leave")), chromedp.WaitVisible(chromedp.ID("dlg-confirm")))
	if got := page.text("#confirm-text"); got != "「窓口応援」から退出しますか？これまでのメッセージはこの画面から見えなくなります。" {
		t.Errorf("the question: %q", got)
	}
	page.run("confirm", chromedp.Click(chromedp.ID("confirm-ok")), chromedp.WaitNotVisible(chromedp.ID("dlg-confirm")))
	page.until("the group gone", groupSel, func(s string) bool { return s == "" })
	if g, err := tanaka.ChatChannel(ctx, group); err != nil || slices.Contains(g.Members, "sato") {
		t.Errorf("after leaving: %+v, %v", g, err)
	}
	if e := page.errors(); e != "[]" {
		t.Errorf("the page reported: %s", e)
	}
	noTokensIn(t, logs.String())
}

func muted(l *api.ChatChannelList, id string) bool {
	for _, c := range l.Channels {
		if c.ID == id {
			return c.Muted
		}
	}
	return false
}
