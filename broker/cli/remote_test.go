package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/cli"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

// remoteCLI runs `broker admin` as IT would on their own machine: a data
// directory that is not the broker's (so nothing can go there unnoticed),
// the broker's address and pin in the environment, a session file of
// its own, and stdin for the password prompt.
type remoteCLI struct {
	t       *testing.T
	b       *brokertest.Broker
	data    string
	session string
}

func newRemoteCLI(t *testing.T, b *brokertest.Broker) *remoteCLI {
	dir := t.TempDir()
	return &remoteCLI{t: t, b: b, data: filepath.Join(dir, "not-the-brokers-data"), session: filepath.Join(dir, "cfg", "admin-session.json")}
}

func (r *remoteCLI) run(stdin string, args ...string) (string, string, int) {
	r.t.Helper()
	env := map[string]string{"ZAITAKU_DATA": r.data, "ZAITAKU_ADMIN_SESSION": r.session, "ZAITAKU_BROKER": r.b.URL, "ZAITAKU_PIN": r.b.Pin}
	if stdin != "" {
		pr, pw, err := os.Pipe()
		if err != nil {
			r.t.Fatal(err)
		}
		go func() { pw.WriteString(stdin); pw.Close() }()
		old := os.Stdin
		os.Stdin = pr
		defer func() { os.Stdin = old; pr.Close() }()
	}
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"admin"}, args...), func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), code
}

func (r *remoteCLI) login(u brokertest.User) (string, string, int) {
	r.t.Helper()
	return r.run(u.Password+"\n", "login", "--otp", r.b.Code(r.t, u), u.ID)
}

// TestAdminLoginThenCommandsGoThroughTheAPI: after `broker admin login`
// (password and one-time code), the commands IT uses every day go through
// the running broker's REST API with the admin's token: the broker applies
// a change at once and records the admin as the actor; the data directory
// is not touched. The session file is the user's only, the token is
// refreshed when it expires, auditors read but cannot change, staff cannot
// log in, and logout ends the session at the broker.
func TestAdminLoginThenCommandsGoThroughTheAPI(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRealClock())
	admin := b.CreateUser(t, "it-admin", api.RoleAdmin)
	b.CreateUser(t, "s-tanaka")
	r := newRemoteCLI(t, b)

	out, errs, code := r.login(admin)
	if code != 0 || !strings.Contains(out, "signed in to "+b.URL+" as it-admin") {
		t.Fatalf("login: %d %q %q", code, out, errs)
	}
	fi, err := os.Stat(r.session)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v mode %v, want 0600", err, fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(r.session)
	if strings.Contains(string(raw), admin.Password) || strings.Contains(errs+out, admin.Password) {
		t.Fatal("the password was kept or printed")
	}

	out, errs, code = r.run("", "users", "list")
	if code != 0 || !strings.Contains(out, "s-tanaka") {
		t.Fatalf("users list over REST: %d %q %q", code, out, errs)
	}
	if _, _, code = r.run("", "users", "disable", "s-tanaka"); code != 0 {
		t.Fatal("users disable over REST failed")
	}
	if u, err := b.Services.Auth.GetUser(t.Context(), "s-tanaka"); err != nil || !u.Disabled {
		t.Fatalf("s-tanaka not disabled at the broker: %v %+v", err, u)
	}
	if _, errs, code = r.run("", "cap", "set", "7"); code != 0 {
		t.Fatalf("cap set: %s", errs)
	}
	if p := b.Services.Slots.Policy(); p.Cap != 7 || p.UpdatedBy != "it-admin" {
		t.Fatalf("the broker's cap is %d by %q, want 7 by it-admin at once", p.Cap, p.UpdatedBy)
	}
	out, _, code = r.run("", "oplog", "search", "--user", "it-admin", "--json")
	if code != 0 || !strings.Contains(out, `"admin.user_updated"`) || !strings.Contains(out, `"admin.slot_policy_changed"`) {
		t.Fatalf("the broker's log has no change by it-admin: %q", out)
	}
	if _, err := os.Stat(r.data); err == nil {
		t.Fatal("a command over REST opened the local data directory")
	}

	// What only the data directory has stays there: the demo code goes to
	// this (empty) data directory, not to the broker.
	if _, errs, code = r.run("", "users", "otp-code", "s-tanaka"); code == 0 || strings.Contains(errs, "--local") {
		t.Fatalf("otp-code while logged in: %d %q, want it tried on the data directory", code, errs)
	}
	if out, _, code = r.run("", "users", "list", "--local"); code != 0 || strings.Contains(out, "s-tanaka") {
		t.Fatalf("--local listed the broker's staff from another data directory: %q", out)
	}

	// An expired access token is refreshed, and the rotated refresh token kept.
	var s map[string]any
	must(t, json.Unmarshal(raw, &s))
	s["access_expires"] = "2000-01-01T00:00:00Z"
	writeSession(t, r.session, s)
	if out, errs, code = r.run("", "users", "list"); code != 0 || !strings.Contains(out, "s-tanaka") {
		t.Fatalf("after expiry: %d %q", code, errs)
	}
	raw2, _ := os.ReadFile(r.session)
	var s2 map[string]any
	must(t, json.Unmarshal(raw2, &s2))
	if s2["refresh_token"] == s["refresh_token"] {
		t.Fatal("the rotated refresh token was not kept")
	}

	// A session file others can read is refused.
	must(t, os.Chmod(r.session, 0o644))
	if _, errs, code = r.run("", "users", "list"); code == 0 || !strings.Contains(errs, "chmod 600") {
		t.Fatalf("a 0644 session file: %d %q", code, errs)
	}
	must(t, os.Chmod(r.session, 0o600))

	// Logout ends it at the broker: a copy of the file is worth nothing.
	stolen, _ := os.ReadFile(r.session)
	if out, _, code = r.run("", "logout"); code != 0 || !strings.Contains(out, "logged out") {
		t.Fatalf("logout: %q", out)
	}
	if _, err := os.Stat(r.session); err == nil {
		t.Fatal("logout left the session file")
	}
	must(t, os.WriteFile(r.session, stolen, 0o600))
	var st map[string]any
	must(t, json.Unmarshal(stolen, &st))
	st["access_expires"] = "2000-01-01T00:00:00Z" // force a refresh too
	writeSession(t, r.session, st)
	if _, errs, code = r.run("", "users", "list"); code == 0 || !strings.Contains(errs, "login again") {
		t.Fatalf("a logged-out session still works: %d %q", code, errs)
	}
	os.Remove(r.session)

	// An auditor reads and cannot change; staff cannot log in at all.
	aud := b.CreateUser(t, "it-auditor", api.RoleAuditor)
	if _, errs, code = r.login(aud); code != 0 {
		t.Fatalf("auditor login: %s", errs)
	}
	if _, _, code = r.run("", "sessions", "list"); code != 0 {
		t.Fatal("auditor cannot list sessions")
	}
	if _, errs, code = r.run("", "cap", "set", "9"); code == 0 {
		t.Fatal("an auditor changed the cap")
	}
	if b.Services.Slots.Policy().Cap != 7 {
		t.Fatal("the cap moved under an auditor")
	}
	r.run("", "logout")
	staff := b.CreateUser(t, "s-sato")
	if _, errs, code = r.login(staff); code == 0 || !strings.Contains(errs, "not an IT administrator") {
		t.Fatalf("staff login: %d %q", code, errs)
	}
	if _, err := os.Stat(r.session); err == nil {
		t.Fatal("a staff login left a session")
	}
}

func writeSession(t *testing.T, path string, s map[string]any) {
	t.Helper()
	b, err := json.Marshal(s)
	must(t, err)
	must(t, os.WriteFile(path, b, 0o600))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAdminExportOverAPILanguages: the operation-log export through the
// REST API is Japanese with JST times by default and English with UTC
// on request, as on the data directory.
func TestAdminExportOverAPILanguages(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRealClock())
	admin := b.CreateUser(t, "it-admin2", api.RoleAdmin)
	r := newRemoteCLI(t, b)
	if out, errs, code := r.login(admin); code != 0 {
		t.Fatalf("login: %d %q %q", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"oplog", "export", "--type", "auth.login_ok"}, "\ufeff日時 (JST),職員番号,所属,端末ID"},
		{[]string{"oplog", "export", "--type", "auth.login_ok", "--lang", "en", "--tz", "UTC"}, "\ufeffTime (UTC),Staff ID,Department,Device ID"},
	} {
		out, errs, code := r.run("", tc.args...)
		if code != 0 || !strings.HasPrefix(out, tc.want) || !strings.Contains(out, "it-admin2") {
			t.Errorf("%v: %d %q %q, want it to start %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// TestSegmentsOverAPI: with IT logged in, a PC's segment and the
// satellite offices are set through the running broker, which records
// the admin as the actor.
func TestSegmentsOverAPI(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithRealClock())
	admin := b.CreateUser(t, "it-admin3", api.RoleAdmin)
	b.CreateUser(t, "k4001")
	ctx := context.Background()
	if _, err := b.Services.Terminals.Create(ctx, "test", api.CreateTerminalRequest{ID: "pc-k4001", Name: "番号系", Address: "127.0.0.1", UserID: "k4001"}); err != nil {
		t.Fatal(err)
	}
	r := newRemoteCLI(t, b)
	if out, errs, code := r.login(admin); code != 0 {
		t.Fatalf("login: %d %q %q", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"terminals", "segment", "--reason", "番号系端末", "pc-k4001", "mynumber"}, "pc-k4001 is in the mynumber segment"},
		{[]string{"satellite", "set", "--name", "北サテライトオフィス", "kita", "192.0.2.0/28"}, "192.0.2.0/28"},
		{[]string{"satellite", "list"}, "北サテライトオフィス"},
	} {
		if out, errs, code := r.run("", tc.args...); code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: %d %q %q, want %q", tc.args, code, out, errs, tc.want)
		}
	}
	if pc, err := b.Services.Terminals.Get(ctx, "pc-k4001"); err != nil || pc.Segment != api.SegmentMyNumber {
		t.Fatalf("the broker's PC: %+v %v", pc, err)
	}
	page, err := b.Services.Oplog.Search(ctx, oplog.Query{Type: "admin.satellite_office_set", Limit: 5})
	if err != nil || len(page.Events) != 1 || page.Events[0].UserID != "it-admin3" {
		t.Fatalf("the satellite office in the operation log: %+v %v", page.Events, err)
	}
	if _, err := os.Stat(r.data); err == nil {
		t.Error("the CLI wrote to its data directory instead of going through the broker")
	}
}
