package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/telework"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2ETeleworkScreenshots runs the real app binary under its own Xvfb
// against a real broker whose demo department 総務課 needs approval:
// yamada has asked for today (same-day, a sick child), has a half day to
// come that the section head approved with a comment and one he
// declined; takahashi asked for the fiscal year and started work at a
// satellite office; kobayashi, approved for the morning, started and
// ended work at home. yamada's home screen and request screen, and the
// section head tanaka's approvals and section view, go to
// $ARTIFACTS_DIR/app-telework-*-ja.png.
func TestE2ETeleworkScreenshots(t *testing.T) {
	needDisplayTools(t)
	art := brokertest.ArtifactsDir(t)
	bin := buildApp(t)
	b := demoBroker(t)
	seedTelework(t, b)

	shoot := func(user string, steps func(display string, app *appProc, shot func(name string))) {
		kr := keyringtest.Start(t)
		display := uitest.StartXvfb(t, 1280, 900)
		home := t.TempDir()
		env := append(appEnv(kr, display, home), "TZ=Asia/Tokyo")
		app := startApp(t, bin, env, display, "-broker", b.URL, "-pin", b.Pin, "-lang", "ja",
			"-device", "e2e-tw-"+user, "-data", filepath.Join(home, "data"))
		app.waitLog(t, "phase=signed_out", 20*time.Second)
		time.Sleep(time.Second)
		signIn(t, display, app, user, nil)
		app.waitLog(t, "phase=ready", 20*time.Second)
		time.Sleep(1500 * time.Millisecond) // the telework view is read after sign-in
		steps(display, app, func(name string) {
			path := filepath.Join(art, "app-"+name+"-ja.png")
			uitest.Screenshot(t, display, app.win, path)
			t.Logf("screenshot %s", path)
			if st, err := os.Stat(path); err != nil || st.Size() < 10000 {
				t.Fatalf("screenshot %s: %v", path, err)
			}
		})
		app.stop(t)
	}

	shoot("yamada", func(display string, app *appProc, shot func(string)) {
		shot("home-work")
		w := windowWidth(t, display, app.win)
		uitest.Click(t, display, app.win, w-startWorkOffset, startWorkY) // 勤務開始, at home
		app.waitLog(t, "work recorded", 10*time.Second)
		time.Sleep(time.Second)
		shot("home-work-started")
		uitest.Click(t, display, app.win, w-teleworkButtonOffset, teleworkButtonY)
		time.Sleep(1500 * time.Millisecond)
		shot("telework-request")
	})
	shoot("tanaka", func(display string, app *appProc, shot func(string)) {
		w := windowWidth(t, display, app.win)
		uitest.Click(t, display, app.win, w-teleworkButtonOffset, teleworkButtonY)
		time.Sleep(1500 * time.Millisecond)
		uitest.Click(t, display, app.win, approvalsTabX, tabsY)
		time.Sleep(time.Second)
		shot("telework-approval")
		uitest.Click(t, display, app.win, sectionTabX, tabsY)
		time.Sleep(time.Second)
		shot("telework-section")
	})
}

// Where the screens' controls are (measured on the Japanese screens at
// FYNE_SCALE=1): the home screen's telework button at the right of the
// work card, the telework screen's tabs.
const (
	teleworkButtonOffset = 82
	teleworkButtonY      = 183
	startWorkOffset      = 50
	startWorkY           = 224
	tabsY                = 91
	approvalsTabX        = 90
	sectionTabX          = 178
)

// seedTelework: 総務課 needs approval within 07:00–22:00; yamada's and
// takahashi's requests as the test describes, decided by tanaka.
func seedTelework(t *testing.T, b *brokertest.Broker) {
	t.Helper()
	ctx := context.Background()
	tw := b.Services.Telework
	if _, err := tw.SetPolicy(ctx, "e2e", api.TeleworkPolicy{Department: "総務課", Mode: api.TeleworkApproval,
		HoursStart: "07:00", HoursEnd: "22:00"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Services.Auth.CreateUser(ctx, "e2e", api.CreateUserRequest{ID: "takahashi", Name: "高橋 陽子",
		Department: "総務課", Roles: []api.Role{api.RoleStaff}}); err != nil {
		t.Fatal(err)
	}
	user := func(id string) api.User {
		u, err := b.Services.Auth.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return *u
	}
	yamada, tanaka, takahashi := user("yamada"), user("tanaka"), user("takahashi")
	// The working days from today on (JST), as the broker's calendar has them.
	days := workingDays(t, tw, 4)
	ask := func(u api.User, in api.TeleworkRequestCreate) api.TeleworkRequest {
		t.Helper()
		r, err := tw.Request(ctx, u, in)
		if err != nil {
			t.Fatalf("request %+v: %v", in, err)
		}
		return r
	}
	decide := func(r api.TeleworkRequest, approve bool, comment string) {
		t.Helper()
		if _, err := tw.Decide(ctx, tanaka, r.ID, api.TeleworkDecision{Approve: approve, Comment: comment}); err != nil {
			t.Fatal(err)
		}
	}
	decide(ask(yamada, api.TeleworkRequestCreate{Dates: []string{days[2], days[3]}, Reason: api.ReasonCare, Note: "父の通院付き添い"}),
		false, "窓口当番の日のため、別の日でお願いします")
	decide(ask(yamada, api.TeleworkRequestCreate{Dates: []string{days[1]}, Half: api.HalfAfternoon, Reason: api.ReasonHealth}),
		true, "承知しました。無理のないように")
	ask(yamada, api.TeleworkRequestCreate{Dates: []string{days[0]}, Reason: api.ReasonChildcare, Note: "子の発熱（保育園から連絡）"})
	// kobayashi works at home today, approved, and has ended the day.
	if _, err := b.Services.Auth.CreateUser(ctx, "e2e", api.CreateUserRequest{ID: "kobayashi", Name: "小林 健",
		Department: "総務課", Roles: []api.Role{api.RoleStaff}}); err != nil {
		t.Fatal(err)
	}
	kobayashi := user("kobayashi")
	decide(ask(kobayashi, api.TeleworkRequestCreate{Dates: []string{days[0]}, Half: api.HalfMorning, Reason: api.ReasonCare}), true, "")
	if _, err := tw.StartWork(ctx, kobayashi, api.TeleworkWorkStart{Place: api.PlaceHome}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.EndWork(ctx, kobayashi); err != nil {
		t.Fatal(err)
	}
	now := b.Now().In(telework.JST)
	ask(takahashi, api.TeleworkRequestCreate{FiscalYear: fiscalYear(now), Reason: api.ReasonBCP, Note: "感染症対策の分散勤務"})
	if _, err := tw.StartWork(ctx, takahashi, api.TeleworkWorkStart{Place: api.PlaceSatellite}); err != nil {
		t.Fatal(err)
	}
}

func fiscalYear(t time.Time) int {
	if t.Month() < time.April {
		return t.Year() - 1
	}
	return t.Year()
}

// workingDays returns the next n working days from today (JST),
// skipping weekends and the broker's holidays.
func workingDays(t *testing.T, tw *telework.Service, n int) []string {
	t.Helper()
	d := time.Now().In(telework.JST)
	hs, err := tw.Holidays(context.Background(), d.Format(time.DateOnly), d.AddDate(0, 1, 0).Format(time.DateOnly))
	if err != nil {
		t.Fatal(err)
	}
	off := map[string]bool{}
	for _, h := range hs.Holidays {
		off[h.Date] = true
	}
	var out []string
	for len(out) < n {
		s := d.Format(time.DateOnly)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday && !off[s] {
			out = append(out, s)
		}
		d = d.AddDate(0, 0, 1)
	}
	return out
}
