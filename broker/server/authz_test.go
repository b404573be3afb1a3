package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestAuthzEveryRoute is generated from the route table: every route is
// called as anonymous, with an expired token, as staff and as admin, and
// the route table's role decides what must happen. It writes the matrix to
// $ARTIFACTS_DIR/authz-matrix.txt.
func TestAuthzEveryRoute(t *testing.T) {
	b := brokertest.Start(t)
	staff := b.CreateUser(t, "authz-staff", api.RoleStaff)
	admin := b.CreateUser(t, "authz-admin", api.RoleAdmin)
	routes := b.Server.Routes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes", len(routes))
	}
	hc := b.Client(t).HTTPClient()
	param := regexp.MustCompile(`\{[^}]+\}`)

	type caller struct {
		name  string
		token func() string
	}
	fresh := func(u brokertest.User) func() string {
		// A new session per call: a route may revoke its caller (logout).
		return func() string { return b.Login(t, u).Token() }
	}
	callers := []caller{
		{"anonymous", func() string { return "" }},
		{"expired", func() string {
			tok := b.Login(t, staff).Token()
			b.Clock.Advance(auth.AccessTTL + time.Minute)
			return tok
		}},
		{"staff", fresh(staff)},
		{"admin", fresh(admin)},
	}
	var matrix bytes.Buffer
	tw := tabwriter.NewWriter(&matrix, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tROLE\tanonymous\texpired\tstaff\tadmin")
	for _, rt := range routes {
		path := param.ReplaceAllString(rt.Path, "x-unknown")
		row := []string{rt.Method, rt.Path, roleLabel(rt.Role)}
		for _, who := range callers {
			status, denied := call(t, hc, b.URL, rt.Method, path, who.token())
			row = append(row, fmt.Sprint(status))
			allowed := allowedFor(rt.Role, who.name)
			name := fmt.Sprintf("%s %s as %s", rt.Method, rt.Path, who.name)
			switch {
			case status >= 500:
				t.Errorf("%s: status %d", name, status)
			case rt.Role == "":
				// Anonymous routes: any answer but a server error.
			case allowed && denied:
				t.Errorf("%s: refused by the route table (%d), but the role allows it", name, status)
			case !allowed && !denied:
				t.Errorf("%s: status %d, want a refusal by the route table", name, status)
			case !allowed && (who.name == "anonymous" || who.name == "expired") && status != http.StatusUnauthorized:
				t.Errorf("%s: status %d, want 401", name, status)
			case !allowed && (who.name == "staff" || who.name == "admin") && status != http.StatusForbidden:
				t.Errorf("%s: status %d, want 403", name, status)
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	out := filepath.Join(brokertest.ArtifactsDir(t), "authz-matrix.txt")
	if err := os.WriteFile(out, matrix.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("authorization matrix (%d routes) in %s", len(routes), out)
}

func roleLabel(r string) string {
	if r == "" {
		return "anonymous"
	}
	return r
}

// allowedFor: the test's staff holds only "staff"; its admin only "admin".
func allowedFor(role, who string) bool {
	switch role {
	case "":
		return true
	case string(auth.Pending):
		return who == "staff" || who == "admin"
	case string(api.RoleStaff):
		return who == "staff"
	case string(api.RoleAdmin):
		return who == "admin"
	}
	return false // supervisor routes: neither test user is a supervisor
}

func call(t *testing.T, hc *http.Client, base, method, path, token string) (int, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var body io.Reader
	if method == "POST" || method == "PATCH" || method == "PUT" {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header.Get("X-Zaitaku-Authz") == "denied"
}
