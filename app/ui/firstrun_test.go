package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/broker/api"
)

const (
	fp  = "3A:7F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"
	pin = "sha256/OjR/ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8w="
	// nextPin is the key IT announces before the broker uses it.
	nextPin = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)

func newFirstRunUI(t *testing.T, preset Profile, check CertCheck, checkErr error) (*UI, *[]Profile) {
	t.Helper()
	a := test.NewTempApp(t)
	var made []Profile
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}}
	u := New(a, Options{Lang: "ja", Preset: preset,
		NewClient: func(p Profile) (Client, error) { made = append(made, p); return fc, nil },
		CheckCert: func(context.Context, string) (CertCheck, error) { return check, checkErr },
	})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	return u, &made
}

func TestFirstRunSelfSigned(t *testing.T) {
	u, made := newFirstRunUI(t, Profile{}, CertCheck{Pin: pin, Fingerprint: fp}, nil)
	if u.screen != scrFirstRun {
		t.Fatalf("screen %v, want first run", u.screen)
	}
	s := u.first
	if s.device.Text == "" {
		t.Error("device name should be prefilled with the host name")
	}
	test.Tap(s.save)
	if s.msg.Text != "接続先のアドレスを入力してください。" {
		t.Errorf("empty address: %q", s.msg.Text)
	}
	s.broker.SetText("http://broker:8443")
	test.Tap(s.check)
	if !strings.Contains(s.msg.Text, "https://") {
		t.Errorf("plain http must be refused: %q", s.msg.Text)
	}
	s.broker.SetText("broker.example.lg.jp:8443")
	test.Tap(s.check)
	if !s.fp.Visible() || s.fp.Text != pin || !s.confirm.Visible() {
		t.Fatal("a self-signed certificate shows its key pin and asks for confirmation")
	}
	if !strings.Contains(s.fpNote.Text, "自己署名") {
		t.Errorf("note %q", s.fpNote.Text)
	}
	if u.win.Canvas().Focused() != s.confirm {
		t.Error("focus should move to the confirmation")
	}
	test.Tap(s.save)
	if !strings.Contains(s.msg.Text, "チェックを入れてください") {
		t.Errorf("unconfirmed: %q", s.msg.Text)
	}
	s.confirm.SetChecked(true)
	s.device.SetText("貸出PC-012")
	test.Tap(s.save)
	want := Profile{BrokerURL: "https://broker.example.lg.jp:8443", Pins: pin, DeviceName: "貸出PC-012"}
	if len(*made) != 1 || (*made)[0] != want {
		t.Fatalf("client made with %+v, want %+v", *made, want)
	}
	if u.screen != scrLogin {
		t.Fatalf("screen %v, want login", u.screen)
	}
	if got := loadProfile(u.prefs, Profile{}); got != want {
		t.Errorf("saved profile %+v", got)
	}
}

func TestFirstRunPinnedByInstaller(t *testing.T) {
	for name, tc := range map[string]struct {
		preset   Profile
		wantPins string
	}{
		"key pins, the next one announced": {Profile{BrokerURL: "https://b:8443", Pins: nextPin + "," + pin}, nextPin + "," + pin},
		// An installer of the earlier form: the key is pinned on save.
		"certificate fingerprint": {Profile{BrokerURL: "https://b:8443", Fingerprint: strings.ToLower(strings.ReplaceAll(fp, ":", ""))}, pin},
	} {
		t.Run(name, func(t *testing.T) {
			u, made := newFirstRunUI(t, tc.preset, CertCheck{Pin: pin, Fingerprint: fp}, nil)
			test.Tap(u.first.check)
			if u.first.confirm.Visible() || !strings.Contains(u.first.fpNote.Text, "一致しました") {
				t.Fatalf("a matching preset pin needs no confirmation: %q", u.first.fpNote.Text)
			}
			test.Tap(u.first.save)
			if len(*made) != 1 || (*made)[0].Pins != tc.wantPins || (*made)[0].Fingerprint != "" {
				t.Fatalf("saved %+v, want pins %q", *made, tc.wantPins)
			}
		})
	}
}

// TestPinLearnedReplacesTheFingerprint: a laptop set up with a
// certificate fingerprint keeps the key pin its first contact learned.
func TestPinLearnedReplacesTheFingerprint(t *testing.T) {
	a := test.NewTempApp(t)
	old := Profile{BrokerURL: "https://b:8443", Fingerprint: fp, DeviceName: "貸出PC-001"}
	saveProfile(a.Preferences(), old)
	u := New(a, Options{Lang: "ja", NewClient: func(Profile) (Client, error) { return &fakeClient{}, nil }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	u.PinLearned("https://other:8443", pin) // another broker's: ignored
	u.PinLearned(old.BrokerURL, pin)
	want := Profile{BrokerURL: old.BrokerURL, Pins: pin, DeviceName: old.DeviceName}
	if got := loadProfile(u.prefs, Profile{}); got != want {
		t.Fatalf("saved %+v, want %+v", got, want)
	}
	// The installer's preset still names the fingerprint: the pin stays.
	if got := loadProfile(u.prefs, Profile{BrokerURL: old.BrokerURL, Fingerprint: fp}); got != want {
		t.Fatalf("with the old preset: %+v, want %+v", got, want)
	}
}

func TestFirstRunMismatchBlocks(t *testing.T) {
	preset := Profile{BrokerURL: "https://b:8443", Fingerprint: "00:11"}
	u, made := newFirstRunUI(t, preset, CertCheck{Pin: pin, Fingerprint: fp}, nil)
	test.Tap(u.first.check)
	if !strings.Contains(u.first.fpNote.Text, "一致しません") {
		t.Fatalf("note %q", u.first.fpNote.Text)
	}
	test.Tap(u.first.save)
	if len(*made) != 0 {
		t.Fatal("a mismatching certificate must never be saved")
	}
}

func TestFirstRunTrustedAndUnreachable(t *testing.T) {
	u, made := newFirstRunUI(t, Profile{BrokerURL: "https://b"}, CertCheck{}, api.Err(api.CodeNetwork))
	test.Tap(u.first.check)
	if !strings.Contains(u.first.msg.Text, "ブローカーに接続できません") {
		t.Errorf("unreachable: %q", u.first.msg.Text)
	}
	u, made = newFirstRunUI(t, Profile{BrokerURL: "https://b"}, CertCheck{Pin: pin, Fingerprint: fp, Trusted: true}, nil)
	test.Tap(u.first.check)
	test.Tap(u.first.save)
	if len(*made) != 1 || (*made)[0].Pins != pin || (*made)[0].TrustOS {
		t.Fatalf("a CA-trusted broker set up by hand is pinned by key: %+v", *made)
	}
	// Only IT's preset makes the profile trust the OS store instead.
	u, made = newFirstRunUI(t, Profile{BrokerURL: "https://b", TrustOS: true}, CertCheck{Pin: pin, Fingerprint: fp, Trusted: true}, nil)
	test.Tap(u.first.check)
	test.Tap(u.first.save)
	if len(*made) != 1 || (*made)[0].Pins != "" || !(*made)[0].TrustOS {
		t.Fatalf("a managed rollout trusts the OS store: %+v", *made)
	}
}

func TestNormalizeBrokerURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"broker.example.lg.jp:8443", "https://broker.example.lg.jp:8443"},
		{" https://b:8443/ ", "https://b:8443"},
		{"http://b:8443", ""},
		{"https://b/v1/x", ""},
		{"", ""},
	} {
		got, err := normalizeBrokerURL(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNoKeyringSaysSo(t *testing.T) {
	a := test.NewTempApp(t)
	u := New(a, Options{Lang: "ja", Preset: profile,
		NewClient: func(Profile) (Client, error) { return nil, fmt.Errorf("load device key: %w", ErrNoKeyring) }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()
	if u.screen != scrFirstRun || !strings.Contains(u.first.msg.Text, "キーリング") {
		t.Fatalf("screen %v, message %q", u.screen, u.first.msg.Text)
	}
}
