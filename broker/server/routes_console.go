package server

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/console"
)

// Console is the admin console's reach and cookie sessions (broker/console).
type Console interface {
	Allowed(a netip.Addr) bool
	Idle() time.Duration
	DeviceKey() ed25519.PrivateKey
	Open(resp *api.LoginResponse) (string, console.Session, []console.Session)
	Use(cookie string, touch bool, refresh console.Refresher) (console.Session, error)
	Close(cookie string) (console.Session, bool)
}

// consoleRoutes serve the console's page and its sign-in. They are
// anonymous in the table because the cookie, not a bearer token, is what
// they read; everything the page does after sign-in goes through the
// admin API's own routes (see authorizeConsole).
func (s *Server) consoleRoutes() []route {
	N := auth.Anonymous
	return []route{
		{method: "GET", path: "/console", role: N, handle: s.consolePage,
			summary: "The admin console (HTML), from the configured address ranges only."},
		{method: "GET", path: "/console/assets/{file}", role: N, handle: s.consoleAsset,
			summary: "The console's script and style sheet (embedded; nothing from elsewhere)."},
		{method: "POST", path: "/console/v1/login", role: N, handle: s.consoleLogin, in: api.ConsoleLoginRequest{}, out: api.ConsoleSession{},
			summary: "Sign in to the console with password and one-time code (admins, auditors, department IT); sets the session cookie."},
		{method: "GET", path: "/console/v1/session", role: N, handle: s.consoleSession, out: api.ConsoleSession{},
			summary: "The console's signed-in user and CSRF token, from the session cookie."},
		{method: "POST", path: "/console/v1/logout", role: N, handle: s.consoleLogout,
			summary: "Sign out of the console (needs the CSRF token); ends the sign-in behind it."},
	}
}

// consoleHeaders go on every console answer.
func consoleHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", console.CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// consoleReach refuses a caller outside the configured ranges.
func (s *Server) consoleReach(c *call) error {
	consoleHeaders(c.W)
	if s.console == nil || !s.console.Allowed(s.source(c.R)) {
		return api.Err(api.CodeConsoleAddress)
	}
	return nil
}

// consolePage is the console's embedded page; it uses no device.
var consolePage = staticPage{files: console.Files(), csp: console.CSP,
	permissions: "camera=(), microphone=(), geolocation=(), display-capture=()"}

func (s *Server) consolePage(c *call) (any, error) {
	if err := s.consoleReach(c); err != nil {
		return nil, err
	}
	return consolePage.index(c)
}

func (s *Server) consoleAsset(c *call) (any, error) {
	if err := s.consoleReach(c); err != nil {
		return nil, err
	}
	return consolePage.asset(c)
}

func (s *Server) consoleLogin(c *call) (any, error) {
	if err := s.consoleReach(c); err != nil {
		return nil, err
	}
	if !s.sameOrigin(c.R) {
		// A sign-in posted from another site would sign this browser in
		// as someone else (login CSRF).
		return nil, api.Err(api.CodeConsoleCSRF)
	}
	var req api.ConsoleLoginRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.OTP) == "" {
		return nil, api.Err(api.CodeOTPRequired)
	}
	if s.limits.login != nil {
		// A console sign-in proves no laptop: it counts as any unproven one.
		if err := s.throttle(c, s.limits.login, "sign-ins", "サインイン"); err != nil {
			return nil, err
		}
	}
	key := s.console.DeviceKey()
	resp, err := s.auth.Login(c.R.Context(), api.LoginRequest{StaffID: req.StaffID, Password: req.Password, OTP: req.OTP,
		Device: api.DeviceInfo{Name: console.DeviceName, OS: "browser", PublicKey: key.Public().(ed25519.PublicKey)}},
		s.source(c.R).String())
	if err != nil {
		return nil, err
	}
	// What the console refuses, it refuses after the password and code
	// held, so the sign-in that was made is ended at once.
	var refuse *api.Error
	switch {
	case resp.Stage != api.StageOK:
		refuse = api.Err(api.CodeConsoleSetup)
	case !console.CanUse(resp.User):
		refuse = api.Err(api.CodeConsoleNotAdmin)
	case !resp.User.TOTPEnrolled:
		refuse = api.Err(api.CodeConsoleNeedsOTP)
	}
	if refuse != nil {
		s.endSignIn(c, resp.AccessToken)
		s.recordConsole(c, resp.User.ID, "console.sign_in_refused", "reason", string(refuse.Code))
		return nil, refuse
	}
	cookie, se, gone := s.console.Open(resp)
	for _, g := range gone {
		s.endTimedOut(c, g) // closed browsers leave no sign-in behind
	}
	http.SetCookie(c.W, &http.Cookie{Name: console.CookieName, Value: cookie, Path: "/",
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	s.recordConsole(c, se.User.ID, "console.signed_in", "device", se.DeviceID)
	return s.consoleView(se), nil
}

func (s *Server) consoleView(se console.Session) api.ConsoleSession {
	return api.ConsoleSession{User: se.User, CSRFToken: se.CSRF, IdleSeconds: int(s.console.Idle() / time.Second)}
}

func (s *Server) recordConsole(c *call, actor, action string, kv ...string) {
	f := map[string]string{"remote": s.source(c.R).String()}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	if err := s.audit.Record(c.R.Context(), audit.Event{At: s.now(), Actor: actor, Action: action, Target: actor, Fields: f}); err != nil {
		s.log.Warn("audit console", "action", action, "err", err)
	}
}

// endSignIn ends the broker sign-in behind an access token.
func (s *Server) endSignIn(c *call, access string) {
	p, err := s.auth.Authenticate(c.R.Context(), access)
	if err != nil {
		return
	}
	if err := s.auth.Logout(c.R.Context(), p); err != nil {
		s.log.Warn("console: end sign-in", "user", p.User.ID, "err", err)
	}
}

// refresher rotates a console session's tokens, proven with the
// console's device key as the app proves its laptop's.
func (s *Server) refresher(c *call) console.Refresher {
	key := s.console.DeviceKey()
	return func(refresh, deviceID string) (*api.LoginResponse, error) {
		ts := s.now().Unix()
		return s.auth.Refresh(c.R.Context(), api.RefreshRequest{RefreshToken: refresh, DeviceID: deviceID, Timestamp: ts,
			Signature: ed25519.Sign(key, api.RefreshProof(refresh, deviceID, ts))})
	}
}

// useConsole resolves the request's console cookie; a session that timed
// out has its sign-in ended too.
func (s *Server) useConsole(c *call, touch bool) (console.Session, string, error) {
	ck, err := c.R.Cookie(console.CookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return console.Session{}, "", api.Err(api.CodeConsoleSignedOut)
	}
	se, err := s.console.Use(ck.Value, touch, s.refresher(c))
	if errors.Is(err, console.ErrSignedOut) {
		if se.Refresh != "" {
			s.endTimedOut(c, se)
		}
		return console.Session{}, "", api.Err(api.CodeConsoleSignedOut)
	}
	return se, ck.Value, err
}

// endTimedOut ends the sign-in of a session that went idle: its access
// token has most likely expired by then, so it is refreshed once to be
// ended properly rather than left until its refresh token expires.
func (s *Server) endTimedOut(c *call, se console.Session) {
	access := se.Access
	if !s.now().Before(se.AccessExpires) {
		resp, err := s.refresher(c)(se.Refresh, se.DeviceID)
		if err != nil {
			return
		}
		access = resp.AccessToken
	}
	s.endSignIn(c, access)
	s.recordConsole(c, se.User.ID, "console.signed_out", "reason", "idle")
}

// sameOrigin checks what a browser says about where a change comes from;
// the CSRF token is the check, this is a second one. The page's origin
// is the host it asked for, or -public-url's (behind a proxy that
// rewrites Host).
func (s *Server) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "https://"+r.Host && o != s.publicOrigin() {
		return false
	}
	if f := r.Header.Get("Sec-Fetch-Site"); f != "" && f != "same-origin" {
		return false
	}
	return true
}

func (s *Server) publicOrigin() string {
	u, err := url.Parse(s.cfg.PublicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// checkCSRF refuses a change without the session's token.
func (s *Server) checkCSRF(c *call, se console.Session) error {
	if safeMethod(c.R.Method) {
		return nil
	}
	if !console.CSRFOK(se, c.R.Header.Get(console.CSRFHeader)) || !s.sameOrigin(c.R) {
		return api.Err(api.CodeConsoleCSRF)
	}
	return nil
}

func (s *Server) consoleSession(c *call) (any, error) {
	if err := s.consoleReach(c); err != nil {
		return nil, err
	}
	se, _, err := s.useConsole(c, c.R.Header.Get(console.BackgroundHeader) == "")
	if err != nil {
		return nil, err
	}
	return s.consoleView(se), nil
}

func (s *Server) consoleLogout(c *call) (any, error) {
	if err := s.consoleReach(c); err != nil {
		return nil, err
	}
	se, cookie, err := s.useConsole(c, false)
	if err != nil {
		return nil, err
	}
	if err := s.checkCSRF(c, se); err != nil {
		return nil, err
	}
	s.console.Close(cookie)
	s.endSignIn(c, se.Access)
	http.SetCookie(c.W, &http.Cookie{Name: console.CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	s.recordConsole(c, se.User.ID, "console.signed_out", "reason", "sign_out")
	return noContent, nil
}

// authorizeConsole turns the console's cookie into its session's bearer
// token on an admin API route: only from the configured ranges, a change
// only with the CSRF token, and the page's own polling does not keep the
// session from going idle.
func (s *Server) authorizeConsole(c *call) (string, bool, error) {
	if s.console == nil || !strings.HasPrefix(c.r.path, "/admin/") {
		return "", false, nil
	}
	if _, err := c.R.Cookie(console.CookieName); err != nil {
		return "", false, nil
	}
	if !s.console.Allowed(s.source(c.R)) {
		return "", false, api.Err(api.CodeConsoleAddress)
	}
	se, _, err := s.useConsole(c, c.R.Header.Get(console.BackgroundHeader) == "")
	if err != nil {
		return "", false, err
	}
	if err := s.checkCSRF(c, se); err != nil {
		return "", false, err
	}
	return se.Access, true, nil
}
