package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/chat"
	"github.com/zaitaku/zaitaku/broker/services"
)

func chatChannel(t *testing.T, st services.Stores, id, kind string, members ...string) chat.Channel {
	t.Helper()
	c := chat.Channel{ID: id, Kind: kind, Name: id, CreatedBy: "k1", CreatedAt: at(0)}
	switch kind {
	case api.ChatDepartment:
		c.Department = "dept-" + id
	case api.ChatDirect:
		c.DirectKey = fmt.Sprint(members)
	}
	must(t, st.Chat().CreateChannel(t.Context(), c, members))
	return c
}

func chatMsg(channel, sender, key, text string) api.ChatMessage {
	return api.ChatMessage{Channel: channel, Kind: api.ChatKindMessage, Sender: sender, Key: key, Text: text, At: at(1)}
}

func appendMsg(t *testing.T, st services.Stores, m api.ChatMessage) api.ChatMessage {
	t.Helper()
	got, existed, err := st.Chat().Append(t.Context(), m)
	must(t, err)
	if existed {
		t.Fatalf("append %s/%s: reported as stored already", m.Channel, m.Key)
	}
	return got
}

func chatSeqs(ms []api.ChatMessage) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func lastSeq(t *testing.T, st services.Stores, id string) int64 {
	t.Helper()
	c, err := st.Chat().GetChannel(t.Context(), id)
	must(t, err)
	return c.LastSeq
}

// chatBehaviours is the chat.Store contract: delivery first, then the
// record (listing, retention).
var chatBehaviours = append(chatDeliveryBehaviours, chatRecordBehaviours...)

var chatDeliveryBehaviours = []behaviour{
	{"entries are numbered per channel from 1, and come back as stored", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1", "k2")
		chatChannel(t, st, "cb", api.ChatGroup, "k1")
		for i := range 3 {
			a := appendMsg(t, st, chatMsg("ca", "k1", fmt.Sprint("a", i), fmt.Sprint("会議 ", i)))
			b := appendMsg(t, st, chatMsg("cb", "k1", fmt.Sprint("b", i), "x"))
			if a.Seq != int64(i+1) || b.Seq != int64(i+1) {
				t.Fatalf("seqs %d, %d, want %d", a.Seq, b.Seq, i+1)
			}
		}
		m := chatMsg("ca", "k2", "q", "返信です")
		m.At, m.ReplyTo, m.Quote, m.Mentions = subMS, 2, &api.ChatQuote{Seq: 2, Sender: "k1", Text: "会議 1"}, []string{"k1"}
		got := appendMsg(t, st, m)
		want := m
		want.Seq, want.At = 4, trunc(subMS)
		same(t, "returned", got, want)
		read, err := st.Chat().Message(t.Context(), "ca", 4)
		must(t, err)
		same(t, "read back", read, want)
		if n := lastSeq(t, st, "ca"); n != 4 {
			t.Errorf("last_seq %d, want 4", n)
		}
	}},
	{"an entry whose sender and key are stored is not stored again", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		first := appendMsg(t, st, chatMsg("ca", "k1", "key-1", "一度だけ"))
		again := chatMsg("ca", "k1", "key-1", "一度だけ")
		again.At = at(5)
		got, existed, err := st.Chat().Append(t.Context(), again)
		must(t, err)
		if !existed {
			t.Error("a retried key was stored again")
		}
		same(t, "retry answer", got, first)
		// The key is the sender's: another sender may use the same one.
		appendMsg(t, st, chatMsg("ca", "k2", "key-1", "別人"))
		wantSeqs(t, "channel", chatSeqs(mustAfter(t, st, "ca", 0, 100)), []int64{1, 2})
	}},
	{"concurrent appends to one channel get consecutive sequence numbers", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		errs := concurrently(20, func(i int) error {
			_, _, err := st.Chat().Append(t.Context(), chatMsg("ca", "k1", fmt.Sprint("c", i), "並行"))
			return err
		})
		for _, err := range errs {
			must(t, err)
		}
		want := []int64{}
		for i := range 20 {
			want = append(want, int64(i+1))
		}
		wantSeqs(t, "channel", chatSeqs(mustAfter(t, st, "ca", 0, 100)), want)
	}},
	{"after and before page every entry once, in order", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		for i := range 7 {
			appendMsg(t, st, chatMsg("ca", "k1", fmt.Sprint(i), "p"))
		}
		var fwd []int64
		for after := int64(0); len(fwd) < 20; {
			page := mustAfter(t, st, "ca", after, 3)
			if len(page) == 0 {
				break
			}
			fwd = append(fwd, chatSeqs(page)...)
			after = page[len(page)-1].Seq
		}
		wantSeqs(t, "forward by 3", fwd, []int64{1, 2, 3, 4, 5, 6, 7})
		var back []int64
		for before := int64(8); len(back) < 20; {
			page, err := st.Chat().Before(t.Context(), "ca", before, 3)
			must(t, err)
			if len(page) == 0 {
				break
			}
			back = append(chatSeqs(page), back...)
			before = page[0].Seq
		}
		wantSeqs(t, "backward by 3", back, []int64{1, 2, 3, 4, 5, 6, 7})
		wantSeqs(t, "after the last", chatSeqs(mustAfter(t, st, "ca", 7, 3)), []int64{})
	}},
	{"edit and delete are entries of their own and keep the original text", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		appendMsg(t, st, chatMsg("ca", "k1", "m1", "元の文"))
		ed := appendMsg(t, st, api.ChatMessage{Channel: "ca", Kind: api.ChatKindEdit, Sender: "k1", Key: "e1", Text: "直した文", Target: 1, At: at(2)})
		if ed.Seq != 2 || ed.Target != 1 {
			t.Errorf("edit entry %+v", ed)
		}
		m, err := st.Chat().Message(t.Context(), "ca", 1)
		must(t, err)
		if m.Text != "直した文" || !m.EditedAt.Equal(at(2)) || m.Deleted {
			t.Errorf("after edit: %+v", m)
		}
		del := appendMsg(t, st, api.ChatMessage{Channel: "ca", Kind: api.ChatKindDelete, Sender: "k1", Key: "d1", Target: 1, At: at(3)})
		m, err = st.Chat().Message(t.Context(), "ca", 1)
		must(t, err)
		if m.Text != "" || !m.Deleted {
			t.Errorf("after delete: %+v", m)
		}
		revs, err := st.Chat().Revisions(t.Context(), "ca", 1)
		must(t, err)
		var texts []string
		for _, r := range revs {
			texts = append(texts, r.Text)
		}
		if !slices.Equal(texts, []string{"元の文", "直した文"}) {
			t.Errorf("revisions %q, want the original then the edit", texts)
		}
		// Deleting again, under another key, is the first delete.
		got, existed, err := st.Chat().Append(t.Context(), api.ChatMessage{Channel: "ca", Kind: api.ChatKindDelete, Sender: "k1", Key: "d2", Target: 1, At: at(4)})
		must(t, err)
		if !existed || got.Seq != del.Seq {
			t.Errorf("second delete: %+v existed=%v, want the first (seq %d)", got, existed, del.Seq)
		}
		_, _, err = st.Chat().Append(t.Context(), api.ChatMessage{Channel: "ca", Kind: api.ChatKindEdit, Sender: "k1", Key: "e2", Text: "x", Target: 1, At: at(4)})
		wantErr(t, "edit of a deleted message", err, chat.ErrGone)
		_, _, err = st.Chat().Append(t.Context(), api.ChatMessage{Channel: "ca", Kind: api.ChatKindEdit, Sender: "k1", Key: "e3", Text: "x", Target: 99, At: at(4)})
		wantErr(t, "edit of no message", err, chat.ErrNotFound)
		if n := lastSeq(t, st, "ca"); n != 3 {
			t.Errorf("last_seq %d after refused changes, want 3", n)
		}
	}},
	{"unknown channels and entries are not found", func(t *testing.T, st services.Stores) {
		_, err := st.Chat().GetChannel(t.Context(), "nope")
		wantErr(t, "channel", err, chat.ErrNotFound)
		_, err = st.Chat().DepartmentChannel(t.Context(), "nope")
		wantErr(t, "department", err, chat.ErrNotFound)
		_, err = st.Chat().DirectChannel(t.Context(), "a b")
		wantErr(t, "direct", err, chat.ErrNotFound)
		_, _, err = st.Chat().Append(t.Context(), chatMsg("nope", "k1", "k", "x"))
		wantErr(t, "append", err, chat.ErrNotFound)
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		_, err = st.Chat().Message(t.Context(), "ca", 1)
		wantErr(t, "message", err, chat.ErrNotFound)
	}},
	{"a department and a pair have one channel each", func(t *testing.T, st services.Stores) {
		must(t, st.Chat().CreateChannel(t.Context(), chat.Channel{ID: "d1", Kind: api.ChatDepartment, Name: "税務課", Department: "税務課", CreatedAt: at(0)}, nil))
		err := st.Chat().CreateChannel(t.Context(), chat.Channel{ID: "d2", Kind: api.ChatDepartment, Name: "税務課", Department: "税務課", CreatedAt: at(0)}, nil)
		wantErr(t, "second department channel", err, chat.ErrConflict)
		must(t, st.Chat().CreateChannel(t.Context(), chat.Channel{ID: "p1", Kind: api.ChatDirect, DirectKey: "k1 k2", CreatedAt: at(0)}, []string{"k1", "k2"}))
		err = st.Chat().CreateChannel(t.Context(), chat.Channel{ID: "p2", Kind: api.ChatDirect, DirectKey: "k1 k2", CreatedAt: at(0)}, []string{"k1", "k2"})
		wantErr(t, "second direct channel", err, chat.ErrConflict)
		c, err := st.Chat().DepartmentChannel(t.Context(), "税務課")
		must(t, err)
		if c.ID != "d1" {
			t.Errorf("department channel %s", c.ID)
		}
		c, err = st.Chat().DirectChannel(t.Context(), "k1 k2")
		must(t, err)
		if c.ID != "p1" {
			t.Errorf("direct channel %s", c.ID)
		}
	}},
	{"membership and the channels of a user, with unread counts", func(t *testing.T, st services.Stores) {
		must(t, st.Chat().CreateChannel(t.Context(), chat.Channel{ID: "d1", Kind: api.ChatDepartment, Name: "税務課", Department: "税務課", CreatedAt: at(0)}, nil))
		chatChannel(t, st, "g1", api.ChatGroup, "k1", "k2")
		chatChannel(t, st, "g2", api.ChatGroup, "k2")
		ok, err := st.Chat().IsMember(t.Context(), "g1", "k1")
		must(t, err)
		if !ok {
			t.Error("k1 not a member of g1")
		}
		must(t, st.Chat().AddMembers(t.Context(), "g2", []string{"k1", "k3"}, at(1)))
		must(t, st.Chat().AddMembers(t.Context(), "g2", []string{"k1"}, at(2))) // twice is once
		ms, err := st.Chat().Members(t.Context(), "g2")
		must(t, err)
		if !slices.Equal(ms, []string{"k1", "k2", "k3"}) {
			t.Errorf("members %v", ms)
		}
		must(t, st.Chat().RemoveMember(t.Context(), "g2", "k3"))
		// A group is renamed; a department channel, a direct one or none
		// is not a group to rename.
		must(t, st.Chat().RenameChannel(t.Context(), "g2", "予算チーム（改）"))
		if c, err := st.Chat().GetChannel(t.Context(), "g2"); err != nil || c.Name != "予算チーム（改）" {
			t.Errorf("renamed group: %+v %v", c, err)
		}
		for _, id := range []string{"d1", "nope"} {
			if err := st.Chat().RenameChannel(t.Context(), id, "x"); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("rename %s: %v, want ErrNotFound", id, err)
			}
		}
		if ok, _ := st.Chat().IsMember(t.Context(), "g2", "k3"); ok {
			t.Error("k3 still a member after leaving")
		}
		appendMsg(t, st, chatMsg("g1", "k2", "1", "a"))
		appendMsg(t, st, chatMsg("g1", "k2", "2", "b"))
		appendMsg(t, st, chatMsg("g1", "k1", "3", "own")) // one's own messages are not unread
		appendMsg(t, st, chatMsg("d1", "k9", "4", "c"))
		_, err = st.Chat().MarkRead(t.Context(), "g1", "k1", 1)
		must(t, err)
		must(t, st.Chat().SetMuted(t.Context(), "d1", "k1", true))
		cs, err := st.Chat().ChannelsOf(t.Context(), "k1", "税務課")
		must(t, err)
		var got []string
		for _, c := range cs {
			got = append(got, fmt.Sprintf("%s last=%d read=%d unread=%d muted=%v", c.ID, c.LastSeq, c.ReadSeq, c.Unread, c.Muted))
		}
		want := []string{"d1 last=1 read=0 unread=1 muted=true", "g1 last=3 read=1 unread=1 muted=false", "g2 last=0 read=0 unread=0 muted=false"}
		if !slices.Equal(got, want) {
			t.Errorf("channels of k1:\n got %q\nwant %q", got, want)
		}
		cs, err = st.Chat().ChannelsOf(t.Context(), "k1", "")
		must(t, err)
		if len(cs) != 2 {
			t.Errorf("without a department: %d channels, want g1 and g2", len(cs))
		}
		ids, err := st.Chat().ChannelIDsOf(t.Context(), "k1", "税務課")
		must(t, err)
		if !slices.Equal(ids, []string{"d1", "g1", "g2"}) {
			t.Errorf("channel IDs of k1: %q, want d1 g1 g2", ids)
		}
		ids, err = st.Chat().ChannelIDsOf(t.Context(), "k1", "")
		must(t, err)
		if !slices.Equal(ids, []string{"g1", "g2"}) {
			t.Errorf("channel IDs of k1 without a department: %q, want g1 g2", ids)
		}
	}},
	{"read markers never move back", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1", "k2")
		for _, tc := range []struct{ set, want int64 }{{3, 3}, {1, 3}, {5, 5}, {0, 5}} {
			got, err := st.Chat().MarkRead(t.Context(), "ca", "k1", tc.set)
			must(t, err)
			if got != tc.want {
				t.Errorf("mark %d: marker %d, want %d", tc.set, got, tc.want)
			}
		}
		_, err := st.Chat().MarkRead(t.Context(), "ca", "k2", 2)
		must(t, err)
		marks, err := st.Chat().Marks(t.Context(), "ca")
		must(t, err)
		same(t, "marks", marks, []api.ChatRead{{Channel: "ca", User: "k1", Seq: 5}, {Channel: "ca", User: "k2", Seq: 2}})
	}},
	{"search finds unspaced Japanese substrings, short ones too, only in the channels asked", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		chatChannel(t, st, "cb", api.ChatGroup, "k2")
		appendMsg(t, st, chatMsg("ca", "k1", "1", "上海市役所との打ち合わせ"))
		appendMsg(t, st, chatMsg("ca", "k1", "2", "明日は在宅勤務です"))
		appendMsg(t, st, chatMsg("ca", "k1", "3", "消す上海の話"))
		appendMsg(t, st, chatMsg("cb", "k2", "4", "上海市役所との会議"))
		appendMsg(t, st, api.ChatMessage{Channel: "ca", Kind: api.ChatKindDelete, Sender: "k1", Key: "d", Target: 3, At: at(2)})
		appendMsg(t, st, api.ChatMessage{Channel: "ca", Kind: api.ChatKindEdit, Sender: "k1", Key: "e", Text: "明後日はZoom会議", Target: 2, At: at(2)})
		for _, tc := range []struct {
			q    string
			want []int64
		}{
			{"市役所との", []int64{1}},
			{"上海", []int64{1}},     // two characters: the scan; the deleted one is not found
			{"海", []int64{1}},      // one character
			{"在宅勤務", []int64{}},    // edited away
			{"zoom会議", []int64{2}}, // the new text, ASCII case ignored
			{"ない言葉", []int64{}},
		} {
			hits, _, err := st.Chat().Search(t.Context(), chat.SearchQuery{Channels: []string{"ca"}, Text: tc.q, Limit: 10, ScanLimit: 1000})
			must(t, err)
			wantSeqs(t, "search "+tc.q, chatSeqs(hits), tc.want)
		}
		hits, _, err := st.Chat().Search(t.Context(), chat.SearchQuery{Channels: []string{"ca", "cb"}, Text: "市役所との", Limit: 10, ScanLimit: 1000})
		must(t, err)
		if len(hits) != 2 || hits[0].Channel != "cb" {
			t.Errorf("two channels: %+v, want cb's then ca's (newest first)", hits)
		}
	}},
	{"the short scan says when it stopped at its bound", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		appendMsg(t, st, chatMsg("ca", "k1", "1", "古い上海"))
		for i := range 5 {
			appendMsg(t, st, chatMsg("ca", "k1", fmt.Sprint("n", i), "新しい"))
		}
		hits, partial, err := st.Chat().Search(t.Context(), chat.SearchQuery{Channels: []string{"ca"}, Text: "上海", Limit: 10, ScanLimit: 3})
		must(t, err)
		if len(hits) != 0 || !partial {
			t.Errorf("bounded scan: %d hits, partial %v; want none, partial", len(hits), partial)
		}
		hits, partial, err = st.Chat().Search(t.Context(), chat.SearchQuery{Channels: []string{"ca"}, Text: "上海", Limit: 10, ScanLimit: 100})
		must(t, err)
		if len(hits) != 1 || partial {
			t.Errorf("whole scan: %d hits, partial %v; want 1, not partial", len(hits), partial)
		}
	}},
	{"the chat policy round-trips", func(t *testing.T, st services.Stores) {
		_, ok, err := st.Chat().ChatPolicy(t.Context())
		must(t, err)
		if ok {
			t.Error("a policy before any was stored")
		}
		p := api.ChatPolicy{MaxChars: 500, EditWindowMinutes: 0, Receipts: false}
		must(t, st.Chat().PutChatPolicy(t.Context(), p))
		got, ok, err := st.Chat().ChatPolicy(t.Context())
		must(t, err)
		if !ok || got != p {
			t.Errorf("policy %+v %v, want %+v", got, ok, p)
		}
	}},
}

func mustAfter(t *testing.T, st services.Stores, ch string, after int64, limit int) []api.ChatMessage {
	t.Helper()
	ms, err := st.Chat().After(t.Context(), ch, after, limit)
	must(t, err)
	return ms
}

var chatRecordBehaviours = []behaviour{
	{"status messages are kept per user, and an empty one clears it", func(t *testing.T, st services.Stores) {
		must(t, st.Chat().SetStatus(t.Context(), "k1", "午後は窓口", at(0)))
		must(t, st.Chat().SetStatus(t.Context(), "k2", "在宅", at(0)))
		must(t, st.Chat().SetStatus(t.Context(), "k2", "会議室", at(1)))
		must(t, st.Chat().SetStatus(t.Context(), "k3", "x", at(0)))
		must(t, st.Chat().SetStatus(t.Context(), "k3", "", at(1)))
		got, err := st.Chat().Statuses(t.Context(), []string{"k1", "k2", "k3", "k4"})
		must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(map[string]string{"k1": "午後は窓口", "k2": "会議室"}) {
			t.Errorf("statuses %v", got)
		}
		many := make([]string, 1200) // more than one statement's parameters
		for i := range many {
			many[i] = fmt.Sprint("u", i)
		}
		many[1100] = "k1"
		got, err = st.Chat().Statuses(t.Context(), many)
		must(t, err)
		if len(got) != 1 || got["k1"] != "午後は窓口" {
			t.Errorf("statuses of 1,200 users: %v", got)
		}
	}},
	{"every channel is listed, by ID", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "cb", api.ChatGroup, "k1")
		chatChannel(t, st, "ca", api.ChatDirect, "k1", "k2")
		cs, err := st.Chat().ListChannels(t.Context())
		must(t, err)
		if len(cs) != 2 || cs[0].ID != "ca" || cs[1].ID != "cb" || cs[0].DirectKey == "" {
			t.Errorf("channels %+v", cs)
		}
	}},
	{"purge deletes entries before the cutoff with their earlier texts, and keeps the sequence", func(t *testing.T, st services.Stores) {
		chatChannel(t, st, "ca", api.ChatGroup, "k1")
		if n, err := st.Chat().FirstSeq(t.Context(), "ca"); err != nil || n != 0 {
			t.Errorf("first seq of an empty channel: %d %v", n, err)
		}
		old := chatMsg("ca", "k1", "old", "古い上海市役所")
		old.At = at(0)
		appendMsg(t, st, old)
		appendMsg(t, st, api.ChatMessage{Channel: "ca", Kind: api.ChatKindEdit, Sender: "k1", Key: "e", Text: "古い上海市役所の件", Target: 1, At: at(1)})
		keep := chatMsg("ca", "k1", "new", "新しい上海市役所")
		keep.At = at(10)
		appendMsg(t, st, keep)
		n, err := st.Chat().PurgeChat(t.Context(), at(5))
		must(t, err)
		if n != 2 {
			t.Errorf("purged %d, want 2", n)
		}
		wantSeqs(t, "left", chatSeqs(mustAfter(t, st, "ca", 0, 10)), []int64{3})
		if n, err := st.Chat().FirstSeq(t.Context(), "ca"); err != nil || n != 3 {
			t.Errorf("first seq after the purge: %d %v, want 3", n, err)
		}
		revs, err := st.Chat().Revisions(t.Context(), "ca", 1)
		must(t, err)
		if len(revs) != 0 {
			t.Errorf("revisions of a purged message are left: %+v", revs)
		}
		hits, _, err := st.Chat().Search(t.Context(), chat.SearchQuery{Channels: []string{"ca"}, Text: "上海市役所", Limit: 10})
		must(t, err)
		wantSeqs(t, "search after the purge", chatSeqs(hits), []int64{3})
		if got := appendMsg(t, st, chatMsg("ca", "k1", "next", "次")); got.Seq != 4 {
			t.Errorf("next seq %d after a purge, want 4: sequence numbers never go back", got.Seq)
		}
	}},
}
