package core

import (
	"context"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

type memRecorder struct{ events []string }

func (m *memRecorder) Record(ev string, f map[string]string) error {
	m.events = append(m.events, ev)
	return nil
}

func newClient(t *testing.T, b *brokertest.Broker, sec Secrets, rec Recorder) *Client {
	t.Helper()
	c, err := New(Config{BrokerURL: b.URL, Fingerprint: b.Fingerprint, DeviceName: "test-laptop"},
		Deps{Secrets: sec, Recorder: rec, Now: b.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func waitPhase(t *testing.T, c *Client, p Phase) State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st := c.State(); st.Phase == p {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("phase %s not reached; state %+v", p, c.State())
	return State{}
}

func TestLoginFlow(t *testing.T) {
	b := brokertest.Start(t)
	u := b.CreateUser(t, "k1001")
	ctx := context.Background()

	tests := []struct {
		name     string
		pw, code string
		want     api.Code
	}{
		{"wrong password", "Wrong-Pass-77x", "", api.CodeInvalidCredentials},
		{"code required", u.Password, "", api.CodeOTPRequired},
		{"wrong code", u.Password, "000000", api.CodeOTPInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, b, nil, nil)
			_, err := c.Login(ctx, u.ID, tc.pw, tc.code, false)
			if e := api.AsError(err); e == nil || e.Code != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			if c.State().Phase != SignedOut {
				t.Fatalf("phase = %s", c.State().Phase)
			}
		})
	}

	t.Run("ok, remembered, resumed, logged out", func(t *testing.T) {
		sec := NewMemorySecrets()
		rec := &memRecorder{}
		c := newClient(t, b, sec, rec)
		step, err := c.Login(ctx, u.ID, u.Password, b.Code(t, u), true)
		if err != nil || step.Stage != api.StageOK {
			t.Fatalf("login: %v %+v", err, step)
		}
		st := waitPhase(t, c, Ready)
		if st.User == nil || st.User.ID != u.ID {
			t.Fatalf("user = %+v", st.User)
		}
		if tok, _ := sec.Get(keyRefresh); tok == "" {
			t.Fatal("refresh token not kept with remember")
		}
		// A new app start on the same laptop resumes without a password.
		// The app before it has quit (one instance a laptop): had it run
		// on, its next refresh would present the token the new one just
		// rotated, which the broker takes for a stolen token and ends the
		// session of both (seen: the old app's 401s, then its refresh,
		// then the new one's logout refused).
		c.Close()
		c2 := newClient(t, b, sec, nil)
		ok, err := c2.Resume(ctx)
		if err != nil || !ok {
			t.Fatalf("resume: %v %v", ok, err)
		}
		waitPhase(t, c2, Ready)
		if err := c2.Logout(ctx); err != nil {
			t.Fatalf("logout: %v", err)
		}
		for _, k := range []string{keyRefresh, keyDeviceID, keyUser} {
			if v, err := sec.Get(k); err == nil && v != "" {
				t.Errorf("keyring entry %s left after logout", k)
			}
		}
		// The laptop's key stays, so its next sign-in proves the laptop.
		if v, err := sec.Get(keyDeviceKey); err != nil || v == "" {
			t.Errorf("device key wiped by a sign-out: %v", err)
		}
		c3 := newClient(t, b, sec, nil)
		if ok, _ := c3.Resume(ctx); ok {
			t.Fatal("resumed after logout")
		}
		if len(rec.events) < 2 || rec.events[0] != "app.start" || rec.events[1] != "login.ok" {
			t.Fatalf("recorded %v", rec.events)
		}
	})
}

func TestLoginSetupSteps(t *testing.T) {
	b := brokertest.Start(t)
	ctx := context.Background()
	adm := b.Signin(t, "it01", api.RoleAdmin)
	out, err := adm.CreateUser(ctx, api.CreateUserRequest{ID: "new01", Name: "新人", Roles: []api.Role{api.RoleStaff}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, b, nil, nil)
	step, err := c.Login(ctx, "new01", out.TemporaryPassword, "", false)
	if err != nil || step.Stage != api.StageChangePassword || step.PasswordRules == "" {
		t.Fatalf("first login: %v %+v", err, step)
	}
	if _, err := c.ChangePassword(ctx, out.TemporaryPassword, "password1"); api.AsError(err) == nil || api.AsError(err).Code != api.CodePasswordPolicy {
		t.Fatalf("weak password accepted: %v", err)
	}
	step, err = c.ChangePassword(ctx, out.TemporaryPassword, "Tsuki-Mado-58")
	if err != nil || step.Stage != api.StageEnrollTOTP || step.Enrollment == nil {
		t.Fatalf("after change: %v %+v", err, step)
	}
	code := mustCode(t, step.Enrollment.Secret, b.Now())
	step, err = c.EnrollTOTP(ctx, code)
	if err != nil || step.Stage != api.StageOK {
		t.Fatalf("enroll: %v %+v", err, step)
	}
	waitPhase(t, c, Ready)
}

// TestRefreshFollowsTheBrokersClock: a laptop whose clock is months
// ahead of the broker's must neither refresh in a loop (its expiry looks
// past) nor wait too long; the lifetime the broker states wins.
func TestRefreshFollowsTheBrokersClock(t *testing.T) {
	ahead := func() time.Time { return time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) }
	c := &Client{deps: Deps{Now: ahead}}
	brokerNow := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	resp := &api.LoginResponse{AccessExpiresAt: brokerNow.Add(15 * time.Minute), AccessExpiresIn: 900}
	if got := c.accessTTL(resp); got != 15*time.Minute {
		t.Errorf("with the broker's lifetime: %s, want 15m", got)
	}
	// An older broker states only the expiry: the laptop's clock is all
	// there is (and keepFresh waits at least a second).
	resp.AccessExpiresIn = 0
	c.deps.Now = func() time.Time { return brokerNow }
	if got := c.accessTTL(resp); got != 15*time.Minute {
		t.Errorf("from the expiry: %s, want 15m", got)
	}
}
