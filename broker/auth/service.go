package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Token lifetimes.
const (
	AccessTTL  = 15 * time.Minute
	RefreshTTL = 14 * 24 * time.Hour
	SetupTTL   = 10 * time.Minute
	// ProofSkew is how far a refresh proof's timestamp may be from now.
	ProofSkew = 5 * time.Minute
)

// Config builds a Service.
type Config struct {
	Store  Store
	Audit  audit.Recorder
	Log    *slog.Logger
	Now    func() time.Time
	Argon2 Argon2Params
	// SecretKey (32 bytes) seals TOTP secrets at rest.
	SecretKey []byte
	// Issuer names the service in authenticator apps.
	Issuer string
	// HashConcurrency caps simultaneous argon2 hashes (memory bound).
	HashConcurrency int
	// UnprovenQueue caps how many sign-ins that prove no enrolled device
	// wait for a hash at once (default 8 per hash slot), and UnprovenWait
	// how long each waits (default 2 s); beyond either they are refused
	// with CodeSignInBusy. See hashGate.
	UnprovenQueue int
	UnprovenWait  time.Duration
	// Directory, when set, checks staff passwords instead of Zaitaku's
	// own hashes (directory.go).
	Directory DirectoryConfig
}

// Service implements sign-in and account management.
type Service struct {
	st     Store
	audit  audit.Recorder
	log    *slog.Logger
	now    func() time.Time
	argon  Argon2Params
	seal   *sealer
	issuer string
	// gate bounds concurrent argon2 computations: each takes
	// Argon2.MemoryKiB, and a 9 a.m. burst (or a flood) must not exhaust
	// memory. It lets proven sign-ins go first (throttle.go).
	gate  *hashGate
	dummy string // a hash verified for unknown IDs, so timing is the same
	// counters serializes each failure counter's read-count-write.
	counters counterLocks
	dir      DirectoryConfig
	dirLocks keyLocks // one directory sign-in at a time per failure counter

	endMu   sync.Mutex // guards onEnded, onStaff
	onEnded []func(context.Context, SessionsEnded)
	onStaff []func(context.Context, []string)
}

// OnSessionsEnded registers fn to run after sign-ins end (logout, password
// change or reset, a disabled account, a revoked laptop, a reused refresh
// token), so that what they hold ends with them: their slot, their tunnels.
func (s *Service) OnSessionsEnded(fn func(context.Context, SessionsEnded)) {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	s.onEnded = append(s.onEnded, fn)
}

func (s *Service) sessionsEnded(ctx context.Context, e SessionsEnded) {
	s.endMu.Lock()
	fns := append([]func(context.Context, SessionsEnded){}, s.onEnded...)
	s.endMu.Unlock()
	for _, fn := range fns {
		fn(ctx, e)
	}
}

// OnStaffChanged registers fn to run after who works where may have
// changed: an account created, moved to another department, disabled or
// enabled, or a roster import applied. departments are those touched
// (the old and the new one of a move); nil means any. What keeps staff
// lists in memory (chat's department members) drops them.
func (s *Service) OnStaffChanged(fn func(ctx context.Context, departments []string)) {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	s.onStaff = append(s.onStaff, fn)
}

// StaffChanged runs the OnStaffChanged functions: for accounts written
// outside this service (a roster import, in its own transaction).
func (s *Service) StaffChanged(ctx context.Context, departments []string) {
	s.endMu.Lock()
	fns := slices.Clone(s.onStaff)
	s.endMu.Unlock()
	for _, fn := range fns {
		fn(ctx, departments)
	}
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("auth: no store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Slog{Log: cfg.Log}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = ProductionArgon2
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Zaitaku"
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = runtime.NumCPU()
	}
	if cfg.UnprovenQueue <= 0 {
		cfg.UnprovenQueue = defaultUnprovenPerSlot * cfg.HashConcurrency
	}
	if cfg.UnprovenWait <= 0 {
		cfg.UnprovenWait = defaultUnprovenWait
	}
	seal, err := newSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	dummy, err := HashPassword("dummy password for timing", cfg.Argon2)
	if err != nil {
		return nil, err
	}
	return &Service{st: cfg.Store, audit: cfg.Audit, log: cfg.Log, now: cfg.Now, argon: cfg.Argon2,
		seal: seal, issuer: cfg.Issuer, gate: newHashGate(cfg.HashConcurrency, cfg.UnprovenQueue, cfg.UnprovenWait), dummy: dummy,
		dir: cfg.Directory.withDefaults()}, nil
}

// Argon2 returns the parameters in force.
func (s *Service) Argon2() Argon2Params { return s.argon }

// NormalizeID is how staff IDs compare: trimmed, lower case.
func NormalizeID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// ValidateID checks a staff ID's form.
func ValidateID(id string) *api.Error {
	if id == "" || len(id) > 64 {
		return api.Errf(api.CodeValidation, "staff_id: 1 to 64 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return api.Errf(api.CodeValidation, "staff_id: use letters, digits, '-', '_' or '.'")
		}
	}
	return nil
}

func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return HashPassword(pw, s.argon)
}

func (s *Service) verify(ctx context.Context, pw, hash string) (ok, stale bool, err error) {
	if err := s.acquire(ctx); err != nil {
		return false, false, err
	}
	defer s.release()
	return VerifyPassword(pw, hash, s.argon)
}

// acquire takes a hash slot for a caller that goes ahead of unproven
// sign-ins (a signed-in user, IT, a rehash after a good sign-in).
func (s *Service) acquire(ctx context.Context) error { return s.gate.acquire(ctx, true) }

func (s *Service) release() { s.gate.release(true) }

func (s *Service) record(ctx context.Context, actor, action, target string, kv ...string) {
	f := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: action, Target: target, Fields: f}); err != nil {
		s.log.Error("audit record failed", "action", action, "err", err)
	}
}

// Policy returns the policy in force.
func (s *Service) Policy(ctx context.Context) api.Policy {
	p := DefaultPolicy
	if v, err := s.st.GetSetting(ctx, "policy"); err == nil {
		_ = unmarshalPolicy(v, &p)
	}
	return p
}

// Login checks the credentials and, on success, returns tokens (full, or a
// setup token when a step remains). Every failure looks the same from
// outside whether or not the staff ID exists. A request whose proof shows
// a laptop enrolled for the staff ID counts its failures apart from
// everyone else's and hashes first (throttle.go).
func (s *Service) Login(ctx context.Context, req api.LoginRequest, remote string) (*api.LoginResponse, error) {
	id := NormalizeID(req.StaffID)
	if e := ValidateID(id); e != nil {
		return nil, e
	}
	if len(req.Password) > MaxPasswordLen*4 {
		return nil, api.Errf(api.CodeValidation, "password: too long")
	}
	if err := validateDevice(req.Device); err != nil {
		return nil, err
	}
	if err := validateProof(req.Proof); err != nil {
		return nil, err
	}
	if req.Proof == nil && s.gate.unprovenFull() {
		// Refused before any database work: under a flood this is most
		// of the attempts, and the same for every staff ID.
		return nil, errSignInBusy()
	}
	now := s.now()
	pol := s.Policy(ctx)
	proven, why, err := s.provenDevice(ctx, id, req, now)
	if err != nil {
		return nil, err
	}
	if why != "" {
		// The laptop is enrolled but its proof did not hold (most often
		// its clock is off): it signs in as from a new laptop. Said so IT
		// can tell why such a user was caught by a staff-ID lockout.
		s.record(ctx, id, "auth.login_proof_refused", id, "reason", why, "remote", remote)
	}
	f := failure{id: id, key: lockKey(id, proven), pol: pol, remote: remote}
	if proven != nil {
		f.device = proven.ID
	}
	att, err := s.st.GetAttempts(ctx, f.key)
	if err != nil {
		return nil, err
	}
	if now.Before(att.LockedUntil) {
		e := api.Err(api.CodeAccountLocked)
		e.RetryAfter = int(att.LockedUntil.Sub(now).Seconds()) + 1
		s.record(ctx, id, "auth.login_locked", id, f.fields("remote", remote)...)
		return nil, e
	}
	var u UserRecord
	stale, directory := false, s.viaDirectory(id)
	if directory {
		// Zaitaku's lock above was checked before the directory is asked;
		// directorySignIn checks it again under its lock, and the budget
		// of failed binds.
		if u, err = s.directorySignIn(ctx, req, f); err != nil {
			return nil, err
		}
	} else {
		if u, stale, err = s.localPassword(ctx, req, f, proven != nil); err != nil {
			return nil, err
		}
	}
	if u.Disabled {
		s.record(ctx, id, "auth.login_failed", id, "reason", "disabled", "remote", remote)
		return nil, api.Err(api.CodeAccountDisabled)
	}
	if u.TOTPEnrolled {
		if strings.TrimSpace(req.OTP) == "" {
			return nil, api.Err(api.CodeOTPRequired)
		}
		if err := s.checkOTP(ctx, &u, req.OTP, now); err != nil {
			if api.AsError(err) != nil && api.AsError(err).Code == api.CodeOTPInvalid {
				return nil, s.failWith(ctx, f, "otp", err)
			}
			s.record(ctx, id, "auth.login_failed", id, "reason", "otp_replayed", "remote", remote)
			return nil, err
		}
	}
	// Only this path's count is cleared: a proven sign-in leaves the
	// staff ID's unproven count (an attacker's) where it is.
	if err := s.clearFailures(ctx, f); err != nil {
		return nil, err
	}
	if stale {
		if h, err := s.hash(ctx, req.Password); err == nil {
			_, _ = s.st.UpdateUser(ctx, id, func(r *UserRecord) error { r.PasswordHash = h; return nil })
		}
	}
	dev, err := s.enrollDevice(ctx, u, req.Device, pol, now)
	if err != nil {
		return nil, err
	}
	if directory {
		// The one-time code stays on top of the directory's password
		// whatever the policy says.
		pol.RequireTOTP = true
	}
	resp, err := s.issue(ctx, u, dev, pol)
	if err != nil {
		return nil, err
	}
	s.record(ctx, id, "auth.login_ok", id, "device", dev.ID, "stage", resp.Stage, "remote", remote)
	return resp, nil
}

// localPassword checks the password against Zaitaku's own hash.
func (s *Service) localPassword(ctx context.Context, req api.LoginRequest, f failure, proven bool) (u UserRecord, stale bool, err error) {
	u, err = s.st.GetUser(ctx, f.id)
	if errors.Is(err, ErrNotFound) {
		if _, _, err := s.verifyAttempt(ctx, req.Password, s.dummy, false); api.AsError(err) != nil {
			return u, false, err // busy, exactly as for a known ID
		}
		return u, false, s.fail(ctx, f, "unknown_id")
	} else if err != nil {
		return u, false, err
	}
	ok, stale, err := s.verifyAttempt(ctx, req.Password, u.PasswordHash, proven)
	if e := api.AsError(err); e != nil {
		return u, false, e
	} else if err != nil {
		return u, false, fmt.Errorf("verify password of %s: %w", f.id, err)
	}
	if !ok {
		return u, false, s.fail(ctx, f, "password")
	}
	return u, stale, nil
}

// failure is what a failed sign-in counts against.
type failure struct {
	id     string // the staff ID as submitted (normalized)
	key    string // the counter: lockKey(id, the proven device)
	device string // the proven device's ID; "" for unproven attempts
	pol    api.Policy
	remote string
}

// fields adds the proven device, if any, to an audit record's fields.
func (f failure) fields(kv ...string) []string {
	if f.device != "" {
		kv = append(kv, "device", f.device)
	}
	return kv
}

func (s *Service) fail(ctx context.Context, f failure, reason string) error {
	return s.failWith(ctx, f, reason, api.Err(api.CodeInvalidCredentials))
}

// failWith counts a failure and locks the counter's key (the staff ID, or
// the staff ID on one proven laptop) when the threshold is reached.
func (s *Service) failWith(ctx context.Context, f failure, reason string, e error) error {
	id, pol, remote := f.id, f.pol, f.remote
	now := s.now()
	window := time.Duration(pol.LockoutMinutes) * time.Minute
	mu := s.counters.of(f.key)
	mu.Lock()
	// Read again: attempts for this key that ran alongside this one may
	// have counted since it read the count (see counterLocks).
	att, err := s.st.GetAttempts(ctx, f.key)
	if err != nil {
		mu.Unlock()
		return err
	}
	locked := false
	if !now.Before(att.LockedUntil) {
		if att.StaffID == "" || now.Sub(att.WindowStart) > window {
			att = Attempts{StaffID: f.key, WindowStart: now}
		}
		att.Failures++
		if pol.LockoutThreshold > 0 && att.Failures >= pol.LockoutThreshold {
			att.LockedUntil = now.Add(window)
			att.Failures = 0
			att.WindowStart = now
			locked = true
		}
		err = s.st.PutAttempts(ctx, att)
	}
	mu.Unlock()
	if err != nil {
		return err
	}
	s.record(ctx, id, "auth.login_failed", id, f.fields("reason", reason, "remote", remote)...)
	if locked {
		s.record(ctx, "system", "auth.locked", id, f.fields("until", att.LockedUntil.Format(time.RFC3339))...)
	}
	return e
}

func (s *Service) checkOTP(ctx context.Context, u *UserRecord, code string, now time.Time) error {
	secret, err := s.seal.open(u.TOTPSecret)
	if err != nil {
		return fmt.Errorf("open one-time code secret of %s: %w", u.ID, err)
	}
	c := matchTOTP(string(secret), code, now)
	if c < 0 {
		return api.Err(api.CodeOTPInvalid)
	}
	if c <= u.TOTPLastCounter {
		return api.Err(api.CodeOTPReplayed)
	}
	if err := s.st.UseOTPCounter(ctx, u.ID, c); errors.Is(err, ErrConflict) {
		return api.Err(api.CodeOTPReplayed)
	} else if err != nil {
		return err
	}
	u.TOTPLastCounter = c
	return nil
}

func validateDevice(d api.DeviceInfo) *api.Error {
	if len(d.PublicKey) != ed25519.PublicKeySize {
		return api.Errf(api.CodeValidation, "device.public_key: want a 32-byte ed25519 key")
	}
	if d.Name == "" {
		return api.Errf(api.CodeValidation, "device.name: 1 to 100 characters")
	}
	if e := api.CheckText("device.name", d.Name, 100); e != nil {
		return e
	}
	return api.CheckText("device.os", d.OS, 100)
}

func (s *Service) enrollDevice(ctx context.Context, u UserRecord, info api.DeviceInfo, pol api.Policy, now time.Time) (api.Device, error) {
	dev, err := s.st.FindDevice(ctx, u.ID, info.PublicKey)
	if errors.Is(err, ErrNotFound) {
		status := api.DeviceActive
		if pol.RequireDeviceApproval {
			status = api.DevicePending
		}
		dev = api.Device{ID: newID("dev_"), UserID: u.ID, Name: info.Name, OS: info.OS,
			PublicKey: info.PublicKey, Status: status, CreatedAt: now, LastSeenAt: now}
		if err := s.st.CreateDevice(ctx, dev); err != nil {
			return api.Device{}, fmt.Errorf("enroll device of %s: %w", u.ID, err)
		}
		s.record(ctx, u.ID, "auth.device_enrolled", dev.ID, "name", dev.Name, "os", dev.OS, "status", status)
	} else if err != nil {
		return api.Device{}, err
	} else {
		_ = s.st.TouchDevice(ctx, dev.ID, now)
	}
	switch dev.Status {
	case api.DeviceRevoked:
		s.record(ctx, u.ID, "auth.login_refused", dev.ID, "reason", "device_revoked")
		return api.Device{}, api.Err(api.CodeDeviceRevoked)
	case api.DevicePending:
		return api.Device{}, api.Err(api.CodeDevicePending)
	}
	return dev, nil
}

// issue returns full tokens when no setup step remains, else a setup token.
func (s *Service) issue(ctx context.Context, u UserRecord, dev api.Device, pol api.Policy) (*api.LoginResponse, error) {
	now := s.now()
	resp := &api.LoginResponse{User: u.User, Device: dev}
	stage := api.StageOK
	switch {
	case u.MustChangePassword:
		stage = api.StageChangePassword
		en, ja := PasswordRules(pol)
		resp.PasswordRules = ja + "\n" + en
	case !u.TOTPEnrolled && pol.RequireTOTP:
		stage = api.StageEnrollTOTP
		enr, err := s.pendingEnrollment(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		resp.Enrollment = enr
	}
	resp.Stage = stage
	sess := Session{ID: newID("ses_"), UserID: u.ID, DeviceID: dev.ID, CreatedAt: now}
	access, ah := newToken("zat_")
	sess.AccessHash = ah
	if stage == api.StageOK {
		sess.Scope = ScopeFull
		sess.AccessExpires = now.Add(AccessTTL)
		refresh, rh := newToken("zrt_")
		sess.RefreshHash, sess.RefreshExpires = rh, now.Add(RefreshTTL)
		resp.RefreshToken, resp.RefreshExpiresAt = refresh, sess.RefreshExpires
	} else {
		sess.Scope = ScopeSetup
		sess.AccessExpires = now.Add(SetupTTL)
	}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	resp.AccessToken, resp.AccessExpiresAt = access, sess.AccessExpires
	resp.AccessExpiresIn = int64(sess.AccessExpires.Sub(now) / time.Second)
	return resp, nil
}

// pendingEnrollment returns the enrollment in progress, making a secret on
// the first call, so that a retried login shows the same QR code.
func (s *Service) pendingEnrollment(ctx context.Context, id string) (*api.TOTPEnrollment, error) {
	var secret string
	_, err := s.st.UpdateUser(ctx, id, func(r *UserRecord) error {
		if r.TOTPSecret != nil {
			b, err := s.seal.open(r.TOTPSecret)
			if err == nil {
				secret = string(b)
				return nil
			}
		}
		sec, _, err := newTOTPSecret(s.issuer, id)
		if err != nil {
			return err
		}
		sealed, err := s.seal.seal([]byte(sec))
		if err != nil {
			return err
		}
		// A new secret starts a new code sequence.
		r.TOTPSecret, r.TOTPEnrolled, r.TOTPLastCounter, secret = sealed, false, 0, sec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.TOTPEnrollment{URI: totpURI(s.issuer, id, secret), Secret: secret}, nil
}

// EnrollTOTP confirms the pending secret with a first code and, when no
// other step remains, replaces the setup token with full tokens.
func (s *Service) EnrollTOTP(ctx context.Context, p *Principal, code string) (*api.LoginResponse, error) {
	u, err := s.st.GetUser(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnrolled {
		return nil, api.Errf(api.CodeConflict, "a one-time code is already set up; ask IT to reset it first")
	}
	if u.TOTPSecret == nil {
		return nil, api.Err(api.CodeOTPNotEnrolled)
	}
	if err := s.checkOTP(ctx, &u, code, s.now()); err != nil {
		return nil, err
	}
	u, err = s.st.UpdateUser(ctx, u.ID, func(r *UserRecord) error { r.TOTPEnrolled = true; return nil })
	if err != nil {
		return nil, err
	}
	s.record(ctx, u.ID, "auth.totp_enrolled", u.ID)
	return s.continueAfterSetup(ctx, p, u)
}

func (s *Service) continueAfterSetup(ctx context.Context, p *Principal, u UserRecord) (*api.LoginResponse, error) {
	dev, err := s.st.GetDevice(ctx, p.DeviceID)
	if err != nil {
		return nil, err
	}
	if err := s.st.RevokeSession(ctx, p.SessionID, s.now()); err != nil {
		return nil, err
	}
	return s.issue(ctx, u, dev, s.Policy(ctx))
}

// ChangePassword changes the caller's own password. After a forced change
// the answer carries the next stage's tokens; otherwise other sessions of
// the user are ended (a changed password should lock out a thief).
func (s *Service) ChangePassword(ctx context.Context, p *Principal, oldPw, newPw string) (*api.LoginResponse, error) {
	if s.viaDirectory(p.User.ID) {
		return nil, api.Err(api.CodePasswordInDirectory)
	}
	u, err := s.st.GetUser(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	ok, _, err := s.verify(ctx, oldPw, u.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.record(ctx, u.ID, "auth.password_change_failed", u.ID, "reason", "old_password")
		return nil, api.Err(api.CodeCurrentPassword)
	}
	if oldPw == newPw {
		e := api.Err(api.CodePasswordPolicy, "Choose a password different from the current one.")
		e.DetailJA = "現在と異なるパスワードを選んでください。"
		return nil, e
	}
	if e := CheckPassword(newPw, u.ID, s.Policy(ctx)); e != nil {
		return nil, e
	}
	h, err := s.hash(ctx, newPw)
	if err != nil {
		return nil, err
	}
	forced := u.MustChangePassword
	u, err = s.st.UpdateUser(ctx, u.ID, func(r *UserRecord) error {
		r.PasswordHash, r.MustChangePassword = h, false
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.record(ctx, u.ID, "auth.password_changed", u.ID, "forced", fmt.Sprint(forced))
	if p.Scope == ScopeSetup {
		return s.continueAfterSetup(ctx, p, u)
	}
	// Every session ends; the caller's laptop gets a new one at once and
	// keeps its connection, every other sign-in loses its own.
	if _, err := s.st.RevokeSessions(ctx, u.ID, "", s.now()); err != nil {
		return nil, err
	}
	s.sessionsEnded(ctx, SessionsEnded{UserID: u.ID, ExceptDevice: p.DeviceID, Reason: api.EndSignedOut})
	dev, err := s.st.GetDevice(ctx, p.DeviceID)
	if err != nil {
		return nil, err
	}
	return s.issue(ctx, u, dev, s.Policy(ctx))
}

// Authenticate resolves a bearer token.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if !strings.HasPrefix(token, "zat_") || len(token) > 100 {
		return nil, api.Err(api.CodeUnauthenticated)
	}
	sess, u, err := s.st.SessionUser(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, api.Err(api.CodeUnauthenticated)
	} else if err != nil {
		return nil, err
	}
	if !sess.RevokedAt.IsZero() {
		return nil, api.Err(api.CodeUnauthenticated)
	}
	if !s.now().Before(sess.AccessExpires) {
		return nil, api.Err(api.CodeTokenExpired)
	}
	if u.Disabled {
		return nil, api.Err(api.CodeAccountDisabled)
	}
	return &Principal{User: u.User, DeviceID: sess.DeviceID, SessionID: sess.ID, Scope: sess.Scope}, nil
}

// Refresh rotates a session's tokens after the device proves it holds its key.
func (s *Service) Refresh(ctx context.Context, req api.RefreshRequest) (*api.LoginResponse, error) {
	if !strings.HasPrefix(req.RefreshToken, "zrt_") || len(req.RefreshToken) > 100 {
		return nil, api.Err(api.CodeRefreshInvalid)
	}
	now := s.now()
	oldHash := HashToken(req.RefreshToken)
	sess, err := s.st.SessionByRefresh(ctx, oldHash)
	if errors.Is(err, ErrNotFound) {
		return nil, s.refreshReused(ctx, oldHash)
	} else if err != nil {
		return nil, err
	}
	if sess.DeviceID != req.DeviceID {
		return nil, api.Err(api.CodeRefreshInvalid)
	}
	dev, err := s.st.GetDevice(ctx, sess.DeviceID)
	if err != nil {
		return nil, api.Err(api.CodeRefreshInvalid)
	}
	// The laptop's state first: a revoked laptop is told so (and the app
	// wipes its keyring), rather than a vague "sign in again".
	switch dev.Status {
	case api.DeviceRevoked:
		return nil, api.Err(api.CodeDeviceRevoked)
	case api.DevicePending:
		return nil, api.Err(api.CodeDevicePending)
	}
	if !sess.RevokedAt.IsZero() || !now.Before(sess.RefreshExpires) {
		return nil, api.Err(api.CodeRefreshInvalid)
	}
	ts := time.Unix(req.Timestamp, 0)
	if ts.Before(now.Add(-ProofSkew)) || ts.After(now.Add(ProofSkew)) ||
		!ed25519.Verify(ed25519.PublicKey(dev.PublicKey), api.RefreshProof(req.RefreshToken, req.DeviceID, req.Timestamp), req.Signature) {
		s.record(ctx, sess.UserID, "auth.refresh_refused", dev.ID, "reason", "device_proof")
		return nil, api.Err(api.CodeDeviceProof)
	}
	u, err := s.st.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return nil, api.Err(api.CodeRefreshInvalid)
	}
	access, ah := newToken("zat_")
	refresh, rh := newToken("zrt_")
	next := sess
	next.AccessHash, next.AccessExpires = ah, now.Add(AccessTTL)
	next.RefreshHash, next.RefreshExpires = rh, now.Add(RefreshTTL)
	if err := s.st.RotateSession(ctx, sess.ID, oldHash, next); errors.Is(err, ErrNotFound) {
		return nil, api.Err(api.CodeRefreshInvalid)
	} else if err != nil {
		return nil, err
	}
	_ = s.st.TouchDevice(ctx, dev.ID, now)
	return &api.LoginResponse{Stage: api.StageOK, AccessToken: access, AccessExpiresAt: next.AccessExpires,
		AccessExpiresIn: int64(AccessTTL / time.Second),
		RefreshToken:    refresh, RefreshExpiresAt: next.RefreshExpires, User: u.User, Device: dev}, nil
}

// refreshReused handles a refresh token that is not current: if it was
// rotated away, two parties hold the session's tokens (one of them a
// thief), so the session ends for both and the reuse is audited (OAuth 2.0
// security best current practice). Either way the answer is the same.
func (s *Service) refreshReused(ctx context.Context, hash []byte) error {
	sess, err := s.st.SessionByRotatedRefresh(ctx, hash)
	if err != nil || !sess.RevokedAt.IsZero() {
		return api.Err(api.CodeRefreshInvalid)
	}
	if err := s.st.RevokeSession(ctx, sess.ID, s.now()); err != nil {
		s.log.Warn("revoke session after refresh reuse", "session", sess.ID, "err", err)
	} else {
		s.sessionsEnded(ctx, SessionsEnded{UserID: sess.UserID, SessionID: sess.ID, Reason: api.EndSignedOut})
	}
	s.record(ctx, sess.UserID, "auth.refresh_reused", sess.DeviceID, "session", sess.ID)
	return api.Err(api.CodeRefreshInvalid)
}

// Logout revokes the caller's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if err := s.st.RevokeSession(ctx, p.SessionID, s.now()); err != nil {
		return err
	}
	s.sessionsEnded(ctx, SessionsEnded{UserID: p.User.ID, SessionID: p.SessionID, Reason: api.EndSignedOut})
	s.record(ctx, p.User.ID, "auth.logout", p.DeviceID)
	return nil
}
