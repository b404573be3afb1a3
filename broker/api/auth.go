package api

import (
	"encoding/base64"
	"strconv"
	"time"
)

// Role names a permission set. A user holds one or more.
type Role string

const (
	RoleStaff      Role = "staff"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
	// RoleAuditor reads sessions, operation logs and reports and changes
	// nothing: auditors and IT are different people in a municipality.
	RoleAuditor Role = "auditor"
	// RoleDeptAdmin is a department's own IT contact: they manage the
	// staff and office PCs of their own department (User.Department)
	// only, and grant no role above supervisor.
	RoleDeptAdmin Role = "dept_admin"
)

// PrivilegedRoles are the roles a department's IT contact may neither
// hold over nor grant: accounts holding one are central IT's to manage.
var PrivilegedRoles = []Role{RoleAdmin, RoleAuditor, RoleDeptAdmin}

// User is a member of staff as the API shows them.
type User struct {
	ID                 string    `json:"id"` // staff ID, e.g. "k1024"
	Name               string    `json:"name"`
	Kana               string    `json:"kana,omitempty"` // reading of the name in katakana, from the roster
	Department         string    `json:"department"`
	Roles              []Role    `json:"roles"`
	Email              string    `json:"email,omitempty"`
	Disabled           bool      `json:"disabled,omitempty"`
	TOTPEnrolled       bool      `json:"totp_enrolled"`
	MustChangePassword bool      `json:"must_change_password,omitempty"`
	LockedUntil        time.Time `json:"locked_until,omitzero"`
	CreatedAt          time.Time `json:"created_at,omitzero"`
}

// HasRole reports whether the user holds r.
func (u User) HasRole(r Role) bool {
	for _, have := range u.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// DeviceInfo describes the telework laptop at login. PublicKey is the raw
// 32-byte ed25519 key the app made on first run; its private half stays in
// the OS keyring.
type DeviceInfo struct {
	Name      string `json:"name"`
	OS        string `json:"os"`
	PublicKey []byte `json:"public_key"`
}

// Device is an enrolled laptop.
type Device struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Name       string    `json:"name"`
	OS         string    `json:"os"`
	PublicKey  []byte    `json:"public_key"`
	Status     string    `json:"status"` // active, pending, revoked
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// DeviceRevocation answers POST /admin/v1/devices/{id}/revoke: the
// device as it now stands (its fields inline, so a client reading a
// Device reads it too), where its timeline is, and until when the laptop
// may still upload its journal as evidence.
type DeviceRevocation struct {
	Device
	// Timeline is the path of the device's operation-log timeline
	// (GET, admin or auditor): its events and findings in order.
	Timeline string `json:"timeline"`
	// EvidenceUntil is the end of the window in which the laptop, on its
	// next contact, uploads its journal (POST /v1/oplogs/evidence).
	EvidenceUntil time.Time `json:"evidence_until"`
}

// Device statuses.
const (
	DeviceActive  = "active"
	DevicePending = "pending"
	DeviceRevoked = "revoked"
)

// LoginRequest is POST /v1/login.
type LoginRequest struct {
	StaffID  string     `json:"staff_id"`
	Password string     `json:"password"`
	OTP      string     `json:"otp,omitempty"`
	Device   DeviceInfo `json:"device"`
	// Proof, signed with the device key, shows that the request comes
	// from a laptop already enrolled for this staff ID. Failures an
	// attacker without that key causes then never lock this laptop out,
	// and per-address sign-in limits do not apply to it. Without it (or
	// from a laptop not yet enrolled) the sign-in is the first-time one:
	// password and code, which enrolls Device.PublicKey.
	Proof *LoginProof `json:"proof,omitempty"`
}

// LoginProof is the device's signature over LoginProofMessage(staff ID as
// sent, device public key, Timestamp). The timestamp must be within the
// broker's proof skew (5 minutes) of its clock.
type LoginProof struct {
	Timestamp int64  `json:"timestamp"` // unix seconds
	Signature []byte `json:"signature"`
}

// LoginProofMessage is the message a device signs to prove, at sign-in,
// that it holds the key enrolled for staffID. The prefix keeps it from
// ever being valid as a refresh proof, and the other way round.
func LoginProofMessage(staffID string, publicKey []byte, unix int64) []byte {
	return []byte("zaitaku-login-v1\n" + staffID + "\n" + base64.StdEncoding.EncodeToString(publicKey) + "\n" + strconv.FormatInt(unix, 10))
}

// Login stages. Anything but StageOK comes with a restricted token that can
// only finish the named step.
const (
	StageOK             = "ok"
	StageEnrollTOTP     = "enroll_totp"
	StageChangePassword = "change_password"
)

// LoginResponse answers a successful password (and code) check.
type LoginResponse struct {
	Stage           string    `json:"stage"`
	AccessToken     string    `json:"access_token"`
	AccessExpiresAt time.Time `json:"access_expires_at"`
	// AccessExpiresIn is the access token's lifetime in seconds, by the
	// broker's clock: a laptop schedules its refresh from this, so a
	// laptop clock that is off does not refresh too late or in a loop.
	AccessExpiresIn  int64           `json:"access_expires_in"`
	RefreshToken     string          `json:"refresh_token,omitempty"`
	RefreshExpiresAt time.Time       `json:"refresh_expires_at,omitzero"`
	User             User            `json:"user"`
	Device           Device          `json:"device"`
	Enrollment       *TOTPEnrollment `json:"enrollment,omitempty"`
	PasswordRules    string          `json:"password_rules,omitempty"`
}

// TOTPEnrollment is what the app shows to set up an authenticator: a QR code
// of URI and the key for manual entry.
type TOTPEnrollment struct {
	URI    string `json:"uri"`
	Secret string `json:"secret"`
}

// EnrollTOTPRequest confirms enrollment with a first code.
type EnrollTOTPRequest struct {
	Code string `json:"code"`
}

// ChangePasswordRequest is POST /v1/me/password.
type ChangePasswordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// RefreshRequest is POST /v1/token/refresh. The app proves it holds the
// device key by signing RefreshProof(refresh token, device ID, time).
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	DeviceID     string `json:"device_id"`
	Timestamp    int64  `json:"timestamp"` // unix seconds
	Signature    []byte `json:"signature"`
}

// RefreshProof is the message a device signs to refresh its tokens.
func RefreshProof(refreshToken, deviceID string, unix int64) []byte {
	return []byte("zaitaku-refresh-v1\n" + refreshToken + "\n" + deviceID + "\n" + strconv.FormatInt(unix, 10))
}

// Me is GET /v1/me.
type Me struct {
	User   User   `json:"user"`
	Device Device `json:"device"`
}

// Empty is a body with no fields (for routes that answer with no content).
type Empty struct{}

// Admin wire types.

// CreateUserRequest is POST /admin/v1/users.
type CreateUserRequest struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kana       string `json:"kana,omitempty"`
	Department string `json:"department"`
	Roles      []Role `json:"roles"`
	Email      string `json:"email,omitempty"`
	Password   string `json:"password,omitempty"` // empty: a temporary one is generated
}

// CreateUserResponse carries the temporary password when one was generated;
// it is shown once and must be changed at first login.
type CreateUserResponse struct {
	User              User   `json:"user"`
	TemporaryPassword string `json:"temporary_password,omitempty"`
}

// UpdateUserRequest is PATCH /admin/v1/users/{id}; nil fields are unchanged.
type UpdateUserRequest struct {
	Name       *string `json:"name,omitempty"`
	Kana       *string `json:"kana,omitempty"`
	Department *string `json:"department,omitempty"`
	Roles      *[]Role `json:"roles,omitempty"`
	Email      *string `json:"email,omitempty"`
	Disabled   *bool   `json:"disabled,omitempty"`
}

// ResetPasswordResponse carries a temporary password (forced change at next login).
type ResetPasswordResponse struct {
	TemporaryPassword string `json:"temporary_password"`
}

// UserList is GET /admin/v1/users.
type UserList struct {
	Users []User `json:"users"`
}

// DeviceList is GET /admin/v1/devices.
type DeviceList struct {
	Devices []Device `json:"devices"`
}

// Policy is the security policy IT sets; defaults follow the LGWAN profile.
type Policy struct {
	RequireTOTP           bool `json:"require_totp"`
	RequireDeviceApproval bool `json:"require_device_approval"`
	PasswordMinLength     int  `json:"password_min_length"`
	PasswordMinClasses    int  `json:"password_min_classes"`
	LockoutThreshold      int  `json:"lockout_threshold"`
	LockoutMinutes        int  `json:"lockout_minutes"`
}

// PolicyUpdate is PATCH /admin/v1/policy; nil fields are unchanged. Every
// relaxation is written to the audit log with the reason.
type PolicyUpdate struct {
	RequireTOTP           *bool  `json:"require_totp,omitempty"`
	RequireDeviceApproval *bool  `json:"require_device_approval,omitempty"`
	PasswordMinLength     *int   `json:"password_min_length,omitempty"`
	PasswordMinClasses    *int   `json:"password_min_classes,omitempty"`
	LockoutThreshold      *int   `json:"lockout_threshold,omitempty"`
	LockoutMinutes        *int   `json:"lockout_minutes,omitempty"`
	Reason                string `json:"reason"`
}

// Health is GET /healthz and /readyz.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}
