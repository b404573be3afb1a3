package server

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
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
		{method: "GET", path: "/office", role: auth.Anonymous, handle: s.officePage,
			summary: "The office page (HTML): chat and the supervisor's view for staff at their office PCs, who have no app."},
		{method: "GET", path: "/office/assets/{file}", role: auth.Anonymous, handle: s.officeAsset,
			summary: "The office page's scripts and style sheet."},
	}
}

func (s *Server) officePage(c *call) (any, error) {
	return nil, serveOfficeFile(c.W, "index.html")
}

func (s *Server) officeAsset(c *call) (any, error) {
	name := c.R.PathValue("file")
	if name == "index.html" || !fs.ValidPath(name) || strings.Contains(name, "/") {
		return nil, api.Errf(api.CodeNotFound, "%s", name)
	}
	return nil, serveOfficeFile(c.W, name)
}

func serveOfficeFile(w http.ResponseWriter, name string) error {
	b, err := fs.ReadFile(office.Page(), name)
	if err != nil {
		return api.Errf(api.CodeNotFound, "%s", name)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", office.CSP)
	h.Set("X-Frame-Options", "DENY")
	// The page needs no camera, microphone or position.
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), display-capture=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}
