package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/broker/csvexport"
)

// chatMaxBody bounds a chat request: the longest message IT may allow
// (20,000 characters of three bytes each), JSON-escaped, with room to
// spare, and no more.
const chatMaxBody = 128 << 10

// chatDomain is staff chat. The table decides the role; the domain
// decides membership of the channel each route names, for every route.
func (s *Server) chatRoutes() []route {
	S, A := api.RoleStaff, api.RoleAdmin
	ch := "/v1/chat/channels/{id}"
	return []route{
		{method: "GET", path: "/v1/chat/channels", role: S, handle: s.chatChannels, out: api.ChatChannelList{},
			summary: "The caller's channels (department, groups, direct) with each one's last sequence, read marker and unread count: where to resume from."},
		{method: "POST", path: "/v1/chat/channels", role: S, handle: s.chatCreateGroup, in: api.ChatCreateGroup{}, out: api.ChatChannel{},
			summary: "Make a group of the caller and colleagues."},
		{method: "POST", path: "/v1/chat/direct", role: S, handle: s.chatDirect, in: api.ChatDirectRequest{}, out: api.ChatChannel{},
			summary: "The direct channel with a colleague, made on first use."},
		{method: "GET", path: ch, role: S, handle: s.chatChannel, out: api.ChatChannel{},
			summary: "One channel the caller is in, with its members."},
		{method: "PATCH", path: ch, role: S, handle: s.chatRename, in: api.ChatRenameRequest{}, out: api.ChatChannel{},
			summary: "Rename a group the caller is in; its members are told."},
		{method: "POST", path: ch + "/members", role: S, handle: s.chatAddMembers, in: api.ChatMembersRequest{}, out: api.ChatChannel{},
			summary: "Add colleagues to a group the caller is in."},
		{method: "DELETE", path: ch + "/members/me", role: S, handle: s.chatLeave,
			summary: "Leave a group."},
		{method: "GET", path: ch + "/messages", role: S, handle: s.chatHistory, out: api.ChatHistory{},
			query: map[string]string{"after": "entries after this sequence, oldest first (resume)", "before": "entries before this sequence (scroll back)",
				"limit": "at most this many (default 100, at most 500)"},
			summary: "A page of the channel's entries (messages, edits, deletes) in sequence order."},
		{method: "POST", path: ch + "/messages", role: S, handle: s.chatSend, in: api.ChatSendRequest{}, out: api.ChatMessage{}, maxBody: chatMaxBody,
			summary: "Send a message; stored before the answer, once per idempotency key however often it is retried."},
		{method: "PATCH", path: ch + "/messages/{seq}", role: S, handle: s.chatEdit, in: api.ChatEditRequest{}, out: api.ChatMessage{}, maxBody: chatMaxBody,
			summary: "Edit one's own message within the edit window (the original is kept for the record)."},
		{method: "DELETE", path: ch + "/messages/{seq}", role: S, handle: s.chatDelete, out: api.ChatMessage{},
			summary: "Delete one's own message within the edit window (its text is kept for the record)."},
		{method: "POST", path: ch + "/read", role: S, handle: s.chatRead, in: api.ChatReadRequest{}, out: api.ChatRead{},
			summary: "Move the caller's read marker forward (既読); it never moves back."},
		{method: "PUT", path: ch + "/mute", role: S, handle: s.chatMute, in: api.ChatMuteRequest{},
			summary: "Mute or unmute the channel for the caller."},
		{method: "GET", path: ch + "/receipts", role: S, handle: s.chatReceipts, out: api.ChatReceipts{},
			summary: "The members' read markers (既読), when IT allows read receipts."},
		{method: "GET", path: "/v1/chat/search", role: S, handle: s.chatSearch, out: api.ChatSearchResult{},
			query:   map[string]string{"q": "the text to find (Japanese without spaces works)", "channel": "only this channel", "limit": "at most this many (default 50)"},
			summary: "Search the caller's channels, newest first, with the matches marked."},
		{method: "GET", path: "/v1/chat/people", role: S, handle: s.chatPeople, out: api.ChatPeople{},
			query:   map[string]string{"q": "part of a name, its kana reading, staff ID or department"},
			summary: "Find a colleague to start a direct message."},
		{method: "PUT", path: "/v1/chat/status", role: S, handle: s.chatStatus, in: api.ChatStatusRequest{}, out: api.ChatPresence{},
			summary: "Set one's status message, or tell that one is idle (離席中); the department is told."},
		{method: "GET", path: "/v1/chat/presence", role: S, handle: s.chatPresence, out: api.ChatPresenceList{},
			query:   map[string]string{"department": "this department's staff (default: the caller's own)", "users": "or these staff IDs, comma-separated"},
			summary: "Presence (会議中, テレワーク中, オンライン, 離席中, オフライン) and status messages, derived from what the broker knows now."},
		{method: "GET", path: "/v1/chat/policy", role: S, handle: s.chatPolicy, out: api.ChatPolicy{},
			summary: "The chat policy the app follows: message length, edit window, receipts, working time (quiet hours outside it), idle time before 離席中."},
		{method: "GET", path: "/admin/v1/chat/policy", role: A, also: readers, handle: s.chatPolicy, out: api.ChatPolicy{},
			summary: "The chat policy: message length, edit window, read receipts."},
		{method: "PATCH", path: "/admin/v1/chat/policy", role: A, handle: s.chatSetPolicy, in: api.ChatPolicyUpdate{}, out: api.ChatPolicy{},
			summary: "Change the chat policy (length, edit window, receipts, retention); the reason is recorded."},
		{method: "GET", path: "/admin/v1/chat/channels", role: A, also: readers, handle: s.chatAdminChannels, out: api.ChatChannelList{},
			summary: "Every channel with its members, to pick one for an export."},
		{method: "POST", path: "/admin/v1/chat/channels/{id}/export", role: A, handle: s.chatExport, in: api.ChatExportRequest{}, stream: true,
			query:   map[string]string{"lang": "CSV headers: ja (default) or en", "tz": "CSV times: JST (default) or UTC"},
			summary: "A channel's whole record as CSV (Japanese headers and JST times unless lang=en, tz=UTC; UTF-8 with BOM; earlier texts of edited and deleted messages included), for an inquiry; who and why are recorded."},
	}
}

func (s *Server) chatChannels(c *call) (any, error) {
	return s.chat.Channels(c.R.Context(), c.P.User)
}

func (s *Server) chatCreateGroup(c *call) (any, error) {
	var req api.ChatCreateGroup
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	v, err := s.chat.CreateGroup(c.R.Context(), c.P.User, req)
	if err != nil {
		return nil, err
	}
	return created{v}, nil
}

func (s *Server) chatDirect(c *call) (any, error) {
	var req api.ChatDirectRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.chat.Direct(c.R.Context(), c.P.User, req)
}

func (s *Server) chatChannel(c *call) (any, error) {
	return s.chat.Channel(c.R.Context(), c.P.User, c.R.PathValue("id"))
}

func (s *Server) chatAddMembers(c *call) (any, error) {
	var req api.ChatMembersRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.chat.AddMembers(c.R.Context(), c.P.User, c.R.PathValue("id"), req)
}

func (s *Server) chatRename(c *call) (any, error) {
	var req api.ChatRenameRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.chat.Rename(c.R.Context(), c.P.User, c.R.PathValue("id"), req)
}

func (s *Server) chatLeave(c *call) (any, error) {
	return noContent, s.chat.Leave(c.R.Context(), c.P.User, c.R.PathValue("id"))
}

func (s *Server) chatHistory(c *call) (any, error) {
	q := c.R.URL.Query()
	after := int64(-1)
	if q.Has("after") {
		n, err := chat.ParseSeq("after", q.Get("after"))
		if err != nil {
			return nil, err
		}
		after = n
	}
	before, err := chat.ParseSeq("before", q.Get("before"))
	if err != nil {
		return nil, err
	}
	limit, err := queryLimit(q.Get("limit"))
	if err != nil {
		return nil, err
	}
	return s.chat.History(c.R.Context(), c.P.User, c.R.PathValue("id"), after, before, limit)
}

func queryLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, api.Err(api.CodeValidation, "limit: a number, 1 or more")
	}
	return n, nil
}

func (s *Server) chatSend(c *call) (any, error) {
	var req api.ChatSendRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.chat.Send(c.R.Context(), c.P.User, c.R.PathValue("id"), req)
}

func pathSeq(c *call) (int64, error) {
	n, err := chat.ParseSeq("seq", c.R.PathValue("seq"))
	if err == nil && n == 0 {
		err = api.Err(api.CodeValidation, "seq: a message's sequence number")
	}
	return n, err
}

func (s *Server) chatEdit(c *call) (any, error) {
	var req api.ChatEditRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	seq, err := pathSeq(c)
	if err != nil {
		return nil, err
	}
	return s.chat.Edit(c.R.Context(), c.P.User, c.R.PathValue("id"), seq, req)
}

func (s *Server) chatDelete(c *call) (any, error) {
	seq, err := pathSeq(c)
	if err != nil {
		return nil, err
	}
	return s.chat.Delete(c.R.Context(), c.P.User, c.R.PathValue("id"), seq)
}

func (s *Server) chatRead(c *call) (any, error) {
	var req api.ChatReadRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.chat.MarkRead(c.R.Context(), c.P.User, c.R.PathValue("id"), req.Seq)
}

func (s *Server) chatMute(c *call) (any, error) {
	var req api.ChatMuteRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return noContent, s.chat.SetMuted(c.R.Context(), c.P.User, c.R.PathValue("id"), req.Muted)
}

func (s *Server) chatReceipts(c *call) (any, error) {
	return s.chat.Receipts(c.R.Context(), c.P.User, c.R.PathValue("id"))
}

func (s *Server) chatSearch(c *call) (any, error) {
	q := c.R.URL.Query()
	limit, err := queryLimit(q.Get("limit"))
	if err != nil {
		return nil, err
	}
	return s.chat.Search(c.R.Context(), c.P.User, q.Get("q"), q.Get("channel"), limit)
}

func (s *Server) chatPeople(c *call) (any, error) {
	return s.chat.People(c.R.Context(), c.P.User, c.R.URL.Query().Get("q"))
}

func (s *Server) chatPolicy(c *call) (any, error) {
	return s.chat.Policy(c.R.Context()), nil
}

func (s *Server) chatSetPolicy(c *call) (any, error) {
	var req api.ChatPolicyUpdate
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.chat.SetPolicy(c.R.Context(), c.P.User.ID, req)
}

func (s *Server) chatAdminChannels(c *call) (any, error) {
	return s.chat.AdminChannels(c.R.Context())
}

func (s *Server) chatExport(c *call) (any, error) {
	var req api.ChatExportRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	o, err := csvexport.Parse(c.R.URL.Query().Get("lang"), c.R.URL.Query().Get("tz"))
	if err != nil {
		return nil, err
	}
	id := c.R.PathValue("id")
	w := &startOnWrite{w: c.W, start: func(h http.Header) {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="chat-%s.csv"`, s.now().In(jst).Format("20060102-150405")))
	}}
	n, err := s.chat.Export(c.R.Context(), c.P.User.ID, id, req.Reason, o, w)
	switch {
	case err != nil && !w.started:
		return nil, err // refused before a byte: an error answer
	case err != nil:
		// The status is out; cutting the stream short is all that is left.
		s.log.Warn("chat export ended early", "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil, nil
}

// startOnWrite sends the headers and 200 with the first byte, so that a
// refusal found before it is still an error answer.
type startOnWrite struct {
	w       http.ResponseWriter
	start   func(http.Header)
	started bool
}

func (s *startOnWrite) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.start(s.w.Header())
		s.w.WriteHeader(http.StatusOK)
	}
	return s.w.Write(p)
}

func (s *Server) chatStatus(c *call) (any, error) {
	var req api.ChatStatusRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.chat.SetStatus(c.R.Context(), c.P.User, req)
}

func (s *Server) chatPresence(c *call) (any, error) {
	q := c.R.URL.Query()
	var users []string
	if v := q.Get("users"); v != "" {
		users = strings.Split(v, ",")
	}
	return s.chat.PresenceList(c.R.Context(), c.P.User, q.Get("department"), users)
}
