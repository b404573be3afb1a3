package server

import (
	"github.com/zaitaku/zaitaku/broker/api"
)

// rosterMaxBody admits a roster of some 40,000 lines (base64 in JSON).
const rosterMaxBody = 16 << 20

// rosterRoutes load the personnel roster. A dry run changes nothing but
// is a step of a change, so it is IT's and a department's IT contact's,
// not an auditor's; the record of imports is readable by auditors.
func (s *Server) rosterRoutes() []route {
	A := api.RoleAdmin
	return []route{
		{method: "POST", path: "/admin/v1/roster/dry-run", role: A, also: deptAdmins, handle: s.rosterDryRun,
			in: api.RosterImportRequest{}, out: api.RosterReport{}, maxBody: rosterMaxBody,
			summary: "What a roster CSV (UTF-8 or Shift_JIS) would change, line by line (added, moved, changed, unchanged, disabled), with every problem by line and column; changes nothing."},
		{method: "POST", path: "/admin/v1/roster/imports", role: A, also: deptAdmins, handle: s.rosterImport,
			in: api.RosterImportRequest{}, out: api.RosterImport{}, maxBody: rosterMaxBody,
			summary: "Load a roster: applied in one transaction now, or pending until its effective date (JST); a roster with any problem changes nothing."},
		{method: "GET", path: "/admin/v1/roster/imports", role: A, also: readersAndDept, handle: s.rosterImports, out: api.RosterImportList{},
			summary: "Roster imports, newest first: pending, applied, cancelled and failed."},
		{method: "GET", path: "/admin/v1/roster/imports/{id}", role: A, also: readersAndDept, handle: s.rosterGet, out: api.RosterImport{},
			summary: "One roster import with its line-by-line report."},
		{method: "DELETE", path: "/admin/v1/roster/imports/{id}", role: A, also: deptAdmins, handle: s.rosterCancel, out: api.RosterImport{},
			summary: "Cancel a pending roster import before its effective date."},
	}
}

func (s *Server) rosterDryRun(c *call) (any, error) {
	var req api.RosterImportRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.roster.DryRun(c.R.Context(), c.P.User.ID, req)
}

func (s *Server) rosterImport(c *call) (any, error) {
	var req api.RosterImportRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	imp, err := s.roster.Import(c.R.Context(), c.P.User.ID, req)
	if err != nil {
		return nil, err
	}
	return created{imp}, nil
}

func (s *Server) rosterImports(c *call) (any, error) { return s.roster.Imports(c.R.Context()) }

func (s *Server) rosterGet(c *call) (any, error) {
	return s.roster.Get(c.R.Context(), c.R.PathValue("id"))
}

func (s *Server) rosterCancel(c *call) (any, error) {
	return s.roster.Cancel(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
}
