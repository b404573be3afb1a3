// Package office is the office page: the chat (and, for approvers, the
// section's telework day) that the broker serves to staff at their office
// PCs, who have no Zaitaku app. It is static files only, embedded in the
// broker binary: the page signs in and talks to the broker's own routes
// (/v1/login, /v1/chat/..., /v1/telework/..., the event socket) as the
// app does, so it has no route, store or state of its own.
package office

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// Page is the page's files (index.html and its assets).
func Page() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embed pattern above names web
	}
	return sub
}

// CSP keeps the page to its own files and its own broker: scripts and
// styles from the page's own files only (no inline script or style
// attribute), requests and the event socket to the broker that served
// it, nothing framed, no form posted anywhere (the page sends with
// fetch). A script injected into a message could not run, and could not
// send a token elsewhere if it did.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
