package telework_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
)

// TestTeleworkApprovalAuthz: nobody decides their own request; a member
// of staff without the approver's standing, or a supervisor of another
// section, decides nothing; a named approver and a stand-in in force do.
// Then every telework route is tried as plain staff of the section and
// as another section's supervisor against the section's request, and
// each answer is the one the route must give (a route missing from the
// table below fails the test, so a new one must say what it allows).
func TestTeleworkApprovalAuthz(t *testing.T) {
	e := start(t, wed0900)
	e.policy(t, api.TeleworkPolicy{Department: soumu, Mode: api.TeleworkApproval})
	k1 := e.login(t, "k1001", soumu)
	k2 := e.login(t, "k1002", soumu)
	boss := e.login(t, "s1001", soumu, api.RoleStaff, api.RoleSupervisor)
	other := e.login(t, "s2001", zeimu, api.RoleStaff, api.RoleSupervisor)
	named := e.login(t, "j1001", "人事課")
	deputy := e.login(t, "k1003", soumu)
	today := date(e.b.Now())
	r1, err := k1.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: []string{today}, Reason: api.ReasonChildcare})
	if err != nil {
		t.Fatal(err)
	}
	rBoss, err := boss.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: []string{today}, Reason: api.ReasonBCP})
	if err != nil {
		t.Fatal(err)
	}
	ok := api.TeleworkDecision{Approve: true}
	type try struct {
		name string
		err  error
		want api.Code
	}
	_, e1 := k1.DecideTelework(e.ctx, r1.ID, ok)
	_, e2 := k2.DecideTelework(e.ctx, r1.ID, ok)
	_, e3 := other.DecideTelework(e.ctx, r1.ID, ok)
	_, e4 := boss.DecideTelework(e.ctx, rBoss.ID, ok)
	_, e5 := named.DecideTelework(e.ctx, r1.ID, ok)
	_, e6 := deputy.DecideTelework(e.ctx, rBoss.ID, ok)
	_, e7 := k2.WithdrawTelework(e.ctx, r1.ID)
	_, e8 := boss.WithdrawTelework(e.ctx, r1.ID)
	_, e9 := k2.SetTeleworkStandIn(e.ctx, api.TeleworkStandIn{StandIn: "k1003", From: today, To: today})
	_, e10 := other.SetTeleworkStandIn(e.ctx, api.TeleworkStandIn{StandIn: "k1003", From: today, To: today})
	_, e11 := boss.SetTeleworkStandIn(e.ctx, api.TeleworkStandIn{StandIn: "s2001", From: today, To: today})
	for _, c := range []try{
		{"own request", e1, api.CodeTeleworkOwnRequest},
		{"staff of the section", e2, api.CodeTeleworkNotApprover},
		{"another section's supervisor", e3, api.CodeTeleworkNoRequest},
		{"supervisor's own request", e4, api.CodeTeleworkOwnRequest},
		{"not yet named", e5, api.CodeTeleworkNoRequest},
		{"not yet a stand-in", e6, api.CodeTeleworkNotApprover},
		{"withdraw another's", e7, api.CodeTeleworkNoRequest},
		{"supervisor withdraws another's", e8, api.CodeTeleworkNoRequest},
		{"staff names a stand-in", e9, api.CodeTeleworkNotApprover},
		{"another section's supervisor names a stand-in here", e10, api.CodeValidation},
		{"stand-in from another section", e11, api.CodeValidation},
	} {
		if code(c.err) != c.want {
			t.Errorf("%s: err = %v, want %s", c.name, c.err, c.want)
		}
	}
	if _, err := k2.TeleworkApprovals(e.ctx, ""); code(err) != api.CodeTeleworkNotApprover {
		t.Errorf("staff's approvals: %v", err)
	}
	if l, err := other.TeleworkApprovals(e.ctx, ""); err != nil || len(l.Requests) != 0 {
		t.Errorf("another section's approvals: %+v, %v", l, err)
	}
	if _, err := other.TeleworkSection(e.ctx, soumu); code(err) != api.CodeTeleworkNotApprover {
		t.Errorf("another section's view: %v", err)
	}
	if _, err := k2.TeleworkSection(e.ctx, ""); code(err) != api.CodeTeleworkNotApprover {
		t.Errorf("staff's section view: %v", err)
	}

	// Named by IT: decides the section's requests from another section.
	if _, err := e.it.SetTeleworkApprovers(e.ctx, soumu, []string{"j1001"}); err != nil {
		t.Fatal(err)
	}
	if l, err := named.TeleworkApprovals(e.ctx, soumu); err != nil || len(l.Requests) != 2 {
		t.Errorf("named approver's approvals of the section: %+v, %v", l, err)
	}
	if _, err := named.TeleworkApprovals(e.ctx, ""); code(err) != api.CodeTeleworkNotApprover {
		t.Errorf("named approver's own section: %v", err)
	}
	if d, err := named.DecideTelework(e.ctx, r1.ID, ok); err != nil || d.State != api.RequestApproved || d.StandIn {
		t.Fatalf("named approver: %+v, %v", d, err)
	}
	// A stand-in in force decides, marked 代理承認, even the request of
	// the supervisor they stand in for.
	if _, err := boss.SetTeleworkStandIn(e.ctx, api.TeleworkStandIn{StandIn: "k1003", From: today, To: today}); err != nil {
		t.Fatal(err)
	}
	if d, err := deputy.DecideTelework(e.ctx, rBoss.ID, ok); err != nil || !d.StandIn || d.DecidedBy != "k1003" {
		t.Fatalf("stand-in: %+v, %v", d, err)
	}
	if !anyContains(e.notices(t, "s1001"), "代理承認") {
		t.Errorf("supervisor's notices = %q", e.notices(t, "s1001"))
	}

	// Every telework route, as plain staff of the section and as another
	// section's supervisor, aimed at the section's next request.
	r2, err := k1.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: []string{"2026-06-04"}, Reason: api.ReasonCare})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status int
		code   api.Code // "" for a success, "table" for the route table's refusal
	}
	table := want{http.StatusForbidden, "table"}
	expect := map[string]map[string]want{
		"POST /v1/telework/requests":                    {"staff": {422, api.CodeValidation}, "other": {422, api.CodeValidation}},
		"GET /v1/telework/requests":                     {"staff": {200, ""}, "other": {200, ""}},
		"POST /v1/telework/requests/{id}/withdraw":      {"staff": {404, api.CodeTeleworkNoRequest}, "other": {404, api.CodeTeleworkNoRequest}},
		"POST /v1/telework/requests/{id}/decision":      {"staff": {403, api.CodeTeleworkNotApprover}, "other": {404, api.CodeTeleworkNoRequest}},
		"GET /v1/telework/approvals":                    {"staff": {403, api.CodeTeleworkNotApprover}, "other": {200, ""}},
		"PUT /v1/telework/stand-in":                     {"staff": {403, api.CodeTeleworkNotApprover}, "other": {422, api.CodeValidation}},
		"POST /v1/telework/work/start":                  {"staff": {422, api.CodeValidation}, "other": {422, api.CodeValidation}},
		"POST /v1/telework/work/end":                    {"staff": {200, ""}, "other": {200, ""}},
		"GET /v1/telework/today":                        {"staff": {200, ""}, "other": {200, ""}},
		"GET /v1/telework/section":                      {"staff": {403, api.CodeTeleworkNotApprover}, "other": {403, api.CodeTeleworkNotApprover}},
		"GET /v1/telework/holidays":                     {"staff": {200, ""}, "other": {200, ""}},
		"GET /admin/v1/telework/policies":               {"staff": table, "other": table},
		"PUT /admin/v1/telework/policies/{department}":  {"staff": table, "other": table},
		"GET /admin/v1/telework/holidays":               {"staff": table, "other": table},
		"PUT /admin/v1/telework/holidays/{date}":        {"staff": table, "other": table},
		"DELETE /admin/v1/telework/holidays/{date}":     {"staff": table, "other": table},
		"GET /admin/v1/telework/approvers/{department}": {"staff": table, "other": table},
		"PUT /admin/v1/telework/approvers/{department}": {"staff": table, "other": table},
		"GET /admin/v1/telework/export":                 {"staff": table, "other": table},
	}
	callers := map[string]string{"staff": k2.Token(), "other": other.Token()}
	seen := 0
	for _, rt := range e.b.Server.Routes() {
		if !strings.Contains(rt.Path, "/telework") {
			continue
		}
		seen++
		key := rt.Method + " " + rt.Path
		ws, ok := expect[key]
		if !ok {
			t.Errorf("%s: not in this test's table; say what staff and another section may get", key)
			continue
		}
		path := strings.NewReplacer("{id}", r2.ID, "{department}", soumu, "{date}", "2026-06-10").Replace(rt.Path)
		if rt.Path == "/v1/telework/section" {
			path += "?department=" + soumu
		}
		body := ""
		if rt.HasBody {
			body = "{}"
		}
		for who, tok := range callers {
			status, b, denied := raw(t, e, rt.Method, path, tok, body)
			w := ws[who]
			var ae api.Error
			_ = json.Unmarshal(b, &ae)
			switch {
			case status != w.status:
				t.Errorf("%s as %s: %d %s, want %d", key, who, status, b, w.status)
			case w.code == "table" && !denied:
				t.Errorf("%s as %s: refused by the handler, want the route table", key, who)
			case w.code != "table" && denied:
				t.Errorf("%s as %s: refused by the route table", key, who)
			case w.code != "" && w.code != "table" && ae.Code != w.code:
				t.Errorf("%s as %s: code %s, want %s", key, who, ae.Code, w.code)
			case status == 200 && strings.Contains(string(b), r2.ID):
				t.Errorf("%s as %s: the answer shows another's request", key, who)
			}
		}
	}
	if seen != len(expect) {
		t.Errorf("%d telework routes, %d in this test's table", seen, len(expect))
	}
	// Nothing above changed the request.
	mine, err := e.b.Services.Telework.Mine(e.ctx, e.user(t, "k1001"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mine.Requests {
		if r.ID == r2.ID && r.State != api.RequestPending {
			t.Errorf("request after the attempts: %+v", r)
		}
	}
}
