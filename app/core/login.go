package core

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// LoginStep says what the login screen shows next.
type LoginStep struct {
	Stage         string              // api.StageOK, api.StageEnrollTOTP, api.StageChangePassword
	Enrollment    *api.TOTPEnrollment // for StageEnrollTOTP: QR code URI and key
	PasswordRules string              // for StageChangePassword
}

// Login signs in. remember keeps the refresh token in the keyring so the
// next start signs in without a password ("keep me signed in"). Errors are
// *api.Error with a message for the user.
func (c *Client) Login(ctx context.Context, staffID, password, otp string, remember bool) (*LoginStep, error) {
	pub := c.DeviceKey()
	// The proof says this laptop holds its key: once the key is enrolled
	// for staffID, a password spray by someone without it cannot lock this
	// laptop out, and the office's shared address limit does not apply.
	// On a first sign-in it proves nothing and costs nothing.
	ts := c.now().Unix()
	resp, err := c.api.Login(ctx, api.LoginRequest{StaffID: staffID, Password: password, OTP: otp,
		Device: api.DeviceInfo{Name: c.cfg.DeviceName, OS: runtime.GOOS, PublicKey: pub},
		Proof:  &api.LoginProof{Timestamp: ts, Signature: c.sign(api.LoginProofMessage(staffID, pub, ts))}})
	if err != nil {
		e := c.noteError(err)
		if e != nil && e.Code != api.CodeOTPRequired {
			c.record("login.failed", "staff_id", staffID, "code", string(e.Code))
		}
		if e != nil && e.Code == api.CodeDeviceRevoked {
			c.revoked() // this laptop's key is revoked: evidence, then wipe
		}
		if e == nil {
			return nil, err
		}
		return nil, e
	}
	c.mu.Lock()
	c.remember = remember
	c.mu.Unlock()
	return c.afterAuth(resp, "login.ok")
}

// EnrollTOTP confirms the authenticator with its first code.
func (c *Client) EnrollTOTP(ctx context.Context, code string) (*LoginStep, error) {
	resp, err := c.api.EnrollTOTP(ctx, code)
	if err != nil {
		return nil, c.noteError(err)
	}
	c.record("auth.totp_enrolled")
	return c.afterAuth(resp, "login.ok")
}

// ChangePassword changes the password (the forced change after a reset, or
// from Settings).
func (c *Client) ChangePassword(ctx context.Context, oldPw, newPw string) (*LoginStep, error) {
	resp, err := c.api.ChangePassword(ctx, oldPw, newPw)
	if err != nil {
		return nil, c.noteError(err)
	}
	c.record("auth.password_changed")
	return c.afterAuth(resp, "")
}

// afterAuth handles a login answer: a setup step, or a full session.
func (c *Client) afterAuth(resp *api.LoginResponse, event string) (*LoginStep, error) {
	step := &LoginStep{Stage: resp.Stage, Enrollment: resp.Enrollment, PasswordRules: resp.PasswordRules}
	if resp.Stage != api.StageOK {
		return step, nil
	}
	c.mu.Lock()
	c.refresh = resp.RefreshToken
	c.deviceID = resp.Device.ID
	remember := c.remember
	c.mu.Unlock()
	_ = c.deps.Secrets.Set(keyDeviceID, resp.Device.ID)
	c.keyMu.Lock()
	if c.keyUnsaved {
		// A wiped laptop's new key is kept once it is enrolled.
		if err := c.deps.Secrets.Set(keyDeviceKey, base64.StdEncoding.EncodeToString(c.key.Seed())); err != nil {
			c.log.Warn("store device key", "err", err)
		}
		c.keyUnsaved = false
	}
	c.keyMu.Unlock()
	if remember {
		if err := c.deps.Secrets.Set(keyRefresh, resp.RefreshToken); err != nil {
			c.log.Warn("keep me signed in: keyring", "err", err)
		}
		_ = c.deps.Secrets.Set(keyUser, resp.User.ID)
	}
	if event != "" {
		c.record(event, "staff_id", resp.User.ID, "device", resp.Device.ID)
	}
	c.startSession(resp)
	return step, nil
}

// Resume signs in with the refresh token saved by "keep me signed in".
// It reports false (and no error) when nothing is saved.
func (c *Client) Resume(ctx context.Context) (bool, error) {
	tok, err := c.deps.Secrets.Get(keyRefresh)
	if err != nil || tok == "" {
		return false, nil
	}
	devID, err := c.deps.Secrets.Get(keyDeviceID)
	if err != nil || devID == "" {
		return false, nil
	}
	resp, err := c.refreshWith(ctx, tok, devID)
	if err != nil {
		e := c.noteError(err)
		if e != nil && e.Code == api.CodeDeviceRevoked {
			c.revoked()
			return false, nil // the state says why: the revoked screen
		}
		if e != nil && (e.Code == api.CodeRefreshInvalid || e.Code == api.CodeDeviceRevoked || e.Code == api.CodeDeviceProof) {
			_ = c.deps.Secrets.Delete(keyRefresh)
		}
		if e == nil {
			return false, err
		}
		return false, e
	}
	c.mu.Lock()
	c.remember = true
	c.refresh = resp.RefreshToken
	c.deviceID = resp.Device.ID
	c.mu.Unlock()
	_ = c.deps.Secrets.Set(keyRefresh, resp.RefreshToken)
	c.record("login.resumed", "staff_id", resp.User.ID, "device", resp.Device.ID)
	c.startSession(resp)
	return true, nil
}

func (c *Client) refreshWith(ctx context.Context, tok, devID string) (*api.LoginResponse, error) {
	ts := c.now().Unix()
	return c.api.Refresh(ctx, api.RefreshRequest{RefreshToken: tok, DeviceID: devID, Timestamp: ts,
		Signature: c.sign(api.RefreshProof(tok, devID, ts))})
}

// sessionCtx returns the context of the current session (ended at sign-out).
func (c *Client) sessionCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessCtx
}

func (c *Client) startSession(resp *api.LoginResponse) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if c.sessionCancel != nil {
		c.sessionCancel()
	}
	c.sessionCancel = cancel
	c.sessCtx = ctx
	c.mu.Unlock()
	u := resp.User
	c.setPhase(Ready, func(s *State) {
		s.User, s.Err, s.Online = &u, nil, true
	})
	// The session's background jobs, each ending with ctx (sign-out).
	ttl := c.accessTTL(resp)
	c.goBackground(func() { c.keepFresh(ctx, ttl) })         // token refresh
	c.goBackground(func() { c.runEvents(ctx) })              // the event socket
	c.goBackground(func() { c.keepStatus(ctx) })             // free slots and the terminal's state
	c.goBackground(func() { c.keepTelework(ctx, c.twKick) }) // the telework view
	if c.deps.OnSession != nil {
		c.mu.Lock()
		devID := c.deviceID
		c.mu.Unlock()
		c.deps.OnSession(Session{API: c.api, UserID: u.ID, DeviceID: devID, Sign: c.sign, Done: ctx.Done()})
	}
}

// keepFresh refreshes the access token before it expires. A network
// failure is retried with backoff (the app shows offline); a refused
// refresh (revoked laptop, expired sign-in) signs the user out with the
// broker's reason.
func (c *Client) keepFresh(ctx context.Context, ttl time.Duration) {
	backoff := time.Second
	for {
		wait := ttl * 3 / 4
		if wait < time.Second {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-c.refreshKick:
			// The broker cut the event socket with the sign-in, or
			// refused a token: find out now whether it still stands.
		}
		c.mu.Lock()
		tok, devID := c.refresh, c.deviceID
		c.mu.Unlock()
		resp, err := c.refreshWith(ctx, tok, devID)
		if err != nil {
			e := api.AsError(err)
			if e != nil && (e.Code == api.CodeNetwork || e.Code == api.CodeUnavailable || e.Code == api.CodeInternal) {
				c.update(func(s *State) { s.Online = false })
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, time.Minute)
				ttl = 0 // retry now-ish
				continue
			}
			if ctx.Err() != nil {
				return
			}
			if e != nil && e.Code == api.CodeDeviceRevoked {
				c.noteError(err)
				c.revoked()
				return
			}
			c.signedOut(c.noteError(err))
			return
		}
		backoff = time.Second
		c.mu.Lock()
		c.refresh = resp.RefreshToken
		remember := c.remember
		c.mu.Unlock()
		if remember {
			_ = c.deps.Secrets.Set(keyRefresh, resp.RefreshToken)
		}
		c.update(func(s *State) { s.Online = true })
		ttl = c.accessTTL(resp)
	}
}

// accessTTL is how long the new access token lives: by the broker's
// count, since the laptop's clock may be off; an older broker gives only
// the expiry time.
func (c *Client) accessTTL(resp *api.LoginResponse) time.Duration {
	if resp.AccessExpiresIn > 0 {
		return time.Duration(resp.AccessExpiresIn) * time.Second
	}
	return resp.AccessExpiresAt.Sub(c.deps.Now())
}

// signedOut ends the session locally and shows why.
func (c *Client) signedOut(reason *api.Error) {
	c.mu.Lock()
	if c.sessionCancel != nil {
		c.sessionCancel()
		c.sessionCancel = nil
	}
	c.refresh = ""
	c.mu.Unlock()
	c.api.SetToken("")
	if reason != nil && (reason.Code == api.CodeDeviceRevoked || reason.Code == api.CodeRefreshInvalid) {
		_ = c.deps.Secrets.Delete(keyRefresh)
	}
	c.setPhase(SignedOut, func(s *State) {
		*s = State{Phase: SignedOut, Since: s.Since, Err: reason}
	})
}

// Logout revokes the tokens at the broker and wipes the sign-in's keyring
// entries. The laptop's device key stays: it is the laptop, not the
// sign-in, and the next sign-in proves it, so that a password spray at
// this staff ID cannot lock this laptop out. (A revoked laptop's key is
// refused by the broker whatever the laptop keeps.)
func (c *Client) Logout(ctx context.Context) error {
	// Release the slot while the token still works (otherwise it frees
	// only when the lease lapses); signedOut below ends the rest.
	c.StopConnection(ctx)
	if c.deps.BeforeLogout != nil {
		c.deps.BeforeLogout(ctx)
	}
	// The session's jobs stop before the broker ends the sign-in: the
	// socket it then cuts must not send the refresher asking why.
	c.mu.Lock()
	if c.sessionCancel != nil {
		c.sessionCancel()
		c.sessionCancel = nil
	}
	c.mu.Unlock()
	err := c.api.Logout(ctx)
	for _, k := range []string{keyRefresh, keyUser, keyDeviceID} {
		if derr := c.deps.Secrets.Delete(k); derr != nil && !errors.Is(derr, ErrNoSecret) {
			c.log.Warn("wipe keyring entry", "key", k, "err", derr)
		}
	}
	c.record("logout")
	c.signedOut(nil)
	if e := api.AsError(err); e != nil && e.Code == api.CodeNetwork {
		return nil // signed out locally; the token expires on its own
	}
	return err
}

// SavedStaffID returns the staff ID remembered by "keep me signed in".
func (c *Client) SavedStaffID() string {
	id, _ := c.deps.Secrets.Get(keyUser)
	return id
}

// MemorySecrets keeps secrets in memory (tests, and sessions without a keyring).
type MemorySecrets struct {
	mu sync.Mutex // guards m
	m  map[string]string
}

// NewMemorySecrets returns an empty store.
func NewMemorySecrets() *MemorySecrets { return &MemorySecrets{m: map[string]string{}} }

// Get implements Secrets.
func (m *MemorySecrets) Get(k string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	if !ok {
		return "", ErrNoSecret
	}
	return v, nil
}

// Set implements Secrets.
func (m *MemorySecrets) Set(k, v string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[k] = v
	return nil
}

// Delete implements Secrets.
func (m *MemorySecrets) Delete(k string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, k)
	return nil
}
