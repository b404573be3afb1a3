package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// call is one request as a handler sees it.
type call struct {
	W http.ResponseWriter
	R *http.Request
	P *auth.Principal // nil on anonymous routes
	s *Server
	r *route
}

// handlerFunc returns the response body (encoded as JSON, 200) or an
// error (mapped to its status). A handler that wrote the response itself
// returns (nil, nil).
type handlerFunc func(c *call) (any, error)

// created wraps a body to answer 201.
type created struct{ v any }

// noContent answers 204.
var noContent = &struct{ noContent bool }{true}

type ctxKey int

const principalKey ctxKey = 1

// PrincipalFrom returns the caller resolved by the auth middleware.
func PrincipalFrom(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey).(*auth.Principal)
	return p
}

// outer wraps the whole mux: panics become 500s, every response gets
// security headers, and the request is counted.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, api.Err(api.CodeInternal))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// wrap applies authentication, authorization and limits for one route.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		var c *call
		defer func() {
			d := time.Since(start)
			s.metrics.observe(rt.method, rt.path, sw.status, d)
			// The route pattern, never the raw URL or headers: no tokens
			// or personal data in the request log.
			user := ""
			if c != nil && c.P != nil {
				user = c.P.User.ID
			}
			s.log.Debug("request", "route", rt.method+" "+rt.path, "status", sw.status, "ms", d.Milliseconds(), "user", user, "remote", s.source(r).String())
		}()
		// The limit goes on the request before authorization derives the
		// request handlers read from it, so that every route, signed in
		// or not, reads at most its limit.
		max := rt.bodyLimit()
		r.Body = http.MaxBytesReader(sw, r.Body, max)
		c = &call{W: sw, R: r, s: s, r: &rt}
		if err := s.authorize(c); err != nil {
			// Marks refusals by the route table (as opposed to a handler's
			// own ownership checks) for the generated authorization test.
			sw.Header().Set("X-Zaitaku-Authz", "denied")
			s.fail(sw, r, err)
			return
		}
		// A body declared too large is refused before a byte of it is read.
		if r.ContentLength > max {
			s.fail(sw, r, api.Errf(api.CodeBodyTooLarge, "at most %d bytes", max))
			return
		}
		if !rt.stream {
			// A slow client cannot hold a request open: the body must
			// arrive within this time (headers are bounded by the server).
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
			_ = rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		}
		out, err := rt.handle(c)
		if err != nil {
			s.fail(sw, r, err)
			return
		}
		switch v := out.(type) {
		case nil:
		case created:
			writeJSON(sw, http.StatusCreated, v.v)
		default:
			if out == any(noContent) {
				sw.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(sw, http.StatusOK, out)
		}
	})
}

func (s *Server) authorize(c *call) error {
	tok, hasTok := bearer(c.R, c.r.queryToken)
	if c.r.role == auth.Anonymous {
		return nil
	}
	if !hasTok {
		// The admin console's cookie stands for its sign-in's token.
		var err error
		if tok, hasTok, err = s.authorizeConsole(c); err != nil {
			return err
		}
	}
	if !hasTok {
		if !c.r.queryToken && c.R.URL.Query().Has("access_token") {
			return api.Err(api.CodeUnauthenticated, "send the token in the Authorization header, never in the address")
		}
		return api.Err(api.CodeUnauthenticated)
	}
	p, err := s.auth.Authenticate(c.R.Context(), tok)
	if err != nil {
		return err
	}
	ok, limited := c.r.admits(p)
	if !ok {
		if p.Scope == auth.ScopeSetup {
			return api.Err(api.CodeSetupRequired)
		}
		return api.Err(api.CodeForbidden)
	}
	c.P = p
	ctx := context.WithValue(c.R.Context(), principalKey, p)
	if limited {
		// The domains read the limit from the context (auth.InScope).
		ctx = auth.LimitToDepartment(ctx, p.User.Department)
	}
	c.R = c.R.WithContext(ctx)
	return nil
}

// bearer finds the access token: in the Authorization header, or, on the
// socket routes that allow it (a browser cannot set headers on a
// WebSocket), in the access_token query parameter. Anywhere else a token
// in the URL is refused outright, since URLs end up in proxy logs.
func bearer(r *http.Request, queryAllowed bool) (string, bool) {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok && tok != "" {
		return strings.TrimSpace(tok), true
	}
	if queryAllowed && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		if tok := r.URL.Query().Get("access_token"); tok != "" {
			return tok, true
		}
	}
	return "", false
}

// fail writes err; internal errors are logged and hidden from the client.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e := api.AsError(err); e != nil {
		writeError(w, e)
		return
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, api.Errf(api.CodeBodyTooLarge, "at most %d bytes", mbe.Limit))
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to answer.
	case errors.Is(err, auth.ErrNotFound):
		writeError(w, api.Err(api.CodeNotFound))
	case isTimeout(err):
		writeError(w, api.Err(api.CodeTimeout))
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, api.Err(api.CodeInternal))
	}
}

// isTimeout matches a read deadline hit while reading the body.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	// Tell a wrong method from an unknown path, as clients expect.
	for _, rt := range s.routes {
		if pathMatches(rt.path, r.URL.Path) {
			writeError(w, api.Errf(api.CodeMethodNotAllowed, "%s %s", r.Method, r.URL.Path))
			return
		}
	}
	writeError(w, api.Errf(api.CodeNotFound, "%s", r.URL.Path))
}

func pathMatches(pattern, path string) bool {
	ps, qs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(qs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") || ps[i] == qs[i] {
			continue
		}
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// maxDetail bounds what an error reply repeats of the request: a detail
// may quote a field the client sent, which is never echoed unbounded.
const maxDetail = 200

func writeError(w http.ResponseWriter, e *api.Error) {
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	if len(e.Detail) > maxDetail {
		cut := *e
		cut.Detail = truncateUTF8(e.Detail, maxDetail) + "…"
		e = &cut
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="zaitaku"`)
	}
	writeJSON(w, e.Status, e)
}

// Decode reads the JSON body into v: one object, no unknown fields, within
// the route's size limit. Every failure is a 4xx that names the problem.
func (c *call) Decode(v any) error {
	if ct := c.R.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return api.Err(api.CodeUnsupportedType, ct)
		}
	}
	dec := json.NewDecoder(c.R.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return decodeError(err)
		}
		return api.Err(api.CodeBadJSON, "more than one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return api.Errf(api.CodeBodyTooLarge, "at most %d bytes", mbe.Limit)
	case isTimeout(err):
		return api.Err(api.CodeTimeout)
	case errors.Is(err, io.EOF):
		return api.Err(api.CodeBadJSON, "empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return api.Err(api.CodeBadJSON, "body ended early")
	case errors.As(err, &se):
		return api.Errf(api.CodeBadJSON, "syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return api.Errf(api.CodeValidation, "%s: want %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return api.Err(api.CodeUnknownField, strings.TrimPrefix(err.Error(), "json: "))
	}
	return api.Err(api.CodeBadJSON, err.Error())
}

// statusWriter remembers the status for metrics and passes through the
// interfaces handlers need (Flush, Hijack via Unwrap).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
