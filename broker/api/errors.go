// Package api holds the broker's wire types, its error codes and a typed Go
// client. It imports only the standard library, the websocket package and
// broker/tunnel (itself standard library only), so that the app and tests
// can use it without pulling in the broker.
package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Code identifies an error on the wire. Codes are stable: clients switch on
// them, and the messages the user sees come from the catalog below.
type Code string

// Error is the body of every non-2xx response. Message and MessageJA tell the
// user what to do next; Detail (optional) names the offending field or limit.
type Error struct {
	Code       Code   `json:"code"`
	Message    string `json:"message"`
	MessageJA  string `json:"message_ja"`
	Detail     string `json:"detail,omitempty"`
	DetailJA   string `json:"detail_ja,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"` // seconds, when waiting helps
	Status     int    `json:"-"`
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, api.Err(CodeX)) compare by code.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Localized returns the message, and the detail when there is one for
// people, in the given language ("ja" by default).
func (e *Error) Localized(lang string) string {
	msg, detail := e.Message, e.Detail
	if !strings.HasPrefix(lang, "en") {
		if e.MessageJA != "" {
			msg = e.MessageJA
		}
		if e.DetailJA != "" {
			detail = e.DetailJA
		} else {
			detail = "" // an English-only detail is for logs and IT, not for the Japanese screen
		}
	}
	if detail != "" {
		return msg + "\n" + detail
	}
	return msg
}

// CodeInfo is one catalog entry: the HTTP status the server answers with and
// the two messages. Keeping the status here (not in the server) lets the
// client rebuild a typed error from a status alone when a proxy ate the body.
type CodeInfo struct {
	Status int
	EN, JA string
}

var (
	catalogMu sync.RWMutex // guards catalog; written only from init functions
	catalog   = map[Code]CodeInfo{}
)

// register adds codes to the catalog. Each domain declares its codes in its
// own file (errors_auth.go, errors_slots.go, ...) from an init function.
func register(codes map[Code]CodeInfo) {
	catalogMu.Lock()
	defer catalogMu.Unlock()
	for c, info := range codes {
		if _, dup := catalog[c]; dup {
			panic("api: duplicate error code " + string(c))
		}
		if info.Status < 400 || info.EN == "" || info.JA == "" {
			panic("api: incomplete catalog entry " + string(c))
		}
		catalog[c] = info
	}
}

// Lookup returns the catalog entry for a code.
func Lookup(c Code) (CodeInfo, bool) {
	catalogMu.RLock()
	defer catalogMu.RUnlock()
	info, ok := catalog[c]
	return info, ok
}

// Codes lists every registered code, sorted (for docs and tests).
func Codes() []Code {
	catalogMu.RLock()
	defer catalogMu.RUnlock()
	out := make([]Code, 0, len(catalog))
	for c := range catalog {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Err builds the error for a code. An optional detail names what was wrong.
// An unknown code becomes CodeInternal so that a typo never leaks as a 200.
func Err(c Code, detail ...string) *Error {
	info, ok := Lookup(c)
	if !ok {
		info, _ = Lookup(CodeInternal)
		c = CodeInternal
	}
	e := &Error{Code: c, Message: info.EN, MessageJA: info.JA, Status: info.Status}
	if len(detail) > 0 {
		e.Detail = strings.Join(detail, "; ")
	}
	return e
}

// Errf is Err with a formatted detail.
func Errf(c Code, format string, args ...any) *Error {
	return Err(c, fmt.Sprintf(format, args...))
}

// AsError extracts an *Error from err, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Codes shared by every domain.
const (
	CodeInternal          Code = "internal"
	CodeBadRequest        Code = "bad_request"
	CodeBadJSON           Code = "bad_json"
	CodeUnknownField      Code = "unknown_field"
	CodeBodyTooLarge      Code = "body_too_large"
	CodeUnsupportedType   Code = "unsupported_media_type"
	CodeNotFound          Code = "not_found"
	CodeMethodNotAllowed  Code = "method_not_allowed"
	CodeConflict          Code = "conflict"
	CodeRateLimited       Code = "rate_limited"
	CodeUnavailable       Code = "unavailable"
	CodeTimeout           Code = "timeout"
	CodeValidation        Code = "validation"
	CodeUnauthenticated   Code = "unauthenticated"
	CodeTokenExpired      Code = "token_expired"
	CodeForbidden         Code = "forbidden"
	CodeNetwork           Code = "network"
	CodeCertificateChange Code = "certificate_changed"
	// CodeBrokerNotPinned: the app has no key pin for the broker and its
	// profile does not say to trust the OS store: it will not connect.
	CodeBrokerNotPinned Code = "broker_not_pinned"
)

func init() {
	register(map[Code]CodeInfo{
		CodeInternal: {http.StatusInternalServerError,
			"Something went wrong on the broker. Try again; if it keeps happening, tell the IT help desk.",
			"ブローカーで問題が発生しました。もう一度お試しください。繰り返す場合は情報政策課ヘルプデスクへ連絡してください。"},
		CodeBadRequest: {http.StatusBadRequest,
			"The request was not understood. Update the app and try again.",
			"要求を解釈できませんでした。アプリを更新してもう一度お試しください。"},
		CodeBadJSON: {http.StatusBadRequest,
			"The request body is not valid JSON. Send one JSON object.",
			"要求の本文が正しいJSONではありません。JSONオブジェクトを1つ送ってください。"},
		CodeUnknownField: {http.StatusBadRequest,
			"The request has a field the broker does not know. Check the field name or update the app.",
			"要求にブローカーが知らない項目があります。項目名を確認するか、アプリを更新してください。"},
		CodeBodyTooLarge: {http.StatusRequestEntityTooLarge,
			"The request is too large. Send less data at once.",
			"要求が大きすぎます。一度に送るデータを減らしてください。"},
		CodeUnsupportedType: {http.StatusUnsupportedMediaType,
			"Send the request as application/json.",
			"要求は application/json で送ってください。"},
		CodeNotFound: {http.StatusNotFound,
			"Not found. Check the address or ID.",
			"見つかりません。アドレスまたはIDを確認してください。"},
		CodeMethodNotAllowed: {http.StatusMethodNotAllowed,
			"This method is not allowed here. Check the API document at /openapi.json.",
			"このメソッドは使えません。/openapi.json のAPI仕様を確認してください。"},
		CodeConflict: {http.StatusConflict,
			"This conflicts with what already exists. Reload and try again.",
			"既存のデータと競合しています。再読み込みしてもう一度お試しください。"},
		CodeRateLimited: {http.StatusTooManyRequests,
			"Too many requests. Wait a moment and try again.",
			"要求が多すぎます。少し待ってからもう一度お試しください。"},
		CodeUnavailable: {http.StatusServiceUnavailable,
			"The broker is not ready. Wait a moment and try again.",
			"ブローカーの準備ができていません。少し待ってからもう一度お試しください。"},
		CodeTimeout: {http.StatusRequestTimeout,
			"The request took too long to arrive. Check your network and try again.",
			"要求の到着に時間がかかりすぎました。ネットワークを確認してもう一度お試しください。"},
		CodeValidation: {http.StatusUnprocessableEntity,
			"Some values are not valid. Correct the field named in the detail and try again.",
			"入力値に誤りがあります。詳細に示された項目を直してもう一度お試しください。"},
		CodeUnauthenticated: {http.StatusUnauthorized,
			"You are not signed in. Sign in again.",
			"サインインしていません。もう一度サインインしてください。"},
		CodeTokenExpired: {http.StatusUnauthorized,
			"Your sign-in has expired. Sign in again.",
			"サインインの有効期限が切れました。もう一度サインインしてください。"},
		CodeForbidden: {http.StatusForbidden,
			"You are not allowed to do this. Ask IT if you need access.",
			"この操作の権限がありません。必要な場合は情報政策課に相談してください。"},
		CodeNetwork: {http.StatusBadGateway,
			"Cannot reach the broker. Check your internet connection; Zaitaku keeps retrying.",
			"ブローカーに接続できません。インターネット接続を確認してください。在宅は自動で再接続を続けます。"},
		CodeCertificateChange: {http.StatusBadGateway,
			"The broker's key does not match the one this laptop trusts. Do not continue; call the IT help desk.",
			"ブローカーの鍵が、この端末が信頼している鍵と一致しません。操作を中止し、情報政策課ヘルプデスクへ連絡してください。"},
		CodeBrokerNotPinned: {http.StatusBadGateway,
			"This laptop does not know the broker's key yet. Set it up again on the first screen with the key pin IT published, or ask IT for the installer's settings file.",
			"この端末はまだブローカーの鍵を登録していません。情報政策課が公開している鍵のピンを使って最初の画面から設定し直すか、インストーラーの設定ファイルを情報政策課に依頼してください。"},
	})
}
