package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// Auth adapts the store to auth.Store.
type Auth struct{ s *Store }

// Auth returns the accounts store.
func (s *Store) Auth() auth.Store { return &Auth{s} }

var _ auth.Store = (*Auth)(nil)

const userCols = `id, name, department, roles, email, password_hash, must_change_password, disabled,
	totp_secret, totp_enrolled, totp_last_counter, demo, created_at, updated_at, kana`

type scanner interface{ Scan(...any) error }

func scanUser(row scanner) (auth.UserRecord, error) {
	var u auth.UserRecord
	var roles string
	var created, updated int64
	err := row.Scan(&u.ID, &u.Name, &u.Department, &roles, &u.Email, &u.PasswordHash, &u.MustChangePassword,
		&u.Disabled, &u.TOTPSecret, &u.TOTPEnrolled, &u.TOTPLastCounter, &u.Demo, &created, &updated, &u.Kana)
	if errors.Is(err, sql.ErrNoRows) {
		return u, auth.ErrNotFound
	}
	if err != nil {
		return u, err
	}
	u.Roles = parseRoles(roles)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return u, nil
}

func parseRoles(s string) []api.Role {
	var out []api.Role
	for _, r := range strings.Split(s, ",") {
		if r != "" {
			out = append(out, api.Role(r))
		}
	}
	return out
}

func rolesString(rs []api.Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ",")
}

// CreateUser implements auth.Store.
func (a *Auth) CreateUser(ctx context.Context, u auth.UserRecord) error {
	_, err := a.s.db.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.Name, u.Department, rolesString(u.Roles), u.Email, u.PasswordHash, u.MustChangePassword, u.Disabled,
		u.TOTPSecret, u.TOTPEnrolled, u.TOTPLastCounter, u.Demo, ms(u.CreatedAt), ms(u.UpdatedAt), u.Kana)
	if isUnique(err) {
		return fmt.Errorf("user %s: %w", u.ID, auth.ErrConflict)
	}
	return err
}

// GetUser implements auth.Store.
func (a *Auth) GetUser(ctx context.Context, id string) (auth.UserRecord, error) {
	return scanUser(a.s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

// UpdateUser implements auth.Store.
func (a *Auth) UpdateUser(ctx context.Context, id string, fn func(*auth.UserRecord) error) (auth.UserRecord, error) {
	var u auth.UserRecord
	err := a.s.Tx(ctx, func(tx *Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ? FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if err := fn(&u); err != nil {
			return err
		}
		u.UpdatedAt = time.Now().UTC()
		_, err = tx.ExecContext(ctx, `UPDATE users SET name=?, department=?, roles=?, email=?, password_hash=?,
			must_change_password=?, disabled=?, totp_secret=?, totp_enrolled=?, totp_last_counter=?, demo=?, updated_at=?,
			kana=? WHERE id=?`, u.Name, u.Department, rolesString(u.Roles), u.Email, u.PasswordHash, u.MustChangePassword,
			u.Disabled, u.TOTPSecret, u.TOTPEnrolled, u.TOTPLastCounter, u.Demo, ms(u.UpdatedAt), u.Kana, id)
		return err
	})
	return u, err
}

// ListUsers implements auth.Store.
func (a *Auth) ListUsers(ctx context.Context, dept string) ([]auth.UserRecord, error) {
	q := `SELECT ` + userCols + ` FROM users`
	var args []any
	if dept != "" {
		q += ` WHERE department = ?`
		args = append(args, dept)
	}
	rows, err := a.s.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.UserRecord
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DepartmentStaff implements auth.Store.
func (a *Auth) DepartmentStaff(ctx context.Context, dept string) ([]auth.UserRecord, error) {
	rows, err := a.s.db.QueryContext(ctx, `SELECT id, name, kana, roles, disabled FROM users WHERE department = ? ORDER BY id`, dept)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.UserRecord
	for rows.Next() {
		u := auth.UserRecord{}
		u.Department = dept
		var roles string
		if err := rows.Scan(&u.ID, &u.Name, &u.Kana, &roles, &u.Disabled); err != nil {
			return nil, err
		}
		u.Roles = parseRoles(roles)
		out = append(out, u)
	}
	return out, rows.Err()
}

// GetAttempts implements auth.Store.
func (a *Auth) GetAttempts(ctx context.Context, id string) (auth.Attempts, error) {
	var at auth.Attempts
	var ws, lu int64
	err := a.s.db.QueryRowContext(ctx, `SELECT staff_id, failures, window_start, locked_until FROM login_attempts WHERE staff_id=?`, id).
		Scan(&at.StaffID, &at.Failures, &ws, &lu)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Attempts{}, nil
	}
	at.WindowStart, at.LockedUntil = fromMS(ws), fromMS(lu)
	return at, err
}

// PutAttempts implements auth.Store.
func (a *Auth) PutAttempts(ctx context.Context, at auth.Attempts) error {
	_, err := a.s.db.ExecContext(ctx, `INSERT INTO login_attempts(staff_id, failures, window_start, locked_until) VALUES(?,?,?,?)
		ON CONFLICT(staff_id) DO UPDATE SET failures=excluded.failures, window_start=excluded.window_start, locked_until=excluded.locked_until`,
		at.StaffID, at.Failures, ms(at.WindowStart), ms(at.LockedUntil))
	return err
}

// DeleteAttempts implements auth.Store.
func (a *Auth) DeleteAttempts(ctx context.Context, id string) error {
	_, err := a.s.db.ExecContext(ctx, `DELETE FROM login_attempts WHERE staff_id=?`, id)
	return err
}

// PurgeAttempts implements auth.Store.
func (a *Auth) PurgeAttempts(ctx context.Context, before time.Time) (int64, error) {
	r, err := a.s.db.ExecContext(ctx, `DELETE FROM login_attempts WHERE window_start < ? AND locked_until < ?`, ms(before), ms(before))
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// UseOTPCounter implements auth.Store.
func (a *Auth) UseOTPCounter(ctx context.Context, id string, c int64) error {
	r, err := a.s.db.ExecContext(ctx, `UPDATE users SET totp_last_counter=? WHERE id=? AND totp_last_counter < ?`, c, id, c)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return auth.ErrConflict
	}
	return nil
}

const deviceCols = `id, user_id, name, os, public_key, status, created_at, last_seen_at, revoked_at`

func scanDevice(row scanner) (api.Device, error) {
	var d api.Device
	var c, l, r int64
	err := row.Scan(&d.ID, &d.UserID, &d.Name, &d.OS, &d.PublicKey, &d.Status, &c, &l, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return d, auth.ErrNotFound
	}
	d.CreatedAt, d.LastSeenAt, d.RevokedAt = fromMS(c), fromMS(l), fromMS(r)
	return d, err
}

// CreateDevice implements auth.Store.
func (a *Auth) CreateDevice(ctx context.Context, d api.Device) error {
	_, err := a.s.db.ExecContext(ctx, `INSERT INTO devices(`+deviceCols+`) VALUES(?,?,?,?,?,?,?,?,?)`,
		d.ID, d.UserID, d.Name, d.OS, d.PublicKey, d.Status, ms(d.CreatedAt), ms(d.LastSeenAt), ms(d.RevokedAt))
	if isUnique(err) {
		return auth.ErrConflict
	}
	return err
}

// GetDevice implements auth.Store.
func (a *Auth) GetDevice(ctx context.Context, id string) (api.Device, error) {
	return scanDevice(a.s.db.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id=?`, id))
}

// FindDevice implements auth.Store.
func (a *Auth) FindDevice(ctx context.Context, userID string, pub []byte) (api.Device, error) {
	return scanDevice(a.s.db.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE user_id=? AND public_key=?`, userID, pub))
}

// SetDeviceStatus implements auth.Store.
func (a *Auth) SetDeviceStatus(ctx context.Context, id, status string, at time.Time) (api.Device, error) {
	var d api.Device
	err := a.s.Tx(ctx, func(tx *Tx) error {
		rev := int64(0)
		if status == api.DeviceRevoked {
			rev = ms(at)
		}
		r, err := tx.ExecContext(ctx, `UPDATE devices SET status=?, revoked_at=? WHERE id=?`, status, rev, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		d, err = scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id=?`, id))
		return err
	})
	return d, err
}

// TouchDevice implements auth.Store.
func (a *Auth) TouchDevice(ctx context.Context, id string, at time.Time) error {
	_, err := a.s.db.ExecContext(ctx, `UPDATE devices SET last_seen_at=? WHERE id=?`, ms(at), id)
	return err
}

// ListDevices implements auth.Store.
func (a *Auth) ListDevices(ctx context.Context, userID string) ([]api.Device, error) {
	q, args := `SELECT `+deviceCols+` FROM devices`, []any{}
	if userID != "" {
		q += ` WHERE user_id=?`
		args = append(args, userID)
	}
	rows, err := a.s.db.QueryContext(ctx, q+` ORDER BY user_id, created_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

const sessionCols = `id, user_id, device_id, scope, access_hash, access_expires, refresh_hash, refresh_expires, created_at, revoked_at`

func scanSession(row scanner) (auth.Session, error) {
	var s auth.Session
	var ae, re, c, r int64
	err := row.Scan(&s.ID, &s.UserID, &s.DeviceID, &s.Scope, &s.AccessHash, &ae, &s.RefreshHash, &re, &c, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return s, auth.ErrNotFound
	}
	s.AccessExpires, s.RefreshExpires, s.CreatedAt, s.RevokedAt = fromMS(ae), fromMS(re), fromMS(c), fromMS(r)
	return s, err
}

// CreateSession implements auth.Store.
func (a *Auth) CreateSession(ctx context.Context, s auth.Session) error {
	_, err := a.s.db.ExecContext(ctx, `INSERT INTO sessions(`+sessionCols+`) VALUES(?,?,?,?,?,?,?,?,?,?)`,
		s.ID, s.UserID, s.DeviceID, s.Scope, s.AccessHash, ms(s.AccessExpires), nilIfEmpty(s.RefreshHash), ms(s.RefreshExpires), ms(s.CreatedAt), ms(s.RevokedAt))
	return err
}

func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// SessionByAccess implements auth.Store.
func (a *Auth) SessionByAccess(ctx context.Context, h []byte) (auth.Session, error) {
	return scanSession(a.s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE access_hash=?`, h))
}

// SessionUser implements auth.Store with one indexed join (it runs on
// every authenticated request; pgx keeps it prepared per connection).
func (a *Auth) SessionUser(ctx context.Context, h []byte) (auth.Session, auth.UserRecord, error) {
	const q = `SELECT s.id, s.user_id, s.device_id, s.scope, s.access_hash, s.access_expires,
		s.refresh_hash, s.refresh_expires, s.created_at, s.revoked_at,
		u.id, u.name, u.department, u.roles, u.email, u.password_hash, u.must_change_password, u.disabled,
		u.totp_secret, u.totp_enrolled, u.totp_last_counter, u.demo, u.created_at, u.updated_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.access_hash = ?`
	var ss auth.Session
	var u auth.UserRecord
	var ae, re, c, r, uc, uu int64
	var roles string
	err := a.s.db.QueryRowContext(ctx, q, h).Scan(&ss.ID, &ss.UserID, &ss.DeviceID, &ss.Scope, &ss.AccessHash, &ae, &ss.RefreshHash, &re, &c, &r,
		&u.ID, &u.Name, &u.Department, &roles, &u.Email, &u.PasswordHash, &u.MustChangePassword, &u.Disabled,
		&u.TOTPSecret, &u.TOTPEnrolled, &u.TOTPLastCounter, &u.Demo, &uc, &uu)
	if errors.Is(err, sql.ErrNoRows) {
		return ss, u, auth.ErrNotFound
	}
	if err != nil {
		return ss, u, err
	}
	ss.AccessExpires, ss.RefreshExpires, ss.CreatedAt, ss.RevokedAt = fromMS(ae), fromMS(re), fromMS(c), fromMS(r)
	u.Roles = parseRoles(roles)
	u.CreatedAt, u.UpdatedAt = fromMS(uc), fromMS(uu)
	return ss, u, nil
}

// SessionByRefresh implements auth.Store.
func (a *Auth) SessionByRefresh(ctx context.Context, h []byte) (auth.Session, error) {
	return scanSession(a.s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE refresh_hash=?`, h))
}

// RotateSession implements auth.Store. The old refresh hash is kept, in
// the same transaction, for SessionByRotatedRefresh.
func (a *Auth) RotateSession(ctx context.Context, id string, old []byte, s auth.Session) error {
	return a.s.Tx(ctx, func(tx *Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE sessions SET access_hash=?, access_expires=?, refresh_hash=?, refresh_expires=?
		WHERE id=? AND refresh_hash=? AND revoked_at=0`, s.AccessHash, ms(s.AccessExpires), s.RefreshHash, ms(s.RefreshExpires), id, old)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rotated_refresh(hash, session_id) VALUES(?,?)
			ON CONFLICT(hash) DO NOTHING`, old, id)
		return err
	})
}

// SessionByRotatedRefresh implements auth.Store.
func (a *Auth) SessionByRotatedRefresh(ctx context.Context, h []byte) (auth.Session, error) {
	return scanSession(a.s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE id = (SELECT session_id FROM rotated_refresh WHERE hash=?)`, h))
}

// RevokeSession implements auth.Store.
func (a *Auth) RevokeSession(ctx context.Context, id string, at time.Time) error {
	_, err := a.s.db.ExecContext(ctx, `UPDATE sessions SET revoked_at=? WHERE id=? AND revoked_at=0`, ms(at), id)
	return err
}

// RevokeSessions implements auth.Store: all of a user, or of a device.
func (a *Auth) RevokeSessions(ctx context.Context, userID, deviceID string, at time.Time) (int64, error) {
	q, arg := `UPDATE sessions SET revoked_at=? WHERE user_id=? AND revoked_at=0`, userID
	if deviceID != "" {
		q, arg = `UPDATE sessions SET revoked_at=? WHERE device_id=? AND revoked_at=0`, deviceID
	}
	r, err := a.s.db.ExecContext(ctx, q, ms(at), arg)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// PurgeSessions implements auth.Store.
func (a *Auth) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	b := ms(before)
	r, err := a.s.db.ExecContext(ctx, `DELETE FROM sessions WHERE (revoked_at > 0 AND revoked_at < ?)
		OR (access_expires < ? AND (refresh_hash IS NULL OR refresh_expires < ?))`, b, b, b)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// GetSetting implements auth.Store.
func (a *Auth) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := a.s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key=?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", auth.ErrNotFound
	}
	return v, err
}

// PutSetting implements auth.Store.
func (a *Auth) PutSetting(ctx context.Context, key, value string, at time.Time) error {
	_, err := a.s.db.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES(?,?,?)
		ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at`, key, value, ms(at))
	return err
}
