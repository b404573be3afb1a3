package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

func code(err error) api.Code {
	if e := api.AsError(err); e != nil {
		return e.Code
	}
	return ""
}

func newKey() ed25519.PrivateKey {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return k
}

func loginReq(u brokertest.User, pw, otp string, key ed25519.PrivateKey) api.LoginRequest {
	return api.LoginRequest{StaffID: u.ID, Password: pw, OTP: otp,
		Device: api.DeviceInfo{Name: "laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}}
}

func TestLogin(t *testing.T) {
	b := brokertest.Start(t)
	u := b.CreateUser(t, "k2001")
	ctx := context.Background()
	key := newKey()
	tests := []struct {
		name    string
		id, pw  string
		otp     func() string
		want    api.Code
		advance time.Duration
	}{
		{name: "unknown id looks like wrong password", id: "nobody", pw: u.Password, otp: func() string { return "" }, want: api.CodeInvalidCredentials},
		{name: "wrong password", id: u.ID, pw: "Wrong-Pass-77x", otp: func() string { return b.Code(t, u) }, want: api.CodeInvalidCredentials},
		{name: "code required", id: u.ID, pw: u.Password, otp: func() string { return "" }, want: api.CodeOTPRequired},
		{name: "wrong code", id: u.ID, pw: u.Password, otp: func() string { return "123456" }, want: api.CodeOTPInvalid},
		{name: "ok", id: u.ID, pw: u.Password, otp: func() string { return b.Code(t, u) }, want: ""},
		{name: "replayed code", id: u.ID, pw: u.Password, otp: func() string { return b.Code(t, u) }, want: api.CodeOTPReplayed},
		{name: "next code ok", id: u.ID, pw: u.Password, otp: func() string { return b.Code(t, u) }, want: "", advance: 30 * time.Second},
		{name: "staff id is case-insensitive", id: "  K2001 ", pw: u.Password, otp: func() string { return b.Code(t, u) }, want: "", advance: 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.Clock.Advance(tc.advance)
			c := b.Client(t)
			r := loginReq(u, tc.pw, tc.otp(), key)
			r.StaffID = tc.id
			resp, err := c.Login(ctx, r)
			if got := code(err); got != tc.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.want)
			}
			if tc.want == "" {
				if resp.Stage != api.StageOK || resp.AccessToken == "" || resp.RefreshToken == "" {
					t.Fatalf("resp = %+v", resp)
				}
				if _, err := c.Me(ctx); err != nil {
					t.Fatalf("me: %v", err)
				}
			}
		})
	}
}

func TestLockoutAndExpiry(t *testing.T) {
	b := brokertest.Start(t)
	u := b.CreateUser(t, "k2002")
	ctx := context.Background()
	c := b.Client(t)
	key := newKey()
	for i := 0; i < 5; i++ {
		if _, err := c.Login(ctx, loginReq(u, "Wrong-Pass-77x", "", key)); code(err) != api.CodeInvalidCredentials {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Locked: even the right password is refused, with a retry time.
	_, err := c.Login(ctx, loginReq(u, u.Password, b.Code(t, u), key))
	if code(err) != api.CodeAccountLocked || api.AsError(err).RetryAfter <= 0 {
		t.Fatalf("after 5 failures: %v", err)
	}
	// An unknown ID locks the same way (no enumeration through lockout).
	ghost := brokertest.User{ID: "ghost", Password: "x"}
	for i := 0; i < 5; i++ {
		_, _ = c.Login(ctx, loginReq(ghost, "Wrong-Pass-77x", "", key))
	}
	if _, err := c.Login(ctx, loginReq(ghost, "Wrong-Pass-77x", "", key)); code(err) != api.CodeAccountLocked {
		t.Fatalf("unknown id not locked alike: %v", err)
	}
	b.Clock.Advance(16 * time.Minute)
	if _, err := c.Login(ctx, loginReq(u, u.Password, b.Code(t, u), key)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestAdminUnlock(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "it01", api.RoleAdmin)
	u := b.CreateUser(t, "k2003")
	ctx := context.Background()
	c := b.Client(t)
	key := newKey()
	for i := 0; i < 5; i++ {
		_, _ = c.Login(ctx, loginReq(u, "Wrong-Pass-77x", "", key))
	}
	var user api.User
	if err := adm.Do(ctx, "GET", "/admin/v1/users/k2003", nil, &user); err != nil || user.LockedUntil.IsZero() {
		t.Fatalf("lock not shown to IT: %v %+v", err, user)
	}
	if err := adm.Unlock(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, loginReq(u, u.Password, b.Code(t, u), key)); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestRefreshDeviceProof(t *testing.T) {
	b := brokertest.Start(t)
	s := b.Signin(t, "k2004")
	ctx := context.Background()
	c := b.Client(t)

	good := s.RefreshRequest(b.Now())
	wrongKey := good
	wrongKey.Signature = ed25519.Sign(newKey(), api.RefreshProof(good.RefreshToken, good.DeviceID, good.Timestamp))
	stale := s.RefreshRequest(b.Now().Add(-10 * time.Minute))
	otherDevice := good
	otherDevice.DeviceID = "dev_other"

	for _, tc := range []struct {
		name string
		req  api.RefreshRequest
		want api.Code
	}{
		{"wrong device key", wrongKey, api.CodeDeviceProof},
		{"stale proof", stale, api.CodeDeviceProof},
		{"other device id", otherDevice, api.CodeRefreshInvalid},
		{"garbage token", api.RefreshRequest{RefreshToken: "zrt_nope", DeviceID: good.DeviceID}, api.CodeRefreshInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Refresh(ctx, tc.req); code(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
	resp, err := c.Refresh(ctx, good)
	if err != nil {
		t.Fatalf("good refresh: %v", err)
	}
	// The old refresh token is spent; the new one works.
	if _, err := c.Refresh(ctx, good); code(err) != api.CodeRefreshInvalid {
		t.Fatalf("reused refresh token: %v", err)
	}
	if resp.RefreshToken == good.RefreshToken {
		t.Fatal("refresh token not rotated")
	}
}

func TestRevokedDevice(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "it01", api.RoleAdmin)
	s := b.Signin(t, "k2005")
	ctx := context.Background()
	if _, err := adm.RevokeDevice(ctx, s.Login.Device.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Me(ctx); code(err) != api.CodeUnauthenticated {
		t.Fatalf("access token still works after revoke: %v", err)
	}
	if _, err := b.Client(t).Refresh(ctx, s.RefreshRequest(b.Now())); code(err) != api.CodeDeviceRevoked {
		t.Fatalf("refresh after revoke: %v", err)
	}
	b.Clock.Advance(30 * time.Second)
	_, err := b.Client(t).Login(ctx, loginReq(s.User, s.User.Password, b.Code(t, s.User), s.Key))
	if code(err) != api.CodeDeviceRevoked {
		t.Fatalf("login from revoked laptop: %v", err)
	}
}

func TestDeviceApproval(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "it01", api.RoleAdmin)
	ctx := context.Background()
	yes := true
	if err := adm.Do(ctx, "PATCH", "/admin/v1/policy", api.PolicyUpdate{RequireDeviceApproval: &yes}, nil); err != nil {
		t.Fatal(err)
	}
	u := b.CreateUser(t, "k2006")
	key := newKey()
	_, err := b.Client(t).Login(ctx, loginReq(u, u.Password, b.Code(t, u), key))
	if code(err) != api.CodeDevicePending {
		t.Fatalf("new device not pending: %v", err)
	}
	ds, err := adm.Devices(ctx, u.ID)
	if err != nil || len(ds.Devices) != 1 {
		t.Fatalf("devices: %v %+v", err, ds)
	}
	if _, err := adm.ApproveDevice(ctx, ds.Devices[0].ID); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(30 * time.Second)
	if _, err := b.Client(t).Login(ctx, loginReq(u, u.Password, b.Code(t, u), key)); err != nil {
		t.Fatalf("after approval: %v", err)
	}
}

func TestPasswordChangeAndReset(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "it01", api.RoleAdmin)
	s := b.Signin(t, "k2007")
	ctx := context.Background()
	if _, err := s.ChangePassword(ctx, "not-my-password", "Sora-Umi-2468x"); code(err) != api.CodeCurrentPassword {
		t.Fatalf("wrong old password: %v", err)
	}
	if _, err := s.ChangePassword(ctx, s.User.Password, "k2007-Abcdef!"); code(err) != api.CodePasswordPolicy {
		t.Fatalf("staff id in password: %v", err)
	}
	resp, err := s.ChangePassword(ctx, s.User.Password, "Sora-Umi-2468x")
	if err != nil || resp.Stage != api.StageOK {
		t.Fatalf("change: %v", err)
	}
	reset, err := adm.ResetPassword(ctx, "k2007")
	if err != nil || reset.TemporaryPassword == "" {
		t.Fatalf("reset: %v", err)
	}
	if _, err := s.Me(ctx); code(err) != api.CodeUnauthenticated {
		t.Fatalf("sessions survive a reset: %v", err)
	}
	b.Clock.Advance(30 * time.Second)
	c := b.Client(t)
	lr, err := c.Login(ctx, loginReq(s.User, reset.TemporaryPassword, b.Code(t, s.User), s.Key))
	if err != nil || lr.Stage != api.StageChangePassword || lr.RefreshToken != "" {
		t.Fatalf("login after reset: %v %+v", err, lr)
	}
	// The setup token opens nothing but the setup step.
	if err := c.Do(ctx, "GET", "/admin/v1/users", nil, nil); code(err) != api.CodeSetupRequired && code(err) != api.CodeForbidden {
		t.Fatalf("setup token reached another route: %v", err)
	}
	done, err := c.ChangePassword(ctx, reset.TemporaryPassword, "Hoshi-Kawa-1357")
	if err != nil || done.Stage != api.StageOK || done.RefreshToken == "" {
		t.Fatalf("forced change: %v %+v", err, done)
	}
}

func TestResetTOTPEnrollsAgain(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "it01", api.RoleAdmin)
	s := b.Signin(t, "k2008")
	ctx := context.Background()
	if err := adm.ResetTOTP(ctx, "k2008"); err != nil {
		t.Fatal(err)
	}
	c := b.Client(t)
	lr, err := c.Login(ctx, loginReq(s.User, s.User.Password, "", s.Key))
	if err != nil || lr.Stage != api.StageEnrollTOTP || lr.Enrollment == nil || lr.Enrollment.Secret == "" {
		t.Fatalf("login after TOTP reset: %v %+v", err, lr)
	}
	if _, err := c.EnrollTOTP(ctx, "000000"); code(err) != api.CodeOTPInvalid {
		t.Fatalf("wrong first code: %v", err)
	}
	u := brokertest.User{ID: "k2008", TOTPSecret: lr.Enrollment.Secret}
	done, err := c.EnrollTOTP(ctx, b.Code(t, u))
	if err != nil || done.Stage != api.StageOK {
		t.Fatalf("enroll: %v", err)
	}
}

func TestPolicyRelaxationNeedsReason(t *testing.T) {
	b := brokertest.Start(t)
	adm := b.Signin(t, "it01", api.RoleAdmin)
	ctx := context.Background()
	no := false
	err := adm.Do(ctx, "PATCH", "/admin/v1/policy", api.PolicyUpdate{RequireTOTP: &no}, nil)
	if code(err) != api.CodeValidation {
		t.Fatalf("relaxation without reason: %v", err)
	}
	var p api.Policy
	if err := adm.Do(ctx, "PATCH", "/admin/v1/policy", api.PolicyUpdate{RequireTOTP: &no, Reason: "BCP: phones unavailable"}, &p); err != nil || p.RequireTOTP {
		t.Fatalf("relaxation with reason: %v %+v", err, p)
	}
}
