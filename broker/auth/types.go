// Package auth holds accounts, sign-in with password and one-time code,
// lockout, enrolled devices and revocable tokens.
package auth

import (
	"context"
	"errors"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Role aliases api.Role and adds the two pseudo-roles routes use.
type Role = api.Role

const (
	// Anonymous routes need no token.
	Anonymous Role = ""
	// Pending routes accept any valid token, including the restricted one a
	// login returns while the account still has a setup step to finish.
	Pending Role = "pending"
)

// Token scopes.
const (
	ScopeFull  = "full"
	ScopeSetup = "setup"
)

// Sentinel errors of the store.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// UserRecord is a user as stored.
type UserRecord struct {
	api.User
	PasswordHash    string
	TOTPSecret      []byte // sealed; nil when none
	TOTPLastCounter int64
	Demo            bool
	UpdatedAt       time.Time
}

// Attempts counts failed sign-ins for a submitted staff ID.
type Attempts struct {
	StaffID     string
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time
}

// Session is a token pair as stored (hashes only).
type Session struct {
	ID             string
	UserID         string
	DeviceID       string
	Scope          string
	AccessHash     []byte
	AccessExpires  time.Time
	RefreshHash    []byte
	RefreshExpires time.Time
	CreatedAt      time.Time
	RevokedAt      time.Time
}

// Principal is who is calling, resolved from a bearer token.
type Principal struct {
	User      api.User
	DeviceID  string
	SessionID string
	Scope     string
}

// Can reports whether p may call a route that requires role.
func (p *Principal) Can(role Role) bool {
	switch role {
	case Anonymous:
		return true
	case Pending:
		return p != nil
	}
	return p != nil && p.Scope == ScopeFull && p.User.HasRole(role)
}

// SessionsEnded says which sign-ins just ended: one session, every
// session of a device, or every session of a user, by the fields set.
// Sessions on ExceptDevice (the laptop that changed its own password and
// got a new session) are not meant.
type SessionsEnded struct {
	UserID, DeviceID, SessionID string
	ExceptDevice                string
	Reason                      string // an api.End* reason for the user's view
}

// Store is what auth needs from the database. Methods return ErrNotFound or
// ErrConflict (wrapped) where the names say so.
type Store interface {
	CreateUser(ctx context.Context, u UserRecord) error // ErrConflict
	GetUser(ctx context.Context, id string) (UserRecord, error)
	// UpdateUser reads, lets fn change, and writes the user in one transaction.
	UpdateUser(ctx context.Context, id string, fn func(*UserRecord) error) (UserRecord, error)
	ListUsers(ctx context.Context, department string) ([]UserRecord, error)
	// DepartmentStaff lists one department's accounts in ID order with
	// only ID, name, kana, department, roles and disabled read: chat's
	// member lists, read at every message, and presence need no more.
	DepartmentStaff(ctx context.Context, department string) ([]UserRecord, error)

	GetAttempts(ctx context.Context, staffID string) (Attempts, error) // zero value when none
	PutAttempts(ctx context.Context, a Attempts) error
	DeleteAttempts(ctx context.Context, staffID string) error
	PurgeAttempts(ctx context.Context, before time.Time) (int64, error)

	// UseOTPCounter raises the user's last used TOTP counter to c, failing
	// with ErrConflict if it is already c or higher (a replayed code).
	UseOTPCounter(ctx context.Context, userID string, c int64) error

	CreateDevice(ctx context.Context, d api.Device) error // ErrConflict on the same key
	GetDevice(ctx context.Context, id string) (api.Device, error)
	FindDevice(ctx context.Context, userID string, publicKey []byte) (api.Device, error)
	SetDeviceStatus(ctx context.Context, id, status string, at time.Time) (api.Device, error)
	TouchDevice(ctx context.Context, id string, at time.Time) error
	ListDevices(ctx context.Context, userID string) ([]api.Device, error)

	CreateSession(ctx context.Context, s Session) error
	SessionByAccess(ctx context.Context, hash []byte) (Session, error)
	// SessionUser resolves an access token to its session and user in one
	// read: it runs on every request.
	SessionUser(ctx context.Context, accessHash []byte) (Session, UserRecord, error)
	SessionByRefresh(ctx context.Context, hash []byte) (Session, error)
	// RotateSession replaces both token hashes, only if the refresh hash is
	// still oldRefresh (so two racing refreshes cannot both win).
	RotateSession(ctx context.Context, id string, oldRefresh []byte, s Session) error
	// SessionByRotatedRefresh finds the session a refresh hash belonged
	// to before RotateSession replaced it: a token presented again.
	SessionByRotatedRefresh(ctx context.Context, hash []byte) (Session, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error
	RevokeSessions(ctx context.Context, userID, deviceID string, at time.Time) (int64, error)
	PurgeSessions(ctx context.Context, before time.Time) (int64, error)

	GetSetting(ctx context.Context, key string) (string, error) // ErrNotFound
	PutSetting(ctx context.Context, key, value string, at time.Time) error
}
