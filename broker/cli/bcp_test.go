package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// TestBCPCommandsOverTheAPI: `broker admin bcp` switches the running
// broker at once over REST, with the admin as the recorded actor; on the
// data directory (--local) it writes what a broker adopts on its sweep.
func TestBCPCommandsOverTheAPI(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRealClock())
	admin := b.CreateUser(t, "it-admin", api.RoleAdmin)
	r := newRemoteCLI(t, b)
	if out, errs, code := r.login(admin); code != 0 {
		t.Fatalf("login: %d %q %q", code, out, errs)
	}
	if _, errs, code := r.run("", "bcp", "on", "--reason", "震度6弱の地震"); code == 0 || !strings.Contains(errs, "bcp config --cap") {
		t.Fatalf("on before configuring: %d %q, want the next step named", code, errs)
	}
	if _, errs, code := r.run("", "bcp", "config", "--cap", "300", "--roles", "supervisor", "--departments", "危機管理課, 福祉課"); code != 0 {
		t.Fatalf("config: %d %q", code, errs)
	}
	if _, errs, code := r.run("", "bcp", "on"); code == 0 || !strings.Contains(errs, "reason") {
		t.Fatalf("on without a reason: %d %q", code, errs)
	}
	out, errs, code := r.run("", "bcp", "on", "--reason", "震度6弱の地震")
	if code != 0 || !strings.Contains(out, "on: cap 300") {
		t.Fatalf("on: %d %q %q", code, out, errs)
	}
	if bcp := b.Services.Slots.BCP(); !bcp.Active || bcp.EffectiveCap != 300 || bcp.UpdatedBy != "it-admin" {
		t.Fatalf("the broker's BCP mode right after the command: %+v", bcp)
	}
	out, _, code = r.run("", "bcp", "status")
	for _, want := range []string{"BCP mode: ON", "cap in force: 300", "priority roles: supervisor", "priority departments: 危機管理課, 福祉課", "震度6弱の地震"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("status lacks %q: %q", want, out)
		}
	}
	if out, errs, code = r.run("", "bcp", "off", "--reason", "復旧"); code != 0 || !strings.Contains(out, "off") {
		t.Fatalf("off: %d %q %q", code, out, errs)
	}
	q, err := oplog.QueryFromAPI(api.OplogQuery{Type: "admin.bcp_on"})
	must(t, err)
	page, err := b.Services.Oplog.Search(context.Background(), q)
	if err != nil || len(page.Events) != 1 || page.Events[0].UserID != "it-admin" {
		t.Fatalf("audit of the switch: %+v %v", page.Events, err)
	}

	// --local: a stopped broker's data directory.
	dir := t.TempDir()
	if _, errs, code := run(t, dir, "admin", "bcp", "config", "--local", "--cap", "50"); code != 0 {
		t.Fatalf("local config: %d %q", code, errs)
	}
	if _, errs, code := run(t, dir, "admin", "bcp", "on", "--local", "--reason", "大雨特別警報"); code != 0 {
		t.Fatalf("local on: %d %q", code, errs)
	}
	if out, errs, code := run(t, dir, "admin", "bcp", "status", "--local"); code != 0 || !strings.Contains(out, "BCP mode: ON") ||
		!strings.Contains(out, "cap in force: 140 (normal cap 140)") {
		t.Fatalf("local status: %d %q %q", code, out, errs)
	}
}
