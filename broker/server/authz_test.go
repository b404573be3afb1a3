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
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/server"
)

// TestAuthzEveryRoute is generated from the route table: every route is
// called as anonymous, with an expired token, and as each role (staff,
// supervisor, auditor, another department's IT contact, admin), each
// caller holding that one role, and the route table's roles decide what
// must happen. It also holds every admin route to the role model
// (wantAlso): auditors read every admin route and change nothing, and a
// department's IT contact reaches the routes whose domain limits them to
// their department. It writes the matrix to $ARTIFACTS_DIR/authz-matrix.txt.
func TestAuthzEveryRoute(t *testing.T) {
	b := brokertest.Start(t)
	staff := b.CreateUser(t, "authz-staff", api.RoleStaff)
	supervisor := b.CreateUser(t, "authz-supervisor", api.RoleSupervisor)
	auditor := b.CreateUser(t, "authz-auditor", api.RoleAuditor)
	deptAdmin := b.CreateUser(t, "authz-dept-admin", api.RoleDeptAdmin)
	admin := b.CreateUser(t, "authz-admin", api.RoleAdmin)
	// The test's other users are in 総務課: this one administers another.
	other := "税務課"
	if _, err := b.Services.Auth.UpdateUser(context.Background(), "test", deptAdmin.ID, api.UpdateUserRequest{Department: &other}); err != nil {
		t.Fatal(err)
	}
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
		{"supervisor", fresh(supervisor)},
		{"auditor", fresh(auditor)},
		{"other-dept-admin", fresh(deptAdmin)},
		{"admin", fresh(admin)},
	}
	var matrix bytes.Buffer
	fmt.Fprintf(&matrix, "# Each caller holds one role. other-dept-admin: %s of %s, the targets' department being 総務課.\n", api.RoleDeptAdmin, other)
	fmt.Fprintln(&matrix, "# Path parameters are IDs that do not exist (x-unknown): 404 is the handler's answer, 401/403 the route table's.")
	tw := tabwriter.NewWriter(&matrix, 2, 4, 2, ' ', 0)
	head := []string{"METHOD", "PATH", "ROLES"}
	for _, who := range callers {
		head = append(head, who.name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, rt := range routes {
		if want := wantAlso(rt); !slices.Equal(rt.Also, want) {
			t.Errorf("%s %s admits %v besides %s, want %v: auditors are admitted on every admin GET and on nothing else; "+
				"department IT (%s) on the admin routes under %v, whose domain checks the target's department",
				rt.Method, rt.Path, rt.Also, roleLabel(rt.Role), want, api.RoleDeptAdmin, deptScoped)
		}
		path := param.ReplaceAllString(rt.Path, "x-unknown")
		row := []string{rt.Method, rt.Path, strings.Join(append([]string{roleLabel(rt.Role)}, rt.Also...), "+")}
		for _, who := range callers {
			status, denied := call(t, hc, b.URL, rt.Method, path, who.token())
			row = append(row, fmt.Sprint(status))
			allowed := allowedFor(rt, who.name)
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
			case !allowed && who.name != "anonymous" && who.name != "expired" && status != http.StatusForbidden:
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
	t.Logf("authorization matrix (%d routes × %d callers) in %s", len(routes), len(callers), out)
}

// deptScoped are the admin paths whose domain limits a department's IT
// contact to their own department's staff and PCs.
var deptScoped = []string{"/admin/v1/users", "/admin/v1/devices", "/admin/v1/terminals", "/admin/v1/sessions", "/admin/v1/roster"}

// wantAlso is the role model, stated apart from the table so that a
// route declared with the wrong roles fails: besides admin, an admin GET
// admits auditors, and the department-scoped paths admit department IT.
func wantAlso(rt server.RouteInfo) []string {
	if rt.Role != string(api.RoleAdmin) {
		return nil
	}
	var want []string
	if rt.Method == http.MethodGet {
		want = append(want, string(api.RoleAuditor))
	}
	for _, p := range deptScoped {
		if rt.Path == p || strings.HasPrefix(rt.Path, p+"/") {
			want = append(want, string(api.RoleDeptAdmin))
			break
		}
	}
	return want
}

func roleLabel(r string) string {
	if r == "" {
		return "anonymous"
	}
	return r
}

// allowedFor: each test caller holds exactly the role it is named after.
func allowedFor(rt server.RouteInfo, who string) bool {
	role := map[string]string{"staff": "staff", "supervisor": "supervisor", "auditor": "auditor",
		"other-dept-admin": "dept_admin", "admin": "admin"}[who]
	switch rt.Role {
	case "":
		return true
	case string(auth.Pending):
		return role != ""
	}
	return role != "" && (role == rt.Role || slices.Contains(rt.Also, role))
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
