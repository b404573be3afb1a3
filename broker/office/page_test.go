package office_test

import (
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/office"
)

// TestOfficePageHeaders: the page and its assets come with the strict
// policy (own files only, no inline script, nothing framed), from routes
// in the route table; anything else under /office/assets is not found.
func TestOfficePageHeaders(t *testing.T) {
	b := brokertest.Start(t)
	hc := b.Client(t).HTTPClient()
	for _, tc := range []struct {
		path, ctype string
	}{
		{"/office", "text/html"},
		{"/office/assets/office.js", "javascript"},
		{"/office/assets/session.js", "javascript"},
		{"/office/assets/i18n.js", "javascript"},
		{"/office/assets/office.css", "text/css"},
	} {
		resp, err := hc.Get(b.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) || len(body) == 0 {
			t.Errorf("%s: %d %q, %d bytes", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if csp != office.CSP {
			t.Errorf("%s: Content-Security-Policy %q, want %q", tc.path, csp, office.CSP)
		}
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want+";") && !strings.HasSuffix(csp, want) {
				t.Errorf("%s: policy lacks %q", tc.path, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
			t.Errorf("%s: policy allows more than the page's own: %q", tc.path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
			resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", tc.path, resp.Header)
		}
	}
	for _, p := range []string{"/office/assets/index.html", "/office/assets/nope.js", "/office/assets/..%2fweb%2findex.html", "/office/x"} {
		resp, err := hc.Get(b.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	found := map[string]string{}
	for _, r := range b.Server.Routes() {
		if strings.HasPrefix(r.Path, "/office") {
			found[r.Method+" "+r.Path] = r.Role
		}
	}
	if len(found) != 2 || found["GET /office"] != "" || found["GET /office/assets/{file}"] != "" {
		t.Errorf("office routes in the table: %v, want GET /office and GET /office/assets/{file}, anonymous", found)
	}
}

// TestOfficePageNoInlineCode: the policy would stop inline script, style
// attributes and handlers from running, so none may exist (the page would
// silently break); and the scripts never build markup from strings.
func TestOfficePageNoInlineCode(t *testing.T) {
	page := office.Page()
	html, err := fs.ReadFile(page, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(string(html), -1) {
		if !strings.Contains(m[1], `src="/office/assets/`) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline or foreign script: %s", m[0])
		}
	}
	if m := regexp.MustCompile(`(?i)\s(style|on[a-z]+)=`).FindString(string(html)); m != "" {
		t.Errorf("index.html has an inline %q", m)
	}
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(string(html)); m != "" {
		t.Errorf("index.html loads from elsewhere: %q", m)
	}
	for _, name := range []string{"office.js", "session.js", "i18n.js"} {
		js, err := fs.ReadFile(page, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "sessionStorage", "document.cookie"} {
			if strings.Contains(string(js), bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
		// Local storage keeps the language chosen and nothing else: the
		// sign-in lives in memory.
		for _, i := range regexp.MustCompile(`localStorage\.`).FindAllStringIndex(string(js), -1) {
			if rest := string(js[i[1]:]); !strings.HasPrefix(rest, `getItem("zaitaku-office-lang")`) && !strings.HasPrefix(rest, `setItem("zaitaku-office-lang", `) {
				t.Errorf("%s keeps something in local storage: %.60s", name, rest)
			}
		}
	}
}
