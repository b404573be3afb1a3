package telework_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/broker/slots"
)

var jst = time.FixedZone("JST", 9*3600)

// wed0900 is a Wednesday, 09:00 in Japan: a working day.
var wed0900 = time.Date(2026, 6, 3, 9, 0, 0, 0, jst)

// env is a broker on a movable clock with IT signed in and an office PC
// that answers on its RDP port.
type env struct {
	b    *brokertest.Broker
	it   *brokertest.Session
	port int
	ctx  context.Context
}

func start(t *testing.T, at time.Time) *env {
	t.Helper()
	b := brokertest.Start(t, brokertest.WithClock(brokertest.NewClock(at)))
	e := &env{b: b, port: officePC(t), ctx: context.Background()}
	e.it = b.Signin(t, "it-admin", api.RoleAdmin)
	return e
}

// officePC listens like an awake office PC's RDP port.
func officePC(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// staff creates a member of staff in dept with their own office PC.
func (e *env) staff(t *testing.T, id, dept string, roles ...api.Role) brokertest.User {
	t.Helper()
	if len(roles) == 0 {
		roles = []api.Role{api.RoleStaff}
	}
	u := e.b.CreateUser(t, id, roles...)
	if _, err := e.b.Services.Auth.UpdateUser(e.ctx, "test", id, api.UpdateUserRequest{Department: &dept}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.it.CreateTerminal(e.ctx, api.CreateTerminalRequest{ID: "pc-" + id, Name: id + "のPC", Address: "127.0.0.1",
		RDPPort: e.port, MAC: "02:00:00:00:00:01", WakeAddr: "127.0.0.1", UserID: id}); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) login(t *testing.T, id, dept string, roles ...api.Role) *brokertest.Session {
	t.Helper()
	return e.b.Login(t, e.staff(t, id, dept, roles...))
}

func (e *env) policy(t *testing.T, p api.TeleworkPolicy) {
	t.Helper()
	if _, err := e.it.SetTeleworkPolicy(e.ctx, p); err != nil {
		t.Fatalf("policy %s: %v", p.Department, err)
	}
}

func (e *env) user(t *testing.T, id string) api.User {
	t.Helper()
	u, err := e.b.Services.Auth.GetUser(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return *u
}

func code(err error) api.Code {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func wantCode(t *testing.T, what string, err error, want api.Code) *api.Error {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) || e.Code != want {
		t.Fatalf("%s: err = %v, want %s", what, err, want)
	}
	return e
}

func date(t time.Time) string { return t.In(jst).Format("2006-01-02") }

// notices are the chat system messages a user received, oldest first.
func (e *env) notices(t *testing.T, id string) []string {
	t.Helper()
	u := e.user(t, id)
	cs, err := e.b.Services.Chat.Channels(e.ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs.Channels {
		if c.Kind != api.ChatDirect || c.Name == "" {
			continue
		}
		h, err := e.b.Services.Chat.History(e.ctx, u, c.ID, 0, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range h.Messages {
			if m.Sender == chat.SystemSender {
				out = append(out, m.Text)
			}
		}
	}
	return out
}

// events are a user's stored events of one type.
func (e *env) events(t *testing.T, id, typ string) []api.Event {
	t.Helper()
	if err := e.b.Services.Events.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := e.b.Services.Events.Backlog(e.ctx, id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []api.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func decode[T any](t *testing.T, ev api.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.Data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// holder is a user's slot holder for calls that go past HTTP (the
// clock moves further than an access token lives).
func (e *env) holder(t *testing.T, slotID string) slots.Holder {
	t.Helper()
	h, ok := e.b.Services.Slots.HolderOf(slotID)
	if !ok {
		t.Fatalf("slot %s is not live", slotID)
	}
	return h
}

// acquire takes a slot for a user past HTTP and returns its ID.
func (e *env) acquire(t *testing.T, id string) string {
	t.Helper()
	h := slots.Holder{UserID: id, SessionID: "sess-" + id, DeviceID: "dev-" + id}
	sl, err := e.b.Services.Slots.Acquire(e.ctx, h, "laptop")
	if err != nil || sl.State != api.SlotGranted {
		t.Fatalf("acquire %s: %+v, %v", id, sl, err)
	}
	return sl.ID
}

// slotOf is the ID of a user's slot ("" when none).
func (e *env) slotOf(t *testing.T, id string) string {
	sl, err := e.b.Services.Slots.Mine(id)
	if err != nil {
		return ""
	}
	return sl.ID
}

func anyContains(ss []string, sub ...string) bool {
	for _, s := range ss {
		ok := true
		for _, x := range sub {
			ok = ok && strings.Contains(s, x)
		}
		if ok {
			return true
		}
	}
	return false
}

// raw calls a route with a token and returns the status, the body and
// whether the route table refused it.
func raw(t *testing.T, e *env, method, path, token, body string) (int, []byte, bool) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.b.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.b.Client(t).HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("X-Zaitaku-Authz") == "denied"
}
