package server

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
)

// staticPage is a page the broker serves from embedded files (the meeting
// page, the office page, the console): index.html at its route, the
// other files flat under its assets route, each with the page's own
// Content-Security-Policy and Permissions-Policy.
type staticPage struct {
	files       fs.FS
	csp         string
	permissions string
}

// index serves the page itself.
func (p staticPage) index(c *call) (any, error) { return nil, p.serve(c.W, "index.html") }

// asset serves one of the page's files, named by the route's {file}.
func (p staticPage) asset(c *call) (any, error) {
	name := c.R.PathValue("file")
	if name == "index.html" || !fs.ValidPath(name) || strings.Contains(name, "/") {
		return nil, api.Errf(api.CodeNotFound, "%s", name)
	}
	return nil, p.serve(c.W, name)
}

func (p staticPage) serve(w http.ResponseWriter, name string) error {
	b, err := fs.ReadFile(p.files, name)
	if err != nil {
		return api.Errf(api.CodeNotFound, "%s", name)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", p.csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Permissions-Policy", p.permissions)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}
