package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestChatBadInput: every malformed or oversized request gets a clear
// error (the catalogue's code, both languages, the limit named), never a
// server error, and nothing is stored.
func TestChatBadInput(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, _, channels := threeChannels(t, b)
	g := channels[1]
	msgs := "/v1/chat/channels/" + g + "/messages"
	if _, err := alice.ChatSend(ctx, g, api.ChatSendRequest{Key: "first", Text: "最初"}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("長", 4001)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     api.Code
		detail                   string // part of the detail
	}{
		{"too long", "POST", msgs, `{"key":"k1","text":"` + long + `"}`, 422, api.CodeChatTooLong, "at most 4000"},
		{"body over the limit", "POST", msgs, `{"key":"k2","text":"` + strings.Repeat("x", 200<<10) + `"}`, 413, api.CodeBodyTooLarge, "131072"},
		{"malformed JSON", "POST", msgs, `{"key":"k3","text":`, 400, api.CodeBadJSON, ""},
		{"two JSON values", "POST", msgs, `{"key":"k3","text":"a"}{}`, 400, api.CodeBadJSON, ""},
		{"unknown field", "POST", msgs, `{"key":"k4","text":"a","channel":"x"}`, 400, api.CodeUnknownField, "channel"},
		{"wrong type", "POST", msgs, `{"key":"k5","text":5}`, 422, api.CodeValidation, "text"},
		{"empty text", "POST", msgs, `{"key":"k6","text":"  \n "}`, 422, api.CodeChatEmpty, ""},
		{"escape sequence", "POST", msgs, `{"key":"k7","text":"\u001b[31m赤"}`, 422, api.CodeValidation, "U+001B"},
		{"bidi override", "POST", msgs, `{"key":"k8","text":"abc\u202edef"}`, 422, api.CodeValidation, "U+202E"},
		{"no key", "POST", msgs, `{"text":"a"}`, 422, api.CodeValidation, "key"},
		{"key with spaces", "POST", msgs, `{"key":"a b","text":"a"}`, 422, api.CodeValidation, "key"},
		{"key too long", "POST", msgs, `{"key":"` + strings.Repeat("k", 65) + `","text":"a"}`, 422, api.CodeValidation, "64"},
		{"key reused for other text", "POST", msgs, `{"key":"first","text":"別の文"}`, 409, api.CodeChatKeyReused, ""},
		{"reply to nothing", "POST", msgs, `{"key":"k9","text":"a","reply_to":99}`, 404, api.CodeChatNoMessage, "99"},
		{"negative reply", "POST", msgs, `{"key":"k10","text":"a","reply_to":-1}`, 422, api.CodeValidation, "reply_to"},
		{"history after -1", "GET", msgs + "?after=-1", "", 422, api.CodeValidation, "after"},
		{"history before x", "GET", msgs + "?before=x", "", 422, api.CodeValidation, "before"},
		{"history limit 0", "GET", msgs + "?limit=0", "", 422, api.CodeValidation, "limit"},
		{"edit seq x", "PATCH", msgs + "/x", `{"key":"e1","text":"a"}`, 422, api.CodeValidation, "seq"},
		{"edit seq 0", "PATCH", msgs + "/0", `{"key":"e1","text":"a"}`, 422, api.CodeValidation, "seq"},
		{"edit of no message", "PATCH", msgs + "/99", `{"key":"e1","text":"a"}`, 404, api.CodeChatNoMessage, ""},
		{"read seq -1", "POST", "/v1/chat/channels/" + g + "/read", `{"seq":-1}`, 422, api.CodeValidation, "seq"},
		{"search with nothing", "GET", "/v1/chat/search?q=", "", 422, api.CodeValidation, "q"},
		{"search too long", "GET", "/v1/chat/search?q=" + strings.Repeat("検", 101), "", 422, api.CodeValidation, "100"},
		{"group without a name", "POST", "/v1/chat/channels", `{"name":"","members":["bob"]}`, 422, api.CodeValidation, "name"},
		{"group with a stranger", "POST", "/v1/chat/channels", `{"name":"g","members":["nobody"]}`, 404, api.CodeChatNoColleague, "nobody"},
		{"direct with oneself", "POST", "/v1/chat/direct", `{"user":"alice"}`, 422, api.CodeValidation, "user"},
		{"members of a direct channel", "POST", "/v1/chat/channels/" + channels[2] + "/members", `{"members":["carol"]}`, 409, api.CodeChatNotGroup, ""},
		{"channel ID too long", "GET", "/v1/chat/channels/" + strings.Repeat("c", 100), "", 404, api.CodeChatNoChannel, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := alice.NewRequest(ctx, tc.method, tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req, _ = alice.NewRequest(ctx, tc.method, tc.path, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := alice.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			e := api.DecodeError(resp)
			if resp.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("%d %s (%s), want %d %s", resp.StatusCode, e.Code, e.Detail, tc.status, tc.code)
			}
			if e.Message == "" || e.MessageJA == "" || !strings.Contains(e.Detail, tc.detail) {
				t.Errorf("error %+v: want both messages and %q in the detail", e, tc.detail)
			}
		})
	}
	// A message may have several lines and tabs.
	if m, err := alice.ChatSend(ctx, g, api.ChatSendRequest{Key: "lines", Text: "一行目\n\t二行目"}); err != nil || m.Text != "一行目\n\t二行目" {
		t.Errorf("a message of two lines: %+v %v", m, err)
	}
	// Nothing refused was stored.
	h, err := alice.ChatAfter(ctx, g, 0, 100)
	if err != nil || len(h.Messages) != 2 {
		t.Errorf("the group holds %d entries, want 2: %v", len(h.Messages), err)
	}
}

// TestChatPolicyBadInput: IT's changes to the chat policy are checked
// and need a reason.
func TestChatPolicyBadInput(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	admin := b.Signin(t, "it-admin", api.RoleAdmin)
	for _, tc := range []struct {
		name, body, detail string
	}{
		{"no reason", `{"receipts":false}`, "reason"},
		{"max_chars 0", `{"max_chars":0,"reason":"r"}`, "max_chars"},
		{"max_chars huge", `{"max_chars":20001,"reason":"r"}`, "max_chars"},
		{"retention too short", `{"retention_days":7,"reason":"r"}`, "retention_days"},
		{"edit window negative", `{"edit_window_minutes":-1,"reason":"r"}`, "edit_window_minutes"},
		{"work start malformed", `{"work_start":"8:30","reason":"r"}`, "work_start"},
		{"work end before start", `{"work_start":"18:00","work_end":"09:00","reason":"r"}`, "work_start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := admin.Do(ctx, "PATCH", "/admin/v1/chat/policy", strings.NewReader(tc.body), nil)
			e := api.AsError(err)
			if e == nil || e.Code != api.CodeValidation || !strings.Contains(e.Detail, tc.detail) {
				t.Errorf("%v, want validation naming %s", err, tc.detail)
			}
		})
	}
	var p api.ChatPolicy
	start, end := "09:00", "17:45"
	if err := admin.Do(ctx, "PATCH", "/admin/v1/chat/policy", api.ChatPolicyUpdate{WorkStart: &start, WorkEnd: &end, Reason: "勤務時間の変更"}, &p); err != nil ||
		p.WorkStart != start || p.WorkEnd != end || p.MaxChars != 4000 {
		t.Errorf("a good change: %+v %v", p, err)
	}
}
