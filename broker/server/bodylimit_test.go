package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// bodyMargin is what a route may read past its limit: the reader that
// notices the limit has to read one byte more, and bufio may ask for a
// buffer's worth.
const bodyMargin = 8 << 10

// countingBody yields n bytes of a JSON-looking body and counts what the
// server took of it.
type countingBody struct {
	left int64
	read atomic.Int64
	done bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > b.left {
		n = b.left
	}
	for i := range p[:n] {
		p[i] = 'a'
	}
	if !b.done && n > 0 {
		p[0] = '"' // a string that never ends: a handler must read on
		b.done = true
	}
	b.left -= n
	b.read.Add(n)
	return int(n), nil
}

func (b *countingBody) Close() error { return nil }

// TestBodyLimitEveryRoute is generated from the route table: every route
// that can carry a body is called by its own role with a body one byte
// over its limit (routes that take no body: a token limit), once with the
// length declared and once chunked (length unknown). Each answers 413 and
// reads no more than the limit and a small margin, whatever the role.
func TestBodyLimitEveryRoute(t *testing.T) {
	b := brokertest.Start(t)
	users := map[string]brokertest.User{
		string(api.RoleStaff):      b.CreateUser(t, "body-staff", api.RoleStaff),
		string(api.RoleAdmin):      b.CreateUser(t, "body-admin", api.RoleAdmin),
		string(api.RoleSupervisor): b.CreateUser(t, "body-super", api.RoleStaff, api.RoleSupervisor),
	}
	ctx := context.Background()
	// A setup-stage token: a temporary password, no one-time code yet.
	tmp, err := b.Services.Auth.CreateUser(ctx, "test", api.CreateUserRequest{ID: "body-setup", Name: "setup", Department: "総務課",
		Roles: []api.Role{api.RoleStaff}})
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	h := b.Server.Handler()
	tested := 0
	for _, rt := range b.Server.Routes() {
		if rt.Stream || rt.Method == "GET" {
			continue
		}
		tested++
		for _, chunked := range []bool{false, true} {
			name := rt.Method + " " + rt.Path
			if chunked {
				name += " chunked"
			}
			t.Run(name, func(t *testing.T) {
				token := ""
				switch rt.Role {
				case "":
				case "pending":
					resp, err := b.Client(t).Login(ctx, api.LoginRequest{StaffID: "body-setup", Password: tmp.TemporaryPassword,
						Device: api.DeviceInfo{Name: "t", OS: "linux", PublicKey: make([]byte, 32)}})
					if err != nil || resp.Stage == api.StageOK {
						t.Fatalf("setup token: %v %+v", err, resp)
					}
					token = resp.AccessToken
				default:
					u, ok := users[rt.Role]
					if !ok {
						t.Fatalf("no test user for role %q", rt.Role)
					}
					token = b.Login(t, u).Token()
				}
				body := &countingBody{left: rt.MaxBody + 1}
				if chunked {
					// Far more than the limit: the route must stop reading.
					body.left = rt.MaxBody + 4<<20
				}
				req := httptest.NewRequest(rt.Method, param.ReplaceAllString(rt.Path, "x1"), body)
				req.ContentLength = rt.MaxBody + 1
				if chunked {
					req.ContentLength = -1
				}
				req.Header.Set("Content-Type", "application/json")
				// From where brokertest's console answers, so that its
				// sign-in reaches the body limit rather than the address check.
				req.RemoteAddr = "127.0.0.1:40000"
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if got := body.read.Load(); got > rt.MaxBody+bodyMargin {
					t.Errorf("read %d bytes of the body; the limit is %d", got, rt.MaxBody)
				}
				// A route that takes no body and does not read one may
				// answer what it answers; it must still read no more
				// than the margin.
				if (rt.HasBody || !chunked) && rec.Code != http.StatusRequestEntityTooLarge {
					t.Errorf("status %d (%s), want 413", rec.Code, strings.TrimSpace(rec.Body.String()))
				}
				if rec.Body.Len() > 2<<10 {
					t.Errorf("a %d-byte error reply", rec.Body.Len())
				}
			})
		}
	}
	if tested < 10 {
		t.Fatalf("only %d routes with a body", tested)
	}
}
