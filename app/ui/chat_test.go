package ui

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/broker/api"
)

// fakeChat stands in for *chat.Client: tests set channels and messages.
type fakeChat struct {
	mu       sync.Mutex // guards all fields
	online   bool
	channels []chat.Channel
	msgs     map[string][]chat.Message
	sent     []string // "channel|text|replyTo"
	viewed   []string
	subs     []func()
	notice   func(chat.Notice)
	hits     []chat.Hit
	people   []api.ChatPerson
	direct   string
	edits    []string // "channel|seq|text"
	deletes  []string // "channel|seq"
	muted    map[string]bool
	groups   []string // "name|members"
	renamed  []string // "channel|name"
	left     []string
	added    []string // "channel|members"
	presence map[string]api.ChatPresence
	members  map[string][]chat.Member
	status   []string
	looked   [][]string
	active   int
	fail     error // the next broker call fails so
}

var _ ChatClient = (*fakeChat)(nil)

func (f *fakeChat) Subscribe(fn func()) func() {
	f.mu.Lock()
	f.subs = append(f.subs, fn)
	f.mu.Unlock()
	return func() {}
}
func (f *fakeChat) OnNotice(fn func(chat.Notice)) { f.mu.Lock(); f.notice = fn; f.mu.Unlock() }
func (f *fakeChat) Online() bool                  { f.mu.Lock(); defer f.mu.Unlock(); return f.online }
func (f *fakeChat) Policy() api.ChatPolicy        { return api.ChatPolicy{MaxChars: 10, Receipts: true} }
func (f *fakeChat) Unread() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.channels {
		if !c.Muted {
			n += c.Unread
		}
	}
	return n
}
func (f *fakeChat) Channels() []chat.Channel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Channel(nil), f.channels...)
}
func (f *fakeChat) Messages(id string) []chat.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Message(nil), f.msgs[id]...)
}
func (f *fakeChat) HasOlder(string) bool { return false }
func (f *fakeChat) View(id string) {
	f.mu.Lock()
	f.viewed = append(f.viewed, id)
	for i := range f.channels {
		if f.channels[i].ID == id {
			f.channels[i].Unread = 0
		}
	}
	f.mu.Unlock()
}
func (f *fakeChat) Send(ch, text string, replyTo int64) error {
	if strings.TrimSpace(text) == "" {
		return chat.ErrEmpty
	}
	if len([]rune(text)) > 10 {
		return chat.ErrTooLong
	}
	f.mu.Lock()
	f.sent = append(f.sent, ch+"|"+text+"|"+strconv.FormatInt(replyTo, 10))
	f.msgs[ch] = append(f.msgs[ch], chat.Message{Channel: ch, Text: text, SenderName: "山田 太郎", Mine: true, State: chat.Pending,
		At: testNow, ReadBy: -1})
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) Retry(string)                        {}
func (f *fakeChat) Discard(string)                      {}
func (f *fakeChat) Older(context.Context, string) error { return nil }
func (f *fakeChat) Search(_ context.Context, q string) ([]chat.Hit, bool, error) {
	return f.hits, len([]rune(q)) < 3, nil
}
func (f *fakeChat) People(context.Context, string) ([]api.ChatPerson, error) { return f.people, nil }
func (f *fakeChat) Direct(_ context.Context, user string) (string, error) {
	f.mu.Lock()
	f.direct = user
	f.channels = append(f.channels, chat.Channel{ID: "dm-" + user, Kind: api.ChatDirect, Name: "佐藤 一郎"})
	f.mu.Unlock()
	return "dm-" + user, nil
}

func (f *fakeChat) call() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.fail
	f.fail = nil
	return err
}
func (f *fakeChat) Edit(_ context.Context, ch string, seq int64, text string) error {
	if err := f.call(); err != nil {
		return err
	}
	f.mu.Lock()
	f.edits = append(f.edits, ch+"|"+strconv.FormatInt(seq, 10)+"|"+text)
	for i, m := range f.msgs[ch] {
		if m.Seq == seq {
			f.msgs[ch][i].Text, f.msgs[ch][i].Edited = text, true
		}
	}
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) Delete(_ context.Context, ch string, seq int64) error {
	if err := f.call(); err != nil {
		return err
	}
	f.mu.Lock()
	f.deletes = append(f.deletes, ch+"|"+strconv.FormatInt(seq, 10))
	for i, m := range f.msgs[ch] {
		if m.Seq == seq {
			f.msgs[ch][i].Text, f.msgs[ch][i].Deleted, f.msgs[ch][i].Editable = "", true, false
		}
	}
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) SetMuted(_ context.Context, ch string, muted bool) error {
	if err := f.call(); err != nil {
		return err
	}
	f.mu.Lock()
	if f.muted == nil {
		f.muted = map[string]bool{}
	}
	f.muted[ch] = muted
	for i := range f.channels {
		if f.channels[i].ID == ch {
			f.channels[i].Muted = muted
		}
	}
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) CreateGroup(_ context.Context, name string, members []string) (string, error) {
	if err := f.call(); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.groups = append(f.groups, name+"|"+strings.Join(members, ","))
	id := "g-" + strconv.Itoa(len(f.groups))
	f.channels = append(f.channels, chat.Channel{ID: id, Kind: api.ChatGroup, Name: name, Members: append([]string{"k1024"}, members...)})
	f.mu.Unlock()
	f.changed()
	return id, nil
}
func (f *fakeChat) Rename(_ context.Context, ch, name string) error {
	if err := f.call(); err != nil {
		return err
	}
	f.mu.Lock()
	f.renamed = append(f.renamed, ch+"|"+name)
	for i := range f.channels {
		if f.channels[i].ID == ch {
			f.channels[i].Name = name
		}
	}
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) Leave(_ context.Context, ch string) error {
	if err := f.call(); err != nil {
		return err
	}
	f.mu.Lock()
	f.left = append(f.left, ch)
	for i := range f.channels {
		if f.channels[i].ID == ch {
			f.channels = append(f.channels[:i], f.channels[i+1:]...)
			break
		}
	}
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) AddMembers(_ context.Context, ch string, members []string) error {
	if err := f.call(); err != nil {
		return err
	}
	f.mu.Lock()
	f.added = append(f.added, ch+"|"+strings.Join(members, ","))
	for i := range f.channels {
		if f.channels[i].ID == ch {
			f.channels[i].Members = append(f.channels[i].Members, members...)
		}
	}
	for _, m := range members {
		for _, p := range f.people {
			if p.ID == m {
				f.members[ch] = append(f.members[ch], chat.Member{ID: p.ID, Name: p.Name})
			}
		}
	}
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) Members(ch string) []chat.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Member(nil), f.members[ch]...)
}
func (f *fakeChat) Presence(id string) (api.ChatPresence, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.presence[id]
	return p, ok
}
func (f *fakeChat) LookPresence(_ context.Context, ids []string) error {
	f.mu.Lock()
	f.looked = append(f.looked, ids)
	f.mu.Unlock()
	return nil
}
func (f *fakeChat) SetStatusMessage(_ context.Context, msg string) error {
	if err := f.call(); err != nil {
		return err
	}
	f.mu.Lock()
	f.status = append(f.status, msg)
	p := f.presence["k1024"]
	p.Status = msg
	f.presence["k1024"] = p
	f.mu.Unlock()
	f.changed()
	return nil
}
func (f *fakeChat) Me() string { return "k1024" }
func (f *fakeChat) Activity()  { f.mu.Lock(); f.active++; f.mu.Unlock() }

func (f *fakeChat) changed() {
	f.mu.Lock()
	subs := append([]func(){}, f.subs...)
	f.mu.Unlock()
	for _, fn := range subs {
		fn()
	}
}

// chatFixture: a department channel with a reply and 既読 2 across two
// days, a direct conversation with 既読, a group with unread messages.
func chatFixture() *fakeChat {
	day1 := time.Date(2026, 3, 31, 1, 5, 0, 0, time.UTC)
	day2 := testNow
	return &fakeChat{
		online: true,
		channels: []chat.Channel{
			{ID: "dept", Kind: api.ChatDepartment, Name: "財政課", Unread: 2},
			{ID: "dm", Kind: api.ChatDirect, Name: "佐藤 一郎", Unread: 1, Peer: "sato", Members: []string{"k1024", "sato"}},
			{ID: "grp", Kind: api.ChatGroup, Name: "予算要求チーム", Unread: 3},
		},
		presence: map[string]api.ChatPresence{
			"k1024": {User: "k1024", Name: "山田 太郎", Department: "財政課", State: api.PresenceTelework},
			"sato":  {User: "sato", Name: "佐藤 一郎", Department: "財政課", State: api.PresenceMeeting, Status: "15時まで予算ヒアリング"},
		},
		members: map[string][]chat.Member{
			"dept": {
				{ID: "sato", Name: "佐藤 一郎", Presence: api.ChatPresence{State: api.PresenceMeeting, Status: "15時まで予算ヒアリング"}},
				{ID: "tanaka", Name: "田中 花子", Presence: api.ChatPresence{State: api.PresenceAway}},
				{ID: "k1024", Name: "山田 太郎", Presence: api.ChatPresence{State: api.PresenceTelework}},
				{ID: "suzuki", Name: "鈴木 次郎", Presence: api.ChatPresence{State: api.PresenceOffline}},
			},
		},
		msgs: map[string][]chat.Message{
			"dept": {
				{Channel: "dept", Seq: 1, Sender: "sato", SenderName: "佐藤 一郎", Text: "明日の窓口当番は誰ですか", At: day1, ReadBy: -1},
				{Channel: "dept", Seq: 2, Sender: "k1024", SenderName: "山田 太郎", Text: "私が担当します", At: day2, Mine: true, ReadBy: 2, Editable: true,
					Quote: &api.ChatQuote{Seq: 1, Sender: "sato", Text: "明日の窓口当番は誰ですか"}, QuoteName: "佐藤 一郎"},
			},
			"dm": {
				{Channel: "dm", Seq: 1, Sender: "k1024", SenderName: "山田 太郎", Text: "資料を送りました", At: day2, Mine: true, ReadBy: 1},
			},
		},
	}
}

func newChatUI(t *testing.T, fc *fakeChat) *UI {
	t.Helper()
	a := test.NewTempApp(t)
	c := &fakeClient{resume: true}
	u := New(a, Options{Version: "test", Lang: "ja", Preset: profile, Chat: fc,
		NewClient: func(Profile) (Client, error) { return c, nil }, Now: func() time.Time { return testNow }})
	u.async = func(f func()) { f() }
	u.every = 0
	u.Start()
	if u.screen != scrHome {
		t.Fatalf("screen %v, want home", u.screen)
	}
	return u
}

func TestChatHomeButtonShowsUnread(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	b := findButton(t, u.win.Content(), "チャット（未読 6）")
	test.Tap(b)
	if u.chatWin == nil || !u.chatShown || u.chatCur != "dept" {
		t.Fatalf("chat window shown=%v on %q, want the department channel", u.chatShown, u.chatCur)
	}
	if fc.viewed[len(fc.viewed)-1] != "dept" {
		t.Errorf("viewed %q", fc.viewed)
	}
	// Viewing read it: the button and the tray say so once chat tells.
	fc.changed()
	findButton(t, u.win.Content(), "チャット（未読 4）")
	m := tray.WithChat(tray.Build(u.st, u.tr, testNow), fc.Unread(), u.tr)
	if m.Items[1].Label != "チャットを開く（未読 4）" {
		t.Errorf("tray chat line %q", m.Items[1].Label)
	}
}

func TestChatWindowShowsChannelsDaysReceiptsReplies(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.openChat("dept")
	w := u.chatWin
	w.Resize(fyne.NewSize(920, 640))
	root := w.Content()
	got := strings.Join(texts(root), " | ")
	for _, want := range []string{
		"財政課", "予算要求チーム", "佐藤 一郎", // the channel list
		"2026年3月31日（火）", "2026年4月1日（水）", // day separators
		"01:05", "08:30", // times (the tests' zone is UTC)
		"明日の窓口当番は誰ですか", "佐藤 一郎: 明日の窓口当番は誰ですか", "私が担当します", // the message and the reply's quote
		"既読 2", // read by two in the channel
	} {
		if !strings.Contains(got, want) {
			t.Errorf("chat window lacks %q; shows %s", want, got)
		}
	}
	// The department channel is on screen, so read: no badge.
	if badges := badgeTexts(root); strings.Join(badges, ",") != "1,3" {
		t.Errorf("unread badges %q, want 1,3", badges)
	}
	// The direct conversation: 既読 without a count.
	u.selectChat("dm")
	got = strings.Join(texts(w.Content()), " | ")
	if !strings.Contains(got, "既読") || strings.Contains(got, "既読 1") {
		t.Errorf("direct conversation shows %s, want 既読", got)
	}
}

// badgeTexts are the unread counts drawn on the channel list.
func badgeTexts(o fyne.CanvasObject) []string {
	var out []string
	for _, c := range test.LaidOutObjects(o) {
		if t, ok := c.(*canvas.Text); ok && c.Visible() && t.Text != "" && strings.Trim(t.Text, "0123456789") == "" {
			out = append(out, t.Text)
		}
	}
	return out
}

func TestChatEnterSendsShiftEnterAddsLine(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.openChat("grp")
	in := u.chatScr.input
	u.chatWin.Canvas().Focus(in)
	test.Type(in, "一行目")
	in.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	in.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	in.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	test.Type(in, "二行目")
	if len(fc.sent) != 0 {
		t.Fatalf("sent before Enter: %q", fc.sent)
	}
	in.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(fc.sent) != 1 || fc.sent[0] != "grp|一行目\n二行目|0" {
		t.Fatalf("sent %q, want the two lines as one message", fc.sent)
	}
	if in.Text != "" {
		t.Errorf("input keeps %q after sending", in.Text)
	}
	if !containsText(u.chatWin.Content(), "送信待ち") {
		t.Errorf("the message sent is not shown as pending: %q", texts(u.chatWin.Content()))
	}
	// Too long for IT's limit (10 here): said, and kept in the input.
	test.Type(in, "とても長いメッセージです、本当に")
	in.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnter})
	if len(fc.sent) != 1 || !containsText(u.chatWin.Content(), "メッセージが長すぎます（10 文字まで）。") || in.Text == "" {
		t.Errorf("too long: sent %q, shows %q", fc.sent, texts(u.chatWin.Content()))
	}
}

func TestChatReplyQuotes(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.openChat("dept")
	var reply *widget.Button
	for _, c := range test.LaidOutObjects(u.chatWin.Content()) {
		if b, ok := c.(*widget.Button); ok && b.Text == "返信" && reply == nil {
			reply = b
		}
	}
	if reply == nil {
		t.Fatal("no reply button")
	}
	test.Tap(reply) // the first message: 佐藤's question
	if !containsText(u.chatWin.Content(), "佐藤 一郎 さんへの返信: 明日の窓口当番は誰ですか") {
		t.Fatalf("reply bar: %q", texts(u.chatWin.Content()))
	}
	test.Type(u.chatScr.input, "了解です")
	u.chatScr.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(fc.sent) != 1 || fc.sent[0] != "dept|了解です|1" {
		t.Errorf("sent %q, want a reply to seq 1", fc.sent)
	}
	if u.chatScr.replyBar.Visible() {
		t.Error("reply bar stays after sending")
	}
}

func TestChatOfflineBanner(t *testing.T) {
	fc := chatFixture()
	fc.online = false
	u := newChatUI(t, fc)
	u.openChat("dept")
	if !containsText(u.chatWin.Content(), "オフラインです。入力したメッセージは再接続後に順に送信されます。") {
		t.Errorf("offline: %q", texts(u.chatWin.Content()))
	}
}

func TestChatSearchOpensConversation(t *testing.T) {
	fc := chatFixture()
	fc.hits = []chat.Hit{{Message: chat.Message{Channel: "dept", Seq: 1, SenderName: "佐藤 一郎", Text: "上海市役所との打ち合わせ", At: testNow},
		ChannelName: "財政課", Spans: []api.ChatSpan{{Start: 2, End: 7}}}}
	u := newChatUI(t, fc)
	u.openChat("grp")
	test.Type(u.chatScr.search, "市役所との")
	u.chatScr.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	root := u.chatWin.Content()
	if !containsText(root, "「市役所との」の検索結果: 1 件") {
		t.Fatalf("results: %q", texts(root))
	}
	var rt *widget.RichText
	for _, c := range test.LaidOutObjects(root) {
		if r, ok := c.(*widget.RichText); ok && c.Visible() && r.String() == "上海市役所との打ち合わせ" {
			rt = r
		}
	}
	if rt == nil || len(rt.Segments) != 3 || rt.Segments[1].(*widget.TextSegment).Text != "市役所との" {
		t.Fatalf("highlighted hit: %+v", rt)
	}
	var open *widget.Button
	for _, c := range test.LaidOutObjects(u.chatScr.results) {
		if b, ok := c.(*widget.Button); ok && b.Text == "" {
			open = b
		}
	}
	test.Tap(open)
	if u.chatCur != "dept" || u.chatScr.showing {
		t.Errorf("after opening a hit: on %q, results shown %v", u.chatCur, u.chatScr.showing)
	}
}

func TestChatColleagueLookup(t *testing.T) {
	fc := chatFixture()
	fc.people = []api.ChatPerson{{ID: "sato", Name: "佐藤 一郎", Department: "税務課"}}
	u := newChatUI(t, fc)
	u.openChat("dept")
	test.Tap(findButton(t, u.chatWin.Content(), "同僚を探す"))
	l := u.people
	test.Type(l.query, "さとう")
	l.query.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	b := findButton(t, l.root, "佐藤 一郎（税務課）")
	test.Tap(b)
	if fc.direct != "sato" || u.chatCur != "dm-sato" {
		t.Errorf("direct with %q, on %q", fc.direct, u.chatCur)
	}
}

func TestChatEnglish(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.setLang(i18n.English)
	u.openChat("dept")
	got := strings.Join(texts(u.chatWin.Content()), " | ")
	for _, want := range []string{"Read by 2", "Tuesday, 31 March 2026", "Find a colleague"} {
		if !strings.Contains(got, want) {
			t.Errorf("English chat lacks %q: %s", want, got)
		}
	}
}

func TestChatClosesAtSignOut(t *testing.T) {
	fc := chatFixture()
	u := newChatUI(t, fc)
	u.openChat("dm")
	u.client.(*fakeClient).push(core.State{Phase: core.SignedOut, Online: true})
	if u.chatShown || u.chatCur != "" || fc.viewed[len(fc.viewed)-1] != "" {
		t.Errorf("after sign-out: shown %v on %q, last viewed %q", u.chatShown, u.chatCur, fc.viewed)
	}
	u.openChat("")
	if u.chatShown {
		t.Error("chat opens while signed out")
	}
}
