package directory_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/directory"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

const staffPassword = "Dir-Pass-1001!"

// TestE2ELDAPLogin signs staff in through a real slapd over StartTLS:
// accounts made on the first sign-in with the roles their groups map to
// and the department the directory gives, the one-time code on top, a
// wrong password, a disabled account, a person in no Zaitaku group, and
// Zaitaku's throttling before the directory (counted in slapd's own log
// of binds), the directory down.
func TestE2ELDAPLogin(t *testing.T) {
	ds := directoryForTests(t)
	link := ds.Link(t) // cut below, as a network outage
	dn := func(uid string) string { return "uid=" + uid + ",ou=staff," + ds.Suffix }
	grp := func(cn string) string { return "cn=" + cn + ",ou=groups," + ds.Suffix }
	pwFile := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(pwFile, []byte("svc-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, brokertest.WithConfig(func(c *daemon.Config) {
		c.LDAP = &directory.Config{URL: link.URL, StartTLS: true, CAFile: ds.CAFile,
			BindDN: "cn=zaitaku-svc," + ds.Suffix, BindPasswordFile: pwFile,
			BaseDN: "ou=staff," + ds.Suffix, GroupBaseDN: "ou=groups," + ds.Suffix,
			Groups: map[string][]api.Role{
				grp("zaitaku-staff"):       {api.RoleStaff},
				grp("Zaitaku-Supervisors"): {api.RoleSupervisor}, // DNs compare as LDAP does
				grp("zaitaku-it"):          {api.RoleAdmin},
			},
			DisabledFilter: "(employeeType=disabled)",
			LocalAccounts:  []string{"admin"},
			MaxFailedBinds: 3, FailedBindWindow: "30m"}
	}))
	ctx := context.Background()
	admin := b.CreateUser(t, "admin", api.RoleAdmin) // the break-glass account keeps its local password

	newKey := func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }
	login := func(c *api.Client, id, pw, otp string, key ed25519.PrivateKey, prove bool) (*api.LoginResponse, error) {
		req := api.LoginRequest{StaffID: id, Password: pw, OTP: otp,
			Device: api.DeviceInfo{Name: "test laptop", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}}
		if prove {
			req = brokertest.Prove(req, key, b.Now())
		}
		return c.Login(ctx, req)
	}
	wantCode := func(t *testing.T, err error, code api.Code) {
		t.Helper()
		var e *api.Error
		if !errors.As(err, &e) || e.Code != code {
			t.Fatalf("got %v, want %s", err, code)
		}
	}
	audited := func(t *testing.T, user, typ, reason string) {
		t.Helper()
		page, err := b.Services.Oplog.Search(ctx, oplog.Query{User: user, Type: typ, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if reason == "" || e.Fields["reason"] == reason {
				return
			}
		}
		t.Fatalf("no %s event with reason %q for %s in the operation log (%d of that type)", typ, reason, user, len(page.Events))
	}
	// enroll finishes a first sign-in: the one-time code is set up on top
	// of the directory's password.
	enroll := func(t *testing.T, c *api.Client, resp *api.LoginResponse) string {
		t.Helper()
		if resp.Stage != api.StageEnrollTOTP || resp.Enrollment == nil {
			t.Fatalf("first sign-in: stage %q, want %q with an enrollment", resp.Stage, api.StageEnrollTOTP)
		}
		code, err := auth.TOTPCode(resp.Enrollment.Secret, b.Now())
		if err != nil {
			t.Fatal(err)
		}
		done, err := c.EnrollTOTP(ctx, code)
		if err != nil {
			t.Fatalf("enroll the one-time code: %v", err)
		}
		if done.Stage != api.StageOK {
			t.Fatalf("after enrolling: stage %q", done.Stage)
		}
		return resp.Enrollment.Secret
	}
	next := func(t *testing.T, secret string) string {
		t.Helper()
		b.Clock.Advance(30 * time.Second) // codes are single-use
		c, err := auth.TOTPCode(secret, b.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	laptop := newKey() // k1001's laptop
	var secret string
	t.Run("first sign-in creates the account from the directory", func(t *testing.T) {
		if _, err := b.Services.Auth.GetUser(ctx, "k1001"); err == nil {
			t.Fatal("k1001 exists before signing in")
		}
		c := b.Client(t)
		resp, err := login(c, "k1001", staffPassword, "", laptop, true)
		if err != nil {
			t.Fatalf("directory sign-in: %v", err)
		}
		secret = enroll(t, c, resp)
		u, err := b.Services.Auth.GetUser(ctx, "k1001")
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "山田 太郎" || u.Department != "総務課" || u.Email != "yamada@city.example" || !slices.Equal(u.Roles, []api.Role{api.RoleStaff}) {
			t.Fatalf("account from the directory: %+v", u)
		}
		audited(t, "directory", "auth.user_created", "")
		ds.WaitBinds(t, dn("k1001"), 1)
	})
	t.Run("the one-time code is required on top", func(t *testing.T) {
		c := b.Client(t)
		_, err := login(c, "k1001", staffPassword, "", laptop, true)
		wantCode(t, err, api.CodeOTPRequired)
		resp, err := login(c, "k1001", staffPassword, next(t, secret), laptop, true)
		if err != nil || resp.Stage != api.StageOK {
			t.Fatalf("sign-in with password and code: %v", err)
		}
		// The password is the directory's: Zaitaku does not change it.
		_, err = c.ChangePassword(ctx, staffPassword, "Another-Pass-99!")
		wantCode(t, err, api.CodePasswordInDirectory)
	})
	t.Run("groups map to roles", func(t *testing.T) {
		for id, want := range map[string][]api.Role{"k1002": {api.RoleStaff, api.RoleSupervisor}, "it01": {api.RoleAdmin}} {
			pw := "Dir-Pass-1002!"
			if id == "it01" {
				pw = "Dir-Pass-it01!"
			}
			c := b.Client(t)
			resp, err := login(c, id, pw, "", newKey(), true)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			enroll(t, c, resp)
			u, err := b.Services.Auth.GetUser(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(u.Roles, want) {
				t.Errorf("%s: roles %v, want %v", id, u.Roles, want)
			}
		}
		if u, _ := b.Services.Auth.GetUser(ctx, "it01"); u == nil || u.Department != "情報政策課" {
			t.Errorf("it01's department from the directory: %+v", u)
		}
	})
	t.Run("a wrong password", func(t *testing.T) {
		_, err := login(b.Client(t), "k1002", "not-the-password", "", newKey(), true)
		wantCode(t, err, api.CodeInvalidCredentials)
		audited(t, "k1002", "auth.login_failed", "password")
	})
	t.Run("a disabled account", func(t *testing.T) {
		_, err := login(b.Client(t), "k1003", "Dir-Pass-1003!", "", newKey(), true)
		wantCode(t, err, api.CodeAccountDisabled)
		audited(t, "k1003", "auth.login_failed", "directory_disabled")
		if _, err := b.Services.Auth.GetUser(ctx, "k1003"); err == nil {
			t.Error("a disabled directory account was created in Zaitaku")
		}
	})
	t.Run("in no Zaitaku group", func(t *testing.T) {
		_, err := login(b.Client(t), "k1004", "Dir-Pass-1004!", "", newKey(), true)
		wantCode(t, err, api.CodeDirectoryNoRole)
		audited(t, "k1004", "auth.login_failed", "directory_no_group")
	})
	t.Run("an unknown staff ID binds nothing", func(t *testing.T) {
		_, err := login(b.Client(t), "nobody", staffPassword, "", newKey(), false)
		wantCode(t, err, api.CodeInvalidCredentials)
		audited(t, "nobody", "auth.login_failed", "unknown_id")
		if n := ds.Binds(t, dn("nobody")); n != 0 {
			t.Fatalf("%d binds for an ID the directory does not have", n)
		}
	})
	t.Run("throttled before the directory", func(t *testing.T) {
		before := ds.Binds(t, dn("k1001"))
		// Sixteen wrong passwords at once from laptops that prove no key.
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = login(b.Client(t), "k1001", "guess-"+string(rune('a'+i)), "", newKey(), false)
			}()
		}
		wg.Wait()
		locked := 0
		for _, err := range errs {
			var e *api.Error
			if !errors.As(err, &e) || (e.Code != api.CodeInvalidCredentials && e.Code != api.CodeAccountLocked) {
				t.Fatalf("a guess: %v", err)
			}
			if e.Code == api.CodeAccountLocked {
				locked++
			}
		}
		if locked != 13 {
			t.Errorf("%d of 16 guesses refused before the directory, want 13", locked)
		}
		ds.WaitBinds(t, dn("k1001"), before+3)
		// The right password from a new laptop is refused too, without a
		// bind: the attacker's budget is spent for the unproven path.
		_, err := login(b.Client(t), "k1001", staffPassword, next(t, secret), newKey(), false)
		wantCode(t, err, api.CodeAccountLocked)
		audited(t, "k1001", "auth.login_locked", "directory_budget")
		// k1001's own laptop proves its key and still signs in: one bind,
		// so the refused attempt above made none.
		resp, err := login(b.Client(t), "k1001", staffPassword, next(t, secret), laptop, true)
		if err != nil || resp.Stage != api.StageOK {
			t.Fatalf("sign-in from the enrolled laptop during the attack: %v", err)
		}
		ds.WaitBinds(t, dn("k1001"), before+4)
		// The good bind cleared the directory's count, and so Zaitaku's
		// budget: the right password from a new laptop is let through.
		if _, err := login(b.Client(t), "k1001", staffPassword, next(t, secret), newKey(), false); err != nil {
			t.Fatalf("after a good bind, from a new laptop: %v", err)
		}
		// Three more failures spend the budget again, until the window
		// has passed since the last of them.
		for i := range 3 {
			_, err := login(b.Client(t), "k1001", "again-"+string(rune('a'+i)), "", newKey(), false)
			wantCode(t, err, api.CodeInvalidCredentials)
		}
		_, err = login(b.Client(t), "k1001", staffPassword, next(t, secret), newKey(), false)
		wantCode(t, err, api.CodeAccountLocked)
		ds.WaitBinds(t, dn("k1001"), before+8)
		b.Clock.Advance(30 * time.Minute)
		if _, err := login(b.Client(t), "k1001", staffPassword, next(t, secret), newKey(), false); err != nil {
			t.Fatalf("30 minutes after the last failure: %v", err)
		}
		ds.WaitBinds(t, dn("k1001"), before+9)
		t.Logf("16 guesses at once: 3 failed binds reached the directory, 13 were refused by Zaitaku; the enrolled laptop signed in")
	})
	t.Run("the directory unreachable", func(t *testing.T) {
		link.Cut()
		_, err := login(b.Client(t), "k1002", "Dir-Pass-1002!", "", newKey(), true)
		wantCode(t, err, api.CodeDirectoryUnavailable)
		audited(t, "k1002", "auth.login_failed", "directory_unavailable")
		// The break-glass account signs in with its local password.
		if s := b.Login(t, admin); s.Login.Stage != api.StageOK {
			t.Fatalf("local admin: stage %q", s.Login.Stage)
		}
	})
}

// TestE2ELDAPTLS: LDAPS works as StartTLS does, and a directory whose
// certificate does not chain to ca_file is never sent a password, over
// either.
func TestE2ELDAPTLS(t *testing.T) {
	ds := directoryForTests(t)
	pwFile := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(pwFile, []byte("svc-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	otherCA, _, err := writeCert(t.TempDir()) // a certificate the directory's does not chain to
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(url string, startTLS bool, ca string) brokertest.Option {
		return brokertest.WithConfig(func(c *daemon.Config) {
			c.LDAP = &directory.Config{URL: url, StartTLS: startTLS, CAFile: ca,
				BindDN: "cn=zaitaku-svc," + ds.Suffix, BindPasswordFile: pwFile,
				BaseDN: "ou=staff," + ds.Suffix, GroupBaseDN: "ou=groups," + ds.Suffix,
				Groups: map[string][]api.Role{"cn=zaitaku-staff,ou=groups," + ds.Suffix: {api.RoleStaff}}}
		})
	}
	login := func(b *brokertest.Broker) error {
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		_, err := b.Client(t).Login(context.Background(), api.LoginRequest{StaffID: "k2001", Password: staffPassword,
			Device: api.DeviceInfo{Name: "test laptop", OS: "linux", PublicKey: k.Public().(ed25519.PublicKey)}})
		return err
	}
	userDN := "uid=k2001,ou=staff," + ds.Suffix
	for _, tc := range []struct {
		name     string
		url      string
		startTLS bool
		ca       string
		want     api.Code
	}{
		{"LDAPS", ds.LDAPS, false, ds.CAFile, ""},
		{"LDAPS with another CA", ds.LDAPS, false, otherCA, api.CodeDirectoryUnavailable},
		{"StartTLS with another CA", ds.URL, true, otherCA, api.CodeDirectoryUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ds.Binds(t, userDN)
			err := login(brokertest.Start(t, cfg(tc.url, tc.startTLS, tc.ca)))
			if e := api.AsError(err); tc.want == "" && err != nil || tc.want != "" && (e == nil || e.Code != tc.want) {
				t.Fatalf("sign-in: %v, want %q", err, tc.want)
			}
			if tc.want == "" {
				ds.WaitBinds(t, userDN, before+1)
			} else if n := ds.Binds(t, userDN); n != before {
				t.Fatalf("%d binds of the person's password to a directory the broker could not verify", n-before)
			}
		})
	}
}
