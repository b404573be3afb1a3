package server

import (
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/office"
)

// officeRoutes serve the office page: static files for staff at their
// office PCs. They are Anonymous because a page must load before anyone
// signs in; everything the page shows comes from the staff routes, called
// with the access token the page holds in memory (see "The office page"
// in docs/ARCHITECTURE.md).
func (s *Server) officeRoutes() []route {
	return []route{
		{method: "GET", path: "/office", role: auth.Anonymous, handle: officePage.index,
			summary: "The office page (HTML): chat and the supervisor's view for staff at their office PCs, who have no app."},
		{method: "GET", path: "/office/assets/{file}", role: auth.Anonymous, handle: officePage.asset,
			summary: "The office page's scripts and style sheet."},
	}
}

// officePage needs no camera, microphone or position.
var officePage = staticPage{files: office.Page(), csp: office.CSP, permissions: "camera=(), microphone=(), geolocation=(), display-capture=()"}
