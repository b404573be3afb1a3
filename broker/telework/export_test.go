package telework_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/services"
	"github.com/zaitaku/zaitaku/broker/slots"
	"github.com/zaitaku/zaitaku/broker/telework"
)

// plannedDay is what the generator decided for one person and day: what
// the export must say, computed here from the plan and not from the
// broker's record.
type plannedDay struct {
	date, user, dept, half string
	planned                bool
	startWork, endWork     time.Time // zero: not reported
	place                  string
	sessions               [][2]time.Time
}

// TestHRExportMonth generates a month of telework for five people (a
// yearly permission, approved dates with half days, work without a
// request where approval is required, a free department; a municipal
// holiday) through the slots and the telework service on a movable
// clock, with no background sweep to cut sessions between clock moves.
// Then a broker serves the same data directory and HR's export over the
// admin route must match, row by row and in its totals, what the test
// computes from its own plan.
func TestHRExportMonth(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := brokertest.NewClock(time.Date(2026, 6, 1, 7, 0, 0, 0, jst))
	cfg := daemon.DefaultConfig()
	cfg.Data = dir
	st, key, err := daemon.OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := services.Build(ctx, services.Config{Stores: st, Now: clock.Now, Argon2: auth.TestArgon2, SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	port := officePC(t)
	people := []struct{ id, dept string }{{"a1001", soumu}, {"a1002", soumu}, {"a1003", soumu}, {"f1001", zeimu}}
	for _, p := range append(people, struct{ id, dept string }{"s1001", soumu}) {
		roles := []api.Role{api.RoleStaff}
		if p.id == "s1001" {
			roles = append(roles, api.RoleSupervisor)
		}
		if _, err := svc.Auth.CreateUser(ctx, "test", api.CreateUserRequest{ID: p.id, Name: "職員 " + p.id, Department: p.dept, Roles: roles}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Terminals.Create(ctx, "test", api.CreateTerminalRequest{ID: "pc-" + p.id, Name: p.id, Address: "127.0.0.1",
			RDPPort: port, MAC: "02:00:00:00:00:01", WakeAddr: "127.0.0.1", UserID: p.id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Telework.SetPolicy(ctx, "test", api.TeleworkPolicy{Department: soumu, Mode: api.TeleworkApproval}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Telework.PutHoliday(ctx, "test", api.Holiday{Date: "2026-06-15", Name: "市制記念日", Kind: "municipal"}); err != nil {
		t.Fatal(err)
	}
	user := func(id string) api.User {
		u, err := svc.Auth.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return *u
	}
	boss := user("s1001")
	rng := rand.New(rand.NewPCG(18, 2026))
	var workdays []time.Time
	for d := time.Date(2026, 6, 1, 0, 0, 0, 0, jst); d.Month() == time.June; d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday && date(d) != "2026-06-15" {
			workdays = append(workdays, d)
		}
	}
	// Requests: a1001 a yearly permission; a1002 some days, half days
	// among them; a1003 none (works anyway: unplanned); f1001's section
	// is free.
	approve := func(u api.User, in api.TeleworkRequestCreate) {
		t.Helper()
		r, err := svc.Telework.Request(ctx, u, in)
		if err != nil {
			t.Fatalf("request %s: %v", u.ID, err)
		}
		if _, err := svc.Telework.Decide(ctx, boss, r.ID, api.TeleworkDecision{Approve: true}); err != nil {
			t.Fatal(err)
		}
	}
	approve(user("a1001"), api.TeleworkRequestCreate{FiscalYear: 2026, Reason: api.ReasonChildcare})
	halves := map[string]string{}
	byHalf := map[string][]string{}
	for _, d := range workdays {
		if rng.IntN(2) == 0 {
			h := []string{"", "", api.HalfMorning, api.HalfAfternoon}[rng.IntN(4)]
			halves[date(d)] = h
			byHalf[h] = append(byHalf[h], date(d))
		}
	}
	for h, ds := range byHalf {
		approve(user("a1002"), api.TeleworkRequestCreate{Dates: ds, Half: h, Reason: api.ReasonCare})
	}
	// A declined request plans nothing.
	r, err := svc.Telework.Request(ctx, user("a1003"), api.TeleworkRequestCreate{Dates: []string{"2026-06-02"}, Reason: api.ReasonOther})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Telework.Decide(ctx, boss, r.ID, api.TeleworkDecision{Comment: "窓口当番"}); err != nil {
		t.Fatal(err)
	}

	// The plan of every day.
	type op struct {
		at   time.Time
		user string
		do   func()
	}
	var plans []*plannedDay
	var ops []op
	minute := func(d time.Time, hh, mm int) time.Time { return d.Add(time.Duration(hh*60+mm) * time.Minute) }
	live := map[string]string{} // user → slot ID
	holder := func(id string) slots.Holder {
		return slots.Holder{UserID: id, SessionID: "sess-" + id, DeviceID: "dev-" + id}
	}
	for _, d := range workdays {
		for _, p := range people {
			pd := &plannedDay{date: date(d), user: p.id, dept: p.dept}
			switch p.id {
			case "a1001":
				pd.planned = true
			case "a1002":
				h, ok := halves[date(d)]
				pd.planned, pd.half = ok, h
			}
			works := map[string]int{"a1001": 85, "a1002": 0, "a1003": 25, "f1001": 50}[p.id]
			if !(pd.planned && p.id == "a1002" && rng.IntN(10) > 0) && rng.IntN(100) >= works {
				if pd.planned {
					plans = append(plans, pd)
				}
				continue
			}
			first := minute(d, 8, rng.IntN(75))
			if pd.half == api.HalfAfternoon {
				first = minute(d, 13, rng.IntN(20))
			}
			if rng.IntN(10) < 6 {
				pd.startWork = first.Add(-time.Duration(rng.IntN(8)) * time.Minute)
				pd.place = []string{api.PlaceHome, api.PlaceHome, api.PlaceSatellite, api.PlaceOther}[rng.IntN(4)]
			}
			if p.id == "a1003" {
				// No slot without approval: the day is only what they
				// reported (working at the office's satellite, say).
				pd.startWork, pd.place = first, api.PlaceSatellite
				pd.endWork = first.Add(time.Duration(6*60+rng.IntN(240)) * time.Minute)
			}
			at := first
			n := 1 + rng.IntN(3)
			if pd.half != "" {
				n = 1
			}
			for range n * btoi(p.id != "a1003") {
				length := time.Duration(60+rng.IntN(200)) * time.Minute
				if pd.half != "" {
					length = time.Duration(150+rng.IntN(80)) * time.Minute
				}
				pd.sessions = append(pd.sessions, [2]time.Time{at, at.Add(length)})
				at = at.Add(length + time.Duration(10+rng.IntN(50))*time.Minute)
			}
			if rng.IntN(2) == 0 && len(pd.sessions) > 0 {
				pd.endWork = pd.sessions[len(pd.sessions)-1][1].Add(time.Duration(rng.IntN(15)) * time.Minute)
			}
			plans = append(plans, pd)
			u := user(p.id)
			if !pd.startWork.IsZero() {
				place := pd.place
				ops = append(ops, op{pd.startWork, p.id, func() {
					if _, err := svc.Telework.StartWork(ctx, u, api.TeleworkWorkStart{Place: place}); err != nil {
						t.Fatal(err)
					}
				}})
			}
			for _, s := range pd.sessions {
				id := p.id
				ops = append(ops, op{s[0], id, func() {
					sl, err := svc.Slots.Acquire(ctx, holder(id), "laptop")
					if err != nil || sl.State != api.SlotGranted {
						t.Fatalf("%s at %s: %+v %v", id, clock.Now().In(jst), sl, err)
					}
					live[id] = sl.ID
				}}, op{s[1], id, func() {
					if err := svc.Slots.Release(ctx, holder(id), live[id]); err != nil {
						t.Fatalf("release %s: %v", id, err)
					}
				}})
			}
			if !pd.endWork.IsZero() {
				ops = append(ops, op{pd.endWork, p.id, func() {
					if _, err := svc.Telework.EndWork(ctx, u); err != nil {
						t.Fatal(err)
					}
				}})
			}
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].at.Before(ops[j].at) })
	for _, o := range ops {
		clock.Set(o.at)
		o.do()
	}
	svc.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The same data directory served; HR exports June over the admin route.
	clock.Set(time.Date(2026, 7, 1, 9, 0, 0, 0, jst))
	b := brokertest.Start(t, brokertest.WithDataDir(dir), brokertest.WithClock(clock))
	it := b.Signin(t, "it-admin", api.RoleAdmin)
	var buf bytes.Buffer
	if err := it.ExportTelework(ctx, api.TeleworkExportQuery{From: "2026-06-01", To: "2026-06-30"}, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\uFEFF")) {
		t.Fatal("no BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], telework.ExportHeader) {
		t.Fatalf("header = %q", recs[0])
	}

	// What the export must say, from the plan.
	hm := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(jst).Format("15:04")
	}
	var want [][]string
	totals := map[string]int{}
	overtime := 0
	sort.SliceStable(plans, func(i, j int) bool {
		if plans[i].date != plans[j].date {
			return plans[i].date < plans[j].date
		}
		return plans[i].user < plans[j].user
	})
	for _, pd := range plans {
		day, _ := time.ParseInLocation("2006-01-02", pd.date, jst)
		kind, ps, pe := "—", "", ""
		pEnd := day.Add(17*time.Hour + 15*time.Minute)
		if pd.planned {
			kind = map[string]string{"": "終日", "am": "午前", "pm": "午後"}[pd.half]
			ps, pe = "08:30", "17:15"
			switch pd.half {
			case "am":
				pe, pEnd = "12:00", day.Add(12*time.Hour)
			case "pm":
				ps = "13:00"
			}
		}
		row := []string{pd.date, pd.user, "職員 " + pd.user, pd.dept, kind, ps, pe}
		if len(pd.sessions) == 0 && pd.startWork.IsZero() {
			row = append(row, "", "", "0", "0", "0:00", "", "")
			want = append(want, row)
			continue
		}
		var start, end time.Time
		if len(pd.sessions) > 0 {
			start, end = pd.sessions[0][0], pd.sessions[len(pd.sessions)-1][1]
		}
		if !pd.startWork.IsZero() && (start.IsZero() || pd.startWork.Before(start)) {
			start = pd.startWork
		}
		if pd.endWork.After(end) {
			end = pd.endWork
		}
		brk := 0
		for i := 1; i < len(pd.sessions); i++ {
			brk += int(pd.sessions[i][0].Sub(pd.sessions[i-1][1]).Minutes())
		}
		work := int(end.Sub(start).Minutes()) - brk
		totals[pd.user] += work
		var flags []string
		if end.After(pEnd) {
			flags = append(flags, "予定超過")
			overtime++
		}
		if pd.dept == soumu && !pd.planned {
			flags = append(flags, "承認なし")
		}
		place := map[string]string{"home": "在宅", "satellite": "サテライトオフィス", "other": "その他", "": "未選択"}[pd.place]
		row = append(row, hm(start), hm(end), strconv.Itoa(brk), strconv.Itoa(work), fmt.Sprintf("%d:%02d", work/60, work%60),
			place, strings.Join(flags, "・"))
		want = append(want, row)
	}
	got := recs[1:]
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			t.Errorf("missing row %q", want[i])
		case i >= len(want):
			t.Errorf("extra row %q", got[i])
		case !slices.Equal(got[i], want[i]):
			t.Errorf("row %d:\n got  %q\n want %q", i+1, got[i], want[i])
		}
		if t.Failed() && i > 10 {
			break
		}
	}
	// The totals HR adds up, from the export's cells.
	gotTotals := map[string]int{}
	gotOver := 0
	for _, r := range got {
		n, _ := strconv.Atoi(r[10])
		gotTotals[r[1]] += n
		if strings.Contains(r[13], "予定超過") {
			gotOver++
		}
	}
	for _, p := range people {
		if gotTotals[p.id] != totals[p.id] {
			t.Errorf("%s: %d minutes in the export, %d computed", p.id, gotTotals[p.id], totals[p.id])
		}
	}
	if gotOver != overtime || overtime == 0 {
		t.Errorf("overtime days: %d in the export, %d computed", gotOver, overtime)
	}
	t.Logf("June: %d rows; minutes %v; %d days past the planned end", len(got), totals, overtime)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
