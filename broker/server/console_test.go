package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/console"
)

// browser is a cookie-keeping client, as the console's page is.
type browser struct {
	t    *testing.T
	b    *brokertest.Broker
	hc   *http.Client
	csrf string
}

func newBrowser(t *testing.T, b *brokertest.Broker) *browser {
	t.Helper()
	base := b.Client(t).HTTPClient()
	jar, _ := cookiejar.New(nil)
	hc := *base
	hc.Jar = jar
	return &browser{t: t, b: b, hc: &hc}
}

type consoleAnswer struct {
	status int
	header http.Header
	body   []byte
	err    api.Error
}

// do sends a request; withCSRF adds the session's token.
func (br *browser) do(method, path string, body any, withCSRF bool, hdr ...string) consoleAnswer {
	br.t.Helper()
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, br.b.URL+path, rd)
	if err != nil {
		br.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if withCSRF {
		req.Header.Set(console.CSRFHeader, br.csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := br.hc.Do(req)
	if err != nil {
		br.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	a := consoleAnswer{status: resp.StatusCode, header: resp.Header}
	a.body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		_ = json.Unmarshal(a.body, &a.err)
	}
	return a
}

// signIn signs u in to the console with a fresh one-time code.
func (br *browser) signIn(u brokertest.User) consoleAnswer {
	br.t.Helper()
	br.b.Clock.Advance(30 * time.Second) // a code is used once
	a := br.do("POST", "/console/v1/login", api.ConsoleLoginRequest{StaffID: u.ID, Password: u.Password, OTP: br.b.Code(br.t, u)}, false)
	if a.status == 200 {
		var s api.ConsoleSession
		if err := json.Unmarshal(a.body, &s); err != nil {
			br.t.Fatal(err)
		}
		br.csrf = s.CSRFToken
	}
	return a
}

func wantCode(t *testing.T, what string, a consoleAnswer, status int, code api.Code) {
	t.Helper()
	if a.status != status || (code != "" && a.err.Code != code) {
		t.Errorf("%s: %d %s, want %d %s (%s)", what, a.status, a.err.Code, status, code, a.body)
	}
}

// TestConsoleCSRF: a change through the console's cookie needs the
// session's CSRF token (and a same-origin request); reads do not; the
// token of another session does not do.
func TestConsoleCSRF(t *testing.T) {
	b := brokertest.Start(t)
	admin := b.CreateUser(t, "it-kato", api.RoleAdmin)
	br := newBrowser(t, b)
	if a := br.signIn(admin); a.status != 200 || br.csrf == "" {
		t.Fatalf("sign-in: %d %s", a.status, a.body)
	}
	capBefore := b.Services.Slots.Policy().Cap
	five := 5
	wantCode(t, "change without the token", br.do("PATCH", "/admin/v1/slots/config", api.SlotConfigUpdate{Cap: &five}, false), 403, api.CodeConsoleCSRF)
	wrong := br.csrf
	br.csrf = "not-the-token"
	wantCode(t, "change with a wrong token", br.do("PATCH", "/admin/v1/slots/config", api.SlotConfigUpdate{Cap: &five}, true), 403, api.CodeConsoleCSRF)
	br.csrf = wrong
	wantCode(t, "change from another site", br.do("PATCH", "/admin/v1/slots/config", api.SlotConfigUpdate{Cap: &five}, true,
		"Origin", "https://evil.example"), 403, api.CodeConsoleCSRF)
	wantCode(t, "change from a cross-site fetch", br.do("POST", "/admin/v1/sessions/s_x/end", api.EndSessionRequest{}, true,
		"Sec-Fetch-Site", "cross-site"), 403, api.CodeConsoleCSRF)
	if got := b.Services.Slots.Policy().Cap; got != capBefore {
		t.Fatalf("a refused change changed the cap: %d → %d", capBefore, got)
	}
	wantCode(t, "read without the token", br.do("GET", "/admin/v1/sessions", nil, false), 200, "")
	if a := br.do("PATCH", "/admin/v1/slots/config", api.SlotConfigUpdate{Cap: &five}, true, "Origin", b.URL, "Sec-Fetch-Site", "same-origin"); a.status != 200 || b.Services.Slots.Policy().Cap != 5 {
		t.Fatalf("change with the token from the page's origin: %d %s", a.status, a.body)
	}
	// Another admin's session token is not this session's.
	other := newBrowser(t, b)
	if a := other.signIn(b.CreateUser(t, "it-sato", api.RoleAdmin)); a.status != 200 {
		t.Fatalf("second sign-in: %d", a.status)
	}
	br.csrf, other.csrf = other.csrf, br.csrf
	wantCode(t, "another session's token", br.do("PATCH", "/admin/v1/slots/config", api.SlotConfigUpdate{Cap: &five}, true), 403, api.CodeConsoleCSRF)
	br.csrf, other.csrf = other.csrf, br.csrf
	// Sign-out is a change too.
	wantCode(t, "sign-out without the token", br.do("POST", "/console/v1/logout", nil, false), 403, api.CodeConsoleCSRF)
	u, _ := url.Parse(b.URL)
	kept := br.hc.Jar.Cookies(u)
	wantCode(t, "sign-out", br.do("POST", "/console/v1/logout", nil, true), 204, "")
	wantCode(t, "after sign-out (the cookie is gone)", br.do("GET", "/admin/v1/sessions", nil, false), 401, api.CodeUnauthenticated)
	br.hc.Jar.SetCookies(u, kept)
	wantCode(t, "the old cookie kept", br.do("GET", "/admin/v1/sessions", nil, false), 401, api.CodeConsoleSignedOut)
	// The console's sign-in is an ordinary one: it shows as a laptop named for the console.
	ds, err := b.Services.Auth.ListDevices(context.Background(), admin.ID)
	if err != nil || len(ds) != 1 || ds[0].Name != console.DeviceName {
		t.Errorf("devices of the admin: %+v %v", ds, err)
	}
}

// TestConsoleHeaders: every console consoleAnswer carries the strict CSP, and
// the session cookie is HttpOnly, Secure, SameSite=Strict, host-only.
// The page's files hold no inline script or style and nothing from
// elsewhere, which the CSP would block anyway.
func TestConsoleHeaders(t *testing.T) {
	b := brokertest.Start(t)
	br := newBrowser(t, b)
	for _, p := range []string{"/console", "/console/assets/console.js", "/console/assets/console.css"} {
		a := br.do("GET", p, nil, false)
		if a.status != 200 || a.header.Get("Content-Security-Policy") != console.CSP || a.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: %d, CSP %q, frames %q", p, a.status, a.header.Get("Content-Security-Policy"), a.header.Get("X-Frame-Options"))
		}
	}
	if !strings.Contains(console.CSP, "script-src 'self';") || strings.Contains(console.CSP, "unsafe") {
		t.Errorf("CSP %q", console.CSP)
	}
	wantCode(t, "an unknown file", br.do("GET", "/console/assets/secret.txt", nil, false), 404, api.CodeNotFound)
	inline := regexp.MustCompile(`(?i)<script>|<script[^>]*>[^<]+</script>|<style|\sstyle=|\son[a-z]+=|https?://|eval\(|new Function|innerHTML`)
	err := fs.WalkDir(console.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, _ := fs.ReadFile(console.Files(), p)
		if m := inline.Find(body); m != nil {
			t.Errorf("%s holds %q: the console loads only its own files, without inline script or style", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := br.signIn(b.CreateUser(t, "it-kato", api.RoleAdmin))
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == console.CookieName {
			cookie = c
		}
	}
	raw := strings.Join(a.header.Values("Set-Cookie"), "\n")
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" ||
		cookie.Domain != "" || cookie.MaxAge != 0 || !cookie.Expires.IsZero() || len(cookie.Value) < 40 {
		t.Errorf("session cookie: %s", raw)
	}
	if strings.Contains(raw, "zat_") || strings.Contains(string(a.body), "zat_") || strings.Contains(string(a.body), "zrt_") {
		t.Errorf("the broker's tokens reached the browser: %s %s", raw, a.body)
	}
}

// TestConsoleStaffRefused: staff and supervisors have no console, even
// with the right password and code, and their sign-in is ended at once;
// a console sign-in always needs a one-time code.
func TestConsoleStaffRefused(t *testing.T) {
	b := brokertest.Start(t)
	for _, role := range []api.Role{api.RoleStaff, api.RoleSupervisor} {
		u := b.CreateUser(t, "s-"+string(role), role)
		br := newBrowser(t, b)
		a := br.signIn(u)
		wantCode(t, string(role)+" sign-in", a, 403, api.CodeConsoleNotAdmin)
		if len(a.header.Values("Set-Cookie")) != 0 {
			t.Errorf("%s got a cookie: %v", role, a.header.Values("Set-Cookie"))
		}
		wantCode(t, string(role)+" then reads", br.do("GET", "/admin/v1/sessions", nil, false), 401, api.CodeUnauthenticated)
	}
	admin := b.CreateUser(t, "it-kato", api.RoleAdmin)
	br := newBrowser(t, b)
	wantCode(t, "no code", br.do("POST", "/console/v1/login", api.ConsoleLoginRequest{StaffID: admin.ID, Password: admin.Password}, false),
		401, api.CodeOTPRequired)
	b.Clock.Advance(30 * time.Second)
	wantCode(t, "wrong password", br.do("POST", "/console/v1/login",
		api.ConsoleLoginRequest{StaffID: admin.ID, Password: "wrong-Password-1", OTP: b.Code(t, admin)}, false), 401, api.CodeInvalidCredentials)
}

// TestConsoleAuditorReadsOnly: an auditor's console reads everything the
// admin API lets auditors read and changes nothing.
func TestConsoleAuditorReadsOnly(t *testing.T) {
	b := brokertest.Start(t)
	br := newBrowser(t, b)
	if a := br.signIn(b.CreateUser(t, "kansa", api.RoleAuditor)); a.status != 200 {
		t.Fatalf("auditor sign-in: %d %s", a.status, a.body)
	}
	for _, p := range []string{"/admin/v1/sessions", "/admin/v1/users", "/admin/v1/terminals", "/admin/v1/roster/imports",
		"/admin/v1/oplogs", "/admin/v1/reports/usage", "/admin/v1/reports/what-if?cap=10", "/admin/v1/reports/usage.csv"} {
		wantCode(t, "auditor reads "+p, br.do("GET", p, nil, false), 200, "")
	}
	one := 1
	wantCode(t, "auditor sets the cap", br.do("PATCH", "/admin/v1/slots/config", api.SlotConfigUpdate{Cap: &one}, true), 403, api.CodeForbidden)
	wantCode(t, "auditor runs a roster dry run", br.do("POST", "/admin/v1/roster/dry-run", api.RosterImportRequest{CSV: []byte("職員番号,氏名\n")}, true),
		403, api.CodeForbidden)
	wantCode(t, "auditor resets a password", br.do("POST", "/admin/v1/users/kansa/reset-password", nil, true), 403, api.CodeForbidden)
}

// TestConsoleAddressRefused: outside the configured ranges the console
// answers nothing but the refusal, and its cookie opens nothing.
func TestConsoleAddressRefused(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConsoleAllow("10.20.0.0/16"))
	admin := b.CreateUser(t, "it-kato", api.RoleAdmin)
	br := newBrowser(t, b)
	for _, p := range []string{"/console", "/console/assets/console.js", "/console/v1/session"} {
		wantCode(t, "GET "+p+" from 127.0.0.1", br.do("GET", p, nil, false), 403, api.CodeConsoleAddress)
	}
	wantCode(t, "sign-in from 127.0.0.1", br.signIn(admin), 403, api.CodeConsoleAddress)
	// A cookie from elsewhere (here made up) is refused for the address first.
	req, _ := http.NewRequest("GET", b.URL+"/admin/v1/sessions", nil)
	req.AddCookie(&http.Cookie{Name: console.CookieName, Value: strings.Repeat("a", 43)})
	resp, err := br.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("admin API with a console cookie from outside: %d, want 403", resp.StatusCode)
	}
	// The admin API itself, with a bearer token, is not the console's to refuse.
	if _, err := b.Login(t, admin).Sessions(context.Background()); err != nil {
		t.Errorf("admin API by token: %v", err)
	}
}

// TestConsoleIdleSignOut: the console signs out after the idle time
// without the user doing anything (the page's polling does not count),
// and an active session outlives its access token by refreshing it.
func TestConsoleIdleSignOut(t *testing.T) {
	b := brokertest.Start(t)
	admin := b.CreateUser(t, "it-kato", api.RoleAdmin)
	br := newBrowser(t, b)
	if a := br.signIn(admin); a.status != 200 {
		t.Fatal(a.status)
	}
	for i := 0; i < 4; i++ { // 40 minutes of work: the 15-minute access token is refreshed
		b.Clock.Advance(10 * time.Minute)
		wantCode(t, "active after 10 minutes", br.do("GET", "/admin/v1/users", nil, false), 200, "")
	}
	b.Clock.Advance(10 * time.Minute)
	wantCode(t, "polling", br.do("GET", "/admin/v1/sessions", nil, false, console.BackgroundHeader, "1"), 200, "")
	b.Clock.Advance(6 * time.Minute)
	wantCode(t, "after 16 minutes of only polling", br.do("GET", "/admin/v1/sessions", nil, false, console.BackgroundHeader, "1"),
		401, api.CodeConsoleSignedOut)
	wantCode(t, "and for good", br.do("GET", "/console/v1/session", nil, false), 401, api.CodeConsoleSignedOut)
}

// TestConsoleDeptAdmin: a department's IT contact signs in and the admin
// API limits them as it does by token: their department's staff only,
// no cap, no reports.
func TestConsoleDeptAdmin(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	contact := b.CreateUser(t, "zeimu-it", api.RoleDeptAdmin)
	b.CreateUser(t, "zeimu-1")
	b.CreateUser(t, "somu-1") // stays in 総務課
	dept := "税務課"
	for _, id := range []string{contact.ID, "zeimu-1"} {
		if _, err := b.Services.Auth.UpdateUser(ctx, "test", id, api.UpdateUserRequest{Department: &dept}); err != nil {
			t.Fatal(err)
		}
	}
	br := newBrowser(t, b)
	if a := br.signIn(contact); a.status != 200 {
		t.Fatalf("department IT sign-in: %d %s", a.status, a.body)
	}
	a := br.do("GET", "/admin/v1/users", nil, false)
	var l api.UserList
	if err := json.Unmarshal(a.body, &l); err != nil || a.status != 200 {
		t.Fatalf("users: %d %s", a.status, a.body)
	}
	for _, u := range l.Users {
		if u.Department != dept {
			t.Errorf("department IT sees %s of %s", u.ID, u.Department)
		}
	}
	wantCode(t, "another department's user", br.do("POST", "/admin/v1/users/somu-1/unlock", nil, true), 404, api.CodeNotFound)
	wantCode(t, "own department's user", br.do("POST", "/admin/v1/users/zeimu-1/unlock", nil, true), 204, "")
	ten := 10
	wantCode(t, "the cap", br.do("PATCH", "/admin/v1/slots/config", api.SlotConfigUpdate{Cap: &ten}, true), 403, api.CodeForbidden)
	wantCode(t, "the reports", br.do("GET", "/admin/v1/reports/usage", nil, false), 403, api.CodeForbidden)
}
