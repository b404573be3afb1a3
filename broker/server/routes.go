package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// route is one line of the table: what the broker serves and who may call it.
type route struct {
	method, path string    // "POST", "/v1/login"; path uses net/http patterns ({id})
	role         auth.Role // auth.Anonymous, auth.Pending, api.RoleStaff, ...
	// also lists the roles that may call an admin route besides role:
	// api.RoleAuditor on reads (readers, readersAndDept), api.RoleDeptAdmin
	// where the domain limits the caller to their own department
	// (deptAdmins, readersAndDept). Empty: role alone.
	also    []auth.Role
	handle  handlerFunc
	in, out any    // request/response types; the OpenAPI schema comes from them
	summary string // one line for the OpenAPI document
	// maxBody bounds the request body (default defaultMaxBody when in is
	// set, noBodyLimit when not).
	maxBody int64
	// stream marks handlers that take over the connection (upgrades,
	// sockets, long downloads): no write deadline, body not pre-read.
	stream bool
	// query documents query parameters: name → description.
	query map[string]string
	// queryToken lets a browser's WebSocket carry its token in the query
	// (access_token); no other route accepts a token in the URL.
	queryToken bool
}

const defaultMaxBody = 64 << 10

// noBodyLimit bounds the body of a route that takes none: enough for a
// client that sends "{}" or "null" anyway, and no more.
const noBodyLimit = 1 << 10

// bodyLimit is the most a route reads of a request body: its maxBody, the
// default for routes that take one, a token for routes that take none.
func (r *route) bodyLimit() int64 {
	switch {
	case r.maxBody > 0:
		return r.maxBody
	case r.in == nil && !r.stream:
		return noBodyLimit
	}
	return defaultMaxBody
}

// The role sets admin routes admit besides api.RoleAdmin. Auditors read
// and never change, so they are admitted on GET only (buildMux refuses
// anything else); a department's IT contact is admitted where the domain
// checks the target's department (users, devices, office PCs, sessions,
// roster).
var (
	readers        = []auth.Role{api.RoleAuditor}
	deptAdmins     = []auth.Role{api.RoleDeptAdmin}
	readersAndDept = []auth.Role{api.RoleAuditor, api.RoleDeptAdmin}
)

// admits reports whether p may call r, and whether only within their own
// department: a role that admits without a limit wins over one with.
func (r *route) admits(p *auth.Principal) (ok, limited bool) {
	if p.Can(r.role) {
		return true, false
	}
	for _, a := range r.also {
		if !p.Can(a) {
			continue
		}
		if a != api.RoleDeptAdmin {
			return true, false
		}
		// A department IT contact without a department manages nothing.
		ok, limited = p.User.Department != "", true
	}
	return ok, limited
}

// routeTable is THE route table. Each domain contributes its lines from
// its own file; the order here is the order in the OpenAPI document.
func (s *Server) routeTable() []route {
	var rs []route
	for _, part := range [][]route{
		s.systemRoutes(),
		s.authRoutes(),
		s.adminAuthRoutes(),
		s.oplogRoutes(),
		s.relayRoutes(),
		s.eventsRoutes(),
		s.slotRoutes(),
		s.bcpRoutes(),
		s.terminalRoutes(),
		s.segmentRoutes(),
		s.releaseRoutes(),
		s.chatRoutes(),
		s.rosterRoutes(),
		s.teleworkRoutes(),
		s.meetRoutes(),
		s.officeRoutes(),
		s.reportRoutes(),
		s.consoleRoutes(),
	} {
		rs = append(rs, part...)
	}
	return rs
}

// Routes lists method, path and role of every route (for tests and docs).
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, r := range s.routes {
		out[i] = RouteInfo{Method: r.method, Path: r.path, Role: string(r.role), Stream: r.stream, MaxBody: r.bodyLimit(), HasBody: r.in != nil}
		for _, a := range r.also {
			out[i].Also = append(out[i].Also, string(a))
		}
	}
	return out
}

// RouteInfo describes a route to tests.
type RouteInfo struct {
	Method, Path, Role string
	Stream             bool
	MaxBody            int64    // the body limit in force
	HasBody            bool     // the route takes a request body
	Also               []string // further roles admitted (auditor, dept_admin)
}

func (s *Server) buildMux() (http.Handler, error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, r := range s.routes {
		key := r.method + " " + r.path
		if seen[key] {
			return nil, fmt.Errorf("route %s listed twice", key)
		}
		seen[key] = true
		if !strings.HasPrefix(r.path, "/") {
			return nil, fmt.Errorf("route %s: path must start with /", key)
		}
		if slices.Contains(r.also, api.RoleAuditor) && r.method != http.MethodGet {
			return nil, fmt.Errorf("route %s: auditors read and change nothing; admit them on GET routes only", key)
		}
		mux.Handle(key, s.wrap(r))
	}
	// Unknown paths and methods answer in the API's error format.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.notFound(w, req)
	}))
	return s.outer(mux), nil
}
