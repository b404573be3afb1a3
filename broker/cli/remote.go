package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/csvexport"
)

// An admin session: `broker admin login` signs in to a running broker
// with password and one-time code, as a device of its own (an ed25519 key
// made at login), and keeps the tokens in a file only its user can read.
// Commands then go through the broker's REST API, so with several brokers
// on one database they see and change what the brokers do, and the
// broker records the signed-in admin as the actor. `--local` (or no
// session) runs a command on the data directory instead.
type adminSession struct {
	Broker    string   `json:"broker"`
	Pins      []string `json:"pins"`
	StaffID   string   `json:"staff_id"`
	DeviceID  string   `json:"device_id"`
	DeviceKey []byte   `json:"device_key"` // ed25519 seed
	// AccessExpires is by this machine's clock: login time plus the
	// lifetime the broker gave, so a clock that is off does not matter.
	AccessToken    string    `json:"access_token"`
	AccessExpires  time.Time `json:"access_expires"`
	RefreshToken   string    `json:"refresh_token"`
	RefreshExpires time.Time `json:"refresh_expires,omitzero"`

	path string
}

// sessionPath is where the admin session is kept: $ZAITAKU_ADMIN_SESSION,
// or admin-session.json in the user's configuration directory, read from
// the environment the command was given (so tests never meet a real one).
func sessionPath(getenv func(string) string) (string, error) {
	if getenv == nil {
		return "", nil
	}
	if p := getenv("ZAITAKU_ADMIN_SESSION"); p != "" {
		return p, nil
	}
	var dir string
	switch {
	case onWindows():
		dir = getenv("APPDATA")
	case getenv("XDG_CONFIG_HOME") != "":
		dir = getenv("XDG_CONFIG_HOME")
	case getenv("HOME") != "":
		dir = filepath.Join(getenv("HOME"), ".config")
	}
	if dir == "" {
		return "", errors.New("no configuration directory for the admin session: set ZAITAKU_ADMIN_SESSION to a file path")
	}
	return filepath.Join(dir, "zaitaku", "admin-session.json"), nil
}

// loadSession reads the admin session; nil without error when there is
// none. A file others can read is refused: it holds tokens.
func loadSession(path string) (*adminSession, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 && !onWindows() {
		return nil, fmt.Errorf("admin session %s can be read by others (mode %v): chmod 600 %s, or broker admin logout and log in again", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s adminSession
	if err := json.Unmarshal(b, &s); err != nil || s.Broker == "" || len(s.DeviceKey) != ed25519.SeedSize {
		return nil, fmt.Errorf("admin session %s is damaged: broker admin logout, then broker admin login", path)
	}
	s.path = path
	return &s, nil
}

// save writes the session atomically, readable by its user only.
func (s *adminSession) save() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".admin-session-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && !onWindows() {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

func (s *adminSession) key() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(s.DeviceKey) }

// client is an API client for the session's broker with a live access
// token, refreshed (and the rotated refresh token saved) when it is about
// to expire.
func (s *adminSession) client(ctx context.Context) (*api.Client, error) {
	c, err := api.NewClient(s.Broker, api.ClientOptions{Pins: s.Pins, OnPin: func(pin string) {
		// The broker announced its next key: keep it, as laptops do.
		s.Pins = append(s.Pins, pin)
		_ = s.save()
	}})
	if err != nil {
		return nil, err
	}
	if time.Until(s.AccessExpires) > 30*time.Second {
		c.SetToken(s.AccessToken)
		return c, nil
	}
	now := time.Now().Unix()
	resp, err := c.Refresh(ctx, api.RefreshRequest{RefreshToken: s.RefreshToken, DeviceID: s.DeviceID, Timestamp: now,
		Signature: ed25519.Sign(s.key(), api.RefreshProof(s.RefreshToken, s.DeviceID, now))})
	if err != nil {
		if e := api.AsError(err); e != nil && e.Status == 401 {
			return nil, fmt.Errorf("the admin session with %s has ended (%s): broker admin login again", s.Broker, e.Message)
		}
		return nil, err
	}
	s.remember(resp)
	return c, s.save()
}

// remember keeps the tokens of a sign-in or refresh.
func (s *adminSession) remember(resp *api.LoginResponse) {
	s.AccessToken = resp.AccessToken
	s.AccessExpires = time.Now().Add(time.Duration(resp.AccessExpiresIn) * time.Second)
	if resp.RefreshToken != "" {
		s.RefreshToken = resp.RefreshToken
		s.RefreshExpires = resp.RefreshExpiresAt
	}
}

// errLocalOnly names a command that works on the data directory only.
func errLocalOnly(what string) error {
	return fmt.Errorf("%s works on the broker's data directory only: run it on the broker's machine with --local", what)
}

// remoteAccounts is accounts over the REST API.
type remoteAccounts struct{ c *api.Client }

func (r remoteAccounts) CreateUser(ctx context.Context, _ string, req api.CreateUserRequest) (*api.CreateUserResponse, error) {
	return r.c.CreateUser(ctx, req)
}

func (r remoteAccounts) UpdateUser(ctx context.Context, _, id string, req api.UpdateUserRequest) (*api.User, error) {
	return r.c.UpdateUser(ctx, id, req)
}

func (r remoteAccounts) ResetPassword(ctx context.Context, _, id string) (*api.ResetPasswordResponse, error) {
	return r.c.ResetPassword(ctx, id)
}

func (r remoteAccounts) ResetTOTP(ctx context.Context, _, id string) error {
	return r.c.ResetTOTP(ctx, id)
}
func (r remoteAccounts) Unlock(ctx context.Context, _, id string) error { return r.c.Unlock(ctx, id) }

func (r remoteAccounts) ListUsers(ctx context.Context, department string) ([]api.User, error) {
	l, err := r.c.Users(ctx, department)
	if err != nil {
		return nil, err
	}
	return l.Users, nil
}

func (r remoteAccounts) ListDevices(ctx context.Context, userID string) ([]api.Device, error) {
	l, err := r.c.Devices(ctx, userID)
	if err != nil {
		return nil, err
	}
	return l.Devices, nil
}

func (r remoteAccounts) RevokeDevice(ctx context.Context, _, id string) (*api.Device, error) {
	return r.c.RevokeDevice(ctx, id)
}

func (r remoteAccounts) ApproveDevice(ctx context.Context, _, id string) (*api.Device, error) {
	return r.c.ApproveDevice(ctx, id)
}

func (r remoteAccounts) SetPolicy(ctx context.Context, _ string, up api.PolicyUpdate) (*api.Policy, error) {
	return r.c.SetPolicy(ctx, up)
}

func (r remoteAccounts) CurrentPolicy(ctx context.Context) (api.Policy, error) {
	p, err := r.c.Policy(ctx)
	if err != nil {
		return api.Policy{}, err
	}
	return *p, nil
}

func (r remoteAccounts) DemoOTPCode(context.Context, string) (string, error) {
	return "", errLocalOnly("users otp-code (demo accounts)")
}

// remoteOplog is operationLog over the REST API.
type remoteOplog struct{ c *api.Client }

func (r remoteOplog) Search(ctx context.Context, q api.OplogQuery) (api.OplogPage, error) {
	p, err := r.c.SearchOplogs(ctx, q)
	if err != nil {
		return api.OplogPage{}, err
	}
	return *p, nil
}

func (r remoteOplog) Timeline(ctx context.Context, deviceID string, q api.OplogQuery) (api.OplogTimeline, error) {
	t, err := r.c.OplogTimeline(ctx, deviceID, q)
	if err != nil {
		return api.OplogTimeline{}, err
	}
	return *t, nil
}

func (r remoteOplog) Findings(ctx context.Context, deviceID, cursor string) (api.OplogFindingList, error) {
	l, err := r.c.OplogFindings(ctx, deviceID, cursor)
	if err != nil {
		return api.OplogFindingList{}, err
	}
	return *l, nil
}

// Export streams the broker's export (which the broker records) and
// counts its records as they pass: lines, outside quoted CSV cells.
func (r remoteOplog) Export(ctx context.Context, q api.OplogQuery, format string, o csvexport.Options, w io.Writer) (int, error) {
	cw := &recordCounter{w: w}
	err := r.c.ExportOplogsIn(ctx, q, format, o.Lang(), o.TZ(), cw)
	n := cw.lines
	if format == "csv" && n > 0 {
		n-- // the header
	}
	return n, err
}

func (r remoteOplog) Config(ctx context.Context) (api.OplogConfig, error) {
	c, err := r.c.OplogConfig(ctx)
	if err != nil {
		return api.OplogConfig{}, err
	}
	return *c, nil
}

func (r remoteOplog) SetConfig(ctx context.Context, _ string, u api.OplogConfigUpdate) (api.OplogConfig, error) {
	c, err := r.c.SetOplogConfig(ctx, u)
	if err != nil {
		return api.OplogConfig{}, err
	}
	return *c, nil
}

func (r remoteOplog) Holds(ctx context.Context) (api.OplogHoldList, error) {
	l, err := r.c.OplogHolds(ctx)
	if err != nil {
		return api.OplogHoldList{}, err
	}
	return *l, nil
}

func (r remoteOplog) PlaceHold(ctx context.Context, _ string, h api.OplogHold) (api.OplogHold, error) {
	out, err := r.c.PlaceOplogHold(ctx, h)
	if err != nil {
		return api.OplogHold{}, err
	}
	return *out, nil
}

func (r remoteOplog) ReleaseHold(ctx context.Context, _, kind, subject string) error {
	return r.c.ReleaseOplogHold(ctx, kind, subject)
}

// recordCounter counts the newlines outside double quotes that pass
// through it: the records of a CSV (RFC 4180) or JSON Lines stream.
type recordCounter struct {
	w      io.Writer
	quoted bool
	lines  int
}

func (c *recordCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		switch {
		case b == '"':
			c.quoted = !c.quoted
		case b == '\n' && !c.quoted:
			c.lines++
		}
	}
	return c.w.Write(p)
}

// remoteRoster is rosterAdmin over the REST API.
type remoteRoster struct{ c *api.Client }

func (r remoteRoster) DryRun(ctx context.Context, _ string, req api.RosterImportRequest) (api.RosterReport, error) {
	rep, err := r.c.RosterDryRun(ctx, req)
	if err != nil {
		return api.RosterReport{}, err
	}
	return *rep, nil
}

func (r remoteRoster) Import(ctx context.Context, _ string, req api.RosterImportRequest) (api.RosterImport, error) {
	imp, err := r.c.RosterImport(ctx, req)
	if err != nil {
		return api.RosterImport{}, err
	}
	return *imp, nil
}

func (r remoteRoster) Imports(ctx context.Context) (api.RosterImportList, error) {
	l, err := r.c.RosterImports(ctx)
	if err != nil {
		return api.RosterImportList{}, err
	}
	return *l, nil
}

func (r remoteRoster) Cancel(ctx context.Context, _, id string) (api.RosterImport, error) {
	imp, err := r.c.CancelRosterImport(ctx, id)
	if err != nil {
		return api.RosterImport{}, err
	}
	return *imp, nil
}

// remoteSessions is sessionAdmin over the REST API: the broker applies a
// change at once instead of at its next sweep.
type remoteSessions struct{ c *api.Client }

func (r remoteSessions) SlotConfig(ctx context.Context) (api.SlotConfig, error) {
	p, err := r.c.SlotConfig(ctx)
	if err != nil {
		return api.SlotConfig{}, err
	}
	return *p, nil
}

func (r remoteSessions) SetSlotConfig(ctx context.Context, _ string, up api.SlotConfigUpdate) (api.SlotConfig, error) {
	p, err := r.c.SetSlotConfig(ctx, up)
	if err != nil {
		return api.SlotConfig{}, err
	}
	return *p, nil
}

func (r remoteSessions) Live(ctx context.Context) ([]api.Slot, error) {
	l, err := r.c.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	return append(l.Sessions, l.Queue...), nil
}

func (r remoteSessions) End(ctx context.Context, _, slotID, reason string) error {
	return r.c.EndSession(ctx, slotID, reason)
}
