package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/tray"
	"github.com/zaitaku/zaitaku/broker/api"
)

// Teleworker is the part of *core.Client the telework screens use. The
// view itself comes in core.State.Telework; each action reads it again.
type Teleworker interface {
	RefreshTelework(ctx context.Context)
	RequestTelework(ctx context.Context, req api.TeleworkRequestCreate) (*api.TeleworkRequest, error)
	WithdrawTelework(ctx context.Context, id string) error
	DecideTelework(ctx context.Context, id string, approve bool, comment string) error
	StartWork(ctx context.Context, place string) error
	EndWork(ctx context.Context) error
	SetStandIn(ctx context.Context, standIn, from, to string) error
}

var _ Teleworker = (*core.Client)(nil)

// teleworkActions are what the telework screen can do. Each runs off
// the UI thread and answers through the screen's done/failed methods.
type teleworkActions struct {
	Back     func()
	Request  func(req api.TeleworkRequestCreate)
	Withdraw func(id string)
	Decide   func(id string, approve bool, comment string)
	StandIn  func(standIn, from, to string)
}

// teleworkScreen is the telework window content: a tab for one's own
// requests (the form and the list), and for an approver a tab of
// requests to decide and one of the section today.
type teleworkScreen struct {
	root    fyne.CanvasObject
	tr      *i18n.Tr
	actions teleworkActions
	tw      *core.Telework
	online  bool

	tabs     *container.AppTabs
	reqTab   *container.TabItem
	apprTab  *container.TabItem
	secTab   *container.TabItem
	stale    *message
	policy   *widget.Label
	hours    *widget.Label
	kind     *widget.RadioGroup
	dates    *widget.Entry
	addToday *widget.Button
	half     *widget.RadioGroup
	fy       *widget.Select
	reason   *widget.Select
	note     *widget.Entry
	sameDay  *widget.Label
	formMsg  *message
	submit   *widget.Button
	datesBox *fyne.Container
	fyBox    *fyne.Container
	mine     *fyne.Container
	approve  *fyne.Container
	apprMsg  *message
	comments map[string]*widget.Entry // by request, kept across redraws
	section  *fyne.Container
	secHead  *widget.Label
	secNote  *widget.Label
	me       string // the caller, never their own stand-in
	// presence (may be nil) is chat's presence of a colleague: the
	// section's 状態 says 会議中, テレワーク中, ... when chat knows it.
	presence func(id string) (api.ChatPresence, bool)
	siWho    *widget.Select
	siIDs    []string // the staff IDs behind siWho's options
	siFrom   *widget.Entry
	siTo     *widget.Entry
	siSet    *widget.Button
	siMsg    *message
}

// reasons are the reason codes in the order the form offers them.
var reasons = []string{api.ReasonChildcare, api.ReasonCare, api.ReasonHealth, api.ReasonBCP, api.ReasonOther}

func reasonText(tr *i18n.Tr, r string) string {
	switch r {
	case api.ReasonChildcare:
		return tr.T(i18n.TwReasonChildcare)
	case api.ReasonCare:
		return tr.T(i18n.TwReasonCare)
	case api.ReasonHealth:
		return tr.T(i18n.TwReasonHealth)
	case api.ReasonBCP:
		return tr.T(i18n.TwReasonBCP)
	}
	return tr.T(i18n.TwReasonOther)
}

func halfText(tr *i18n.Tr, h string) string {
	switch h {
	case api.HalfMorning:
		return tr.T(i18n.TwHalfAM)
	case api.HalfAfternoon:
		return tr.T(i18n.TwHalfPM)
	}
	return tr.T(i18n.TwHalfFull)
}

func stateText(tr *i18n.Tr, s string) (string, widget.Importance) {
	switch s {
	case api.RequestPending:
		return tr.T(i18n.TwStatePending), widget.WarningImportance
	case api.RequestApproved:
		return tr.T(i18n.TwStateApproved), widget.SuccessImportance
	case api.RequestDeclined:
		return tr.T(i18n.TwStateDeclined), widget.DangerImportance
	case api.RequestNoticed:
		return tr.T(i18n.TwStateNoticed), widget.SuccessImportance
	}
	return tr.T(i18n.TwStateWithdrawn), widget.LowImportance
}

// twDay words a YYYY-MM-DD date: 6月3日（水）, Wed 3 Jun.
func twDay(tr *i18n.Tr, date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	s := d.Format(tr.T(i18n.TwDayLayout))
	if names := strings.Split(tr.T(i18n.ChatWeekdays), ","); len(names) == 7 {
		s = strings.Replace(s, d.Weekday().String()[:3], names[d.Weekday()], 1)
	}
	return s
}

// requestDays words what a request covers: its dates, or its fiscal year.
func requestDays(tr *i18n.Tr, r api.TeleworkRequest) string {
	if r.Kind == api.TeleworkPeriod {
		return tr.T(i18n.TwPeriodText, r.FiscalYear, twDay(tr, r.From), twDay(tr, r.To))
	}
	days := make([]string, 0, len(r.Dates))
	for _, d := range r.Dates {
		days = append(days, twDay(tr, d))
	}
	if len(days) == 0 {
		days = append(days, twDay(tr, r.From))
	}
	return strings.Join(days, "・") + "　" + halfText(tr, r.Half)
}

// fiscalYear is the Japanese fiscal year of a date: April to March.
func fiscalYear(date string) int {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return time.Now().Year()
	}
	if d.Month() < time.April {
		return d.Year() - 1
	}
	return d.Year()
}

func makeTelework(tr *i18n.Tr, me string, tw *core.Telework, online bool, actions teleworkActions) *teleworkScreen {
	s := &teleworkScreen{tr: tr, me: me, actions: actions, comments: map[string]*widget.Entry{}}
	back := widget.NewButtonWithIcon(tr.T(i18n.Back), theme.NavigateBackIcon(), actions.Back)
	title := heading(tr.T(i18n.TwTitle))
	top := container.NewVBox(container.NewPadded(container.NewBorder(nil, nil, back, nil, title)), widget.NewSeparator())

	// The request form.
	s.stale = newMessage()
	s.policy = para("")
	s.hours = widget.NewLabel("")
	s.hours.TextStyle.Bold = true
	s.kind = widget.NewRadioGroup([]string{tr.T(i18n.TwKindDates), tr.T(i18n.TwKindPeriod)}, func(string) { s.showKind() })
	s.kind.Horizontal = true
	s.kind.Required = true
	s.dates = widget.NewEntry()
	s.dates.SetPlaceHolder(tr.T(i18n.TwDatesHint))
	s.dates.OnChanged = func(string) { s.showSameDay() }
	s.addToday = widget.NewButtonWithIcon(tr.T(i18n.TwAddToday), theme.ContentAddIcon(), s.onAddToday)
	s.half = widget.NewRadioGroup([]string{tr.T(i18n.TwHalfFull), tr.T(i18n.TwHalfAM), tr.T(i18n.TwHalfPM)}, nil)
	s.half.Horizontal = true
	s.half.Required = true
	s.half.SetSelected(tr.T(i18n.TwHalfFull))
	s.fy = widget.NewSelect(nil, nil)
	reasonNames := make([]string, len(reasons))
	for i, r := range reasons {
		reasonNames[i] = reasonText(tr, r)
	}
	s.reason = widget.NewSelect(reasonNames, nil)
	s.reason.PlaceHolder = tr.T(i18n.TwReasonPick)
	s.note = widget.NewEntry()
	s.note.SetPlaceHolder(tr.T(i18n.TwNote))
	s.sameDay = widget.NewLabel(tr.T(i18n.TwSameDayHint))
	s.sameDay.Importance = widget.WarningImportance
	s.sameDay.Wrapping = fyne.TextWrapWord
	s.sameDay.Hide()
	s.formMsg = newMessage()
	s.submit = widget.NewButtonWithIcon(tr.T(i18n.TwSubmit), theme.MailSendIcon(), s.onSubmit)
	s.submit.Importance = widget.HighImportance
	s.datesBox = container.NewVBox(
		caption(tr.T(i18n.TwDates)), container.NewBorder(nil, nil, nil, s.addToday, s.dates),
		caption(tr.T(i18n.TwHalf)), s.half)
	s.fyBox = container.NewVBox(caption(tr.T(i18n.TwFiscalYear)), s.fy)
	s.kind.SetSelected(tr.T(i18n.TwKindDates))
	form := widget.NewCard(tr.T(i18n.TwNew), "", container.NewVBox(
		s.kind, s.datesBox, s.fyBox,
		caption(tr.T(i18n.TwReason)), s.reason, s.note, s.sameDay, s.formMsg.Label, s.submit))
	s.mine = container.NewVBox()
	mineTitle := widget.NewLabel(tr.T(i18n.TwMine))
	mineTitle.TextStyle.Bold = true
	mineTitle.SizeName = theme.SizeNameSubHeadingText
	// The form on the left, what was asked before on the right: both in
	// sight, so a request just sent shows up beside the form.
	rule := container.NewVBox(s.stale.Label, s.policy, s.hours)
	columnsOf := container.NewGridWithColumns(2,
		container.NewVScroll(container.NewPadded(container.NewVBox(form))),
		container.NewVScroll(container.NewPadded(container.NewVBox(mineTitle, s.mine))))
	s.reqTab = container.NewTabItem(tr.T(i18n.TwTabRequest),
		container.NewBorder(container.NewPadded(rule), nil, nil, nil, columnsOf))

	// Approvals and the section, shown to approvers only.
	s.approve = container.NewVBox()
	s.apprMsg = newMessage()
	s.siWho = widget.NewSelect(nil, nil)
	s.siWho.PlaceHolder = tr.T(i18n.TwStandInWho)
	s.siFrom, s.siTo = widget.NewEntry(), widget.NewEntry()
	s.siFrom.SetPlaceHolder(tr.T(i18n.TwStandInFrom))
	s.siTo.SetPlaceHolder(tr.T(i18n.TwStandInTo))
	s.siMsg = newMessage()
	s.siSet = widget.NewButtonWithIcon(tr.T(i18n.TwStandInSet), theme.AccountIcon(), s.onStandIn)
	standIn := widget.NewCard(tr.T(i18n.TwStandInTitle), "", container.NewVBox(para(tr.T(i18n.TwStandInIntro)),
		caption(tr.T(i18n.TwStandInWho)), s.siWho,
		container.NewGridWithColumns(2, container.NewVBox(caption(tr.T(i18n.TwStandInFrom)), s.siFrom),
			container.NewVBox(caption(tr.T(i18n.TwStandInTo)), s.siTo)),
		s.siMsg.Label, container.NewHBox(s.siSet)))
	s.apprTab = container.NewTabItem(tr.T(i18n.TwTabApprovals), page(s.apprMsg.Label, s.approve, standIn))
	s.secHead = widget.NewLabel("")
	s.secHead.TextStyle.Bold = true
	s.secHead.SizeName = theme.SizeNameSubHeadingText
	s.secNote = widget.NewLabel("")
	s.section = container.NewVBox()
	s.secTab = container.NewTabItem(tr.T(i18n.TwTabSection),
		container.NewVScroll(container.NewPadded(container.NewVBox(s.secHead, s.secNote, s.section))))
	s.tabs = container.NewAppTabs(s.reqTab)
	s.root = container.NewBorder(top, nil, nil, nil, s.tabs)
	s.update(tw, online)
	return s
}

func (s *teleworkScreen) today() string {
	if s.tw != nil && s.tw.Today != nil {
		return s.tw.Today.Date
	}
	return time.Now().Format(time.DateOnly)
}

func (s *teleworkScreen) isPeriod() bool { return s.kind.Selected == s.tr.T(i18n.TwKindPeriod) }

func (s *teleworkScreen) showKind() {
	if s.datesBox == nil {
		return
	}
	setVisible(s.datesBox, !s.isPeriod())
	setVisible(s.fyBox, s.isPeriod())
	s.showSameDay()
}

func (s *teleworkScreen) onAddToday() {
	today := s.today()
	for _, d := range splitDates(s.dates.Text) {
		if d == today {
			return
		}
	}
	text := strings.TrimSpace(s.dates.Text)
	if text != "" {
		text += ", "
	}
	s.dates.SetText(text + today)
}

// splitDates reads the dates field: commas, spaces or Japanese commas.
func splitDates(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '、' || r == ' ' || r == '　' || r == '\n' })
}

// showSameDay marks a request that includes today (or a fiscal year
// that starts today: the broker marks it the same way).
func (s *teleworkScreen) showSameDay() {
	if s.sameDay == nil {
		return
	}
	on := false
	if !s.isPeriod() {
		for _, d := range splitDates(s.dates.Text) {
			if d == s.today() {
				on = true
			}
		}
	}
	setVisible(s.sameDay, on)
}

// request builds the request from the form, or says what is missing.
func (s *teleworkScreen) request() (api.TeleworkRequestCreate, string) {
	tr := s.tr
	var req api.TeleworkRequestCreate
	for i, name := range s.reason.Options {
		if s.reason.Selected == name {
			req.Reason = reasons[i]
		}
	}
	req.Note = strings.TrimSpace(s.note.Text)
	if s.isPeriod() {
		if i := s.fy.SelectedIndex(); i >= 0 {
			req.FiscalYear = fiscalYear(s.today()) + i
		}
	} else {
		ds := splitDates(s.dates.Text)
		if len(ds) == 0 {
			return req, tr.T(i18n.TwErrNoDates)
		}
		for _, d := range ds {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return req, tr.T(i18n.TwErrBadDate, d)
			}
		}
		req.Dates = ds
		switch s.half.Selected {
		case tr.T(i18n.TwHalfAM):
			req.Half = api.HalfMorning
		case tr.T(i18n.TwHalfPM):
			req.Half = api.HalfAfternoon
		}
	}
	if req.Reason == "" {
		return req, tr.T(i18n.TwErrNoReason)
	}
	return req, ""
}

func (s *teleworkScreen) onSubmit() {
	req, problem := s.request()
	if problem != "" {
		s.formMsg.set(problem, widget.DangerImportance)
		return
	}
	s.formMsg.clear()
	s.submit.Disable()
	s.actions.Request(req)
}

// requested is the answer to Request: the form empties on success.
func (s *teleworkScreen) requested(r *api.TeleworkRequest, err error) {
	s.submit.Enable()
	if err != nil {
		s.formMsg.set(errorText(s.tr, err), widget.DangerImportance)
		return
	}
	s.dates.SetText("")
	s.note.SetText("")
	s.reason.ClearSelected()
	if r.State == api.RequestNoticed {
		s.formMsg.set(s.tr.T(i18n.TwSentNotice), widget.SuccessImportance)
	} else {
		s.formMsg.set(s.tr.T(i18n.TwSent), widget.SuccessImportance)
	}
}

// failed shows an action's error where the action was (the approvals
// tab for decisions, the form for the rest).
func (s *teleworkScreen) failed(decision bool, err error) {
	if decision {
		s.apprMsg.set(errorText(s.tr, err), widget.DangerImportance)
		return
	}
	s.formMsg.set(errorText(s.tr, err), widget.DangerImportance)
}

func (s *teleworkScreen) onStandIn() {
	from, to := strings.TrimSpace(s.siFrom.Text), strings.TrimSpace(s.siTo.Text)
	_, ef := time.Parse(time.DateOnly, from)
	_, et := time.Parse(time.DateOnly, to)
	i := s.siWho.SelectedIndex()
	if i < 0 || ef != nil || et != nil {
		s.siMsg.set(s.tr.T(i18n.TwErrStandIn), widget.DangerImportance)
		return
	}
	s.siMsg.clear()
	s.actions.StandIn(s.siIDs[i], from, to)
}

// stoodIn is the answer to StandIn.
func (s *teleworkScreen) stoodIn(name, from, to string, err error) {
	if err != nil {
		s.siMsg.set(errorText(s.tr, err), widget.DangerImportance)
		return
	}
	s.siMsg.set(s.tr.T(i18n.TwStandInDone, name, twDay(s.tr, from), twDay(s.tr, to)), widget.SuccessImportance)
}

// update shows tw (UI thread only).
func (s *teleworkScreen) update(tw *core.Telework, online bool) {
	s.tw, s.online = tw, online
	tr := s.tr
	if tw == nil {
		tw = &core.Telework{}
	}
	if tw.Err != nil {
		s.stale.set(tr.T(i18n.TwStale, tw.Err.Localized(tr.Lang())), widget.WarningImportance)
	} else {
		s.stale.clear()
	}
	mode := api.TeleworkFree
	if t := tw.Today; t != nil {
		mode = t.Policy.Mode
		if t.Policy.HoursStart != "" && t.Policy.HoursEnd != "" {
			s.hours.SetText(tr.T(i18n.TwHours, t.Policy.HoursStart, t.Policy.HoursEnd))
			s.hours.Show()
		} else {
			s.hours.Hide()
		}
		if t.DayOff {
			s.hours.SetText(tr.T(i18n.TwDayOff))
			s.hours.Show()
		}
	}
	switch mode {
	case api.TeleworkApproval:
		s.policy.SetText(tr.T(i18n.TwPolicyApproval))
		s.submit.SetText(tr.T(i18n.TwSubmit))
	case api.TeleworkNoticeOnly:
		s.policy.SetText(tr.T(i18n.TwPolicyNotice))
		s.submit.SetText(tr.T(i18n.TwSubmitNotice))
	default:
		s.policy.SetText(tr.T(i18n.TwPolicyFree))
		s.submit.SetText(tr.T(i18n.TwSubmit))
	}
	fy := fiscalYear(s.today())
	opts := []string{tr.T(i18n.TwFYLabel, fy, fy, fy+1), tr.T(i18n.TwFYLabel, fy+1, fy+1, fy+2)}
	if strings.Join(opts, "\n") != strings.Join(s.fy.Options, "\n") {
		s.fy.SetOptions(opts)
		s.fy.SetSelectedIndex(0)
	}
	s.showKind()
	if online {
		s.submit.Enable()
	} else {
		s.submit.Disable()
	}

	s.mine.RemoveAll()
	if len(tw.Mine) == 0 {
		none := widget.NewLabel(tr.T(i18n.TwMineNone))
		none.Importance = widget.LowImportance
		s.mine.Add(none)
	}
	// Newest first: the request just made is at the top.
	for i := len(tw.Mine) - 1; i >= 0; i-- {
		s.mine.Add(s.myRow(tw.Mine[i]))
	}
	s.mine.Refresh()

	s.showApprovals(tw)
	s.showSection(tw)
	s.showStandIns(tw)
	want := []*container.TabItem{s.reqTab}
	if tw.Approver {
		want = append(want, s.apprTab, s.secTab)
	}
	if len(s.tabs.Items) != len(want) {
		sel := s.tabs.Selected()
		s.tabs.SetItems(want)
		for _, it := range want {
			if it == sel {
				s.tabs.Select(it)
			}
		}
	}
	if n := len(tw.Approvals); n > 0 {
		s.apprTab.Text = tr.T(i18n.TwTabApprovalsN, n)
	} else {
		s.apprTab.Text = tr.T(i18n.TwTabApprovals)
	}
	s.tabs.Refresh()
}

// withdrawable: a pending request at any time, one in force until its
// first day (the broker's rule; it says so if the day has come).
func withdrawable(r api.TeleworkRequest, today string) bool {
	switch r.State {
	case api.RequestPending:
		return true
	case api.RequestApproved, api.RequestNoticed:
		return r.From > today
	}
	return false
}

func (s *teleworkScreen) myRow(r api.TeleworkRequest) fyne.CanvasObject {
	tr := s.tr
	days := widget.NewLabel(requestDays(tr, r))
	days.TextStyle.Bold = true
	days.Wrapping = fyne.TextWrapWord
	stText, imp := stateText(tr, r.State)
	state := widget.NewLabel(stText)
	state.Importance = imp
	state.TextStyle.Bold = true
	head := container.NewBorder(nil, nil, nil, state, days)
	info := reasonText(tr, r.Reason)
	if r.Note != "" {
		info += "・" + r.Note
	}
	lines := []fyne.CanvasObject{head}
	detail := widget.NewLabel(info)
	detail.Wrapping = fyne.TextWrapWord
	if r.SameDay {
		mark := widget.NewLabel(tr.T(i18n.TwSameDay))
		mark.Importance = widget.WarningImportance
		lines = append(lines, container.NewBorder(nil, nil, mark, nil, detail))
	} else {
		lines = append(lines, detail)
	}
	if r.Comment != "" || r.StandIn {
		c := tr.T(i18n.TwComment, r.Comment)
		if r.StandIn {
			c += "（" + tr.T(i18n.TwByStandIn) + "）"
		}
		cl := widget.NewLabel(c)
		cl.Wrapping = fyne.TextWrapWord
		cl.TextStyle.Italic = true
		lines = append(lines, cl)
	}
	if withdrawable(r, s.today()) {
		id := r.ID
		w := widget.NewButtonWithIcon(tr.T(i18n.TwWithdraw), theme.ContentUndoIcon(), func() { s.actions.Withdraw(id) })
		if !s.online {
			w.Disable()
		}
		lines = append(lines, container.NewHBox(w))
	}
	return widget.NewCard("", "", container.NewVBox(lines...))
}

// nameOf is a section member's name (their ID if the view has none).
func (s *teleworkScreen) nameOf(id string) string {
	if s.tw != nil && s.tw.Section != nil {
		for _, d := range s.tw.Section.Staff {
			if d.UserID == id && d.UserName != "" {
				return d.UserName
			}
		}
	}
	return id
}

// showStandIns offers the section's colleagues as stand-ins.
func (s *teleworkScreen) showStandIns(tw *core.Telework) {
	if s.siFrom.Text == "" {
		s.siFrom.SetText(s.today())
	}
	if s.siTo.Text == "" {
		s.siTo.SetText(s.today())
	}
	if tw.Section == nil {
		return
	}
	var names, ids []string
	for _, d := range tw.Section.Staff {
		if d.UserID == s.me {
			continue
		}
		name := d.UserName
		if name == "" {
			name = d.UserID
		}
		names = append(names, s.tr.T(i18n.TwRequester, name, d.UserID))
		ids = append(ids, d.UserID)
	}
	if strings.Join(ids, ",") == strings.Join(s.siIDs, ",") {
		return
	}
	sel := ""
	if i := s.siWho.SelectedIndex(); i >= 0 && i < len(s.siIDs) {
		sel = s.siIDs[i]
	}
	s.siIDs = ids
	s.siWho.SetOptions(names)
	for i, id := range ids {
		if id == sel {
			s.siWho.SetSelectedIndex(i)
		}
	}
}

func (s *teleworkScreen) showApprovals(tw *core.Telework) {
	tr := s.tr
	s.approve.RemoveAll()
	if len(tw.Approvals) == 0 {
		none := widget.NewLabel(tr.T(i18n.TwApprovalsNone))
		none.Importance = widget.LowImportance
		s.approve.Add(none)
	}
	keep := map[string]*widget.Entry{}
	for _, r := range tw.Approvals {
		r := r
		name := r.UserName
		if name == "" {
			name = r.UserID
		}
		who := widget.NewLabel(tr.T(i18n.TwRequester, name, r.UserID))
		who.TextStyle.Bold = true
		who.SizeName = theme.SizeNameSubHeadingText
		days := widget.NewLabel(requestDays(tr, r))
		days.TextStyle.Bold = true
		days.Wrapping = fyne.TextWrapWord
		info := reasonText(tr, r.Reason)
		if r.Note != "" {
			info += "・" + r.Note
		}
		detail := widget.NewLabel(info)
		detail.Wrapping = fyne.TextWrapWord
		head := []fyne.CanvasObject{who}
		if r.SameDay {
			mark := widget.NewLabel(tr.T(i18n.TwSameDay))
			mark.Importance = widget.WarningImportance
			mark.TextStyle.Bold = true
			head = []fyne.CanvasObject{container.NewBorder(nil, nil, nil, mark, who)}
		}
		comment := s.comments[r.ID]
		if comment == nil {
			comment = widget.NewEntry()
			comment.SetPlaceHolder(tr.T(i18n.TwCommentHint))
		}
		keep[r.ID] = comment
		approve := widget.NewButtonWithIcon(tr.T(i18n.TwApprove), theme.ConfirmIcon(), func() {
			s.actions.Decide(r.ID, true, strings.TrimSpace(comment.Text))
		})
		approve.Importance = widget.SuccessImportance
		decline := widget.NewButtonWithIcon(tr.T(i18n.TwDecline), theme.CancelIcon(), func() {
			s.actions.Decide(r.ID, false, strings.TrimSpace(comment.Text))
		})
		decline.Importance = widget.DangerImportance
		if !s.online {
			approve.Disable()
			decline.Disable()
		}
		box := container.NewVBox(append(head, days, detail, comment, container.NewHBox(approve, decline))...)
		s.approve.Add(widget.NewCard("", "", box))
	}
	s.comments = keep
	s.approve.Refresh()
}

// sectionCols are the section table's column widths (name, plan, now,
// work, place, flags): fixed, so the rows line up.
var sectionCols = []float32{100, 120, 70, 110, 140, 160}

// teleworkWidth is the window width the telework screen asks for.
const teleworkWidth = 780

func (s *teleworkScreen) showSection(tw *core.Telework) {
	tr := s.tr
	s.section.RemoveAll()
	sec := tw.Section
	if sec == nil {
		return
	}
	s.secHead.SetText(tr.T(i18n.TwSectionTitle, sec.Department, twDay(tr, sec.Date)))
	s.secNote.SetText(tr.T(i18n.TwPendingN, len(sec.Pending)))
	if len(sec.Pending) > 0 {
		s.secNote.Importance = widget.WarningImportance
	} else {
		s.secNote.Importance = widget.LowImportance
	}
	s.secNote.Refresh()
	header := []string{tr.T(i18n.TwColName), tr.T(i18n.TwColPlan), tr.T(i18n.TwColNow), tr.T(i18n.TwColTime),
		tr.T(i18n.TwColPlace), tr.T(i18n.TwColFlags)}
	hl := make([]fyne.CanvasObject, len(header))
	for i, h := range header {
		l := widget.NewLabel(h)
		l.TextStyle.Bold = true
		hl[i] = l
	}
	s.section.Add(container.New(&columns{w: sectionCols}, hl...))
	s.section.Add(widget.NewSeparator())
	for _, d := range sec.Staff {
		var p api.ChatPresence
		if s.presence != nil {
			p, _ = s.presence(d.UserID)
		}
		s.section.Add(container.New(&columns{w: sectionCols}, sectionRow(tr, d, p)...))
	}
	s.section.Refresh()
}

// sectionRow is one member's line; p is their presence (State "" when
// chat does not know it: then 状態 is the connection alone).
func sectionRow(tr *i18n.Tr, d api.WorkDay, p api.ChatPresence) []fyne.CanvasObject {
	name := d.UserName
	if name == "" {
		name = d.UserID
	}
	cell := func(text string, imp widget.Importance) fyne.CanvasObject {
		l := widget.NewLabel(text)
		l.Importance = imp
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	plan := "—"
	if d.Planned {
		plan = halfText(tr, d.Half)
	}
	now, nowImp := tr.T(i18n.TwNotConnected), widget.MediumImportance
	if d.Connected {
		now, nowImp = tr.T(i18n.TwConnected), widget.SuccessImportance
	}
	switch p.State {
	case api.PresenceMeeting:
		now, nowImp = presenceLabel(tr, p.State), widget.HighImportance
	case api.PresenceTelework:
		now, nowImp = presenceLabel(tr, p.State), widget.SuccessImportance
	case api.PresenceOnline, api.PresenceAway, api.PresenceOffline:
		if !d.Connected {
			now = presenceLabel(tr, p.State)
		}
	}
	work := "—"
	if !d.Start.IsZero() {
		work = i18n.TimeOfDay(d.Start) + "〜"
		if !d.End.IsZero() {
			work += i18n.TimeOfDay(d.End)
		}
	}
	place := "—"
	if d.Place != "" {
		place = tray.Place(d.Place, tr)
	}
	var flags []string
	for _, f := range d.Flags {
		switch f {
		case api.WorkFlagOvertime:
			flags = append(flags, tr.T(i18n.TwFlagOvertime))
		case api.WorkFlagUnplanned:
			flags = append(flags, tr.T(i18n.TwFlagUnplanned))
		case api.WorkFlagNoEnd:
			flags = append(flags, tr.T(i18n.TwFlagNoEnd))
		}
	}
	flagImp := widget.MediumImportance
	if len(flags) > 0 {
		flagImp = widget.WarningImportance
	}
	return []fyne.CanvasObject{cell(name, widget.MediumImportance), cell(plan, widget.MediumImportance), cell(now, nowImp),
		cell(work, widget.MediumImportance), cell(place, widget.MediumImportance), cell(strings.Join(flags, "・"), flagImp)}
}

// columns lays its objects out left to right in fixed widths (the last
// takes what is left), so that table rows line up.
type columns struct{ w []float32 }

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	x := float32(0)
	for i, o := range objs {
		w := size.Width - x
		if i < len(c.w) && i < len(objs)-1 {
			w = c.w[i]
		}
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x += w
	}
}

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for i, o := range objs {
		m := o.MinSize()
		if i < len(c.w) {
			s.Width += c.w[i]
		} else {
			s.Width += m.Width
		}
		s.Height = max(s.Height, m.Height)
	}
	return s
}

// showTelework opens the telework screen and reads the view afresh.
func (u *UI) showTelework() {
	tw, ok := u.client.(Teleworker)
	if !ok {
		return
	}
	var s *teleworkScreen
	call := func(decision bool, fn func(ctx context.Context) error) {
		c := u.client
		u.async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			err := fn(ctx)
			fyne.Do(func() {
				if u.client != c || err == nil {
					return
				}
				u.recordErr(err)
				s.failed(decision, err)
			})
		})
	}
	me := ""
	if u.st.User != nil {
		me = u.st.User.ID
	}
	s = makeTelework(u.tr, me, u.st.Telework, u.st.Online, teleworkActions{
		Back: u.showHome,
		Request: func(req api.TeleworkRequestCreate) {
			c := u.client
			u.async(func() {
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				defer cancel()
				r, err := tw.RequestTelework(ctx, req)
				fyne.Do(func() {
					if u.client != c {
						return
					}
					if err != nil {
						u.recordErr(err)
					}
					s.requested(r, err)
				})
			})
		},
		Withdraw: func(id string) {
			u.confirm(u.tr.T(i18n.TwWithdraw), u.tr.T(i18n.TwWithdrawAsk), func() {
				call(false, func(ctx context.Context) error { return tw.WithdrawTelework(ctx, id) })
			})
		},
		StandIn: func(standIn, from, to string) {
			c, name := u.client, s.nameOf(standIn)
			u.async(func() {
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				defer cancel()
				err := tw.SetStandIn(ctx, standIn, from, to)
				fyne.Do(func() {
					if u.client != c {
						return
					}
					if err != nil {
						u.recordErr(err)
					}
					s.stoodIn(name, from, to, err)
				})
			})
		},
		Decide: func(id string, approve bool, comment string) {
			s.apprMsg.clear()
			call(true, func(ctx context.Context) error { return tw.DecideTelework(ctx, id, approve, comment) })
		},
	})
	if c := u.opt.Chat; c != nil {
		s.presence = c.Presence
		s.showSection(u.st.Telework) // drawn before presence was at hand
	}
	u.telework = s
	u.lookSectionPresence()
	u.setContent(scrTelework, s.root)
	// The section's table wants more width than the home screen's form.
	if sz := u.win.Canvas().Size(); sz.Width < teleworkWidth {
		u.win.Resize(fyne.NewSize(teleworkWidth, max(sz.Height, 720)))
	}
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		tw.RefreshTelework(ctx)
	})
}

// lookSectionPresence asks chat for the presence of the section's staff
// (those of other departments get no presence frames); the answer
// redraws the section through chatChanged.
func (u *UI) lookSectionPresence() {
	c := u.opt.Chat
	if c == nil || u.st.Telework == nil || u.st.Telework.Section == nil {
		return
	}
	var ids []string
	for _, d := range u.st.Telework.Section.Staff {
		ids = append(ids, d.UserID)
	}
	if len(ids) == 0 {
		return
	}
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if err := c.LookPresence(ctx, ids); err != nil && !errors.Is(err, chat.ErrNoSession) {
			u.log.Warn("section presence", "err", err)
		}
	})
}

// startWork and endWork are the home screen's and the tray's: the
// broker tells the supervisor.
func (u *UI) startWork(place string) {
	u.workCall(func(ctx context.Context, tw Teleworker) error { return tw.StartWork(ctx, place) })
}

func (u *UI) endWork() {
	u.workCall(func(ctx context.Context, tw Teleworker) error { return tw.EndWork(ctx) })
}

func (u *UI) workCall(fn func(context.Context, Teleworker) error) {
	tw, ok := u.client.(Teleworker)
	if !ok || u.st.Phase == core.SignedOut {
		return
	}
	c := u.client
	u.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		err := fn(ctx, tw)
		fyne.Do(func() {
			if u.client != c {
				return
			}
			if err == nil {
				u.log.Info("work recorded")
				return
			}
			u.log.Info("work refused", "code", errorCode(err))
			u.recordErr(err)
			if u.screen == scrHome && u.home != nil {
				u.home.work.msg.set(errorText(u.tr, err), widget.DangerImportance)
				return
			}
			u.app.SendNotification(fyne.NewNotification(u.tr.T(i18n.TwWork), errorText(u.tr, err)))
		})
	})
}
