package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Admin operations. actor is the admin's staff ID, or "cli" for the
// command line; every change is audited.

func validRoles(roles []api.Role) *api.Error {
	if len(roles) == 0 {
		return api.Errf(api.CodeValidation, "roles: give at least one of staff, supervisor, admin, auditor, dept_admin")
	}
	for _, r := range roles {
		switch r {
		case api.RoleStaff, api.RoleSupervisor, api.RoleAdmin, api.RoleAuditor, api.RoleDeptAdmin:
		default:
			return api.Errf(api.CodeValidation, "roles: %q is not one of staff, supervisor, admin, auditor, dept_admin", r)
		}
	}
	return nil
}

func validText(field, v string, max int, required bool) *api.Error {
	if required && strings.TrimSpace(v) == "" {
		return api.Errf(api.CodeValidation, "%s: required", field)
	}
	return api.CheckText(field, v, max)
}

// CreateUser adds a member of staff. Without a password, a temporary one is
// generated and returned once; either way the user must change it at first
// login.
func (s *Service) CreateUser(ctx context.Context, actor string, req api.CreateUserRequest) (*api.CreateUserResponse, error) {
	id := NormalizeID(req.ID)
	if e := ValidateID(id); e != nil {
		return nil, api.Errf(api.CodeValidation, "id: %s", strings.TrimPrefix(e.Detail, "staff_id: "))
	}
	if d, limited := DepartmentLimit(ctx); limited && strings.TrimSpace(req.Department) == "" {
		req.Department = d // a department's IT contact adds to their own department
	}
	for _, e := range []*api.Error{validText("name", req.Name, 100, true), validText("department", req.Department, 100, false),
		validText("kana", req.Kana, 100, false), validText("email", req.Email, 254, false), validRoles(req.Roles),
		checkGrant(ctx, strings.TrimSpace(req.Department), req.Roles)} {
		if e != nil {
			return nil, e
		}
	}
	pw, temp := req.Password, ""
	if pw == "" {
		pw = TemporaryPassword()
		temp = pw
	} else if e := CheckPassword(pw, id, s.Policy(ctx)); e != nil {
		return nil, e
	}
	h, err := s.hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	now := s.now()
	roles := slices.Clone(req.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	u := UserRecord{User: api.User{ID: id, Name: strings.TrimSpace(req.Name), Kana: strings.TrimSpace(req.Kana), Department: strings.TrimSpace(req.Department),
		Roles: roles, Email: strings.TrimSpace(req.Email), MustChangePassword: true, CreatedAt: now},
		PasswordHash: h, UpdatedAt: now}
	if err := s.st.CreateUser(ctx, u); errors.Is(err, ErrConflict) {
		return nil, api.Err(api.CodeUserExists, id)
	} else if err != nil {
		return nil, err
	}
	s.StaffChanged(ctx, []string{u.Department})
	s.record(ctx, actor, "admin.user_created", id, "roles", joinRoles(roles), "department", u.Department)
	return &api.CreateUserResponse{User: u.User, TemporaryPassword: temp}, nil
}

func joinRoles(rs []api.Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ",")
}

// SetUserPassword sets a password chosen by IT or the demo seed, without a
// forced change when force is false. Policy still applies.
func (s *Service) SetUserPassword(ctx context.Context, actor, id, pw string, force bool) error {
	id = NormalizeID(id)
	if e := CheckPassword(pw, id, s.Policy(ctx)); e != nil {
		return e
	}
	h, err := s.hash(ctx, pw)
	if err != nil {
		return err
	}
	if _, err := s.st.UpdateUser(ctx, id, func(r *UserRecord) error {
		r.PasswordHash, r.MustChangePassword = h, force
		return nil
	}); err != nil {
		return notFound(err, id)
	}
	s.record(ctx, actor, "admin.password_set", id, "forced_change", fmt.Sprint(force))
	return nil
}

func notFound(err error, id string) error {
	if errors.Is(err, ErrNotFound) {
		return api.Errf(api.CodeNotFound, "no staff member %q", id)
	}
	return err
}

// UpdateUser changes a user's details; disabling ends their sessions.
func (s *Service) UpdateUser(ctx context.Context, actor, id string, req api.UpdateUserRequest) (*api.User, error) {
	id = NormalizeID(id)
	if req.Name != nil {
		if e := validText("name", *req.Name, 100, true); e != nil {
			return nil, e
		}
	}
	if req.Department != nil {
		if e := validText("department", *req.Department, 100, false); e != nil {
			return nil, e
		}
	}
	if req.Email != nil {
		if e := validText("email", *req.Email, 254, false); e != nil {
			return nil, e
		}
	}
	if req.Kana != nil {
		if e := validText("kana", *req.Kana, 100, false); e != nil {
			return nil, e
		}
	}
	if req.Roles != nil {
		if e := validRoles(*req.Roles); e != nil {
			return nil, e
		}
	}
	var was UserRecord // as before the change
	u, err := s.st.UpdateUser(ctx, id, func(r *UserRecord) error {
		if err := scoped(ctx, *r); err != nil {
			return err
		}
		was = *r
		if req.Name != nil {
			r.Name = strings.TrimSpace(*req.Name)
		}
		if req.Department != nil {
			r.Department = strings.TrimSpace(*req.Department)
		}
		if req.Email != nil {
			r.Email = strings.TrimSpace(*req.Email)
		}
		if req.Kana != nil {
			r.Kana = strings.TrimSpace(*req.Kana)
		}
		if req.Roles != nil {
			r.Roles = slices.Compact(slices.Sorted(slices.Values(*req.Roles)))
		}
		if req.Disabled != nil {
			r.Disabled = *req.Disabled
		}
		// What the change leaves must still be the department's own.
		if e := checkGrant(ctx, r.Department, r.Roles); e != nil {
			return e
		}
		return nil
	})
	if err != nil {
		return nil, notFound(err, id)
	}
	if was.Department != u.Department || was.Disabled != u.Disabled {
		s.StaffChanged(ctx, []string{was.Department, u.Department})
	}
	if req.Disabled != nil && *req.Disabled {
		if _, err := s.st.RevokeSessions(ctx, id, "", s.now()); err != nil {
			return nil, err
		}
		s.sessionsEnded(ctx, SessionsEnded{UserID: id, Reason: api.EndAdmin})
	}
	b, _ := json.Marshal(req)
	s.record(ctx, actor, "admin.user_updated", id, "change", string(b))
	return &u.User, nil
}

// ResetPassword gives a user a temporary password, forces a change at next
// login and ends their sessions.
func (s *Service) ResetPassword(ctx context.Context, actor, id string) (*api.ResetPasswordResponse, error) {
	id = NormalizeID(id)
	if s.viaDirectory(id) {
		return nil, api.Err(api.CodePasswordInDirectory)
	}
	pw := TemporaryPassword()
	h, err := s.hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.UpdateUser(ctx, id, func(r *UserRecord) error {
		if err := scoped(ctx, *r); err != nil {
			return err
		}
		r.PasswordHash, r.MustChangePassword = h, true
		return nil
	}); err != nil {
		return nil, notFound(err, id)
	}
	if _, err := s.st.RevokeSessions(ctx, id, "", s.now()); err != nil {
		return nil, err
	}
	s.sessionsEnded(ctx, SessionsEnded{UserID: id, Reason: api.EndAdmin})
	s.record(ctx, actor, "admin.password_reset", id)
	return &api.ResetPasswordResponse{TemporaryPassword: pw}, nil
}

// ResetTOTP removes a user's authenticator (lost phone); they enroll again
// at next login.
func (s *Service) ResetTOTP(ctx context.Context, actor, id string) error {
	id = NormalizeID(id)
	if _, err := s.st.UpdateUser(ctx, id, func(r *UserRecord) error {
		if err := scoped(ctx, *r); err != nil {
			return err
		}
		r.TOTPSecret, r.TOTPEnrolled, r.TOTPLastCounter = nil, false, 0
		return nil
	}); err != nil {
		return notFound(err, id)
	}
	if _, err := s.st.RevokeSessions(ctx, id, "", s.now()); err != nil {
		return err
	}
	s.sessionsEnded(ctx, SessionsEnded{UserID: id, Reason: api.EndAdmin})
	s.record(ctx, actor, "admin.totp_reset", id)
	return nil
}

// Unlock clears a lockout.
func (s *Service) Unlock(ctx context.Context, actor, id string) error {
	id = NormalizeID(id)
	if u, err := s.st.GetUser(ctx, id); err != nil {
		return notFound(err, id)
	} else if err := scoped(ctx, u); err != nil {
		return notFound(err, id)
	}
	if err := s.clearLocks(ctx, id); err != nil {
		return err
	}
	s.record(ctx, actor, "admin.user_unlocked", id)
	return nil
}

// GetUser returns one user with their lock state.
func (s *Service) GetUser(ctx context.Context, id string) (*api.User, error) {
	id = NormalizeID(id)
	u, err := s.st.GetUser(ctx, id)
	if err == nil {
		err = scoped(ctx, u)
	}
	if err != nil {
		return nil, notFound(err, id)
	}
	if until := s.lockedUntil(ctx, id); s.now().Before(until) {
		u.LockedUntil = until
	}
	return &u.User, nil
}

// ListUsers lists users, optionally of one department.
func (s *Service) ListUsers(ctx context.Context, department string) ([]api.User, error) {
	if d, limited := DepartmentLimit(ctx); limited {
		if department != "" && department != d {
			return []api.User{}, nil
		}
		department = d
	}
	rs, err := s.st.ListUsers(ctx, department)
	if err != nil {
		return nil, err
	}
	rs = slices.DeleteFunc(rs, func(r UserRecord) bool { return !InScope(ctx, r.User) })
	out := make([]api.User, len(rs))
	now := s.now()
	for i, r := range rs {
		out[i] = r.User
		// A locked account must not read as active in IT's list.
		if until := s.lockedUntil(ctx, r.ID); now.Before(until) {
			out[i].LockedUntil = until
		}
	}
	return out, nil
}

// Staff is ListUsers without each account's lock state, in one query,
// and of a department only the fields DepartmentStaff reads: chat reads
// a department's members at every message it sends, and a lookup of
// attempts and devices per member was most of its cost.
func (s *Service) Staff(ctx context.Context, department string) ([]api.User, error) {
	if d, limited := DepartmentLimit(ctx); limited {
		if department != "" && department != d {
			return []api.User{}, nil
		}
		department = d
	}
	var rs []UserRecord
	var err error
	if department != "" {
		rs, err = s.st.DepartmentStaff(ctx, department)
	} else {
		rs, err = s.st.ListUsers(ctx, "")
	}
	if err != nil {
		return nil, err
	}
	out := make([]api.User, 0, len(rs))
	for _, r := range rs {
		if InScope(ctx, r.User) {
			out = append(out, r.User)
		}
	}
	return out, nil
}

// ListDevices lists devices, optionally of one user.
func (s *Service) ListDevices(ctx context.Context, userID string) ([]api.Device, error) {
	ds, err := s.st.ListDevices(ctx, NormalizeID(userID))
	if _, limited := DepartmentLimit(ctx); !limited || err != nil {
		return ds, err
	}
	mine, err := s.ListUsers(ctx, "")
	if err != nil {
		return nil, err
	}
	in := make(map[string]bool, len(mine))
	for _, u := range mine {
		in[u.ID] = true
	}
	return slices.DeleteFunc(ds, func(d api.Device) bool { return !in[d.UserID] }), nil
}

// scopedDevice returns ErrNotFound for a laptop whose owner is out of
// ctx's scope.
func (s *Service) scopedDevice(ctx context.Context, id string) error {
	if _, limited := DepartmentLimit(ctx); !limited {
		return nil
	}
	d, err := s.st.GetDevice(ctx, id)
	if err != nil {
		return err
	}
	u, err := s.st.GetUser(ctx, d.UserID)
	if err != nil {
		return err
	}
	return scoped(ctx, u)
}

// Device returns one enrolled device; ErrNotFound (wrapped) if there is none.
func (s *Service) Device(ctx context.Context, id string) (api.Device, error) {
	return s.st.GetDevice(ctx, id)
}

// DeviceKey returns the public key of an active device: the key that
// signs the channel binding of each tunnel the device opens.
func (s *Service) DeviceKey(ctx context.Context, id string) (ed25519.PublicKey, error) {
	d, err := s.st.GetDevice(ctx, id)
	if err != nil {
		return nil, notFoundDevice(err, id)
	}
	if d.Status != api.DeviceActive {
		return nil, api.Err(api.CodeDeviceRevoked)
	}
	return ed25519.PublicKey(d.PublicKey), nil
}

// RevokeDevice blocks a laptop (lost or stolen) and ends its sessions at once.
func (s *Service) RevokeDevice(ctx context.Context, actor, id string) (*api.Device, error) {
	if err := s.scopedDevice(ctx, id); err != nil {
		return nil, notFoundDevice(err, id)
	}
	d, err := s.st.SetDeviceStatus(ctx, id, api.DeviceRevoked, s.now())
	if err != nil {
		return nil, notFoundDevice(err, id)
	}
	n, err := s.st.RevokeSessions(ctx, "", id, s.now())
	if err != nil {
		return nil, err
	}
	s.sessionsEnded(ctx, SessionsEnded{UserID: d.UserID, DeviceID: id, Reason: api.EndAdmin})
	s.record(ctx, actor, "admin.device_revoked", id, "user", d.UserID, "sessions_ended", fmt.Sprint(n))
	return &d, nil
}

// ApproveDevice activates a pending laptop.
func (s *Service) ApproveDevice(ctx context.Context, actor, id string) (*api.Device, error) {
	if err := s.scopedDevice(ctx, id); err != nil {
		return nil, notFoundDevice(err, id)
	}
	cur, err := s.st.GetDevice(ctx, id)
	if err != nil {
		return nil, notFoundDevice(err, id)
	}
	if cur.Status == api.DeviceRevoked {
		return nil, api.Errf(api.CodeConflict, "device %s is revoked; the user must enroll the laptop again", id)
	}
	d, err := s.st.SetDeviceStatus(ctx, id, api.DeviceActive, s.now())
	if err != nil {
		return nil, notFoundDevice(err, id)
	}
	s.record(ctx, actor, "admin.device_approved", id, "user", d.UserID)
	return &d, nil
}

func notFoundDevice(err error, id string) error {
	if errors.Is(err, ErrNotFound) {
		return api.Errf(api.CodeNotFound, "no device %q", id)
	}
	return err
}

// SetPolicy changes the security policy. A change below the LGWAN profile
// (a relaxation) needs a reason, and is audited with it.
func (s *Service) SetPolicy(ctx context.Context, actor string, up api.PolicyUpdate) (*api.Policy, error) {
	cur := s.Policy(ctx)
	next := cur
	if up.RequireTOTP != nil {
		next.RequireTOTP = *up.RequireTOTP
	}
	if up.RequireDeviceApproval != nil {
		next.RequireDeviceApproval = *up.RequireDeviceApproval
	}
	if up.PasswordMinLength != nil {
		next.PasswordMinLength = *up.PasswordMinLength
	}
	if up.PasswordMinClasses != nil {
		next.PasswordMinClasses = *up.PasswordMinClasses
	}
	if up.LockoutThreshold != nil {
		next.LockoutThreshold = *up.LockoutThreshold
	}
	if up.LockoutMinutes != nil {
		next.LockoutMinutes = *up.LockoutMinutes
	}
	switch {
	case next.PasswordMinLength < 8 || next.PasswordMinLength > 64:
		return nil, api.Errf(api.CodeValidation, "password_min_length: 8 to 64")
	case next.PasswordMinClasses < 1 || next.PasswordMinClasses > 4:
		return nil, api.Errf(api.CodeValidation, "password_min_classes: 1 to 4")
	case next.LockoutThreshold < 3 || next.LockoutThreshold > 50:
		return nil, api.Errf(api.CodeValidation, "lockout_threshold: 3 to 50")
	case next.LockoutMinutes < 1 || next.LockoutMinutes > 24*60:
		return nil, api.Errf(api.CodeValidation, "lockout_minutes: 1 to 1440")
	}
	relaxed := relaxations(next)
	if len(relaxed) > 0 && strings.TrimSpace(up.Reason) == "" {
		return nil, api.Errf(api.CodeValidation, "reason: relaxing %s below the LGWAN profile needs a reason", strings.Join(relaxed, ", "))
	}
	if e := api.CheckText("reason", up.Reason, 500); e != nil {
		return nil, e
	}
	b, _ := json.Marshal(next)
	if err := s.st.PutSetting(ctx, "policy", string(b), s.now()); err != nil {
		return nil, err
	}
	s.record(ctx, actor, "admin.policy_changed", "policy", "policy", string(b),
		"relaxed", strings.Join(relaxed, ","), "reason", up.Reason)
	return &next, nil
}

func relaxations(p api.Policy) []string {
	d := DefaultPolicy
	var out []string
	if !p.RequireTOTP && d.RequireTOTP {
		out = append(out, "require_totp")
	}
	if p.PasswordMinLength < d.PasswordMinLength {
		out = append(out, "password_min_length")
	}
	if p.PasswordMinClasses < d.PasswordMinClasses {
		out = append(out, "password_min_classes")
	}
	if p.LockoutThreshold > d.LockoutThreshold {
		out = append(out, "lockout_threshold")
	}
	if p.LockoutMinutes < d.LockoutMinutes {
		out = append(out, "lockout_minutes")
	}
	return out
}

func unmarshalPolicy(v string, p *api.Policy) error { return json.Unmarshal([]byte(v), p) }

// SetTOTPSecret enrolls a known secret (demo accounts only, so a newcomer
// can sign in with `broker admin users otp-code`).
func (s *Service) SetTOTPSecret(ctx context.Context, id, secret string, demo bool) error {
	sealed, err := s.seal.seal([]byte(secret))
	if err != nil {
		return err
	}
	_, err = s.st.UpdateUser(ctx, NormalizeID(id), func(r *UserRecord) error {
		r.TOTPSecret, r.TOTPEnrolled, r.TOTPLastCounter, r.Demo = sealed, true, 0, demo
		return nil
	})
	return notFound(err, id)
}

// DemoOTPCode returns the current one-time code of a demo account. Real
// accounts are refused: their secret never leaves the broker.
func (s *Service) DemoOTPCode(ctx context.Context, id string) (string, error) {
	u, err := s.st.GetUser(ctx, NormalizeID(id))
	if err != nil {
		return "", notFound(err, id)
	}
	if !u.Demo || u.TOTPSecret == nil {
		return "", api.Errf(api.CodeForbidden, "%s is not a demo account; one-time codes of real accounts are never shown", id)
	}
	sec, err := s.seal.open(u.TOTPSecret)
	if err != nil {
		return "", err
	}
	return TOTPCode(string(sec), s.now())
}

// UserTOTPSecret returns a user's secret; for tests (brokertest) only.
func (s *Service) UserTOTPSecret(ctx context.Context, id string) (string, error) {
	u, err := s.st.GetUser(ctx, NormalizeID(id))
	if err != nil || u.TOTPSecret == nil {
		return "", notFound(err, id)
	}
	b, err := s.seal.open(u.TOTPSecret)
	return string(b), err
}

// Purge removes expired sessions and stale lockout counters.
func (s *Service) Purge(ctx context.Context) error {
	now := s.now()
	if _, err := s.st.PurgeSessions(ctx, now.Add(-24*time.Hour)); err != nil {
		return err
	}
	_, err := s.st.PurgeAttempts(ctx, now.Add(-24*time.Hour))
	return err
}
