package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/broker/api"
)

// fakeClient is a hand-written stand-in for *core.Client: tests set the
// answers and push states.
type fakeClient struct {
	mu     sync.Mutex // guards all fields: the UI may call from its async goroutines
	st     core.State
	subs   []func(core.State)
	calls  []string
	login  func(id, pw, otp string, remember bool) (*LoginStep, error)
	enroll func(code string) (*LoginStep, error)
	change func(oldPw, newPw string) (*LoginStep, error)
	resume bool
}

var _ Client = (*fakeClient)(nil)

func (f *fakeClient) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeClient) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// push publishes a state to every subscriber, as core does.
func (f *fakeClient) push(st core.State) {
	f.mu.Lock()
	f.st = st
	subs := append([]func(core.State){}, f.subs...)
	f.mu.Unlock()
	for _, fn := range subs {
		fn(st)
	}
}

func (f *fakeClient) Subscribe(fn func(core.State)) func() {
	f.mu.Lock()
	f.subs = append(f.subs, fn)
	st := f.st
	f.mu.Unlock()
	fn(st)
	return func() {}
}

func (f *fakeClient) State() core.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeClient) Login(_ context.Context, id, pw, otp string, remember bool) (*LoginStep, error) {
	f.record("login " + id + " otp=" + otp)
	return f.login(id, pw, otp, remember)
}

func (f *fakeClient) EnrollTOTP(_ context.Context, code string) (*LoginStep, error) {
	f.record("enroll " + code)
	return f.enroll(code)
}

func (f *fakeClient) ChangePassword(_ context.Context, oldPw, newPw string) (*LoginStep, error) {
	f.record("change")
	return f.change(oldPw, newPw)
}

func (f *fakeClient) Resume(context.Context) (bool, error) {
	f.record("resume")
	if f.resume {
		f.push(readyState())
	}
	return f.resume, nil
}

func (f *fakeClient) Connect()    { f.record("connect") }
func (f *fakeClient) Disconnect() { f.record("disconnect") }
func (f *fakeClient) Logout(context.Context) error {
	f.record("logout")
	f.push(core.State{Phase: core.SignedOut, Online: true})
	return nil
}
func (f *fakeClient) Close() { f.record("close") }

var (
	testNow      = time.Date(2026, 4, 1, 8, 30, 0, 0, time.UTC)
	testUser     = &api.User{ID: "k1024", Name: "山田 太郎", Department: "財政課"}
	testTerminal = &core.Terminal{ID: "t1", Name: "ZAISEI-PC-012", State: core.TerminalAsleep}
	profile      = Profile{BrokerURL: "https://broker.example.lg.jp:8443", Fingerprint: "AB:CD", DeviceName: "貸出PC-001"}
)

func readyState() core.State {
	return core.State{Phase: core.Ready, Online: true, User: testUser, Terminal: testTerminal, SlotsFree: 28, SlotsCap: 140}
}

// newTestUI starts the controller on a test app with fc behind it; async
// work runs inline so each step is finished when the call returns.
func newTestUI(t *testing.T, fc *fakeClient, lang string, preset Profile) *UI {
	t.Helper()
	a := test.NewTempApp(t)
	u := New(a, Options{
		Version: "0.1.0-test", Lang: lang, Preset: preset,
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return testNow },
	})
	u.async = func(f func()) { f() }
	u.every = 0
	u.win.Resize(fyne.NewSize(560, 720))
	u.Start()
	return u
}
