package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/services"
)

// errBoom is what a failing fn returns: the store must hand it back.
var errBoom = errors.New("storetest: fn failed")

func newUser(id, dept string) auth.UserRecord {
	return auth.UserRecord{
		User:         api.User{ID: id, Name: "職員 " + id, Department: dept, Roles: []api.Role{api.RoleStaff}, CreatedAt: at(0)},
		PasswordHash: "$argon2id$" + id, UpdatedAt: at(0),
	}
}

func addUser(t *testing.T, st services.Stores, id, dept string) auth.UserRecord {
	t.Helper()
	u := newUser(id, dept)
	must(t, st.Auth().CreateUser(t.Context(), u))
	return u
}

func newDevice(id, userID string, k byte) api.Device {
	return api.Device{ID: id, UserID: userID, Name: "貸与PC " + id, OS: "windows 11", PublicKey: key(k),
		Status: api.DeviceActive, CreatedAt: at(0)}
}

func addDevice(t *testing.T, st services.Stores, d api.Device) api.Device {
	t.Helper()
	must(t, st.Auth().CreateDevice(t.Context(), d))
	return d
}

// newSession has access hash key(n) and refresh hash key(n+100).
func newSession(id, userID, deviceID string, n byte) auth.Session {
	return auth.Session{ID: id, UserID: userID, DeviceID: deviceID, Scope: auth.ScopeFull,
		AccessHash: key(n), AccessExpires: at(15), RefreshHash: key(n + 100), RefreshExpires: at(30 * 24 * 60), CreatedAt: at(0)}
}

// withSession stores a user, a device and a session of theirs.
func withSession(t *testing.T, st services.Stores) auth.Session {
	t.Helper()
	addUser(t, st, "k1024", "税務課")
	addDevice(t, st, newDevice("dev_1", "k1024", 1))
	s := newSession("ses_1", "k1024", "dev_1", 1)
	must(t, st.Auth().CreateSession(t.Context(), s))
	return s
}

func userIDs(us []auth.UserRecord) []string {
	var ids []string
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

func deviceIDs(ds []api.Device) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

var authBehaviours = []behaviour{
	{"create user then get returns every field", func(t *testing.T, st services.Stores) {
		u := auth.UserRecord{
			User: api.User{ID: "k1024", Name: "佐藤 花子", Department: "情報政策課", Roles: []api.Role{api.RoleAdmin, api.RoleStaff},
				Email: "sato@city.example.lg.jp", Disabled: true, TOTPEnrolled: true, MustChangePassword: true, CreatedAt: subMS},
			PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", TOTPSecret: []byte{0, 1, 2, 0xff}, TOTPLastCounter: 42,
			Demo: true, UpdatedAt: at(5),
		}
		must(t, st.Auth().CreateUser(t.Context(), u))
		got, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		want := u
		want.CreatedAt = trunc(subMS)
		same(t, "user", got, want)
	}},
	{"create user with a taken id is a conflict and keeps the first", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		dup := newUser("k1024", "市民課")
		dup.Name = "別人"
		wantErr(t, "second CreateUser", st.Auth().CreateUser(t.Context(), dup), auth.ErrConflict)
		got, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		if got.Name != "職員 k1024" || got.Department != "税務課" {
			t.Errorf("after the conflict the user is %q of %q, want the first", got.Name, got.Department)
		}
	}},
	{"get unknown user is not found", func(t *testing.T, st services.Stores) {
		_, err := st.Auth().GetUser(t.Context(), "nobody")
		wantErr(t, "GetUser", err, auth.ErrNotFound)
	}},
	{"update user writes what fn changed and returns it", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		got, err := st.Auth().UpdateUser(t.Context(), "k1024", func(u *auth.UserRecord) error {
			u.Name, u.Department, u.Disabled = "佐藤 花子", "市民課", true
			u.Roles = []api.Role{api.RoleStaff, api.RoleSupervisor}
			u.TOTPSecret, u.TOTPEnrolled = []byte("sealed"), true
			return nil
		})
		must(t, err)
		stored, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		want := newUser("k1024", "市民課")
		want.Name, want.Disabled, want.Roles = "佐藤 花子", true, []api.Role{api.RoleStaff, api.RoleSupervisor}
		want.TOTPSecret, want.TOTPEnrolled = []byte("sealed"), true
		// Who stamps UpdatedAt is the engine's business; no domain reads it.
		got.UpdatedAt, stored.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
		same(t, "returned", got, want)
		same(t, "stored", stored, want)
	}},
	{"update user with a failing fn changes nothing", func(t *testing.T, st services.Stores) {
		before := addUser(t, st, "k1024", "税務課")
		_, err := st.Auth().UpdateUser(t.Context(), "k1024", func(u *auth.UserRecord) error {
			u.Name, u.Disabled, u.TOTPLastCounter = "half written", true, 99
			return errBoom
		})
		wantErr(t, "UpdateUser", err, errBoom)
		got, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		same(t, "user", got, before)
	}},
	{"update unknown user is not found and does not call fn", func(t *testing.T, st services.Stores) {
		called := false
		_, err := st.Auth().UpdateUser(t.Context(), "nobody", func(*auth.UserRecord) error { called = true; return nil })
		wantErr(t, "UpdateUser", err, auth.ErrNotFound)
		if called {
			t.Error("fn was called for a user that does not exist")
		}
	}},
	{"list users in id order, of one department or all", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k3", "税務課")
		addUser(t, st, "k1", "市民課")
		addUser(t, st, "k2", "税務課")
		all, err := st.Auth().ListUsers(t.Context(), "")
		must(t, err)
		wantIDs(t, "all users", userIDs(all), []string{"k1", "k2", "k3"})
		dept, err := st.Auth().ListUsers(t.Context(), "税務課")
		must(t, err)
		wantIDs(t, "税務課", userIDs(dept), []string{"k2", "k3"})
		none, err := st.Auth().ListUsers(t.Context(), "存在しない課")
		must(t, err)
		wantIDs(t, "unknown department", userIDs(none), nil)
	}},
	{"department staff: the accounts of one department, in id order, with name, roles and disabled", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k3", "税務課")
		addUser(t, st, "k1", "市民課")
		addUser(t, st, "k2", "税務課")
		_, err := st.Auth().UpdateUser(t.Context(), "k3", func(u *auth.UserRecord) error {
			u.Disabled, u.Roles = true, []api.Role{api.RoleStaff, api.RoleSupervisor}
			return nil
		})
		must(t, err)
		got, err := st.Auth().DepartmentStaff(t.Context(), "税務課")
		must(t, err)
		wantIDs(t, "税務課", userIDs(got), []string{"k2", "k3"})
		if len(got) == 2 && (!got[1].Disabled || got[0].Disabled || got[1].Department != "税務課" || got[1].Name == "" ||
			!slices.Equal(got[1].Roles, []api.Role{api.RoleStaff, api.RoleSupervisor})) {
			t.Errorf("department staff %+v", got)
		}
		none, err := st.Auth().DepartmentStaff(t.Context(), "存在しない課")
		must(t, err)
		wantIDs(t, "unknown department", userIDs(none), nil)
	}},
	{"attempts of an unknown id are the zero value", func(t *testing.T, st services.Stores) {
		a, err := st.Auth().GetAttempts(t.Context(), "nobody")
		must(t, err)
		same(t, "attempts", a, auth.Attempts{})
	}},
	{"put attempts stores and then overwrites", func(t *testing.T, st services.Stores) {
		first := auth.Attempts{StaffID: "k1024", Failures: 1, WindowStart: subMS}
		must(t, st.Auth().PutAttempts(t.Context(), first))
		got, err := st.Auth().GetAttempts(t.Context(), "k1024")
		must(t, err)
		same(t, "first", got, auth.Attempts{StaffID: "k1024", Failures: 1, WindowStart: trunc(subMS)})
		second := auth.Attempts{StaffID: "k1024", Failures: 0, WindowStart: at(1), LockedUntil: at(16)}
		must(t, st.Auth().PutAttempts(t.Context(), second))
		got, err = st.Auth().GetAttempts(t.Context(), "k1024")
		must(t, err)
		same(t, "second", got, second)
	}},
	{"delete attempts is idempotent", func(t *testing.T, st services.Stores) {
		must(t, st.Auth().PutAttempts(t.Context(), auth.Attempts{StaffID: "k1024", Failures: 3, WindowStart: at(0)}))
		must(t, st.Auth().DeleteAttempts(t.Context(), "k1024"))
		must(t, st.Auth().DeleteAttempts(t.Context(), "k1024"))
		must(t, st.Auth().DeleteAttempts(t.Context(), "never-failed"))
		got, err := st.Auth().GetAttempts(t.Context(), "k1024")
		must(t, err)
		same(t, "attempts after delete", got, auth.Attempts{})
	}},
	{"purge attempts keeps recent windows and running locks", func(t *testing.T, st services.Stores) {
		rows := []auth.Attempts{
			{StaffID: "old", Failures: 2, WindowStart: at(0)},
			{StaffID: "old-lock-over", Failures: 0, WindowStart: at(0), LockedUntil: at(30)},
			{StaffID: "old-lock-running", Failures: 0, WindowStart: at(0), LockedUntil: at(90)},
			{StaffID: "at-cutoff", Failures: 1, WindowStart: at(60)},
			{StaffID: "recent", Failures: 1, WindowStart: at(70)},
		}
		for _, a := range rows {
			must(t, st.Auth().PutAttempts(t.Context(), a))
		}
		n, err := st.Auth().PurgeAttempts(t.Context(), at(60))
		must(t, err)
		if n != 2 {
			t.Errorf("purged %d, want 2", n)
		}
		for _, a := range rows {
			got, err := st.Auth().GetAttempts(t.Context(), a.StaffID)
			must(t, err)
			kept := got.StaffID != ""
			if want := a.StaffID != "old" && a.StaffID != "old-lock-over"; kept != want {
				t.Errorf("%s: kept %v, want %v", a.StaffID, kept, want)
			}
		}
	}},
	{"otp counter only rises: a used or older counter is a conflict", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		must(t, st.Auth().UseOTPCounter(t.Context(), "k1024", 5))
		wantErr(t, "replayed counter", st.Auth().UseOTPCounter(t.Context(), "k1024", 5), auth.ErrConflict)
		wantErr(t, "older counter", st.Auth().UseOTPCounter(t.Context(), "k1024", 4), auth.ErrConflict)
		must(t, st.Auth().UseOTPCounter(t.Context(), "k1024", 6))
		u, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		if u.TOTPLastCounter != 6 {
			t.Errorf("last counter = %d, want 6", u.TOTPLastCounter)
		}
	}},
	{"an otp reset through update lowers the counter and clears the secret", func(t *testing.T, st services.Stores) {
		// IT resets a lost authenticator: the next enrolment counts from 0.
		u := newUser("k1024", "税務課")
		u.TOTPSecret, u.TOTPEnrolled = []byte("sealed"), true
		must(t, st.Auth().CreateUser(t.Context(), u))
		must(t, st.Auth().UseOTPCounter(t.Context(), "k1024", 10))
		_, err := st.Auth().UpdateUser(t.Context(), "k1024", func(r *auth.UserRecord) error {
			r.TOTPSecret, r.TOTPEnrolled, r.TOTPLastCounter = nil, false, 0
			return nil
		})
		must(t, err)
		got, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		if len(got.TOTPSecret) != 0 || got.TOTPEnrolled || got.TOTPLastCounter != 0 {
			t.Errorf("after the reset: secret %q, enrolled %v, counter %d; want none, false, 0", got.TOTPSecret, got.TOTPEnrolled, got.TOTPLastCounter)
		}
		must(t, st.Auth().UseOTPCounter(t.Context(), "k1024", 1))
	}},
	{"create device then get and find it by user and key", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addUser(t, st, "k2048", "税務課")
		d := newDevice("dev_1", "k1024", 1)
		d.Status, d.LastSeenAt = api.DevicePending, subMS
		addDevice(t, st, d)
		want := d
		want.LastSeenAt = trunc(subMS)
		got, err := st.Auth().GetDevice(t.Context(), "dev_1")
		must(t, err)
		same(t, "GetDevice", got, want)
		got, err = st.Auth().FindDevice(t.Context(), "k1024", key(1))
		must(t, err)
		same(t, "FindDevice", got, want)
		_, err = st.Auth().FindDevice(t.Context(), "k1024", key(2))
		wantErr(t, "FindDevice with another key", err, auth.ErrNotFound)
		_, err = st.Auth().FindDevice(t.Context(), "k2048", key(1))
		wantErr(t, "FindDevice of another user", err, auth.ErrNotFound)
	}},
	{"create device with a taken id or the same user and key is a conflict", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addDevice(t, st, newDevice("dev_1", "k1024", 1))
		wantErr(t, "same id", st.Auth().CreateDevice(t.Context(), newDevice("dev_1", "k1024", 2)), auth.ErrConflict)
		wantErr(t, "same user and key", st.Auth().CreateDevice(t.Context(), newDevice("dev_2", "k1024", 1)), auth.ErrConflict)
		ds, err := st.Auth().ListDevices(t.Context(), "k1024")
		must(t, err)
		wantIDs(t, "devices", deviceIDs(ds), []string{"dev_1"})
	}},
	{"the same key enrolled by two users is two devices", func(t *testing.T, st services.Stores) {
		// Two members of staff sharing a lent laptop share its key.
		addUser(t, st, "k1024", "税務課")
		addUser(t, st, "k2048", "税務課")
		addDevice(t, st, newDevice("dev_1", "k1024", 1))
		addDevice(t, st, newDevice("dev_2", "k2048", 1))
		d, err := st.Auth().FindDevice(t.Context(), "k2048", key(1))
		must(t, err)
		if d.ID != "dev_2" {
			t.Errorf("FindDevice(k2048) = %s, want dev_2", d.ID)
		}
	}},
	{"get unknown device is not found", func(t *testing.T, st services.Stores) {
		_, err := st.Auth().GetDevice(t.Context(), "dev_nope")
		wantErr(t, "GetDevice", err, auth.ErrNotFound)
	}},
	{"set device status: revoking stamps the time, reactivating clears it", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		d := addDevice(t, st, newDevice("dev_1", "k1024", 1))
		got, err := st.Auth().SetDeviceStatus(t.Context(), "dev_1", api.DeviceRevoked, subMS)
		must(t, err)
		want := d
		want.Status, want.RevokedAt = api.DeviceRevoked, trunc(subMS)
		same(t, "revoked (returned)", got, want)
		stored, err := st.Auth().GetDevice(t.Context(), "dev_1")
		must(t, err)
		same(t, "revoked (stored)", stored, want)
		got, err = st.Auth().SetDeviceStatus(t.Context(), "dev_1", api.DeviceActive, at(10))
		must(t, err)
		same(t, "reactivated", got, d)
		_, err = st.Auth().SetDeviceStatus(t.Context(), "dev_nope", api.DeviceRevoked, at(10))
		wantErr(t, "SetDeviceStatus of an unknown device", err, auth.ErrNotFound)
	}},
	{"touch device records when it was last seen, the last touch wins", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		d := addDevice(t, st, newDevice("dev_1", "k1024", 1))
		must(t, st.Auth().TouchDevice(t.Context(), "dev_1", at(5)))
		must(t, st.Auth().TouchDevice(t.Context(), "dev_1", at(7)))
		got, err := st.Auth().GetDevice(t.Context(), "dev_1")
		must(t, err)
		want := d
		want.LastSeenAt = at(7)
		same(t, "device", got, want)
	}},
	{"list devices of a user in enrolment order, or all by user", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1", "税務課")
		addUser(t, st, "k2", "税務課")
		for _, d := range []struct {
			id, user string
			min      int
		}{{"dev_a", "k2", 0}, {"dev_b", "k1", 2}, {"dev_c", "k1", 1}} {
			dev := newDevice(d.id, d.user, d.id[4])
			dev.CreatedAt = at(d.min)
			addDevice(t, st, dev)
		}
		ds, err := st.Auth().ListDevices(t.Context(), "k1")
		must(t, err)
		wantIDs(t, "devices of k1", deviceIDs(ds), []string{"dev_c", "dev_b"})
		ds, err = st.Auth().ListDevices(t.Context(), "")
		must(t, err)
		wantIDs(t, "all devices", deviceIDs(ds), []string{"dev_c", "dev_b", "dev_a"})
	}},
	{"create session then resolve it by access hash, refresh hash and with its user", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addDevice(t, st, newDevice("dev_1", "k1024", 1))
		s := newSession("ses_1", "k1024", "dev_1", 1)
		s.AccessExpires = subMS
		must(t, st.Auth().CreateSession(t.Context(), s))
		want := s
		want.AccessExpires = trunc(subMS)
		got, err := st.Auth().SessionByAccess(t.Context(), key(1))
		must(t, err)
		same(t, "SessionByAccess", got, want)
		got, err = st.Auth().SessionByRefresh(t.Context(), key(101))
		must(t, err)
		same(t, "SessionByRefresh", got, want)
		got, u, err := st.Auth().SessionUser(t.Context(), key(1))
		must(t, err)
		same(t, "SessionUser session", got, want)
		stored, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		same(t, "SessionUser user", u, stored)
	}},
	{"create session with a taken id fails and keeps the first", func(t *testing.T, st services.Stores) {
		s := withSession(t, st)
		dup := newSession(s.ID, s.UserID, s.DeviceID, 2)
		if err := st.Auth().CreateSession(t.Context(), dup); err == nil {
			t.Fatal("second CreateSession with the same id succeeded")
		}
		if _, err := st.Auth().SessionByAccess(t.Context(), key(2)); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("the duplicate's access hash: err = %v, want not found", err)
		}
		got, err := st.Auth().SessionByAccess(t.Context(), s.AccessHash)
		must(t, err)
		same(t, "first session", got, s)
	}},
	{"sessions without a refresh token coexist and no empty hash finds them", func(t *testing.T, st services.Stores) {
		// A setup-scoped login gets an access token only.
		addUser(t, st, "k1024", "税務課")
		addDevice(t, st, newDevice("dev_1", "k1024", 1))
		// Nil or empty, no refresh hash is a hash.
		for i, refresh := range [][]byte{nil, {}, {}} {
			id := fmt.Sprintf("ses_%d", i+1)
			s := auth.Session{ID: id, UserID: "k1024", DeviceID: "dev_1", Scope: auth.ScopeSetup, AccessHash: key(byte(i + 1)),
				AccessExpires: at(15), RefreshHash: refresh, CreatedAt: at(0)}
			must(t, st.Auth().CreateSession(t.Context(), s))
			got, err := st.Auth().SessionByAccess(t.Context(), key(byte(i+1)))
			must(t, err)
			same(t, id, got, s)
		}
		for _, h := range [][]byte{nil, {}} {
			_, err := st.Auth().SessionByRefresh(t.Context(), h)
			wantErr(t, "SessionByRefresh of an empty hash", err, auth.ErrNotFound)
		}
	}},
	{"unknown token hashes are not found", func(t *testing.T, st services.Stores) {
		withSession(t, st)
		_, err := st.Auth().SessionByAccess(t.Context(), key(9))
		wantErr(t, "SessionByAccess", err, auth.ErrNotFound)
		_, _, err = st.Auth().SessionUser(t.Context(), key(9))
		wantErr(t, "SessionUser", err, auth.ErrNotFound)
		_, err = st.Auth().SessionByRefresh(t.Context(), key(9))
		wantErr(t, "SessionByRefresh", err, auth.ErrNotFound)
	}},
	{"rotate session replaces both token hashes and expiries", func(t *testing.T, st services.Stores) {
		s := withSession(t, st)
		next := s
		next.AccessHash, next.AccessExpires = key(50), at(45)
		next.RefreshHash, next.RefreshExpires = key(150), subMS.Add(40*24*time.Hour)
		must(t, st.Auth().RotateSession(t.Context(), s.ID, s.RefreshHash, next))
		_, err := st.Auth().SessionByAccess(t.Context(), s.AccessHash)
		wantErr(t, "old access hash", err, auth.ErrNotFound)
		_, err = st.Auth().SessionByRefresh(t.Context(), s.RefreshHash)
		wantErr(t, "old refresh hash", err, auth.ErrNotFound)
		want := next
		want.RefreshExpires = trunc(next.RefreshExpires)
		got, err := st.Auth().SessionByAccess(t.Context(), key(50))
		must(t, err)
		same(t, "rotated", got, want)
	}},
	{"rotate session with a stale refresh hash fails and changes nothing", func(t *testing.T, st services.Stores) {
		// Two refreshes racing with the same token: only one may win.
		s := withSession(t, st)
		first, second := s, s
		first.AccessHash, first.RefreshHash = key(50), key(150)
		second.AccessHash, second.RefreshHash = key(60), key(160)
		must(t, st.Auth().RotateSession(t.Context(), s.ID, s.RefreshHash, first))
		wantErr(t, "second rotation", st.Auth().RotateSession(t.Context(), s.ID, s.RefreshHash, second), auth.ErrNotFound)
		_, err := st.Auth().SessionByAccess(t.Context(), key(60))
		wantErr(t, "the loser's access hash", err, auth.ErrNotFound)
		got, err := st.Auth().SessionByRefresh(t.Context(), key(150))
		must(t, err)
		same(t, "session", got, first)
	}},
	{"a rotated refresh hash still finds its session, the current one too", func(t *testing.T, st services.Stores) {
		// Presenting a rotated token again is how theft shows: the domain
		// ends the session it finds.
		s := withSession(t, st)
		next := s
		next.AccessHash, next.RefreshHash = key(50), key(150)
		must(t, st.Auth().RotateSession(t.Context(), s.ID, s.RefreshHash, next))
		third := next
		third.AccessHash, third.RefreshHash = key(51), key(151)
		must(t, st.Auth().RotateSession(t.Context(), s.ID, next.RefreshHash, third))
		for _, h := range [][]byte{s.RefreshHash, next.RefreshHash} {
			got, err := st.Auth().SessionByRotatedRefresh(t.Context(), h)
			must(t, err)
			if got.ID != s.ID {
				t.Errorf("rotated hash found session %q, want %q", got.ID, s.ID)
			}
		}
		_, err := st.Auth().SessionByRotatedRefresh(t.Context(), third.RefreshHash)
		wantErr(t, "the current hash as a rotated one", err, auth.ErrNotFound)
		_, err = st.Auth().SessionByRotatedRefresh(t.Context(), key(199))
		wantErr(t, "an unknown hash", err, auth.ErrNotFound)
	}},
	{"rotate a revoked session fails", func(t *testing.T, st services.Stores) {
		s := withSession(t, st)
		must(t, st.Auth().RevokeSession(t.Context(), s.ID, at(1)))
		next := s
		next.AccessHash, next.RefreshHash = key(50), key(150)
		wantErr(t, "RotateSession", st.Auth().RotateSession(t.Context(), s.ID, s.RefreshHash, next), auth.ErrNotFound)
		got, err := st.Auth().SessionByRefresh(t.Context(), s.RefreshHash)
		must(t, err)
		want := s
		want.RevokedAt = at(1)
		same(t, "session", got, want)
	}},
	{"revoke session is idempotent and keeps the first time", func(t *testing.T, st services.Stores) {
		s := withSession(t, st)
		must(t, st.Auth().RevokeSession(t.Context(), s.ID, subMS))
		must(t, st.Auth().RevokeSession(t.Context(), s.ID, at(2)))
		got, err := st.Auth().SessionByAccess(t.Context(), s.AccessHash)
		must(t, err)
		want := s
		want.RevokedAt = trunc(subMS)
		same(t, "session", got, want)
	}},
	{"revoke sessions of a device or a user counts only the live ones", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1", "税務課")
		addUser(t, st, "k2", "税務課")
		addDevice(t, st, newDevice("dev_1", "k1", 1))
		addDevice(t, st, newDevice("dev_2", "k1", 2))
		addDevice(t, st, newDevice("dev_3", "k2", 3))
		ss := []auth.Session{
			newSession("s1", "k1", "dev_1", 1), newSession("s2", "k1", "dev_1", 2),
			newSession("s3", "k1", "dev_2", 3), newSession("s4", "k2", "dev_3", 4),
		}
		for _, s := range ss {
			must(t, st.Auth().CreateSession(t.Context(), s))
		}
		must(t, st.Auth().RevokeSession(t.Context(), "s2", at(1)))
		for _, c := range []struct {
			user, device string
			at, want     int
		}{{"", "dev_1", 5, 1}, {"k1", "", 6, 1}, {"k1", "", 7, 0}} {
			n, err := st.Auth().RevokeSessions(t.Context(), c.user, c.device, at(c.at))
			must(t, err)
			if n != int64(c.want) {
				t.Errorf("RevokeSessions(%q, %q) = %d, want %d", c.user, c.device, n, c.want)
			}
		}
		for i, want := range []time.Time{at(5), at(1), at(6), {}} {
			got, err := st.Auth().SessionByAccess(t.Context(), ss[i].AccessHash)
			must(t, err)
			same(t, ss[i].ID+".RevokedAt", got.RevokedAt, want)
		}
	}},
	{"purge sessions deletes revoked and wholly expired ones", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		addDevice(t, st, newDevice("dev_1", "k1024", 1))
		type c struct {
			s    auth.Session
			kept bool
		}
		mk := func(id string, n byte, access, refresh, revoked int) auth.Session {
			s := newSession(id, "k1024", "dev_1", n)
			s.AccessExpires, s.RefreshExpires = at(access), at(refresh)
			if refresh < 0 {
				s.RefreshHash, s.RefreshExpires = nil, time.Time{}
			}
			if revoked > 0 {
				s.RevokedAt = at(revoked)
			}
			return s
		}
		cases := []c{
			{mk("live", 1, 200, 300, 0), true},
			{mk("revoked-long-ago", 2, 200, 300, 50), false},
			{mk("revoked-lately", 3, 200, 300, 150), true},
			{mk("all-expired", 4, 50, 60, 0), false},
			{mk("refreshable", 5, 50, 300, 0), true},
			{mk("setup-expired", 6, 50, -1, 0), false},
		}
		for _, c := range cases {
			must(t, st.Auth().CreateSession(t.Context(), c.s))
		}
		n, err := st.Auth().PurgeSessions(t.Context(), at(100))
		must(t, err)
		if n != 3 {
			t.Errorf("purged %d, want 3", n)
		}
		for _, c := range cases {
			_, err := st.Auth().SessionByAccess(t.Context(), c.s.AccessHash)
			if kept := err == nil; kept != c.kept {
				t.Errorf("%s: kept %v (err %v), want %v", c.s.ID, kept, err, c.kept)
			}
		}
	}},
	{"settings: unknown is not found, put overwrites", func(t *testing.T, st services.Stores) {
		_, err := st.Auth().GetSetting(t.Context(), "policy")
		wantErr(t, "GetSetting", err, auth.ErrNotFound)
		must(t, st.Auth().PutSetting(t.Context(), "policy", `{"min_length":12}`, at(0)))
		must(t, st.Auth().PutSetting(t.Context(), "policy", `{"min_length":14,"note":"課長承認"}`, at(1)))
		v, err := st.Auth().GetSetting(t.Context(), "policy")
		must(t, err)
		if v != `{"min_length":14,"note":"課長承認"}` {
			t.Errorf("policy = %q, want the second value", v)
		}
	}},
	{"zero times stay zero", func(t *testing.T, st services.Stores) {
		u := newUser("k1024", "税務課")
		u.CreatedAt, u.UpdatedAt = time.Time{}, time.Time{}
		must(t, st.Auth().CreateUser(t.Context(), u))
		d := addDevice(t, st, newDevice("dev_1", "k1024", 1)) // never seen, never revoked
		s := newSession("ses_1", "k1024", "dev_1", 1)         // never revoked
		must(t, st.Auth().CreateSession(t.Context(), s))
		must(t, st.Auth().PutAttempts(t.Context(), auth.Attempts{StaffID: "k1024", Failures: 1, WindowStart: at(0)}))
		gu, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		same(t, "user", gu, u)
		gd, err := st.Auth().GetDevice(t.Context(), "dev_1")
		must(t, err)
		same(t, "device", gd, d)
		gs, err := st.Auth().SessionByAccess(t.Context(), s.AccessHash)
		must(t, err)
		same(t, "session", gs, s)
		ga, err := st.Auth().GetAttempts(t.Context(), "k1024")
		must(t, err)
		same(t, "attempts.LockedUntil", ga.LockedUntil, time.Time{})
	}},
	{"times from JST come back as the same instant in UTC, to the millisecond", func(t *testing.T, st services.Stores) {
		u := newUser("k1024", "税務課")
		u.CreatedAt = subMS
		must(t, st.Auth().CreateUser(t.Context(), u))
		d := newDevice("dev_1", "k1024", 1)
		d.CreatedAt = subMS
		addDevice(t, st, d)
		s := newSession("ses_1", "k1024", "dev_1", 1)
		s.CreatedAt, s.AccessExpires, s.RefreshExpires = subMS, subMS.Add(time.Hour), subMS.Add(24*time.Hour)
		must(t, st.Auth().CreateSession(t.Context(), s))
		must(t, st.Auth().PutAttempts(t.Context(), auth.Attempts{StaffID: "k1024", Failures: 1, WindowStart: subMS, LockedUntil: subMS}))

		gu, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		gd, err := st.Auth().GetDevice(t.Context(), "dev_1")
		must(t, err)
		gs, err := st.Auth().SessionByAccess(t.Context(), s.AccessHash)
		must(t, err)
		ga, err := st.Auth().GetAttempts(t.Context(), "k1024")
		must(t, err)
		for _, c := range []struct {
			what      string
			got, want time.Time
		}{
			{"user.CreatedAt", gu.CreatedAt, subMS},
			{"device.CreatedAt", gd.CreatedAt, subMS},
			{"session.CreatedAt", gs.CreatedAt, subMS},
			{"session.AccessExpires", gs.AccessExpires, subMS.Add(time.Hour)},
			{"session.RefreshExpires", gs.RefreshExpires, subMS.Add(24 * time.Hour)},
			{"attempts.WindowStart", ga.WindowStart, subMS},
			{"attempts.LockedUntil", ga.LockedUntil, subMS},
		} {
			same(t, c.what, c.got, trunc(c.want))
			if c.got.After(c.want) {
				t.Errorf("%s = %v is later than the %v stored", c.what, c.got, c.want)
			}
		}
	}},
	{"racing rotations of one refresh token: exactly one wins", func(t *testing.T, st services.Stores) {
		s := withSession(t, st)
		errs := concurrently(8, func(i int) error {
			next := s
			next.AccessHash, next.RefreshHash = key(byte(20+i)), key(byte(40+i))
			return st.Auth().RotateSession(t.Context(), s.ID, s.RefreshHash, next)
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("rotations %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, auth.ErrNotFound):
				t.Errorf("rotation %d: err = %v, want %v", i, err, auth.ErrNotFound)
			}
		}
		if winner < 0 {
			t.Fatal("no rotation won")
		}
		got, err := st.Auth().SessionByRefresh(t.Context(), key(byte(40+winner)))
		must(t, err)
		same(t, "access hash", got.AccessHash, key(byte(20+winner)))
	}},
	{"racing uses of one otp counter: exactly one wins", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		wins := 0
		for i, err := range concurrently(8, func(int) error { return st.Auth().UseOTPCounter(t.Context(), "k1024", 7) }) {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, auth.ErrConflict):
				t.Errorf("use %d: err = %v, want %v", i, err, auth.ErrConflict)
			}
		}
		if wins != 1 {
			t.Errorf("%d uses of the same code were accepted, want 1", wins)
		}
	}},
	{"concurrent updates of a user lose none", func(t *testing.T, st services.Stores) {
		addUser(t, st, "k1024", "税務課")
		const writers, rounds = 8, 4
		for i, err := range concurrently(writers, func(int) error {
			for range rounds {
				if _, err := st.Auth().UpdateUser(t.Context(), "k1024", func(u *auth.UserRecord) error { u.TOTPLastCounter++; return nil }); err != nil {
					return err
				}
			}
			return nil
		}) {
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		u, err := st.Auth().GetUser(t.Context(), "k1024")
		must(t, err)
		if u.TOTPLastCounter != writers*rounds {
			t.Errorf("counter = %d after %d increments: updates were lost", u.TOTPLastCounter, writers*rounds)
		}
	}},
}
