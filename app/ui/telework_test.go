package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/broker/api"
)

// fakeTelework is a fakeClient that also teleworks: it notes each call
// and answers with err (nil: success, the view pushed again).
type fakeTelework struct {
	*fakeClient
	tmu      sync.Mutex
	requests []api.TeleworkRequestCreate
	err      error
	tw       *core.Telework
}

var _ Teleworker = (*fakeTelework)(nil)

func (f *fakeTelework) RefreshTelework(context.Context) { f.record("refresh") }

func (f *fakeTelework) RequestTelework(_ context.Context, req api.TeleworkRequestCreate) (*api.TeleworkRequest, error) {
	f.tmu.Lock()
	f.requests = append(f.requests, req)
	f.tmu.Unlock()
	f.record("request")
	if f.err != nil {
		return nil, f.err
	}
	return &api.TeleworkRequest{ID: "tw-new", State: api.RequestPending}, nil
}

func (f *fakeTelework) WithdrawTelework(_ context.Context, id string) error {
	f.record("withdraw " + id)
	return f.err
}

func (f *fakeTelework) DecideTelework(_ context.Context, id string, approve bool, comment string) error {
	verb := "decline"
	if approve {
		verb = "approve"
	}
	f.record(verb + " " + id + " " + comment)
	return f.err
}

func (f *fakeTelework) StartWork(_ context.Context, place string) error {
	f.record("start " + place)
	return f.err
}

func (f *fakeTelework) SetStandIn(_ context.Context, standIn, from, to string) error {
	f.record("standin " + standIn + " " + from + " " + to)
	return f.err
}

func (f *fakeTelework) EndWork(context.Context) error {
	f.record("end")
	return f.err
}

var jstZone = time.FixedZone("JST", 9*3600)

// staffView is a member of staff's telework on Wednesday 3 June 2026,
// in a department that needs approval: a same-day request waiting, an
// approved one to come, a declined one with the supervisor's comment.
func staffView() *core.Telework {
	return &core.Telework{
		Today: &api.TeleworkToday{Date: "2026-06-03",
			Policy: api.TeleworkPolicy{Department: "財政課", Mode: api.TeleworkApproval, HoursStart: "07:00", HoursEnd: "22:00"}},
		Mine: []api.TeleworkRequest{
			{ID: "tw-1", Kind: api.TeleworkDates, From: "2026-05-27", To: "2026-05-28", Dates: []string{"2026-05-27", "2026-05-28"},
				Reason: api.ReasonCare, State: api.RequestDeclined, Comment: "窓口繁忙のため別日でお願いします"},
			{ID: "tw-2", Kind: api.TeleworkDates, From: "2026-06-10", To: "2026-06-10", Dates: []string{"2026-06-10"},
				Half: api.HalfAfternoon, Reason: api.ReasonHealth, State: api.RequestApproved, Comment: "承知しました", StandIn: true},
			{ID: "tw-3", Kind: api.TeleworkDates, From: "2026-06-03", To: "2026-06-03", Dates: []string{"2026-06-03"},
				Reason: api.ReasonChildcare, Note: "子の発熱", SameDay: true, State: api.RequestPending},
		},
	}
}

// supervisorView adds the section and two requests to decide.
func supervisorView() *core.Telework {
	tw := staffView()
	tw.Approver = true
	at := func(h, m int) time.Time { return time.Date(2026, 6, 3, h, m, 0, 0, jstZone) }
	tw.Approvals = []api.TeleworkRequest{
		{ID: "tw-7", UserID: "k2001", UserName: "佐藤 花子", Kind: api.TeleworkDates, From: "2026-06-03", To: "2026-06-03",
			Dates: []string{"2026-06-03"}, Reason: api.ReasonChildcare, Note: "保育園から呼び出し", SameDay: true, State: api.RequestPending},
		{ID: "tw-8", UserID: "k2002", UserName: "鈴木 一郎", Kind: api.TeleworkPeriod, From: "2026-06-04", To: "2027-03-31",
			FiscalYear: 2026, Reason: api.ReasonCare, State: api.RequestPending},
	}
	tw.Section = &api.TeleworkSection{Date: "2026-06-03", Department: "財政課", Pending: tw.Approvals, Staff: []api.WorkDay{
		{UserID: "k2001", UserName: "佐藤 花子", Planned: true, Connected: true, Start: at(9, 2), Place: api.PlaceHome, Flags: []string{api.WorkFlagNoEnd}},
		{UserID: "k2003", UserName: "田中 次郎", Planned: true, Half: api.HalfMorning, Start: at(8, 31), End: at(12, 40),
			Place: api.PlaceSatellite, Flags: []string{api.WorkFlagOvertime}},
		{UserID: "k2002", UserName: "鈴木 一郎"},
	}}
	return tw
}

// newTeleworkUI signs in with tw as the telework view and opens the
// telework screen from the home screen's button.
func newTeleworkUI(t *testing.T, lang string, tw *core.Telework) (*UI, *fakeTelework, *trayApp) {
	t.Helper()
	st := readyState()
	st.Telework = tw
	fc := &fakeTelework{fakeClient: &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}, tw: tw}
	fc.fakeClient.st = core.State{Phase: core.SignedOut, Online: true}
	a := &trayApp{App: test.NewTempApp(t)}
	u := New(a, Options{Lang: lang, Preset: profile,
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return testNow }})
	u.async, u.every = func(f func()) { f() }, 0
	u.win.Resize(fyne.NewSize(720, 800))
	u.Start()
	fc.push(st)
	if u.screen != scrHome || u.home.telework == nil {
		t.Fatalf("screen %v, telework button %v", u.screen, u.home.telework)
	}
	test.Tap(u.home.telework)
	if u.screen != scrTelework {
		t.Fatalf("screen %v after the telework button", u.screen)
	}
	return u, fc, a
}

func joined(o fyne.CanvasObject) string { return strings.Join(texts(o), "\n") }

func wantTexts(t *testing.T, where string, o fyne.CanvasObject, want ...string) {
	t.Helper()
	got := joined(o)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: no %q in:\n%s", where, w, got)
		}
	}
}

// TestTeleworkRequestScreen: the staff side. The department's rule and
// hours; my requests newest first with their state, same-day mark, the
// supervisor's comment (代理承認 marked) and Withdraw where it is still
// allowed; the form refuses what the broker would (no dates, a date it
// cannot read, no reason) in words, marks a same-day request, sends
// dates with a half day or a fiscal year, says it was sent, and shows
// the broker's refusal from the one catalogue. A member of staff who
// decides nothing has no approval tabs.
func TestTeleworkRequestScreen(t *testing.T) {
	u, fc, _ := newTeleworkUI(t, "ja", staffView())
	s := u.telework
	if n := len(s.tabs.Items); n != 1 {
		t.Fatalf("%d tabs for staff, want 1", n)
	}
	if calls := strings.Join(fc.Calls(), ","); !strings.Contains(calls, "refresh") {
		t.Errorf("opening the screen did not read the view again: %s", calls)
	}
	wantTexts(t, "rule", s.reqTab.Content, "所属長の承認が必要", "テレワークできる時間: 07:00〜22:00")
	mine := texts(s.mine)
	order := strings.Join(mine, "\n")
	if i, j := strings.Index(order, "6月3日（水）"), strings.Index(order, "5月27日（水）"); i < 0 || j < 0 || i > j {
		t.Errorf("my requests not newest first:\n%s", order)
	}
	wantTexts(t, "my requests", s.mine, "6月3日（水）　終日", "承認待ち", "当日申請", "育児・子の発熱",
		"6月10日（水）　午後", "承認済み", "コメント: 承知しました（代理承認）",
		"5月27日（水）・5月28日（木）　終日", "却下", "コメント: 窓口繁忙のため別日でお願いします")
	withdraws := 0
	for _, x := range mine {
		if x == "取り下げる" {
			withdraws++
		}
	}
	if withdraws != 2 {
		t.Errorf("%d withdraw buttons, want 2 (the pending one and the one to come, not the declined)", withdraws)
	}

	// The form says what is missing, in words.
	test.Tap(s.submit)
	if !s.formMsg.Visible() || !strings.Contains(s.formMsg.Text, "日付を入力してください") {
		t.Fatalf("empty form: %q", s.formMsg.Text)
	}
	test.Type(s.dates, "2026/6/4")
	test.Tap(s.submit)
	if !strings.Contains(s.formMsg.Text, "日付「2026/6/4」を読み取れません") {
		t.Fatalf("bad date: %q", s.formMsg.Text)
	}
	s.dates.SetText("2026-06-04")
	if s.sameDay.Visible() {
		t.Fatal("same-day mark for tomorrow")
	}
	test.Tap(s.addToday)
	if s.dates.Text != "2026-06-04, 2026-06-03" || !s.sameDay.Visible() {
		t.Fatalf("after 本日を追加: %q, same-day mark %v", s.dates.Text, s.sameDay.Visible())
	}
	test.Tap(s.submit)
	if !strings.Contains(s.formMsg.Text, "理由を選んでください") {
		t.Fatalf("no reason: %q", s.formMsg.Text)
	}
	if len(fc.requests) != 0 {
		t.Fatalf("an incomplete form was sent: %+v", fc.requests)
	}
	s.reason.SetSelected("育児")
	s.half.SetSelected("午前")
	s.note.SetText("子の通院")
	test.Tap(s.submit)
	if len(fc.requests) != 1 {
		t.Fatalf("requests sent: %+v", fc.requests)
	}
	got := fc.requests[0]
	if strings.Join(got.Dates, ",") != "2026-06-04,2026-06-03" || got.Half != api.HalfMorning || got.Reason != api.ReasonChildcare ||
		got.Note != "子の通院" || got.FiscalYear != 0 {
		t.Fatalf("request %+v", got)
	}
	if !strings.Contains(s.formMsg.Text, "申請しました") || s.dates.Text != "" {
		t.Fatalf("after sending: %q, dates %q", s.formMsg.Text, s.dates.Text)
	}

	// A fiscal year: the dates give way to the year.
	s.kind.SetSelected("年度単位（期間）")
	if s.datesBox.Visible() || !s.fyBox.Visible() {
		t.Fatal("the period form shows dates")
	}
	if s.fy.Selected != "2026年度（2026年4月〜2027年3月）" || len(s.fy.Options) != 2 {
		t.Fatalf("fiscal years %q, selected %q", s.fy.Options, s.fy.Selected)
	}
	s.reason.SetSelected("介護")
	test.Tap(s.submit)
	if got := fc.requests[1]; got.FiscalYear != 2026 || len(got.Dates) != 0 || got.Reason != api.ReasonCare {
		t.Fatalf("period request %+v", got)
	}

	// The broker's refusal, from the catalogue.
	fc.err = api.Err(api.CodeTeleworkOverlap)
	s.reason.SetSelected("健康上の理由")
	test.Tap(s.submit)
	if !strings.Contains(s.formMsg.Text, "指定した日に既にテレワーク申請があります") || s.formMsg.Importance != widget.DangerImportance {
		t.Fatalf("refusal shows %q", s.formMsg.Text)
	}
	fc.err = nil

	// Withdraw asks first.
	for _, o := range test.LaidOutObjects(s.mine) {
		if b, ok := o.(*widget.Button); ok && b.Text == "取り下げる" {
			test.Tap(b)
			break
		}
	}
	ov := u.win.Canvas().Overlays().Top()
	if ov == nil {
		t.Fatal("no confirmation before withdrawing")
	}
	test.Tap(findButton(t, ov, "OK"))
	if calls := strings.Join(fc.Calls(), ","); !strings.Contains(calls, "withdraw tw-3") {
		t.Fatalf("calls %s", calls)
	}

	// A new view (the broker's answer) redraws the list.
	tw := staffView()
	tw.Mine = tw.Mine[:1]
	st := fc.State()
	st.Telework = tw
	fc.push(st)
	if strings.Contains(joined(s.mine), "6月3日（水）") {
		t.Fatal("the list did not follow the new view")
	}
	test.Tap(findButton(t, s.root, "戻る"))
	if u.screen != scrHome {
		t.Fatalf("back went to %v", u.screen)
	}
}

// TestTeleworkApprovalScreen: the supervisor's (or stand-in's) side.
// The approvals tab counts what waits; each request shows who, when, why
// and same-day; the comment typed goes with Approve or Decline; the
// broker's refusal shows on the tab; the section tab lists today's
// members with plan, connected, start–end, place and flags, and the
// pending count. The home screen's button and the tray say what waits.
func TestTeleworkApprovalScreen(t *testing.T) {
	u, fc, a := newTeleworkUI(t, "ja", supervisorView())
	s := u.telework
	if n := len(s.tabs.Items); n != 3 {
		t.Fatalf("%d tabs for a supervisor, want 3", n)
	}
	if s.apprTab.Text != "承認（2）" {
		t.Errorf("approvals tab %q", s.apprTab.Text)
	}
	wantTexts(t, "approvals", s.approve, "佐藤 花子（k2001）", "当日申請", "6月3日（水）　終日", "育児・保育園から呼び出し",
		"鈴木 一郎（k2002）", "2026年度（6月4日（木）〜3月31日（水））", "介護", "承認", "却下")
	var comments []*widget.Entry
	var approves, declines []*widget.Button
	for _, o := range test.LaidOutObjects(s.approve) {
		switch w := o.(type) {
		case *widget.Entry:
			comments = append(comments, w)
		case *widget.Button:
			if w.Text == "承認" {
				approves = append(approves, w)
			}
			if w.Text == "却下" {
				declines = append(declines, w)
			}
		}
	}
	if len(comments) != 2 || len(approves) != 2 || len(declines) != 2 {
		t.Fatalf("%d comments, %d approve, %d decline", len(comments), len(approves), len(declines))
	}
	test.Type(comments[0], "お大事に")
	// A redraw (the view read again) keeps what was typed.
	st := fc.State()
	st.Telework = supervisorView()
	fc.push(st)
	var again *widget.Entry
	for _, o := range test.LaidOutObjects(s.approve) {
		if e, ok := o.(*widget.Entry); ok {
			again = e
			break
		}
	}
	if again == nil || again.Text != "お大事に" {
		t.Fatalf("the typed comment was lost in a redraw: %v", again)
	}
	for _, o := range test.LaidOutObjects(s.approve) {
		if b, ok := o.(*widget.Button); ok && b.Text == "承認" {
			test.Tap(b)
			break
		}
	}
	declined := false
	for _, o := range test.LaidOutObjects(s.approve) {
		if b, ok := o.(*widget.Button); ok && b.Text == "却下" {
			if declined {
				test.Tap(b)
				break
			}
			declined = true
		}
	}
	calls := strings.Join(fc.Calls(), "\n")
	if !strings.Contains(calls, "approve tw-7 お大事に") || !strings.Contains(calls, "decline tw-8 ") {
		t.Fatalf("calls:\n%s", calls)
	}
	fc.err = api.Err(api.CodeTeleworkDecided)
	test.Tap(findButton(t, s.approve, "承認"))
	if !s.apprMsg.Visible() || !strings.Contains(s.apprMsg.Text, "既に処理済み") {
		t.Fatalf("refusal on the approvals tab: %q", s.apprMsg.Text)
	}
	fc.err = nil

	wantTexts(t, "section", s.secTab.Content, "財政課　本日 6月3日（水）", "承認待ちの申請: 2件（「承認」タブ）",
		"氏名", "テレワーク予定", "佐藤 花子", "終日", "接続中", "00:02〜", "在宅", "終了未記録",
		"田中 次郎", "午前", "未接続", "23:31〜03:40", "サテライトオフィス", "予定超過", "鈴木 一郎")

	// A stand-in while away: a colleague of the section (not oneself),
	// two dates.
	if got := strings.Join(s.siWho.Options, ","); got != "佐藤 花子（k2001）,田中 次郎（k2003）,鈴木 一郎（k2002）" {
		t.Errorf("stand-in choices %q", got)
	}
	test.Tap(s.siSet)
	if !strings.Contains(s.siMsg.Text, "代理承認者を選び") {
		t.Fatalf("no stand-in chosen: %q", s.siMsg.Text)
	}
	s.siWho.SetSelected("田中 次郎（k2003）")
	s.siTo.SetText("2026-06-05")
	test.Tap(s.siSet)
	if calls := strings.Join(fc.Calls(), ","); !strings.Contains(calls, "standin k2003 2026-06-03 2026-06-05") {
		t.Fatalf("calls %s", calls)
	}
	if s.siMsg.Text != "田中 次郎さんを6月3日（水）〜6月5日（金）の代理承認者にしました。" {
		t.Errorf("after naming: %q", s.siMsg.Text)
	}

	test.Tap(findButton(t, s.root, "戻る"))
	if got := u.home.telework.Text; got != "テレワーク申請（承認待ち 2）" {
		t.Errorf("home button %q", got)
	}
	a.item(t, "勤務開始（在宅）")
	u.trayAction(tray.ActStartSatellite)
	if calls := strings.Join(fc.Calls(), ","); !strings.Contains(calls, "start satellite") {
		t.Fatalf("the tray's start: %s", calls)
	}
}

// TestTeleworkApprovalScreenEnglish: the same screens in English.
func TestTeleworkApprovalScreenEnglish(t *testing.T) {
	u, _, _ := newTeleworkUI(t, "en", supervisorView())
	s := u.telework
	if s.apprTab.Text != "Approvals (2)" {
		t.Errorf("approvals tab %q", s.apprTab.Text)
	}
	wantTexts(t, "approvals", s.approve, "佐藤 花子 (k2001)", "Same day", "Wed 3 Jun　All day", "Approve", "Decline")
	wantTexts(t, "requests", s.reqTab.Content, "needs your supervisor's approval", "Send request")
	wantTexts(t, "section", s.secTab.Content, "Connected", "Past plan", "Satellite office")
}

// TestWorkStartEnd: the home screen's work card starts work at the
// place chosen and ends it; the tray offers the same; a refusal shows on
// the card.
func TestWorkStartEnd(t *testing.T) {
	tw := staffView()
	st := readyState()
	st.Telework = tw
	fc := &fakeTelework{fakeClient: &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}}
	a := &trayApp{App: test.NewTempApp(t)}
	u := New(a, Options{Lang: "ja", Preset: profile, NewClient: func(Profile) (Client, error) { return fc, nil },
		Now: func() time.Time { return testNow }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	fc.push(st)
	w := u.home.work
	if w.status.Text != "未開始" || !w.start.Visible() || w.end.Visible() {
		t.Fatalf("before: %q start %v end %v", w.status.Text, w.start.Visible(), w.end.Visible())
	}
	w.place.SetSelected("サテライトオフィス")
	test.Tap(w.start)
	a.item(t, "勤務開始（その他）")
	started := staffView()
	started.Today.Day = api.WorkDay{Start: time.Date(2026, 6, 3, 8, 58, 0, 0, time.UTC), Place: api.PlaceSatellite}
	st.Telework = started
	fc.push(st)
	if w.status.Text != "08:58から勤務中（サテライトオフィス）" || w.start.Visible() || !w.end.Visible() {
		t.Fatalf("started: %q", w.status.Text)
	}
	a.item(t, "勤務終了")
	fc.err = api.Err(api.CodeUnavailable)
	test.Tap(w.end)
	if !w.msg.Visible() || w.msg.Text == "" {
		t.Fatal("a failed end of work says nothing")
	}
	if calls := strings.Join(fc.Calls(), ","); !strings.Contains(calls, "start satellite") || !strings.Contains(calls, "end") {
		t.Fatalf("calls %s", calls)
	}
}
