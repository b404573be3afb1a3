package server

import (
	"fmt"
	"net/http"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/csvexport"
)

// teleworkRoutes are telework requests and approval, the working-time
// record, the supervisor's view and IT's policy, calendar and HR export.
// Staff routes act as the caller; whether the caller may decide a
// request or see a section is the domain's check (approvers are
// supervisors, named approvers and stand-ins, who need not hold a role).
func (s *Server) teleworkRoutes() []route {
	S, A := api.RoleStaff, api.RoleAdmin
	return []route{
		{method: "POST", path: "/v1/telework/requests", role: S, handle: s.twRequest, in: api.TeleworkRequestCreate{}, out: api.TeleworkRequest{},
			summary: "Ask for telework on dates (or half days) or for a fiscal year, with a reason; same-day requests are marked. Under a notice-only policy it is in force at once."},
		{method: "GET", path: "/v1/telework/requests", role: S, handle: s.twMine, out: api.TeleworkRequestList{},
			summary: "The caller's requests of the last 30 days and to come."},
		{method: "POST", path: "/v1/telework/requests/{id}/withdraw", role: S, handle: s.twWithdraw, out: api.TeleworkRequest{},
			summary: "Withdraw one's own request: a pending one at any time, an approved one until its first day."},
		{method: "POST", path: "/v1/telework/requests/{id}/decision", role: S, handle: s.twDecide, in: api.TeleworkDecision{}, out: api.TeleworkRequest{},
			summary: "Approve or decline a request of the caller's section, with a comment (the section's supervisor, a named approver or their stand-in; never one's own). The requester is told in the app."},
		{method: "GET", path: "/v1/telework/approvals", role: S, handle: s.twPending, out: api.TeleworkRequestList{},
			query:   map[string]string{"department": "a section the caller approves for (default: their own)"},
			summary: "The requests waiting for the caller's decision."},
		{method: "PUT", path: "/v1/telework/stand-in", role: S, handle: s.twStandIn, in: api.TeleworkStandIn{}, out: api.TeleworkStandIn{},
			summary: "An approver names a colleague to decide in their place between two dates (代理承認)."},
		{method: "POST", path: "/v1/telework/work/start", role: S, handle: s.twStart, in: api.TeleworkWorkStart{}, out: api.WorkDay{},
			summary: "Start work today at a place (home, satellite office, other); the section's approvers are told."},
		{method: "POST", path: "/v1/telework/work/end", role: S, handle: s.twEnd, out: api.WorkDay{},
			summary: "End work today; the approvers are told, with a flag past the planned end."},
		{method: "GET", path: "/v1/telework/today", role: S, handle: s.twToday, out: api.TeleworkToday{},
			summary: "The caller's day: the department's policy, day off or not, the record so far, open requests."},
		{method: "GET", path: "/v1/telework/section", role: S, handle: s.twSection, out: api.TeleworkSection{},
			query:   map[string]string{"department": "a section the caller approves for (default: their own)"},
			summary: "The supervisor's view of their section today: who teleworks, who is connected, started and ended when, flags, pending requests."},
		{method: "GET", path: "/v1/telework/holidays", role: S, handle: s.twHolidays, out: api.HolidayList{},
			query:   map[string]string{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"},
			summary: "Days off in IT's calendar (national holidays and the municipality's own)."},

		{method: "GET", path: "/admin/v1/telework/policies", role: A, also: readers, handle: s.twPolicies, out: api.TeleworkPolicyList{},
			summary: "Every department's telework policy IT set (others are free)."},
		{method: "PUT", path: "/admin/v1/telework/policies/{department}", role: A, handle: s.twSetPolicy, in: api.TeleworkPolicy{}, out: api.TeleworkPolicy{},
			summary: "Set a department's policy: free, notice only or approval required; allowed hours with a warning and an optional disconnect; the planned working day."},
		{method: "GET", path: "/admin/v1/telework/holidays", role: A, also: readers, handle: s.twHolidays, out: api.HolidayList{},
			query:   map[string]string{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"},
			summary: "The holiday calendar."},
		{method: "PUT", path: "/admin/v1/telework/holidays/{date}", role: A, handle: s.twPutHoliday, in: api.Holiday{}, out: api.Holiday{},
			summary: "Add or rename a day off (national or municipal)."},
		{method: "DELETE", path: "/admin/v1/telework/holidays/{date}", role: A, handle: s.twDeleteHoliday,
			summary: "Remove a day off."},
		{method: "GET", path: "/admin/v1/telework/approvers/{department}", role: A, also: readers, handle: s.twApprovers, out: api.TeleworkApprovers{},
			summary: "The approvers IT named for a department, beside its supervisors."},
		{method: "PUT", path: "/admin/v1/telework/approvers/{department}", role: A, handle: s.twSetApprovers, in: api.TeleworkApprovers{}, out: api.TeleworkApprovers{},
			summary: "Name a department's approvers (the roster's), beside its supervisors."},
		{method: "GET", path: "/admin/v1/telework/export", role: A, also: readers, handle: s.twExport, stream: true,
			query: map[string]string{"from": "YYYY-MM-DD (JST)", "to": "YYYY-MM-DD, inclusive", "department": "one department (default: all)",
				"lang": "CSV headers and words: ja (default) or en", "tz": "start and end times: JST (default) or UTC"},
			summary: "HR's working-time export: per person per day, planned versus actual start and end, break and working minutes, place, flags; CSV with Japanese headers and JST times unless lang=en, tz=UTC, UTF-8 with BOM. Recorded."},
	}
}

func (s *Server) twRequest(c *call) (any, error) {
	var req api.TeleworkRequestCreate
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	r, err := s.tw.Request(c.R.Context(), c.P.User, req)
	if err != nil {
		return nil, err
	}
	return created{r}, nil
}

func (s *Server) twMine(c *call) (any, error) { return s.tw.Mine(c.R.Context(), c.P.User) }

func (s *Server) twWithdraw(c *call) (any, error) {
	return s.tw.Withdraw(c.R.Context(), c.P.User, c.R.PathValue("id"))
}

func (s *Server) twDecide(c *call) (any, error) {
	var req api.TeleworkDecision
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.tw.Decide(c.R.Context(), c.P.User, c.R.PathValue("id"), req)
}

func (s *Server) twPending(c *call) (any, error) {
	return s.tw.Pending(c.R.Context(), c.P.User, c.R.URL.Query().Get("department"))
}

func (s *Server) twStandIn(c *call) (any, error) {
	var req api.TeleworkStandIn
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.tw.SetStandIn(c.R.Context(), c.P.User, req)
}

func (s *Server) twStart(c *call) (any, error) {
	var req api.TeleworkWorkStart
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.tw.StartWork(c.R.Context(), c.P.User, req)
}

func (s *Server) twEnd(c *call) (any, error) { return s.tw.EndWork(c.R.Context(), c.P.User) }

func (s *Server) twToday(c *call) (any, error) { return s.tw.Today(c.R.Context(), c.P.User) }

func (s *Server) twSection(c *call) (any, error) {
	return s.tw.Section(c.R.Context(), c.P.User, c.R.URL.Query().Get("department"))
}

func (s *Server) twHolidays(c *call) (any, error) {
	q := c.R.URL.Query()
	return s.tw.Holidays(c.R.Context(), q.Get("from"), q.Get("to"))
}

func (s *Server) twPolicies(c *call) (any, error) { return s.tw.Policies(c.R.Context()) }

func (s *Server) twSetPolicy(c *call) (any, error) {
	var p api.TeleworkPolicy
	if err := c.Decode(&p); err != nil {
		return nil, err
	}
	p.Department = c.R.PathValue("department")
	return s.tw.SetPolicy(c.R.Context(), c.P.User.ID, p)
}

func (s *Server) twPutHoliday(c *call) (any, error) {
	var h api.Holiday
	if err := c.Decode(&h); err != nil {
		return nil, err
	}
	h.Date = c.R.PathValue("date")
	return s.tw.PutHoliday(c.R.Context(), c.P.User.ID, h)
}

func (s *Server) twDeleteHoliday(c *call) (any, error) {
	return noContent, s.tw.DeleteHoliday(c.R.Context(), c.P.User.ID, c.R.PathValue("date"))
}

func (s *Server) twApprovers(c *call) (any, error) {
	return s.tw.Approvers(c.R.Context(), c.R.PathValue("department"))
}

func (s *Server) twSetApprovers(c *call) (any, error) {
	var req api.TeleworkApprovers
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.tw.SetApprovers(c.R.Context(), c.P.User.ID, c.R.PathValue("department"), req.Users)
}

func (s *Server) twExport(c *call) (any, error) {
	q := c.R.URL.Query()
	eq := api.TeleworkExportQuery{From: q.Get("from"), To: q.Get("to"), Department: q.Get("department")}
	o, err := csvexport.Parse(q.Get("lang"), q.Get("tz"))
	if err != nil {
		return nil, err
	}
	w := &startOnWrite{w: c.W, start: func(h http.Header) {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="telework-%s-%s.csv"`, eq.From, eq.To))
	}}
	n, err := s.tw.Export(c.R.Context(), c.P.User.ID, eq, o, w)
	switch {
	case err != nil && !w.started:
		return nil, err
	case err != nil:
		s.log.Warn("telework export ended early", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil, nil
}
