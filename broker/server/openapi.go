package server

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// openAPICache holds the rendered document: the route table does not
// change after New, so it is rendered once per Server.
type openAPICache struct {
	once sync.Once
	doc  []byte
}

// The security schemes the document names. Every operation declares its
// own (Redocly's security-defined rule): bearer for signed-in callers, the
// access token in the query for the sockets a browser opens (queryToken),
// the single-use join token for a meeting's signalling socket, and none
// for the anonymous rest.
var openAPISchemes = map[string]any{
	"bearer":     map[string]any{"type": "http", "scheme": "bearer", "description": "The access token from /v1/login or /v1/token/refresh."},
	"queryToken": map[string]any{"type": "apiKey", "in": "query", "name": "access_token", "description": "The access token in the URL, accepted only on the WebSocket routes a browser opens (it cannot set headers on a WebSocket)."},
	"joinToken":  map[string]any{"type": "apiKey", "in": "query", "name": "join", "description": "A meeting join token: one connection, one room, a few minutes."},
}

// openAPIDoc renders the route table as an OpenAPI 3.1 document. Schemas
// are reflected from each route's in/out types, so the document cannot
// drift from the code. It passes Redocly's recommended-strict rules
// (TestE2EOpenAPILint).
func (s *Server) openAPIDoc() []byte {
	s.openAPIDocument.once.Do(func() {
		g := &schemaGen{defs: map[string]any{}}
		errResponse := map[string]any{"$ref": "#/components/responses/Error"}
		paths := map[string]map[string]any{}
		for _, r := range s.routes {
			op := map[string]any{
				"summary":     r.summary,
				"operationId": operationID(r.method, r.path),
				"x-role":      roleName(r.role),
			}
			if len(r.also) > 0 {
				// Who else may call it, as the generated authorization test checks.
				also := make([]string, len(r.also))
				for i, a := range r.also {
					also[i] = string(a)
				}
				op["x-roles-also"] = also
			}
			switch {
			case r.role != auth.Anonymous && r.queryToken:
				op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"queryToken": []string{}}}
			case r.role != auth.Anonymous:
				op["security"] = []any{map[string]any{"bearer": []string{}}}
			case r.query["join"] != "":
				op["security"] = []any{map[string]any{"joinToken": []string{}}}
			default:
				op["security"] = []any{} // anonymous: no credential
			}
			var params []any
			for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(r.path, -1) {
				params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
			for name, desc := range r.query {
				params = append(params, map[string]any{"name": name, "in": "query", "description": desc, "schema": map[string]any{"type": "string"}})
			}
			if params != nil {
				op["parameters"] = params
			}
			if r.in != nil {
				op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
					"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.in))}}}
			}
			ok := map[string]any{"description": "OK"}
			if r.out != nil {
				ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.out))}}
			}
			op["responses"] = map[string]any{
				"2XX":     ok,
				"4XX":     errResponse,
				"default": errResponse,
			}
			if paths[r.path] == nil {
				paths[r.path] = map[string]any{}
			}
			paths[r.path][strings.ToLower(r.method)] = op
		}
		codes := map[string]any{}
		for _, c := range api.Codes() {
			info, _ := api.Lookup(c)
			codes[string(c)] = map[string]any{"status": info.Status, "en": info.EN, "ja": info.JA}
		}
		errSchema := g.schema(reflect.TypeOf(api.Error{}))
		server := map[string]any{"url": "/", "description": "this broker (the document is served by the broker it describes)"}
		if s.cfg.PublicURL != "" {
			server = map[string]any{"url": s.cfg.PublicURL, "description": "this broker"}
		}
		doc := map[string]any{
			"openapi": "3.1.0",
			"info": map[string]any{"title": "Zaitaku broker", "version": s.cfg.Version,
				"description": "The broker's REST API: the app, the browser pages and `broker admin` use it. Errors carry a code from x-error-codes with a next step in Japanese and English."},
			"servers": []any{server},
			"paths":   paths,
			"components": map[string]any{
				"schemas":         g.defs,
				"securitySchemes": openAPISchemes,
				"responses": map[string]any{"Error": map[string]any{
					"description": "The request was refused; code names the reason; message and message_ja say what to do.",
					"content":     map[string]any{"application/json": map[string]any{"schema": errSchema}}}},
			},
			"x-error-codes": codes,
		}
		s.openAPIDocument.doc, _ = json.MarshalIndent(doc, "", "  ")
	})
	return s.openAPIDocument.doc
}

func roleName(r auth.Role) string {
	if r == auth.Anonymous {
		return "anonymous"
	}
	return string(r)
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})

func (g *schemaGen) schema(t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.object(t)
		}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft)
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
	}
	walk(t)
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if required != nil {
		o["required"] = required
	}
	return o
}
