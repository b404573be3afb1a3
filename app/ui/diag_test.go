package ui

import (
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/broker/api"
)

func TestDiagnosticsHaveNoSecrets(t *testing.T) {
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	fc.login = func(string, string, string, bool) (*LoginStep, error) {
		return nil, api.Err(api.CodeInvalidCredentials)
	}
	u := newTestUI(t, fc, "ja", profile)
	typeLogin(u, "k1024", "Secret-Passw0rd", "")
	st := readyState()
	st.Phase, st.Err = core.Failed, api.Err(api.CodeUnavailable)
	fc.push(st)
	d := u.diagnostics()
	for _, want := range []string{"zaitaku: 0.1.0-test", "os: ", "broker: https://broker.example.lg.jp:8443",
		"phase: failed", "staff_id: k1024", "recent_error: 2026-04-01T08:30:00Z invalid_credentials",
		"recent_error: 2026-04-01T08:30:00Z unavailable", "terminal: ZAISEI-PC-012 (asleep)", "slots: 28 free of 140"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, d)
		}
	}
	for _, secret := range []string{"Secret-Passw0rd", "AB:CD"} {
		if strings.Contains(d, secret) {
			t.Errorf("diagnostics leak %q:\n%s", secret, d)
		}
	}
	u.showAbout()
	test := findButton(t, u.about.root, "診断情報をコピー")
	test.OnTapped()
	if got := u.app.Clipboard().Content(); got != d {
		t.Errorf("clipboard:\n%s", got)
	}
}
