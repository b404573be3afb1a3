package ui

import (
	"image/color"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/broker/api"
)

func typeLogin(u *UI, id, pw, otp string) {
	u.login.staffID.SetText(id)
	u.login.password.SetText(pw)
	if otp != "" {
		u.login.otp.SetText(otp)
	}
	test.Tap(u.login.submit)
}

func TestLoginWrongPassword(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	fc.login = func(id, pw, otp string, _ bool) (*LoginStep, error) {
		return nil, api.Err(api.CodeInvalidCredentials)
	}
	u := newTestUI(t, fc, "ja", profile)
	if u.screen != scrLogin {
		t.Fatalf("screen %v, want login", u.screen)
	}
	typeLogin(u, "k1024", "wrong", "")
	if got := u.login.msg.Text; !strings.Contains(got, "職員IDまたはパスワードが違います") {
		t.Errorf("message %q", got)
	}
	if u.login.msg.Importance != widget.DangerImportance || !u.login.msg.Visible() {
		t.Error("the message must show as an error")
	}
	if !strings.Contains(u.login.code.Text, "invalid_credentials") {
		t.Errorf("code line %q", u.login.code.Text)
	}
	if u.login.password.Text != "" {
		t.Error("the wrong password should be cleared")
	}
	if u.login.submit.Disabled() {
		t.Error("the form must be usable again")
	}
	if u.login.otp.Visible() {
		t.Error("no OTP field before the broker asks for it")
	}
}

func TestLoginEmptyFields(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	u := newTestUI(t, fc, "en", profile)
	typeLogin(u, "", "", "")
	if got := u.login.msg.Text; got != "Enter your staff ID and password." {
		t.Errorf("message %q", got)
	}
	for _, c := range fc.Calls() {
		if strings.HasPrefix(c, "login") {
			t.Fatal("an empty form must not reach the broker")
		}
	}
}

func TestLoginOTPStepThenHome(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	fc.login = func(id, pw, otp string, remember bool) (*LoginStep, error) {
		switch otp {
		case "":
			return nil, api.Err(api.CodeOTPRequired)
		case "111111":
			return nil, api.Err(api.CodeOTPInvalid)
		}
		if !remember {
			t.Error("remember defaults to on")
		}
		fc.push(readyState())
		return &LoginStep{Stage: api.StageOK}, nil
	}
	u := newTestUI(t, fc, "ja", profile)

	typeLogin(u, "k1024", "correct horse", "")
	if !u.login.otp.Visible() {
		t.Fatal("the OTP field must appear after otp_required")
	}
	if u.login.msg.Importance == widget.DangerImportance || u.login.code.Visible() {
		t.Error("asking for the code is a step, not an error")
	}
	if !strings.Contains(u.login.msg.Text, "6桁のワンタイムコード") {
		t.Errorf("message %q", u.login.msg.Text)
	}
	if u.win.Canvas().Focused() != u.login.otp {
		t.Error("focus should move to the OTP field")
	}

	u.login.otp.SetText("111111")
	test.Tap(u.login.submit)
	if !strings.Contains(u.login.msg.Text, "ワンタイムコードが違うか期限切れです") || u.login.otp.Text != "" {
		t.Errorf("after a wrong code: message %q, field %q", u.login.msg.Text, u.login.otp.Text)
	}
	// Pressing submit with the OTP field empty asks for it locally.
	test.Tap(u.login.submit)
	if u.login.msg.Text != "ワンタイムコード（6桁）を入力してください。" {
		t.Errorf("empty code: %q", u.login.msg.Text)
	}

	u.login.otp.SetText("123456")
	test.Tap(u.login.submit)
	if u.screen != scrHome {
		t.Fatalf("screen %v, want home", u.screen)
	}
	if got := u.home.button.Text; got != "職場のパソコンに接続" {
		t.Errorf("button %q", got)
	}
	want := []string{"resume", "login k1024 otp=", "login k1024 otp=111111", "login k1024 otp=123456"}
	if got := fc.Calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls %q, want %q", got, want)
	}
	if u.prefs.String(prefStaffID) != "k1024" {
		t.Error("the staff ID is remembered for next time")
	}
}

func TestLoginEnrollThenForcedChange(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	enrollment := &api.TOTPEnrollment{
		URI:    "otpauth://totp/Zaitaku:k1024?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Zaitaku",
		Secret: "JBSWY3DPEHPK3PXPJBSWY3DP",
	}
	fc.login = func(string, string, string, bool) (*LoginStep, error) {
		return &LoginStep{Stage: api.StageEnrollTOTP, Enrollment: enrollment}, nil
	}
	fc.enroll = func(code string) (*LoginStep, error) {
		if code != "654321" {
			return nil, api.Err(api.CodeOTPInvalid)
		}
		return &LoginStep{Stage: api.StageChangePassword, PasswordRules: "12文字以上、3種類以上の文字"}, nil
	}
	fc.change = func(oldPw, newPw string) (*LoginStep, error) {
		if oldPw != "Temp-Pass-1" {
			t.Errorf("forced change got old password %q, want the one typed at login", oldPw)
		}
		if newPw == "short" {
			return nil, api.Err(api.CodePasswordPolicy, "too short")
		}
		fc.push(readyState())
		return &LoginStep{Stage: api.StageOK}, nil
	}
	u := newTestUI(t, fc, "en", profile)
	typeLogin(u, "k1024", "Temp-Pass-1", "")

	if u.screen != scrEnroll {
		t.Fatalf("screen %v, want enroll", u.screen)
	}
	if img := u.enroll.qr.Image; img == nil || img.Bounds().Dx()%5 != 0 || img.At(0, 0) != (color.Gray{Y: 0xff}) {
		t.Error("the QR code must be drawn from the otpauth URI at whole pixels per module, with a white quiet zone")
	}
	if got := u.enroll.key.Text; got != "JBSW Y3DP EHPK 3PXP JBSW Y3DP" {
		t.Errorf("key shown as %q", got)
	}
	u.enroll.code.SetText("000000")
	test.Tap(u.enroll.submit)
	if !strings.Contains(u.enroll.msg.Text, "one-time code is wrong") {
		t.Errorf("enroll error %q", u.enroll.msg.Text)
	}
	u.enroll.code.SetText("654321")
	test.Tap(u.enroll.submit)

	if u.screen != scrPassword {
		t.Fatalf("screen %v, want forced password change", u.screen)
	}
	if u.password.old.Visible() && u.password.root != nil && containsObj(u.password.root, u.password.old) {
		t.Error("the forced change must not ask again for the password just typed")
	}
	if !containsText(u.password.root, "Password rules") || !containsText(u.password.root, "12文字以上、3種類以上の文字") {
		t.Error("the broker's password rules must be shown")
	}
	u.password.newPw.SetText("Abcdefgh-1234")
	u.password.again.SetText("Abcdefgh-9999")
	test.Tap(u.password.submit)
	if u.password.msg.Text != "The two new passwords differ. Type them again." {
		t.Errorf("mismatch message %q", u.password.msg.Text)
	}
	u.password.newPw.SetText("short")
	u.password.again.SetText("short")
	test.Tap(u.password.submit)
	if !strings.Contains(u.password.msg.Text, "does not meet the rules") {
		t.Errorf("policy message %q", u.password.msg.Text)
	}
	u.password.newPw.SetText("Abcdefgh-1234")
	u.password.again.SetText("Abcdefgh-1234")
	test.Tap(u.password.submit)
	if u.screen != scrHome {
		t.Fatalf("screen %v, want home", u.screen)
	}
	if u.pendingPw != "" {
		t.Error("the password must not be kept after the forced steps")
	}
}

func TestLoginErrorsSayWhatToDo(t *testing.T) {
	for _, code := range []api.Code{api.CodeAccountLocked, api.CodeDevicePending, api.CodeDeviceRevoked,
		api.CodeNetwork, api.CodeCertificateChange, api.CodeOTPReplayed} {
		t.Run(string(code), func(t *testing.T) {
			fc := &fakeClient{st: core.State{Phase: core.SignedOut}}
			fc.login = func(string, string, string, bool) (*LoginStep, error) { return nil, api.Err(code) }
			u := newTestUI(t, fc, "ja", profile)
			typeLogin(u, "k1024", "pw", "")
			want := api.Err(code).MessageJA
			if u.login.msg.Text != want {
				t.Errorf("message %q, want %q", u.login.msg.Text, want)
			}
			if code == api.CodeOTPReplayed && !u.login.otp.Visible() {
				t.Error("a replayed code keeps the OTP field open")
			}
		})
	}
}

func TestResumeGoesHome(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	u := newTestUI(t, fc, "ja", profile)
	if u.screen != scrHome {
		t.Fatalf("screen %v, want home after a saved sign-in", u.screen)
	}
}

func TestLockedShowsWhenToRetry(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut}}
	fc.login = func(string, string, string, bool) (*LoginStep, error) {
		e := api.Err(api.CodeAccountLocked)
		e.RetryAfter = 601
		return nil, e
	}
	u := newTestUI(t, fc, "ja", profile)
	typeLogin(u, "k1024", "pw", "")
	if want := api.Err(api.CodeAccountLocked).MessageJA + "約11分後にもう一度お試しいただけます。"; u.login.msg.Text != want {
		t.Errorf("message %q, want %q", u.login.msg.Text, want)
	}
}

func TestRulesFor(t *testing.T) {
	both := "パスワードの規則:\n10文字以上、3種類以上。\nAt least 10 characters, 3 kinds."
	if got := rulesFor("ja", both); got != "10文字以上、3種類以上。" {
		t.Errorf("ja %q", got)
	}
	if got := rulesFor("en", both); got != "At least 10 characters, 3 kinds." {
		t.Errorf("en %q", got)
	}
	if got := rulesFor("en", "12文字以上"); got != "12文字以上" {
		t.Errorf("one language only: %q", got)
	}
}
