// Package console is the broker's admin console in the browser: its
// embedded page (web/, no external file), who may reach it (the address
// ranges IT configures), and its cookie sessions. A cookie session holds,
// on the broker only, the token pair of an ordinary admin sign-in; the
// page calls the admin API (/admin/v1) with the cookie and a CSRF token,
// and the server turns the cookie into that bearer token, so the console
// can do nothing the admin API does not already allow its user.
package console

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/netip"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/netaddr"
)

//go:embed web
var web embed.FS

// Files are the console's page and assets (index.html, console.js, console.css).
func Files() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embed directive guarantees web/
	}
	return sub
}

// CookieName is the session cookie. The __Host- prefix makes the browser
// refuse it unless it is Secure, for the whole host and no wider.
const CookieName = "__Host-zaitaku-console"

// CSRFHeader carries the session's CSRF token on every change.
const CSRFHeader = "X-Zaitaku-CSRF"

// BackgroundHeader marks the page's own polling, which does not count as
// activity for the idle sign-out.
const BackgroundHeader = "X-Zaitaku-Background"

// CSP is the Content-Security-Policy of every console response: the
// page's own scripts and styles only (no inline script or style, no
// eval), requests to this origin only, never in a frame.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// DefaultAllow is who may reach the console when IT names no ranges: the
// private address ranges an office network uses. Not loopback: a broker
// reached through a local reverse proxy would admit the whole world.
const DefaultAllow = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

// ParseAllow reads a comma-separated list of CIDRs or addresses.
func ParseAllow(s string) ([]netip.Prefix, error) {
	out, err := netaddr.ParsePrefixes(s)
	if err != nil {
		return nil, errors.New("console ranges: " + err.Error())
	}
	if len(out) == 0 {
		return nil, errors.New("console ranges: name at least one range (e.g. 10.20.0.0/16), or the console is unreachable")
	}
	return out, nil
}

// Config is what a Service is built from.
type Config struct {
	Allow []netip.Prefix // who may reach the console
	// Idle signs a session out after this long without the user doing
	// anything (default 15 minutes); Max after this long in any case
	// (default 10 hours, a working day).
	Idle, Max time.Duration
	// Seed makes the console's device key: the same on every start, so
	// that each admin's console "device" is enrolled (and approved) once.
	Seed []byte
	Now  func() time.Time
}

// Session is one signed-in browser.
type Session struct {
	User          api.User
	CSRF          string
	Access        string // the broker's bearer token of this sign-in
	AccessExpires time.Time
	Refresh       string
	DeviceID      string
	Created       time.Time
	LastActive    time.Time
}

// Service keeps the console's sessions in memory: a restarted broker
// signs every console out, which is the safe direction.
type Service struct {
	cfg Config
	key ed25519.PrivateKey

	mu       sync.Mutex // guards sessions
	sessions map[[32]byte]*entry
}

type entry struct {
	mu sync.Mutex // serializes refreshes of one session (a rotated token may be used once)
	s  Session
}

// maxSessions bounds memory; a sign-in beyond it drops the oldest.
const maxSessions = 1000

// New builds the service.
func New(cfg Config) (*Service, error) {
	if len(cfg.Allow) == 0 {
		return nil, errors.New("console: no address ranges")
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 15 * time.Minute
	}
	if cfg.Max <= 0 {
		cfg.Max = 10 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	seed := sha256.Sum256(append([]byte("zaitaku console device v1\n"), cfg.Seed...))
	if len(cfg.Seed) == 0 {
		_, _ = rand.Read(seed[:])
	}
	return &Service{cfg: cfg, key: ed25519.NewKeyFromSeed(seed[:]), sessions: map[[32]byte]*entry{}}, nil
}

// Allowed reports whether the console answers a request from a.
func (s *Service) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Idle is the idle sign-out.
func (s *Service) Idle() time.Duration { return s.cfg.Idle }

// DeviceKey is the console's device key: it signs in and refreshes as an
// enrolled device of each admin, named DeviceName.
func (s *Service) DeviceKey() ed25519.PrivateKey { return s.key }

// DeviceName is how the console appears in an admin's device list.
const DeviceName = "管理コンソール (ブラウザ)"

func random() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashOf(cookie string) [32]byte { return sha256.Sum256([]byte(cookie)) }

// Open starts a session for a completed sign-in and returns its cookie
// value (only its hash is kept) and the sessions that timed out
// meanwhile, whose sign-ins the caller ends.
func (s *Service) Open(resp *api.LoginResponse) (string, Session, []Session) {
	now := s.cfg.Now()
	cookie := random()
	se := Session{User: resp.User, CSRF: random(), Access: resp.AccessToken, AccessExpires: resp.AccessExpiresAt,
		Refresh: resp.RefreshToken, DeviceID: resp.Device.ID, Created: now, LastActive: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := s.sweep(now)
	if len(s.sessions) >= maxSessions {
		var oldest *entry
		var key [32]byte
		for k, e := range s.sessions {
			if !e.mu.TryLock() {
				continue // in use this instant: not the one to drop
			}
			if oldest == nil || e.s.Created.Before(oldest.s.Created) {
				oldest, key = e, k
			}
			e.mu.Unlock()
		}
		if oldest != nil {
			gone = append(gone, oldest.s)
			delete(s.sessions, key)
		}
	}
	s.sessions[hashOf(cookie)] = &entry{s: se}
	return cookie, se, gone
}

// sweep removes the sessions past their time; call with s.mu held. An
// entry in use this instant is left for the next sweep (Use holds its
// lock and then takes s.mu, so waiting for it here could deadlock).
func (s *Service) sweep(now time.Time) []Session {
	var gone []Session
	for k, e := range s.sessions {
		if e.mu.TryLock() {
			if s.expired(e.s, now) {
				gone = append(gone, e.s)
				delete(s.sessions, k)
			}
			e.mu.Unlock()
		}
	}
	return gone
}

func (s *Service) expired(se Session, now time.Time) bool {
	return now.Sub(se.LastActive) >= s.cfg.Idle || now.Sub(se.Created) >= s.cfg.Max
}

// ErrSignedOut is a cookie with no session behind it (never one, ended,
// idle or past its maximum); Ended holds the session it had, if any.
var ErrSignedOut = errors.New("console: signed out")

// Refresher rotates a session's tokens (auth's refresh, proven with DeviceKey).
type Refresher func(refresh, deviceID string) (*api.LoginResponse, error)

// Use finds the session of a cookie for one request: touch counts it as
// the user's activity; tokens about to expire are refreshed first. A
// session past its idle or maximum time is removed and returned with
// ErrSignedOut, so that the caller ends its sign-in too.
func (s *Service) Use(cookie string, touch bool, refresh Refresher) (Session, error) {
	k := hashOf(cookie)
	s.mu.Lock()
	e := s.sessions[k]
	s.mu.Unlock()
	if e == nil {
		return Session{}, ErrSignedOut
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.cfg.Now()
	if s.expired(e.s, now) {
		s.drop(k, e)
		return e.s, ErrSignedOut
	}
	if now.Add(time.Minute).After(e.s.AccessExpires) {
		resp, err := refresh(e.s.Refresh, e.s.DeviceID)
		if err != nil {
			s.drop(k, e)
			return Session{}, ErrSignedOut
		}
		e.s.Access, e.s.AccessExpires, e.s.Refresh, e.s.User = resp.AccessToken, resp.AccessExpiresAt, resp.RefreshToken, resp.User
	}
	if touch {
		e.s.LastActive = now
	}
	return e.s, nil
}

// Close ends a cookie's session and returns it.
func (s *Service) Close(cookie string) (Session, bool) {
	k := hashOf(cookie)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sessions[k]
	if e == nil {
		return Session{}, false
	}
	delete(s.sessions, k)
	return e.s, true
}

func (s *Service) drop(k [32]byte, e *entry) {
	s.mu.Lock()
	if s.sessions[k] == e {
		delete(s.sessions, k)
	}
	s.mu.Unlock()
}

// CSRFOK compares a request's CSRF token with the session's in constant time.
func CSRFOK(se Session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(se.CSRF), []byte(got)) == 1
}

// CanUse reports whether a user may sign in to the console: the roles
// that reach the admin API.
func CanUse(u api.User) bool {
	return u.HasRole(api.RoleAdmin) || u.HasRole(api.RoleAuditor) || u.HasRole(api.RoleDeptAdmin)
}
