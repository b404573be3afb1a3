package telework

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// JST is where the municipalities are: dates, hours and the working day
// are read in Japan time whatever the broker's zone.
var JST = time.FixedZone("JST", 9*3600)

const dateLayout = "2006-01-02"

// Directory is who works where (broker/auth).
type Directory interface {
	User(ctx context.Context, id string) (api.User, error) // ErrNotFound when none
	Department(ctx context.Context, dept string) ([]api.User, error)
	Everyone(ctx context.Context) ([]api.User, error)
}

// Notifier posts a system message to one member of staff in the app's
// chat (broker/chat); key makes a retry post nothing twice.
type Notifier interface {
	Notify(ctx context.Context, userID, key, text string) error
}

// Publisher stores an event for a user's app and tray (broker/events).
type Publisher interface {
	Publish(userID, typ string, data any)
}

// Live says who is connected now (broker/slots).
type Live interface {
	Connected(userID string) bool
}

// Config is what a Service is built from. Notify, Push and Live are
// optional (a one-shot command has none).
type Config struct {
	Store     Store
	Directory Directory
	Notify    Notifier
	Push      Publisher
	Live      Live
	Audit     audit.Recorder
	Log       *slog.Logger
	Now       func() time.Time
}

// Service is the telework domain.
type Service struct {
	st     Store
	dir    Directory
	notify Notifier
	push   Publisher
	live   Live
	audit  audit.Recorder
	log    *slog.Logger
	now    func() time.Time
}

// New builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Directory == nil || cfg.Audit == nil {
		return nil, errors.New("telework: store, directory and audit are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: cfg.Store, dir: cfg.Directory, notify: cfg.Notify, push: cfg.Push, live: cfg.Live,
		audit: cfg.Audit, log: cfg.Log, now: cfg.Now}, nil
}

// SetLive sets who is connected (the slots are built after telework).
func (s *Service) SetLive(l Live) { s.live = l }

func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "tw_" + hex.EncodeToString(b)
}

func (s *Service) record(ctx context.Context, actor, action, target string, kv ...string) {
	f := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: action, Target: target, Fields: f}); err != nil {
		s.log.Error("telework: audit record failed", "action", action, "err", err)
	}
}

// today is the date in Japan now.
func (s *Service) today() string { return s.now().In(JST).Format(dateLayout) }

// ParseDate reads YYYY-MM-DD as a day in Japan.
func ParseDate(field, v string) (time.Time, error) {
	t, err := time.ParseInLocation(dateLayout, v, JST)
	if err != nil {
		return time.Time{}, api.Errf(api.CodeValidation, "%s: a date as YYYY-MM-DD", field)
	}
	return t, nil
}

// fiscalYear is the fiscal year (April to March) of a date.
func fiscalYear(t time.Time) int {
	if t.Month() < time.April {
		return t.Year() - 1
	}
	return t.Year()
}

// ---- policy ----

// DefaultWorkStart and DefaultWorkEnd are the planned working day when IT
// set none: the municipal standard 7 h 45 min with an hour's break.
const (
	DefaultWorkStart = "08:30"
	DefaultWorkEnd   = "17:15"
	DefaultWarn      = 10
)

// Policy is the department's policy; free when IT set none, so nothing
// built before telework changes for a department nobody configured.
func (s *Service) Policy(ctx context.Context, dept string) (api.TeleworkPolicy, error) {
	p, err := s.st.Policy(ctx, dept)
	if errors.Is(err, ErrNotFound) {
		return withDefaults(api.TeleworkPolicy{Department: dept, Mode: api.TeleworkFree}), nil
	}
	if err != nil {
		return p, err
	}
	return withDefaults(p), nil
}

func withDefaults(p api.TeleworkPolicy) api.TeleworkPolicy {
	if p.Mode == "" {
		p.Mode = api.TeleworkFree
	}
	if p.WorkStart == "" {
		p.WorkStart = DefaultWorkStart
	}
	if p.WorkEnd == "" {
		p.WorkEnd = DefaultWorkEnd
	}
	if p.HoursEnd != "" && p.WarnMinutes == 0 {
		p.WarnMinutes = DefaultWarn
	}
	return p
}

// clock reads "HH:MM" as minutes after midnight.
func clock(field, v string) (int, error) {
	t, err := time.Parse("15:04", v)
	if err != nil || len(v) != 5 {
		return 0, api.Errf(api.CodeValidation, "%s: a time as HH:MM", field)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// at is the instant of "HH:MM" on the day (JST midnight).
func at(day time.Time, hhmm string) time.Time {
	m, _ := clock("", hhmm)
	return day.Add(time.Duration(m) * time.Minute)
}

func checkPolicy(p api.TeleworkPolicy) error {
	switch p.Mode {
	case api.TeleworkFree, api.TeleworkNoticeOnly, api.TeleworkApproval:
	default:
		return api.Err(api.CodeValidation, "mode: free, notice or approval")
	}
	if e := api.CheckText("department", p.Department, 100); e != nil {
		return e
	}
	if p.Department == "" {
		return api.Err(api.CodeValidation, "department: required")
	}
	if (p.HoursStart == "") != (p.HoursEnd == "") {
		return api.Err(api.CodeValidation, "hours_start, hours_end: both or neither")
	}
	if p.HoursStart != "" {
		a, err := clock("hours_start", p.HoursStart)
		if err != nil {
			return err
		}
		b, err := clock("hours_end", p.HoursEnd)
		if err != nil {
			return err
		}
		if b <= a {
			return api.Err(api.CodeValidation, "hours_end: after hours_start")
		}
	} else if p.Disconnect {
		return api.Err(api.CodeValidation, "disconnect: needs hours_start and hours_end")
	}
	if p.WarnMinutes < 0 || p.WarnMinutes > 120 {
		return api.Err(api.CodeValidation, "warn_minutes: between 0 and 120")
	}
	a, err := clock("work_start", p.WorkStart)
	if err != nil {
		return err
	}
	b, err := clock("work_end", p.WorkEnd)
	if err != nil {
		return err
	}
	if b <= a {
		return api.Err(api.CodeValidation, "work_end: after work_start")
	}
	return nil
}

// SetPolicy sets a department's policy (IT); the change is recorded.
func (s *Service) SetPolicy(ctx context.Context, actor string, p api.TeleworkPolicy) (api.TeleworkPolicy, error) {
	p = withDefaults(p)
	if err := checkPolicy(p); err != nil {
		return api.TeleworkPolicy{}, err
	}
	p.UpdatedAt, p.UpdatedBy = s.now(), actor
	if err := s.st.PutPolicy(ctx, p); err != nil {
		return api.TeleworkPolicy{}, err
	}
	s.record(ctx, actor, "admin.telework_policy_changed", p.Department, "mode", p.Mode,
		"hours", p.HoursStart+"-"+p.HoursEnd, "disconnect", fmt.Sprint(p.Disconnect), "warn_minutes", fmt.Sprint(p.WarnMinutes),
		"work", p.WorkStart+"-"+p.WorkEnd)
	return p, nil
}

// Policies lists the departments IT set a policy for.
func (s *Service) Policies(ctx context.Context) (api.TeleworkPolicyList, error) {
	ps, err := s.st.Policies(ctx)
	if err != nil {
		return api.TeleworkPolicyList{}, err
	}
	out := api.TeleworkPolicyList{Policies: []api.TeleworkPolicy{}}
	for _, p := range ps {
		out.Policies = append(out.Policies, withDefaults(p))
	}
	return out, nil
}

// ---- holidays ----

// PutHoliday adds or renames a day off (IT).
func (s *Service) PutHoliday(ctx context.Context, actor string, h api.Holiday) (api.Holiday, error) {
	if _, err := ParseDate("date", h.Date); err != nil {
		return h, err
	}
	if h.Kind == "" {
		h.Kind = "national"
	}
	if h.Kind != "national" && h.Kind != "municipal" {
		return h, api.Err(api.CodeValidation, "kind: national or municipal")
	}
	if e := api.CheckText("name", h.Name, 100); e != nil {
		return h, e
	}
	if h.Name == "" {
		return h, api.Err(api.CodeValidation, "name: required")
	}
	if err := s.st.PutHoliday(ctx, h); err != nil {
		return h, err
	}
	s.record(ctx, actor, "admin.telework_holiday_set", h.Date, "name", h.Name, "kind", h.Kind)
	return h, nil
}

// DeleteHoliday removes a day off (IT).
func (s *Service) DeleteHoliday(ctx context.Context, actor, date string) error {
	if _, err := ParseDate("date", date); err != nil {
		return err
	}
	err := s.st.DeleteHoliday(ctx, date)
	if errors.Is(err, ErrNotFound) {
		return api.Errf(api.CodeNotFound, "no holiday on %s", date)
	}
	if err == nil {
		s.record(ctx, actor, "admin.telework_holiday_removed", date)
	}
	return err
}

// Holidays lists the days off between two dates (empty: all).
func (s *Service) Holidays(ctx context.Context, from, to string) (api.HolidayList, error) {
	hs, err := s.st.Holidays(ctx, from, to)
	if err != nil {
		return api.HolidayList{}, err
	}
	if hs == nil {
		hs = []api.Holiday{}
	}
	return api.HolidayList{Holidays: hs}, nil
}

// calendar answers "is this a day off" for a range read once.
type calendar map[string]bool

func (s *Service) calendar(ctx context.Context, from, to string) (calendar, error) {
	hs, err := s.st.Holidays(ctx, from, to)
	if err != nil {
		return nil, err
	}
	c := calendar{}
	for _, h := range hs {
		c[h.Date] = true
	}
	return c, nil
}

func (c calendar) dayOff(d time.Time) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday || c[d.Format(dateLayout)]
}

// ---- approvers ----

// SetApprovers names the department's approvers beside its supervisors (IT).
func (s *Service) SetApprovers(ctx context.Context, actor, dept string, users []string) (api.TeleworkApprovers, error) {
	if e := api.CheckText("department", dept, 100); e != nil {
		return api.TeleworkApprovers{}, e
	}
	if len(users) > 50 {
		return api.TeleworkApprovers{}, api.Err(api.CodeValidation, "users: at most 50")
	}
	users = slices.Clone(users)
	slices.Sort(users)
	users = slices.Compact(users)
	for _, id := range users {
		if _, err := s.dir.User(ctx, id); errors.Is(err, ErrNotFound) {
			return api.TeleworkApprovers{}, api.Errf(api.CodeValidation, "users: no member of staff %q", id)
		} else if err != nil {
			return api.TeleworkApprovers{}, err
		}
	}
	if err := s.st.SetApprovers(ctx, dept, users); err != nil {
		return api.TeleworkApprovers{}, err
	}
	s.record(ctx, actor, "admin.telework_approvers_set", dept, "users", fmt.Sprint(users))
	return api.TeleworkApprovers{Department: dept, Users: users}, nil
}

// Approvers returns the approvers IT named for a department.
func (s *Service) Approvers(ctx context.Context, dept string) (api.TeleworkApprovers, error) {
	us, err := s.st.Approvers(ctx, dept)
	if us == nil {
		us = []string{}
	}
	return api.TeleworkApprovers{Department: dept, Users: us}, err
}

// approvers are who decide a department's requests on date: its
// supervisors, the approvers IT named, and the stand-ins of either in
// force that day (stand-in reports which came in that way).
func (s *Service) approvers(ctx context.Context, dept, date string) (ids []string, standIn map[string]bool, err error) {
	staff, err := s.dir.Department(ctx, dept)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range staff {
		if u.Department == dept && !u.Disabled && u.HasRole(api.RoleSupervisor) {
			ids = append(ids, u.ID)
		}
	}
	named, err := s.st.Approvers(ctx, dept)
	if err != nil {
		return nil, nil, err
	}
	ids = append(ids, named...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	sis, err := s.st.StandIns(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	standIn = map[string]bool{}
	for _, si := range sis {
		if si.From <= date && date <= si.To && !slices.Contains(ids, si.StandIn) {
			standIn[si.StandIn] = true
		}
	}
	for id := range standIn {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, standIn, nil
}

// mayDecide checks that u may decide requests of dept today; a request of
// their own never (checked by the caller, who knows the request).
func (s *Service) mayDecide(ctx context.Context, u api.User, dept string) (standIn bool, err error) {
	ids, si, err := s.approvers(ctx, dept, s.today())
	if err != nil {
		return false, err
	}
	if !slices.Contains(ids, u.ID) {
		return false, api.Err(api.CodeTeleworkNotApprover)
	}
	return si[u.ID], nil
}

// SetStandIn names who decides in the caller's place between two dates
// (代理承認). Only an approver may name one, and only a colleague.
func (s *Service) SetStandIn(ctx context.Context, u api.User, req api.TeleworkStandIn) (api.TeleworkStandIn, error) {
	if _, err := s.mayDecide(ctx, u, u.Department); err != nil {
		return req, err
	}
	from, err := ParseDate("from", req.From)
	if err != nil {
		return req, err
	}
	to, err := ParseDate("to", req.To)
	if err != nil {
		return req, err
	}
	if to.Before(from) || to.Sub(from) > 366*24*time.Hour {
		return req, api.Err(api.CodeValidation, "to: on or after from, within a year")
	}
	if req.StandIn == u.ID || req.StandIn == "" {
		return req, api.Err(api.CodeValidation, "stand_in: a colleague other than yourself")
	}
	si, err := s.dir.User(ctx, req.StandIn)
	if errors.Is(err, ErrNotFound) || (err == nil && (si.Disabled || si.Department != u.Department)) {
		return req, api.Err(api.CodeValidation, "stand_in: a colleague of your section")
	} else if err != nil {
		return req, err
	}
	req.Approver = u.ID
	if err := s.st.PutStandIn(ctx, StandIn{Approver: u.ID, StandIn: req.StandIn, From: req.From, To: req.To}); err != nil {
		return req, err
	}
	s.record(ctx, u.ID, "telework.stand_in_set", req.StandIn, "from", req.From, "to", req.To)
	return req, nil
}

// ---- requests ----

var reasons = []string{api.ReasonChildcare, api.ReasonCare, api.ReasonHealth, api.ReasonBCP, api.ReasonOther}

// maxDates bounds one request's dates: a month's working days and more.
const maxDates = 31

// Request files a request for u. Under a notice-only policy it is in
// force at once; otherwise it waits for an approver.
func (s *Service) Request(ctx context.Context, u api.User, in api.TeleworkRequestCreate) (api.TeleworkRequest, error) {
	if !slices.Contains(reasons, in.Reason) {
		return api.TeleworkRequest{}, api.Err(api.CodeValidation, "reason: childcare, care, health, bcp or other")
	}
	if in.Half != "" && in.Half != api.HalfMorning && in.Half != api.HalfAfternoon {
		return api.TeleworkRequest{}, api.Err(api.CodeValidation, "half: am, pm or empty")
	}
	if e := api.CheckText("note", in.Note, 500); e != nil {
		return api.TeleworkRequest{}, e
	}
	if u.Department == "" {
		return api.TeleworkRequest{}, api.Err(api.CodeValidation, "you belong to no department; ask IT")
	}
	now := s.now().In(JST)
	today := now.Format(dateLayout)
	r := api.TeleworkRequest{ID: newID(), UserID: u.ID, Department: u.Department, Half: in.Half, Reason: in.Reason,
		Note: in.Note, CreatedAt: s.now()}
	switch {
	case len(in.Dates) > 0 && in.FiscalYear != 0:
		return r, api.Err(api.CodeValidation, "dates or fiscal_year, not both")
	case len(in.Dates) > 0:
		if len(in.Dates) > maxDates {
			return r, api.Errf(api.CodeValidation, "dates: at most %d", maxDates)
		}
		ds := slices.Clone(in.Dates)
		slices.Sort(ds)
		ds = slices.Compact(ds)
		cal, err := s.calendar(ctx, ds[0], ds[len(ds)-1])
		if err != nil {
			return r, err
		}
		for _, d := range ds {
			t, err := ParseDate("dates", d)
			if err != nil {
				return r, err
			}
			if d < today {
				return r, api.Errf(api.CodeValidation, "dates: %s has passed", d)
			}
			if cal.dayOff(t) {
				return r, api.Errf(api.CodeTeleworkDayOff, "%s", d)
			}
		}
		r.Kind, r.Dates, r.From, r.To = api.TeleworkDates, ds, ds[0], ds[len(ds)-1]
	case in.FiscalYear != 0:
		fy := fiscalYear(now)
		if in.FiscalYear < fy || in.FiscalYear > fy+1 {
			return r, api.Errf(api.CodeValidation, "fiscal_year: %d or %d", fy, fy+1)
		}
		r.Kind, r.FiscalYear = api.TeleworkPeriod, in.FiscalYear
		r.From = max(fmt.Sprintf("%d-04-01", in.FiscalYear), today)
		r.To = fmt.Sprintf("%d-03-31", in.FiscalYear+1)
	default:
		return r, api.Err(api.CodeValidation, "dates or fiscal_year: one is required")
	}
	r.SameDay = r.From == today
	// One active request per day: two would leave it unclear which holds.
	mine, err := s.st.Requests(ctx, u.ID, "", r.From, r.To)
	if err != nil {
		return r, err
	}
	for _, o := range mine {
		if active(o) && overlaps(o, r) {
			return r, api.Errf(api.CodeTeleworkOverlap, "%s", o.ID)
		}
	}
	pol, err := s.Policy(ctx, u.Department)
	if err != nil {
		return r, err
	}
	r.State = api.RequestPending
	if pol.Mode == api.TeleworkNoticeOnly {
		r.State = api.RequestNoticed
	}
	if err := s.st.CreateRequest(ctx, r); err != nil {
		return r, err
	}
	r.UserName = u.Name
	s.record(ctx, u.ID, "telework.requested", r.ID, "kind", r.Kind, "from", r.From, "to", r.To, "half", r.Half,
		"reason", r.Reason, "same_day", fmt.Sprint(r.SameDay), "state", r.State)
	kind, verb := "pending", "テレワークを申請しました"
	if r.State == api.RequestNoticed {
		kind, verb = api.RequestNoticed, "テレワークを届け出ました"
	}
	ids, _, err := s.approvers(ctx, u.Department, today)
	if err != nil {
		s.log.Warn("telework: approvers", "department", u.Department, "err", err)
	}
	text := fmt.Sprintf("%s（%s）さんが%s：%s%s（%s）", u.Name, u.ID, verb, span(r), halfLabel(r.Half), reasonLabel(r.Reason))
	if r.SameDay {
		text += "【当日申請】"
	}
	for _, id := range ids {
		if id != u.ID {
			s.tell(ctx, id, r.ID+"-"+kind, text, api.EventTeleworkPending,
				api.TeleworkNotice{Kind: kind, RequestID: r.ID, UserID: u.ID, At: s.now()})
		}
	}
	return r, nil
}

// tell posts a chat system message and stores an event for the tray.
func (s *Service) tell(ctx context.Context, userID, key, text, typ string, n api.TeleworkNotice) {
	if s.notify != nil {
		if err := s.notify.Notify(ctx, userID, key, text); err != nil {
			s.log.Warn("telework: chat notice", "user", userID, "err", err)
		}
	}
	if s.push != nil {
		s.push.Publish(userID, typ, n)
	}
}

func span(r api.TeleworkRequest) string {
	switch {
	case r.Kind == api.TeleworkPeriod:
		return fmt.Sprintf("%d年度（%s〜%s）", r.FiscalYear, r.From, r.To)
	case len(r.Dates) == 1:
		return r.Dates[0]
	}
	return fmt.Sprintf("%s ほか%d日", r.Dates[0], len(r.Dates)-1)
}

func halfLabel(h string) string {
	switch h {
	case api.HalfMorning:
		return " 午前"
	case api.HalfAfternoon:
		return " 午後"
	}
	return ""
}

func reasonLabel(r string) string {
	return map[string]string{api.ReasonChildcare: "育児", api.ReasonCare: "介護", api.ReasonHealth: "健康上の理由",
		api.ReasonBCP: "BCP", api.ReasonOther: "その他"}[r]
}

// active requests hold their days: waiting, approved or noticed.
func active(r api.TeleworkRequest) bool {
	return r.State == api.RequestPending || r.State == api.RequestApproved || r.State == api.RequestNoticed
}

// inForce requests allow telework on their days.
func inForce(r api.TeleworkRequest) bool {
	return r.State == api.RequestApproved || r.State == api.RequestNoticed
}

// covers reports whether a request names the date (a period names every
// working day of it; the caller checks days off).
func covers(r api.TeleworkRequest, date string) bool {
	if date < r.From || date > r.To {
		return false
	}
	return r.Kind == api.TeleworkPeriod || slices.Contains(r.Dates, date)
}

func overlaps(a, b api.TeleworkRequest) bool {
	if a.To < b.From || b.To < a.From {
		return false
	}
	if a.Kind == api.TeleworkPeriod || b.Kind == api.TeleworkPeriod {
		return true
	}
	for _, d := range a.Dates {
		if slices.Contains(b.Dates, d) {
			return true
		}
	}
	return false
}

// Mine lists u's requests from a date on (default: 30 days back).
func (s *Service) Mine(ctx context.Context, u api.User) (api.TeleworkRequestList, error) {
	from := s.now().In(JST).AddDate(0, 0, -30).Format(dateLayout)
	rs, err := s.st.Requests(ctx, u.ID, "", from, "")
	if rs == nil {
		rs = []api.TeleworkRequest{}
	}
	return api.TeleworkRequestList{Requests: rs}, err
}

// Withdraw takes back u's own request: a pending one at any time, one in
// force until its first day begins.
func (s *Service) Withdraw(ctx context.Context, u api.User, id string) (api.TeleworkRequest, error) {
	today := s.today()
	r, err := s.st.UpdateRequest(ctx, id, func(r *api.TeleworkRequest) error {
		if r.UserID != u.ID {
			return api.Err(api.CodeTeleworkNoRequest) // another's request is not found, so IDs reveal nothing
		}
		switch {
		case !active(*r):
			return api.Err(api.CodeTeleworkDecided)
		case r.State != api.RequestPending && r.From <= today:
			return api.Err(api.CodeTeleworkStarted)
		}
		r.State = api.RequestWithdrawn
		r.DecidedAt = s.now()
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return r, api.Err(api.CodeTeleworkNoRequest)
	}
	if err != nil {
		return r, err
	}
	s.record(ctx, u.ID, "telework.withdrawn", id)
	return r, nil
}

// Pending lists the requests u may decide in a section (default: u's
// own; a named approver from elsewhere names the section): waiting, not
// u's own.
func (s *Service) Pending(ctx context.Context, u api.User, dept string) (api.TeleworkRequestList, error) {
	out := api.TeleworkRequestList{Requests: []api.TeleworkRequest{}}
	if dept == "" {
		dept = u.Department
	}
	if _, err := s.mayDecide(ctx, u, dept); err != nil {
		return out, err
	}
	rs, err := s.st.Requests(ctx, "", dept, s.today(), "")
	if err != nil {
		return out, err
	}
	names := s.names(ctx, dept)
	for _, r := range rs {
		if r.State == api.RequestPending && r.UserID != u.ID {
			r.UserName = names[r.UserID]
			out.Requests = append(out.Requests, r)
		}
	}
	return out, nil
}

func (s *Service) names(ctx context.Context, dept string) map[string]string {
	m := map[string]string{}
	us, err := s.dir.Department(ctx, dept)
	if err != nil {
		return m
	}
	for _, u := range us {
		m[u.ID] = u.Name
	}
	return m
}

// Decide approves or declines a request. The caller must be an approver
// of the request's section (supervisor, named, or a stand-in in force)
// and not its requester; the requester is told in the app.
func (s *Service) Decide(ctx context.Context, u api.User, id string, d api.TeleworkDecision) (api.TeleworkRequest, error) {
	if e := api.CheckText("comment", d.Comment, 500); e != nil {
		return api.TeleworkRequest{}, e
	}
	cur, err := s.st.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return cur, api.Err(api.CodeTeleworkNoRequest)
	} else if err != nil {
		return cur, err
	}
	if cur.UserID == u.ID {
		return api.TeleworkRequest{}, api.Err(api.CodeTeleworkOwnRequest)
	}
	standIn, err := s.mayDecide(ctx, u, cur.Department)
	if err != nil {
		// Another section's request is not found: IDs reveal nothing
		// outside the section.
		if e := api.AsError(err); e != nil && e.Code == api.CodeTeleworkNotApprover && u.Department != cur.Department {
			return api.TeleworkRequest{}, api.Err(api.CodeTeleworkNoRequest)
		}
		return api.TeleworkRequest{}, err
	}
	r, err := s.st.UpdateRequest(ctx, id, func(r *api.TeleworkRequest) error {
		if r.State != api.RequestPending {
			return api.Err(api.CodeTeleworkDecided)
		}
		r.State = api.RequestDeclined
		if d.Approve {
			r.State = api.RequestApproved
		}
		r.DecidedBy, r.StandIn, r.Comment, r.DecidedAt = u.ID, standIn, d.Comment, s.now()
		return nil
	})
	if err != nil {
		return r, err
	}
	s.record(ctx, u.ID, "telework.decided", id, "state", r.State, "user", r.UserID, "stand_in", fmt.Sprint(standIn))
	verb := "承認されました"
	if !d.Approve {
		verb = "却下されました"
	}
	text := fmt.Sprintf("テレワーク申請（%s%s）が%s（%s）", span(r), halfLabel(r.Half), verb, u.Name)
	if standIn {
		text += "【代理承認】"
	}
	if d.Comment != "" {
		text += "\nコメント：" + d.Comment
	}
	s.tell(ctx, r.UserID, r.ID+"-"+r.State, text, api.EventTeleworkDecided,
		api.TeleworkNotice{Kind: r.State, RequestID: r.ID, UserID: r.UserID, By: u.ID, Comment: d.Comment, At: s.now()})
	return r, nil
}

// ---- the gate the slots ask ----

// Admit says whether the user may take a slot now under the policy of
// their department: within its hours, and with telework in force today
// where a notice or approval is required. The refusal says how to ask.
func (s *Service) Admit(ctx context.Context, userID string) error {
	// The policies first: with none restrictive (the default) a slot
	// request costs one read of a small table and no roster read.
	ps, err := s.st.Policies(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ps, func(p api.TeleworkPolicy) bool { return p.Mode != api.TeleworkFree || p.HoursEnd != "" }) {
		return nil
	}
	u, err := s.dir.User(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil // the slots refuse unknown users in their own way
	} else if err != nil {
		return err
	}
	pol := withDefaults(api.TeleworkPolicy{Department: u.Department, Mode: api.TeleworkFree})
	if i := slices.IndexFunc(ps, func(p api.TeleworkPolicy) bool { return p.Department == u.Department }); i >= 0 {
		pol = withDefaults(ps[i])
	}
	now := s.now().In(JST)
	if pol.HoursStart != "" {
		day := midnight(now)
		if now.Before(at(day, pol.HoursStart)) || !now.Before(at(day, pol.HoursEnd)) {
			return api.Errf(api.CodeTeleworkOutsideHours, "%s–%s", pol.HoursStart, pol.HoursEnd)
		}
	}
	if pol.Mode == api.TeleworkFree {
		return nil
	}
	today := now.Format(dateLayout)
	rs, err := s.st.Requests(ctx, userID, "", today, today)
	if err != nil {
		return err
	}
	pending := false
	for _, r := range rs {
		if !covers(r, today) {
			continue
		}
		if inForce(r) {
			return nil
		}
		pending = pending || r.State == api.RequestPending
	}
	switch {
	case pol.Mode == api.TeleworkNoticeOnly:
		return api.Err(api.CodeTeleworkNoticeRequired)
	case pending:
		return api.Err(api.CodeTeleworkApprovalPending)
	}
	return api.Err(api.CodeTeleworkApprovalRequired)
}

func midnight(t time.Time) time.Time {
	t = t.In(JST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, JST)
}

// Window is the end of a user's allowed hours today.
type Window struct {
	EndsAt     time.Time
	Warn       time.Duration
	Disconnect bool
}

// Windows returns the end of today's allowed hours of each user whose
// department sets hours; users of departments without hours are left out.
func (s *Service) Windows(ctx context.Context, userIDs []string) (map[string]Window, error) {
	ps, err := s.st.Policies(ctx)
	if err != nil {
		return nil, err
	}
	byDept := map[string]api.TeleworkPolicy{}
	for _, p := range ps {
		if p.HoursEnd != "" {
			byDept[p.Department] = withDefaults(p)
		}
	}
	if len(byDept) == 0 || len(userIDs) == 0 {
		return nil, nil // the default: no department limits its hours
	}
	day := midnight(s.now())
	out := map[string]Window{}
	for _, id := range userIDs {
		u, err := s.dir.User(ctx, id)
		if err != nil {
			continue
		}
		if p, ok := byDept[u.Department]; ok {
			out[id] = Window{EndsAt: at(day, p.HoursEnd), Warn: time.Duration(p.WarnMinutes) * time.Minute, Disconnect: p.Disconnect}
		}
	}
	return out, nil
}

// sortRequests orders requests oldest first (engines promise it; merged
// lists need it again).
func sortRequests(rs []api.TeleworkRequest) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].CreatedAt.Before(rs[j].CreatedAt) })
}
