package telework_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

const soumu, zeimu = "総務課", "税務課"

// TestTeleworkApprovalConnect: under approval required, a slot waits for
// the supervisor's approval; once approved it is granted, and the
// requester is told in chat and by an event for the tray.
func TestTeleworkApprovalConnect(t *testing.T) {
	e := start(t, wed0900)
	e.policy(t, api.TeleworkPolicy{Department: soumu, Mode: api.TeleworkApproval})
	k1 := e.login(t, "k1001", soumu)
	boss := e.login(t, "s1001", soumu, api.RoleStaff, api.RoleSupervisor)

	r, err := k1.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: []string{date(e.b.Now())}, Reason: api.ReasonChildcare, Note: "子の発熱"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != api.RequestPending || !r.SameDay || r.Department != soumu {
		t.Fatalf("request = %+v", r)
	}
	_, err = k1.RequestSlot(e.ctx, api.SlotRequest{Device: "laptop"})
	wantCode(t, "slot before approval", err, api.CodeTeleworkApprovalPending)

	if !anyContains(e.notices(t, "s1001"), "k1001", "申請", "当日申請") {
		t.Errorf("supervisor's notices = %q, want the same-day request", e.notices(t, "s1001"))
	}
	if evs := e.events(t, "s1001", api.EventTeleworkPending); len(evs) != 1 {
		t.Errorf("supervisor's pending events = %d, want 1", len(evs))
	}
	pend, err := boss.TeleworkApprovals(e.ctx, "")
	if err != nil || len(pend.Requests) != 1 || pend.Requests[0].ID != r.ID || pend.Requests[0].UserName != "Test k1001" {
		t.Fatalf("approvals = %+v, %v", pend, err)
	}
	d, err := boss.DecideTelework(e.ctx, r.ID, api.TeleworkDecision{Approve: true, Comment: "お大事に"})
	if err != nil || d.State != api.RequestApproved || d.DecidedBy != "s1001" || d.StandIn {
		t.Fatalf("decision = %+v, %v", d, err)
	}
	sl, err := k1.RequestSlot(e.ctx, api.SlotRequest{Device: "laptop"})
	if err != nil || sl.State != api.SlotGranted {
		t.Fatalf("slot after approval = %+v, %v", sl, err)
	}
	if !anyContains(e.notices(t, "k1001"), "承認されました", "お大事に") {
		t.Errorf("requester's notices = %q", e.notices(t, "k1001"))
	}
	evs := e.events(t, "k1001", api.EventTeleworkDecided)
	if len(evs) != 1 {
		t.Fatalf("decided events = %d", len(evs))
	}
	if n := decode[api.TeleworkNotice](t, evs[0]); n.Kind != api.RequestApproved || n.RequestID != r.ID || n.Comment != "お大事に" {
		t.Errorf("notice = %+v", n)
	}
	// The supervisor's view: k1001 teleworks and is connected.
	sec, err := boss.TeleworkSection(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sec.Staff, func(w api.WorkDay) bool { return w.UserID == "k1001" })
	if i < 0 || !sec.Staff[i].Planned || !sec.Staff[i].Connected || sec.Staff[i].Start.IsZero() {
		t.Errorf("section = %+v", sec)
	}
}

// TestTeleworkApprovalRequiredRefused: without a request the slot is
// refused with a message that says how to ask, in both languages; a
// notice-only section needs a notice and is in at once; a section IT
// never configured is free, as before.
func TestTeleworkApprovalRequiredRefused(t *testing.T) {
	e := start(t, wed0900)
	e.policy(t, api.TeleworkPolicy{Department: soumu, Mode: api.TeleworkApproval})
	e.policy(t, api.TeleworkPolicy{Department: zeimu, Mode: api.TeleworkNoticeOnly})
	k1 := e.login(t, "k1001", soumu)
	z1 := e.login(t, "z1001", zeimu)
	e.staff(t, "z9001", zeimu, api.RoleStaff, api.RoleSupervisor)
	free := e.login(t, "f1001", "企画課")

	_, err := k1.RequestSlot(e.ctx, api.SlotRequest{})
	ae := wantCode(t, "no request", err, api.CodeTeleworkApprovalRequired)
	if ae.Status != http.StatusForbidden || !strings.Contains(ae.MessageJA, "テレワーク申請") || !strings.Contains(ae.MessageJA, "承認") ||
		!strings.Contains(ae.Message, "ask for today") {
		t.Errorf("refusal = %d %q / %q", ae.Status, ae.Message, ae.MessageJA)
	}
	_, err = z1.RequestSlot(e.ctx, api.SlotRequest{})
	ae = wantCode(t, "no notice", err, api.CodeTeleworkNoticeRequired)
	if !strings.Contains(ae.MessageJA, "届け出") {
		t.Errorf("notice refusal = %q", ae.MessageJA)
	}
	r, err := z1.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: []string{date(e.b.Now())}, Reason: api.ReasonBCP})
	if err != nil || r.State != api.RequestNoticed {
		t.Fatalf("notice = %+v, %v", r, err)
	}
	if sl, err := z1.RequestSlot(e.ctx, api.SlotRequest{}); err != nil || sl.State != api.SlotGranted {
		t.Fatalf("slot after notice = %+v, %v", sl, err)
	}
	if !anyContains(e.notices(t, "z9001"), "z1001", "届け出ました") {
		t.Errorf("supervisor's notices = %q", e.notices(t, "z9001"))
	}
	if sl, err := free.RequestSlot(e.ctx, api.SlotRequest{}); err != nil || sl.State != api.SlotGranted {
		t.Fatalf("free department: %+v, %v", sl, err)
	}
	// A slot already held is not taken back by a policy set later.
	e.policy(t, api.TeleworkPolicy{Department: "企画課", Mode: api.TeleworkApproval})
	if sl, err := free.RequestSlot(e.ctx, api.SlotRequest{}); err != nil || sl.State != api.SlotGranted {
		t.Fatalf("asked again under a new policy: %+v, %v", sl, err)
	}
}

// TestTeleworkApprovalDecline: a declined request is told with its
// comment, cannot be decided twice, and the slot stays refused.
func TestTeleworkApprovalDecline(t *testing.T) {
	e := start(t, wed0900)
	e.policy(t, api.TeleworkPolicy{Department: soumu, Mode: api.TeleworkApproval})
	k1 := e.login(t, "k1001", soumu)
	boss := e.login(t, "s1001", soumu, api.RoleStaff, api.RoleSupervisor)
	r, err := k1.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: []string{date(e.b.Now())}, Half: api.HalfAfternoon, Reason: api.ReasonOther})
	if err != nil {
		t.Fatal(err)
	}
	d, err := boss.DecideTelework(e.ctx, r.ID, api.TeleworkDecision{Approve: false, Comment: "本日は窓口当番です"})
	if err != nil || d.State != api.RequestDeclined || d.Comment != "本日は窓口当番です" {
		t.Fatalf("decline = %+v, %v", d, err)
	}
	_, err = boss.DecideTelework(e.ctx, r.ID, api.TeleworkDecision{Approve: true})
	wantCode(t, "decided twice", err, api.CodeTeleworkDecided)
	_, err = k1.RequestSlot(e.ctx, api.SlotRequest{})
	wantCode(t, "slot after decline", err, api.CodeTeleworkApprovalRequired)
	if !anyContains(e.notices(t, "k1001"), "却下されました", "窓口当番", "午後") {
		t.Errorf("notices = %q", e.notices(t, "k1001"))
	}
	evs := e.events(t, "k1001", api.EventTeleworkDecided)
	if len(evs) != 1 || decode[api.TeleworkNotice](t, evs[0]).Kind != api.RequestDeclined {
		t.Errorf("events = %+v", evs)
	}
	_, err = k1.WithdrawTelework(e.ctx, r.ID)
	wantCode(t, "withdraw declined", err, api.CodeTeleworkDecided)
	// The day is free for a new request after a decline.
	if _, err := k1.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: []string{date(e.b.Now())}, Reason: api.ReasonOther}); err != nil {
		t.Fatalf("new request after decline: %v", err)
	}
}

// TestTeleworkApprovalSameDay: a request starting today is marked,
// later ones are not; days off are refused; overlapping requests are
// refused; withdrawal works until the request starts.
func TestTeleworkApprovalSameDay(t *testing.T) {
	e := start(t, wed0900)
	e.policy(t, api.TeleworkPolicy{Department: soumu, Mode: api.TeleworkApproval})
	k1 := e.login(t, "k1001", soumu)
	boss := e.login(t, "s1001", soumu, api.RoleStaff, api.RoleSupervisor)
	if _, err := e.it.PutHoliday(e.ctx, api.Holiday{Date: "2026-06-08", Name: "市制記念日", Kind: "municipal"}); err != nil {
		t.Fatal(err)
	}
	today, thu, fri, sat, mon, tue := "2026-06-03", "2026-06-04", "2026-06-05", "2026-06-06", "2026-06-08", "2026-06-09"
	ask := func(ds ...string) (*api.TeleworkRequest, error) {
		return k1.RequestTelework(e.ctx, api.TeleworkRequestCreate{Dates: ds, Reason: api.ReasonCare})
	}
	same, err := ask(thu, today)
	if err != nil || !same.SameDay || same.From != today || same.To != thu || len(same.Dates) != 2 {
		t.Fatalf("same-day = %+v, %v", same, err)
	}
	later, err := ask(fri)
	if err != nil || later.SameDay {
		t.Fatalf("later = %+v, %v", later, err)
	}
	_, err = ask(sat)
	wantCode(t, "saturday", err, api.CodeTeleworkDayOff)
	_, err = ask(mon)
	wantCode(t, "municipal holiday", err, api.CodeTeleworkDayOff)
	_, err = ask("2026-06-02")
	wantCode(t, "yesterday", err, api.CodeValidation)
	_, err = ask(thu)
	wantCode(t, "overlap", err, api.CodeTeleworkOverlap)
	_, err = k1.RequestTelework(e.ctx, api.TeleworkRequestCreate{FiscalYear: 2026, Reason: api.ReasonChildcare})
	wantCode(t, "period over dates", err, api.CodeTeleworkOverlap)

	// Approved and started today: no withdrawal; approved for a later
	// day: withdrawn; pending: withdrawn at any time.
	for _, r := range []*api.TeleworkRequest{same, later} {
		if _, err := boss.DecideTelework(e.ctx, r.ID, api.TeleworkDecision{Approve: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = k1.WithdrawTelework(e.ctx, same.ID)
	wantCode(t, "withdraw started", err, api.CodeTeleworkStarted)
	if w, err := k1.WithdrawTelework(e.ctx, later.ID); err != nil || w.State != api.RequestWithdrawn {
		t.Fatalf("withdraw later = %+v, %v", w, err)
	}
	p, err := ask(tue)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := k1.WithdrawTelework(e.ctx, p.ID); err != nil || w.State != api.RequestWithdrawn {
		t.Fatalf("withdraw pending = %+v, %v", w, err)
	}
	// A yearly permission runs from today to the end of March and is a
	// same-day request when it starts today.
	z := e.login(t, "z1001", zeimu)
	y, err := z.RequestTelework(e.ctx, api.TeleworkRequestCreate{FiscalYear: 2026, Reason: api.ReasonHealth})
	if err != nil || y.Kind != api.TeleworkPeriod || y.From != today || y.To != "2027-03-31" || !y.SameDay {
		t.Fatalf("period = %+v, %v", y, err)
	}
	_, err = z.RequestTelework(e.ctx, api.TeleworkRequestCreate{FiscalYear: 2024, Reason: api.ReasonHealth})
	wantCode(t, "past fiscal year", err, api.CodeValidation)
	mine, err := k1.MyTeleworkRequests(e.ctx)
	if err != nil || len(mine.Requests) != 3 {
		t.Fatalf("mine = %+v, %v", mine, err)
	}
	_ = time.Second
}
