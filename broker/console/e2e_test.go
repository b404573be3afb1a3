package console_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/brokertest/headless"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// page is the headless Chromium the test drives.
type page struct {
	t   *testing.T
	ctx context.Context
	art string
}

// open starts Debian's Chromium headless, as the meeting tests do.
func open(t *testing.T, art string) *page {
	t.Helper()
	return &page{t: t, ctx: headless.Start(t, "console", ""), art: art}
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.t.Logf("%s %s", time.Now().Format("15:04:05.000"), what)
	ctx, cancel := context.WithTimeout(p.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.shot("console-failed-" + strings.ReplaceAll(what, " ", "-") + ".png")
		p.t.Fatalf("%s: %v", what, err)
	}
}

// until waits for a JavaScript condition on the page, across a reload
// (a poll in a page that navigates away is cut and started again).
func (p *page) until(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, time.Until(deadline))
		err := chromedp.Do(ctx, chromedp.Action[chromedp.Void](chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline)))))
		cancel()
		if err == nil {
			return
		}
		if time.Now().Before(deadline) && (strings.Contains(err.Error(), "navigated") || strings.Contains(err.Error(), "Not attached") ||
			strings.Contains(err.Error(), "context was destroyed")) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		p.shot("console-failed-" + strings.ReplaceAll(what, " ", "-") + ".png")
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (p *page) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(p.art, name), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// seedHistory records two weeks of sessions before the broker's now, in
// three departments, through the slots' store as the slots record them:
// the demand the reports and the what-if replay read.
func seedHistory(t *testing.T, b *brokertest.Broker) int {
	t.Helper()
	ctx := context.Background()
	depts := []string{"総務課", "税務課", "福祉課"}
	for i := 0; i < 12; i++ {
		if _, err := b.Services.Auth.CreateUser(ctx, "test", api.CreateUserRequest{ID: fmt.Sprintf("h%02d", i),
			Name: fmt.Sprintf("職員 %02d", i), Department: depts[i%3], Roles: []api.Role{api.RoleStaff}}); err != nil {
			t.Fatal(err)
		}
	}
	jst := time.FixedZone("JST", 9*3600)
	n := b.Now().In(jst)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, jst)
	var ops []slots.Op
	for d := 14; d >= 1; d-- {
		day := today.AddDate(0, 0, -d)
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for i := 0; i < 12; i++ {
			if (i+d)%4 == 0 {
				continue // not teleworking that day
			}
			req := day.Add(8*time.Hour + 30*time.Minute + time.Duration(i*4+d)*time.Minute)
			wait := time.Duration((i*d)%3) * 6 * time.Minute
			rec := slots.Record{ID: fmt.Sprintf("s_seed_%d_%d", d, i), UserID: fmt.Sprintf("h%02d", i), State: api.SlotGranted,
				RequestedAt: req, GrantedAt: req.Add(wait), LeaseUntil: req, LastActiveAt: req}
			end := rec.GrantedAt.Add(time.Duration(180+((i*37+d*11)%300)) * time.Minute)
			ops = append(ops, slots.Op{End: &slots.Ended{Record: rec, EndedAt: end, Reason: "released"}})
		}
	}
	if err := b.Store.Slots().ApplySlots(ctx, ops); err != nil {
		t.Fatal(err)
	}
	return len(ops)
}

// TestE2EAdminConsole: IT signs in to the console in headless Chromium
// with password and one-time code, sees a member of staff's session
// appear in the live view, ends it and sees it go, runs a roster dry run
// (which changes nothing) and applies it, and opens the reports with
// their charts and a what-if replay. Screenshots: $ARTIFACTS_DIR/console/.
func TestE2EAdminConsole(t *testing.T) {
	headless.Path(t)
	art := filepath.Join(brokertest.ArtifactsDir(t), "console")
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t)
	ctx := context.Background()
	seeded := seedHistory(t, b)
	admin := b.CreateUser(t, "it-kato", api.RoleAdmin)
	name := "加藤 情報政策課"
	if _, err := b.Services.Auth.UpdateUser(ctx, "test", admin.ID, api.UpdateUserRequest{Name: &name}); err != nil {
		t.Fatal(err)
	}
	yamadaUser := b.CreateUser(t, "k1024")
	yn := "山田 花子"
	if _, err := b.Services.Auth.UpdateUser(ctx, "test", "k1024", api.UpdateUserRequest{Name: &yn}); err != nil {
		t.Fatal(err)
	}
	port := brokertest.OfficePC(t, func(net.Conn) {})
	if _, err := b.Services.Terminals.Create(ctx, "test", api.CreateTerminalRequest{ID: "pc-k1024", Name: "総務-012", Address: "127.0.0.1",
		RDPPort: port, MAC: "02:00:00:00:00:12", WakeAddr: "127.0.0.1", UserID: "k1024"}); err != nil {
		t.Fatal(err)
	}

	p := open(t, art)
	p.do("open the console", chromedp.Navigate(b.URL+"/console"), chromedp.WaitVisible(chromedp.ID("signin")))
	if got := p.text("#signin h2"); got != "管理者サインイン" {
		t.Errorf("sign-in title %q: Japanese by default", got)
	}
	p.shot("console-01-signin.png")
	p.do("sign in", chromedp.SendKeys(chromedp.ID("staff-id"), admin.ID), chromedp.SendKeys(chromedp.ID("password"), admin.Password),
		chromedp.SendKeys(chromedp.ID("otp"), b.Code(t, admin)), chromedp.Click(chromedp.ID("signin-btn")),
		chromedp.WaitVisible(chromedp.ID("tab-live")))
	p.until("the live view loads", `document.getElementById("cap-value").textContent === "140"`)

	// A member of staff connects: the live view shows it without reload.
	yamada := b.Login(t, yamadaUser)
	sl, err := yamada.RequestSlot(ctx, api.SlotRequest{Device: "貸与PC-33"})
	if err != nil || sl.State != api.SlotGranted {
		t.Fatalf("slot: %+v %v", sl, err)
	}
	row := fmt.Sprintf(`tr[data-slot=%q]`, sl.ID)
	p.until("the session appears", fmt.Sprintf(`!!document.querySelector(%q) && document.getElementById("used-value").textContent === "1"`, row))
	if got := p.text(row); !strings.Contains(got, "山田 花子") || !strings.Contains(got, "総務-012") {
		t.Errorf("session row %q", got)
	}
	p.shot("console-02-live-session.png")
	p.do("end the session (two presses)", chromedp.Click(chromedp.CSS(row+" button")), chromedp.Click(chromedp.CSS(row+" button")))
	p.until("the session goes", fmt.Sprintf(`!document.querySelector(%q) && document.getElementById("used-value").textContent === "0"`, row))
	if _, err := yamada.MySlot(ctx); err == nil {
		t.Error("the session ended in the console is still live")
	}
	p.shot("console-03-live-ended.png")

	// BCP mode from the live view: configured beforehand, switched with a
	// reason (two presses), and back.
	bcpCap, crisis := 300, []string{"危機管理課"}
	if _, err := b.Services.Slots.ConfigureBCP(ctx, "test", api.BCPConfigUpdate{Cap: &bcpCap, Departments: &crisis}); err != nil {
		t.Fatal(err)
	}
	p.until("BCP mode is shown off", `document.getElementById("bcp-state").textContent === "通常" &&
		document.getElementById("bcp-detail").textContent.includes("危機管理課")`)
	p.do("switch BCP mode on", chromedp.SendKeys(chromedp.ID("bcp-reason"), "震度6強の地震のため"),
		chromedp.Click(chromedp.CSS("#bcp-button button")), chromedp.Click(chromedp.CSS("#bcp-button button")))
	p.until("BCP mode is on", `document.getElementById("bcp-state").textContent === "実施中" && document.getElementById("cap-value").textContent === "300"`)
	if bcp := b.Services.Slots.BCP(); !bcp.Active || bcp.Reason != "震度6強の地震のため" || bcp.UpdatedBy != admin.ID {
		t.Errorf("BCP after the console's switch: %+v", bcp)
	}
	p.until("the cap field keeps the normal cap", `document.getElementById("cap-input").value === "140"`)
	p.shot("console-03b-bcp-on.png")
	p.do("switch it off", chromedp.SendKeys(chromedp.ID("bcp-reason"), "通常業務に復帰"),
		chromedp.Click(chromedp.CSS("#bcp-button button")), chromedp.Click(chromedp.CSS("#bcp-button button")))
	p.until("BCP mode is off", `document.getElementById("bcp-state").textContent === "通常" && document.getElementById("cap-value").textContent === "140"`)
	if b.Services.Slots.BCP().Active {
		t.Error("BCP mode still on")
	}

	// Staff and laptops: search, a temporary password shown once, a
	// laptop revoked.
	p.do("open staff", chromedp.Click(chromedp.CSS(`nav button[data-tab="staff"]`)), chromedp.WaitVisible(chromedp.ID("tab-staff")))
	p.until("the staff list", `!!document.querySelector('tr[data-user="k1024"]')`)
	p.do("search", chromedp.SendKeys(chromedp.ID("staff-search"), "山田"))
	p.until("only 山田", `document.getElementById("staff-body").children.length === 1`)
	p.do("reset the password (two presses)", chromedp.Click(chromedp.CSS(`tr[data-user="k1024"] button.danger`)),
		chromedp.Click(chromedp.CSS(`tr[data-user="k1024"] button.danger`)))
	p.until("the temporary password", `document.querySelector("#staff-secret code") && document.querySelector("#staff-secret code").textContent.length >= 8`)
	if u, _ := b.Services.Auth.GetUser(ctx, "k1024"); u == nil || !u.MustChangePassword {
		t.Errorf("after the reset k1024 must change the password: %+v", u)
	}
	p.do("show the laptops", chromedp.Click(chromedp.CSS(`tr[data-user="k1024"] button`)), chromedp.WaitVisible(chromedp.ID("devices")))
	p.until("the laptop", `!!document.querySelector("#devices-body tr[data-device] button")`)
	p.shot("console-04-staff.png")
	p.do("revoke the laptop (two presses)", chromedp.Click(chromedp.CSS(`#devices-body tr[data-device] button`)),
		chromedp.Click(chromedp.CSS(`#devices-body tr[data-device] button`)))
	p.until("the laptop is revoked", `!document.querySelector("#devices-body tr[data-device] button")`)
	if ds, _ := b.Services.Auth.ListDevices(ctx, "k1024"); len(ds) != 1 || ds[0].Status != api.DeviceRevoked {
		t.Errorf("k1024's laptop after revoke: %+v", ds)
	}
	// Office PCs, and the operation log holding what the console did.
	p.do("open PCs", chromedp.Click(chromedp.CSS(`nav button[data-tab="pcs"]`)), chromedp.WaitVisible(chromedp.ID("tab-pcs")))
	p.until("the office PC", `!!document.querySelector('tr[data-pc="pc-k1024"]')`)
	p.do("open the log", chromedp.Click(chromedp.CSS(`nav button[data-tab="oplog"]`)), chromedp.WaitVisible(chromedp.ID("tab-oplog")),
		chromedp.SendKeys(chromedp.ID("oplog-type"), "console.signed_in"), chromedp.Click(chromedp.ID("oplog-search")))
	p.until("the console's sign-in in the log", `document.getElementById("oplog-body").textContent.includes("console.signed_in")`)
	if href, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("oplog-export").href`)); err != nil ||
		!strings.Contains(href, "/admin/v1/oplogs/export?type=console.signed_in&format=csv") {
		t.Errorf("export link %q %v", href, err)
	}
	p.shot("console-05-oplog.png")

	// Roster: the dry run shows what would change and changes nothing.
	csv := "職員番号,氏名,カナ,所属\r\nk1024,山田 花子,ヤマダ ハナコ,税務課\r\nk2001,田中 一郎,タナカ イチロウ,福祉課\r\n"
	file := filepath.Join(t.TempDir(), "名簿-2026-04.csv")
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	p.do("open the roster", chromedp.Click(chromedp.CSS(`nav button[data-tab="roster"]`)), chromedp.WaitVisible(chromedp.ID("tab-roster")),
		chromedp.SetUploadFiles(chromedp.ID("roster-file"), []string{file}), chromedp.Click(chromedp.ID("roster-dryrun")))
	p.until("the dry run's report", `!!document.getElementById("roster-counts") && !document.getElementById("roster-apply").disabled`)
	if got := p.text("#roster-counts"); !strings.Contains(got, "追加 1") || !strings.Contains(got, "異動 1") {
		t.Errorf("dry run counts %q", got)
	}
	if got := p.text("#roster-report"); !strings.Contains(got, "田中 一郎") || strings.Contains(got, "null") || strings.Contains(got, "undefined") {
		t.Errorf("dry run report %q", got)
	}
	if _, err := b.Services.Auth.GetUser(ctx, "k2001"); err == nil {
		t.Fatal("the dry run created k2001")
	}
	p.shot("console-06-roster-dry-run.png")
	p.do("apply", chromedp.Click(chromedp.ID("roster-apply")), chromedp.WaitVisible(chromedp.ID("roster-result")))
	if got := p.text("#roster-result"); !strings.Contains(got, "反映しました") {
		t.Errorf("apply result %q", got)
	}
	if u, err := b.Services.Auth.GetUser(ctx, "k2001"); err != nil || u.Department != "福祉課" {
		t.Errorf("after apply, k2001: %+v %v", u, err)
	}
	if u, _ := b.Services.Auth.GetUser(ctx, "k1024"); u == nil || u.Department != "税務課" {
		t.Errorf("after apply, k1024 moved: %+v", u)
	}
	p.until("the import is listed", `document.getElementById("roster-imports").children.length === 1`)
	p.shot("console-07-roster-applied.png")

	// Reports: charts drawn from the JSON, and a what-if replay.
	p.do("open the reports", chromedp.Click(chromedp.CSS(`nav button[data-tab="reports"]`)), chromedp.WaitVisible(chromedp.ID("tab-reports")))
	p.until("the peak chart has bars", `Number(document.getElementById("chart-peak").dataset.bars) >= 10`)
	p.do("what if the cap were 6", chromedp.SetValue(chromedp.ID("whatif-cap"), "6"), chromedp.Click(chromedp.ID("whatif-run")))
	p.until("the what-if answer", `document.getElementById("whatif-summary").textContent.includes("上限 6")`)
	summary := p.text("#whatif-summary")
	if !strings.Contains(summary, fmt.Sprintf("%d 件の接続要求", seeded+1)) {
		t.Errorf("what-if summary %q: want the %d recorded requests and the one of today", summary, seeded+1)
	}
	// The chart is really drawn: the canvas has coloured pixels.
	painted, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`(() => { const c = document.getElementById("chart-peak");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; let n = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i+2] > 120 && d[i] < 80) n++; return n; })()`))
	if err != nil || painted < 500 {
		t.Errorf("peak chart: %d blue pixels (%v)", painted, err)
	}
	p.shot("console-08-reports.png")
	p.do("English", chromedp.Click(chromedp.ID("lang")))
	if got := p.text(`nav button[data-tab="reports"]`); got != "Usage reports" {
		t.Errorf("English tab %q", got)
	}
	p.do("replay in English", chromedp.Click(chromedp.ID("whatif-run")))
	p.until("the English answer", `document.getElementById("whatif-summary").textContent.startsWith("With a cap of 6")`)
	p.shot("console-09-reports-en.png")

	// Signed out, an auditor signs in: the same views, nothing to press.
	auditor := b.CreateUser(t, "kansa-01", api.RoleAuditor)
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`window.signedInPage = true`)); err != nil {
		t.Fatal(err)
	}
	p.do("sign out", chromedp.Click(chromedp.ID("signout")))
	// The page reloads: nothing of the session is left in it.
	p.until("a fresh page", `!window.signedInPage && document.readyState === "complete" && !document.getElementById("signin").hidden &&
		document.getElementById("notice").textContent === "You are signed out."`)
	if got := p.text("#tab-reports"); strings.Contains(got, "With a cap") || strings.Contains(got, "2026-03") {
		t.Errorf("the reports of the signed-out session are still in the page: %.80q", got)
	}
	b.Clock.Advance(30 * time.Second)
	p.do("the auditor signs in", chromedp.Click(chromedp.ID("lang")), // back to Japanese
		chromedp.SendKeys(chromedp.ID("staff-id"), auditor.ID), chromedp.SendKeys(chromedp.ID("password"), auditor.Password),
		chromedp.SendKeys(chromedp.ID("otp"), b.Code(t, auditor)), chromedp.Click(chromedp.ID("signin-btn")),
		chromedp.WaitVisible(chromedp.ID("tab-live")))
	if _, err := yamada.RequestSlot(ctx, api.SlotRequest{}); err == nil {
		t.Fatal("a revoked laptop got a slot")
	}
	sato := b.Signin(t, "k1100")
	if _, err := b.Services.Terminals.Create(ctx, "test", api.CreateTerminalRequest{ID: "pc-k1100", Name: "総務-020", Address: "127.0.0.1",
		RDPPort: port, MAC: "02:00:00:00:00:20", WakeAddr: "127.0.0.1", UserID: "k1100"}); err != nil {
		t.Fatal(err)
	}
	sl2, err := sato.RequestSlot(ctx, api.SlotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	row2 := fmt.Sprintf(`tr[data-slot=%q]`, sl2.ID)
	p.until("the auditor sees the session", fmt.Sprintf(`!!document.querySelector(%q)`, row2))
	visible, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`[...document.querySelectorAll(".change")].filter(e => e.offsetParent !== null).length`))
	if err != nil || visible != 0 {
		t.Errorf("the auditor's page shows %d change controls (%v)", visible, err)
	}
	if got := p.text("#who"); !strings.Contains(got, "閲覧のみ") {
		t.Errorf("the auditor's header %q", got)
	}
	p.shot("console-10-auditor.png")
	t.Logf("screenshots in %s; what-if: %s", art, summary)
}
