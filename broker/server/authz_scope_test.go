package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// answer is what a caller learns from one request.
type answer struct {
	Status int
	Code   api.Code
	Denied bool // refused by the route table
}

func ask(t *testing.T, hc *http.Client, base, token, method, path, body string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e api.Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 400 {
		_ = json.Unmarshal(b, &e)
	}
	return answer{resp.StatusCode, e.Code, resp.Header.Get("X-Zaitaku-Authz") == "denied"}
}

func getJSON(t *testing.T, hc *http.Client, base, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// scopeFixture: 総務課 and 税務課, a member of staff, an office PC, a
// laptop and (for 総務課) a live session in each, and 税務課's IT contact.
type scopeFixture struct {
	b                *brokertest.Broker
	hc               *http.Client
	deptAdmin        string // token of 税務課's IT contact
	auditor, admin   string
	soDevice, soSlot string
	zeiDevice        string
}

func newScopeFixture(t *testing.T) *scopeFixture {
	b := brokertest.Start(t)
	ctx := context.Background()
	a := b.Services.Auth
	zei := "税務課"
	setDept := func(id string) {
		t.Helper()
		if _, err := a.UpdateUser(ctx, "test", id, api.UpdateUserRequest{Department: &zei}); err != nil {
			t.Fatal(err)
		}
	}
	so1 := b.CreateUser(t, "so-1") // 総務課
	zei1 := b.CreateUser(t, "zei-1")
	setDept("zei-1")
	zeiIT := b.CreateUser(t, "zei-it", api.RoleStaff, api.RoleDeptAdmin)
	setDept("zei-it")
	b.CreateUser(t, "zei-auditor", api.RoleAuditor) // privileged, in 税務課: central IT's
	setDept("zei-auditor")
	auditor := b.CreateUser(t, "audit-1", api.RoleAuditor)
	admin := b.CreateUser(t, "it-1", api.RoleAdmin)
	for _, pc := range []api.CreateTerminalRequest{
		{ID: "pc-so", Name: "総務課-01", Address: "127.0.0.1", RDPPort: 1, Department: "総務課", UserID: "so-1"},
		{ID: "pc-zei", Name: "税務課-01", Address: "127.0.0.1", RDPPort: 1, Department: "税務課", UserID: "zei-1"},
	} {
		if _, err := b.Services.Terminals.Create(ctx, "test", pc); err != nil {
			t.Fatal(err)
		}
	}
	f := &scopeFixture{b: b, hc: b.Client(t).HTTPClient()}
	so := b.Login(t, so1)
	f.soDevice = so.Login.Device.ID
	f.zeiDevice = b.Login(t, zei1).Login.Device.ID
	sl, err := so.RequestSlot(ctx, api.SlotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.soSlot = sl.ID
	f.deptAdmin = b.Login(t, zeiIT).Token()
	f.auditor = b.Login(t, auditor).Token()
	f.admin = b.Login(t, admin).Token()
	return f
}

// TestAuthzDepartmentScope: a department's IT contact reads and changes
// their own department's staff, laptops, office PCs and sessions, and
// for another department's gets, by ID, the very answer an ID that does
// not exist gets; lists hold their own department only; they cannot move
// anyone out of their department or grant a privileged role.
func TestAuthzDepartmentScope(t *testing.T) {
	f := newScopeFixture(t)
	tok := f.deptAdmin
	do := func(method, path, body string) answer { return ask(t, f.hc, f.b.URL, tok, method, path, body) }

	for _, tc := range []struct {
		name, method, other, missing, body string
	}{
		{"read user", "GET", "/admin/v1/users/so-1", "/admin/v1/users/nobody", ""},
		{"read privileged user of own department", "GET", "/admin/v1/users/zei-auditor", "/admin/v1/users/nobody", ""},
		{"change user", "PATCH", "/admin/v1/users/so-1", "/admin/v1/users/nobody", `{"name":"x"}`},
		{"disable user", "PATCH", "/admin/v1/users/so-1", "/admin/v1/users/nobody", `{"disabled":true}`},
		{"reset password", "POST", "/admin/v1/users/so-1/reset-password", "/admin/v1/users/nobody/reset-password", ""},
		{"reset one-time code", "POST", "/admin/v1/users/so-1/reset-totp", "/admin/v1/users/nobody/reset-totp", ""},
		{"unlock", "POST", "/admin/v1/users/so-1/unlock", "/admin/v1/users/nobody/unlock", ""},
		{"revoke laptop", "POST", "/admin/v1/devices/" + f.soDevice + "/revoke", "/admin/v1/devices/d_nope/revoke", ""},
		{"approve laptop", "POST", "/admin/v1/devices/" + f.soDevice + "/approve", "/admin/v1/devices/d_nope/approve", ""},
		{"read PC", "GET", "/admin/v1/terminals/pc-so", "/admin/v1/terminals/pc-nope", ""},
		{"change PC", "PATCH", "/admin/v1/terminals/pc-so", "/admin/v1/terminals/pc-nope", `{"name":"x"}`},
		{"pair PC", "POST", "/admin/v1/terminals/pc-so/pair", "/admin/v1/terminals/pc-nope/pair", `{"user_id":"zei-1"}`},
		{"delete PC", "DELETE", "/admin/v1/terminals/pc-so", "/admin/v1/terminals/pc-nope", ""},
		{"pair own PC with another's staff", "POST", "/admin/v1/terminals/pc-zei/pair", "/admin/v1/terminals/pc-zei/pair", `{"user_id":"so-1"}`},
		{"end session", "POST", "/admin/v1/sessions/" + f.soSlot + "/end", "/admin/v1/sessions/s_nope/end", `{"reason":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body2 := tc.body
			if tc.name == "pair own PC with another's staff" {
				body2 = `{"user_id":"nobody"}`
			}
			got, want := do(tc.method, tc.other, tc.body), do(tc.method, tc.missing, body2)
			if got != want || got.Status != http.StatusNotFound {
				t.Errorf("%s %s: %+v; an ID that does not exist: %+v (want both 404, alike)", tc.method, tc.other, got, want)
			}
		})
	}
	// Nothing of 総務課's changed.
	ctx := context.Background()
	if u, err := f.b.Services.Auth.GetUser(ctx, "so-1"); err != nil || u.Disabled || u.Name != "Test so-1" || u.MustChangePassword {
		t.Errorf("so-1 after the refusals: %+v, %v", u, err)
	}
	if pc, err := f.b.Services.Terminals.Get(ctx, "pc-so"); err != nil || pc.UserID != "so-1" || pc.Name != "総務課-01" {
		t.Errorf("pc-so after the refusals: %+v, %v", pc, err)
	}
	if sl := f.b.Services.Slots.List(); len(sl.Sessions)+len(sl.Queue) != 1 {
		t.Errorf("sessions after the refusals: %+v", sl)
	}

	t.Run("lists hold their own department", func(t *testing.T) {
		var us api.UserList
		getJSON(t, f.hc, f.b.URL, tok, "/admin/v1/users", &us)
		if len(us.Users) != 1 || us.Users[0].ID != "zei-1" {
			t.Errorf("users: %+v, want zei-1 only (not the privileged zei-it, zei-auditor)", us.Users)
		}
		getJSON(t, f.hc, f.b.URL, tok, "/admin/v1/users?department=%E7%B7%8F%E5%8B%99%E8%AA%B2", &us)
		if len(us.Users) != 0 {
			t.Errorf("users of 総務課: %+v", us.Users)
		}
		var ts api.TerminalList
		getJSON(t, f.hc, f.b.URL, tok, "/admin/v1/terminals", &ts)
		if len(ts.Terminals) != 1 || ts.Terminals[0].ID != "pc-zei" {
			t.Errorf("terminals: %+v", ts.Terminals)
		}
		var ds api.DeviceList
		getJSON(t, f.hc, f.b.URL, tok, "/admin/v1/devices", &ds)
		if len(ds.Devices) != 1 || ds.Devices[0].ID != f.zeiDevice {
			t.Errorf("devices: %+v", ds.Devices)
		}
		getJSON(t, f.hc, f.b.URL, tok, "/admin/v1/devices?user=so-1", &ds)
		if len(ds.Devices) != 0 {
			t.Errorf("devices of so-1: %+v", ds.Devices)
		}
		var ss api.SessionList
		getJSON(t, f.hc, f.b.URL, tok, "/admin/v1/sessions", &ss)
		if len(ss.Sessions)+len(ss.Queue) != 0 {
			t.Errorf("sessions: %+v", ss)
		}
		// Central IT sees both departments.
		getJSON(t, f.hc, f.b.URL, f.admin, "/admin/v1/terminals", &ts)
		getJSON(t, f.hc, f.b.URL, f.admin, "/admin/v1/sessions", &ss)
		if len(ts.Terminals) != 2 || len(ss.Sessions)+len(ss.Queue) != 1 {
			t.Errorf("central IT: %d PCs, %+v", len(ts.Terminals), ss)
		}
	})

	t.Run("own department", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, body string
			want                     int
		}{
			{"read", "GET", "/admin/v1/users/zei-1", "", 200},
			{"rename", "PATCH", "/admin/v1/users/zei-1", `{"name":"税務 一郎"}`, 200},
			{"move out", "PATCH", "/admin/v1/users/zei-1", `{"department":"総務課"}`, 403},
			{"grant admin", "PATCH", "/admin/v1/users/zei-1", `{"roles":["staff","admin"]}`, 403},
			{"grant auditor", "PATCH", "/admin/v1/users/zei-1", `{"roles":["auditor"]}`, 403},
			{"grant supervisor", "PATCH", "/admin/v1/users/zei-1", `{"roles":["staff","supervisor"]}`, 200},
			{"create in own department", "POST", "/admin/v1/users", `{"id":"zei-2","name":"税務 二郎","roles":["staff"]}`, 201},
			{"create in another", "POST", "/admin/v1/users", `{"id":"so-2","name":"x","department":"総務課","roles":["staff"]}`, 403},
			{"create an admin", "POST", "/admin/v1/users", `{"id":"zei-3","name":"x","roles":["admin"]}`, 403},
			{"PC of another department", "POST", "/admin/v1/terminals", `{"id":"pc-x","name":"x","address":"127.0.0.1","department":"総務課"}`, 403},
			{"PC moved out", "PATCH", "/admin/v1/terminals/pc-zei", `{"department":"総務課"}`, 403},
			{"PC renamed", "PATCH", "/admin/v1/terminals/pc-zei", `{"name":"税務課-01b"}`, 200},
			{"pair own PC with own staff", "POST", "/admin/v1/terminals/pc-zei/pair", `{"user_id":"zei-2"}`, 200},
			{"revoke own laptop", "POST", "/admin/v1/devices/" + f.zeiDevice + "/revoke", "", 200},
		} {
			if got := do(tc.method, tc.path, tc.body); got.Status != tc.want {
				t.Errorf("%s: %s %s: %+v, want %d", tc.name, tc.method, tc.path, got, tc.want)
			}
		}
		if u, _ := f.b.Services.Auth.GetUser(ctx, "zei-2"); u == nil || u.Department != "税務課" {
			t.Errorf("zei-2 created in %+v, want 税務課 (the IT contact's own)", u)
		}
	})
}

// TestAuthzAuditorReadsOnly: an auditor reads every admin list with real
// data, and every admin change, called with real IDs, is refused by the
// route table and changes nothing.
func TestAuthzAuditorReadsOnly(t *testing.T) {
	f := newScopeFixture(t)
	tok := f.auditor
	for _, p := range []string{"/admin/v1/users", "/admin/v1/users/so-1", "/admin/v1/devices", "/admin/v1/terminals/pc-so",
		"/admin/v1/sessions", "/admin/v1/oplogs", "/admin/v1/oplogs/devices/" + f.soDevice + "/timeline", "/admin/v1/policy",
		"/admin/v1/slots/config", "/admin/v1/oplogs/config", "/admin/v1/roster/imports"} {
		if got := ask(t, f.hc, f.b.URL, tok, "GET", p, ""); got.Status != 200 {
			t.Errorf("auditor GET %s: %+v, want 200", p, got)
		}
	}
	var ss api.SessionList
	getJSON(t, f.hc, f.b.URL, tok, "/admin/v1/sessions", &ss)
	if len(ss.Sessions)+len(ss.Queue) != 1 {
		t.Errorf("auditor's sessions: %+v, want the live one", ss)
	}
	ids := strings.NewReplacer("{id}", "so-1", "{kind}", "user", "{subject}", "so-1")
	n := 0
	for _, rt := range f.b.Server.Routes() {
		if !strings.HasPrefix(rt.Path, "/admin/") || rt.Method == "GET" {
			continue
		}
		path := ids.Replace(rt.Path)
		switch {
		case strings.HasPrefix(rt.Path, "/admin/v1/terminals/"):
			path = strings.Replace(rt.Path, "{id}", "pc-so", 1)
		case strings.HasPrefix(rt.Path, "/admin/v1/devices/"):
			path = strings.Replace(rt.Path, "{id}", f.soDevice, 1)
		case strings.HasPrefix(rt.Path, "/admin/v1/sessions/"):
			path = strings.Replace(rt.Path, "{id}", f.soSlot, 1)
		}
		got := ask(t, f.hc, f.b.URL, tok, rt.Method, path, "{}")
		if got.Status != http.StatusForbidden || !got.Denied {
			t.Errorf("auditor %s %s: %+v, want 403 by the route table", rt.Method, path, got)
		}
		n++
	}
	if n < 15 {
		t.Errorf("only %d admin changes tried", n)
	}
	ctx := context.Background()
	if u, err := f.b.Services.Auth.GetUser(ctx, "so-1"); err != nil || u.Disabled || u.MustChangePassword || !u.TOTPEnrolled {
		t.Errorf("so-1 after the auditor: %+v, %v", u, err)
	}
	if sl := f.b.Services.Slots.List(); len(sl.Sessions)+len(sl.Queue) != 1 {
		t.Errorf("sessions after the auditor: %+v", sl)
	}
}
