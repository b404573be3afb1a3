package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
)

// overlay is the dialog on top of the chat window.
func overlay(t *testing.T, u *UI) fyne.CanvasObject {
	t.Helper()
	o := u.chatWin.Canvas().Overlays().Top()
	if o == nil {
		t.Fatal("no dialog over the chat window")
	}
	return o
}

// entryIn is the first entry of a dialog.
func entryIn(t *testing.T, o fyne.CanvasObject) *widget.Entry {
	t.Helper()
	for _, c := range test.LaidOutObjects(o) {
		if e, ok := c.(*widget.Entry); ok {
			return e
		}
	}
	t.Fatal("no entry in the dialog")
	return nil
}

func TestChatEditAndDeleteOwnMessage(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.openChat("dept")
	root := u.chatWin.Content()
	// Only one's own message within the window offers 編集 and 削除.
	var edits int
	for _, c := range test.LaidOutObjects(root) {
		if b, ok := c.(*widget.Button); ok && b.Text == "編集" {
			edits++
		}
	}
	if edits != 1 {
		t.Fatalf("%d edit buttons, want 1 (own message only)", edits)
	}
	test.Tap(findButton(t, root, "編集"))
	in := u.chatScr.input
	if in.Text != "私が担当します" || !containsText(root, "メッセージを編集中: 私が担当します") || findButton(t, root, "保存") == nil {
		t.Fatalf("editing: input %q, shows %q", in.Text, texts(root))
	}
	in.SetText("私が午前を担当します")
	in.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(fc.edits) != 1 || fc.edits[0] != "dept|2|私が午前を担当します" || len(fc.sent) != 0 {
		t.Fatalf("edits %q, sent %q", fc.edits, fc.sent)
	}
	if in.Text != "" || u.chatScr.editBar.Visible() {
		t.Errorf("after saving: input %q, edit bar shown %v", in.Text, u.chatScr.editBar.Visible())
	}
	if !containsText(u.chatWin.Content(), "私が午前を担当します （編集済み）") {
		t.Errorf("edited message: %q", texts(u.chatWin.Content()))
	}
	// Stop editing: the input empties and sends again.
	test.Tap(findButton(t, u.chatWin.Content(), "編集"))
	test.Tap(findButton(t, u.chatWin.Content(), "編集をやめる"))
	if in.Text != "" || u.chatScr.editSeq != 0 || findButton(t, u.chatWin.Content(), "送信") == nil {
		t.Errorf("after stopping: %q %d", in.Text, u.chatScr.editSeq)
	}
	// Delete asks first, with the action's word on the button.
	test.Tap(findButton(t, u.chatWin.Content(), "削除"))
	d := overlay(t, u)
	if !containsText(d, "このメッセージを削除しますか？削除したことは相手にも表示されます。") {
		t.Errorf("delete dialog: %q", texts(d))
	}
	test.Tap(findButton(t, d, "削除"))
	if len(fc.deletes) != 1 || fc.deletes[0] != "dept|2" {
		t.Fatalf("deletes %q", fc.deletes)
	}
	if got := texts(u.chatWin.Content()); !containsText(u.chatWin.Content(), "（このメッセージは削除されました）") {
		t.Errorf("deleted message: %q", got)
	}
	// A failure of the line is said, not lost silently.
	fc.msgs["dept"][0].Mine, fc.msgs["dept"][0].Editable = true, true
	fc.fail = chat.ErrOffline
	u.chatScr.update(u.chatView())
	test.Tap(findButton(t, u.chatWin.Content(), "削除"))
	test.Tap(findButton(t, overlay(t, u), "削除"))
	if !containsText(overlay(t, u), "オフラインのためできませんでした。接続が戻ってからもう一度お試しください。") {
		t.Errorf("offline delete: %q", texts(overlay(t, u)))
	}
}

func TestChatMuteChannel(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.openChat("grp")
	fc.channels[2].Unread = 3 // new messages while it was read
	fc.changed()
	root := u.chatWin.Content()
	if strings.Join(badgeTexts(root), ",") != "2,1,3" {
		t.Fatalf("badges %q", badgeTexts(root))
	}
	test.Tap(findButton(t, root, "通知をオフ"))
	if !fc.muted["grp"] {
		t.Fatal("not muted")
	}
	// The muted channel: no badge, a muted mark, out of the totals.
	if strings.Join(badgeTexts(root), ",") != "2,1" {
		t.Errorf("badges after muting %q", badgeTexts(root))
	}
	findButton(t, root, "通知をオン")
	findButton(t, u.win.Content(), "チャット（未読 3）")
	test.Tap(findButton(t, root, "通知をオン"))
	if fc.muted["grp"] {
		t.Error("still muted")
	}
	findButton(t, u.win.Content(), "チャット（未読 6）")
}

func TestChatGroupCreateRenameLeave(t *testing.T) {
	fc := chatFixture()
	fc.people = []api.ChatPerson{{ID: "sato", Name: "佐藤 一郎", Department: "財政課"}, {ID: "tanaka", Name: "田中 花子", Department: "税務課"}}
	u := newChatUI(t, fc)
	u.openChat("dept")
	test.Tap(findButton(t, u.chatWin.Content(), "グループを作る"))
	g := u.group
	test.Tap(g.create)
	if !containsText(g.root, "グループ名を入力してください。") {
		t.Errorf("no name: %q", texts(g.root))
	}
	test.Type(g.name, "窓口応援")
	test.Tap(g.create)
	if !containsText(g.root, "メンバーを一人以上選んでください。") {
		t.Errorf("no members: %q", texts(g.root))
	}
	test.Type(g.query, "税")
	g.query.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	for _, c := range test.LaidOutObjects(g.root) {
		if ch, ok := c.(*widget.Check); ok {
			test.Tap(ch) // both
		}
	}
	if !containsText(g.root, "メンバー: 佐藤 一郎、田中 花子") {
		t.Errorf("chosen: %q", texts(g.root))
	}
	test.Tap(g.create)
	if len(fc.groups) != 1 || fc.groups[0] != "窓口応援|sato,tanaka" || u.chatCur != "g-1" {
		t.Fatalf("groups %q, on %q", fc.groups, u.chatCur)
	}
	root := u.chatWin.Content()
	if !containsText(root, "窓口応援") {
		t.Errorf("the new group is not shown: %q", texts(root))
	}
	test.Tap(findButton(t, root, "名前を変更"))
	d := overlay(t, u)
	e := entryIn(t, d)
	e.SetText("窓口応援（4月）")
	test.Tap(findButton(t, d, "OK"))
	if len(fc.renamed) != 1 || fc.renamed[0] != "g-1|窓口応援（4月）" || u.chatScr.title.Text != "窓口応援（4月）" {
		t.Fatalf("renamed %q, title %q", fc.renamed, u.chatScr.title.Text)
	}
	test.Tap(findButton(t, root, "グループを退出"))
	d = overlay(t, u)
	if !containsText(d, "「窓口応援（4月）」から退出しますか？これまでのメッセージはこの画面から見えなくなります。") {
		t.Errorf("leave dialog: %q", texts(d))
	}
	test.Tap(findButton(t, d, "グループを退出"))
	if len(fc.left) != 1 || fc.left[0] != "g-1" || u.chatCur != "" {
		t.Errorf("left %q, on %q", fc.left, u.chatCur)
	}
	// Department and direct channels cannot be renamed or left.
	u.selectChat("dept")
	for _, c := range test.LaidOutObjects(u.chatWin.Content()) {
		if b, ok := c.(*widget.Button); ok && b.Visible() && (b.Text == "名前を変更" || b.Text == "グループを退出") {
			t.Errorf("department channel offers %q", b.Text)
		}
	}
}

func TestChatPresenceAndStatus(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.openChat("dm")
	root := u.chatWin.Content()
	for _, want := range []string{"山田 太郎 · テレワーク中", "会議中 · 15時まで予算ヒアリング"} {
		if !containsText(root, want) {
			t.Errorf("lacks %q: %q", want, texts(root))
		}
	}
	// The direct channel's line has a dot in the meeting's colour.
	var dots int
	for _, c := range test.LaidOutObjects(root) {
		if ci, ok := c.(*canvas.Circle); ok && ci.Visible() && ci.FillColor == presenceColor(api.PresenceMeeting) {
			dots++
		}
	}
	if dots != 1 {
		t.Errorf("%d meeting dots, want the direct colleague's", dots)
	}
	// The department's members with their presence, counted under the
	// title and listed by the members button.
	u.selectChat("dept")
	if !containsText(u.chatWin.Content(), "会議中 1 · テレワーク中 1 · 離席中 1 · オフライン 1") {
		t.Errorf("department summary: %q", texts(u.chatWin.Content()))
	}
	test.Tap(findButton(t, u.chatWin.Content(), "メンバー（4 人）"))
	d := overlay(t, u)
	for _, want := range []string{"佐藤 一郎", "会議中 · 15時まで予算ヒアリング", "離席中", "テレワーク中", "オフライン"} {
		if !containsText(d, want) {
			t.Errorf("members lack %q: %q", want, texts(d))
		}
	}
	if len(fc.looked) != 1 || len(fc.looked[0]) != 4 {
		t.Errorf("presence asked for %q", fc.looked)
	}
	// One's own status message.
	test.Tap(findButton(t, d, "OK"))
	test.Tap(findButton(t, u.chatWin.Content(), "状態メッセージ"))
	d = overlay(t, u)
	entryIn(t, d).SetText("午後は窓口")
	test.Tap(findButton(t, d, "設定"))
	if len(fc.status) != 1 || fc.status[0] != "午後は窓口" {
		t.Fatalf("status %q", fc.status)
	}
	if !containsText(u.chatWin.Content(), "山田 太郎 · テレワーク中 · 午後は窓口") {
		t.Errorf("own line: %q", texts(u.chatWin.Content()))
	}
	// Typing is input for idle detection.
	before := fc.active
	test.Type(u.chatScr.input, "はい")
	if fc.active <= before {
		t.Error("typing in the chat window is not activity")
	}
}

func TestChatPresenceEnglish(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.setLang(i18n.English)
	u.openChat("dm")
	root := u.chatWin.Content()
	for _, want := range []string{"In a meeting · 15時まで予算ヒアリング", "Mute", "New group", "Status message"} {
		if !containsText(root, want) && findButtonText(root, want) == nil {
			t.Errorf("English chat lacks %q: %q", want, texts(root))
		}
	}
}

// findButtonText is the visible button with that text, or nil.
func findButtonText(root fyne.CanvasObject, text string) *widget.Button {
	for _, c := range test.LaidOutObjects(root) {
		if b, ok := c.(*widget.Button); ok && b.Text == text && b.Visible() {
			return b
		}
	}
	return nil
}

// TestTeleworkSectionShowsMeeting: the supervisor's section view says
// 会議中 of a member in a meeting (connected to their PC or not) and
// 離席中 of one idle, from chat's presence, asked for the section's staff;
// a presence frame redraws it.
func TestTeleworkSectionShowsMeeting(t *testing.T) {
	tw := supervisorView()
	st := readyState()
	st.Telework = tw
	fc := &fakeTelework{fakeClient: &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}, tw: tw}
	ch := chatFixture()
	ch.presence["k2001"] = api.ChatPresence{User: "k2001", State: api.PresenceMeeting}
	ch.presence["k2002"] = api.ChatPresence{User: "k2002", State: api.PresenceAway}
	a := &trayApp{App: test.NewTempApp(t)}
	u := New(a, Options{Lang: "ja", Preset: profile, Chat: ch,
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return testNow }})
	u.async, u.every = func(f func()) { f() }, 0
	u.win.Resize(fyne.NewSize(720, 800))
	u.Start()
	fc.push(st)
	test.Tap(u.home.telework)
	s := u.telework
	wantTexts(t, "section", s.section, "佐藤 花子", "会議中", "鈴木 一郎", "離席中")
	if len(ch.looked) == 0 || strings.Join(ch.looked[0], ",") != "k2001,k2003,k2002" {
		t.Errorf("presence asked for %q", ch.looked)
	}
	ch.mu.Lock()
	ch.presence["k2001"] = api.ChatPresence{User: "k2001", State: api.PresenceTelework}
	ch.mu.Unlock()
	ch.changed()
	if strings.Contains(joined(s.section), "会議中") || !strings.Contains(joined(s.section), "テレワーク中") {
		t.Errorf("after the meeting: %s", joined(s.section))
	}
}

// TestChatGroupAddMembers: a group's header offers メンバーを追加; its
// members show ticked and fixed among the colleagues found, the ones
// ticked are added and the header counts them; a failure is said in the
// dialog, which stays; department and direct channels do not offer it.
func TestChatGroupAddMembers(t *testing.T) {
	fc := chatFixture()
	fc.channels[2].Members = []string{"k1024", "sato"}
	fc.members["grp"] = []chat.Member{{ID: "k1024", Name: "山田 太郎"}, {ID: "sato", Name: "佐藤 一郎"}}
	fc.people = []api.ChatPerson{{ID: "sato", Name: "佐藤 一郎", Department: "財政課"}, {ID: "tanaka", Name: "田中 花子", Department: "税務課"}}
	u := newChatUI(t, fc)
	u.openChat("grp")
	root := u.chatWin.Content()
	findButton(t, root, "メンバー（2 人）")
	test.Tap(findButton(t, root, "メンバーを追加"))
	d := overlay(t, u)
	if !containsText(d, "予算要求チーム にメンバーを追加") {
		t.Errorf("dialog: %q", texts(d))
	}
	g := u.group
	if g.name != nil {
		t.Error("adding asks for a group name")
	}
	test.Tap(g.create)
	if !containsText(g.root, "メンバーを一人以上選んでください。") || len(fc.added) != 0 {
		t.Errorf("nobody chosen: %q, added %q", texts(g.root), fc.added)
	}
	test.Type(g.query, "課")
	g.query.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	var checks []*widget.Check
	for _, c := range test.LaidOutObjects(g.root) {
		if ch, ok := c.(*widget.Check); ok {
			checks = append(checks, ch)
		}
	}
	if len(checks) != 2 || checks[0].Text != "佐藤 一郎（財政課）（参加済み）" || !checks[0].Checked || !checks[0].Disabled() ||
		checks[1].Text != "田中 花子（税務課）" || checks[1].Checked {
		t.Fatalf("colleagues found: %q", texts(g.root))
	}
	test.Tap(checks[0]) // a member already: nothing happens
	test.Tap(checks[1])
	if !containsText(g.root, "追加する人: 田中 花子") {
		t.Errorf("chosen: %q", texts(g.root))
	}
	// The line fails first: said in the dialog, which stays.
	fc.fail = chat.ErrOffline
	test.Tap(g.create)
	if !containsText(g.root, "オフラインのためできませんでした。接続が戻ってからもう一度お試しください。") || len(fc.added) != 0 {
		t.Fatalf("offline add: %q, added %q", texts(g.root), fc.added)
	}
	test.Tap(g.create)
	if len(fc.added) != 1 || fc.added[0] != "grp|tanaka" {
		t.Fatalf("added %q", fc.added)
	}
	if o := u.chatWin.Canvas().Overlays().Top(); o != nil {
		t.Errorf("the dialog stays after adding: %q", texts(o))
	}
	findButton(t, u.chatWin.Content(), "メンバー（3 人）")
	// Only a group takes members by hand.
	for _, id := range []string{"dept", "dm"} {
		u.selectChat(id)
		for _, c := range test.LaidOutObjects(u.chatWin.Content()) {
			if b, ok := c.(*widget.Button); ok && b.Visible() && b.Text == "メンバーを追加" {
				t.Errorf("%s offers メンバーを追加", id)
			}
		}
	}
}
